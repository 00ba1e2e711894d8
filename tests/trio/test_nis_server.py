"""The apcupsd port in-process: answers from a live store, and its bounds on clients.

Conversations run over trio's in-memory streams with the mock clock, so the
timeouts are exercised exactly; the connection limit over loopback TCP.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import trio
import trio.testing

from nutpy.config.nutpy_conf import NisListen
from nutpy.config.upsd_conf import Listen
from nutpy.frontends.nis.server import (
    MAX_CONNECTIONS,
    REQUEST_TIMEOUT,
    SEND_TIMEOUT,
    NisServer,
    serve_nis,
)
from nutpy.frontends.nis.status import Daemon
from nutpy.history.recorder import Recorder
from nutpy.protocols import nis
from nutpy.store import Store

STATUS = nis.record(b"status")


def _server(store: Store, recorder: Recorder | None = None) -> NisServer:
    ups = store.add("su")
    ups.set("ups.status", "OL")
    ups.set("input.voltage", "236.1")
    ups.mark_fresh(store.clock())
    return NisServer(store, recorder, "su", Daemon("vm", "0.1.0", store.wall()))


@contextlib.asynccontextmanager
async def _talking(server: NisServer) -> AsyncIterator[trio.abc.Stream]:
    """A client's end of a conversation with ``server`` over memory streams."""
    client, ours = trio.testing.memory_stream_pair()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(server.converse, ours, "test")
        yield client


async def _records(stream: trio.abc.Stream) -> list[bytes]:
    """One reply's records (an empty list: the server closed instead)."""
    data = b""
    found: list[bytes] = []
    while True:
        while len(data) < 2 or len(data) < 2 + int.from_bytes(data[:2], "big"):
            chunk = await stream.receive_some(65536)
            if not chunk:
                return []
            data += chunk
        length = int.from_bytes(data[:2], "big")
        if length == 0:
            assert data == nis.END, "bytes after the end of a reply"
            return found
        found.append(data[2:2 + length])
        data = data[2 + length:]


async def _closed(stream: trio.abc.Stream) -> bool:
    return await stream.receive_some(65536) == b""


async def test_status_invalid_and_events_on_one_connection(
        autojump_clock: trio.testing.MockClock) -> None:
    store = Store()
    server = _server(store)
    async with _talking(server) as client:
        await client.send_all(STATUS)
        status = await _records(client)
        assert status[0].startswith(b"APC      : 001,")
        assert b"STATUS   : ONLINE \n" in status and b"LINEV    : 236.1 Volts\n" in status
        await client.send_all(nis.record(b"nonsense"))
        assert await _records(client) == [b"Invalid command\n\x00"]
        await client.send_all(nis.record(b"events"))
        assert await _records(client) == [b"Not available\n\x00"]  # no event log
        await client.send_all(nis.END)
        assert await _closed(client)


async def test_the_store_decides_commlost(autojump_clock: trio.testing.MockClock) -> None:
    store = Store(maxage=15)
    server = _server(store)
    await trio.sleep(16)  # the driver has not read the UPS since
    async with _talking(server) as client:
        await client.send_all(STATUS)
        assert b"STATUS   : COMMLOST \n" in await _records(client)
        await client.aclose()


async def test_events_from_the_event_log(autojump_clock: trio.testing.MockClock) -> None:
    store = Store()
    recorder = Recorder(store)
    async with trio.open_nursery() as nursery:
        await nursery.start(recorder.run)
        server = _server(store, recorder)
        store.get("su").set("ups.status", "OB")  # type: ignore[union-attr]
        await trio.testing.wait_all_tasks_blocked()
        client, ours = trio.testing.memory_stream_pair()
        nursery.start_soon(server.converse, ours, "test")
        await client.send_all(nis.record(b"events"))
        lines = [item[27:] for item in await _records(client)]
        assert lines == [b"nutpy 0.1.0 startup succeeded\n", b"Power failure.\n"]
        await client.send_all(STATUS)
        status = await _records(client)
        assert b"STATUS   : ONBATT \n" in status and b"NUMXFERS : 1\n" in status
        nursery.cancel_scope.cancel()


async def test_an_idle_client_is_cut_off_after_the_request_timeout(
        autojump_clock: trio.testing.MockClock) -> None:
    server = _server(Store())
    async with _talking(server) as client:
        start = trio.current_time()
        assert await _closed(client)
        assert trio.current_time() - start == REQUEST_TIMEOUT


async def test_a_length_that_lies_is_cut_off_at_the_same_timeout(
        autojump_clock: trio.testing.MockClock) -> None:
    server = _server(Store())
    async with _talking(server) as client:
        start = trio.current_time()
        await client.send_all(b"\x00\xc8status")  # 200 bytes announced, 6 sent
        await trio.sleep(REQUEST_TIMEOUT - 1)
        await client.send_all(b"more")  # trickling does not extend it
        assert await _closed(client)
        assert trio.current_time() - start == REQUEST_TIMEOUT


async def test_a_length_beyond_apcupsd_s_closes_at_once(
        autojump_clock: trio.testing.MockClock) -> None:
    server = _server(Store())
    async with _talking(server) as client:
        start = trio.current_time()
        await client.send_all(b"\xff\xff" + b"x" * 100_000)
        assert await _closed(client)
        assert trio.current_time() == start


async def test_a_client_that_does_not_read_is_cut_off(
        autojump_clock: trio.testing.MockClock) -> None:
    server = _server(Store())
    client, ours = trio.testing.lockstep_stream_pair()  # no buffer: a send waits for a read
    ended: list[float] = []

    async def converse() -> None:
        await server.converse(ours, "test")
        ended.append(trio.current_time())

    async with trio.open_nursery() as nursery:
        nursery.start_soon(converse)
        await client.send_all(STATUS)
        start = trio.current_time()
        await trio.sleep(SEND_TIMEOUT + 5)
        assert ended == [start + SEND_TIMEOUT]  # it gave up on the reply and closed
        await client.aclose()


async def test_connections_beyond_the_limit_are_closed_at_once() -> None:
    store = Store()
    _server(store)
    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(serve_nis, store, None,
                                        NisListen("su", Listen("127.0.0.1", 0)))
        port = listeners[0].socket.getsockname()[1]
        held = [await trio.open_tcp_stream("127.0.0.1", port)
                for _ in range(MAX_CONNECTIONS)]
        for stream in held[-1:]:  # the last one of the limit is served
            await stream.send_all(STATUS)
            assert (await _records(stream))[0].startswith(b"APC")
        extra = await trio.open_tcp_stream("127.0.0.1", port)
        with trio.fail_after(5):
            assert await _closed(extra)
        for stream in held:
            await stream.aclose()
        await extra.aclose()
        nursery.cancel_scope.cancel()


async def test_a_port_that_cannot_be_bound_is_logged_and_left_closed() -> None:
    store = Store()
    _server(store)
    with trio.socket.socket() as taken:
        await taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        async with trio.open_nursery() as nursery:
            listeners = await nursery.start(serve_nis, store, None,
                                            NisListen("su", Listen("127.0.0.1", port)))
        assert listeners == []
