"""The change feed's vocabulary: one event type per kind of real change.

The store publishes an event only when something changed; a driver that
writes the value a variable already has publishes nothing.  Every event
names its UPS and carries ``at``, the wall-clock time (``time.time()``) of
the change, for logs and history.  :class:`Resync` is not a change: a
subscriber gets it after falling behind, in place of what it missed, and
should read the state afresh.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from nutpy.store.requests import Request, Result

__all__ = [
    "Availability", "AvailabilityChanged", "CapabilitiesChanged", "ClientsChanged",
    "CommandFinished", "Event", "FsdSet", "Resync", "StatusChanged", "UpsAdded",
    "UpsRemoved", "VariableChanged",
]


class Availability(enum.Enum):
    """Whether a UPS's data may be served, as upsd decides it."""

    OK = "OK"
    DRIVER_NOT_CONNECTED = "DRIVER-NOT-CONNECTED"
    DATA_STALE = "DATA-STALE"


@dataclass(frozen=True, slots=True)
class UpsAdded:
    ups: str
    at: float


@dataclass(frozen=True, slots=True)
class UpsRemoved:
    ups: str
    at: float


@dataclass(frozen=True, slots=True)
class VariableChanged:
    """A value changed; ``old`` is None for a new variable, ``new`` for one removed."""

    ups: str
    at: float
    name: str
    old: str | None
    new: str | None


@dataclass(frozen=True, slots=True)
class StatusChanged:
    """The flags of ``ups.status`` as clients see them (``FSD`` included) changed."""

    ups: str
    at: float
    old: tuple[str, ...]
    new: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AvailabilityChanged:
    ups: str
    at: float
    old: Availability
    new: Availability


@dataclass(frozen=True, slots=True)
class FsdSet:
    """A primary upsmon (or an admin) set the forced-shutdown latch."""

    ups: str
    at: float


@dataclass(frozen=True, slots=True)
class CapabilitiesChanged:
    """Commands, or a variable's writability, enums or ranges, changed."""

    ups: str
    at: float


@dataclass(frozen=True, slots=True)
class ClientsChanged:
    """The number of clients logged in to the UPS (NUMLOGINS) changed."""

    ups: str
    at: float
    count: int


@dataclass(frozen=True, slots=True)
class CommandFinished:
    """A driver reported the result of an instant command, a write or killpower."""

    ups: str
    at: float
    request: Request
    result: Result


@dataclass(frozen=True, slots=True)
class Resync:
    """Events were lost: the subscriber fell behind and must re-read the state."""

    lost: int  # how many events it missed


Event = (UpsAdded | UpsRemoved | VariableChanged | StatusChanged | AvailabilityChanged
         | FsdSet | CapabilitiesChanged | ClientsChanged | CommandFinished | Resync)
