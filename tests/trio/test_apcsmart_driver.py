"""The apcsmart driver against the simulated Smart-UPS, in-process, through a Store.

Most tests run on trio's autojump clock: waits of seconds take no real time
and the timing of the bytes on the wire can be checked exactly.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import logging
import random
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import trio
import trio.testing

from nutpy.config import UpsConfig
from nutpy.drivers.apcsmart.driver import ApcSmart
from nutpy.drivers.base import DriverConfigError, DriverSetup
from nutpy.sim.link import SimLink
from nutpy.sim.smart import DEFAULT_COMMANDS, DEFAULT_REPLIES, SmartUps
from nutpy.store import InstCmd, Killpower, Link, Request, Result, SetVar, Store, UpsState
from nutpy.wiring import make_driver
from tests.support import FIXTURES

MAXAGE = 15.0
NOISE_BYTES = bytes(b for b in range(256) if not 0x20 <= b <= 0x7E) + b"!$%+#?=&|*"


class Wire(trio.abc.Stream):
    """The host end of the line, keeping what the driver sends and when."""

    def __init__(self, inner: trio.abc.Stream) -> None:
        self.inner = inner
        self.sent: list[tuple[float, bytes]] = []
        self.noise: random.Random | None = None  # set: garble one received chunk in three

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        self.sent.append((trio.current_time(), bytes(data)))
        await self.inner.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        await self.inner.wait_send_all_might_not_block()

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        data = bytes(await self.inner.receive_some(max_bytes))
        rng = self.noise
        if rng is None or not data or rng.random() > 1 / 3:
            return data
        burst = bytes(rng.choice(NOISE_BYTES) for _ in range(rng.randint(1, 6)))
        cut = rng.randint(0, len(data))
        return data[:cut] + burst + data[cut:]

    async def aclose(self) -> None:
        await self.inner.aclose()


class Engine(SmartUps):
    """The simulated unit, plus a way to send one alert byte out of the blue."""

    def send_alert(self, byte: bytes) -> None:
        self._outbox += byte


@dataclass
class Rig:
    ups: UpsState
    engine: Engine
    link: SimLink
    wire: Wire
    requests: trio.MemorySendChannel[Request]

    async def request(self, make: Callable[[Callable[[int], None]], Request]
                      ) -> tuple[int, bytes, list[float]]:
        """Submit a request; its result, the bytes it put on the wire and their times."""
        await trio.sleep(0.01)  # let a poll under way finish
        results: list[int] = []
        done = trio.Event()
        start = len(self.wire.sent)

        def finished(result: int) -> None:
            results.append(result)
            results.append(len(self.wire.sent))
            done.set()

        self.requests.send_nowait(make(finished))
        await done.wait()
        sent = self.wire.sent[start:results[1]]
        return results[0], b"".join(data for _, data in sent), [t for t, _ in sent]


def dump_engine(name: str = "smart-ups-1500.dev") -> Engine:
    return Engine.from_dev((FIXTURES / name).read_bytes())  # type: ignore[return-value]


async def wait_for(predicate: Callable[[], bool], timeout: float = 30.0) -> float:
    """Wait until ``predicate()``; returns how long it took."""
    start = trio.current_time()
    with trio.fail_after(timeout):
        while not predicate():
            await trio.sleep(0.01)
    return trio.current_time() - start


@contextlib.asynccontextmanager
async def running(engine: Engine | None = None, interval: float = 2.0,
                  seed: int = 0, options: dict[str, str] | None = None
                  ) -> AsyncIterator[Rig]:
    """The driver talking to ``engine`` (``options`` from ups.conf) until the block ends."""
    engine = engine or Engine()
    ups = Store().add("su")
    section = UpsConfig("su", 1, "apcsmart", "sim:smart",
                        options={"pollinterval": f"{interval:g}", **(options or {})})
    driver = ApcSmart(DriverSetup(section, Path("."), {}))
    link = SimLink(engine, seed=seed)
    host, sim = trio.testing.memory_stream_pair()
    wire = Wire(host)
    send, receive = trio.open_memory_channel[Request](16)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(link.serve, sim)
        nursery.start_soon(driver.serve, wire, ups, receive)
        await wait_for(lambda: ups.last_update is not None)
        yield Rig(ups, engine, link, wire, send)
        nursery.cancel_scope.cancel()


def value(ups: UpsState, name: str) -> str | None:
    var = ups.get(name)
    return var.value if var else None


# ---- discovery -------------------------------------------------------------------------


async def test_registered_and_through_a_sim_port(autojump_clock: trio.testing.MockClock
                                                 ) -> None:
    section = UpsConfig("su", 1, "apcsmart", "sim:smart?dump=smart-ups-sc1500.dev")
    driver = make_driver(section, FIXTURES, {})
    assert isinstance(driver, ApcSmart)
    ups = Store().add("su")
    _send, receive = trio.open_memory_channel[Request](16)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(driver.run, ups, receive)
        await wait_for(lambda: ups.last_update is not None)
        assert value(ups, "ups.model") == value(ups, "device.model") == "Smart-UPS SC1500"
        assert value(ups, "battery.charge") == "018.0"
        assert value(ups, "driver.parameter.port") == "sim:smart?dump=smart-ups-sc1500.dev"
        nursery.cancel_scope.cancel()


async def test_default_unit_as_nut_shows_it(autojump_clock: trio.testing.MockClock) -> None:
    async with running() as rig:
        ups = rig.ups
        assert value(ups, "ups.status") == "OL"
        assert value(ups, "battery.runtime") == "6300"
        assert value(ups, "battery.runtime.low") == "120"
        assert value(ups, "ups.test.interval") == "1209600"
        assert value(ups, "ups.firmware") == "60.11.I"  # b, not V's IWI
        assert value(ups, "ups.mfr") == value(ups, "device.mfr") == "APC"
        assert value(ups, "device.serial") == "QS9931125245"
        high = ups.get("input.transfer.high")
        assert high is not None and high.writable and high.enums == ["253", "257", "261", "265"]
        ident = ups.get("ups.id")
        assert ident is not None and ident.writable and ident.string and ident.aux == 8
        assert "shutdown.stayoff" in ups.commands and "calibrate.start" in ups.commands


def sent_commands(rig: Rig) -> set[bytes]:
    return {data for _, data in rig.wire.sent}


async def test_firmware_table_replaces_a_and_caps(autojump_clock: trio.testing.MockClock
                                                  ) -> None:
    """An old unit NUT knows by its ``V`` answer: commands from NUT's table, no ``a``/``^Z``."""
    replies = {cmd: reply for cmd, reply in DEFAULT_REPLIES.items() if cmd != b"b"}
    replies[b"V"] = "8QI"
    async with running(Engine(replies)) as rig:
        assert value(rig.ups, "ups.model") == "Smart-UPS"
        assert value(rig.ups, "ups.firmware") == "8QI"
        assert value(rig.ups, "input.voltage") == "235.3"
        assert not {b"a", b"\x1a"} & sent_commands(rig)
        assert {"shutdown.stayoff", "test.battery.start"} <= set(rig.ups.commands)
        high = rig.ups.get("input.transfer.high")
        assert high is not None and not high.enums  # no ^Z: no choices learned


