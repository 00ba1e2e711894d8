"""NUT's ``apcmicrolink`` driver: a trio shell around the codec's Session.

The :class:`~nutpy.protocols.apcmicrolink.Session` decides what to send
and what the bytes mean; this module moves the bytes, keeps the time,
publishes what the session decoded and turns client requests into writes.

When the line goes quiet or the UPS drops the session, the data is marked
stale at once and everything about the connection is thrown away: a new
session sweeps the pages and authenticates again by itself.  A port that
cannot be opened or goes away is opened again every ``pollinterval``
(the data stale meanwhile); the log hears of an outage once.

Option ``cmdsrc`` (rj45, usb, local, smartslot1, internal1; default rj45)
is the command source NUT ORs into command words.
"""

from __future__ import annotations

import logging
import math
from collections import deque

import trio

from nutpy.drivers.base import (
    DriverConfigError,
    DriverSetup,
    LinkHealth,
    keep_port,
    poll_interval,
    publish_driver_info,
)
from nutpy.protocols.apcmicrolink.commands import SOURCES, Setting, available_commands, settings
from nutpy.protocols.apcmicrolink.session import (
    Authenticated,
    AuthFailed,
    Event,
    NoResponse,
    Session,
    SessionLost,
    State,
    Updated,
    WriteDone,
    WriteFailed,
)
from nutpy.store import InstCmd, Killpower, Request, Result, ResultCallback, UpsState

log = logging.getLogger("nutpy.driver.apcmicrolink")

BAUDRATE = 9600
BYTE_TIME = 10 / BAUDRATE  # 8N1
RECEIVE_SIZE = 1024


class ApcMicrolink:
    def __init__(self, setup: DriverSetup) -> None:
        section = setup.section
        self.open_line = setup.open_line
        source = section.options.get("cmdsrc") or "rj45"
        if source not in SOURCES:
            raise DriverConfigError(f"cmdsrc '{source}' is not one of {', '.join(SOURCES)}")
        self.source = source
        self.port = section.port
        self.interval = poll_interval(section, setup.globals)  # how often a lost port is retried
        self.health = LinkHealth(section.name, log)

    async def run(self, ups: UpsState,
                  requests: trio.MemoryReceiveChannel[Request]) -> None:
        publish_driver_info(ups, "apcmicrolink", {"port": self.port})
        await keep_port(self.open_line, self.port, BAUDRATE, ups=ups,
                        requests=requests, serve=self.serve, health=self.health,
                        interval=self.interval)

    async def serve(self, stream: trio.abc.Stream, ups: UpsState,
                    requests: trio.MemoryReceiveChannel[Request]) -> None:
        """Drive the UPS at the other end of ``stream`` until the stream ends."""
        connection = _Connection(stream, ups, self.source, self.health, self.port)
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(connection.take_requests, requests)
                await connection.poll()
        finally:
            connection.fail_pending()  # the port went: no echo will come


