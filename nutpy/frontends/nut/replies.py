"""Answers to ``GET VAR`` kept until the store says they may have changed.

Nearly every request a busy server hears is a ``GET VAR`` that was answered
a moment ago with the same bytes (upsmon asks for ``ups.status`` every few
seconds, exporters and dashboards poll).  Tokenizing, dispatching and
formatting it again is most of what nutpy spends on it, so the whole reply
is kept, keyed by the exact bytes of the request line (the reply echoes the
names as the client spelled them).

It is exact, not "fresh enough": what ``GET VAR`` answers changes only

* when the store publishes an event (a value, the FSD latch, the link to
  the driver, a UPS added or removed: every write that changes something
  publishes one), so a reply kept is good only while the feed's count of
  published events is what it was when the reply was made;
* when the data ages past ``MAXAGE`` (DATA-STALE), which no event marks at
  the moment it happens, so a reply is kept only until its UPS's data, as
  old as it was then, would reach that age (a fresher read since only
  makes the reply good for longer);
* when ``MAXAGE`` itself changes (a reload), which empties the cache.

Only successful answers are kept: an error (DATA-STALE, say) can end
without an event, when a stale UPS answers again.
"""

from __future__ import annotations

from nutpy.store import Link, Store, UpsState

__all__ = ["MAX_REPLIES", "ReplyCache"]

MAX_REPLIES = 256  # distinct request lines kept; a client inventing spellings fills no more


class ReplyCache:
    def __init__(self, store: Store, size: int = MAX_REPLIES) -> None:
        self._store = store
        self._size = size
        # request -> (reply, the UPS's last_update when it was made)
        self._replies: dict[bytes, tuple[str, float]] = {}
        self._published = store.feed.published
        self._maxage = store.maxage

    def _current(self) -> dict[bytes, tuple[str, float]]:
        """The replies, emptied first if the store changed since they were made."""
        store = self._store
        if store.feed.published != self._published or store.maxage != self._maxage:
            self._replies.clear()
            self._published = store.feed.published
            self._maxage = store.maxage
        return self._replies

    def get(self, request: bytes) -> str | None:
        """The reply to ``request`` (one whole line), if one is kept and still good."""
        kept = self._current().get(request)
        if kept is None:
            return None
        if self._store.clock() - kept[1] > self._maxage:  # as UpsState.availability()
            del self._replies[request]
            return None
        return kept[0]

    def put(self, request: bytes, reply: str, ups: UpsState) -> None:
        """Keep ``reply``, just made from ``ups``'s fresh data, for ``request``."""
        replies = self._current()
        if ups.link is not Link.FRESH or ups.last_update is None:
            return
        if len(replies) >= self._size and request not in replies:
            return
        replies[request] = (reply, ups.last_update)

    def __len__(self) -> int:
        return len(self._replies)
