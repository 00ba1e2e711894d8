"""Bad control input gets an error line and leaves the simulator working.

``set ups.status OB`` and ``set input.voltage 1e999`` used to raise out of
the Microlink simulator (in-process, the driver restarted and the log hid
why); a value the Smart simulator took could break it a moment later.
Each line here must be answered with one ``ERR`` line, after which the
engine still answers its host, runs its physics through a power cut, and
shows its state.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from nutpy.sim.control import Engine, run_control
from nutpy.sim.microlink import MicrolinkSim
from nutpy.sim.smart import SmartUps

COMMON = ["set nosuch 1", "load inf", "load nan", "battery charge nan", "noise 1e999",
          "noise -1", "truncate -1", "truncate x", "battery charge", "set input.voltage",
          "set input.voltage 1e999", "set input.voltage nan", "set input.voltage -1e300",
          "set battery.charge inf", "set battery.charge nan", "set battery.charge 1e999"]
BAD: dict[str, tuple[Callable[[], Engine], list[str]]] = {
    "microlink": (MicrolinkSim, [*COMMON, "set ups.status OB", "set 2:4.A zz",
                                 "set 2:4.A 00", "set ups.serial \u00e9",
                                 "set input.voltage 99999999", "set ups.mfr.date 2020-13-45"]),
    "smart": (SmartUps, [*COMMON, "set ups.load 1e999", "set ups.load -5",
                         "set f \u2603", "set ups.serial \u2603", "set input.voltage -10"]),
}
CASES = [(model, line) for model, (_, lines) in BAD.items() for line in lines]


def _still_works(engine: Engine) -> None:
    now = 0.0
    engine.feed(b"Y" if isinstance(engine, SmartUps) else b"\x00", now)
    for byte in b"QfjLBPn":
        engine.feed(bytes([byte]), now)
    for verb in ("mains fail", "battery low", "mains restore"):
        assert run_control(engine, verb) == (["OK"], None), verb
        for _ in range(50):
            now += 5.0
            engine.tick(now)
    shown, _ = run_control(engine, "show")
    assert shown[-1] == "OK"


@pytest.mark.parametrize(("model", "line"), CASES)
def test_bad_control_line_is_an_error_line(model: str, line: str) -> None:
    engine = BAD[model][0]()
    answer, fault = run_control(engine, line)
    assert fault is None
    assert len(answer) == 1 and answer[0].startswith("ERR "), answer
    assert len(answer[0]) < 200, answer  # a number 300 digits long is not echoed
    _still_works(engine)
