"""The running event log: the chronicle on the store's feed, and the recent entries.

:meth:`Recorder.run` is one task for the server's lifetime.  It reads the
feed (after a loss it re-reads the state instead, so a transition is never
missed for long), turns events into entries, and keeps the latest ones in
memory for readers; :meth:`Recorder.wait_beyond` lets a reader sleep until
there is something newer than what it has.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable

import trio

from nutpy.history.chronicle import Chronicle, Entry, PowerStats
from nutpy.store import Resync, Store

__all__ = ["KEEP", "Numbered", "Recorder"]

KEEP = 1000  # entries held in memory (all UPSes together)

Numbered = tuple[int, Entry]  # entries are numbered from 1, in order


class Recorder:
    def __init__(self, store: Store, keep: int = KEEP,
                 on_entry: Callable[[int, Entry], None] | None = None) -> None:
        self.store = store
        self.chronicle = Chronicle()
        self._recent: deque[Numbered] = deque(maxlen=keep)
        self._numbers = itertools.count(1)
        self._lot = trio.lowlevel.ParkingLot()
        self.on_entry = on_entry  # e.g. the history's writer

    def add(self, entry: Entry) -> None:
        number = next(self._numbers)
        self._recent.append((number, entry))
        self._lot.unpark_all()
        if self.on_entry is not None:
            self.on_entry(number, entry)

    def preload(self, entries: list[Numbered]) -> None:
        """Entries kept from before a restart; numbering goes on after them."""
        self._recent.extend(entries)
        if entries:
            self._numbers = itertools.count(entries[-1][0] + 1)

    def recent(self, ups: str | None = None, limit: int = 50,
               after: int = 0) -> list[Numbered]:
        """The latest ``limit`` entries numbered above ``after``, oldest first;
        with ``ups``, that UPS's and the server's own."""
        folded = ups.lower() if ups is not None else None
        chosen = [(n, e) for n, e in self._recent if n > after
                  and (folded is None or e.ups is None or e.ups.lower() == folded)]
        return chosen[-limit:] if limit else []

    def last_number(self) -> int:
        return self._recent[-1][0] if self._recent else 0

    async def wait_beyond(self, number: int) -> None:
        """Return once an entry numbered above ``number`` exists."""
        while self.last_number() <= number:
            await self._lot.park()

    def power(self, ups: str) -> PowerStats:
        return self.chronicle.power(ups)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
                  ) -> None:
        with self.store.feed.subscribe() as changes:
            self.add(self.chronicle.server(True, self.store.wall()))
            self._catch_up()
            task_status.started()
            try:
                async for event in changes:
                    if isinstance(event, Resync):
                        self._catch_up()
                        continue
                    for entry in self.chronicle.feed(event):
                        self.add(entry)
            finally:
                self.add(self.chronicle.server(False, self.store.wall()))

    def _catch_up(self) -> None:
        """Compare the state as it is now with what the chronicle last knew."""
        now = self.store.wall()
        for ups in self.store:
            for entry in [*self.chronicle.observe_availability(ups.name, ups.availability(), now),
                          *self.chronicle.observe_flags(ups.name, ups.flags(), now)]:
                self.add(entry)
