"""NUT's ``apcsmart`` driver: a trio shell around the Smart :class:`Session`.

The session (:mod:`nutpy.protocols.apcsmart.session`) holds the whole
conversation: handshake, discovery, the poll plan, the commands and their
timing.  This module moves the bytes, keeps the time, publishes what the
session read and turns client requests into session calls.  Two things
differ from NUT on purpose:

* an alert byte is acted on the moment it arrives, but as a hint: the
  session asks ``Q`` at once and ``ups.status`` changes only if the UPS
  bears the alert out (NUT flips the status on the byte alone, and noise
  equal to ``!`` or ``%`` fakes a power cut until its next poll);
* a lost line never ends the driver: the UPS goes ``DATA-STALE`` at the
  first unanswered query (or after a few polls in a row whose ``Q`` came
  garbled or cut short), and the driver keeps knocking (``Y``) or re-opening
  the port every poll interval until the UPS answers again.  Nothing
  published is wiped meanwhile, and the log hears of the outage once.
"""

from __future__ import annotations

import contextlib
import logging
import math

import trio

from nutpy.drivers.base import (
    DriverConfigError,
    DriverSetup,
    LinkHealth,
    keep_port,
    mirror_device_info,
    poll_interval,
    publish_driver_info,
)
from nutpy.protocols.apcsmart.events import (
    AlertSeen,
    Answering,
    Closed,
    CommandsFound,
    Deleted,
    Discovered,
    Doubtful,
    Event,
    Finished,
    Garbled,
    NoAnswerYet,
    Polled,
    Settable,
    Silent,
    Unconfirmed,
    UnusableCaps,
    Values,
)
from nutpy.protocols.apcsmart.framing import SMART_MODE_TIMEOUT
from nutpy.protocols.apcsmart.session import Session
from nutpy.protocols.apcsmart.status import ALERT_MEANINGS
from nutpy.store import InstCmd, Killpower, Request, Result, SetVar, UpsState

log = logging.getLogger("nutpy.driver.apcsmart")
# One debug line per poll cycle: how long it took and how many bytes crossed the
# line, so a cycle can be held against what the baud rate allows (`make bench`).
cycle_log = logging.getLogger("nutpy.driver.apcsmart.cycle")

BAUDRATE = 2400
RECEIVE_SIZE = 4096
SEND_MARGIN = 1.0  # a query is sent whole, never cut short by a deadline this near


class LineLost(Exception):
    """The port closed under us, or the UPS on it does not answer at all."""


class ApcSmart:
    def __init__(self, setup: DriverSetup) -> None:
        section = setup.section
        self.open_line = setup.open_line
        self.port = section.port
        self.interval = poll_interval(section, setup.globals)
        self.shutdown_options = {key: section.options.get(key)
                                 for key in ("sdtype", "advorder", "awd")}
        try:
            self._new_session()
        except ValueError as exc:
            raise DriverConfigError(str(exc)) from exc
        self.health = LinkHealth(section.name, log)

    def _new_session(self) -> Session:
        return Session(interval=self.interval, **self.shutdown_options)

    async def run(self, ups: UpsState,
                  requests: trio.MemoryReceiveChannel[Request]) -> None:
        publish_driver_info(ups, "apcsmart", {
            "pollinterval": f"{self.interval:g}", "port": self.port})
        await keep_port(self.open_line, self.port, BAUDRATE, ups=ups,
                        requests=requests, serve=self.serve, health=self.health,
                        interval=self.interval, lost=(LineLost,))

    async def serve(self, stream: trio.abc.Stream, ups: UpsState,
                    requests: trio.MemoryReceiveChannel[Request]) -> None:
        """Talk to the UPS on an open ``stream`` until the stream goes away.

        Each connection discovers the unit afresh, and another unit may answer
        than before: what its first full poll does not show goes.
        """
        ups.begin_discovery()
        connection = _Connection(stream, ups, self._new_session(), self.health, self.port)
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(connection.take_requests, requests)
                await connection.converse()
        finally:
            connection.hang_up()
            with trio.move_on_after(SMART_MODE_TIMEOUT) as scope:
                scope.shield = True
                with contextlib.suppress(trio.BrokenResourceError,
                                         trio.ClosedResourceError, OSError):
                    await stream.send_all(connection.session.goodbye())


