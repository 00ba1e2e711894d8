"""The NUT port's listeners: bind every LISTEN, accept, hand each client to the reactor.

How a connection is served, and the bounds on hostile clients, are in
:mod:`~nutpy.frontends.nut.connections`.
"""

from __future__ import annotations

import logging
import ssl

import trio

from nutpy.config import Diagnostic, Listen
from nutpy.frontends.nut.connections import (
    HANDSHAKE_TIMEOUT,
    IDLE_TIMEOUT,
    SEND_TIMEOUT,
    Connection,
    IdleTimeouts,
    Reactor,
)
from nutpy.frontends.nut.session import ServerContext
from nutpy.listening import ConnectionLimit, accept_connections

__all__ = ["HANDSHAKE_TIMEOUT", "IDLE_TIMEOUT", "SEND_TIMEOUT", "Connection",
           "open_listeners", "serve_listeners"]

log = logging.getLogger("nutpy.server")


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
    limit = ConnectionLimit(maxconn, "MAXCONN")
    idle = IdleTimeouts()
    async with trio.open_nursery() as nursery:
        reactor = Reactor(ctx, tls, limit, nursery, idle)
        nursery.start_soon(idle.run)
        nursery.start_soon(reactor.run)
        await accept_connections(reactor.adopt, listeners, limit=limit, log=log)
