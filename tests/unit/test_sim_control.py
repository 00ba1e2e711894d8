"""The simulators' control language, on both engines."""

from __future__ import annotations

import random

import pytest

from nutpy.sim.builtin import make_engine
from nutpy.sim.control import (
    MAX_INJECT,
    Garble,
    Inject,
    Noise,
    Truncate,
    cut_short,
    garbled,
    idle_noise,
    random_garbage,
    run_control,
)
from nutpy.sim.microlink import MicrolinkSim
from nutpy.sim.smart import SmartUps
from tests.support import FIXTURES


@pytest.mark.parametrize("engine", [SmartUps(), MicrolinkSim()], ids=["smart", "microlink"])
def test_every_verb(engine: SmartUps | MicrolinkSim) -> None:
    for line in ("mains fail", "mains restore", "battery charge 50", "battery low",
                 "load 40%", "unplug", "plug"):
        assert run_control(engine, line) == (["OK"], None), line
    assert run_control(engine, "noise 17") == (["OK"], Noise(17))
    assert run_control(engine, "garble 1") == (["OK"], Garble(0.01))
    assert run_control(engine, "garble 0") == (["OK"], Garble(0.0))
    assert run_control(engine, "inject 21 25") == (["OK"], Inject(b"!%"))
    assert run_control(engine, "inject 0d0A ff") == (["OK"], Inject(b"\r\n\xff"))
    assert run_control(engine, "truncate 3") == (["OK"], Truncate(3))
    assert run_control(engine, "truncate 0") == (["OK"], Truncate(0))
    shown, _ = run_control(engine, "show")
    assert shown[-1] == "OK" and any(line.startswith("output: ") for line in shown)
    assert any(line.startswith("last command: ") for line in shown)
    assert run_control(engine, "") == ([], None)


def test_mains_fail_reaches_the_engine() -> None:
    engine = SmartUps()
    run_control(engine, "MAINS FAIL")
    assert "mains: absent" in engine.show()


@pytest.mark.parametrize("line", ["battery charge 150", "load x", "noise 0", "noise -3",
                                  "truncate -1", "truncate x", "truncate", "frobnicate",
                                  "battery", "set", "garble", "garble 101", "garble x",
                                  "garble nan", "inject", "inject 2", "inject zz", "inject 0x21",
                                  "inject " + "00" * (MAX_INJECT + 1)])
def test_bad_commands_get_err(line: str) -> None:
    answer, noise = run_control(SmartUps(), line)
    assert len(answer) == 1 and answer[0].startswith("ERR") and noise is None


def test_random_garbage_is_reproducible() -> None:
    assert random_garbage(8, random.Random(1)) == random_garbage(8, random.Random(1))
    assert len(random_garbage(100, random.Random())) == 100


def test_garbling_replaces_bytes_and_idle_noise_comes_at_its_rate() -> None:
    rng = random.Random(3)
    data = bytes(100_000)
    changed = sum(b != 0 for b in garbled(data, 0.01, rng))
    assert 850 < changed < 1130  # 1 % of the bytes, less the 1 in 256 left as they were
    assert garbled(data, 0.0, rng) == data
    assert 900 < len(idle_noise(100_000, 0.01, rng)) < 1100


def test_cut_short_loses_what_ends_a_reply() -> None:
    assert cut_short(b"230.0\r\n") == b"230"
    assert cut_short(b"SM\r\n") == b"SM"
    record = bytes(range(19))  # a W=16 Microlink record: id, data, checksum
    assert cut_short(record) == record[:9]


def test_builtin_engines_and_options() -> None:
    fixtures = FIXTURES
    smart = make_engine("smart", {"dump": "smart-ups-1250.dev"}, fixtures)
    assert isinstance(smart, SmartUps)
    assert isinstance(make_engine("microlink", {"rows": "32"}, fixtures), MicrolinkSim)
    for name, options in (("smart", {"dump": "absent.dev"}), ("microlink", {"rows": "8"}),
                          ("other", {})):
        with pytest.raises(ValueError):
            make_engine(name, options, fixtures)
