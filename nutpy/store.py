"""The state shared between drivers and clients.

Drivers publish into a :class:`UpsState`; client sessions read from it.  Every
change bumps :attr:`Store.version` and wakes whoever waits in
:meth:`Store.wait_changed`, so nothing has to poll.  Commands from clients go
back to the owning driver through :meth:`UpsState.submit`.

Time is passed in (``now``) rather than read here, so freshness rules can be
tested without a clock.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import trio


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


class Availability(enum.Enum):
    OK = "OK"
    DRIVER_NOT_CONNECTED = "DRIVER-NOT-CONNECTED"
    DATA_STALE = "DATA-STALE"


ResultCallback = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class InstCmd:
    command: str
    param: str | None
    on_result: ResultCallback | None = None


@dataclass(frozen=True, slots=True)
class SetVar:
    variable: str
    value: str
    on_result: ResultCallback | None = None


@dataclass(slots=True)
class Killpower:
    """Turn the output off after the UPS's shutdown delay and back on when the mains return.

    nutpy's ``upsdrvctl shutdown``: only ``nutpy killpower`` asks for it, never a
    network client.  The driver appends what it told the UPS to ``notes``.
    """

    on_result: ResultCallback | None = None
    notes: list[str] = field(default_factory=list)


Request = InstCmd | SetVar | Killpower

# Results a driver reports for a request, with NUT's numbering (TRACKING id n).
RESULT_SUCCESS = 0
RESULT_UNKNOWN = 1
RESULT_INVALID = 2
RESULT_FAILED = 3


@dataclass(eq=False)
class UpsState:
    """Everything known about one UPS."""

    name: str
    desc: str | None
    _store: Store
    variables: dict[str, Variable] = field(default_factory=dict)  # key: lower-case
    commands: dict[str, str] = field(default_factory=dict)  # lower-case -> canonical
    connected: bool = False
    driver_stale: bool = False
    last_update: float | None = None
    fsd: bool = False
    logins: dict[int, str] = field(default_factory=dict)  # client id -> address
    _requests: trio.MemorySendChannel[Request] | None = None

    # ---- driver side -------------------------------------------------

    def attach(self, requests: trio.MemorySendChannel[Request] | None) -> None:
        """A driver connected: from now on it receives this UPS's commands."""
        self._requests = requests

    def set(self, name: str, value: str, *, writable: bool | None = None,
            string: bool | None = None, aux: int | None = None) -> None:
        """Create or update a variable.  Case-only changes of value are ignored."""
        key = name.lower()
        var = self.variables.get(key)
        if var is None:
            var = self.variables[key] = Variable(name, value)
        elif var.value.lower() != value.lower():
            var.value = value
        if writable is not None:
            var.writable = writable
        if string is not None:
            var.string = string
        if aux is not None:
            var.aux = aux
        self._store.changed()

    def delete(self, name: str) -> None:
        if self.variables.pop(name.lower(), None) is not None:
            self._store.changed()

    def set_enums(self, name: str, values: Iterable[str]) -> None:
        self.variables[name.lower()].enums = list(values)
        self._store.changed()

    def set_ranges(self, name: str, ranges: Iterable[tuple[int, int]]) -> None:
        self.variables[name.lower()].ranges = list(ranges)
        self._store.changed()

    def add_command(self, command: str) -> None:
        self.commands[command.lower()] = command
        self._store.changed()

    def remove_command(self, command: str) -> None:
        self.commands.pop(command.lower(), None)
        self._store.changed()

    def mark_fresh(self, now: float) -> None:
        """The driver just read the UPS successfully."""
        self.connected = True
        self.driver_stale = False
        self.last_update = now
        self._store.changed()

    def mark_stale(self) -> None:
        """The driver runs but cannot read the UPS (lost it, or never reached
        it): clients get DATA-STALE until it is back, as from upsd when a
        driver is up without data."""
        if not (self.driver_stale and self.connected):
            self.connected = self.driver_stale = True
            self._store.changed()

    def disconnect(self) -> None:
        """The driver is gone: variables and commands go with it (as in upsd)."""
        self.connected = False
        self.driver_stale = False
        self.last_update = None
        self.variables.clear()
        self.commands.clear()
        self._requests = None
        self._store.changed()

    # ---- client side -------------------------------------------------

    def availability(self, now: float, maxage: float) -> Availability:
        if not self.connected:
            return Availability.DRIVER_NOT_CONNECTED
        if self.driver_stale or self.last_update is None \
                or now - self.last_update > maxage:
            return Availability.DATA_STALE
        return Availability.OK

    def get(self, name: str) -> Variable | None:
        return self.variables.get(name.lower())

    def status(self) -> str | None:
        """``ups.status`` as clients see it, with the FSD latch prepended."""
        var = self.get("ups.status")
        if var is None:
            return None
        return f"FSD {var.value}" if self.fsd else var.value

    def submit(self, request: Request) -> bool:
        """Hand a command to the driver; False if it cannot take it now."""
        if self._requests is None:
            return False
        try:
            self._requests.send_nowait(request)
        except (trio.WouldBlock, trio.BrokenResourceError, trio.ClosedResourceError):
            return False
        return True

    def set_fsd(self) -> None:
        self.fsd = True
        self._store.changed()

    def login(self, client: int, address: str) -> None:
        self.logins[client] = address
        self._store.changed()

    def logout(self, client: int) -> None:
        if self.logins.pop(client, None) is not None:
            self._store.changed()


class Store:
    """All UPSes, in ups.conf order, plus change notification."""

    def __init__(self) -> None:
        self._ups: dict[str, UpsState] = {}
        self.version = 0
        self._event = trio.Event()

    def add(self, name: str, desc: str | None = None) -> UpsState:
        state = UpsState(name=name, desc=desc, _store=self)
        self._ups[name.lower()] = state
        self.changed()
        return state

    def remove(self, name: str) -> None:
        self._ups.pop(name.lower(), None)
        self.changed()

    def get(self, name: str) -> UpsState | None:
        return self._ups.get(name.lower())

    def __iter__(self) -> Iterator[UpsState]:
        return iter(list(self._ups.values()))

    def changed(self) -> None:
        self.version += 1
        event, self._event = self._event, trio.Event()
        event.set()

    async def wait_changed(self, since: int) -> int:
        """Wait until the version moves past ``since``; return the new version."""
        while self.version == since:
            await self._event.wait()
        return self.version
