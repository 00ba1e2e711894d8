"""The apcmicrolink driver against the simulated UPS, in-process, on virtual time.

The simulator runs on the far end of a memory stream (as ``sim:microlink``
ports do); a tap on the host end records every byte the driver sends and can
corrupt what it receives.  Frames come from spec/apc-microlink.md §6 and the
§8 layout (W=16).
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import trio
import trio.testing

from nutpy.config import UpsConfig
from nutpy.drivers.apcmicrolink.driver import ApcMicrolink
from nutpy.drivers.base import DriverConfigError, DriverSetup
from nutpy.protocols.apcmicrolink import commands, framing
from nutpy.sim.link import SimLink
from nutpy.sim.microlink import MicrolinkSim
from nutpy.store import (
    Availability,
    InstCmd,
    Killpower,
    Link,
    Request,
    Result,
    SetVar,
    Store,
    UpsState,
)
from nutpy.wiring import make_driver
from tests.support.aio import next_change
from tests.support.expected import COMMAND_FRAMES, EXPECTED

H = bytes.fromhex
MAXAGE = 15.0
DRIVER_VARS = {"driver.name": "apcmicrolink", "device.type": "ups"}

# SET VAR -> (value, frame without check bytes), W=16 (§8 offsets, §6 encodings).
SETTING_FRAMES = {
    "battery.date": ("2025-01-01", H("47000223AC")),
    "ups.test.interval": ("Never", H("4A04020001")),
    "ups.id": ("RACK1", H("490010") + b"RACK1" + bytes(11)),
    "input.transfer.high": ("270", H("4A0A02010E")),
    "input.transfer.low": ("190", H("4A0C0200BE")),
    "experimental.output.voltage.setting": ("VAC120", H("4B04020002")),
    "ups.display.language": ("de", H("7304020008")),
    "outlet.group.0.delay.start": ("5", H("4C00020005")),
    "outlet.group.0.delay.shutdown": ("120", H("4C02020078")),
    "outlet.group.0.delay.reboot": ("10", H("4C04040000000A")),
    "outlet.group.0.minimumreturnruntime": ("60", H("4C0802003C")),
    "outlet.group.0.lowruntimewarning": ("200", H("4C0C0200C8")),
    "outlet.group.0.name": ("Servers", H("4D0010") + b"Servers" + bytes(9)),
}

Corrupt = Callable[[bytes], bytes]


class Tap(trio.abc.Stream):
    """The driver's end of the line: records what it sends, may corrupt what it gets."""

    def __init__(self, inner: trio.abc.Stream) -> None:
        self.inner = inner
        self.sent = bytearray()
        self.corrupt: Corrupt | None = None

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        self.sent += data
        await self.inner.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        await self.inner.wait_send_all_might_not_block()

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        data = bytes(await self.inner.receive_some(max_bytes))
        return self.corrupt(data) if self.corrupt and data else data

    async def aclose(self) -> None:
        await self.inner.aclose()


@dataclass
class Rig:
    sim: MicrolinkSim
    tap: Tap
    store: Store
    ups: UpsState
    results: list[int] = field(default_factory=list)

    def values(self) -> dict[str, str]:
        return {v.name: v.value for v in self.ups.variables.values()}

    def availability(self) -> Availability:
        return self.ups.availability()

    async def until(self, predicate: Callable[[], bool], timeout: float = 10.0) -> float:
        """Wait for the store to satisfy ``predicate``; returns the time it took."""
        start = trio.current_time()
        with trio.fail_after(timeout):
            while not predicate():
                with trio.move_on_after(0.05):  # availability also ages with time
                    await next_change(self.store)
        return trio.current_time() - start

    async def fresh_round(self) -> None:
        """Wait for a round of data that started after now."""
        since = trio.current_time()
        await self.until(lambda: (self.ups.last_update or -1) > since
                         and self.availability() is Availability.OK)

    def request(self, make: Callable[[Callable[[int], None]], Request]) -> None:
        assert self.ups.submit(make(self.results.append))

    async def result(self) -> int:
        await self.until(lambda: bool(self.results))
        return self.results.pop()


