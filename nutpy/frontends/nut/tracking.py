"""The TRACKING table: ids for SET VAR / INSTCMD results, purged after a delay."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from nutpy.store import Result

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
        self._entries: dict[str, _Entry] = {}

    def add(self, now: float) -> str:
        self.purge(now)
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
        expired = [k for k, e in self._entries.items() if now - e.created > self.delay]
        for key in expired:
            del self._entries[key]

    def __len__(self) -> int:
        return len(self._entries)