class _Connection:
    """One open port: the session, and the requests it is carrying out."""

    def __init__(self, stream: trio.abc.Stream, ups: UpsState, session: Session,
                 health: LinkHealth, port: str) -> None:
        self.stream = stream
        self.ups = ups
        self.session = session
        self.health = health
        self.port = port
        self.requests: dict[int, Request] = {}  # by ticket
        self._wait: trio.CancelScope | None = None

    async def converse(self) -> None:
        """Move bytes between the stream and the session; raises LineLost at its end.

        One cancel scope serves the waits until one of them times out (a new
        scope for each reply was a fifth of a query's CPU time).  Its
        deadline is only ever moved earlier: when it fires before the
        session's own, :meth:`Session.handle_timeout` finds nothing due and
        the next scope waits on.
        """
        session = self.session
        events = session.start(trio.current_time())
        while True:
            timed_out = True
            with trio.CancelScope() as wait:
                while not wait.cancel_called:  # else the data came as it fired
                    await self._send(session.data_to_send(), wait)
                    self._handle(events)
                    deadline = session.next_deadline()
                    if deadline is not None and deadline < wait.deadline:
                        wait.deadline = deadline
                    self._wait = wait
                    try:
                        data = await self._receive()
                    finally:
                        self._wait = None
                    events = session.receive_data(data, trio.current_time())
                timed_out = False
            if timed_out:
                events = session.handle_timeout(trio.current_time())

    async def take_requests(self, requests: trio.MemoryReceiveChannel[Request]) -> None:
        async for request in requests:
            if isinstance(request, InstCmd):
                ticket = self.session.instcmd(request.command, request.param)
            elif isinstance(request, SetVar):
                ticket = self.session.set_variable(request.variable, request.value)
            else:
                ticket = self.session.killpower()
            self.requests[ticket] = request
            if self._wait is not None:
                self._wait.cancel()  # the session may want to start it now

    def hang_up(self) -> None:
        """The port is going: every request not yet finished has failed."""
        for event in self.session.receive_data(b"", trio.current_time()):
            if isinstance(event, Finished):
                self._finish(event)
        for request in self.requests.values():
            if request.on_result is not None:
                request.on_result(Result.FAILED)
        self.requests.clear()

    async def _send(self, data: bytes, wait: trio.CancelScope) -> None:
        """Send a query whole: the scope's deadline, if near, waits until it is out."""
        if data:
            if wait.deadline - trio.current_time() < SEND_MARGIN:
                wait.deadline = math.inf
            try:
                await self.stream.send_all(data)
            except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
                raise LineLost(str(exc) or type(exc).__name__) from exc

    async def _receive(self) -> bytes:
        try:
            return bytes(await self.stream.receive_some(RECEIVE_SIZE))
        except (trio.BrokenResourceError, OSError) as exc:
            raise LineLost(str(exc) or type(exc).__name__) from exc

    # ---- session events --------------------------------------------------------------

    def _handle(self, events: list[Event]) -> None:
        ups, name = self.ups, self.ups.name
        for event in events:
            if isinstance(event, Values):
                for key, value in event.values.items():
                    ups.set(key, value)  # the store ignores what did not change
            elif isinstance(event, Garbled):
                log.debug("[%s] garbled reply to %r: %r", name, event.query, event.reply)
            elif isinstance(event, Doubtful):
                log.debug("[%s] an alert came into the reply to %r (%r): not published",
                          name, event.query, event.reply)
            elif isinstance(event, Unconfirmed):
                log.debug("[%s] not confirmed, not published: %s (Q %02X)", name,
                          "a status Q did not repeat" if event.alert is None
                          else f"alert {chr(event.alert.value)!r}", event.register)
            elif isinstance(event, Polled):
                ups.stats.poll_seconds = event.seconds
                cycle_log.debug("[%s] poll cycle %.1f ms, %d bytes sent, %d received",
                                name, event.seconds * 1000, event.sent, event.received)
            elif isinstance(event, Answering):
                self.health.fresh(ups, trio.current_time())
            elif isinstance(event, Silent):
                self.health.lost(ups, f"{self.port}: {event.reason}", trio.current_time())
            elif isinstance(event, AlertSeen):
                log.debug("[%s] alert %r: %s", name, chr(event.alert.value),
                          ALERT_MEANINGS[event.alert])
            elif isinstance(event, Finished):
                self._finish(event)
            else:
                self._handle_setup(event)

    def _handle_setup(self, event: Event) -> None:
        """The rarer events: discovery, the handshake, the end."""
        ups = self.ups
        if isinstance(event, Deleted):
            for key in event.names:
                ups.delete(key)
        elif isinstance(event, Settable):
            string = event.length is not None
            ups.set(event.name, event.value, writable=True, string=string or None,
                    aux=event.length)
            if event.enums:
                ups.set_enums(event.name, event.enums)
        elif isinstance(event, CommandsFound):
            for command in event.names:
                ups.add_command(command)
        elif isinstance(event, Discovered):
            mirror_device_info(ups)
            log.info("[%s] APC Smart-UPS on %s: firmware %s, %d variables, %d commands",
                     ups.name, self.port, event.firmware or "unknown", event.variables,
                     event.commands)
        elif isinstance(event, UnusableCaps):
            log.warning("[%s] unusable ^Z (capabilities) reply: %r", ups.name, event.reply)
        elif isinstance(event, NoAnswerYet):
            ups.mark_stale()  # no data for a while yet: say so (logged if all tries fail)
        else:
            assert isinstance(event, Closed)
            raise LineLost(event.reason)

    def _finish(self, event: Finished) -> None:
        request = self.requests.pop(event.ticket, None)
        if request is None:
            return
        result = Result[event.verdict.name]
        if isinstance(request, Killpower):
            request.notes.extend(event.notes)
            for note in event.notes:
                log.warning("[%s] killpower: %s", self.ups.name, note)
        elif isinstance(request, InstCmd):
            what = f"{request.command} {request.param or ''}".rstrip()
            if result == Result.SUCCESS:
                log.info("[%s] %s done", self.ups.name, what)
            for note in event.notes:
                log.warning("[%s] %s: %s", self.ups.name, what, note)
        if request.on_result is not None:
            request.on_result(result)
