"""The NUT port in-process: idle close, MAXCONN, pipelining, one send per read, the
``GET VAR`` reply cache following the store, and the bounds on hostile clients (a
stalled TLS handshake, a client that never reads).
"""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
import trio
import trio.testing

from nutpy.config import Listen, UpsdConf
from nutpy.config.descriptions import Descriptions
from nutpy.frontends.nut.listener import (
    HANDSHAKE_TIMEOUT,
    IDLE_TIMEOUT,
    SEND_TIMEOUT,
    Connection,
    open_listeners,
    serve_listeners,
)
from nutpy.frontends.nut.session import ServerContext
from nutpy.frontends.nut.tracking import Tracking
from nutpy.store import Store
from nutpy.tls import server_context
from tests.support.nut import make_certificate

GET_STATUS = b"GET VAR u ups.status\n"
STATUS_REPLY = b'VAR u ups.status "OL"\n'


async def _start(nursery: trio.Nursery, maxconn: int | None = None,
                 tls: ssl.SSLContext | None = None, variables: int = 0,
                 store: Store | None = None) -> int:
    """Serve ``store`` (default: UPS ``u``, ``OL``, fresh for the whole test)."""
    if store is None:
        store = Store()
        ups = store.add("u")
        ups.set("ups.status", "OL")
        for i in range(variables):
            ups.set(f"test.variable.{i:04d}", "a value of some length")
        ups.mark_fresh(trio.current_time() + 10**6)
    ctx = ServerContext(store, UpsdConf(), {}, Descriptions(), Tracking(60),
                        trio.current_time, tls_available=tls is not None)
    listeners = await open_listeners([Listen("127.0.0.1", 0)], allow_partial=False)
    port = int(listeners[0].socket.getsockname()[1])
    nursery.start_soon(serve_listeners, ctx, listeners, maxconn, tls)
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


async def test_a_repeated_get_var_follows_the_store(
        autojump_clock: trio.testing.MockClock) -> None:
    """The same request bytes, over and over (upsmon's way): each answer is what
    the store says at that moment, though the reply may come from the cache."""
    store = Store(maxage=15)
    ups = store.add("u")
    ups.set("ups.status", "OL")
    ups.mark_fresh(trio.current_time())
    async with trio.open_nursery() as nursery:
        stream = await trio.open_tcp_stream("127.0.0.1", await _start(nursery, store=store))

        async def ask(request: bytes = GET_STATUS) -> bytes:
            await stream.send_all(request)
            return await stream.receive_some(100)

        assert await ask() == STATUS_REPLY
        assert await ask() == STATUS_REPLY
        assert await ask(b"get var U UPS.STATUS\n") == b'VAR U UPS.STATUS "OL"\n'
        ups.set("ups.status", "OB LB")  # a change publishes an event
        assert await ask() == b'VAR u ups.status "OB LB"\n'
        ups.set_fsd()
        assert await ask() == b'VAR u ups.status "FSD OB LB"\n'
        await trio.sleep(16)  # older than MAXAGE, and nothing was published
        assert await ask() == b"ERR DATA-STALE\n"
        ups.mark_fresh(trio.current_time())
        assert await ask() == b'VAR u ups.status "FSD OB LB"\n'
        store.remove("u")
        assert await ask() == b"ERR UNKNOWN-UPS\n"
        nursery.cancel_scope.cancel()


# ---- hostile clients ---------------------------------------------------------------

# A TLS record header announcing a 200-byte handshake message, and one byte of it.
HALF_A_CLIENT_HELLO = b"\x16\x03\x01\x00\xc8\x01"


@pytest.mark.parametrize("sends", [b"", HALF_A_CLIENT_HELLO])
async def test_stalled_tls_handshake_blocks_nobody_and_is_cut_off(
        autojump_clock: trio.testing.MockClock, tmp_path: Path, sends: bytes) -> None:
    certfile, _ = make_certificate(tmp_path)
    tls = server_context(UpsdConf(certfile=str(certfile)))
    async with trio.open_nursery() as nursery:
        port = await _start(nursery, tls=tls)
        stalled = await trio.open_tcp_stream("127.0.0.1", port)
        await stalled.send_all(b"STARTTLS\n")
        assert await stalled.receive_some(100) == b"OK STARTTLS\n"
        await stalled.send_all(sends)
        start = trio.current_time()
        other = await trio.open_tcp_stream("127.0.0.1", port)
        await other.send_all(GET_STATUS)
        assert await other.receive_some(100) == STATUS_REPLY
        assert trio.current_time() == start  # served without waiting for the handshake
        assert await _read_all(stalled) == b""
        assert HANDSHAKE_TIMEOUT <= trio.current_time() - start < HANDSHAKE_TIMEOUT + 1
        await other.send_all(GET_STATUS)
        assert await other.receive_some(100) == STATUS_REPLY
        nursery.cancel_scope.cancel()


async def test_client_that_never_reads_is_cut_off_with_bounded_output(
        autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[int] = []
    real_send = Connection._send

    async def counting_send(self: Connection, text: str) -> None:
        sent.append(len(text))
        await real_send(self, text)

    monkeypatch.setattr(Connection, "_send", counting_send)
    async with trio.open_nursery() as nursery:
        port = await _start(nursery, variables=300)
        other = await trio.open_tcp_stream("127.0.0.1", port)
        await other.send_all(b"LIST VAR u\n")
        one_list = len(await _read_all_of(other, b"END LIST VAR u\n"))
        greedy = await trio.open_tcp_stream("127.0.0.1", port)
        count = 512 // len(b"LIST VAR u\n")
        requests = b"LIST VAR u\n" * count  # one read's worth
        start = trio.current_time()
        with trio.fail_after(SEND_TIMEOUT + 5), pytest.raises(trio.BrokenResourceError):
            while True:  # until the server gives up on this client
                await greedy.send_all(requests)
        assert SEND_TIMEOUT <= trio.current_time() - start < SEND_TIMEOUT + 1
        assert count * one_list > 4 * 65536  # one read asks for much more
        assert max(sent) <= 65536 + one_list  # 64 KiB held at most  # ...than is ever held at once
        await other.send_all(GET_STATUS)
        assert await other.receive_some(100) == STATUS_REPLY
        nursery.cancel_scope.cancel()


async def _read_all_of(stream: trio.SocketStream, end: bytes) -> bytes:
    data = b""
    while not data.endswith(end):
        data += await stream.receive_some(65536)
    return data
