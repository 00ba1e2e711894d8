"""The soak's definition of a wrong answer (soak/run.py), on a made-up timeline."""

from __future__ import annotations

import pytest

from soak.run import Answer, Truth, judge, parse_args

# Mains fail at 10 s; the cable is out from 20 s to 35 s.
TRUTH = [Truth(t / 2, 20 <= t / 2 < 35, "OL" if t / 2 < 10 else "OB", 100.0)
         for t in range(0, 100)]
TIMES = [s.t for s in TRUTH]
PLUGS = [35.0]


@pytest.mark.parametrize(("sent", "variable", "reply", "why"), [
    (8.0, "ups.status", "OL", None),
    (8.0, "ups.status", "OB", "status 'OB', simulator 'OL'"),
    (12.0, "ups.status", "OL", None),  # the mains failed 2 s ago: either is honest
    (16.0, "ups.status", "OL", "status 'OL', simulator 'OB'"),
    (16.0, "ups.status", "FSD OB", "status 'FSD OB', simulator 'OB'"),
    (16.0, "battery.charge", "100.0", None),
    (16.0, "battery.charge", "97.0", "charge 97.0, simulator 100.0..100.0"),
    (16.0, "ups.status", "ERR DATA-STALE", "DATA-STALE while plugged in"),
    (16.0, "ups.status", "ERR UNKNOWN-UPS", "bad reply"),
    (16.0, "ups.status", "MALFORMED VAR x", "bad reply"),
    (22.0, "ups.status", "OB", None),  # unplugged 2 s ago: not stale yet is fine
    (31.0, "ups.status", "OB", "a value served while unplugged"),
    (31.0, "ups.status", "ERR DATA-STALE", None),
    (40.0, "ups.status", "ERR DATA-STALE", None),  # plugged back 5 s ago
    (45.0, "ups.status", "OB", None),
])
def test_judge(sent: float, variable: str, reply: str, why: str | None) -> None:
    args = parse_args(["--status-allow", "5", "--stale-allow", "10",
                       "--replug-allow", "15"])
    answer = Answer(sent, sent + 0.01, variable, reply)
    assert judge(answer, TRUTH, TIMES, PLUGS, args) == why
