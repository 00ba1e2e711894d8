"""The event log: what a UPS owner wants to read about last night, from the store's feed.

The feed says what changed (flags, availability, a variable, a command's
result); the chronicle says what it means: a power failure and how long the
UPS ran on battery, a low battery, a forced shutdown, the data going stale
and coming back, a self-test result, who ran which command from where.  It
also keeps apcupsd's power counters (transfers to battery, time on battery)
since the server started, which its network protocol reports.

It is pure: fed events (and, after a feed loss, the state as it is now) with
their wall-clock times, it returns :class:`Entry` values.  The recorder
stores them; the dashboard, the JSON API and the apcupsd front end read them.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

from nutpy.store import (
    Availability,
    AvailabilityChanged,
    CommandFinished,
    Event,
    FsdSet,
    InstCmd,
    Killpower,
    Result,
    SetVar,
    StatusChanged,
    UpsRemoved,
    VariableChanged,
)

__all__ = ["Chronicle", "Entry", "Kind", "PowerStats", "describe_duration"]


class Kind(enum.Enum):
    SERVER_START = "server-start"
    SERVER_STOP = "server-stop"
    POWER_FAILURE = "power-failure"  # on battery
    POWER_RESTORED = "power-restored"  # off battery; details: seconds
    LOW_BATTERY = "low-battery"
    LOW_BATTERY_CLEARED = "low-battery-cleared"
    REPLACE_BATTERY = "replace-battery"
    OVERLOAD = "overload"
    FSD = "fsd"
    COMM_LOST = "comm-lost"
    COMM_RESTORED = "comm-restored"
    SELF_TEST = "self-test"  # details: result
    COMMAND = "command"  # details: command, param, user, address, result
    SETTING = "setting"  # details: variable, value, user, address, result
    KILLPOWER = "killpower"  # details: result


@dataclass(frozen=True, slots=True)
class Entry:
    at: float  # wall-clock time
    ups: str | None  # None: about the server itself
    kind: Kind
    message: str
    details: Mapping[str, str] = field(default_factory=dict)


@dataclass
class PowerStats:
    """apcupsd's counters for one UPS, since the server started."""

    transfers: int = 0  # NUMXFERS: times it went on battery
    on_battery_since: float | None = None  # wall time, None when on line
    cumulative: float = 0.0  # CUMONBATT before the current outage, seconds
    last_to_battery: float | None = None  # XONBATT
    last_from_battery: float | None = None  # XOFFBATT

    def on_battery_for(self, now: float) -> float:
        """TONBATT: seconds on battery in the current outage (0 on line)."""
        return 0.0 if self.on_battery_since is None else now - self.on_battery_since

    def total(self, now: float) -> float:
        """CUMONBATT: every second on battery since the start, this outage included."""
        return self.cumulative + self.on_battery_for(now)


def describe_duration(seconds: float) -> str:
    """``1 h 2 min 5 s`` style, for messages."""
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours} h"] if hours else []
    if minutes or hours:
        parts.append(f"{minutes} min")
    parts.append(f"{secs} s")
    return " ".join(parts)


# Flag -> (kind when it appears, message) and (kind when it goes, message).
_FLAG_ENTRIES: dict[str, tuple[tuple[Kind, str], tuple[Kind, str] | None]] = {
    "LB": ((Kind.LOW_BATTERY, "Low battery"),
           (Kind.LOW_BATTERY_CLEARED, "Battery no longer low")),
    "RB": ((Kind.REPLACE_BATTERY, "The battery needs replacing"), None),
    "OVER": ((Kind.OVERLOAD, "Overload: the UPS output is overloaded"), None),
}


@dataclass
class _UpsMemory:
    flags: tuple[str, ...] = ()  # last known non-empty flags
    available: bool = False  # OK when last seen
    ever_available: bool = False
    power: PowerStats = field(default_factory=PowerStats)


