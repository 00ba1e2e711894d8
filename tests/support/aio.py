"""Waiting on the store, and simulators on in-memory lines, in trio tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import trio
import trio.testing

from nutpy.sim.link import SimLink
from nutpy.store import Availability, AvailabilityChanged, Store


async def next_change(store: Store) -> None:
    """Wait for the next event on the store's feed (use inside a timeout)."""
    with store.feed.subscribe() as changes:
        await changes.receive()


async def record_availability(store: Store, seen: list[tuple[float, Availability]]) -> None:
    """Append (trio time, new availability) to ``seen`` for each change, until cancelled."""
    with store.feed.subscribe(want=lambda e: isinstance(e, AvailabilityChanged)) as feed:
        async for event in feed:
            assert isinstance(event, AvailabilityChanged)
            seen.append((trio.current_time(), event.new))


@asynccontextmanager
async def watching_ages(store: Store) -> AsyncIterator[list[tuple[float, Availability]]]:
    """Run the store's age watch for the block; yields the (trio time, new
    availability) of each change published meanwhile."""
    seen: list[tuple[float, Availability]] = []
    async with trio.open_nursery() as nursery:
        nursery.start_soon(store.watch_ages)
        nursery.start_soon(record_availability, store, seen)
        await trio.testing.wait_all_tasks_blocked()
        yield seen
        nursery.cancel_scope.cancel()


@asynccontextmanager
async def wired(link: SimLink) -> AsyncIterator[trio.abc.Stream]:
    """The host's end of an in-memory line that ``link`` serves, until the block ends."""
    host, device = trio.testing.memory_stream_pair()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(link.serve, device)
        yield host
        nursery.cancel_scope.cancel()
