"""Accepting connections, for every server in the process.

Every listener (the NUT port, HTTP, apcupsd's port, the killpower control
socket, a simulator's control socket) accepts through :func:`serve_connections`:
a task per connection in one nursery, an optional cap on how many run at
once, and the one rule for running out of descriptors.

That rule follows trio's ``serve_listeners``: only the accept errors that
mean "out of capacity" (EMFILE, ENFILE, ENOMEM, ENOBUFS) are waited out;
anything else is a bug and propagates.  Unlike trio, which logs each
failed accept (ten lines a second while descriptors last), an episode is
logged once when it starts and once when accepting works again, and the
wait grows from 0.1 s to 1 s meanwhile.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import socket
import stat
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import trio

__all__ = ["CAPACITY_ERRORS", "ConnectionLimit", "accept_connections", "peer_address",
           "serve_connections", "unix_listener"]

CAPACITY_ERRORS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOMEM, errno.ENOBUFS})
_FIRST_WAIT = 0.1
_LONGEST_WAIT = 1.0

Handler = Callable[[trio.SocketStream], Awaitable[None]]
Adopt = Callable[[trio.SocketStream], None]


@dataclass
class ConnectionLimit:
    """At most ``maximum`` connections at once (None: no cap); shared by listeners."""

    maximum: int | None
    name: str = "connection limit"  # for the log: "MAXCONN", say
    active: int = 0

    def full(self) -> bool:
        return self.maximum is not None and self.active >= self.maximum


def peer_address(stream: trio.SocketStream) -> str:
    """The client's address as NUT shows it (an IPv4-mapped IPv6 address as IPv4)."""
    try:
        addr = stream.socket.getpeername()
    except OSError:
        return "unknown"
    if not isinstance(addr, tuple):
        return "local"  # a Unix socket
    host = str(addr[0])
    if host.startswith("::ffff:") and "." in host:
        host = host[7:]
    return host


async def _accept(listener: trio.SocketListener, log: logging.Logger) -> trio.SocketStream:
    """The next connection, waiting out a shortage of descriptors or memory."""
    wait = _FIRST_WAIT
    refused = 0
    started = 0.0
    while True:
        try:
            stream = await listener.accept()
        except OSError as exc:
            if exc.errno not in CAPACITY_ERRORS:
                raise
            if not refused:
                started = trio.current_time()
                log.warning("cannot accept connections: %s; waiting for capacity",
                            exc.strerror or exc)
            refused += 1
            await trio.sleep(wait)
            wait = min(wait * 2, _LONGEST_WAIT)
            continue
        if refused:
            log.warning("accepting connections again after %.1f s (%d attempts failed)",
                        trio.current_time() - started, refused)
        return stream


async def _serve_one(listener: trio.SocketListener, start: Adopt,
                     limit: ConnectionLimit | None, log: logging.Logger) -> None:
    async with listener:
        while True:
            stream = await _accept(listener, log)
            if limit is not None and limit.full():
                log.warning("%s (%d) reached: refusing %s", limit.name, limit.maximum,
                            peer_address(stream))
                await trio.aclose_forcefully(stream)
                continue
            start(stream)


async def _run(handler: Handler, stream: trio.SocketStream,
               limit: ConnectionLimit | None, log: logging.Logger) -> None:
    if limit is not None:
        limit.active += 1
    try:
        await handler(stream)
    except Exception:  # a bug must cost one connection, not the server
        log.exception("connection from %s failed", peer_address(stream))
        await trio.aclose_forcefully(stream)
    finally:
        if limit is not None:
            limit.active -= 1


async def serve_connections(handler: Handler, listeners: Sequence[trio.SocketListener], *,
                            limit: ConnectionLimit | None = None,
                            log: logging.Logger) -> None:
    """Run ``handler`` in a task of its own for every connection, until cancelled.

    The handler owns its stream (it must close it).  The listeners are closed
    when this returns.
    """
    async with trio.open_nursery() as nursery:
        def start(stream: trio.SocketStream) -> None:
            nursery.start_soon(_run, handler, stream, limit, log)

        for listener in listeners:
            nursery.start_soon(_serve_one, listener, start, limit, log)


async def accept_connections(adopt: Adopt, listeners: Sequence[trio.SocketListener], *,
                             limit: ConnectionLimit | None = None,
                             log: logging.Logger) -> None:
    """Hand every connection to ``adopt`` (no task of its own), until cancelled.

    For a server that serves its connections from one task.  ``adopt`` owns
    the stream from then on, and its place in ``limit``: the connection
    counts in ``limit.active`` until the adopter subtracts it, when it closes.
    """
    def start(stream: trio.SocketStream) -> None:
        if limit is not None:
            limit.active += 1
        try:
            adopt(stream)
        except Exception:  # a bug must cost one connection, not the server
            log.exception("connection from %s failed", peer_address(stream))
            if limit is not None:
                limit.active -= 1
            stream.socket.close()

    async with trio.open_nursery() as nursery:
        for listener in listeners:
            nursery.start_soon(_serve_one, listener, start, limit, log)


def _clear_stale_socket(path: Path) -> None:
    """Remove a socket a dead process left at ``path``; refuse anything else there.

    FileExistsError when ``path`` is not a socket (a regular file, say: never
    deleted), OSError(EADDRINUSE) when a live process answers on it.
    """
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise FileExistsError(errno.EEXIST, "something that is not a socket is there; "
                              "not replacing it", str(path))
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        if probe.connect_ex(os.fspath(path)) == 0:
            raise OSError(errno.EADDRINUSE, "another process is listening there", str(path))
    path.unlink(missing_ok=True)  # its owner may be removing it at this moment


@contextlib.asynccontextmanager
async def unix_listener(path: Path, mode: int | None = None
                        ) -> AsyncIterator[trio.SocketListener]:
    """Listen on a Unix socket at ``path`` for as long as the ``async with`` lasts.

    A socket left by a dead process is replaced; a live one, or a file that
    is not a socket, is an error (OSError).  On the way out the socket file is
    removed only if it is still the one made here.  ``mode``: the socket
    file's permissions (set from the start, through the umask, so nobody else
    can connect in between); None keeps the umask's.
    """
    _clear_stale_socket(path)
    sock = trio.socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o777 & ~mode) if mode is not None else None
    try:
        await sock.bind(os.fspath(path))
        sock.listen(16)
        made = os.stat(path).st_ino
    except OSError:
        sock.close()
        raise
    finally:
        if old is not None:
            os.umask(old)
    listener = trio.SocketListener(sock)
    try:
        yield listener
    finally:
        with contextlib.suppress(OSError):  # first: no checkpoint may come before it
            if os.stat(path).st_ino == made:
                path.unlink()
        await trio.aclose_forcefully(listener)
