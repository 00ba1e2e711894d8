"""TCP listeners and the per-connection task.

Bytes come in, go through the shared tokenizer, each request goes to the
session, and all the replies to one read leave in a single send (a whole
``LIST`` is one segment; with TCP_NODELAY, which trio sets, no Nagle delay).

Hostile clients are bounded: nothing is read while replies wait to be sent,
at most OUTPUT_LIMIT bytes of replies are held per connection, a client that
does not read for SEND_TIMEOUT is cut off, and a TLS handshake gets
HANDSHAKE_TIMEOUT.  The tokenizer bounds a request (32 words of 512 chars),
so a line that never ends costs nothing.
"""

from __future__ import annotations

import errno
import logging
import ssl

import trio

from nutpy.config import Diagnostic, Listen
from nutpy.frontends.nut.conversation import Conversation
from nutpy.frontends.nut.session import ServerContext, Session
from nutpy.listening import ConnectionLimit, peer_address, serve_connections

log = logging.getLogger("nutpy.server")

READ_SIZE = 512  # upsd reads 512 bytes at a time; a parse error drops the rest
IDLE_TIMEOUT = 60.0  # upsd closes a connection silent for 60 s (hard-coded)
SEND_TIMEOUT = 10.0  # a client that does not read its replies for this long is cut off
HANDSHAKE_TIMEOUT = 10.0  # a STARTTLS handshake that has not finished by then is cut off




class Connection:
    """One client: read, tokenize, answer, until EOF, LOGOUT or idle timeout."""

    def __init__(self, ctx: ServerContext, stream: trio.SocketStream,
                 tls: ssl.SSLContext | None) -> None:
        self.ctx = ctx
        self.stream: trio.abc.Stream = stream
        self.tls = tls
        self.session = Session(ctx, peer_address(stream))
        self.conversation = Conversation(self.session)

    async def run(self) -> None:
        scope = trio.CancelScope()
        self.session.kill = scope.cancel
        try:
            with scope:
                await self._serve()
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass
        except OSError as exc:
            if exc.errno not in (errno.ECONNRESET, errno.EPIPE):
                log.info("client %s: %s", self.session.address, exc)
        finally:
            self.session.close()
            await trio.aclose_forcefully(self.stream)

    async def _serve(self) -> None:
        # One cancel scope for the whole connection whose deadline each request
        # pushes back (not a new scope per read: that was a tenth of the CPU
        # time of a GET VAR under load).
        with trio.CancelScope(deadline=trio.current_time() + IDLE_TIMEOUT) as idle:
            while True:
                data = await self.stream.receive_some(READ_SIZE)
                if not data:
                    return
                for batch in self.conversation.receive(bytes(data)):
                    await self._send(batch)
                if self.conversation.requests:
                    idle.deadline = trio.current_time() + IDLE_TIMEOUT
                if self.session.closing:
                    return
                if self.session.start_tls:
                    await self._start_tls()
        log.debug("client %s: idle for %ss, closing", self.session.address, IDLE_TIMEOUT)

    async def _send(self, text: str) -> None:
        with trio.move_on_after(SEND_TIMEOUT):
            await self.stream.send_all(text.encode("ascii", "replace"))
            return
        log.info("client %s does not read its replies; disconnecting",
                 self.session.address)
        raise trio.ClosedResourceError

    async def _start_tls(self) -> None:
        assert self.tls is not None
        self.session.start_tls = False
        stream = trio.SSLStream(self.stream, self.tls, server_side=True)
        with trio.move_on_after(HANDSHAKE_TIMEOUT):
            try:
                await stream.do_handshake()
            except trio.BrokenResourceError as exc:
                log.info("client %s: TLS handshake failed: %s",
                         self.session.address, exc.__cause__ or exc)
                raise
            self.stream = stream
            self.session.tls = True
            self.conversation.tls_started()
            log.info("client %s: TLS established (%s, %s)", self.session.address,
                     stream.version(), (stream.cipher() or ("?",))[0])
            return
        log.info("client %s: TLS handshake timed out", self.session.address)
        raise trio.ClosedResourceError


async def open_listeners(listens: list[Listen], allow_partial: bool,
                         path: str = "upsd.conf") -> list[trio.SocketListener]:
    """Bind every LISTEN; fail like upsd if none, or any without allow_partial.

    A failure is logged as the LISTEN line's error (``path``: upsd.conf).
    """
    bound: list[trio.SocketListener] = []
    failures: list[Diagnostic] = []
    for item in listens:
        host: str | None = None if item.address == "*" else item.address
        try:
            listeners = await trio.open_tcp_listeners(item.port, host=host)
        except (OSError, UnicodeError) as exc:  # UnicodeError: a name that cannot be encoded
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            failures.append(Diagnostic(path, item.lineno, "error", f"cannot listen on "
                                       f"{item.address} port {item.port}: {reason}"))
            continue
        for listener in listeners:  # trio makes IPv6 sockets V6ONLY
            sockname = listener.socket.getsockname()
            log.info("listening on %s port %s", sockname[0], sockname[1])
        bound.extend(listeners)
    for failure in failures:
        log.error("%s", failure)
    if not bound or (failures and not allow_partial):
        for listener in bound:
            await listener.aclose()
        raise OSError("not all listeners could be opened" if bound
                      else "no listening socket could be opened")
    return bound


async def serve_listeners(ctx: ServerContext, listeners: list[trio.SocketListener],
                          maxconn: int | None, tls: ssl.SSLContext | None) -> None:
    async def handler(stream: trio.SocketStream) -> None:
        ctx.store.connections["nut"] += 1
        try:
            await Connection(ctx, stream, tls).run()
        finally:
            ctx.store.connections["nut"] -= 1

    await serve_connections(handler, listeners, limit=ConnectionLimit(maxconn, "MAXCONN"),
                            log=log)
