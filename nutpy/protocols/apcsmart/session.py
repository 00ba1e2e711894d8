"""The whole APC Smart conversation as a state machine: bytes and time in, bytes and events out.

This is NUT ``apcsmart``'s side of the line without the line: the handshake
(``Y`` until ``SM``, ``ESC`` between tries), discovery (firmware table, ``a``,
probing every query, ``^Z``; ``b`` wins over ``V``), the poll plan (``Q`` and
the fast-moving variables every ``interval``, the rest of NUT's polled ones
every few polls and when the status changes, everything hourly), resync after a
garbled reply, knocking with ``Y`` while the UPS is silent, and the requests:
instant commands with their double presses and confirmation windows, writes
(read, cycle with ``-`` or write 8 bytes, read again), killpower's methods in
turn.  The caller moves the bytes and keeps the time, as with h11:

* send whatever :meth:`Session.data_to_send` returns, then handle the events
  (:mod:`~nutpy.protocols.apcsmart.events`) the last call returned, in that
  order: a command's last byte is on the wire before its result is reported;
* wait for input until :meth:`Session.next_deadline`; hand what arrived to
  :meth:`Session.receive_data` (``b""``: the line ended), or call
  :meth:`Session.handle_timeout` if nothing did;
* requests (:meth:`Session.instcmd`, :meth:`Session.set_variable`,
  :meth:`Session.killpower`) are queued and carried out between polls; each
  ends in one :class:`Finished`.  After queueing one, wait again: the
  deadline may have moved.

An alert byte is a hint, not a fact (:mod:`~nutpy.protocols.apcsmart.confirm`):
the moment one arrives, an idle session polls, and a poll under way asks
``Q`` before its next query; ``ups.status`` changes only when ``Q`` bears
the alert out (a power cut shows as ``OB`` one ``Q`` round trip after the
``!``).  A change no alert announced is published once two ``Q`` readings
in a row agree, and the first status of a session is read twice.  A reply
an alert came into is not published: the alert may be noise that took one
of its bytes' place.

The conversation is written as one generator per phase (``_handshake``,
``_discover``, ``_poll``...) that yields what it waits for (a reply line,
a pause, the next request) and is resumed with what came.  They read top
to bottom like the exchange on the wire; the phases are:

=========== ================================================ =====================
phase       what the session does                            leaves for
=========== ================================================ =====================
CONNECTING  ``Y`` until ``SM`` (5 tries, ``ESC`` between)     DISCOVERING, CLOSED
DISCOVERING firmware, ``a``, every query once, ``^Z``         POLLING, CLOSED
POLLING     ``Q`` and the polled queries (the slow ones every IDLE, KNOCKING
            5th poll, on a status change and after a request;
            all queries hourly)
IDLE        waits ``interval`` (0.25 s after a garbled poll;  POLLING, BUSY
            an alert ends the wait)
BUSY        one request                                       POLLING
KNOCKING    ``Y`` every ``interval``; requests fail at once   POLLING
CLOSED      nothing more: the line ended, or the UPS is gone
=========== ================================================ =====================

A unit that stops answering in POLLING is knocked on; one that does not
answer the handshake, goes silent during discovery, or goes silent again
in the poll right after knocking, ends the session (:class:`Closed`), and
the caller opens the port again later.  The data is stale (:class:`Silent`)
after a few polls in a row whose ``Q`` could not be read; a garbled reply to
another query only keeps that value as it was.
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import TypeAlias, TypeVar

from nutpy.protocols.apcsmart.capabilities import (
    OLD_PROBE,
    QUIRK_FIRMWARE,
    caps_enums,
    discover,
    firmware_locale,
    legacy_lookup,
    parse_caps,
    parse_cmdset,
)
from nutpy.protocols.apcsmart.commands import (
    AT_RECOVERY,
    ENUM_STEP,
    KNOWN_INSTCMDS,
    NASTY,
    Expect,
    NastyGuard,
    Step,
    UnknownCommand,
    instcmd_steps,
    killpower_plan,
    needs_at_recovery,
    string_write_steps,
)
from nutpy.protocols.apcsmart.confirm import StatusGuard
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
    Verdict,
)
from nutpy.protocols.apcsmart.framing import (
    CAPS,
    CMDSET,
    DUMB_MODE,
    ESCAPE,
    FIRMWARE_NEW,
    FIRMWARE_OLD,
    LONG_TIMEOUT,
    REPLY_TIMEOUT,
    SMART_MODE,
    SMART_MODE_TIMEOUT,
    SMART_MODE_TRIES,
    STATUS,
    AlertEvent,
    Overflow,
    ReadMode,
    ReplyLine,
    Splitter,
)
from nutpy.protocols.apcsmart.status import LB, OB, Alert, parse_status, status_tokens
from nutpy.protocols.apcsmart.variables import (
    EVERY_POLL,
    POLL_ORDER,
    STRING_LENGTH,
    Outcome,
    Reading,
    decode,
    decode_dual,
    is_polled,
    spec_named,
    specs_for,
)

__all__ = ["Phase", "Session"]

FULL_SCAN_EVERY = 3600.0  # NUT reads the non-polled variables hourly
SWEEP_EVERY = 5  # polls: NUT's other polled variables are read every this many
RESYNC_PAUSE = 0.25  # after a garbled reply: let the rest of it arrive, then flush
LINE_GAP = 0.5  # a reply begun, then silent this long, was cut short (its LF lost to noise)
GARBLED_POLLS = 3  # this many polls in a row without a readable Q make the data stale
STATUS_READS = 3  # Q asked at most this often in a row for one confirmation
# Stands in for a garbled line (too long, cut short, or trodden on by more
# bytes): it matches no reply format.
_GARBLED = b"\x00"
_GARBLED_LINE = ReplyLine(_GARBLED)


class Phase(enum.Enum):
    CONNECTING = "connecting"
    DISCOVERING = "discovering"
    POLLING = "polling"
    IDLE = "idle"
    BUSY = "busy"
    KNOCKING = "knocking"
    CLOSED = "closed"


# ---- what the conversation waits for, and the requests it is given ----------------


@dataclass(frozen=True, slots=True)
class _Read:
    """The next reply line (None: nothing came before ``deadline``)."""

    deadline: float
    star_ok: bool = False  # a bare "*" alert is this reply


@dataclass(frozen=True, slots=True)
class _Pause:
    deadline: float


@dataclass(frozen=True, slots=True)
class _Idle:
    """The next request, or None at ``deadline`` or when an alert wants a poll."""

    deadline: float


@dataclass(frozen=True, slots=True)
class _Hold:
    """Wait until ``deadline``, failing every request meanwhile."""

    deadline: float


_Wait = _Read | _Pause | _Idle | _Hold


@dataclass(frozen=True, slots=True)
class _InstCmd:
    ticket: int
    name: str
    param: str | None


@dataclass(frozen=True, slots=True)
class _SetVar:
    ticket: int
    name: str
    value: str


@dataclass(frozen=True, slots=True)
class _Killpower:
    ticket: int


_Job = _InstCmd | _SetVar | _Killpower
_T = TypeVar("_T")
_Script: TypeAlias = Generator[_Wait, "bytes | _Job | None", _T]


class _Unanswered(Exception):
    """The UPS did not answer a query it must answer."""


@dataclass
class _Unit:
    """What discovery learned about the UPS at the other end."""

    queries: list[bytes] = field(default_factory=list)  # every variable query, in order
    names: dict[bytes, set[str]] = field(default_factory=dict)  # query -> names published
    dual: list[bytes] = field(default_factory=list)  # dual-byte queries (SPM)
    output_frequency: bool = False
    instcmds: tuple[str, ...] = ()
    writable: set[str] = field(default_factory=set)
    cycles: dict[bytes, int] = field(default_factory=dict)  # query -> positions ``-`` steps

    def polled(self, *, sweep: bool) -> list[bytes]:
        """The queries after ``Q``, in NUT's order: those of :data:`EVERY_POLL`,
        or (``sweep``) all that NUT polls."""
        return [bytes((b,)) for b in POLL_ORDER
                if bytes((b,)) in self.queries and is_polled(bytes((b,)))
                and (sweep or b in EVERY_POLL)]


class Session:
    """One connection to a Smart-UPS, from the first ``Y`` to the end of the line.

    ``interval``: seconds between polls (and between knocks on a silent UPS).
    ``sdtype``, ``advorder``, ``awd``: killpower's options, as in NUT's
    ups.conf; ValueError if unusable.
    """

    def __init__(self, *, interval: float, sdtype: str | None = None,
                 advorder: str | None = None, awd: str | None = None) -> None:
        killpower_plan(OB, sdtype=sdtype, advorder=advorder, awd=awd)  # ValueError if bad
        self.interval = interval
        self.shutdown_options = {"sdtype": sdtype, "advorder": advorder, "awd": awd}
        self.phase = Phase.CONNECTING
        self.values: dict[str, str] = {}  # everything published, by name
        self.bytes_sent = 0
        self.bytes_received = 0
        self._unit = _Unit()
        self._nasty = NastyGuard()
        self._splitter = Splitter()
        self._guard = StatusGuard()
        self._lines: deque[ReplyLine] = deque()  # reply lines nobody has taken yet
        self._interrupted = False  # the line taken last had an alert come into it
        self._out = bytearray()
        self._events: list[Event] = []
        self._jobs: deque[_Job] = deque()
        self._tickets = 0
        self._now = 0.0
        self._heard_at = 0.0  # when the last byte came
        self._script: _Script[None] | None = None
        self._waiting: _Wait | None = None

    # ---- the caller's side -----------------------------------------------------

    def start(self, now: float) -> list[Event]:
        """Begin the conversation (the first ``Y``)."""
        self._now = now
        self._script = self._conversation()
        self._resume(None)
        return self._take_events()

    def data_to_send(self) -> bytes:
        out = bytes(self._out)
        self._out.clear()
        return out

    def next_deadline(self) -> float | None:
        """When to call :meth:`handle_timeout` if no input comes first."""
        waiting = self._waiting
        if waiting is None:
            return None
        if self._jobs and isinstance(waiting, _Idle | _Hold):
            return self._now  # a request is waiting to be taken: now
        return self._deadline(waiting)

    def _deadline(self, waiting: _Wait) -> float:
        if isinstance(waiting, _Read) and self._splitter.pending:
            return min(waiting.deadline, self._heard_at + LINE_GAP)
        return waiting.deadline

    def receive_data(self, data: bytes, now: float) -> list[Event]:
        """Bytes from the UPS; ``b""`` means the line ended."""
        self._now = now
        if self.phase is Phase.CLOSED:
            return self._take_events()
        if not data:
            self._close("end of file on the port")
            return self._take_events()
        self.bytes_received += len(data)
        self._heard_at = now
        for item in self._splitter.feed(data):
            if isinstance(item, AlertEvent):
                self._on_alert(item.alert)
            elif isinstance(item, Overflow):
                self._lines.append(_GARBLED_LINE)
            else:
                self._lines.append(item)
        waiting = self._waiting
        if isinstance(waiting, _Read) and self._lines:
            self._resume(self._take_line())
        elif isinstance(waiting, _Idle) and self._guard.wanted:
            self._resume(None)
        return self._take_events()

    def handle_timeout(self, now: float) -> list[Event]:
        self._now = now
        waiting = self._waiting
        if isinstance(waiting, _Hold):
            self._reject_jobs()
        if waiting is None or (now < self._deadline(waiting) and not
                               (self._jobs and isinstance(waiting, _Idle))):
            return self._take_events()
        if isinstance(waiting, _Read):
            # A line begun but never ended was cut short: the UPS did answer.
            self._interrupted = False
            self._resume(_GARBLED if self._splitter.pending else None)
        elif isinstance(waiting, _Idle):
            self._resume(self._jobs.popleft() if self._jobs else None)
        else:
            self._resume(None)
        return self._take_events()

    def instcmd(self, name: str, param: str | None = None) -> int:
        """Queue an instant command; returns its ticket (see :class:`Finished`)."""
        return self._queue(lambda ticket: _InstCmd(ticket, name, param))

    def set_variable(self, name: str, value: str) -> int:
        return self._queue(lambda ticket: _SetVar(ticket, name, value))

    def killpower(self) -> int:
        """NUT's ``apcsmart -k``: read Q, then the configured shutdown methods in turn."""
        return self._queue(_Killpower)

    def goodbye(self) -> bytes:
        """What to send before closing the port: ``R``, back to dumb mode, as NUT does."""
        return DUMB_MODE

    # ---- driving the generators ----------------------------------------------

    def _queue(self, make: Callable[[int], _Job]) -> int:
        self._tickets += 1
        job = make(self._tickets)
        if self.phase is Phase.CLOSED:
            self._events.append(Finished(job.ticket, Verdict.FAILED))
        else:
            self._jobs.append(job)
        return job.ticket

    def _resume(self, value: bytes | _Job | None) -> None:
        """Run the conversation until it waits for something that is not here yet."""
        assert self._script is not None
        self._waiting = None
        try:
            waiting = self._script.send(value)
            while True:
                if isinstance(waiting, _Read) and self._lines:
                    waiting = self._script.send(self._take_line())
                elif isinstance(waiting, _Idle) and self._jobs:
                    waiting = self._script.send(self._jobs.popleft())
                else:
                    break
        except StopIteration:
            self.phase = Phase.CLOSED
            return
        self._waiting = waiting

    def _take_line(self) -> bytes:
        """The next reply line; garbled if more line bytes tread on its heels
        (a UPS sends nothing after a reply but alerts)."""
        line = self._lines.popleft()
        if self._lines or self._splitter.pending:
            line = _GARBLED_LINE
        self._interrupted = line.interrupted
        return line.data

    def _take_events(self) -> list[Event]:
        events, self._events = self._events, []
        return events

    def _close(self, reason: str) -> None:
        """End the session from outside: the request under way and those queued fail."""
        if self._script is not None:
            self._script.close()  # runs the finally clauses: a request under way reports
        self._out.clear()  # nowhere to send it
        self._end(reason)

    def _end(self, reason: str) -> None:
        self._reject_jobs()
        self._waiting = None
        self.phase = Phase.CLOSED
        self._events.append(Closed(reason))

    def _reject_jobs(self) -> None:
        while self._jobs:
            self._events.append(Finished(self._jobs.popleft().ticket, Verdict.FAILED))

    def _on_alert(self, alert: Alert) -> None:
        if alert is Alert.TURNING_OFF and isinstance(self._waiting, _Read) \
                and self._waiting.star_ok:
            self._lines.append(ReplyLine(b"*"))  # an old unit's way of saying OK to a shutdown
            return
        self._events.append(AlertSeen(alert))
        self._guard.alert(alert)  # an idle session polls at once (receive_data)

    def _publish(self, values: dict[str, str]) -> None:
        self.values.update(values)
        self._events.append(Values(values))

    def _publish_status(self) -> None:
        status = self._guard.status
        if status is not None:
            self._publish({"ups.status": " ".join(status_tokens(status))})

    # ---- the wire's primitives -------------------------------------------------

    def _send(self, data: bytes) -> None:
        self._out += data
        self.bytes_sent += len(data)

    def _flush(self) -> None:
        """Forget replies nobody waited for and any partial line (NUT's apc_flush)."""
        self._splitter.clear()
        self._lines.clear()

    def _read(self, timeout: float, star_ok: bool = False) -> _Script[bytes | None]:
        reply = yield _Read(self._now + timeout, star_ok)
        assert reply is None or isinstance(reply, bytes)
        return reply

    def _pause(self, seconds: float) -> _Script[None]:
        if seconds > 0:
            yield _Pause(self._now + seconds)

    def _ask(self, cmd: bytes, timeout: float = REPLY_TIMEOUT,
             mode: ReadMode = ReadMode.ALERTS) -> _Script[bytes | None]:
        """Flush, send ``cmd``, return its reply line (None: timeout)."""
        self._flush()
        self._splitter.expect(mode)
        self._send(cmd)
        return (yield from self._read(timeout))

    def _run_steps(self, steps: list[Step]) -> _Script[bool]:
        """Carry out timed steps (an instant command or a write); False when one fails."""
        self._flush()
        for step in steps:
            self._send(step.send)
            reply = None
            if step.expect is not Expect.NOTHING:
                reply = yield from self._read(step.timeout, step.star_ok)
            if not step.accepts(reply):
                return False
            yield from self._pause(step.delay_after)
        return True

    # ---- the conversation ---------------------------------------------------------

    def _conversation(self) -> _Script[None]:
        try:
            yield from self._handshake()
            yield from self._discover()
            yield from self._poll_forever()
        except _Unanswered as exc:
            self._end(str(exc))

    def _handshake(self) -> _Script[None]:
        for _ in range(SMART_MODE_TRIES):
            if (yield from self._ask(SMART_MODE, SMART_MODE_TIMEOUT)) == b"SM":
                return
            self._events.append(NoAnswerYet())
            yield from self._ask(ESCAPE, SMART_MODE_TIMEOUT)  # its answer is discarded
        raise _Unanswered("no APC Smart protocol UPS answers (no SM to Y)")

    def _discover(self) -> _Script[None]:
        """NUT's getbaseinfo: firmware table, ``a``, probing, ``^Z``."""
        self.phase = Phase.DISCOVERING
        firmware = yield from self._ask(FIRMWARE_OLD)
        if firmware in (None, b"NA"):
            firmware = yield from self._ask(FIRMWARE_NEW)
        fw_text = (firmware or b"").decode("latin-1")
        legacy = legacy_lookup(fw_text)
        cmdset = None
        unit = _Unit()
        if legacy is not None:
            self._publish({"ups.model": legacy.model})
            commands = legacy.commands
        else:
            reply = yield from self._ask(CMDSET, LONG_TIMEOUT, ReadMode.RAW)
            cmdset = parse_cmdset(reply or b"")
            commands = cmdset.commands if cmdset is not None else OLD_PROBE
        found = discover(commands)
        unit.instcmds = found.instcmds
        readings: dict[bytes, Reading] = {}
        if cmdset is not None:
            unit.output_frequency = b"\x9f\xd3" in cmdset.dual
            for cmd in cmdset.dual:
                readings[cmd] = decode_dual(cmd, (yield from self._probe(cmd)))
        for byte in found.queries:
            cmd = bytes((byte,))
            readings[cmd] = decode(cmd, (yield from self._probe(cmd)),
                                   output_frequency=unit.output_frequency)
        readings = {cmd: r for cmd, r in readings.items() if r.outcome is Outcome.VALUE}
        if FIRMWARE_NEW in readings:
            readings.pop(FIRMWARE_OLD, None)  # b wins over V
        for cmd, reading in readings.items():
            (unit.dual if len(cmd) == 2 else unit.queries).append(cmd)
            unit.names[cmd] = set(reading.values)
            self._publish(reading.values)
            if any(spec.string for spec in specs_for(cmd)):
                for name, value in reading.values.items():
                    unit.writable.add(name)
                    self._events.append(Settable(name, value, length=STRING_LENGTH))
        if cmdset is None and legacy is None:
            self._name_old_model()
        self._events.append(CommandsFound(found.instcmds))
        self._unit = unit
        if found.caps and legacy is None:
            yield from self._read_caps(quirky=fw_text == QUIRK_FIRMWARE)
        self._publish({"ups.mfr": "APC"})
        self._events.append(Discovered(fw_text, len(unit.queries), len(unit.instcmds)))

    def _probe(self, cmd: bytes) -> _Script[bytes]:
        """One discovery query; a timeout means the UPS went away, unless it still says SM."""
        reply = yield from self._ask(cmd)
        if reply is None:
            if (yield from self._ask(SMART_MODE, SMART_MODE_TIMEOUT)) != b"SM":
                raise _Unanswered(f"no reply to {cmd!r} during discovery")
            return b""
        return reply

    def _name_old_model(self) -> None:
        """NUT's oldapcsetup: name what answered too little to name itself."""
        if "output.current" in self.values:
            self._publish({"ups.model": "Matrix-UPS"})
        elif "ups.model" not in self.values:
            self._publish({"ups.model": "Smart-UPS"})

    def _read_caps(self, *, quirky: bool) -> _Script[None]:
        reply = yield from self._ask(CAPS, LONG_TIMEOUT, ReadMode.CAPS)
        entries = parse_caps(reply or b"", tolerate_overflow=quirky)
        if entries is None:
            self._events.append(UnusableCaps(reply))
            return
        locale = firmware_locale(self.values.get("ups.firmware", ""))
        for entry in entries:
            if entry.locale in (locale, "4"):
                cycles = self._unit.cycles
                cycles[entry.cmd] = cycles.get(entry.cmd, 0) + len(entry.values)
        for name, values in caps_enums(entries, locale, self.values).items():
            self._unit.writable.add(name)
            self._events.append(Settable(name, self.values[name], enums=tuple(values)))

    # ---- polling -------------------------------------------------------------------

    def _poll_forever(self) -> _Script[None]:
        last_full = self._now
        garbled = 0
        polls = 0
        while True:
            full = self._now - last_full >= FULL_SCAN_EVERY
            sweep = polls % SWEEP_EVERY == 0
            polls += 1
            began, sent, received = self._now, self.bytes_sent, self.bytes_received
            try:
                read, clean = yield from self._poll(full, sweep)
                self._events.append(Polled(self._now - began, self.bytes_sent - sent,
                                           self.bytes_received - received))
            except _Unanswered as exc:
                self._events.append(Silent(str(exc)))
                yield from self._knock()
                read, clean = yield from self._poll(full=True)  # silent again: it ends
            garbled = 0 if read else garbled + 1
            if read:
                self._events.append(Answering())
                if full and clean:
                    last_full = self._now
            elif garbled >= GARBLED_POLLS:
                self._events.append(Silent(f"no readable Q in {garbled} polls in a row"))
            # Until the next poll is due (soon after a garbled one): a request
            # is carried out, then polled for at once to show its effect; an
            # alert ends the wait (receive_data) or, if it came in the poll's
            # last reply, leaves none.
            self.phase = Phase.IDLE
            if self._guard.wanted:
                continue
            wait = self.interval if clean else min(self.interval, RESYNC_PAUSE)
            job = yield _Idle(self._now + wait)
            if job is not None:
                assert not isinstance(job, bytes)
                yield from self._execute(job)
                polls = 0  # the poll that follows reads everything NUT polls
                # Its result goes out before the poll that follows begins.
                yield _Pause(self._now)

    def _poll(self, full: bool, sweep: bool = True) -> _Script[tuple[bool, bool]]:
        """One scan: whether ``Q`` was read, and whether every reply was
        (nothing of a garbled one is published).  Alerts meanwhile are put to
        ``Q`` before the next query.  Not ``sweep``: only :data:`EVERY_POLL`
        is read, unless the status changed."""
        self.phase = Phase.POLLING
        before = self._guard.status
        if not (yield from self._read_status()):
            return False, False
        sweep |= self._guard.status != before
        unit = self._unit
        clean = True
        for cmd in [*(unit.queries if full else unit.polled(sweep=sweep)), *unit.dual]:
            clean &= yield from self._poll_one(cmd)
            if self._guard.wanted:
                clean &= yield from self._read_status()
        self._check_battery()
        return True, clean

    def _read_status(self) -> _Script[bool]:
        """``Q`` until its reading is confirmed or not (see :class:`StatusGuard`);
        False if no status was read (a reply garbled, or every one doubtful)."""
        guard = self._guard
        read = False
        for _ in range(STATUS_READS):
            guard.asking()
            reply = yield from self._ask(STATUS)
            if reply is None:
                raise _Unanswered("no reply to Q")
            if self._interrupted:  # ask again: the alert that came into it wants Q too
                self._events.append(Doubtful(STATUS, reply))
                continue
            register = parse_status(reply)
            if register is None:
                self._events.append(Garbled(STATUS, reply))
                yield from self._resync()
                return False
            read = True
            reading = guard.reading(register)
            self._events += [Unconfirmed(alert, register) for alert in reading.not_borne_out]
            if reading.not_repeated is not None:
                self._events.append(Unconfirmed(None, reading.not_repeated))
            self._publish_status()
            if not reading.again:
                break
        # Out of tries, a change seen once waits for the next poll's Q to repeat it.
        return read and guard.status is not None

    def _check_battery(self) -> None:
        """Low battery by the UPS's own rule, after a ``%`` that ``Q`` did not bear out."""
        before = self._guard.status
        self._guard.battery(_number(self.values.get("battery.runtime")),
                            _number(self.values.get("battery.runtime.low")))
        if self._guard.status != before:
            self._publish_status()

    def _poll_one(self, cmd: bytes) -> _Script[bool]:
        reply = yield from self._ask(cmd)
        if reply is None:
            raise _Unanswered(f"no reply to {cmd!r}")
        unit = self._unit
        if len(cmd) == 2:
            reading = decode_dual(cmd, reply)
        else:
            reading = decode(cmd, reply, output_frequency=unit.output_frequency)
        if reading.outcome is Outcome.NA:  # NUT: gone for good
            unit.queries = [q for q in unit.queries if q != cmd]
            unit.dual = [q for q in unit.dual if q != cmd]
            names = tuple(sorted(unit.names.pop(cmd, set())))
            for name in names:
                self.values.pop(name, None)
            self._events.append(Deleted(names))
            return True
        if reading.outcome is Outcome.BAD:
            self._events.append(Garbled(cmd, reply))
            yield from self._resync()
            return False
        if self._interrupted:
            self._events.append(Doubtful(cmd, reply))
        else:
            self._publish(reading.values)
        return True

    def _resync(self) -> _Script[None]:
        yield from self._pause(RESYNC_PAUSE)
        self._flush()

    def _knock(self) -> _Script[None]:
        """Knock with ``Y`` every interval until the UPS says ``SM`` again."""
        self.phase = Phase.KNOCKING
        while True:
            started = self._now
            if (yield from self._ask(SMART_MODE, SMART_MODE_TIMEOUT)) == b"SM":
                return
            self._events.append(Silent("no SM in reply to Y"))
            yield _Hold(started + self.interval)

    # ---- requests -------------------------------------------------------------------

    def _execute(self, job: _Job) -> _Script[None]:
        """Carry out a request; its result is reported even if the line goes meanwhile."""
        self.phase = Phase.BUSY
        verdict = Verdict.FAILED
        notes: list[str] = []
        try:
            if isinstance(job, _InstCmd):
                verdict = yield from self._instcmd(job.name.lower(), job.param, notes)
            elif isinstance(job, _Killpower):
                verdict = yield from self._killpower(notes)
            else:
                verdict = yield from self._setvar(job.name, job.value)
        finally:
            self._events.append(Finished(job.ticket, verdict, tuple(notes)))

    def _instcmd(self, name: str, param: str | None, notes: list[str]) -> _Script[Verdict]:
        if name not in self._unit.instcmds:
            return Verdict.INVALID if name in KNOWN_INSTCMDS else Verdict.UNKNOWN
        if name in NASTY and not self._nasty.allow(self._now):
            notes.append("not sent: NUT's rule wants the same request again "
                         "3 to 15 s later to confirm it")
            return Verdict.FAILED
        status = None
        if name.startswith("calibrate.") or (param or "").lower() == "cs":
            status = parse_status((yield from self._ask(STATUS)) or b"")
            if status is None:
                return Verdict.FAILED
        try:
            steps = instcmd_steps(name, param, status=status)
        except UnknownCommand:
            return Verdict.INVALID
        if (yield from self._run_steps(steps)):
            return Verdict.SUCCESS
        if needs_at_recovery(steps):
            yield from self._run_steps([AT_RECOVERY])
        notes.append("refused or unanswered")
        return Verdict.FAILED

    def _killpower(self, notes: list[str]) -> _Script[Verdict]:
        """NUT's ``apcsmart -k``: read Q, then try the configured shutdown methods in turn.

        NUT's own read of Q accepts a single character, so on a real unit it
        always falls back to "on battery"; this reads the register properly.
        """
        status = parse_status((yield from self._ask(STATUS)) or b"")
        if status is None:
            notes.append("status unreadable: assuming on battery and low, as NUT does")
            status = OB | LB
        delay = self.values.get("ups.delay.shutdown", "")
        after = f"after its {int(delay)} s shutdown delay" if delay.isdigit() \
            else "after its delay"
        on = "on battery" if status & OB else "on line"
        for method in killpower_plan(status, **self.shutdown_options):
            if (yield from self._run_steps(method.steps)):
                back = ("back on when the mains return" if method.returns
                        else "staying off until switched on")
                notes.append(f"{on}: {method.name} confirmed; output off {after}, {back}")
                return Verdict.SUCCESS
            if needs_at_recovery(method.steps):
                yield from self._run_steps([AT_RECOVERY])
            notes.append(f"{on}: {method.name} refused or unanswered")
        return Verdict.FAILED

    def _setvar(self, name: str, value: str) -> _Script[Verdict]:
        """Read, then write (a string) or step with ``-`` (an enum), then read again."""
        spec = spec_named(name)
        unit = self._unit
        if spec is None or spec.name not in unit.writable or spec.cmd not in unit.queries:
            return Verdict.UNKNOWN
        current = yield from self._read_value(spec.cmd)
        if current is None:
            return Verdict.FAILED
        if current == value:
            return Verdict.SUCCESS
        if spec.string:
            try:
                steps = string_write_steps(value)
            except ValueError:
                return Verdict.INVALID
            yield from self._run_steps(steps)
            current = yield from self._read_value(spec.cmd)
        else:
            current = yield from self._cycle_enum(spec.cmd, current, value)
        if current is not None:
            self._publish({spec.name: current})
        return Verdict.SUCCESS if current == value else Verdict.FAILED

    def _read_value(self, cmd: bytes) -> _Script[str | None]:
        reading = decode(cmd, (yield from self._ask(cmd)) or b"")
        return next(iter(reading.values.values()), None)

    def _cycle_enum(self, cmd: bytes, original: str, target: str) -> _Script[str | None]:
        """Step the EEPROM value with ``-`` until ``target``, at most once round.

        Once round is as many steps as the caps list has entries for ``cmd``
        (writable enums come only from it).  A list may name a value twice
        (``s`` is ``HMLL`` on Smart-UPSes), so meeting ``original`` again does
        not mean the list has wrapped: NUT's driver stops there and so never
        reaches ``H`` from ``L``.
        """
        value: str | None = original
        for _ in range(self._unit.cycles[cmd]):
            if not (yield from self._run_steps([ENUM_STEP])):
                return value
            value = yield from self._read_value(cmd)
            if value in (None, target):
                return value
        return value


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text else None
    except ValueError:
        return None
