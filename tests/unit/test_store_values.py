"""Which values a variable takes: NUT's checks, in upsd's order."""

from __future__ import annotations

import pytest

from nutpy.store import Refusal, Variable
from nutpy.store.state import atoi


@pytest.mark.parametrize(("text", "number"), [
    ("42", 42), ("  -7x", -7), ("+3", 3), ("", 0), ("abc", 0), ("-", 0), ("12.9", 12),
    ("\u00b2", 0), ("1\u00b9", 1), ("\u0663", 0),  # not ASCII digits: C's atoi stops there
    (" \t\n\r\v\f-8", -8),  # C's isspace: exactly these six are skipped
    ("\x1c5", 0), ("\x1f5", 0), ("\u00a05", 0), ("\u20035", 0),  # Python's, not C's
    ("X5", 0), ("XX 5", 0),
])
def test_atoi_reads_as_c_does(text: str, number: int) -> None:
    assert atoi(text) == number


def test_refusals_in_upsds_order() -> None:
    ranged = Variable("battery.charge.low", "10", writable=True, ranges=[(5, 50), (60, 60)])
    assert [ranged.refusal(v) for v in ("5", "50", "60", "4", "51", "59", "x")] == [
        None, None, None, Refusal.INVALID_VALUE, Refusal.INVALID_VALUE,
        Refusal.INVALID_VALUE, Refusal.INVALID_VALUE]
    assert Variable("battery.charge", "1").refusal("1") is Refusal.READONLY
    text = Variable("ups.id", "a", writable=True, string=True, aux=4)
    assert (text.refusal("abcd"), text.refusal("abcde")) == (None, Refusal.TOO_LONG)
    assert Variable("x", "", writable=True, string=True).refusal("") is Refusal.SET_FAILED
    enum = Variable("input.sensitivity", "H", writable=True, string=True, aux=1,
                    enums=["H", "M", "L"])
    assert (enum.refusal("M"), enum.refusal("h")) == (None, Refusal.INVALID_VALUE)
