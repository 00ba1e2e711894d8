"""The state shared between drivers and front ends, and the rules that keep it honest.

Drivers write into a :class:`UpsState`; front ends read it and subscribe to
its changes through :attr:`Store.feed`.  A write that changes nothing
publishes nothing (so a driver may republish every poll for free), and a
real change is published once, as a typed event.

Whether a UPS may be served is decided here, once, for every front end:
:meth:`UpsState.availability` combines the driver's link (down, stale,
fresh) with the age of the data against ``MAXAGE``.  Because age moves
with time alone, :meth:`Store.watch_ages` wakes when the freshest data of a
UPS reaches ``MAXAGE`` and publishes the change; it sleeps otherwise.

Time comes from the store's ``clock`` (monotonic, for ages) and ``wall``
(``time.time``, for the events' timestamps), both injectable for tests.
"""

from __future__ import annotations

import dataclasses
import enum
import math
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import trio

from nutpy.store.events import (
    Availability,
    AvailabilityChanged,
    CapabilitiesChanged,
    ClientsChanged,
    CommandFinished,
    Event,
    FsdSet,
    StatusChanged,
    UpsAdded,
    UpsRemoved,
    VariableChanged,
)
from nutpy.store.feed import Feed
from nutpy.store.requests import Request, Result

__all__ = ["DEFAULT_MAXAGE", "DriverStats", "Link", "Refusal", "RequestRefused", "Store",
           "UpsState", "Variable", "atoi"]

DEFAULT_MAXAGE = 15.0  # upsd's MAXAGE default
# What a driver says about itself rather than about the UPS: a discovery
# does not put it in question.
_DRIVER_CORE = ("driver.", "device.type")
_LATE = 0.001  # seconds watch_ages wakes after an expiry


@dataclass
class Variable:
    """One NUT variable with the flags upsd reports in ``GET TYPE``."""

    name: str  # canonical spelling, as the driver published it
    value: str
    writable: bool = False
    string: bool = False
    aux: int = 0  # maximum length when ``string``
    enums: list[str] = field(default_factory=list)
    ranges: list[tuple[int, int]] = field(default_factory=list)

    def refusal(self, value: str) -> Refusal | None:
        """Why ``value`` may not be written, in upsd's order of checks; None if it may.

        A range is checked on the value as C's atoi reads it, as upsd does.
        """
        if not self.writable:
            return Refusal.READONLY
        if self.string:
            if self.aux < 1:
                return Refusal.SET_FAILED
            if len(value) > self.aux:
                return Refusal.TOO_LONG
        if self.enums and value not in self.enums:
            return Refusal.INVALID_VALUE
        if self.ranges and not any(lo <= atoi(value) <= hi for lo, hi in self.ranges):
            return Refusal.INVALID_VALUE
        return None


class Refusal(enum.Enum):
    """Why a value cannot be written to a variable, named as NUT names it."""

    READONLY = "READONLY"
    SET_FAILED = "SET-FAILED"  # a string variable without a length: nothing fits
    TOO_LONG = "TOO-LONG"
    INVALID_VALUE = "INVALID-VALUE"


def atoi(text: str) -> int:
    """C's ``atoi``: leading blanks, an optional sign, then ASCII digits; else 0."""
    text = text.lstrip(" \t\n\r\v\f")
    sign = -1 if text[:1] == "-" else 1
    if text[:1] in ("+", "-"):
        text = text[1:]
    end = len(text) - len(text.lstrip("0123456789"))
    return sign * int(text[:end]) if end else 0


class RequestRefused(Exception):
    """The driver cannot take a request now."""


@dataclass
class _Discovery:
    """What a driver published since :meth:`UpsState.begin_discovery` (lower-case)."""

    variables: set[str] = field(default_factory=set)
    described: set[str] = field(default_factory=set)  # given flags, enums or ranges
    commands: set[str] = field(default_factory=set)

    def published(self, key: str, described: bool) -> None:
        self.variables.add(key)
        if described:
            self.described.add(key)


class Link(enum.Enum):
    """The driver's hold on its UPS."""

    DOWN = "down"  # no driver running (or it failed): DRIVER-NOT-CONNECTED
    STALE = "stale"  # the driver runs but cannot read the UPS: DATA-STALE
    FRESH = "fresh"  # the driver reads the UPS; the data ages from last_update


