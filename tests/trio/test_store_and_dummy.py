"""The store's variables, and the dummy-ups driver on virtual time."""

from __future__ import annotations

import itertools
from pathlib import Path

import trio
import trio.testing

from nutpy.config import UpsConfig
from nutpy.drivers.base import DriverSetup
from nutpy.drivers.dummy import DummyUps
from nutpy.protocols.devfile import Assign, Timer, parse_steps
from nutpy.store import InstCmd, Link, Request, Result, SetVar, Store
from tests.support.aio import next_change


def test_case_only_updates_are_ignored_and_disconnect_clears() -> None:
    store = Store()
    ups = store.add("u")
    ups.set("ups.model", "Smart-UPS")
    ups.set("UPS.MODEL", "SMART-UPS")
    var = ups.get("ups.model")
    assert var is not None and var.value == "Smart-UPS" and var.name == "ups.model"
    ups.add_command("load.off")
    ups.mark_fresh(1.0)
    ups.disconnect()
    assert ups.variables == {} and ups.commands == {} and ups.link is Link.DOWN


def test_parse_steps_of_dev_and_seq() -> None:
    data = (b"# comment\ndriver.name: apcsmart\nups.status: OB LB\n"
            b'ups.model: "Smart UPS"\nTIMER 5\nbattery.charge: 10\nTIMER x\n')
    assert parse_steps(data) == [
        Assign("ups.status", "OB LB"), Assign("ups.model", "Smart UPS"), Timer(5.0),
        Assign("battery.charge", "10"), Timer(0.0)]


def _driver(tmp_path: Path, name: str, text: str) -> DummyUps:
    (tmp_path / name).write_text(text)
    return DummyUps(DriverSetup(UpsConfig("u", 1, "dummy-ups", name), tmp_path, {}))


async def test_seq_file_plays_its_steps_in_a_loop(tmp_path: Path,
                                                  autojump_clock: trio.testing.MockClock
                                                  ) -> None:
    driver = _driver(tmp_path, "u.seq", "ups.status: OL\nTIMER 10\nups.status: OB\nTIMER 10\n")
    store = Store()
    ups = store.add("u")
    _, receive = trio.open_memory_channel[Request](4)
    seen: list[tuple[float, str]] = []
    async with trio.open_nursery() as nursery:
        nursery.start_soon(driver.run, ups, receive)
        with trio.move_on_after(35):
            while True:
                await next_change(store)
                status = ups.get("ups.status")
                if status is not None and (not seen or seen[-1][1] != status.value):
                    seen.append((trio.current_time(), status.value))
        nursery.cancel_scope.cancel()
    assert [s for _, s in seen] == ["OL", "OB", "OL", "OB"]
    steps = [b[0] - a[0] for a, b in itertools.pairwise(seen)]
    assert all(9.9 < step < 12.1 for step in steps), steps
    assert ups.get("device.type") is not None
    assert ups.availability().value == "OK"


async def test_dev_file_set_var_and_instcmd(tmp_path: Path,
                                            autojump_clock: trio.testing.MockClock) -> None:
    driver = _driver(tmp_path, "u.dev", "ups.model: Smart-UPS 1500\nbattery.charge: 100\n")
    store = Store()
    ups = store.add("u")
    send, receive = trio.open_memory_channel[Request](4)
    results: list[int] = []
    async with trio.open_nursery() as nursery:
        nursery.start_soon(driver.run, ups, receive)
        await trio.sleep(1)
        model = ups.get("ups.model")
        assert model is not None and model.value == "Smart-UPS 1500"
        assert (model.writable, model.string, model.aux) == (True, True, 32)
        charge = ups.get("battery.charge")
        assert charge is not None and (charge.writable, charge.string) == (True, False)
        device_model = ups.get("device.model")
        assert device_model is not None and not device_model.writable
        await send.send(SetVar("battery.charge", "50", results.append))
        await send.send(SetVar("ups.model", "", results.append))
        await send.send(InstCmd("load.off", None, results.append))
        await trio.sleep(1)
        assert ups.get("battery.charge").value == "50"  # type: ignore[union-attr]
        assert ups.get("ups.model") is None
        assert results == [Result.SUCCESS, Result.SUCCESS, Result.UNKNOWN]
        nursery.cancel_scope.cancel()


async def test_missing_file_leaves_driver_not_connected(
        tmp_path: Path, autojump_clock: trio.testing.MockClock) -> None:
    driver = DummyUps(DriverSetup(UpsConfig("u", 1, "dummy-ups", "absent.dev"), tmp_path, {}))
    store = Store()
    ups = store.add("u")
    _, receive = trio.open_memory_channel[Request](4)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(driver.run, ups, receive)
        await trio.sleep(10)
        assert ups.availability().value == "DRIVER-NOT-CONNECTED"
        (tmp_path / "absent.dev").write_text("ups.status: OB\n")
        await trio.sleep(3)
        assert ups.availability().value == "OK"
        assert ups.flags() == ("OB",)
        nursery.cancel_scope.cancel()