def _section(port: str = "sim:microlink", **options: str) -> UpsConfig:
    return UpsConfig("ml", 1, "apcmicrolink", port, options=dict(options))


@contextlib.asynccontextmanager
async def rig(width: int = 16, idle_timeout: float = 0.75) -> AsyncIterator[Rig]:
    sim = MicrolinkSim(width=width, idle_timeout=idle_timeout)
    host, device = trio.testing.memory_stream_pair()
    store = Store()
    r = Rig(sim, Tap(host), store, store.add("ml"))
    send, receive = trio.open_memory_channel[Request](16)
    r.ups.attach(send)
    driver = ApcMicrolink(DriverSetup(_section(), Path("."), {}))
    async with trio.open_nursery() as nursery:
        nursery.start_soon(SimLink(sim).serve, device)
        nursery.start_soon(driver.serve, r.tap, r.ups, receive)
        yield r
        nursery.cancel_scope.cancel()


async def connected(r: Rig) -> None:
    await r.until(lambda: r.availability() is Availability.OK)


# ---- publishing ---------------------------------------------------------------------


@pytest.mark.parametrize("port", ["sim:microlink", "sim:microlink?rows=32"])
async def test_run_publishes_every_variable(port: str,
                                            autojump_clock: trio.testing.MockClock) -> None:
    store = Store()
    ups = store.add("ml")
    _, receive = trio.open_memory_channel[Request](1)
    driver = make_driver(_section(port), Path("."), {})
    async with trio.open_nursery() as nursery:
        nursery.start_soon(driver.run, ups, receive)
        with trio.fail_after(10):
            while ups.availability() is not Availability.OK:
                await next_change(store)
        nursery.cancel_scope.cancel()
    values = {v.name: v.value for v in ups.variables.values()}
    version = values.pop("driver.version")
    assert version and values.pop("driver.version.internal") == version
    assert values == EXPECTED | DRIVER_VARS | {"driver.parameter.port": port}


async def test_settings_and_commands_are_described(
        autojump_clock: trio.testing.MockClock) -> None:
    async with rig() as r:
        await connected(r)
        variables = r.ups.variables
        assert set(r.ups.commands) == set(COMMAND_FRAMES) | {
            f"outlet.group.0.{op}" for op in commands.OUTLET_OPS}
        writable = {name for name, v in variables.items() if v.writable}
        assert writable == set(SETTING_FRAMES)
        ups_id, name = variables["ups.id"], variables["outlet.group.0.name"]
        assert (ups_id.string, ups_id.aux, name.string, name.aux) == (True, 16, True, 16)
        date = variables["battery.date"]
        assert not date.string and not date.enums and not date.ranges
        assert variables["ups.test.interval"].enums[0] == "Never"
        assert variables["ups.display.language"].enums == [
            "en", "fr", "it", "de", "es", "pt", "ja", "ru"]
        assert variables["input.transfer.high"].ranges == [(245, 280)]
        assert variables["input.transfer.low"].ranges == [(160, 220)]
        assert not variables["battery.charge"].writable


# ---- commands and settings: exact frames at the simulator ---------------------------


@pytest.mark.parametrize("name", sorted(COMMAND_FRAMES))
async def test_every_command_sends_its_frame(name: str,
                                             autojump_clock: trio.testing.MockClock) -> None:
    async with rig() as r:
        await connected(r)
        before = len(r.tap.sent)
        r.request(lambda done: InstCmd(name, None, done))
        assert await r.result() == Result.SUCCESS
        sent = bytes(r.tap.sent[before:])
        frame = framing.frame(COMMAND_FRAMES[name])
        assert sent.count(frame) == 1
        assert set(sent.replace(frame, b"")) <= {framing.ACK}  # nothing else but polls
        assert f"<- {COMMAND_FRAMES[name][3:].hex()}" in r.sim.last_command