@dataclass
class DriverStats:
    """What a driver counts about its line, for metrics (no event is published)."""

    errors: int = 0  # failed attempts to read the UPS
    recoveries: int = 0  # times the UPS answered again after an outage
    poll_seconds: float | None = None  # how long the last full poll took


def _flags(status: str | None, fsd: bool) -> tuple[str, ...]:
    words = tuple(status.split()) if status else ()
    return ("FSD", *words) if fsd else words


@dataclass(eq=False)
class UpsState:
    """Everything known about one UPS.  Read its fields; write through its methods."""

    name: str
    desc: str | None
    _store: Store
    variables: dict[str, Variable] = field(default_factory=dict)  # key: lower-case
    commands: dict[str, str] = field(default_factory=dict)  # lower-case -> canonical
    link: Link = Link.DOWN
    last_update: float | None = None  # clock time of the last good read
    status_changed: float | None = None  # wall time of the last change of the flags
    fsd: bool = False
    logins: dict[int, str] = field(default_factory=dict)  # client id -> address
    stats: DriverStats = field(default_factory=DriverStats)
    _requests: trio.MemorySendChannel[Request] | None = None
    _availability: Availability = Availability.DRIVER_NOT_CONNECTED  # as last published
    _discovery: _Discovery | None = None

    # ---- driver side -------------------------------------------------

    def attach(self, requests: trio.MemorySendChannel[Request] | None) -> None:
        """A driver started: from now on it receives this UPS's requests."""
        self._requests = requests

    def set(self, name: str, value: str, *, writable: bool | None = None,
            string: bool | None = None, aux: int | None = None) -> None:
        """Create or update a variable.  Case-only changes of value are ignored."""
        key = name.lower()
        var = self.variables.get(key)
        old: str | None = None
        if var is None:
            var = self.variables[key] = Variable(name, value)
        elif var.value.lower() != value.lower():
            old, var.value = var.value, value
        else:
            old = value  # unchanged
        described = ((writable is not None and var.writable != writable)
                     or (string is not None and var.string != string)
                     or (aux is not None and var.aux != aux))
        if described:
            var.writable = var.writable if writable is None else writable
            var.string = var.string if string is None else string
            var.aux = var.aux if aux is None else aux
        if self._discovery is not None:
            self._discovery.published(key, writable is not None)
        if old != value:
            self._value_changed(var.name, old, value)
        if described:
            self._publish(CapabilitiesChanged(self.name, self._store.wall()))

    def delete(self, name: str) -> None:
        var = self.variables.pop(name.lower(), None)
        if var is not None:
            self._value_changed(var.name, var.value, None)

    def set_enums(self, name: str, values: Iterable[str]) -> None:
        var = self.variables[name.lower()]
        if self._discovery is not None:
            self._discovery.published(var.name.lower(), True)
        values = list(values)
        if var.enums != values:
            var.enums = values
            self._publish(CapabilitiesChanged(self.name, self._store.wall()))

    def set_ranges(self, name: str, ranges: Iterable[tuple[int, int]]) -> None:
        var = self.variables[name.lower()]
        if self._discovery is not None:
            self._discovery.published(var.name.lower(), True)
        ranges = list(ranges)
        if var.ranges != ranges:
            var.ranges = ranges
            self._publish(CapabilitiesChanged(self.name, self._store.wall()))

    def add_command(self, command: str) -> None:
        if self._discovery is not None:
            self._discovery.commands.add(command.lower())
        if self.commands.get(command.lower()) != command:
            self.commands[command.lower()] = command
            self._publish(CapabilitiesChanged(self.name, self._store.wall()))

    def remove_command(self, command: str) -> None:
        if self.commands.pop(command.lower(), None) is not None:
            self._publish(CapabilitiesChanged(self.name, self._store.wall()))

    def begin_discovery(self) -> None:
        """The driver starts learning what the UPS has (a new unit may answer now).

        Until the driver next calls :meth:`mark_fresh` (its first complete
        read), what it publishes is the new set: the variables and commands
        it does not publish meanwhile go then, and so do the flags (writable,
        enums, ranges) of variables it publishes without describing them.
        A unit swapped on the same port leaves nothing of the old one behind.
        """
        self._discovery = _Discovery()

    def _end_discovery(self, discovery: _Discovery) -> None:
        self._discovery = None
        for key, var in list(self.variables.items()):
            if key.startswith(_DRIVER_CORE):
                continue
            if key not in discovery.variables:
                self.delete(var.name)
            elif key not in discovery.described and (var.writable or var.enums
                                                     or var.ranges):
                var.writable, var.string, var.aux = False, False, 0
                var.enums, var.ranges = [], []
                self._publish(CapabilitiesChanged(self.name, self._store.wall()))
        for key in set(self.commands) - discovery.commands:
            self.remove_command(self.commands[key])

    def mark_fresh(self, now: float) -> None:
        """The driver just read the UPS successfully (ending a discovery)."""
        if self._discovery is not None:
            self._end_discovery(self._discovery)
        self.last_update = now
        if self.link is not Link.FRESH or self._availability is not Availability.OK:
            self.link = Link.FRESH
            self._reassess(now)

    def mark_stale(self) -> None:
        """The driver runs but cannot read the UPS (lost it, or never reached
        it): clients get DATA-STALE until it is back, as from upsd when a
        driver is up without data."""
        if self.link is not Link.STALE:
            self.link = Link.STALE
            self._reassess()

    def disconnect(self) -> None:
        """The driver is gone: variables and commands go with it (as in upsd)."""
        self._requests = None
        self._discovery = None
        self.link = Link.DOWN
        self.last_update = None
        for var in list(self.variables.values()):
            self.delete(var.name)
        if self.commands:
            self.commands.clear()
            self._publish(CapabilitiesChanged(self.name, self._store.wall()))
        self._reassess()

    # ---- front-end side ----------------------------------------------

    def availability(self, now: float | None = None) -> Availability:
        """Whether the data may be served at ``now`` (default: the store's clock)."""
        if self.link is Link.DOWN:
            return Availability.DRIVER_NOT_CONNECTED
        if self.link is Link.STALE or self.last_update is None:
            return Availability.DATA_STALE
        age = (self._store.clock() if now is None else now) - self.last_update
        return Availability.DATA_STALE if age > self._store.maxage else Availability.OK

    def age(self, now: float | None = None) -> float | None:
        """Seconds since the driver last read the UPS; None if it never did."""
        if self.last_update is None:
            return None
        return (self._store.clock() if now is None else now) - self.last_update

    def get(self, name: str) -> Variable | None:
        return self.variables.get(name.lower())

    def shown(self, var: Variable) -> str:
        """A variable's value as clients see it: ``ups.status`` carries the FSD latch."""
        if self.fsd and var.name.lower() == "ups.status":
            return "FSD " + var.value
        return var.value

    def flags(self) -> tuple[str, ...]:
        """The words of ``ups.status`` as clients see it (``FSD`` first when latched)."""
        var = self.get("ups.status")
        return _flags(var.value if var else None, self.fsd)

    def submit(self, request: Request) -> bool:
        """Hand a request to the driver; False if it cannot take it now.

        Its result is published on the feed as :class:`CommandFinished`
        before ``on_result`` hears of it.
        """
        if self._requests is None:
            return False
        try:
            self._requests.send_nowait(self._announcing(request))
        except (trio.WouldBlock, trio.BrokenResourceError, trio.ClosedResourceError):
            return False
        return True

    async def execute(self, request: Request, timeout: float) -> Result | None:
        """Submit ``request`` and wait for its result: None when the driver does
        not answer within ``timeout`` seconds, RequestRefused when it cannot take
        the request at all (no driver, or its queue is full)."""
        done = trio.Event()
        results: list[Result] = []
        callback = request.on_result

        def on_result(result: Result) -> None:
            results.append(result)
            done.set()
            if callback is not None:
                callback(result)

        if not self.submit(dataclasses.replace(request, on_result=on_result)):
            raise RequestRefused("the driver is not running" if self._requests is None
                                 else "the driver is busy")
        with trio.move_on_after(timeout):
            await done.wait()
        return results[0] if results else None

    async def wait_available(self, timeout: float) -> bool:
        """Wait until the data may be served (the driver has read the UPS);
        False if that does not happen within ``timeout`` seconds."""
        with self._store.feed.subscribe(
                want=lambda e: isinstance(e, AvailabilityChanged) and e.ups == self.name
                ) as changes, trio.move_on_after(timeout):
            while self.availability() is not Availability.OK:
                await changes.receive()
            return True
        return False

    def set_fsd(self) -> None:
        if not self.fsd:
            old = self.flags()
            self.fsd = True
            self._publish(FsdSet(self.name, self._store.wall()))
            self._status_changed(old)

    def login(self, client: int, address: str) -> None:
        self.logins[client] = address
        self._publish(ClientsChanged(self.name, self._store.wall(), len(self.logins)))

    def logout(self, client: int) -> None:
        if self.logins.pop(client, None) is not None:
            self._publish(ClientsChanged(self.name, self._store.wall(), len(self.logins)))

    # ---- inside the store ----------------------------------------------

    def _publish(self, event: Event) -> None:
        self._store.feed.publish(event)

    def _value_changed(self, name: str, old: str | None, new: str | None) -> None:
        self._publish(VariableChanged(self.name, self._store.wall(), name, old, new))
        if name.lower() == "ups.status":
            self._status_changed(_flags(old, self.fsd))

    def _status_changed(self, old: tuple[str, ...]) -> None:
        new = self.flags()
        if new != old:
            at = self._store.wall()
            self.status_changed = at
            self._publish(StatusChanged(self.name, at, old, new))

    def _announcing(self, request: Request) -> Request:
        """``request`` whose result is published before its sender hears of it."""
        callback = request.on_result

        def on_result(result: Result) -> None:
            self._publish(CommandFinished(self.name, self._store.wall(), request, result))
            if callback is not None:
                callback(result)

        return dataclasses.replace(request, on_result=on_result)

    def _reassess(self, now: float | None = None) -> None:
        """Publish the availability if it is not what was last published."""
        new = self.availability(now)
        if new is not self._availability:
            old, self._availability = self._availability, new
            self._publish(AvailabilityChanged(self.name, self._store.wall(), old, new))
            if new is Availability.OK:
                self._store.ages_changed()

    def _expires(self) -> float:
        """When fresh data turns stale by age alone (inf if it is not fresh now)."""
        if self._availability is not Availability.OK or self.last_update is None:
            return math.inf
        return self.last_update + self._store.maxage


