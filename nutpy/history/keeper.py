"""Keeping the history: what to sample from the feed, and the disk kept off the event loop.

The keeper watches the few series a dashboard charts (charge, runtime, load,
voltages, temperature).  It remembers the latest value of each and writes
the ones that changed every ``RAW_SPACING`` seconds, with the event log's
new entries, in one transaction in a worker thread (a CapacityLimiter of one
keeps the SQLite connection to one thread at a time).  When a UPS's data
goes stale a gap is written, so the chart does not join across the outage.

The disk may fail under it.  A full disk (or any write error) pauses the
history with one warning; the rest of the server goes on, what could not be
written is dropped, and the write is tried again a minute later (one line
when it works again).
"""

from __future__ import annotations

import logging
import math
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import trio

from nutpy.history.chronicle import Entry
from nutpy.history.database import (
    RAW_SPACING,
    Database,
    Point,
    Sample,
    downsample,
    open_database,
)
from nutpy.store import Availability, AvailabilityChanged, Resync, Store, VariableChanged

__all__ = ["RANGES", "SERIES", "History"]

log = logging.getLogger("nutpy.history")

SERIES = ("battery.charge", "battery.runtime", "ups.load", "input.voltage",
          "output.voltage", "ups.temperature")
RANGES = {"hour": 3600, "day": 86400, "week": 7 * 86400, "month": 30 * 86400}
POINTS = 500  # at most this many per series in an answer
MAINTAIN_EVERY = 3600.0
RETRY_AFTER = 60.0
PENDING_ENTRIES = 10_000  # entries held while the disk refuses them


def _number(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


class History:
    def __init__(self, store: Store, db: Database, keep_days: int) -> None:
        self.store = store
        self.db = db
        self.keep_days = keep_days
        self._limiter = trio.CapacityLimiter(1)
        self._latest: dict[tuple[str, str], tuple[float, float | None]] = {}
        self._written: dict[tuple[str, str], tuple[float, float | None]] = {}
        self._entries: list[tuple[int, Entry]] = []
        self._failing: str | None = None  # why writing is paused

    @classmethod
    async def open(cls, store: Store, path: Path, keep_days: int) -> History:
        """The history at ``path``; a corrupt file is moved aside (and said so).

        OSError when no file can be made there at all.
        """
        db, aside = await trio.to_thread.run_sync(open_database, path)
        if aside is not None:
            log.warning("history %s was not a usable database: moved aside to %s, "
                        "starting a new one", path, aside)
        log.info("history in %s, kept %d days", path, keep_days)
        return cls(store, db, keep_days)

    # ---- what to keep ---------------------------------------------------------

    def add_entry(self, number: int, entry: Entry) -> None:
        """An event-log entry to store (the recorder calls this)."""
        if len(self._entries) < PENDING_ENTRIES:
            self._entries.append((number, entry))

    def _observe(self, event: VariableChanged | AvailabilityChanged) -> None:
        if isinstance(event, VariableChanged):
            if event.name in SERIES:
                self._latest[(event.ups, event.name)] = (event.at, _number(event.new))
        elif event.new is not Availability.OK:
            for key in [k for k in self._latest if k[0] == event.ups]:
                self._latest[key] = (event.at, None)

    def _catch_up(self) -> None:
        """After a feed loss: the values as they are now."""
        now = self.store.wall()
        for ups in self.store:
            fresh = ups.availability() is Availability.OK
            for name in SERIES:
                var = ups.get(name)
                if var is not None:
                    self._latest[(ups.name, name)] = (now, _number(var.value) if fresh else None)

    def _batch(self) -> tuple[list[Sample], list[tuple[int, Entry]]]:
        samples = [(ups, name, t, value) for (ups, name), (t, value) in self._latest.items()
                   if self._written.get((ups, name)) != (t, value)]
        self._written.update(self._latest)
        entries, self._entries = self._entries, []
        return samples, entries

    # ---- the task --------------------------------------------------------------

    async def run(self) -> None:
        """Sample the feed and write, until cancelled (then write what is left)."""
        wanted = (VariableChanged, AvailabilityChanged, Resync)
        with self.store.feed.subscribe(want=lambda e: isinstance(e, wanted)) as feed:
            self._catch_up()
            next_maintenance = trio.current_time()
            retry_at = -math.inf
            try:
                while True:
                    with trio.move_on_after(RAW_SPACING):
                        async for event in feed:
                            if isinstance(event, Resync):
                                self._catch_up()
                            else:
                                assert isinstance(event, (VariableChanged, AvailabilityChanged))
                                self._observe(event)
                    if trio.current_time() < retry_at:
                        self._batch()  # paused: what the disk refuses is dropped
                        continue
                    ok = await self._write(*self._batch())
                    if ok and trio.current_time() >= next_maintenance:
                        ok = await self._run(self.db.maintain, self.store.wall(),
                                             self.keep_days)
                        next_maintenance = trio.current_time() + MAINTAIN_EVERY
                    retry_at = -math.inf if ok else trio.current_time() + RETRY_AFTER
            finally:
                with trio.CancelScope(shield=True), trio.move_on_after(5):
                    await self._write(*self._batch())
                    await trio.to_thread.run_sync(self.db.close, limiter=self._limiter)

    async def _write(self, samples: Sequence[Sample],
                     entries: Sequence[tuple[int, Entry]]) -> bool:
        if not samples and not entries:
            return True
        return await self._run(self.db.write, samples, entries)

    async def _run(self, function: object, *args: object) -> bool:
        """Run a database call in the worker; False (and the history paused) if it fails."""
        assert callable(function)
        try:
            await trio.to_thread.run_sync(function, *args, limiter=self._limiter)
        except (sqlite3.Error, OSError) as exc:
            if self._failing is None:
                log.warning("history paused, nothing else is affected: cannot write %s: %s;"
                            " trying again every %.0f s", self.db.path, exc, RETRY_AFTER)
            self._failing = str(exc)
            return False
        if self._failing is not None:
            log.info("history writing again to %s", self.db.path)
            self._failing = None
        return True

    # ---- reading ---------------------------------------------------------------

    async def series(self, ups: str, names: Sequence[str], span: float
                     ) -> dict[str, list[Point]]:
        """Each series over the last ``span`` seconds, at most POINTS points each."""
        until = self.store.wall()
        since = until - span
        rolled = span > RANGES["day"]

        def read() -> dict[str, list[Point]]:
            return {name: list(downsample(self.db.points(ups, name, since, until, rolled),
                                          POINTS, since, until)) for name in names}

        return await trio.to_thread.run_sync(read, limiter=self._limiter)

    async def entries(self, ups: str | None, span: float, limit: int
                      ) -> list[tuple[int, Entry]]:
        since = self.store.wall() - span
        return await trio.to_thread.run_sync(self.db.entries, ups, since, limit,
                                             limiter=self._limiter)

    @property
    def failing(self) -> str | None:
        return self._failing
