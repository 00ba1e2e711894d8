"""The HTTP/1.1 connection: h11 parses, this moves bytes, keeps time and sets the bounds.

Every bound the NUT front end has exists here too, so a hostile or broken
client costs a bounded amount and never delays anybody else:

* a request's head is at most ``MAX_HEAD`` bytes (431 beyond) and its body
  ``MAX_BODY`` (413);
* a request must arrive whole within ``REQUEST_TIMEOUT`` of its first byte
  (slowloris gets 408 and is closed), and a kept-alive connection may idle
  for ``IDLE_TIMEOUT``;
* a client that does not read what is sent (a response, or an event
  stream) for ``SEND_TIMEOUT`` is dropped;
* a TLS handshake gets ``HANDSHAKE_TIMEOUT``;
* at most ``HTTP_MAXCONN`` connections at once (:mod:`nutpy.listening`).

What a request means is the router's business (:mod:`.routes`); this module
only turns h11's events into a :class:`Request` and a :class:`Response` back
into h11's events.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from urllib.parse import parse_qs, unquote, urlsplit

import h11
import trio

from nutpy.listening import ConnectionLimit, peer_address, serve_connections

__all__ = ["HANDSHAKE_TIMEOUT", "IDLE_TIMEOUT", "MAX_BODY", "MAX_HEAD", "REQUEST_TIMEOUT",
           "SEND_TIMEOUT", "Request", "Response", "serve_http"]

log = logging.getLogger("nutpy.http")

MAX_HEAD = 16 * 1024
MAX_BODY = 64 * 1024
REQUEST_TIMEOUT = 10.0
IDLE_TIMEOUT = 60.0
SEND_TIMEOUT = 10.0
HANDSHAKE_TIMEOUT = 10.0
READ_SIZE = 16 * 1024
LINGER = 2.0  # after refusing a request: at most this long...
LINGER_BYTES = 256 * 1024  # ...and this much of the rest of it is read and dropped
SERVER = "nutpy"


@dataclass
class Request:
    method: str
    path: str  # percent-decoded
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names; repeated headers joined with ", "
    body: bytes
    peer: str
    tls: bool

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


Send = Callable[[bytes], Awaitable[None]]
Stream = Callable[[Send], Awaitable[None]]
"""An endless body: it calls ``send`` with each chunk until the client goes."""


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: list[tuple[str, str]] = field(default_factory=list)
    stream: Stream | None = None  # an endless body (server-sent events)


Handler = Callable[[Request], Awaitable[Response]]


def _leaves(group: BaseExceptionGroup[BaseException]) -> list[BaseException]:
    leaves: list[BaseException] = []
    for exc in group.exceptions:
        leaves.extend(_leaves(exc) if isinstance(exc, BaseExceptionGroup) else [exc])
    return leaves


class _Closed(Exception):
    """The connection is done (client gone, timed out, or protocol error answered)."""


def _plain(status: int, text: str) -> Response:
    return Response(status, (text + "\n").encode(), "text/plain; charset=utf-8")


class HttpConnection:
    def __init__(self, stream: trio.abc.Stream, handler: Handler, peer: str,
                 tls: bool) -> None:
        self.stream = stream
        self.handler = handler
        self.peer = peer
        self.tls = tls
        self.h11 = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD)

    async def run(self) -> None:
        try:
            while True:
                request = await self._read_request()
                if request is None:
                    return
                try:
                    response = await self.handler(request)
                except Exception:  # a bug in a handler must not take the server down
                    log.exception("HTTP %s %s from %s failed", request.method, request.path,
                                  self.peer)
                    response = _plain(500, "internal error")
                await self._respond(response, head_only=request.method == "HEAD")
                if self.h11.our_state is not h11.DONE or \
                        self.h11.their_state is not h11.DONE:
                    return
                self.h11.start_next_cycle()
        except* (_Closed, trio.BrokenResourceError, trio.ClosedResourceError):
            pass  # an event stream's tasks wrap these in a group: hence except*
        except* OSError as group:
            for exc in _leaves(group):
                if not isinstance(exc, OSError) or exc.errno not in (errno.ECONNRESET,
                                                                     errno.EPIPE):
                    log.info("HTTP client %s: %s", self.peer, exc)

    # ---- reading -------------------------------------------------------------

    async def _read_request(self) -> Request | None:
        """The next whole request, or None when the client is done (or idle too long)."""
        deadline = trio.current_time() + IDLE_TIMEOUT
        started = False
        head: h11.Request | None = None
        body = bytearray()
        while True:
            try:
                event = self.h11.next_event()
            except h11.RemoteProtocolError as exc:
                await self._refuse(exc.error_status_hint, str(exc))
                raise _Closed from exc
            if event is h11.NEED_DATA:
                with trio.move_on_at(deadline):
                    data = await self.stream.receive_some(READ_SIZE)
                    if not data:
                        self.h11.receive_data(b"")
                        continue
                    if not started:
                        started = True
                        deadline = min(deadline, trio.current_time() + REQUEST_TIMEOUT)
                    self.h11.receive_data(bytes(data))
                    continue
                if started:  # slowloris: half a request, and then nothing for too long
                    await self._refuse(408, "the request did not arrive in time")
                    raise _Closed
                return None  # idle keep-alive connection: close quietly
            if isinstance(event, h11.Request):
                head = event
            elif isinstance(event, h11.Data):
                body += event.data
                if len(body) > MAX_BODY:
                    await self._refuse(413, f"a request body may be at most {MAX_BODY} bytes")
                    raise _Closed
            elif isinstance(event, h11.EndOfMessage):
                assert head is not None
                return self._request(head, bytes(body))
            elif isinstance(event, (h11.ConnectionClosed, h11.PAUSED)):
                return None

    def _request(self, head: h11.Request, body: bytes) -> Request:
        target = head.target.decode("latin-1")
        parts = urlsplit(target)
        headers: dict[str, str] = {}
        for name, value in head.headers:
            key = name.decode("latin-1").lower()
            text = value.decode("latin-1")
            headers[key] = f"{headers[key]}, {text}" if key in headers else text
        return Request(head.method.decode("ascii", "replace").upper(), unquote(parts.path),
                       parse_qs(parts.query), headers, body, self.peer, self.tls)

    async def _refuse(self, status: int, why: str) -> None:
        """Answer a request that cannot be served, if the protocol still allows it."""
        if self.h11.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
            return
        with contextlib.suppress(h11.LocalProtocolError, trio.BrokenResourceError,
                                 trio.ClosedResourceError, OSError, _Closed):
            await self._respond(_plain(status, why), close=True)
            await self._linger()

    async def _linger(self) -> None:
        """Let the client read the refusal: closing with its request still unread
        would reset the connection, and the answer with it.  So say we are done
        sending, then read and discard for a short, bounded while."""
        if not isinstance(self.stream, trio.SocketStream):
            return
        await self.stream.send_eof()
        discarded = 0
        with trio.move_on_after(LINGER):
            while discarded < LINGER_BYTES and (data := await self.stream.receive_some()):
                discarded += len(data)

    # ---- writing -------------------------------------------------------------

    async def _send(self, event: h11.Event) -> None:
        data = self.h11.send(event)
        if not data:
            return
        with trio.move_on_after(SEND_TIMEOUT):
            await self.stream.send_all(data)
            return
        log.info("HTTP client %s does not read; disconnecting", self.peer)
        raise _Closed

    async def _respond(self, response: Response, *, head_only: bool = False,
                       close: bool = False) -> None:
        headers = [("Server", SERVER), ("Content-Type", response.content_type),
                   ("X-Content-Type-Options", "nosniff"), *response.headers]
        if not any(name.lower() == "cache-control" for name, _ in response.headers):
            headers.append(("Cache-Control", "no-store"))  # live data, unless the response
            # says how it may be kept (the dashboard's files)
        if response.stream is None and response.status != 304:  # a 304 has no body: a
            # length there would have to be the unsent body's, not 0
            headers.append(("Content-Length", str(len(response.body))))
        if close:
            headers.append(("Connection", "close"))
        reason = HTTPStatus(response.status).phrase.encode()
        await self._send(h11.Response(status_code=response.status, headers=headers,
                                      reason=reason))
        if response.stream is not None and not head_only:
            async def send(chunk: bytes) -> None:
                await self._send(h11.Data(data=chunk))

            await response.stream(send)
        elif response.body and not head_only:
            await self._send(h11.Data(data=response.body))
        await self._send(h11.EndOfMessage())


async def _handshake(stream: trio.SocketStream, tls: ssl.SSLContext,
                     peer: str) -> trio.SSLStream[trio.SocketStream] | None:
    wrapped = trio.SSLStream(stream, tls, server_side=True)
    with trio.move_on_after(HANDSHAKE_TIMEOUT):
        try:
            await wrapped.do_handshake()
        except trio.BrokenResourceError as exc:
            log.info("HTTP client %s: TLS handshake failed: %s", peer, exc.__cause__ or exc)
            return None
        return wrapped
    log.info("HTTP client %s: TLS handshake timed out", peer)
    return None


async def serve_http(handler: Handler, listeners: list[trio.SocketListener], *,
                     tls: ssl.SSLContext | None, limit: ConnectionLimit,
                     on_connection: Callable[[int], None] | None = None) -> None:
    """Serve HTTP (HTTPS with ``tls``) on ``listeners`` until cancelled.

    ``on_connection(+1 / -1)`` hears of each connection opening and closing.
    """
    async def connection(stream: trio.SocketStream) -> None:
        peer = peer_address(stream)
        if on_connection is not None:
            on_connection(1)
        try:
            transport: trio.abc.Stream = stream
            if tls is not None:
                wrapped = await _handshake(stream, tls, peer)
                if wrapped is None:
                    return
                transport = wrapped
            await HttpConnection(transport, handler, peer, tls is not None).run()
        finally:
            if on_connection is not None:
                on_connection(-1)
            await trio.aclose_forcefully(stream)

    await serve_connections(connection, listeners, limit=limit, log=log)
