"""What front ends ask of a driver, and what the driver answers.

A request travels from a front end through :meth:`UpsState.submit
<nutpy.store.state.UpsState.submit>` to the UPS's driver, which carries it
out between polls and calls ``on_result`` once with a :class:`Result`.
``origin`` says who asked, for the event log; drivers ignore it.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["InstCmd", "Killpower", "Origin", "Request", "Result", "ResultCallback", "SetVar"]


class Result(enum.IntEnum):
    """A request's outcome, numbered as NUT numbers them (``GET TRACKING``)."""

    SUCCESS = 0
    UNKNOWN = 1
    INVALID = 2
    FAILED = 3


ResultCallback = Callable[[Result], None]


@dataclass(frozen=True, slots=True)
class Origin:
    """Who sent a request: a user (None if anonymous), from where, through what."""

    user: str | None
    address: str
    via: str  # "nut", "http", "control"


@dataclass(frozen=True, slots=True)
class InstCmd:
    command: str
    param: str | None
    on_result: ResultCallback | None = None
    origin: Origin | None = None


@dataclass(frozen=True, slots=True)
class SetVar:
    variable: str
    value: str
    on_result: ResultCallback | None = None
    origin: Origin | None = None


@dataclass(slots=True)
class Killpower:
    """Turn the output off after the UPS's shutdown delay and back on when the mains return.

    nutpy's ``upsdrvctl shutdown``: only ``nutpy killpower`` asks for it, never a
    network client.  The driver appends what it told the UPS to ``notes``.
    """

    on_result: ResultCallback | None = None
    notes: list[str] = field(default_factory=list)
    origin: Origin | None = None


Request = InstCmd | SetVar | Killpower
