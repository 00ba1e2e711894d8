"""apcupsd's Network Information Server protocol (NIS, TCP port 3551): framing and text.

The facts come from apcupsd 3.14.14 (``src/lib/apclibnis.c``, ``src/apcnis.c``,
``src/lib/apcstatus.c``, ``src/lib/apclog.c``) and are checked byte for byte
against the real daemon by ``tests/system/test_nis_apcupsd.py``:

* Both ways, every message is a *record*: a 2-byte big-endian length, then
  that many bytes.  A record of length 0 ends a reply.
* The server reads a record of at most 256 bytes (MAXSTRING).  A longer one,
  or a 0 record, ends the connection without a reply.
* A request is exactly ``status`` or ``events``: apcupsd 3.14.14 checks the
  length too, so ``statusX`` or ``STATUS`` is not one.  Anything else is
  answered with the record ``Invalid command\\n`` *with its trailing NUL*
  (apcupsd sends ``sizeof`` of the C string), then the 0 record; the
  connection stays open for the next request.
* ``status``: the record ``APC      : 001,NNN,LLLL\\n`` (revision 1, the number
  of records that follow, the bytes they hold), then one record per line,
  the last ``END APC  : <date>\\n``, then the 0 record.
* ``events``: one record per line of the event log, oldest first, then the 0
  record; ``Not available\\n`` plus NUL when there is no log.

Clients depend on each record being shorter than 256 bytes and free of NUL:
``aioapcaccess`` (Home Assistant) reads up to the first ``00 00`` and splits
on NUL, taking one byte of length per line.  :func:`line` and
:func:`event_line` guarantee both whatever a value holds.
"""

from __future__ import annotations

import enum
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["END", "INVALID_COMMAND", "MAX_LINE", "MAX_REQUEST", "NOT_AVAILABLE", "Command",
           "Hangup", "Request", "RequestReader", "event_line", "events_reply", "format_date",
           "line", "record", "status_reply"]

MAX_REQUEST = 256  # MAXSTRING: the longest record apcupsd reads
MAX_LINE = 255  # the longest line sent: one length byte, for aioapcaccess
STATUS_REVISION = 1
END = b"\x00\x00"  # the 0 record that ends every reply


def record(body: bytes) -> bytes:
    """One record: the length, then ``body``."""
    if len(body) > 0xFFFF:
        raise ValueError(f"a record holds at most 65535 bytes, not {len(body)}")
    return len(body).to_bytes(2, "big") + body


INVALID_COMMAND = record(b"Invalid command\n\x00") + END
NOT_AVAILABLE = record(b"Not available\n\x00") + END

# ---- requests -------------------------------------------------------------------


class Command(enum.Enum):
    STATUS = "status"
    EVENTS = "events"
    INVALID = "invalid"


@dataclass(frozen=True, slots=True)
class Request:
    command: Command


@dataclass(frozen=True, slots=True)
class Hangup:
    """The client ended the conversation (a 0 record) or broke the framing."""

    why: str


_COMMANDS = {b"status": Command.STATUS, b"events": Command.EVENTS}


class RequestReader:
    """Bytes from a client in, requests out; it never holds more than one record.

    After a :class:`Hangup` it ignores everything: the server closes.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._done = False

    @property
    def partial(self) -> bool:
        """True when part of a record has arrived and the rest has not."""
        return bool(self._buffer)

    def feed(self, data: bytes) -> list[Request | Hangup]:
        if self._done:
            return []
        self._buffer += data
        events: list[Request | Hangup] = []
        while len(self._buffer) >= 2:
            length = int.from_bytes(self._buffer[:2], "big")
            if length == 0 or length > MAX_REQUEST:
                self._done = True
                self._buffer.clear()
                events.append(Hangup("a 0 record: no more requests" if length == 0
                                     else f"a record of {length} bytes (at most "
                                          f"{MAX_REQUEST})"))
                break
            if len(self._buffer) < 2 + length:
                break
            body = bytes(self._buffer[2:2 + length])
            del self._buffer[:2 + length]
            events.append(Request(_COMMANDS.get(body, Command.INVALID)))
        return events


# ---- what the server says --------------------------------------------------------

_UNSAFE = re.compile(r"[^\x20-\x7e]")


def _clean(text: str) -> str:
    """Printable ASCII only: NUL, line ends and the rest would break a client."""
    return _UNSAFE.sub("?", text)


def line(key: str, value: str) -> bytes:
    """``KEY      : value\\n``: the key padded to 9 columns, at most MAX_LINE bytes."""
    text = f"{key:<9}: {_clean(value)}"[:MAX_LINE - 1]
    return text.encode("ascii") + b"\n"


def status_reply(lines: Sequence[bytes]) -> bytes:
    """The whole ``status`` answer: the APC header, ``lines`` (the last one
    ``END APC``), the 0 record."""
    body = sum(len(item) for item in lines)
    header = line("APC", f"{STATUS_REVISION:03d},{len(lines):03d},{body:04d}")
    return b"".join([record(header), *(record(item) for item in lines), END])


def event_line(date: str, message: str) -> bytes:
    """One line of the event log as apcupsd writes it: the date, the message."""
    return (date + _clean(message))[:MAX_LINE - 1].encode("ascii") + b"\n"


def events_reply(lines: Sequence[bytes] | None) -> bytes:
    """The ``events`` answer; None when there is no event log at all."""
    if lines is None:
        return NOT_AVAILABLE
    return b"".join([*(record(item) for item in lines), END])


def format_date(when: float) -> str:
    """apcupsd's date: local time, ``%Y-%m-%d %H:%M:%S %z`` and two spaces."""
    return time.strftime("%Y-%m-%d %H:%M:%S %z  ", time.localtime(when))
