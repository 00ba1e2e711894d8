"""What the Smart session tells its caller: the events, and a request's verdict.

The session and its shell speak only in these (as h11's events): values to
publish or delete, what discovery learned, how the link is doing, and the
end of each request and of the session.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from nutpy.protocols.apcsmart.status import Alert

__all__ = ["AlertSeen", "Answering", "Closed", "CommandsFound", "Deleted", "Discovered",
           "Doubtful", "Event", "Finished", "Garbled", "NoAnswerYet", "Polled", "Settable",
           "Silent", "Unconfirmed", "UnusableCaps", "Values", "Verdict"]


class Verdict(enum.Enum):
    """A request's outcome (the store's ``Result``, by name)."""

    SUCCESS = "success"
    UNKNOWN = "unknown"  # no such variable or command here
    INVALID = "invalid"  # a command this unit lacks, or a bad value or parameter
    FAILED = "failed"  # refused, unanswered, or not sent


@dataclass(frozen=True, slots=True)
class Values:
    """NUT variables read from the UPS (republished every poll, changed or not)."""

    values: dict[str, str]


@dataclass(frozen=True, slots=True)
class Deleted:
    """The UPS answered NA for these: NUT drops them for good."""

    names: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Settable:
    """A variable became writable: a string of ``length`` bytes, or one of ``enums``."""

    name: str
    value: str
    length: int | None = None
    enums: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CommandsFound:
    names: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class UnusableCaps:
    """The ``^Z`` reply was not a capability string: no enums learned."""

    reply: bytes | None


@dataclass(frozen=True, slots=True)
class Discovered:
    """Discovery is over; polling starts."""

    firmware: str
    variables: int
    commands: int


@dataclass(frozen=True, slots=True)
class AlertSeen:
    """An alert byte came: the session asks ``Q`` whether it is so."""

    alert: Alert


@dataclass(frozen=True, slots=True)
class Unconfirmed:
    """A status change heard once and not borne out, so not published: an alert
    the ``Q`` after it did not bear out, or (``alert`` None) a ``Q`` reading the
    next one did not repeat.  Many of these mean noise on the line."""

    alert: Alert | None
    register: int  # the Q reading that did not bear it out, or was not repeated


@dataclass(frozen=True, slots=True)
class NoAnswerYet:
    """A handshake try went unanswered: no data yet, but no outage to report either."""


@dataclass(frozen=True, slots=True)
class Answering:
    """A poll came back clean: the data is fresh."""


@dataclass(frozen=True, slots=True)
class Silent:
    """Nothing usable comes back (no reply, or garbled polls in a row): the data is stale."""

    reason: str


@dataclass(frozen=True, slots=True)
class Garbled:
    """One reply did not have its query's format; nothing of it was published."""

    query: bytes
    reply: bytes


@dataclass(frozen=True, slots=True)
class Doubtful:
    """A reply an alert byte came into: the byte may be noise that took the place of
    one of the reply's own, so nothing of it was published."""

    query: bytes
    reply: bytes


@dataclass(frozen=True, slots=True)
class Polled:
    """One poll cycle, for the statistics: how long, how many bytes each way."""

    seconds: float
    sent: int
    received: int


@dataclass(frozen=True, slots=True)
class Finished:
    """A request is done; ``notes`` say what the UPS was told, for people."""

    ticket: int
    verdict: Verdict
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Closed:
    """The session is over; the caller closes the port (after :meth:`Session.goodbye`)."""

    reason: str


Event = (Values | Deleted | Settable | CommandsFound | UnusableCaps | Discovered | AlertSeen
         | Unconfirmed | NoAnswerYet | Answering | Silent | Garbled | Doubtful | Polled
         | Finished | Closed)
