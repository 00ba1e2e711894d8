"""Every APC Smart dump of NUT's device-dump library rehearses a power cut.

For some real dumps ``mains fail`` answered OK and changed nothing (one
cause: a dump without transfer points), so neither NUT's apcsmart nor
nutpy saw a power cut.  Here each dump of tests/fixtures/ddl/ (all APC
apcsmart dumps of networkupstools/nut-ddl) goes through the rehearsal on
the engine itself: on line, ``mains fail`` puts it on battery (without low
battery), ``battery low`` adds LB.  tests/system/test_ddl_rehearsal.py
runs the same through NUT's apcsmart + upsd and through nutpy.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from nutpy.protocols.apcsmart.framing import SMART_MODE
from nutpy.protocols.apcsmart.status import parse_register, status_tokens
from nutpy.sim.control import run_control
from nutpy.sim.smart import SmartUps
from tests.support.ddl import DUMPS, REHEARSAL_PREP


def _status(engine: SmartUps, now: float) -> list[str]:
    lines = engine.feed(b"Q", now).split(b"\r\n")
    register = parse_register(next(line for line in lines if line[:1].isalnum()))
    assert register is not None
    return status_tokens(register)


def test_the_library_is_all_there() -> None:
    assert len(DUMPS) == 26


@pytest.mark.parametrize("dump", DUMPS, ids=[d.name for d in DUMPS])
def test_every_dump_goes_on_line_on_battery_then_low(dump: Path) -> None:
    engine = SmartUps.from_dev(dump.read_bytes())
    now = 0.0
    engine.feed(SMART_MODE, now)
    for step, expected in ((REHEARSAL_PREP, {"OL"}), (["mains fail"], {"OB"}),
                           (["battery low"], {"OB", "LB"})):
        for line in step:
            assert run_control(engine, line) == (["OK"], None), line
        now += 1.0
        engine.tick(now)
        flags = set(_status(engine, now))
        assert expected <= flags and not ({"OL", "OB", "LB"} - expected) & flags, (step, flags)
