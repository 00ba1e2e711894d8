"""A different UPS on the same port: after rediscovery only the new unit's data is served.

A port whose simulated unit is swapped for another (the cable moved to a
different UPS, a unit replaced) reconnects, and the driver discovers again.
What the store then holds must be exactly what a driver that only ever saw
the new unit publishes: the old unit's variables (``ups.temperature``),
commands and writable flags do not linger as fresh data.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trio
import trio.testing

from nutpy.config import UpsConfig
from nutpy.drivers.apcmicrolink.driver import ApcMicrolink
from nutpy.drivers.apcsmart.driver import ApcSmart
from nutpy.drivers.base import Driver, DriverSetup, supervise
from nutpy.sim.control import Engine
from nutpy.sim.link import SimLink
from nutpy.sim.microlink import MicrolinkSim
from nutpy.sim.smart import SmartUps
from nutpy.store import Availability, Store, UpsState
from tests.support import FIXTURES

Shape = tuple[dict[str, tuple[bool, tuple[str, ...]]], set[str]]


class SwappablePort:
    """A port with a simulated unit behind it that can be exchanged for another."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._unplug: trio.CancelScope | None = None

    @contextlib.asynccontextmanager
    async def open(self, baudrate: int) -> AsyncIterator[trio.abc.Stream]:
        host, device = trio.testing.memory_stream_pair()
        async with trio.open_nursery() as nursery:
            self._unplug = nursery.cancel_scope
            nursery.start_soon(self._serve, SimLink(self.engine), device)
            try:
                yield host
            finally:
                nursery.cancel_scope.cancel()

    async def _serve(self, link: SimLink, device: trio.abc.Stream) -> None:
        async with device:  # closed when the unit is taken away: the driver reads EOF
            await link.serve(device)

    def swap(self, engine: Engine) -> None:
        self.engine = engine
        assert self._unplug is not None
        self._unplug.cancel()


def _shape(ups: UpsState) -> Shape:
    """Variable names with (writable, enums), and commands: what discovery decides."""
    return ({name: (var.writable, tuple(var.enums)) for name, var in ups.variables.items()},
            set(ups.commands))


async def _available(ups: UpsState, since: float) -> None:
    with trio.fail_after(120):
        while not (ups.availability() is Availability.OK and (ups.last_update or 0) > since):
            await trio.sleep(0.1)


@contextlib.asynccontextmanager
async def _running(make: type[ApcSmart] | type[ApcMicrolink], port: SwappablePort
                   ) -> AsyncIterator[UpsState]:
    store = Store()
    ups = store.add("u")
    section = UpsConfig("u", 1, "apcsmart", "swappable", options={"pollinterval": "1"})
    driver: Driver = make(DriverSetup(section, Path("."), {}, port.open))
    async with trio.open_nursery() as nursery:
        nursery.start_soon(supervise, driver, ups)
        await _available(ups, -1.0)
        yield ups
        nursery.cancel_scope.cancel()


async def _reference(make: type[ApcSmart] | type[ApcMicrolink], engine: Engine) -> Shape:
    """What a driver that only ever saw ``engine``'s unit publishes."""
    async with _running(make, SwappablePort(engine)) as ups:
        return _shape(ups)


def _dump(name: str) -> SmartUps:
    return SmartUps.from_dev((FIXTURES / name).read_bytes())


async def test_smart_unit_swapped_on_the_port(autojump_clock: trio.testing.MockClock,
                                              caplog: pytest.LogCaptureFixture) -> None:
    expected = await _reference(ApcSmart, _dump("smart-ups-sc1500.dev"))
    port = SwappablePort(_dump("smart-ups-rt-3000-xl.dev"))
    async with _running(ApcSmart, port) as ups:
        assert ups.get("ups.temperature") is not None  # the RT 3000 XL has it
        old = _shape(ups)
        port.swap(_dump("smart-ups-sc1500.dev"))
        await _available(ups, trio.current_time())
        assert ups.get("ups.model").value == "Smart-UPS SC1500"  # type: ignore[union-attr]
        assert ups.get("ups.temperature") is None
        assert ups.get("output.current") is None
        assert _shape(ups) == expected != old
    assert "driver failed" not in caplog.text  # a reconnect, not a restart


async def test_microlink_leftovers_of_another_unit_go(
        autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture) -> None:
    """The simulator has one model, so the other unit's traces are put in the store."""
    expected = await _reference(ApcMicrolink, MicrolinkSim())
    port = SwappablePort(MicrolinkSim())
    async with _running(ApcMicrolink, port) as ups:
        assert _shape(ups) == expected
        ups.set("battery.packs", "2")  # what a unit with an extra pack published
        ups.set("battery.charge.low", "10", writable=True)
        ups.set("input.voltage", ups.variables["input.voltage"].value, writable=True)
        ups.set_enums("input.voltage", ["230", "240"])  # writable there, not here
        ups.add_command("bypass.start")
        port.swap(MicrolinkSim())
        await _available(ups, trio.current_time())
        assert _shape(ups) == expected
    assert "driver failed" not in caplog.text


async def test_without_a_new_discovery_nothing_is_dropped(
        autojump_clock: trio.testing.MockClock) -> None:
    """A poll is no discovery: a variable absent from one reply is not removed by it."""
    port = SwappablePort(_dump("smart-ups-1500.dev"))
    async with _running(ApcSmart, port) as ups:
        before = _shape(ups)
        await _available(ups, trio.current_time() + 5)
        assert _shape(ups) == before


@pytest.fixture
def autojump_clock() -> trio.testing.MockClock:
    return trio.testing.MockClock(autojump_threshold=0)


@pytest.fixture(autouse=True)
def _quiet(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