async def test_without_a_the_old_probe_is_used(autojump_clock: trio.testing.MockClock
                                               ) -> None:
    """A unit that answers ``a`` with NA: NUT probes a fixed short list instead."""
    commands = DEFAULT_COMMANDS.replace(b"a", b"")
    async with running(Engine(commands=commands)) as rig:
        probed = sent_commands(rig)
        assert b"a" in probed
        assert value(rig.ups, "ups.model") == "SMART-UPS 1000"  # from ^A, in the probe list
        assert value(rig.ups, "battery.charge") == "100.0"
        assert value(rig.ups, "input.voltage") == "235.3"
        assert value(rig.ups, "ups.temperature") is not None  # C
        assert value(rig.ups, "battery.runtime") is None  # j is not in the probe list
        assert not rig.ups.commands  # nothing learned that could be commanded


# ---- alerts ----------------------------------------------------------------------------

ALERT_CASES = [  # (how the unit really is, alert byte, status the alert gives)
    ("", b"!", "OB"),
    ("mains fail", b"$", "OL"),
    ("", b"%", "OL LB"),
    ("mains fail+battery low", b"+", "OB"),
    ("", b"#", "OL RB"),
    ("", b"?", "OL OVER"),
    ("overload", b"=", "OL"),
]


@pytest.mark.parametrize(("setup", "alert", "alerted"), ALERT_CASES)
async def test_each_alert_changes_the_status_at_once(
        autojump_clock: trio.testing.MockClock, setup: str, alert: bytes, alerted: str) -> None:
    """With an hour between polls, the alert alone changes ups.status; a poll confirms."""
    engine = Engine()
    async with running(engine, interval=3600) as rig:
        actions: dict[str, Callable[[], None]] = {
            "mains fail": engine.mains_fail, "battery low": engine.battery_low,
            "overload": lambda: engine.set("ups.status", "OL OVER")}
        for event in filter(None, setup.split("+")):
            actions[event]()
        await rig.request(lambda done: InstCmd("test.panel.start", None, done))
        await trio.sleep(1)  # the poll that follows every request has been done
        truth = value(rig.ups, "ups.status")
        assert truth != alerted
        history: list[str] = []
        original_set = rig.ups.set

        def recording_set(name: str, new: str, **flags: bool | int | None) -> None:
            if name == "ups.status":
                history.append(new)
            original_set(name, new, **flags)  # type: ignore[arg-type]

        setattr(rig.ups, "set", recording_set)  # noqa: B010 (a method replaced for the test)
        engine.send_alert(alert)
        took = await wait_for(lambda: len(history) >= 2, timeout=5)
        assert history[:2] == [alerted, truth]  # the alert at once, then Q's word
        assert took < 1.0