class Chronicle:
    """Turns feed events into log entries; keeps what it needs to know between them."""

    def __init__(self) -> None:
        self._ups: dict[str, _UpsMemory] = {}

    def power(self, ups: str) -> PowerStats:
        return self._memory(ups).power

    def _memory(self, ups: str) -> _UpsMemory:
        return self._ups.setdefault(ups.lower(), _UpsMemory())

    # ---- what the feed says ----------------------------------------------

    def feed(self, event: Event) -> list[Entry]:
        if isinstance(event, StatusChanged):
            return self.observe_flags(event.ups, event.new, event.at)
        if isinstance(event, AvailabilityChanged):
            return self.observe_availability(event.ups, event.new, event.at)
        if isinstance(event, FsdSet):
            return [Entry(event.at, event.ups, Kind.FSD,
                          "Forced shutdown (FSD): clients are shutting down")]
        if isinstance(event, VariableChanged):
            return self._variable(event)
        if isinstance(event, CommandFinished):
            return [self._command(event)]
        if isinstance(event, UpsRemoved):
            self._ups.pop(event.ups.lower(), None)
        return []

    def server(self, started: bool, at: float) -> Entry:
        if started:
            return Entry(at, None, Kind.SERVER_START, "Server started")
        return Entry(at, None, Kind.SERVER_STOP, "Server stopped")

    # ---- what the state is (also after a feed loss) ----------------------

    def observe_flags(self, ups: str, flags: tuple[str, ...], at: float) -> list[Entry]:
        """The flags as they are now; entries for what differs from the last known."""
        memory = self._memory(ups)
        if not flags:
            return []  # nothing known (no driver): keep the last known flags
        old, memory.flags = set(memory.flags), flags
        new = set(flags)
        entries: list[Entry] = []
        power = memory.power
        if "OB" in new and "OB" not in old:
            power.transfers += 1
            power.on_battery_since = power.last_to_battery = at
            entries.append(Entry(at, ups, Kind.POWER_FAILURE,
                                 "Power failure: the UPS is running on battery"))
        elif "OB" in old and "OB" not in new and power.on_battery_since is not None:
            seconds = at - power.on_battery_since
            power.cumulative += seconds
            power.on_battery_since = None
            power.last_from_battery = at
            entries.append(Entry(at, ups, Kind.POWER_RESTORED,
                                 f"Power restored after {describe_duration(seconds)} on "
                                 "battery", {"seconds": f"{seconds:.0f}"}))
        for flag, (appears, goes) in _FLAG_ENTRIES.items():
            if flag in new and flag not in old:
                entries.append(Entry(at, ups, *appears))
            elif goes is not None and flag in old and flag not in new:
                entries.append(Entry(at, ups, *goes))
        return entries

    def observe_availability(self, ups: str, availability: Availability,
                             at: float) -> list[Entry]:
        memory = self._memory(ups)
        available = availability is Availability.OK
        if available == memory.available:
            return []
        memory.available = available
        if available:
            first = not memory.ever_available
            memory.ever_available = True
            if first:
                return []
            return [Entry(at, ups, Kind.COMM_RESTORED, "Communication with the UPS restored")]
        why = ("data stale" if availability is Availability.DATA_STALE
               else "driver not connected")
        return [Entry(at, ups, Kind.COMM_LOST, f"Communication with the UPS lost ({why})",
                      {"availability": availability.value})]

    # ---- the rest ----------------------------------------------------------

    def _variable(self, event: VariableChanged) -> list[Entry]:
        if event.name.lower() != "ups.test.result" or not event.new or event.old is None:
            return []  # a result seen at start-up is not news
        return [Entry(event.at, event.ups, Kind.SELF_TEST, f"Self-test result: {event.new}",
                      {"result": event.new})]

    def _command(self, event: CommandFinished) -> Entry:
        request, result = event.request, event.result
        origin = request.origin
        who = {"user": (origin.user or "") if origin else "",
               "address": origin.address if origin else "",
               "result": result.name}
        by = ""
        if origin is not None:
            by = f" by {origin.user or 'an anonymous client'} from {origin.address}"
        verdict = "done" if result is Result.SUCCESS else result.name.lower()
        if isinstance(request, InstCmd):
            param = f" {request.param}" if request.param else ""
            return Entry(event.at, event.ups, Kind.COMMAND,
                         f"Command {request.command}{param}{by}: {verdict}",
                         {"command": request.command, "param": request.param or "", **who})
        if isinstance(request, SetVar):
            return Entry(event.at, event.ups, Kind.SETTING,
                         f"Setting {request.variable} = {request.value}{by}: {verdict}",
                         {"variable": request.variable, "value": request.value, **who})
        assert isinstance(request, Killpower)
        return Entry(event.at, event.ups, Kind.KILLPOWER,
                     f"Killpower{by}: {verdict}", who)
