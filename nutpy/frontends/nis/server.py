"""apcupsd's network port for one UPS: the trio shell around the NIS codec.

One listener per ``NIS_LISTEN`` (apcupsd serves one UPS per daemon).  Each
request is answered from the store at that moment and from the event log;
the UPS is looked up by name at every request, so a reload that redefines
it is served at once.

Hostile clients are bounded as on the NUT port: at most
:data:`MAX_CONNECTIONS` at once per port, a request must arrive whole
within :data:`REQUEST_TIMEOUT` of the server waiting for it (apcupsd's own
read timeout: an idle client or a record whose length lies is cut off then),
a reply must be taken within :data:`SEND_TIMEOUT`, and a record longer than
apcupsd accepts ends the connection at once.  Nothing more is read while a
reply waits to be sent.
"""

from __future__ import annotations

import errno
import logging
import socket
from dataclasses import dataclass

import trio

from nutpy import __version__
from nutpy.config.nutpy_conf import NisListen
from nutpy.frontends.nis.events import KEEP, event_lines
from nutpy.frontends.nis.status import Daemon, Reading, status_lines
from nutpy.history.chronicle import PowerStats
from nutpy.history.recorder import Recorder
from nutpy.listening import ConnectionLimit, peer_address, serve_connections
from nutpy.protocols import nis
from nutpy.store import Availability, Store

__all__ = ["MAX_CONNECTIONS", "REQUEST_TIMEOUT", "SEND_TIMEOUT", "NisServer", "serve_nis"]

log = logging.getLogger("nutpy.nis")

MAX_CONNECTIONS = 64  # per port; apcaccess and its kin connect, ask once, close
REQUEST_TIMEOUT = 15.0  # apcupsd's read timeout (apclibnis.c)
SEND_TIMEOUT = 10.0  # as on the NUT port
READ_SIZE = 512


@dataclass
class NisServer:
    """What answers the requests for one UPS."""

    store: Store
    recorder: Recorder | None  # None: no event log ("Not available")
    ups: str
    daemon: Daemon

    def reading(self) -> Reading:
        power = self.recorder.power(self.ups) if self.recorder else PowerStats()
        ups = self.store.get(self.ups)
        if ups is None:  # removed by a reload
            return Reading(self.ups, {}, (), False, None, power)
        age = ups.age()
        return Reading(
            ups.name, {key: var.value for key, var in ups.variables.items()}, ups.flags(),
            ups.availability() is Availability.OK,
            None if age is None else self.store.wall() - age, power)

    def answer(self, command: nis.Command) -> bytes:
        now = self.store.wall()
        if command is nis.Command.STATUS:
            return nis.status_reply(status_lines(self.reading(), self.daemon, now))
        if command is nis.Command.EVENTS:
            if self.recorder is None:
                return nis.events_reply(None)
            entries = [entry for _, entry in self.recorder.recent(self.ups, limit=KEEP)]
            return nis.events_reply(event_lines(entries, self.recorder.power(self.ups), now,
                                                self.daemon.version))
        return nis.INVALID_COMMAND

    async def converse(self, stream: trio.abc.Stream, address: str) -> None:
        """Answer one client until it hangs up, breaks the framing or stalls."""
        reader = nis.RequestReader()
        try:
            while True:
                events: list[nis.Request | nis.Hangup] = []
                with trio.move_on_after(REQUEST_TIMEOUT):
                    while not events:
                        data = await stream.receive_some(READ_SIZE)
                        if not data:
                            return
                        events = reader.feed(bytes(data))
                if not events:
                    log.debug("client %s: no whole request within %gs, closing", address,
                              REQUEST_TIMEOUT)
                    return
                for event in events:
                    if isinstance(event, nis.Hangup):
                        log.debug("client %s: %s, closing", address, event.why)
                        return
                    if not await self._send(stream, self.answer(event.command)):
                        log.info("client %s does not read its replies; disconnecting",
                                 address)
                        return
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass
        except OSError as exc:
            if exc.errno not in (errno.ECONNRESET, errno.EPIPE):
                log.info("client %s: %s", address, exc)
        finally:
            await trio.aclose_forcefully(stream)

    @staticmethod
    async def _send(stream: trio.abc.Stream, reply: bytes) -> bool:
        """One send for the whole reply (NUT's apcupsd-ups driver reads a record
        in one read); False when the client does not take it in time."""
        with trio.move_on_after(SEND_TIMEOUT):
            await stream.send_all(reply)
            return True
        return False


async def serve_nis(store: Store, recorder: Recorder | None, listen: NisListen, *,
                    task_status: trio.TaskStatus[list[trio.SocketListener]]
                    = trio.TASK_STATUS_IGNORED) -> None:
    """Serve apcupsd's protocol for ``listen.ups`` until cancelled.

    A port that cannot be bound is logged and left closed (the NUT port and
    the other front ends run on); ``task_status`` then gets no listeners.
    """
    where = listen.listen
    try:
        listeners = await trio.open_tcp_listeners(
            where.port, host=None if where.address == "*" else where.address)
    except OSError as exc:
        log.error("cannot listen for apcupsd clients of %s on %s port %d: %s", listen.ups,
                  where.address, where.port, exc.strerror or exc)
        task_status.started([])
        return
    for listener in listeners:
        sockname = listener.socket.getsockname()
        log.info("apcupsd clients of %s: listening on %s port %s", listen.ups, sockname[0],
                 sockname[1])
    server = NisServer(store, recorder, listen.ups,
                       Daemon(socket.gethostname(), __version__, store.wall()))

    async def handler(stream: trio.SocketStream) -> None:
        await server.converse(stream, peer_address(stream))

    task_status.started(listeners)
    await serve_connections(handler, listeners,
                            limit=ConnectionLimit(MAX_CONNECTIONS, "NIS connection limit"),
                            log=log)
