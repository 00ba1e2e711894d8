"""``/api/v1/events`` byte for byte: the handler's stream driven on trio's mock clock,
with no socket, so each event's name and JSON are exactly what a browser receives."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import trio
import trio.testing

from nutpy.frontends.http.context import HttpContext
from nutpy.frontends.http.events import events
from nutpy.frontends.http.responses import HttpError
from nutpy.history.chronicle import Entry, Kind
from nutpy.store import (
    CommandFinished,
    InstCmd,
    Killpower,
    Origin,
    Result,
    SetVar,
    Store,
)
from tests.support.http_requests import http_context, http_request, refusal

WALL = 1_800_000_000.25


class Browser:
    """What the stream has sent so far, as a browser's EventSource parses it."""

    def __init__(self) -> None:
        self.received = b""

    async def send(self, chunk: bytes) -> None:
        self.received += chunk

    def events(self) -> list[tuple[str, Any]]:
        got = []
        for block in self.received.decode().split("\n\n"):
            fields = dict(line.split(": ", 1) for line in block.splitlines()
                          if not line.startswith(":"))
            if "event" in fields:
                got.append((fields["event"], json.loads(fields["data"])))
        return got

    def changes(self) -> list[tuple[str, Any]]:
        """The events after the opening snapshot."""
        first, *rest = self.events()
        assert first[0] == "snapshot"
        return rest


def _context() -> HttpContext:
    store = Store(clock=trio.current_time, wall=lambda: WALL)
    main = store.add("Main")
    main.set("ups.status", "OL")
    main.mark_fresh(trio.current_time())
    store.add("Other")
    return http_context(store)


@asynccontextmanager
async def stream(ctx: HttpContext, **query: str | list[str]) -> AsyncIterator[Browser]:
    browser = Browser()
    response = await events(ctx, http_request(query={
        k: v if isinstance(v, list) else [v] for k, v in query.items()}))
    assert response.stream is not None
    assert (response.status, response.content_type, response.headers) == (
        200, "text/event-stream; charset=utf-8", [("X-Accel-Buffering", "no")])
    async with trio.open_nursery() as nursery:
        nursery.start_soon(response.stream, browser.send)
        await trio.testing.wait_all_tasks_blocked()
        yield browser
        await trio.testing.wait_all_tasks_blocked()
        nursery.cancel_scope.cancel()


async def test_the_stream_opens_with_a_retry_delay_and_a_compact_snapshot() -> None:
    ctx = _context()
    async with stream(ctx, ups="other") as browser:
        pass
    assert browser.received.startswith(b"retry: 2000\n\nevent: snapshot\ndata: {\"ups\":[{")
    assert browser.received.endswith(b"}]}\n\n")
    [(kind, snapshot)] = browser.events()
    assert kind == "snapshot"
    assert [ups["name"] for ups in snapshot["ups"]] == ["Other"]


async def test_each_kind_of_change_as_its_event() -> None:
    ctx = _context()
    main = ctx.store.get("Main")
    assert main is not None
    async with stream(ctx) as browser:
        main.set("battery.charge", "90")
        main.set("battery.charge", "80")
        main.set("ups.status", "OB LB")
        main.set_fsd()
        main.login(7, "::1")
        main.add_command("test.battery.start")
        main.mark_stale()
        ctx.store.add("New")
        ctx.store.remove("New")
    at = {"ups": "Main", "at": WALL}
    assert browser.changes() == [
        ("variable", {**at, "name": "battery.charge", "old": None, "new": "90"}),
        ("variable", {**at, "name": "battery.charge", "old": "90", "new": "80"}),
        ("variable", {**at, "name": "ups.status", "old": "OL", "new": "OB LB"}),
        ("status", {**at, "old": ["OL"], "new": ["OB", "LB"]}),
        ("fsd", at),
        ("status", {**at, "old": ["OB", "LB"], "new": ["FSD", "OB", "LB"]}),
        ("clients", {**at, "count": 1}),
        ("capabilities", at),
        ("availability", {**at, "old": "OK", "new": "DATA-STALE"}),
        ("ups-added", {"ups": "New", "at": WALL}),
        ("ups-removed", {"ups": "New", "at": WALL}),
    ]
    assert b'"name":"battery.charge","old":"90"' in browser.received  # no blanks in JSON


