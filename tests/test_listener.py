"""The connection task in-process: idle close, MAXCONN, pipelining, one send per read."""

from __future__ import annotations

import trio
import trio.testing

from nutpy.config import Listen, UpsdConf
from nutpy.descriptions import Descriptions
from nutpy.server.listener import IDLE_TIMEOUT, open_listeners, serve_listeners
from nutpy.server.session import ServerContext
from nutpy.server.tracking import Tracking
from nutpy.store import Store


async def _start(nursery: trio.Nursery, maxconn: int | None = None) -> int:
    store = Store()
    ups = store.add("u")
    ups.set("ups.status", "OL")
    ups.mark_fresh(trio.current_time() + 10**6)  # fresh for the whole test
    ctx = ServerContext(store, UpsdConf(), {}, Descriptions(), Tracking(60),
                        trio.current_time)
    listeners = await open_listeners([Listen("127.0.0.1", 0)], allow_partial=False)
    port = int(listeners[0].socket.getsockname()[1])
    nursery.start_soon(serve_listeners, ctx, listeners, maxconn, None)
    return port


async def _read_all(stream: trio.SocketStream) -> bytes:
    data = b""
    while chunk := await stream.receive_some(65536):
        data += chunk
    return data


async def test_idle_connection_is_closed_after_60_seconds(
        autojump_clock: trio.testing.MockClock) -> None:
    async with trio.open_nursery() as nursery:
        port = await _start(nursery)
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        start = trio.current_time()
        await stream.send_all(b"GET VAR u ups.status\n")
        assert await stream.receive_some(100) == b'VAR u ups.status "OL"\n'
        await trio.sleep(IDLE_TIMEOUT - 5)
        await stream.send_all(b"VER")  # an incomplete line does not count
        await trio.sleep(4)
        await stream.send_all(b"\n")  # ...until it is complete
        assert (await stream.receive_some(100)).startswith(b"Network UPS Tools")
        assert await _read_all(stream) == b""
        assert trio.current_time() - start >= 2 * IDLE_TIMEOUT - 6
        nursery.cancel_scope.cancel()


async def test_pipelined_requests_answered_in_order_in_one_send() -> None:
    async with trio.open_nursery() as nursery:
        port = await _start(nursery)
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        await stream.send_all(b"VER\nNETVER\nGET VAR u ups.status\nLOGOUT\nVER\n")
        reply = await _read_all(stream)
        lines = reply.decode().splitlines()
        assert lines[1:] == ["1.3", 'VAR u ups.status "OL"', "OK Goodbye"]
        nursery.cancel_scope.cancel()


async def test_connections_beyond_maxconn_are_refused_others_served() -> None:
    async with trio.open_nursery() as nursery:
        port = await _start(nursery, maxconn=2)
        first = await trio.open_tcp_stream("127.0.0.1", port)
        second = await trio.open_tcp_stream("127.0.0.1", port)
        await first.send_all(b"NETVER\n")
        assert await first.receive_some(10) == b"1.3\n"
        third = await trio.open_tcp_stream("127.0.0.1", port)
        with trio.fail_after(5):
            assert await _read_all(third) == b""
        await second.send_all(b"NETVER\n")
        assert await second.receive_some(10) == b"1.3\n"
        await first.aclose()
        with trio.fail_after(5):
            while True:  # the slot frees once the server has seen the close
                fourth = await trio.open_tcp_stream("127.0.0.1", port)
                await fourth.send_all(b"NETVER\n")
                try:
                    if await fourth.receive_some(10) == b"1.3\n":
                        break
                except trio.BrokenResourceError:
                    pass
                await trio.sleep(0.05)
        nursery.cancel_scope.cancel()