async def test_killpower_sends_shutdown_return(autojump_clock: trio.testing.MockClock) -> None:
    async with rig() as r:
        await connected(r)
        r.sim.mains_fail()
        before = len(r.tap.sent)
        notes: list[str] = []
        r.request(lambda done: Killpower(done, notes))
        assert await r.result() == Result.SUCCESS
        assert framing.frame(COMMAND_FRAMES["shutdown.return"]) in bytes(r.tap.sent[before:])
        assert "confirmed" in notes[0] and "back on when the mains return" in notes[0]
        off_delay = int(r.values()["outlet.group.0.delay.shutdown"])
        await trio.sleep(off_delay - 1)
        assert r.sim.output_on
        await trio.sleep(2)
        assert not r.sim.output_on
        r.sim.mains_restore()
        await trio.sleep(1)
        assert r.sim.output_on


async def test_spec_command_examples(autojump_clock: trio.testing.MockClock) -> None:
    async with rig() as r:
        await connected(r)
        for name, frame in (("test.battery.start", H("6D040204014542")),
                            ("outlet.group.0.load.off", H("71080241045BE3"))):
            before = len(r.tap.sent)
            r.request(lambda done, name=name: InstCmd(name, None, done))  # type: ignore[misc]
            assert await r.result() == Result.SUCCESS
            assert frame in r.tap.sent[before:]


@pytest.mark.parametrize("name", sorted(SETTING_FRAMES))
async def test_every_setting_sends_its_frame_and_reads_back(
        name: str, autojump_clock: trio.testing.MockClock) -> None:
    value, data = SETTING_FRAMES[name]
    async with rig() as r:
        await connected(r)
        before = len(r.tap.sent)
        r.request(lambda done: SetVar(name, value, done))
        assert await r.result() == Result.SUCCESS
        assert framing.frame(data) in r.tap.sent[before:]
        assert r.sim.last_command.endswith(f"<- {data[3:].hex()}")
        await r.until(lambda: r.values()[name] == value)


async def test_bad_requests_are_answered(autojump_clock: trio.testing.MockClock) -> None:
    async with rig() as r:
        r.request(lambda done: InstCmd("beeper.mute", None, done))
        assert await r.result() == Result.FAILED  # not connected yet
        await connected(r)
        r.request(lambda done: SetVar("ups.id", "X" * 17, done))
        assert await r.result() == Result.INVALID
        r.request(lambda done: SetVar("battery.charge", "50", done))
        assert await r.result() == Result.UNKNOWN
        r.request(lambda done: InstCmd("outlet.group.3.load.off", None, done))
        assert await r.result() == Result.UNKNOWN
        r.sim.unplug()
        r.request(lambda done: InstCmd("beeper.mute", None, done))
        assert await r.result() == Result.FAILED  # no echo
        assert not r.sim.beeper_muted


def test_config_errors() -> None:
    with pytest.raises(DriverConfigError, match="cmdsrc"):
        ApcMicrolink(DriverSetup(_section(cmdsrc="serial"), Path("."), {}))
    with pytest.raises(DriverConfigError):
        make_driver(_section("ftp://x"), Path("."), {})


async def test_cmdsrc_picks_the_source_bit(autojump_clock: trio.testing.MockClock) -> None:
    host, device = trio.testing.memory_stream_pair()
    sim, tap, store = MicrolinkSim(), Tap(host), Store()
    ups = store.add("ml")
    send, receive = trio.open_memory_channel[Request](4)
    ups.attach(send)
    results: list[int] = []
    async with trio.open_nursery() as nursery:
        nursery.start_soon(SimLink(sim).serve, device)
        driver = ApcMicrolink(DriverSetup(_section(cmdsrc="usb"), Path("."), {}))
        nursery.start_soon(driver.serve, tap, ups, receive)
        with trio.fail_after(10):
            while not ups.commands:
                await next_change(store)
        ups.submit(InstCmd("load.off", None, results.append))
        with trio.fail_after(10):
            while not results:
                await next_change(store)
        nursery.cancel_scope.cancel()
    assert results == [Result.SUCCESS]
    assert framing.frame(H("7108021104")) in tap.sent


# ---- recovery -----------------------------------------------------------------------


