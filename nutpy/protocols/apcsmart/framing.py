"""The Smart wire: command bytes, reply lines, and the alert bytes among them.

A host sends one byte (or a short timed sequence) and the UPS answers one
line ending in CR LF.  Alert bytes may come at any time, even inside a
reply; :class:`Splitter` tells them from reply bytes as they arrive, so an
alert can be acted on at once instead of when the line it interrupted ends.
A line an alert came into is marked: the alert may be noise that took the
place of one of the line's own bytes.  Nothing here knows what a reply means.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from nutpy.protocols.apcsmart.status import Alert

__all__ = ["CAPS", "CMDSET", "DUMB_MODE", "ESCAPE", "FIRMWARE_NEW", "FIRMWARE_OLD",
           "LONG_TIMEOUT", "MAX_LINE", "NEXT_VALUE", "REPLY_TIMEOUT", "SMART_MODE",
           "SMART_MODE_TIMEOUT", "SMART_MODE_TRIES", "STATUS", "AlertEvent", "Overflow",
           "ReadMode", "ReplyLine", "Splitter", "StreamEvent"]

SMART_MODE = b"Y"  # -> "SM"
DUMB_MODE = b"R"  # -> "BYE"
STATUS = b"Q"
CMDSET = b"a"
CAPS = b"\x1a"  # ^Z
FIRMWARE_OLD = b"V"
FIRMWARE_NEW = b"b"
NEXT_VALUE = b"-"
ESCAPE = b"\x1b"  # NUT sends it between failed Y tries; its answer is discarded

REPLY_TIMEOUT = 3.0
SMART_MODE_TIMEOUT = 1.5  # also the confirmation read after S, K, @
LONG_TIMEOUT = 6.0  # a and ^Z
SMART_MODE_TRIES = 5

MAX_LINE = 511  # NUT's 512-byte buffer, less the terminator
_CR = 0x0D
_LF = 0x0A
_ALERT_BYTES = frozenset(a.value for a in Alert)


class ReadMode(enum.Enum):
    """How the bytes of the next reply line are told apart from alerts."""

    ALERTS = "alerts"  # every alert byte is an alert (all ordinary replies)
    CAPS = "caps"  # ^Z reply: '#' is data (it starts the string)
    RAW = "raw"  # a reply: nothing is an alert (it lists the alert characters)


@dataclass(frozen=True, slots=True)
class AlertEvent:
    alert: Alert


@dataclass(frozen=True, slots=True)
class ReplyLine:
    """One reply, CR removed, LF not included.

    ``interrupted``: an alert came after the line began (after the command,
    or the line before it) and before its LF.
    """

    data: bytes
    interrupted: bool = False


@dataclass(frozen=True, slots=True)
class Overflow:
    """A line longer than NUT's buffer: its bytes are dropped up to the LF."""


StreamEvent = AlertEvent | ReplyLine | Overflow


class Splitter:
    """Separates alert bytes from LF-terminated reply lines.

    Alerts may arrive before a reply or in the middle of one; they come out
    in the order they arrived, each before the line they interrupted.  The
    mode set with :meth:`expect` applies to the next line only.
    """

    def __init__(self) -> None:
        self._line = bytearray()
        self._mode = ReadMode.ALERTS
        self._overflowed = False
        self._interrupted = False

    @property
    def pending(self) -> bytes:
        """The bytes of the reply line read so far."""
        return bytes(self._line)

    def expect(self, mode: ReadMode) -> None:
        self._mode = mode

    def clear(self) -> None:
        """Forget a partial line (a flush before a new command)."""
        self._line.clear()
        self._overflowed = False
        self._interrupted = False
        self._mode = ReadMode.ALERTS

    def feed(self, data: bytes) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        for byte in data:
            if byte == _CR:
                continue
            if byte == _LF:
                events.append(Overflow() if self._overflowed
                              else ReplyLine(bytes(self._line), self._interrupted))
                self.clear()
                continue
            if byte in _ALERT_BYTES and self._is_alert(byte):
                events.append(AlertEvent(Alert(byte)))
                self._interrupted = True
                continue
            if len(self._line) >= MAX_LINE:
                self._overflowed = True
            else:
                self._line.append(byte)
        return events

    def _is_alert(self, byte: int) -> bool:
        if self._mode is ReadMode.RAW:
            return False
        return not (self._mode is ReadMode.CAPS and byte == Alert.REPLACE_BATTERY.value)
