"""The NUT port's connections: one task serves them all while they only talk.

A trio task per connection cost the scheduler a wake-up, an ``epoll_ctl``
and a chain of coroutine frames per request, and a task, its frames and
its cancel scopes (about 8 KiB) per idle client (docs/benchmarks.md).
upsd serves every client from one ``poll()`` loop; so does this, in one
trio task.  Every plain TCP connection's socket sits in the
:class:`Reactor`'s own epoll set, and its task waits until that set is
readable, then serves each connection that has something to say: one read
(512 bytes, as upsd), and its replies written at once on the non-blocking
socket, where they almost always fit.

A connection that has to wait goes to a task of its own, the trio code it
always had, for as long as it must wait: a client that does not read its
replies (the rest is sent under SEND_TIMEOUT, the requests after it are
answered only once it is out, then the connection is back in the
reactor), and STARTTLS (TLS until the connection ends).

The bounds on hostile clients hold in both places: nothing is read while
replies wait to be sent, at most OUTPUT_LIMIT bytes of replies are held
(:mod:`~nutpy.frontends.nut.conversation` cuts the batches), a client that
does not read for SEND_TIMEOUT is cut off, a TLS handshake gets
HANDSHAKE_TIMEOUT, and a client that completes no request for
IDLE_TIMEOUT is closed (:class:`IdleTimeouts`).
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import select
import ssl
from collections import OrderedDict
from collections.abc import Iterator

import trio

from nutpy.frontends.nut.conversation import Conversation
from nutpy.frontends.nut.session import ServerContext, Session
from nutpy.listening import ConnectionLimit, peer_address

__all__ = ["HANDSHAKE_TIMEOUT", "IDLE_TIMEOUT", "READ_SIZE", "SEND_TIMEOUT", "Connection",
           "IdleTimeouts", "Reactor"]

log = logging.getLogger("nutpy.server")

READ_SIZE = 512  # upsd reads 512 bytes at a time; a parse error drops the rest
IDLE_TIMEOUT = 60.0  # upsd closes a connection silent for 60 s (hard-coded)
SEND_TIMEOUT = 10.0  # a client that does not read its replies for this long is cut off
HANDSHAKE_TIMEOUT = 10.0  # a STARTTLS handshake that has not finished by then is cut off
BATCH = 64  # connections served per wake-up of the reactor before others get a turn

_QUIET_ERRORS = (errno.ECONNRESET, errno.EPIPE)  # a client that just went away


class IdleTimeouts:
    """Closes the connections that completed no request for ``timeout`` seconds.

    One task for all of them sleeps until the oldest silence ends.  A request
    costs a clock reading and a move to the end of an ordered dict, where a
    cancel scope per connection (about 900 bytes with its status) had its
    deadline pushed back, a heap insertion, by every request.
    """

    def __init__(self, timeout: float = IDLE_TIMEOUT) -> None:
        self.timeout = timeout
        self._heard: OrderedDict[Connection, float] = OrderedDict()  # the oldest first
        self._lot = trio.lowlevel.ParkingLot()

    def add(self, connection: Connection) -> None:
        self._heard[connection] = trio.current_time()
        self._lot.unpark_all()

    def heard(self, connection: Connection, now: float) -> None:
        """``connection`` completed a request at ``now``."""
        heard = self._heard
        heard[connection] = now
        heard.move_to_end(connection)

    def remove(self, connection: Connection) -> None:
        self._heard.pop(connection, None)

    async def run(self) -> None:
        heard = self._heard
        while True:
            if not heard:
                await self._lot.park()
                continue
            connection, at = next(iter(heard.items()))
            deadline = at + self.timeout
            if trio.current_time() >= deadline:
                del heard[connection]
                connection.end(idle=True)
            else:  # woken early if that connection spoke meanwhile: harmless
                await trio.sleep_until(deadline)


class Connection:
    """One client: read, tokenize, answer, until EOF, LOGOUT or idle timeout."""

    __slots__ = ("closed", "conversation", "ctx", "fd", "reactor", "scope", "session",
                 "socket", "stream", "timed_out", "tls")

    def __init__(self, ctx: ServerContext, stream: trio.SocketStream,
                 tls: ssl.SSLContext | None, reactor: Reactor) -> None:
        self.ctx = ctx
        self.stream: trio.abc.Stream = stream
        self.socket = stream.socket
        self.fd: int | None = stream.socket.fileno()  # None once TLS is on
        self.tls = tls
        self.reactor = reactor
        self.scope: trio.CancelScope | None = None  # while a task of its own serves it
        self.session = Session(ctx, peer_address(stream))
        self.session.kill = self.end
        self.conversation = Conversation(self.session)
        self.closed = False
        self.timed_out = False

    def end(self, *, idle: bool = False) -> None:
        """Close now (its UPS was removed, or it idled out), or stop its task."""
        self.timed_out = idle
        if self.scope is not None:
            self.scope.cancel()
        else:
            self.close()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self.timed_out:
            log.debug("client %s: idle for %ss, closing", self.session.address,
                      self.reactor.idle.timeout)
        self.reactor.forget(self)
        self.session.close()
        self.socket.close()

    def _read_done(self) -> bool:
        """After a read's replies went out: False when the reactor cannot go on with it."""
        if self.conversation.requests:
            self.reactor.idle.heard(self, trio.current_time())
        return not (self.session.closing or self.session.start_tls)

    def _failed(self, exc: OSError) -> None:
        if exc.errno not in _QUIET_ERRORS:
            log.info("client %s: %s", self.session.address, exc)

    # ---- in the reactor: nothing here waits -------------------------------------

    def readable(self) -> None:
        """The socket has something to read: one read, its replies, all at once."""
        assert self.fd is not None
        rest: str | None = None
        batches: Iterator[str] | None = None
        try:
            data = os.read(self.fd, READ_SIZE)
            if not data:
                self.close()
                return
            reply = self.conversation.cached(data)
            if reply is not None:
                rest = self._write(reply)
            else:
                batches = self.conversation.receive(data)
                for batch in batches:
                    if (rest := self._write(batch)) is not None:
                        break
        except BlockingIOError:
            return
        except OSError as exc:
            self._failed(exc)
            self.close()
            return
        if rest is not None or not self._read_done():
            if rest is None and self.session.closing:
                self.close()
            else:  # a reply did not fit, or STARTTLS: this one must wait
                self.reactor.hand_over(self, rest, batches)

    def _write(self, text: str) -> str | None:
        """Write ``text`` if the socket takes it; what it did not take (None: all)."""
        assert self.fd is not None
        data = text.encode("ascii", "replace")
        try:
            sent = os.write(self.fd, data)
        except BlockingIOError:
            sent = 0
        return None if sent == len(data) else data[sent:].decode("ascii")

    # ---- in a task of its own ---------------------------------------------------------

    async def run(self, rest: str | None, batches: Iterator[str] | None) -> None:
        """Send what did not fit and the read's other replies, then give the
        connection back to the reactor (or, after STARTTLS, serve it here)."""
        assert self.scope is not None
        back = False
        try:
            with self.scope:
                if rest is not None:
                    await self._send(rest)
                for batch in batches or ():
                    await self._send(batch)
                if self._read_done():
                    back = self.reactor.take_back(self)
                elif self.session.start_tls:
                    await self._start_tls()
                    await self._serve_stream()
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass
        except OSError as exc:
            self._failed(exc)
        finally:
            if not back:
                self.close()

    async def _serve_stream(self) -> None:
        """The connection over TLS, to its end."""
        conversation = self.conversation
        while True:
            data = bytes(await self.stream.receive_some(READ_SIZE))
            if not data:
                return
            reply = conversation.cached(data)
            if reply is not None:
                await self._send(reply)
            else:
                for batch in conversation.receive(data):
                    await self._send(batch)
            if not self._read_done():
                return  # LOGOUT (STARTTLS again is refused: ALREADY-SSL-MODE)

    async def _send(self, text: str) -> None:
        """Send ``text``, waiting for a client that does not read up to SEND_TIMEOUT."""
        data = memoryview(text.encode("ascii", "replace"))
        with trio.move_on_after(SEND_TIMEOUT):
            if self.fd is None:
                await self.stream.send_all(data)
                return
            while data:
                await trio.lowlevel.wait_writable(self.fd)
                with contextlib.suppress(BlockingIOError):
                    data = data[os.write(self.fd, data):]
            return
        log.info("client %s does not read its replies; disconnecting",
                 self.session.address)
        raise trio.ClosedResourceError

    async def _start_tls(self) -> None:
        assert self.tls is not None
        self.session.start_tls = False
        self.fd = None  # from now on through the TLS stream
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