async def test_unplugged_goes_stale_and_comes_back_by_itself(
        autojump_clock: trio.testing.MockClock) -> None:
    async with rig() as r:
        await connected(r)
        r.sim.unplug()
        unplugged = trio.current_time()
        took = await r.until(lambda: r.availability() is Availability.DATA_STALE)
        assert took < 1.0  # three unanswered polls, long before MAXAGE
        await trio.sleep_until(unplugged + 5)
        assert r.availability() is Availability.DATA_STALE
        r.sim.plug()
        plugged = trio.current_time()
        took = await r.until(lambda: (r.ups.last_update or 0) > plugged
                             and r.availability() is Availability.OK)
        assert took < 2.0
        assert r.sim.monitoring  # authenticated again
        assert EXPECTED.items() <= r.values().items()


async def test_session_lost_goes_stale_then_recovers(
        autojump_clock: trio.testing.MockClock) -> None:
    async with rig(idle_timeout=0.3) as r:
        await connected(r)
        stale_seen: list[bool] = []

        async def watch() -> None:
            while True:
                await next_change(r.store)
                stale_seen.append(r.ups.link is Link.STALE)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(watch)
            r.sim.unplug()  # long enough for the UPS to drop us, too short for NoResponse
            await trio.sleep(0.5)
            r.sim.plug()
            await r.fresh_round()
            nursery.cancel_scope.cancel()
        assert True in stale_seen  # SessionLost: page 0 while monitoring
        assert r.sim.monitoring


def one_byte_in(n: int, seed: int) -> Corrupt:
    """Flip one random bit in every n-th byte (random phase)."""
    rng = random.Random(seed)
    countdown = rng.randrange(n)

    def corrupt(data: bytes) -> bytes:
        nonlocal countdown
        out = bytearray(data)
        for i in range(len(out)):
            if countdown == 0:
                out[i] ^= 1 << rng.randrange(8)
                countdown = n
            countdown -= 1
        return bytes(out)

    return corrupt


def random_noise(rate: float, seed: int) -> Corrupt:
    rng = random.Random(seed)
    return lambda data: bytes(b ^ (1 << rng.randrange(8)) if rng.random() < rate else b
                              for b in data)


async def _watch_values(r: Rig, seconds: float, *, stay_fresh: bool) -> int:
    """Check everything a client could see at every change; returns the rounds seen."""
    rounds, last = 0, r.ups.last_update
    with trio.move_on_after(seconds):
        while True:
            with trio.move_on_after(0.05):  # a fresh round changes no value: look anyway
                await next_change(r.store)
            values = r.values()
            for name, value in EXPECTED.items():
                assert values.get(name, value) == value, (name, values.get(name))
            assert values.keys() <= EXPECTED.keys() | {
                "driver.name", "driver.version", "driver.version.internal",
                "driver.parameter.port", "device.type"}
            if stay_fresh:
                assert r.availability() is Availability.OK
            if r.ups.last_update != last:
                rounds, last = rounds + 1, r.ups.last_update
    return rounds


@pytest.mark.parametrize("seed", range(3))
async def test_one_byte_in_a_hundred_corrupted_stays_fresh_and_right(
        seed: int, autojump_clock: trio.testing.MockClock) -> None:
    async with rig() as r:
        await connected(r)
        r.tap.corrupt = one_byte_in(100, seed)
        rounds = await _watch_values(r, 60, stay_fresh=True)
        # A clean round of 64 pages takes ~1.3 s at 9600 baud; each corrupt
        # record (one in five) costs a 0.2 s reply timeout on top.
        assert rounds > 10
        assert r.values().items() >= EXPECTED.items()


async def test_random_noise_never_publishes_a_wrong_value(
        autojump_clock: trio.testing.MockClock) -> None:
    """Random bit flips come in bursts: three lost records in a row look like
    an outage (stale, then a new session, whose sweep is slow under noise),
    but nothing decoded from a corrupt record ever reaches a client."""
    async with rig() as r:
        r.tap.corrupt = random_noise(0.01, 1)  # from power-up: sweep and auth under noise
        rounds = await _watch_values(r, 120, stay_fresh=False)
        assert rounds > 5
        r.tap.corrupt = None
        await r.fresh_round()
        assert r.values().items() >= EXPECTED.items()
