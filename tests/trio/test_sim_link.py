"""The simulator's wire: baud pacing, and alerts sent the moment a command causes them.

On trio's autojumping mock clock: time moves only when every task waits, so
the durations below are exact.
"""

from __future__ import annotations

import trio
import trio.testing

from nutpy.sim.link import TICK_INTERVAL, SimLink
from nutpy.sim.smart import SmartUps
from tests.support.aio import wired


async def _reply(host: trio.abc.Stream, command: bytes, end: bytes) -> tuple[bytes, float]:
    start = trio.current_time()
    await host.send_all(command)
    data = b""
    while not data.endswith(end):
        data += await host.receive_some(100)
    return data, trio.current_time() - start


async def test_a_paced_link_takes_the_line_time_of_command_and_reply(
        autojump_clock: trio.testing.MockClock) -> None:
    link = SimLink(SmartUps(), baud=2400)
    async with wired(link) as host:
        reply, took = await _reply(host, b"Y", b"\r\n")
    assert reply == b"SM\r\n"
    line_time = 5 * 10 / 2400  # Y, then S M CR LF
    assert abs(took - line_time) < 1e-9


async def test_an_unpaced_link_answers_at_once(
        autojump_clock: trio.testing.MockClock) -> None:
    link = SimLink(SmartUps())
    async with wired(link) as host:
        _, took = await _reply(host, b"Y", b"\r\n")
    assert took == 0


async def test_mains_fail_sends_its_alert_without_waiting_for_a_tick(
        autojump_clock: trio.testing.MockClock) -> None:
    link = SimLink(SmartUps())
    async with wired(link) as host:
        await _reply(host, b"Y", b"\r\n")  # smart mode: alerts are sent
        await trio.sleep(TICK_INTERVAL / 2)  # the ticker has just gone to sleep
        start = trio.current_time()
        assert link.control("mains fail") == ["OK"]
        data = await host.receive_some(100)
        took = trio.current_time() - start
    assert b"!" in data
    assert took == 0


async def test_link_cuts_short_exactly_the_next_n_replies(
        autojump_clock: trio.testing.MockClock) -> None:
    link = SimLink(SmartUps())
    replies = []
    async with wired(link) as host:
        assert link.control("truncate 2") == ["OK"]
        for _ in range(3):
            await host.send_all(b"Y")
            replies.append(await host.receive_some())
        assert link.control("truncate 1") == ["OK"]
        assert link.control("truncate 0") == ["OK"]  # disarmed again
        await host.send_all(b"Y")
        replies.append(await host.receive_some())
    assert replies == [b"SM", b"SM", b"SM\r\n", b"SM\r\n"]


async def test_inject_puts_exactly_its_bytes_on_the_line_at_once(
        autojump_clock: trio.testing.MockClock) -> None:
    link = SimLink(SmartUps())
    async with wired(link) as host:
        await trio.sleep(TICK_INTERVAL / 2)
        start = trio.current_time()
        assert link.control("inject 21 00 0a ff") == ["OK"]
        data = await host.receive_some(100)
        took = trio.current_time() - start
    assert (data, took) == (b"!\x00\n\xff", 0)  # even in dumb mode: it is the wire's


async def test_garble_makes_noise_on_the_idle_line_and_in_replies_at_its_rate(
        autojump_clock: trio.testing.MockClock) -> None:
    link = SimLink(SmartUps(), seed=5, baud=2400)
    async with wired(link) as host:
        assert link.control("garble 5") == ["OK"]
        heard = b""
        with trio.move_on_after(10):  # 2400 byte times of an idle line
            while True:
                heard += await host.receive_some(100)
        assert 80 < len(heard) < 160  # 5 % of 2400
        assert link.control("garble 50") == ["OK"]
        intact = 0
        for _ in range(50):
            await host.send_all(b"Y")
            heard = b""
            with trio.move_on_after(0.1):
                while True:
                    heard += await host.receive_some(100)
            intact += b"SM\r\n" in heard
    assert intact < 50 * 0.5 ** 4 * 3  # a reply is intact when noise spares its 4 bytes
