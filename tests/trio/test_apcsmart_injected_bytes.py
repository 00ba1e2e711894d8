"""Every byte value, and every ordered pair of alert characters, put on the line of a
Smart-UPS that stays on mains: the driver never serves a status flag the UPS does not
have (issue #19).

In-process, on trio's autojump clock, through the simulator's ``inject`` command, with
the simulated line paced at 2400 baud so that a poll takes its real time (about 0.4 s
for this dump) and the injections, 0.37 s apart, land in every phase of the poll cycle:
on the idle line, between a query and its reply, between two replies.  Every value
``ups.status`` is ever given in the store is recorded, which is everything a client
polling it as fast as the server answers could be served (the system-level slice over
TCP is in ``tests/system/test_alert_noise.py``).
"""

from __future__ import annotations

import logging
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import trio
import trio.testing

from nutpy.config import UpsConfig
from nutpy.drivers.apcsmart.driver import ApcSmart
from nutpy.drivers.base import DriverSetup
from nutpy.protocols.apcsmart.status import Alert
from nutpy.sim.link import SimLink
from nutpy.sim.smart import SmartUps
from nutpy.store import Request, Store
from tests.support import FIXTURES
from tests.support.aio import wired

ALERTS = bytes(alert.value for alert in Alert)
SINGLE_BYTES = [bytes((b,)) for b in range(256)]
ALERT_PAIRS = [bytes((a, b)) for a in ALERTS for b in ALERTS]
SPACING = 0.37  # seconds between injections: not a divisor of the 2.4 s poll cycle


@asynccontextmanager
async def on_the_line(engine: SmartUps) -> AsyncIterator[tuple[SimLink, list[str]]]:
    """The driver reading ``engine`` at 2400 baud; every ups.status it sets, in order."""
    ups = Store().add("su")
    history: list[str] = []
    original_set = ups.set

    def recording_set(name: str, new: str, **flags: bool | int | None) -> None:
        if name == "ups.status":
            history.append(new)
        original_set(name, new, **flags)  # type: ignore[arg-type]

    setattr(ups, "set", recording_set)  # noqa: B010 (a method replaced for the test)
    driver = ApcSmart(DriverSetup(UpsConfig("su", 1, "apcsmart", "sim:smart",
                                            options={"pollinterval": "2"}), Path("."), {}))
    link = SimLink(engine, seed=1, baud=2400)
    _send, receive = trio.open_memory_channel[Request](1)
    async with wired(link) as host, trio.open_nursery() as nursery:
        nursery.start_soon(driver.serve, host, ups, receive)
        with trio.fail_after(30):
            while not history:
                await trio.sleep(0.1)
        yield link, history
        nursery.cancel_scope.cancel()


async def inject_all(link: SimLink, sequences: list[bytes]) -> None:
    for data in sequences:
        await trio.sleep(SPACING)
        assert link.control(f"inject {data.hex(' ')}") == ["OK"]
    await trio.sleep(5)  # the last ones answered, a clean poll after them


@pytest.mark.parametrize("power", ["mains", "battery"])
async def test_no_injected_byte_or_alert_pair_serves_a_status_the_ups_does_not_have(
        autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture,
        power: str) -> None:
    """On mains every byte and every pair; on battery (where a fake ``$`` would say
    the power is back) the alert characters and their pairs."""
    caplog.set_level(logging.DEBUG, "nutpy.driver.apcsmart")
    engine = SmartUps.from_dev((FIXTURES / "smart-ups-1500.dev").read_bytes())
    if power == "battery":
        engine.mains_fail()
    truth = "OL" if power == "mains" else "OB"
    sequences = SINGLE_BYTES + ALERT_PAIRS if power == "mains" else [
        bytes((b,)) for b in ALERTS] + ALERT_PAIRS
    async with on_the_line(engine) as (link, history):
        start = trio.current_time()
        await inject_all(link, sequences)
        took = trio.current_time() - start
        assert engine.status() == (0x08 if power == "mains" else 0x10)  # it never changed
    assert set(history) == {truth}
    # The injections were heard and put to Q (and not lost in a line held busy):
    # each alert that claims a change was answered "not confirmed" (on battery a
    # % waits for the runtime to bear it out, which it does not).
    claims = sum(1 for data in sequences for byte in data
                 if byte in (b"!%#?" if power == "mains" else b"$#?"))
    refused = caplog.text.count("not confirmed, not published: alert")
    assert refused >= claims * 0.9, (refused, claims)
    assert took < len(sequences) * SPACING + 6


async def test_a_real_power_cut_is_served_one_q_after_its_alert_or_after_the_exchange_under_way(
        autojump_clock: trio.testing.MockClock) -> None:
    """The price of confirming, in line time at 2400 baud (4.2 ms a byte).  On an
    idle line: the ``!``, then ``Q`` and ``10`` CR LF, 25 ms.  In a poll the ``!``
    waits for the reply under way, and the host has sent its next query before it
    hears the ``!``: that exchange too comes first.  Polled replies are at most 7
    bytes, so 8 + 1 + 8 + 5 byte times, 92 ms, at worst.  (NUT's apcsmart serves
    the OB at its next poll, up to 2 s later.)"""
    engine = SmartUps.from_dev((FIXTURES / "smart-ups-1500.dev").read_bytes())
    delays: list[float] = []
    rng = random.Random(2)
    async with on_the_line(engine) as (link, history):
        for _ in range(60):
            await trio.sleep(rng.uniform(0.5, 3.0))  # anywhere in the 2.4 s poll cycle
            seen = len(history)
            start = trio.current_time()
            assert link.control("mains fail") == ["OK"]
            with trio.fail_after(1):
                while "OB" not in history[seen:]:
                    await trio.sleep(0.0005)
            delays.append(trio.current_time() - start)
            assert link.control("mains restore") == ["OK"]
            with trio.fail_after(1):
                while history[-1] != "OL":
                    await trio.sleep(0.0005)
    delays.sort()
    print(f"mains fail -> OB at 2400 baud: min {delays[0] * 1000:.1f} ms, "
          f"median {delays[len(delays) // 2] * 1000:.1f} ms, max {delays[-1] * 1000:.1f} ms")
    byte = 10 / 2400
    assert delays[0] >= 6 * byte - 0.001  # never on the alert's word alone
    assert delays[len(delays) // 2] < 6 * byte + 0.002  # mostly on an idle line
    assert delays[-1] < (8 + 1 + 8 + 5) * byte + 0.002  # exchange, !, exchange, Q