@pytest.mark.parametrize(("request_", "fields"), [
    (InstCmd("test.battery.start", "10", origin=Origin("admin", "::1", "http")),
     {"command": "test.battery.start", "param": "10", "user": "admin", "address": "::1"}),
    (SetVar("ups.id", "rack7", origin=Origin("bob", "10.0.0.2", "nut")),
     {"variable": "ups.id", "value": "rack7", "user": "bob", "address": "10.0.0.2"}),
    (Killpower(), {"command": "killpower"}),  # from the driver's shell: no origin
])
async def test_a_finished_command_names_what_was_asked_and_by_whom(
        request_: InstCmd | SetVar | Killpower, fields: dict[str, str]) -> None:
    ctx = _context()
    async with stream(ctx) as browser:
        ctx.store.feed.publish(CommandFinished("Main", WALL, request_, Result.FAILED))
    assert browser.changes() == [
        ("command", {"ups": "Main", "at": WALL, "result": "FAILED", **fields})]


@pytest.mark.parametrize(("query", "wanted"), [
    ({"type": "status"}, ["status"]),
    ({"type": ["variable", "availability"]}, ["variable battery.charge", "variable ups.status",
                                              "availability"]),
    ({"type": "variable", "variable": "UPS.STATUS"}, ["variable ups.status"]),
    ({"variable": ["battery.charge", "nosuch"]}, ["variable battery.charge", "status",
                                                  "availability"]),
    ({"ups": "Other"}, ["availability"]),
])
async def test_filters_let_through_only_what_was_asked(query: dict[str, str | list[str]],
                                                        wanted: list[str]) -> None:
    ctx = _context()
    main, other = ctx.store.get("Main"), ctx.store.get("Other")
    assert main is not None and other is not None
    async with stream(ctx, **query) as browser:
        main.set("battery.charge", "90")
        main.set("ups.status", "OB")
        other.mark_stale()
    assert [f"{kind} {data['name']}" if kind == "variable" else kind
            for kind, data in browser.changes()] == wanted


async def test_the_event_log_is_streamed_with_its_ids_for_the_ups_asked(
        mock_clock: trio.testing.MockClock) -> None:
    ctx = _context()
    async with stream(ctx, ups="Main", type="log") as browser:
        for n in range(60):  # more than the recorder hands out by default at once
            ctx.recorder.add(Entry(WALL + n, "Main", Kind.COMM_LOST, f"lost {n}"))
        ctx.recorder.add(Entry(WALL, "Other", Kind.FSD, "not asked for"))
        ctx.recorder.add(Entry(WALL, None, Kind.SERVER_STOP, "the server's own"))
    log = browser.changes()
    assert len(log) == 61
    assert log[0] == ("log", {"id": 1, "at": WALL, "ups": "Main", "kind": "comm-lost",
                              "message": "lost 0", "details": {}})
    assert [data["id"] for _, data in log] == [*range(1, 61), 62]
    assert log[-1][1]["ups"] is None


async def test_an_idle_stream_gets_a_comment_every_15_seconds(
        mock_clock: trio.testing.MockClock) -> None:
    ctx = _context()
    async with stream(ctx) as browser:
        mock_clock.jump(14.9)
        await trio.testing.wait_all_tasks_blocked()
        assert not browser.received.endswith(b": keepalive\n\n")
        mock_clock.jump(0.1)
        await trio.testing.wait_all_tasks_blocked()
        assert browser.received.endswith(b"\n\n: keepalive\n\n")
    assert browser.changes() == []  # a comment is no event


async def test_a_stream_that_fell_behind_gets_resync_then_a_fresh_snapshot() -> None:
    ctx = _context()
    main = ctx.store.get("Main")
    assert main is not None
    async with stream(ctx, type="variable") as browser:
        for n in range(300):  # 256 are held for a stream that is not reading
            main.set("battery.charge", str(n))
    kinds = [kind for kind, _ in browser.changes()]
    assert kinds == ["resync", "snapshot"]
    assert browser.changes()[0] == ("resync", {"lost": 300})


@pytest.mark.parametrize(("query", "status", "body"), [
    ({"ups": ["Main", "nosuch"]}, 404,
     {"error": "UNKNOWN-UPS", "message": "no UPS called 'nosuch'"}),
    ({"type": ["status,Log", "snapshot"]}, 400,
     {"error": "INVALID-ARGUMENT", "message": "unknown event type(s): Log, snapshot; known: "
      "availability, capabilities, clients, command, fsd, log, status, ups-added, "
      "ups-removed, variable"}),
])
async def test_a_stream_asked_for_what_does_not_exist_is_refused(
        query: dict[str, list[str]], status: int, body: dict[str, str]) -> None:
    with pytest.raises(HttpError) as refused:
        await events(_context(), http_request(query=query))
    assert refusal(refused) == (status, body)
