"""The host side of a Microlink session, as a state machine fed bytes and time.

In the manner of h11: the caller moves the bytes and keeps the time.  The
session sweeps the pages, authenticates, polls the data pages and recovers
when the UPS restarts the session or stops answering.

A record that would change a status flag (``ups.status``, ``ups.alarm``, the
status word) is kept only once the UPS has sent it twice alike: the session
asks for it again (``FD``: repeat the last record) before it keeps it.  The
checksum cannot be trusted with a flag alone.  Its two sums are taken mod
255, so a byte changed from 0x00 to 0xFF (or back) leaves both unchanged: a
data byte hit by noise that way passes, and the flag bytes of a unit at rest
are 0x00 (the low byte of ``2:4.8.7`` is LB, of ``2:4.34`` RB).  At 1 % of
bytes hit by noise, one record in about 31,000 carries such a change in a
given zero byte (1 % x 1/256 x 0.99^18), so a 9600-baud line (about 48
records a second, the LB page once every 1.3 s round) shows a false LB a
couple of times a day; during a 10-minute outage, a premature shutdown of
every host once in about 70 outages.  Two hits that cancel pass too (about
1 in 20,000 of random two-byte changes).  Asking twice squares those odds,
for about 20 ms of line time, and only when a flag would change.
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from nutpy.protocols.apcmicrolink.auth import (
    MASTER_PASSWORD,
    SERIAL,
    SLAVE_PASSWORD,
    auth_key,
    master_tail,
    slave_password,
)
from nutpy.protocols.apcmicrolink.commands import encode_command, encode_setting
from nutpy.protocols.apcmicrolink.framing import ACK, NAK, FrameAssembler, MicrolinkError, Record
from nutpy.protocols.apcmicrolink.layout import Header, Layout
from nutpy.protocols.apcmicrolink.variables import decode_values, status_flags

__all__ = ["AuthFailed", "Authenticated", "Event", "NoResponse", "Session", "SessionLost", "State",
           "Updated", "WriteDone", "WriteFailed"]


class State(enum.Enum):
    IDLE = "idle"  # start() not called yet
    CONNECTING = "connecting"  # sending FD until page 0 answers
    SETUP = "setup"  # sweeping the pages with FE
    AUTHENTICATING = "authenticating"  # slave password written, echo awaited
    MONITOR = "monitor"  # authenticated, polling data pages


@dataclass(frozen=True, slots=True)
class Authenticated:
    """The session reached MONITOR: values() and the layout are usable."""


@dataclass(frozen=True, slots=True)
class AuthFailed:
    """The UPS echoed a master password that does not prove our slave password."""


@dataclass(frozen=True, slots=True)
class SessionLost:
    reason: str


@dataclass(frozen=True, slots=True)
class Updated:
    """A full round of data pages has come in since the last one."""


@dataclass(frozen=True, slots=True)
class NoResponse:
    """Several requests in a row went unanswered: treat the data as stale."""


@dataclass(frozen=True, slots=True)
class WriteDone:
    frame: bytes


@dataclass(frozen=True, slots=True)
class WriteFailed:
    """No echo came for a write; whether the UPS applied it is unknown."""

    frame: bytes


Event = Authenticated | AuthFailed | SessionLost | Updated | NoResponse | WriteDone | WriteFailed

_KEEPALIVE = 0.5  # poll at least this often; the UPS drops the session after ~0.73 s
# The UPS drops the session at the 4th FD in a row: a record that would change a
# flag is asked for again only while fewer than this many went before it.
_CONFIRM_NAKS = 2


class Session:
    """The host side of a Microlink session, as a state machine.

    The caller sends :meth:`start`'s bytes, then loops: send whatever
    :meth:`data_to_send` returns, wait for input until :meth:`next_deadline`,
    and hand what arrived to :meth:`receive_data` (or, if nothing did, call
    :meth:`handle_timeout`).  Pages are cached for the whole connection, so a
    record lost in the set-up sweep is picked up on the next sweep instead of
    starting over.
    """

    def __init__(self, *, reply_timeout: float = 0.2, poll_interval: float = 0.0,
                 max_silence: int = 3, auth_bytes: bytes = b"\0\0") -> None:
        if not 0 <= poll_interval < _KEEPALIVE:
            raise ValueError(f"poll interval must be below {_KEEPALIVE} s (the UPS's keepalive)")
        self.reply_timeout = reply_timeout
        self.poll_interval = poll_interval
        self.max_silence = max_silence
        self.auth_bytes = auth_bytes[:2]
        self.state = State.IDLE
        self.header: Header | None = None
        self.layout: Layout | None = None
        self.assembler = FrameAssembler()
        self._pages: dict[int, bytes] = {}
        # Set when the UPS may have changed its master password (a session ended,
        # an attempt failed) and cleared when that page comes in again.
        self._master_stale = False
        self._next: bytes | None = None  # the request to send next
        self._not_before = 0.0
        self._sent_at: float | None = None  # set while a reply is awaited
        self._in_flight: bytes | None = None  # a write awaiting its echo
        self._writes: deque[bytes] = deque()
        self._silent = 0  # consecutive timeouts
        self._key: tuple[int, int] | None = None
        self._cursor = 0  # the last page received
        self._naks = 0  # FDs requested in a row
        self._held: Record | None = None  # a record that would change a flag, asked again

    # ---- driving the session --------------------------------------------

    def start(self, now: float) -> bytes:
        """(Re)open the session: send what this returns (FD) first."""
        self.state = State.CONNECTING
        self.assembler.clear()
        self._sent_at = None  # a reply still awaited from before is not waited for
        self._silent = 0
        self._next = bytes((NAK,))
        self._not_before = now
        return self.data_to_send(now)

    def data_to_send(self, now: float) -> bytes:
        """Bytes to write to the UPS now (often none)."""
        if self._sent_at is not None or self._next is None or now < self._not_before:
            return b""
        out = self._next
        if self.state is State.MONITOR and out == bytes((ACK,)) and self._writes:
            out = self._in_flight = self._writes.popleft()
        self._next = None
        self._sent_at = now
        self.assembler.clear()  # the UPS sends nothing unasked: leftovers are noise
        return out

    def next_deadline(self) -> float | None:
        """When to call :meth:`handle_timeout` / :meth:`data_to_send` next."""
        if self._sent_at is not None:
            return self._sent_at + self.reply_timeout
        if self._next is not None:
            return self._not_before
        return None

    def queue_write(self, data: bytes) -> None:
        """Send a write frame at the next poll once authenticated."""
        self._writes.append(data)

    def command(self, name: str, source: str = "rj45") -> bytes:
        """Queue an instant command; returns its frame.  KeyError if unknown."""
        data = encode_command(self._require_layout(), name, source)
        self.queue_write(data)
        return data

    def set_variable(self, name: str, value: str) -> bytes:
        """Queue a setting; returns its frame.  KeyError / ValueError as encode_setting."""
        data = encode_setting(self._require_layout(), name, value)
        self.queue_write(data)
        return data

    def _require_layout(self) -> Layout:
        if self.layout is None:
            raise KeyError("the descriptor has not been read yet")
        return self.layout

    @property
    def authenticated(self) -> bool:
        return self.state is State.MONITOR

    def blob(self) -> bytes:
        """All cached pages laid end to end (missing pages are zeros)."""
        h = self.header
        if h is None:
            return b""
        blank = bytes(h.width)
        return b"".join(self._pages.get(p, blank) for p in range(h.count))

    def values(self) -> dict[str, str]:
        """The NUT variables, once the descriptor is parsed and every page seen."""
        if self.layout is None or not self._complete():
            return {}
        return decode_values(self.layout, self.blob())

    def _complete(self) -> bool:
        return self.header is not None and len(self._pages) == self.header.count

    # ---- input ----------------------------------------------------------

    def handle_timeout(self, now: float) -> list[Event]:
        """Call when next_deadline() has passed without a reply."""
        if self._sent_at is None or now < self._sent_at + self.reply_timeout:
            return []
        self._sent_at = None
        self.assembler.clear()
        self._silent += 1
        events: list[Event] = []
        if self._in_flight is not None:
            events.append(WriteFailed(self._in_flight))
            self._in_flight = None
        if self._silent == self.max_silence:
            # Only reported: a UPS that comes back answers our NAKs with page 0.
            events.append(NoResponse())
        if self.state is State.SETUP and self._silent < self.max_silence \
                and self._cursor + self._silent < self._end:
            # A lost page (each unanswered FE still moved the UPS on): carry on,
            # the next sweep fills the gap.  Past the last page FE gets silence.
            self._request(ACK, now)
        else:
            # Monitoring: repeat the last record.  Otherwise (re)start the sweep.
            self._request(NAK, now)
        return events

    def receive_data(self, data: bytes, now: float) -> list[Event]:
        events: list[Event] = []
        for rec in self.assembler.feed(data):
            if self._sent_at is None and self._next is not None:
                continue  # a late duplicate: the next request is already decided
            self._sent_at = None
            self._silent = 0
            events += self._on_record(rec, now)
        return events

    @property
    def _end(self) -> int:
        return self.header.count - 1 if self.header else 0

    def _request(self, byte: int, now: float, delay: float = 0.0) -> None:
        self._next = bytes((byte,))
        self._not_before = now + delay
        self._naks = self._naks + 1 if byte == NAK else 0

    def _on_record(self, rec: Record, now: float) -> list[Event]:
        """Page 0 (re)starts the sweep in any state; other pages go by state."""
        if rec.page == 0:
            return self._on_header(rec, now)
        return self._ON_PAGE[self.state](self, rec, now)

    # What a page other than 0 does, state by state (the table is _ON_PAGE):
    #   IDLE, CONNECTING  cached if a header is known; NAK until page 0 comes
    #   SETUP             cached; FE for the next page, or the sweep is finished
    #   AUTHENTICATING    cached; the master password's page is the echo awaited
    #   MONITOR           cached, once sent twice alike if it changes a flag (FD asks
    #                     again); a data page echoes a write, the last one ends a
    #                     round; a descriptor page means the UPS is sweeping: SETUP

    def _page_unasked(self, rec: Record, now: float) -> list[Event]:
        if self.header is not None:
            self._store(rec)
        self._request(NAK, now)
        return []

    def _page_in_sweep(self, rec: Record, now: float) -> list[Event]:
        self._keep(rec)
        return self._sweep_on(rec, now)

    def _page_authenticating(self, rec: Record, now: float) -> list[Event]:
        self._keep(rec)
        return self._on_auth_echo(rec, now)

    def _page_monitoring(self, rec: Record, now: float) -> list[Event]:
        assert self.header is not None
        self._cursor = rec.page
        if rec.page < self.header.data_page:
            self._store(rec)
            self.state = State.SETUP
            self._master_stale = True
            return [SessionLost("the UPS is sending descriptor pages"), *self._sweep_on(rec, now)]
        events: list[Event] = []
        if self._in_flight is not None and rec.page == self._in_flight[0]:
            events.append(WriteDone(self._in_flight))
            self._in_flight = None
        held, self._held = self._held, None
        if self._changes_flags(rec) and rec != held:
            if self._naks < _CONFIRM_NAKS:
                self._held = rec
                self._request(NAK, now)  # the UPS repeats it: kept if alike
                return events
            # Not repeated alike in time: the page keeps what it had until next round.
        else:
            self._store(rec)
        if rec.page == self._end:
            events.append(Updated())
        self._request(ACK, now, self.poll_interval)
        return events

    def _changes_flags(self, rec: Record) -> bool:
        if self.layout is None or self._pages.get(rec.page) == rec.data:
            return False
        blob = self.blob()
        width = len(rec.data)
        changed = blob[:rec.page * width] + rec.data + blob[(rec.page + 1) * width:]
        return status_flags(self.layout, changed) != status_flags(self.layout, blob)

    _ON_PAGE: ClassVar[dict[State, Callable[[Session, Record, float], list[Event]]]] = {
        State.IDLE: _page_unasked,
        State.CONNECTING: _page_unasked,
        State.SETUP: _page_in_sweep,
        State.AUTHENTICATING: _page_authenticating,
        State.MONITOR: _page_monitoring,
    }

    def _keep(self, rec: Record) -> None:
        self._store(rec)
        self._cursor = rec.page

    def _sweep_on(self, rec: Record, now: float) -> list[Event]:
        """In set-up: FE for the next page, or, at the last one, finish the sweep."""
        if rec.page == self._end:
            return self._finish_sweep(now)
        self._request(ACK, now)
        return []

    def _store(self, rec: Record) -> None:
        self._pages[rec.page] = rec.data
        if self.layout is not None:
            master = self.layout.field(MASTER_PASSWORD)
            if master is not None and self.layout.locate(master)[0] == rec.page:
                self._master_stale = False

    def _on_header(self, rec: Record, now: float) -> list[Event]:
        events: list[Event] = []
        header = Header.parse(rec.data)
        if self.header is None or header.raw[:12] != self.header.raw[:12]:
            if header.width != len(rec.data) or header.count == 0:
                # Noise that passed the checksum: start over from page 0.
                self._request(NAK, now)
                return events
            self.header, self.layout, self._key = header, None, None
            self._pages.clear()  # another UPS, or it changed: forget everything
            self.assembler.width, self.assembler.count = header.width, header.count
        if self.state in (State.MONITOR, State.AUTHENTICATING):
            self._master_stale = True
        if self.state is State.MONITOR:
            events.append(SessionLost("the UPS restarted the session"))
        if self._in_flight is not None:
            events.append(WriteFailed(self._in_flight))
            self._in_flight = None
        self._pages[0] = rec.data
        self._cursor = 0
        self.state = State.SETUP
        self._request(ACK, now)
        return events

    def _finish_sweep(self, now: float) -> list[Event]:
        """Page count-1 in set-up: authenticate if everything is cached, else sweep again."""
        assert self.header is not None
        if not self._complete():
            self._request(NAK, now)
            return []
        if self.layout is None:
            self.layout = Layout.from_blob(self.header, self.blob())
        if not self.header.auth_required:
            self.state = State.MONITOR
            self._request(ACK, now)
            return [Authenticated()]
        auth = self._auth_frame()
        if auth is None:
            self._request(NAK, now)  # the master password must be from this sweep
            return []
        self.state = State.AUTHENTICATING
        self._next, self._not_before = auth, now
        return []

    def _auth_frame(self) -> bytes | None:
        layout = self.layout
        assert layout is not None and self.header is not None
        master, slave, serial = (layout.field(p) for p in (MASTER_PASSWORD, SLAVE_PASSWORD,
                                                           SERIAL))
        if master is None or slave is None or serial is None:
            raise MicrolinkError("the descriptor lacks the password or serial usages")
        if self._master_stale:
            return None
        blob = self.blob()
        self._key = auth_key(self.header.raw, blob[serial.offset:serial.offset + serial.size])
        password = slave_password(self._key, blob[master.offset:master.offset + 2],
                                  self.auth_bytes)
        return layout.write(slave, password.ljust(slave.size, b"\0"))

    def _on_auth_echo(self, rec: Record, now: float) -> list[Event]:
        layout, key = self.layout, self._key
        assert layout is not None and key is not None
        master = layout.field(MASTER_PASSWORD)
        assert master is not None
        page, offset = layout.locate(master)
        if rec.page != page:
            self._request(NAK, now)  # not the echo: ask again (page 0 if it failed)
            return []
        if rec.data[offset + 2:offset + 4] != master_tail(key, self.auth_bytes):
            self.state = State.SETUP
            self._master_stale = True
            self._request(NAK, now)
            return [AuthFailed()]
        self.state = State.MONITOR
        self._request(ACK, now, self.poll_interval)
        return [Authenticated()]