async def test_mains_failure_seen_without_waiting_for_a_poll(
        autojump_clock: trio.testing.MockClock) -> None:
    async with running(interval=3600) as rig:
        rig.engine.mains_fail()
        assert await wait_for(lambda: value(rig.ups, "ups.status") == "OB") < 0.5
        rig.engine.mains_restore()
        assert await wait_for(lambda: value(rig.ups, "ups.status") == "OL") < 0.5


# ---- instant commands on the wire -------------------------------------------------------

COMMANDS = [  # (command, parameter, bytes on the wire, gaps between them, result)
    ("test.battery.start", None, b"W", [], Result.SUCCESS),
    ("test.panel.start", None, b"A", [], Result.SUCCESS),
    ("test.failure.start", None, b"U", [], Result.SUCCESS),
    ("calibrate.start", None, b"QD", [0.0], Result.SUCCESS),
    ("calibrate.stop", None, b"Q", [], Result.SUCCESS),  # nothing to stop: nothing sent
    ("load.on", None, b"\x0e\x0e", [1.5], Result.SUCCESS),
    ("shutdown.stayoff", None, b"KK", [1.5], Result.SUCCESS),
    ("load.off", None, b"ZZ", [1.5], Result.SUCCESS),
    ("shutdown.return", None, b"S", [], Result.FAILED),  # on line: NA
    ("shutdown.return", "at:3", b"@003", [0.2, 0.05, 0.05], Result.SUCCESS),
    ("shutdown.return", "at:12", b"@12Y", [0.2, 0.05, 1.5], Result.FAILED),
    ("shutdown.return", "cs", b"QUS", [0.0, 3.5], Result.SUCCESS),
]


@pytest.mark.parametrize(("name", "param", "wire", "gaps", "result"), COMMANDS)
async def test_instant_command_bytes_and_timing(
        autojump_clock: trio.testing.MockClock, name: str, param: str | None, wire: bytes,
        gaps: list[float], result: int) -> None:
    async with running(interval=3600) as rig:
        if name in ("shutdown.return", "shutdown.stayoff", "load.off"):
            # NUT's rule for these: the same request again 3 to 15 s later.
            first = await rig.request(lambda done: InstCmd(name, param, done))
            assert first == (Result.FAILED, b"", [])
            await trio.sleep(5)
        got, sent, times = await rig.request(lambda done: InstCmd(name, param, done))
        assert (sent, got) == (wire, result)
        assert [round(b - a, 2) for a, b in itertools.pairwise(times)] == gaps


async def test_unknown_and_unsupported_commands(autojump_clock: trio.testing.MockClock) -> None:
    async with running() as rig:
        for name, param in (("bypass.start", None), ("beeper.on", None),
                            ("test.panel.start", "x")):
            got, sent, _ = await rig.request(functools.partial(InstCmd, name, param))
            assert got != Result.SUCCESS and sent == b"", name


# ---- killpower (nutpy killpower, NUT's apcsmart -k) ---------------------------------------


