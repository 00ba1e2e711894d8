"""apcupsd's ``events`` lines from the event log (pure).

apcupsd writes a line to its events file for each event it acts on, in the
words of ``src/action.c`` (``Power failure.``, ``Running on UPS batteries.``,
``Mains returned. No longer on UPS batteries.``, ``Power is back. UPS running
on mains.``, ``Communications with UPS lost.`` ...), each after the date.
The chronicle's entries map onto them:

* a power failure is ``Power failure.``, and ``Running on UPS batteries.``
  once it has lasted apcupsd's ONBATTDELAY (6 s); its end is ``Mains
  returned. No longer on UPS batteries.`` (only after that confirmation, as
  in apcupsd), then ``Power is back. UPS running on mains.``;
* a low battery is ``Battery power exhausted.``, a battery to replace
  ``UPS battery must be replaced.``, NUT's forced shutdown (FSD) ``Remote
  shutdown requested.``, stale data and its return the two
  ``Communications with UPS ...`` lines, a self-test result ``UPS Self Test
  completed: ...``; the server's start and stop are nutpy's in apcupsd's form;
* what apcupsd has no words for (commands, settings, killpower, overload,
  the battery no longer low) keeps the chronicle's message.
"""

from __future__ import annotations

from collections.abc import Sequence

from nutpy.frontends.nis.status import ONBATTDELAY, test_code
from nutpy.history.chronicle import Entry, Kind, PowerStats
from nutpy.protocols.nis import event_line, format_date

__all__ = ["KEEP", "event_lines"]

KEEP = 50  # apcupsd sends the last 50 lines of its events file

_WORDS = {
    Kind.POWER_FAILURE: "Power failure.",
    Kind.LOW_BATTERY: "Battery power exhausted.",
    Kind.REPLACE_BATTERY: "UPS battery must be replaced.",
    Kind.FSD: "Remote shutdown requested.",
    Kind.COMM_LOST: "Communications with UPS lost.",
    Kind.COMM_RESTORED: "Communications with UPS restored.",
    Kind.SERVER_STOP: "nutpy shutdown succeeded",
}
_TEST_RESULTS = {"OK": "Battery OK", "BT": "Test failed -- insufficient battery capacity",
                 "NG": "Test failed -- battery overloaded", "NO": "No test results available"}
_ON_BATTERIES = "Running on UPS batteries."
_MAINS_RETURNED = "Mains returned. No longer on UPS batteries."
_POWER_BACK = "Power is back. UPS running on mains."


def _outages(entries: Sequence[Entry], power: PowerStats, now: float) -> dict[int, float]:
    """How long each outage lasted, by the index of its failure and of its end."""
    seconds: dict[int, float] = {}
    failure: int | None = None
    for index, entry in enumerate(entries):
        if entry.kind is Kind.POWER_FAILURE:
            failure = index
        elif entry.kind is Kind.POWER_RESTORED:
            if failure is not None:
                seconds[index] = seconds[failure] = entry.at - entries[failure].at
            else:  # the failure is older than the entries at hand
                seconds[index] = float(entry.details.get("seconds", "0"))
            failure = None
    if failure is not None and power.on_battery_since is not None:
        seconds[failure] = now - entries[failure].at
    return seconds


def _lines(index: int, entry: Entry, outages: dict[int, float],
           version: str) -> list[tuple[float, str]]:
    confirmed = outages.get(index, 0.0) >= ONBATTDELAY
    if entry.kind is Kind.POWER_FAILURE:
        later = [(entry.at + ONBATTDELAY, _ON_BATTERIES)] if confirmed else []
        return [(entry.at, _WORDS[entry.kind]), *later]
    if entry.kind is Kind.POWER_RESTORED:
        first = [(entry.at, _MAINS_RETURNED)] if confirmed else []
        return [*first, (entry.at, _POWER_BACK)]
    if entry.kind is Kind.SELF_TEST:
        result = _TEST_RESULTS[test_code(entry.details.get("result", ""))]
        return [(entry.at, f"UPS Self Test completed: {result}")]
    if entry.kind is Kind.SERVER_START:
        return [(entry.at, f"nutpy {version} startup succeeded")]
    words = _WORDS.get(entry.kind)
    if words is None:
        words = entry.message if entry.message.endswith(".") else entry.message + "."
    return [(entry.at, words)]


def event_lines(entries: Sequence[Entry], power: PowerStats, now: float,
                version: str) -> list[bytes]:
    """The ``events`` lines for ``entries`` (one UPS's and the server's, oldest
    first), the last :data:`KEEP` of them."""
    outages = _outages(entries, power, now)
    dated = [item for index, entry in enumerate(entries)
             for item in _lines(index, entry, outages, version)]
    dated.sort(key=lambda item: item[0])  # stable: lines of one moment keep their order
    return [event_line(format_date(at), text) for at, text in dated[-KEEP:]]