class _Connection:
    """One open port: the session, what is published, writes awaiting their echo."""

    def __init__(self, stream: trio.abc.Stream, ups: UpsState, source: str,
                 health: LinkHealth, port: str) -> None:
        self.stream = stream
        self.ups = ups
        self.source = source
        self.health = health
        self.port = port
        self.session = Session()
        self.published: set[str] = set()  # names of what the session decoded last
        self.settings: dict[str, Setting] = {}
        self.undescribed: set[str] = set()  # settings whose flags are not in the store yet
        self.pending: dict[bytes, deque[ResultCallback | None]] = {}
        self._sent_at = -math.inf

    async def poll(self) -> None:
        while True:
            await self._send_next()
            deadline = self.session.next_deadline()
            data = b""
            with trio.move_on_at(math.inf if deadline is None else deadline):
                data = bytes(await self.stream.receive_some(RECEIVE_SIZE))
                if not data:
                    raise ConnectionError("the port was closed")
            now = trio.current_time()
            session = self.session
            events = session.receive_data(data, now) if data else session.handle_timeout(now)
            for event in events:
                if self.session is not session:
                    break  # replaced: the old session's other news is moot
                self._handle(event, now)

    async def _send_next(self) -> None:
        session = self.session
        if session.authenticated and session.header is not None:
            # Poll no faster than a 9600-baud line could answer (a simulator
            # would answer at once, and we would spin).
            exchange = (1 + session.header.width + 3) * BYTE_TIME
            await trio.sleep_until(self._sent_at + exchange)
        now = trio.current_time()
        out = session.start(now) if session.state is State.IDLE else session.data_to_send(now)
        if out:
            self._sent_at = now
            await self.stream.send_all(out)

    # ---- session events ---------------------------------------------------

    def _handle(self, event: Event, now: float) -> None:
        if isinstance(event, Updated):
            if self.ups.last_update is None:  # later recoveries are the health's to log
                log.info("[%s] receiving data on %s", self.ups.name, self.port)
            self._publish(self.session.values())
            self.health.fresh(self.ups, now)
        elif isinstance(event, Authenticated):
            self._describe()
        elif isinstance(event, (WriteDone, WriteFailed)):
            self._finish(event.frame, Result.SUCCESS if isinstance(event, WriteDone)
                         else Result.FAILED)
        elif isinstance(event, AuthFailed):  # the session tries again by itself
            self._lost("the UPS refused our password", now, restart=False)
        elif isinstance(event, SessionLost):
            self._lost(event.reason, now, restart=True)
        else:
            assert isinstance(event, NoResponse)
            self._lost("no response", now, restart=self.session.authenticated)

    def _lost(self, reason: str, now: float, *, restart: bool) -> None:
        """Stale at once.  If we were monitoring, start over with a new session,
        so nothing read before the outage can be published after it.  (A
        session that is still setting up retries by itself: restarting it
        would only throw away the pages that did get through.)"""
        self.health.lost(self.ups, f"{self.port}: {reason}", now)
        if restart:
            self.session = Session()
            self.fail_pending()  # the writes queued in the old session

    def fail_pending(self) -> None:
        """Every write still awaiting its echo has failed."""
        for frame in list(self.pending):
            while frame in self.pending:
                self._finish(frame, Result.FAILED)

    def _describe(self) -> None:
        """A layout is known: list its commands and settings.  It may be another
        unit's than before: what the first full read does not show goes."""
        layout = self.session.layout
        assert layout is not None
        self.ups.begin_discovery()
        for command in available_commands(layout):
            self.ups.add_command(command)
        self.settings = settings(layout)
        self.undescribed = set(self.settings)

    def _publish(self, values: dict[str, str]) -> None:
        ups = self.ups
        for name, value in values.items():
            ups.set(name, value)  # the store ignores what did not change
        for name in self.published - values.keys():
            ups.delete(name)
        self.published = set(values)
        for name in self.undescribed & values.keys():
            setting = self.settings[name]
            ups.set(name, values[name], writable=True, string=setting.length is not None,
                    aux=setting.length or 0)
            if setting.enums:
                ups.set_enums(name, setting.enums)
            if setting.ranges:
                ups.set_ranges(name, setting.ranges)
        self.undescribed -= values.keys()

    # ---- client requests ----------------------------------------------------

    async def take_requests(self, requests: trio.MemoryReceiveChannel[Request]) -> None:
        async for request in requests:
            self._submit(request)

    def _submit(self, request: Request) -> None:
        """Queue the request's write; its result comes with the echo (or its absence)."""
        if not self.session.authenticated:
            _report(request.on_result, Result.FAILED)
            return
        on_result = request.on_result
        try:
            if isinstance(request, InstCmd):
                frame = self.session.command(request.command, self.source)
            elif isinstance(request, Killpower):
                # What NUT's apcmicrolink does for the driver's killpower.
                frame = self.session.command("shutdown.return", self.source)
                on_result = self._narrate_killpower(request)
            else:
                frame = self.session.set_variable(request.variable, request.value)
        except KeyError:
            _report(request.on_result, Result.UNKNOWN)
            return
        except ValueError:
            _report(request.on_result, Result.INVALID)
            return
        self.pending.setdefault(frame, deque()).append(on_result)

    def _narrate_killpower(self, request: Killpower) -> ResultCallback:
        delay = self.ups.get("outlet.group.0.delay.shutdown")
        after = f"after its {delay.value} s shutdown delay" if delay else "after its delay"

        def done(result: Result) -> None:
            if result == Result.SUCCESS:
                request.notes.append(f"shutdown.return confirmed; output off {after}, "
                                     "back on when the mains return")
            else:
                request.notes.append("shutdown.return refused or unanswered")
            log.warning("[%s] killpower: %s", self.ups.name, request.notes[-1])
            _report(request.on_result, result)

        return done

    def _finish(self, frame: bytes, result: Result) -> None:
        waiting = self.pending.get(frame)
        if not waiting:
            return
        _report(waiting.popleft(), result)
        if not waiting:
            del self.pending[frame]


def _report(on_result: ResultCallback | None, result: Result) -> None:
    if on_result is not None:
        on_result(result)
