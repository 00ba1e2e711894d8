"""The simulator's wire: baud pacing, and alerts sent the moment a command causes them.

On trio's autojumping mock clock: time moves only when every task waits, so
the durations below are exact.
"""

from __future__ import annotations

import trio
import trio.testing

from nutpy.sim.link import TICK_INTERVAL, SimLink
from nutpy.sim.smart import SmartUps


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
    host, sim = trio.testing.memory_stream_pair()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(link.serve, sim)
        reply, took = await _reply(host, b"Y", b"\r\n")
        nursery.cancel_scope.cancel()
    assert reply == b"SM\r\n"
    line_time = 5 * 10 / 2400  # Y, then S M CR LF
    assert abs(took - line_time) < 1e-9


async def test_an_unpaced_link_answers_at_once(
        autojump_clock: trio.testing.MockClock) -> None:
    link = SimLink(SmartUps())
    host, sim = trio.testing.memory_stream_pair()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(link.serve, sim)
        _, took = await _reply(host, b"Y", b"\r\n")
        nursery.cancel_scope.cancel()
    assert took == 0


async def test_mains_fail_sends_its_alert_without_waiting_for_a_tick(
        autojump_clock: trio.testing.MockClock) -> None:
    link = SimLink(SmartUps())
    host, sim = trio.testing.memory_stream_pair()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(link.serve, sim)
        await _reply(host, b"Y", b"\r\n")  # smart mode: alerts are sent
        await trio.sleep(TICK_INTERVAL / 2)  # the ticker has just gone to sleep
        start = trio.current_time()
        assert link.control("mains fail") == ["OK"]
        data = await host.receive_some(100)
        took = trio.current_time() - start
        nursery.cancel_scope.cancel()
    assert b"!" in data
    assert took == 0


async def test_link_cuts_short_exactly_the_next_n_replies(
        autojump_clock: trio.testing.MockClock) -> None:
    link = SimLink(SmartUps())
    host, sim = trio.testing.memory_stream_pair()
    replies = []
    async with trio.open_nursery() as nursery:
        nursery.start_soon(link.serve, sim)
        assert link.control("truncate 2") == ["OK"]
        for _ in range(3):
            await host.send_all(b"Y")
            replies.append(await host.receive_some())
        assert link.control("truncate 1") == ["OK"]
        assert link.control("truncate 0") == ["OK"]  # disarmed again
        await host.send_all(b"Y")
        replies.append(await host.receive_some())
        nursery.cancel_scope.cancel()
    assert replies == [b"SM", b"SM", b"SM\r\n", b"SM\r\n"]