@pytest.mark.parametrize(("options", "on_battery", "wire", "pending"), [
    ({}, False, b"Q@000", "@"),  # NUT's default: @ on line ...
    ({}, True, b"QS", "S"),  # ... and S on battery
    ({"sdtype": "1"}, False, b"Q@000", "@"),
    ({"sdtype": "1"}, True, b"QS", "S"),
    ({"sdtype": "2"}, False, b"QZZ", "none"),  # instant: off at once
    ({"sdtype": "3"}, True, b"QKK", "K"),
    ({"sdtype": "4"}, False, b"QUS", "S"),  # U puts it on battery, so S is accepted
    ({"sdtype": "5", "awd": "012"}, True, b"Q@012", "@"),
    ({"advorder": "20"}, True, b"QKK", "K"),
])
async def test_killpower_follows_sdtype(autojump_clock: trio.testing.MockClock,
                                        options: dict[str, str], on_battery: bool,
                                        wire: bytes, pending: str) -> None:
    engine = dump_engine()
    async with running(engine, options=options) as rig:
        if on_battery:
            engine.mains_fail()
            await wait_for(lambda: "OB" in (value(rig.ups, "ups.status") or ""))
        notes: list[str] = []
        got, sent, _ = await rig.request(lambda done: Killpower(done, notes))
        assert (got, sent) == (Result.SUCCESS, wire), notes
        assert "confirmed" in notes[-1]
        show = dict(line.split(": ", 1) for line in engine.show())
        assert show["pending shutdown"] == pending
        if pending == "none":
            assert show["output"] == "off"


async def test_killpower_refused_tries_the_next_method(
        autojump_clock: trio.testing.MockClock) -> None:
    # S first, which a unit on line refuses; then @.
    async with running(dump_engine(), options={"advorder": "01"}) as rig:
        notes: list[str] = []
        got, sent, _ = await rig.request(lambda done: Killpower(done, notes))
        assert (got, sent) == (Result.SUCCESS, b"QS@000")
        assert "refused" in notes[0] and "@000" in notes[1]


async def test_killpower_unanswered_fails(autojump_clock: trio.testing.MockClock) -> None:
    async with running(dump_engine(), options={"sdtype": "1"}) as rig:
        rig.engine.unplug()
        notes: list[str] = []
        got, _, _ = await rig.request(lambda done: Killpower(done, notes))
        assert got == Result.FAILED
        assert notes[0].startswith("status unreadable") and "refused or unanswered" in notes[-1]


@pytest.mark.parametrize("options", [{"sdtype": "9"}, {"advorder": "15"}, {"awd": "1234"}])
def test_bad_shutdown_options_are_config_errors(options: dict[str, str | None]) -> None:
    section = UpsConfig("su", 1, "apcsmart", "/dev/ttyS0", options=options)
    with pytest.raises(DriverConfigError):
        make_driver(section, Path("."), {})


# ---- writable settings -------------------------------------------------------------------


async def test_set_enum_and_string(autojump_clock: trio.testing.MockClock) -> None:
    async with running() as rig:
        got, sent, _ = await rig.request(lambda done: SetVar("input.transfer.high", "261", done))
        assert got == Result.SUCCESS and sent == b"u-u-u"
        assert rig.engine.replies[b"u"] == "261" and value(rig.ups, "input.transfer.high") == "261"
        got, sent, _ = await rig.request(lambda done: SetVar("battery.runtime.low", "420", done))
        assert got == Result.SUCCESS and rig.engine.replies[b"q"] == "07"
        got, sent, times = await rig.request(lambda done: SetVar("ups.id", "rack7", done))
        assert got == Result.SUCCESS and sent == b"c-rack7\r\r\rc"
        assert round(times[2] - times[1], 2) == 0.2 and round(times[3] - times[2], 2) == 0.05
        assert rig.engine.replies[b"c"] == "rack7" and value(rig.ups, "ups.id") == "rack7"
        got, sent, _ = await rig.request(lambda done: SetVar("ups.id", "rack7", done))
        assert (got, sent) == (Result.SUCCESS, b"c")  # already so: nothing written
        got, _, _ = await rig.request(lambda done: SetVar("ups.load", "1", done))
        assert got != Result.SUCCESS


