"""The TRACKING table: ids for SET VAR / INSTCMD results, purged after a delay.

Entries are kept in the order they were made, which is the order they
expire in (the delay is the same for all), so purging looks only at the
oldest ones and stops at the first that is still due: each add and lookup
does constant work on average, however full the table.  upsd scans its
whole list on every request.  The table holds at most :data:`MAX_ENTRIES`:
beyond that the oldest id is forgotten (answered ``ERR UNKNOWN``), so a
client pipelining commands by the ten thousand cannot grow it for the
hour of ``TRACKINGDELAY``.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from dataclasses import dataclass

from nutpy.store import Result

__all__ = ["MAX_ENTRIES", "Tracking"]

MAX_ENTRIES = 10_000

_ANSWERS = {
    Result.SUCCESS: "SUCCESS",
    Result.UNKNOWN: "ERR UNKNOWN",
    Result.INVALID: "ERR INVALID-ARGUMENT",
    Result.FAILED: "ERR FAILED",
}


@dataclass
class _Entry:
    created: float
    result: Result | None = None


class Tracking:
    """Command results by id.  Time is passed in so expiry is testable."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        # Oldest first.  An OrderedDict, not a dict: a dict's first item after
        # many deletions at the front is found by skipping their empty slots.
        self._entries: OrderedDict[str, _Entry] = OrderedDict()

    def add(self, now: float) -> str:
        self.purge(now)
        while len(self._entries) >= MAX_ENTRIES:
            self._entries.popitem(last=False)
        ident = str(uuid.uuid4()).upper()
        self._entries[ident] = _Entry(now)
        return ident

    def complete(self, ident: str, result: Result) -> None:
        entry = self._entries.get(ident)
        if entry is not None:
            entry.result = result

    def answer(self, ident: str, now: float) -> str:
        """What ``GET TRACKING <id>`` replies (without the LF)."""
        self.purge(now)
        entry = self._entries.get(ident.upper())
        if entry is None:
            return "ERR UNKNOWN"
        if entry.result is None:
            return "PENDING"
        return _ANSWERS[entry.result]

    def purge(self, now: float) -> None:
        """Drop the entries older than the delay (they are at the front)."""
        entries = self._entries
        while entries:
            oldest = next(iter(entries.values()))
            if now - oldest.created <= self.delay:
                return
            entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)
