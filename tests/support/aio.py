"""Waiting on the store in trio tests."""

from __future__ import annotations

from nutpy.store import Store


async def next_change(store: Store) -> None:
    """Wait for the next event on the store's feed (use inside a timeout)."""
    with store.feed.subscribe() as changes:
        await changes.receive()
