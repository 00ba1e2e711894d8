"""The HTTP front end in-process: the JSON API with a real client library (httpx),
its errors, the event stream, and the bounds on hostile clients on trio's mock clock."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import pytest
import trio
import trio.testing

from nutpy.config import Listen, parse_upsd_users
from nutpy.config.descriptions import parse_cmdvartab
from nutpy.frontends import http
from nutpy.frontends.http.server import (
    IDLE_TIMEOUT,
    LINGER,
    MAX_BODY,
    MAX_HEAD,
    REQUEST_TIMEOUT,
    SEND_TIMEOUT,
)
from nutpy.frontends.nut.listener import open_listeners
from nutpy.history.recorder import Recorder
from nutpy.store import InstCmd, Request, Result, Store, UpsState
from tests.support.http_requests import rack_ups
from tests.support.users import USERS

ADMIN = ("admin", "pw")
JSON = {"Content-Type": "application/json"}


@dataclass
class Rig:
    base: str
    port: int
    store: Store
    ups: UpsState
    requests: trio.MemoryReceiveChannel[Request]


@asynccontextmanager
async def rig(maxconn: int = 64) -> AsyncIterator[Rig]:
    store = Store()
    ups = rack_ups(store)
    ups.set("device.model", "Smart-UPS 1500")
    send, receive = trio.open_memory_channel[Request](16)
    ups.attach(send)
    ups.mark_fresh(trio.current_time() + 10**6)
    store.add("stale")
    users, _ = parse_upsd_users(USERS, "upsd.users")
    descriptions = parse_cmdvartab(b'VARDESC battery.charge "Battery charge (percent)"\n'
                                   b'CMDDESC load.off "Turn off the load immediately"\n')
    recorder = Recorder(store)
    ctx = http.HttpContext(store, users, descriptions, recorder, command_timeout=5)
    listeners = await open_listeners([Listen("127.0.0.1", 0)], allow_partial=False)
    port = int(listeners[0].socket.getsockname()[1])
    async with trio.open_nursery() as nursery:
        await nursery.start(recorder.run)
        nursery.start_soon(http.serve, ctx, listeners, None, maxconn)
        yield Rig(f"http://127.0.0.1:{port}", port, store, ups, receive)
        nursery.cancel_scope.cancel()


async def answer(requests: trio.MemoryReceiveChannel[Request], result: Result) -> Request:
    """Play the driver: take the next request and report ``result``."""
    request = await requests.receive()
    assert request.on_result is not None
    request.on_result(result)
    return request


# ---- reading -------------------------------------------------------------------------


async def test_the_ups_list_and_one_ups_as_upsd_would_describe_them() -> None:
    async with rig() as r, httpx.AsyncClient(base_url=r.base) as client:
        listing = (await client.get("/api/v1/ups")).json()
        assert [(u["name"], u["availability"], u["status"]) for u in listing["ups"]] == [
            ("Main", "OK", ["OL"]), ("stale", "DRIVER-NOT-CONNECTED", [])]
        main = (await client.get("/api/v1/ups/main")).json()  # names fold case
        assert main["description"] == "The rack"
        assert main["variables"]["battery.charge"] == {
            "value": "100", "type": "number", "writable": False,
            "description": "Battery charge (percent)"}
        assert main["variables"]["input.transfer.low"]["enum"] == ["196", "200", "204", "208"]
        assert main["variables"]["ups.id"] == {
            "value": "RACK", "type": "string", "writable": True, "max_length": 8,
            "description": "Description unavailable"}
        assert main["commands"] == [
            {"name": "load.off", "description": "Turn off the load immediately"},
            {"name": "test.battery.start", "description": "Description unavailable"}]
        assert main["stale"] is False and main["age"] is not None
        spec = (await client.get("/api/v1/openapi.json")).json()
        assert "/api/v1/ups/{ups}/commands/{command}" in spec["paths"]


@pytest.mark.parametrize(("method", "path", "status", "code"), [
    ("GET", "/api/v1/ups/nosuch", 404, "UNKNOWN-UPS"),
    ("GET", "/api/v1/nothing", 404, "NOT-FOUND"),
    ("DELETE", "/api/v1/ups/Main", 405, "INVALID-ARGUMENT"),
    ("GET", "/api/v1/log?limit=0", 400, "INVALID-ARGUMENT"),
    ("GET", "/api/v1/events?type=nonsense", 400, "INVALID-ARGUMENT"),
    ("GET", "/metrics?ups=nosuch", 404, "UNKNOWN-UPS"),
])
async def test_bad_reads_get_a_status_and_a_json_error(method: str, path: str, status: int,
                                                      code: str) -> None:
    async with rig() as r, httpx.AsyncClient(base_url=r.base) as client:
        reply = await client.request(method, path)
        assert reply.status_code == status
        assert reply.headers["content-type"] == "application/json"
        assert reply.json()["error"] == code and reply.json()["message"]


# ---- writing -------------------------------------------------------------------------


async def test_an_instant_command_reaches_the_driver_and_its_result_comes_back() -> None:
    async with rig() as r, httpx.AsyncClient(base_url=r.base, auth=ADMIN) as client:
        async with trio.open_nursery() as nursery:
            async def driver() -> None:
                request = await answer(r.requests, Result.SUCCESS)
                assert isinstance(request, InstCmd)
                assert (request.command, request.param) == ("test.battery.start", "10")
                assert request.origin is not None and request.origin.user == "admin"

            nursery.start_soon(driver)
            reply = await client.post("/api/v1/ups/Main/commands/TEST.BATTERY.START",
                                      json={"param": "10"})
        assert (reply.status_code, reply.json()) == (200, {"result": "SUCCESS"})
        async with trio.open_nursery() as nursery:
            nursery.start_soon(answer, r.requests, Result.FAILED)
            reply = await client.post("/api/v1/ups/Main/commands/test.battery.start", json={})
        assert (reply.status_code, reply.json()) == (502, {"result": "FAILED"})
        log = (await client.get("/api/v1/log?ups=Main")).json()["entries"]
        assert [e["message"] for e in log if e["kind"] == "command"] == [
            "Command test.battery.start 10 by admin from 127.0.0.1: done",
            "Command test.battery.start by admin from 127.0.0.1: failed"]


async def test_a_setting_is_checked_as_upsd_checks_it_then_written() -> None:
    async with rig() as r, httpx.AsyncClient(base_url=r.base, auth=ADMIN) as client:
        refused = [await client.put(f"/api/v1/ups/Main/variables/{name}", json={"value": v})
                   for name, v in (("battery.charge", "5"), ("input.transfer.low", "202"),
                                   ("ups.id", "TOO-LONG-ID"), ("nosuch.var", "1"))]
        assert [(x.status_code, x.json()["error"]) for x in refused] == [
            (409, "READONLY"), (400, "INVALID-VALUE"), (400, "TOO-LONG"),
            (404, "VAR-NOT-SUPPORTED")]
        async with trio.open_nursery() as nursery:
            nursery.start_soon(answer, r.requests, Result.SUCCESS)
            reply = await client.put("/api/v1/ups/Main/variables/input.transfer.low",
                                     json={"value": 196})
        assert (reply.status_code, reply.json()) == (200, {"result": "SUCCESS"})


@pytest.mark.parametrize(("auth", "path", "status", "code"), [
    (None, "commands/test.battery.start", 401, "USERNAME-REQUIRED"),
    (("admin", "wrong"), "commands/test.battery.start", 401, "ACCESS-DENIED"),
    (("nobody", "pw"), "commands/test.battery.start", 401, "ACCESS-DENIED"),
    (ADMIN, "commands/load.off", 403, "ACCESS-DENIED"),  # not in its instcmds
    (ADMIN, "commands/nosuch", 404, "CMD-NOT-SUPPORTED"),
    (("mon", "mp"), "commands/test.battery.start", 403, "ACCESS-DENIED"),
    (("sec", "sp"), "fsd", 403, "ACCESS-DENIED"),  # only a primary may set FSD
    (("mon", "mp"), "variables/ups.id", 403, "ACCESS-DENIED"),  # no SET action
])
async def test_rights_are_nuts(auth: tuple[str, str] | None, path: str, status: int,
                               code: str) -> None:
    async with rig() as r, httpx.AsyncClient(base_url=r.base, auth=auth) as client:
        method = "PUT" if path.startswith("variables") else "POST"
        reply = await client.request(method, f"/api/v1/ups/Main/{path}", json={"value": "X"})
        assert (reply.status_code, reply.json()["error"]) == (status, code)
        assert ("www-authenticate" in reply.headers) == (status == 401)
        assert r.requests.statistics().current_buffer_used == 0  # nothing reached the driver


async def test_fsd_by_a_primary_and_a_stale_ups_refuses_writes() -> None:
    async with rig() as r, httpx.AsyncClient(base_url=r.base, auth=("mon", "mp")) as client:
        reply = await client.post("/api/v1/ups/Main/fsd", json={})
        assert reply.json() == {"result": "SUCCESS", "fsd": True}
        assert r.ups.fsd and (await client.get("/api/v1/ups/Main")).json()["status"] == [
            "FSD", "OL"]
        reply = await client.post("/api/v1/ups/stale/commands/load.off", json={},
                                  auth=ADMIN)
        assert (reply.status_code, reply.json()["error"]) == (503, "DRIVER-NOT-CONNECTED")


async def test_a_cross_site_form_cannot_write() -> None:
    """An HTML form can send x-www-form-urlencoded or text/plain, never JSON."""
    async with rig() as r, httpx.AsyncClient(base_url=r.base, auth=ADMIN) as client:
        for content_type in ("application/x-www-form-urlencoded", "text/plain",
                             "multipart/form-data"):
            reply = await client.post("/api/v1/ups/Main/commands/test.battery.start",
                                      content=b"param=1", headers={"Content-Type": content_type})
            assert reply.status_code == 415
        reply = await client.post("/api/v1/ups/Main/commands/test.battery.start",
                                  content=b"{not json", headers=JSON)
        assert (reply.status_code, reply.json()["error"]) == (400, "INVALID-ARGUMENT")
        assert "access-control-allow-origin" not in reply.headers


# ---- events --------------------------------------------------------------------------


async def _events(client: httpx.AsyncClient, path: str, count: int) -> list[tuple[str, object]]:
    got: list[tuple[str, object]] = []
    kind = ""
    async with client.stream("GET", path) as reply:
        assert reply.headers["content-type"].startswith("text/event-stream")
        async for line in reply.aiter_lines():
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                got.append((kind, json.loads(line[6:])))
                if len(got) == count:
                    return got
    raise AssertionError(f"stream ended after {got}")


async def test_events_push_each_change_filtered_by_ups_and_variable() -> None:
    async with rig() as r, httpx.AsyncClient(base_url=r.base) as client:
        async with trio.open_nursery() as nursery:
            results: list[list[tuple[str, object]]] = []

            async def watch() -> None:
                results.append(await _events(
                    client, "/api/v1/events?ups=Main&variable=ups.status&type=status,variable,"
                    "availability,log", 6))

            nursery.start_soon(watch)
            await trio.sleep(0.3)
            r.ups.set("battery.charge", "99")  # filtered out: another variable
            r.store.get("stale").mark_stale()  # type: ignore[union-attr]  # another UPS
            r.ups.set("ups.status", "OB DISCHRG")
            r.ups.mark_stale()
        [events] = results
    kinds = [kind for kind, _ in events]
    assert kinds[0] == "snapshot"
    snapshot = events[0][1]
    assert isinstance(snapshot, dict) and [u["name"] for u in snapshot["ups"]] == ["Main"]
    changes = [data for kind, data in events[1:] if kind != "log"]
    log = [data["kind"] for kind, data in events[1:] if kind == "log"]  # type: ignore[index]
    assert [kind for kind in kinds[1:] if kind != "log"] == ["variable", "status",
                                                             "availability"]
    assert changes[1] == {"ups": "Main", "at": changes[1]["at"],  # type: ignore[index]
                          "old": ["OL"], "new": ["OB", "DISCHRG"]}
    assert changes[2]["new"] == "DATA-STALE"  # type: ignore[index]
    assert log == ["power-failure", "comm-lost"]


async def test_a_stream_that_falls_behind_is_told_to_resync() -> None:
    async with rig() as r, httpx.AsyncClient(base_url=r.base) as client:
        kinds: list[str] = []
        with trio.fail_after(10):
            async with client.stream("GET", "/api/v1/events?type=variable") as reply:
                lines = reply.aiter_lines()
                async for line in lines:
                    if line.startswith("event: "):
                        kinds.append(line[7:])
                        break  # the snapshot: the stream is set up
                for i in range(5000):  # faster than any stream can take them
                    r.ups.set("battery.charge", str(i))
                async for line in lines:
                    if line.startswith("event: "):
                        kinds.append(line[7:])
                        if kinds[-2:] == ["resync", "snapshot"]:
                            break
    assert kinds[0] == "snapshot" and kinds[-2:] == ["resync", "snapshot"]


# ---- metrics -------------------------------------------------------------------------


async def test_metrics_of_every_ups_in_one_scrape_and_one_with_ups() -> None:
    async with rig() as r, httpx.AsyncClient(base_url=r.base) as client:
        every = (await client.get("/metrics")).text
        assert 'network_ups_tools_battery_charge{ups="Main"} 100.0' in every
        assert 'network_ups_tools_ups_status{flag="OL",ups="Main"} 1.0' in every
        assert 'network_ups_tools_ups_status{flag="OB",ups="Main"} 0.0' in every
        assert 'nutpy_ups_driver_connected{ups="stale"} 0.0' in every
        assert "# HELP network_ups_tools_battery_charge Battery charge (percent) " \
               "(battery.charge)" in every
        one = (await client.get("/ups_metrics?ups=main")).text
        assert "network_ups_tools_battery_charge 100.0" in one  # nut_exporter's shape
        assert 'network_ups_tools_device_info{contact="",description="",location="",' \
               'macaddr="",mfr="",model="Smart-UPS 1500",part="",serial="",type=""} 1.0' in one


# ---- hostile clients, on the mock clock -------------------------------------------------


async def _exchange(port: int, data: bytes) -> bytes:
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    await stream.send_all(data)
    reply = b""
    while chunk := await stream.receive_some(65536):
        reply += chunk
    return reply


async def test_oversized_heads_and_bodies_are_refused() -> None:
    async with rig() as r:
        big = b"a" * 4 * MAX_HEAD
        head = b"GET /api/v1/ups HTTP/1.1\r\nHost: x\r\nX-Big: " + big + b"\r\n\r\n"
        assert (await _exchange(r.port, head)).startswith(b"HTTP/1.1 431 ")
        body = b"x" * (MAX_BODY + 1)
        post = (b"POST /api/v1/ups/Main/fsd HTTP/1.1\r\nHost: x\r\nContent-Type: "
                b"application/json\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n"
                + body)
        assert (await _exchange(r.port, post)).startswith(b"HTTP/1.1 413 ")
        assert (await _exchange(r.port, b"\x16\x03\x01garbage\r\n\r\n")).startswith(
            b"HTTP/1.1 400 ")


async def test_slowloris_is_cut_off_and_idle_keepalive_closed(
        autojump_clock: trio.testing.MockClock) -> None:
    async with rig() as r:
        slow = await trio.open_tcp_stream("127.0.0.1", r.port)
        start = trio.current_time()
        await slow.send_all(b"GET /api/v1/ups HTTP/1.1\r\n")
        for _ in range(100):  # a header line every second, never the blank line
            await trio.sleep(1)
            try:
                await slow.send_all(b"X-A: b\r\n")
            except trio.BrokenResourceError:
                break
        reply = await slow.receive_some(1000)
        assert reply.startswith(b"HTTP/1.1 408 ")
        # cut off at REQUEST_TIMEOUT, then at most LINGER more to let it read the 408
        assert REQUEST_TIMEOUT <= trio.current_time() - start <= REQUEST_TIMEOUT + LINGER + 2
        idle = await trio.open_tcp_stream("127.0.0.1", r.port)
        await idle.send_all(b"GET /api/v1/ups HTTP/1.1\r\nHost: x\r\n\r\n")
        reply = b""
        while b"\r\n\r\n" not in reply or len(reply.split(b"\r\n\r\n", 1)[1]) < int(
                reply.split(b"Content-Length: ", 1)[1].split(b"\r\n", 1)[0]):
            reply += await idle.receive_some(65536)
        assert reply.startswith(b"HTTP/1.1 200 ")
        start = trio.current_time()
        assert await idle.receive_some(100) == b""  # closed, without a word
        assert IDLE_TIMEOUT <= trio.current_time() - start <= IDLE_TIMEOUT + 1


async def test_an_event_stream_nobody_reads_is_dropped(
        autojump_clock: trio.testing.MockClock) -> None:
    async with rig() as r:
        reader = await trio.open_tcp_stream("127.0.0.1", r.port)
        reader.setsockopt(trio.socket.SOL_SOCKET, trio.socket.SO_RCVBUF, 4096)
        await reader.send_all(b"GET /api/v1/events?type=variable HTTP/1.1\r\nHost: x\r\n\r\n")
        await trio.sleep(1)
        for i in range(200_000):  # fills every buffer between us and it
            r.ups.set("battery.charge", str(i))
            if i % 1000 == 0:
                await trio.sleep(0.01)
        await trio.sleep(SEND_TIMEOUT + 5)
        assert r.store.connections["http"] == 0  # the server let it go
        assert len(r.store.feed) == 1  # only the recorder still subscribes


async def test_connections_beyond_the_limit_are_closed() -> None:
    async with rig(maxconn=3) as r:
        held = [await trio.open_tcp_stream("127.0.0.1", r.port) for _ in range(3)]
        await trio.sleep(0.2)
        extra = await trio.open_tcp_stream("127.0.0.1", r.port)
        assert await extra.receive_some(100) == b""
        for stream in held:
            await stream.aclose()