class Reactor:
    """Every connection of one NUT port, and the task that serves them.

    A connection is *held* (its socket in the epoll set, served by
    :meth:`run`) or *handed over* (a task of its own in ``nursery``, until
    it gives itself back or ends).  It counts in ``limit`` from
    :meth:`adopt` until it closes.
    """

    def __init__(self, ctx: ServerContext, tls: ssl.SSLContext | None,
                 limit: ConnectionLimit, nursery: trio.Nursery,
                 idle: IdleTimeouts) -> None:
        self.ctx = ctx
        self.tls = tls
        self.limit = limit
        self.nursery = nursery
        self.idle = idle
        self._epoll = select.epoll()
        self._held: dict[int, Connection] = {}  # by descriptor

    def adopt(self, stream: trio.SocketStream) -> None:
        """A new connection (``limit`` counts it already)."""
        connection = Connection(self.ctx, stream, self.tls, self)
        self.ctx.store.connections["nut"] += 1
        self.idle.add(connection)
        self._hold(connection)

    def _hold(self, connection: Connection) -> None:
        assert connection.fd is not None
        self._epoll.register(connection.fd, select.EPOLLIN)
        self._held[connection.fd] = connection

    def hand_over(self, connection: Connection, rest: str | None,
                  batches: Iterator[str] | None) -> None:
        """``connection`` must wait for something: a task of its own serves it."""
        assert connection.fd is not None
        self._epoll.unregister(connection.fd)
        del self._held[connection.fd]
        connection.scope = trio.CancelScope()  # end() can stop the task before it runs
        self.nursery.start_soon(connection.run, rest, batches)

    def take_back(self, connection: Connection) -> bool:
        """A handed-over connection has nothing more to wait for (False: it ended)."""
        assert connection.scope is not None
        if connection.scope.cancel_called:
            return False
        connection.scope = None
        self._hold(connection)
        return True

    def forget(self, connection: Connection) -> None:
        """``connection`` closes."""
        fd = connection.socket.fileno()
        if self._held.get(fd) is connection:
            self._epoll.unregister(fd)
            del self._held[fd]
        self.idle.remove(connection)
        self.ctx.store.connections["nut"] -= 1
        self.limit.active -= 1

    async def run(self) -> None:
        """Serve the held connections until cancelled (then close them)."""
        epoll, held = self._epoll, self._held
        try:
            while True:
                await trio.lowlevel.wait_readable(epoll.fileno())
                for fd, _ in epoll.poll(0, BATCH):
                    connection = held.get(fd)
                    if connection is None:
                        continue
                    try:
                        connection.readable()
                    except Exception:  # a bug must cost one connection, not the server
                        log.exception("connection from %s failed", connection.session.address)
                        connection.close()
        finally:
            for connection in list(held.values()):
                connection.close()
            trio.lowlevel.notify_closing(epoll.fileno())
            epoll.close()
