"""The TRACKING table: constant work per request, and a bound on its size.

30,000 pipelined INSTCMDs with TRACKING on took throughput from ~7,500/s to
~800/s when every add and lookup scanned the whole table.  The work is
counted here instead of timed: every time value the table compares or
subtracts is a :class:`Instant`, which counts the arithmetic done on it.
"""

from __future__ import annotations

from typing import ClassVar

from nutpy.frontends.nut.tracking import Tracking
from nutpy.store import Result


class Instant(float):
    """A time that counts the operations done with it."""

    operations: ClassVar[int] = 0

    def _count(self) -> None:
        Instant.operations += 1

    def __sub__(self, other: float) -> float:
        self._count()
        return float(self) - float(other)

    def __rsub__(self, other: float) -> float:
        self._count()
        return float(other) - float(self)

    def __add__(self, other: float) -> float:
        self._count()
        return float(self) + float(other)

    __radd__ = __add__

    def __lt__(self, other: float) -> bool:
        self._count()
        return float(self) < float(other)

    def __le__(self, other: float) -> bool:
        self._count()
        return float(self) <= float(other)

    def __gt__(self, other: float) -> bool:
        self._count()
        return float(self) > float(other)

    def __ge__(self, other: float) -> bool:
        self._count()
        return float(self) >= float(other)


def test_adds_and_lookups_do_constant_work_however_full_the_table() -> None:
    tracking = Tracking(3600)
    requests = 5000
    Instant.operations = 0
    ids = [tracking.add(Instant(100.0 + n / 1000)) for n in range(requests)]
    for ident in ids:
        assert tracking.answer(ident, Instant(110.0)) == "PENDING"
    # A scan of the table would be ~n²/2 = 12.5 million operations here.
    assert Instant.operations <= 4 * 2 * requests


def test_expired_entries_go_and_fresh_ones_stay() -> None:
    tracking = Tracking(10)
    old = tracking.add(100.0)
    tracking.complete(old, Result.SUCCESS)
    new = tracking.add(105.0)
    assert tracking.answer(old, 110.0) == "SUCCESS"  # exactly the delay: still there
    assert tracking.answer(old, 110.5) == "ERR UNKNOWN"
    assert tracking.answer(new, 110.5) == "PENDING"
    assert len(tracking) == 1


def test_the_table_is_bounded_and_forgets_the_oldest_first() -> None:
    tracking = Tracking(3600)
    ids = [tracking.add(100.0) for _ in range(10_000 + 100)]
    assert len(tracking) == 10_000  # nutpy's bound (upsd has none)
    assert tracking.answer(ids[0], 100.0) == "ERR UNKNOWN"
    assert tracking.answer(ids[99], 100.0) == "ERR UNKNOWN"
    assert tracking.answer(ids[100], 100.0) == "PENDING"
    tracking.complete(ids[-1], Result.FAILED)
    assert tracking.answer(ids[-1].lower(), 100.0) == "ERR FAILED"
