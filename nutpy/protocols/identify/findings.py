"""What a probe concludes, and the bookkeeping every probe shares."""

from __future__ import annotations

from dataclasses import dataclass

HEARD_MAX = 256  # bytes of an unknown device's talk kept for the report


@dataclass(frozen=True, slots=True)
class Identity:
    """A UPS answered in its protocol and said what it is."""

    driver: str  # NUT's driver name for it
    protocol: str
    baudrate: int
    model: str | None = None
    serial: str | None = None
    firmware: str | None = None
    sku: str | None = None  # the part number, when the UPS gives one (SMT1500I)
    unanswered: tuple[str, ...] = ()  # identification queries it did not answer


@dataclass(frozen=True, slots=True)
class Unreadable:
    """Something speaks the protocol, but who it is could not be read."""

    protocol: str
    baudrate: int
    reason: str


@dataclass(frozen=True, slots=True)
class NoUps:
    """Nothing answered in this protocol; ``heard`` is whatever came instead."""

    protocol: str
    baudrate: int
    sent: bytes
    heard: bytes

    @property
    def echoed(self) -> bool:
        """What came back is what was sent, in order, and nothing else: a loopback."""
        if not self.heard or not self.sent or not set(self.heard) <= set(self.sent):
            return False
        rest = iter(self.heard)
        return all(byte in rest for byte in self.sent)


Finding = Identity | Unreadable | NoUps


class Probe:
    """One protocol's identification conversation, as a state machine.

    The caller sets the port to :attr:`baudrate`, sends what :meth:`start`
    returns, then loops: wait for input until :meth:`next_deadline`, hand it
    to :meth:`receive_data` (or call :meth:`handle_timeout` when the deadline
    passes) and send what that returns.  When :attr:`finding` is set the
    conversation is over and :meth:`next_deadline` returns None.  Subclasses
    send only queries that identify the UPS, never one that changes it.
    """

    protocol = ""
    baudrate = 0

    def __init__(self) -> None:
        self.finding: Finding | None = None
        self._sent = bytearray()
        self._heard = bytearray()

    def start(self, now: float) -> bytes:
        raise NotImplementedError

    def receive_data(self, data: bytes, now: float) -> bytes:
        raise NotImplementedError

    def handle_timeout(self, now: float) -> bytes:
        raise NotImplementedError

    def next_deadline(self) -> float | None:
        raise NotImplementedError

    def _send(self, data: bytes) -> bytes:
        if len(self._sent) < HEARD_MAX:
            self._sent += data[:HEARD_MAX - len(self._sent)]
        return data

    def _hear(self, data: bytes) -> None:
        if len(self._heard) < HEARD_MAX:
            self._heard += data[:HEARD_MAX - len(self._heard)]

    def _no_ups(self) -> NoUps:
        return NoUps(self.protocol, self.baudrate, bytes(self._sent), bytes(self._heard))
