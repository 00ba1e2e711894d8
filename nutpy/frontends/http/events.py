"""``/api/v1/events``: the store's change feed as Server-Sent Events.

A stream starts with a ``snapshot`` (every UPS asked for, as
``/api/v1/ups/<name>`` shows it), then one event per change, named by kind:
``status``, ``availability``, ``fsd``, ``variable``, ``command``,
``capabilities``, ``clients``, ``ups-added``, ``ups-removed``, and ``log``
for each new entry of the event log.  ``?ups=`` (repeatable) keeps only
those UPSes, ``?variable=`` only those variables among ``variable`` events,
``?type=`` only those kinds.  A comment line every ``KEEPALIVE`` seconds
keeps proxies from closing an idle stream.

A reader that falls behind is never buffered without bound: its feed
subscription holds at most ``QUEUE`` events, after which it gets a
``resync`` event and a fresh snapshot; one that stops reading altogether is
dropped after the server's send timeout.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import trio

from nutpy.frontends.http.api import get_ups_data
from nutpy.frontends.http.context import HttpContext
from nutpy.frontends.http.past import entry_json
from nutpy.frontends.http.responses import HttpError
from nutpy.frontends.http.server import Request, Response, Send
from nutpy.history.recorder import KEEP
from nutpy.store import (
    AvailabilityChanged,
    CapabilitiesChanged,
    ClientsChanged,
    CommandFinished,
    Event,
    FsdSet,
    InstCmd,
    Resync,
    SetVar,
    StatusChanged,
    Subscription,
    UpsAdded,
    UpsRemoved,
    VariableChanged,
)

__all__ = ["KEEPALIVE", "KINDS", "QUEUE", "events"]

KEEPALIVE = 15.0
QUEUE = 256  # feed events held for one stream before it must resync
_OUTBOX = 16  # formatted events waiting for the socket

_KIND: dict[type, str] = {
    StatusChanged: "status", AvailabilityChanged: "availability", FsdSet: "fsd",
    VariableChanged: "variable", CommandFinished: "command",
    CapabilitiesChanged: "capabilities", ClientsChanged: "clients",
    UpsAdded: "ups-added", UpsRemoved: "ups-removed",
}
KINDS = frozenset([*_KIND.values(), "log"])


def _payload(event: Event) -> dict[str, Any]:
    if isinstance(event, StatusChanged):
        return {"old": list(event.old), "new": list(event.new)}
    if isinstance(event, AvailabilityChanged):
        return {"old": event.old.value, "new": event.new.value}
    if isinstance(event, VariableChanged):
        return {"name": event.name, "old": event.old, "new": event.new}
    if isinstance(event, ClientsChanged):
        return {"count": event.count}
    if isinstance(event, CommandFinished):
        request = event.request
        data: dict[str, Any] = {"result": event.result.name}
        if isinstance(request, InstCmd):
            data |= {"command": request.command, "param": request.param}
        elif isinstance(request, SetVar):
            data |= {"variable": request.variable, "value": request.value}
        else:
            data["command"] = "killpower"
        if request.origin is not None:
            data |= {"user": request.origin.user, "address": request.origin.address}
        return data
    return {}


def sse(kind: str, data: Any) -> bytes:
    """One event in the text/event-stream format (JSON data on one line)."""
    return f"event: {kind}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


@dataclass(frozen=True)
class _Filter:
    ups: frozenset[str] | None  # lower-case names
    variables: frozenset[str] | None  # lower-case names
    kinds: frozenset[str]

    def wants_ups(self, name: str | None) -> bool:
        return self.ups is None or name is None or name.lower() in self.ups

    def wants(self, event: Event) -> bool:
        if isinstance(event, Resync):
            return True
        kind = _KIND.get(type(event))
        if kind is None or kind not in self.kinds or not self.wants_ups(event.ups):
            return False
        if isinstance(event, VariableChanged) and self.variables is not None:
            return event.name.lower() in self.variables
        return True


def _filter(ctx: HttpContext, request: Request) -> _Filter:
    names = request.query.get("ups")
    for name in names or ():
        if ctx.store.get(name) is None:
            raise HttpError(404, "UNKNOWN-UPS", f"no UPS called {name!r}")
    variables = request.query.get("variable")
    kinds = {kind for text in request.query.get("type", []) for kind in text.split(",")}
    unknown = kinds - KINDS
    if unknown:
        raise HttpError(400, "INVALID-ARGUMENT", f"unknown event type(s): "
                        f"{', '.join(sorted(unknown))}; known: {', '.join(sorted(KINDS))}")
    return _Filter(frozenset(n.lower() for n in names) if names else None,
                   frozenset(v.lower() for v in variables) if variables else None,
                   frozenset(kinds) or KINDS)


def _snapshot(ctx: HttpContext, chosen: _Filter) -> bytes:
    upses = [get_ups_data(ctx, ups) for ups in ctx.store if chosen.wants_ups(ups.name)]
    return sse("snapshot", {"ups": upses})


async def events(ctx: HttpContext, request: Request) -> Response:
    chosen = _filter(ctx, request)

    async def stream(send: Send) -> None:
        outbox, inbox = trio.open_memory_channel[bytes](_OUTBOX)
        with ctx.store.feed.subscribe(maxlen=QUEUE, want=chosen.wants) as feed:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(_from_feed, ctx, chosen, feed, outbox.clone())
                if "log" in chosen.kinds:
                    nursery.start_soon(_from_log, ctx, chosen, outbox.clone())
                nursery.start_soon(_keepalive, outbox.clone())
                outbox.close()
                await send(b"retry: 2000\n\n" + _snapshot(ctx, chosen))
                async for chunk in inbox:
                    await send(chunk)

    return Response(200, content_type="text/event-stream; charset=utf-8",
                    headers=[("X-Accel-Buffering", "no")], stream=stream)


async def _from_feed(ctx: HttpContext, chosen: _Filter, feed: Subscription,
                     outbox: trio.MemorySendChannel[bytes]) -> None:
    """Events as they come, those queued together in one chunk.

    A poll publishes several changes at once; one chunk for them is one
    wake-up and one ``send`` per stream instead of one per change.
    """
    async with outbox:
        async for event in feed:
            chunks = [_encode(ctx, chosen, event)]
            while (more := feed.receive_nowait()) is not None:
                chunks.append(_encode(ctx, chosen, more))
            await outbox.send(b"".join(chunks))


def _encode(ctx: HttpContext, chosen: _Filter, event: Event) -> bytes:
    if isinstance(event, Resync):
        return sse("resync", {"lost": event.lost}) + _snapshot(ctx, chosen)
    return sse(_KIND[type(event)], {"ups": event.ups, "at": event.at, **_payload(event)})


async def _from_log(ctx: HttpContext, chosen: _Filter,
                    outbox: trio.MemorySendChannel[bytes]) -> None:
    recorder = ctx.recorder
    seen = recorder.last_number()
    async with outbox:
        while True:
            await recorder.wait_beyond(seen)
            for number, entry in recorder.recent(limit=KEEP, after=seen):
                seen = number
                if chosen.wants_ups(entry.ups):
                    await outbox.send(sse("log", entry_json(number, entry)))


async def _keepalive(outbox: trio.MemorySendChannel[bytes]) -> None:
    async with outbox:
        while True:
            await trio.sleep(KEEPALIVE)
            await outbox.send(b": keepalive\n\n")