class Store:
    """All UPSes, in ups.conf order, and the feed of their changes."""

    def __init__(self, *, clock: Callable[[], float] = trio.current_time,
                 wall: Callable[[], float] = time.time,
                 maxage: float = DEFAULT_MAXAGE) -> None:
        self._ups: dict[str, UpsState] = {}
        self.clock = clock
        self.wall = wall
        self._maxage = maxage
        self.feed = Feed()
        self._ages = trio.lowlevel.ParkingLot()
        # Open client connections by front end ("nut", "http", ...), for metrics.
        self.connections: Counter[str] = Counter()

    @property
    def maxage(self) -> float:
        return self._maxage

    @maxage.setter
    def maxage(self, seconds: float) -> None:
        self._maxage = seconds
        self.ages_changed()

    def add(self, name: str, desc: str | None = None) -> UpsState:
        state = UpsState(name=name, desc=desc, _store=self)
        self._ups[name.lower()] = state
        self.feed.publish(UpsAdded(name, self.wall()))
        return state

    def remove(self, name: str) -> None:
        state = self._ups.pop(name.lower(), None)
        if state is not None:
            self.feed.publish(UpsRemoved(state.name, self.wall()))

    def get(self, name: str) -> UpsState | None:
        return self._ups.get(name.lower())

    def __iter__(self) -> Iterator[UpsState]:
        return iter(list(self._ups.values()))

    def ages_changed(self) -> None:
        """A deadline :meth:`watch_ages` sleeps towards may have moved earlier."""
        self._ages.unpark_all()

    async def watch_ages(self) -> None:
        """Publish each UPS's turn to DATA-STALE when its data outlives MAXAGE.

        Runs for the server's lifetime.  It wakes once per expiry (fresh data
        pushes the deadline back without waking it) and when a UPS turns OK
        or MAXAGE changes.
        """
        while True:
            now = self.clock()
            for ups in self:
                ups._reassess(now)
            # Just past the expiry: at it exactly the data is MAXAGE old, still fresh.
            deadline = min((ups._expires() for ups in self), default=math.inf) + _LATE
            with trio.move_on_at(deadline):
                await self._ages.park()