async def test_set_an_enum_whose_caps_name_a_value_twice(
        autojump_clock: trio.testing.MockClock) -> None:
    async with running() as rig:
        assert rig.engine.choices(b"s") == ["H", "M", "L", "L"]  # as the Smart-UPS 1500 says
        got, sent, _ = await rig.request(lambda done: SetVar("input.sensitivity", "L", done))
        assert (got, sent) == (Result.SUCCESS, b"s-s-s")
        # Past the second L, where meeting L again must not end the search.
        got, sent, _ = await rig.request(lambda done: SetVar("input.sensitivity", "H", done))
        assert (got, sent) == (Result.SUCCESS, b"s-s-s")
        assert rig.engine.replies[b"s"] == "H" and value(rig.ups, "input.sensitivity") == "H"
        # A value the list lacks: once round (four steps) and back where it was, refused.
        got, sent, _ = await rig.request(lambda done: SetVar("input.sensitivity", "A", done))
        assert (got, sent) == (Result.FAILED, b"s" + b"-s" * 4)
        assert rig.engine.replies[b"s"] == "H"


# ---- a silent line, a vanished port -----------------------------------------------------


async def test_unplug_goes_stale_and_plug_comes_back(autojump_clock: trio.testing.MockClock
                                                    ) -> None:
    interval = 2.0
    async with running(dump_engine(), interval=interval) as rig:
        rig.engine.unplug()
        assert await wait_for(lambda: rig.ups.link is Link.STALE) < MAXAGE
        await trio.sleep(60)
        got, _, _ = await rig.request(lambda done: InstCmd("test.panel.start", None, done))
        assert got == Result.FAILED  # refused at once while the UPS is away
        assert rig.ups.link is Link.STALE and value(rig.ups, "battery.charge") == "100.0"
        rig.engine.plug()
        plugged = trio.current_time()
        await wait_for(lambda: rig.ups.link is not Link.STALE)
        assert rig.ups.last_update is not None
        assert rig.ups.last_update - plugged <= 2 * interval


async def test_a_closed_port_is_reopened(nursery: trio.Nursery) -> None:
    """socket:// port whose far end goes away: stale, then fresh after the re-open."""
    link = SimLink(Engine())
    connections: list[trio.CancelScope] = []

    async def handler(stream: trio.SocketStream) -> None:
        with trio.CancelScope() as scope:
            connections.append(scope)
            await link.serve(stream)
        await stream.aclose()

    listeners = await nursery.start(functools.partial(trio.serve_tcp, handler, 0,
                                                      host="127.0.0.1"))
    port = listeners[0].socket.getsockname()[1]
    section = UpsConfig("su", 1, "apcsmart", f"socket://127.0.0.1:{port}")
    ups = Store().add("su")
    _send, receive = trio.open_memory_channel[Request](16)
    nursery.start_soon(make_driver(section, Path("."), {}).run, ups, receive)
    await wait_for(lambda: ups.last_update is not None, timeout=10)
    connections[0].cancel()
    await wait_for(lambda: ups.link is Link.STALE, timeout=5)
    await wait_for(lambda: len(connections) == 2 and ups.link is not Link.STALE, timeout=10)
    assert value(ups, "ups.status") == "OL"


# ---- noise ------------------------------------------------------------------------------------


async def test_noise_never_publishes_a_wrong_value(autojump_clock: trio.testing.MockClock,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    """Bursts of line noise land inside replies; nothing wrong is ever published.

    The noise is control bytes, CR/LF and alert characters: a stray printable
    character inside a free-text reply, or a digit inside a number, would be
    undetectable by any driver (UPS-Link has no checksum).
    """
    caplog.set_level(logging.DEBUG, "nutpy.driver.apcsmart")
    async with running(dump_engine(), interval=1.0) as rig:
        await trio.sleep(3)  # the first M/N replies (the dump's) have been replaced by L
        truth = {key: var.value for key, var in rig.ups.variables.items()}
        published: list[tuple[str, str]] = []
        original_set = rig.ups.set

        def recording_set(name: str, new: str, **flags: bool | int | None) -> None:
            published.append((name, new))
            original_set(name, new, **flags)  # type: ignore[arg-type]

        setattr(rig.ups, "set", recording_set)  # noqa: B010 (a method replaced for the test)
        rig.wire.noise = random.Random(7)
        await trio.sleep(60)
        rig.wire.noise = None
        await trio.sleep(3)
        wrong = [(n, v) for n, v in published if n != "ups.status" and truth[n.lower()] != v]
        assert wrong == []
        assert len(published) > 150  # it kept polling through the noise
        assert caplog.text.count("garbled reply") > 20  # and the noise did hit replies
        assert {key: var.value for key, var in rig.ups.variables.items()} == truth
