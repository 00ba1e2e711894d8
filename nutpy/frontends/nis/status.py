"""apcupsd's ``status`` fields from what the store knows of a UPS (pure).

The fields, their order, formats and units are those of apcupsd 3.14.14's
``output_status`` (``src/lib/apcstatus.c``); the raw values come from NUT's
variables, mapped back to what apcupsd's own Smart driver reads
(``src/drivers/apcsmart/smart.c``): ``LINEV`` is ``input.voltage`` (``L``),
``TIMELEFT`` is ``battery.runtime`` in minutes (``j``), and so on down the
table below.  A field appears only when the UPS has its value, as apcupsd
prints only what the UPS answered.

Where apcupsd prints its own settings, the nearest NUT values stand in,
the inverse of NUT's ``apcupsd-ups`` driver's table:

* ``MBATTCHG`` (apcupsd's BATTERYLEVEL) is ``battery.charge.low``,
* ``MINTIMEL`` (MINUTES) is ``battery.runtime.low`` in minutes,
* ``MAXTIME`` (TIMEOUT) is 0: NUT has no limit on the time on battery,

each 0 when the UPS has no such threshold (NUT then acts on the UPS's own
low-battery signal).  The counters (``NUMXFERS``, ``TONBATT``, ``CUMONBATT``,
``XONBATT``, ``XOFFBATT``) are the event log's :class:`PowerStats`, kept
since the server started as apcupsd keeps its own.  ``STATUS`` is
``COMMLOST`` when the store says the data may not be served, and
``SHUTTING DOWN`` while the forced-shutdown latch (FSD) is set.

Raw registers: ``DIPSW`` and ``REG1``-``REG3`` are apcupsd's replies to ``7``,
``~``, ``'`` and ``8``.  NUT's apcsmart publishes none of them; they are
read from ``experimental.dip_switch`` and ``experimental.register.1``-``3``
(two hex digits, as the UPS answers) when a driver publishes those.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from nutpy.history.chronicle import PowerStats
from nutpy.protocols.nis import format_date, line

__all__ = ["APCUPSD_VERSION", "ONBATTDELAY", "Daemon", "Reading", "status_lines",
           "test_code", "transfer_cause"]

APCUPSD_VERSION = "3.14.14"  # the protocol level nutpy speaks
ONBATTDELAY = 6.0  # apcupsd's default: a power failure is "on batteries" after 6 s

# STATFLAG: the UPS's status byte, then apcupsd's own bits (include/defines.h).
_STATUS_BITS = {"CAL": 0x01, "TRIM": 0x02, "BOOST": 0x04, "OL": 0x08, "OB": 0x10,
                "OVER": 0x20, "LB": 0x40, "RB": 0x80}
COMMLOST = 0x00000100
SHUTDOWN = 0x00000200
ONBATT_MSG = 0x00020000  # "Running on UPS batteries." has been said
FASTPOLL = 0x00040000  # from the power failure until the mains return
SHUT_LOAD = 0x00080000  # charge at or below MBATTCHG on battery
SHUT_LTIME = 0x00200000  # runtime at or below MINTIMEL on battery
PLUGGED = 0x01000000  # always set by apcupsd
BATTPRESENT = 0x04000000
_BATTERY_DISCONNECTED = 0x20  # register 2

# STATUS words in apcupsd's order (the UPS's bits, then NOBATT).
_WORDS = (("CAL", "CAL"), ("TRIM", "TRIM"), ("BOOST", "BOOST"), ("OL", "ONLINE"),
          ("OB", "ONBATT"), ("OVER", "OVERLOAD"), ("LB", "LOWBATT"), ("RB", "REPLACEBATT"))

# NUT's input.transfer.reason (apcsmart's texts for G, or the raw letter) ->
# apcupsd's LASTXFER; "N" is apcupsd's "not available": no line.
_TRANSFER_CAUSES = {
    "no transfers yet since turnon": "No transfers since turnon",
    "O": "No transfers since turnon",
    "simulated power failure or UPS test": "Automatic or explicit self test",
    "S": "Automatic or explicit self test",
    "K": "Forced by software",
    "low utility voltage": "Low line voltage",
    "L": "Low line voltage",
    "high utility voltage": "High line voltage",
    "H": "High line voltage",
    "unacceptable utility voltage rate of change": "Unacceptable line voltage changes",
    "R": "Unacceptable line voltage changes",
    "line voltage notch or spike": "Line voltage notch or spike",
    "T": "Line voltage notch or spike",
}
_SENSITIVITY = {"A": "Auto Adjust", "L": "Low", "M": "Medium", "H": "High"}
_ALARM = {"T": "30 Seconds", "L": "Low Battery", "N": "No alarm", "0": "5 Seconds"}
# What the NUT drivers speak over, in apcupsd's words (CABLE), when it is known.
_CABLES = {"apcsmart": "Custom Cable Smart", "apcmicrolink": "Custom Cable Smart"}


@dataclass(frozen=True, slots=True)
class Daemon:
    """What ``status`` says about the server rather than the UPS."""

    hostname: str
    version: str  # nutpy's
    started: float  # wall time


@dataclass(frozen=True, slots=True)
class Reading:
    """One UPS as the store has it at one moment."""

    name: str  # NUT's name for it (ups.conf)
    values: Mapping[str, str]  # NUT variable, lower case -> value
    flags: tuple[str, ...]  # ups.status words, FSD included
    fresh: bool  # the store lets its data be served
    polled: float | None  # wall time of the driver's last good read
    power: PowerStats


_NUMBER = re.compile(r"\s*[-+]?(\d+\.?\d*|\.\d+)")


class _Facts:
    def __init__(self, reading: Reading, now: float) -> None:
        self.reading = reading
        self.now = now

    def text(self, name: str) -> str | None:
        return self.reading.values.get(name)

    def number(self, name: str) -> float | None:
        """The value as C's atof reads it; None when it is not a number."""
        value = self.reading.values.get(name)
        match = _NUMBER.match(value) if value is not None else None
        return float(match.group(0)) if match else None

    def register(self, name: str) -> int | None:
        value = self.reading.values.get(name)
        try:
            return int(value, 16) if value is not None else None
        except ValueError:
            return None

    def on_battery_for(self) -> float:
        return self.reading.power.on_battery_for(self.now)


# pragma: no mutate start
# (These make the field table's functions while the module is imported, before
# mutmut picks a mutant: their mutants cannot be tried; the status tests pin
# every field they make against real apcupsd's output.)
def _real(name: str, unit: str, scale: float = 1.0) -> Callable[[_Facts], str | None]:
    """``%.1f unit`` (apcupsd's floats)."""
    def field(facts: _Facts) -> str | None:
        value = facts.number(name)
        return None if value is None else f"{value / scale:.1f}{unit}"
    return field


def _whole(name: str, unit: str, scale: float = 1.0,
           point: str = "") -> Callable[[_Facts], str | None]:
    """``%d unit`` (apcupsd's ints, read with ``(int)atof``); ``point``: ``.0``
    for the fields apcupsd prints as ``%d.0``."""
    def field(facts: _Facts) -> str | None:
        value = facts.number(name)
        return None if value is None else f"{int(value / scale)}{point}{unit}"
    return field


def _raw(name: str) -> Callable[[_Facts], str | None]:
    return lambda facts: facts.text(name)


def _hex(name: str) -> Callable[[_Facts], str | None]:
    def field(facts: _Facts) -> str | None:
        value = facts.register(name)
        return None if value is None else f"0x{value:02X}"
    return field


def _threshold(name: str, unit: str, scale: float = 1.0) -> Callable[[_Facts], str]:
    def field(facts: _Facts) -> str:
        value = facts.number(name)
        return f"{int(value / scale) if value is not None else 0}{unit}"
    return field
# pragma: no mutate end


def _status(facts: _Facts) -> str:
    reading = facts.reading
    if "FSD" in reading.flags:
        return "SHUTTING DOWN"
    if not reading.fresh:
        return "COMMLOST "
    words = [word for flag, word in _WORDS if flag in reading.flags]
    if not _battery_present(facts):
        words.append("NOBATT")
    return "".join(f"{word} " for word in words)


def _battery_present(facts: _Facts) -> bool:
    register2 = facts.register("experimental.register.2")
    return register2 is None or not register2 & _BATTERY_DISCONNECTED


def statflag(facts: _Facts) -> int:
    """STATFLAG as apcupsd would hold it for this UPS in this state."""
    reading = facts.reading
    bits = sum(mask for flag, mask in _STATUS_BITS.items() if flag in reading.flags)
    bits |= PLUGGED
    if _battery_present(facts):
        bits |= BATTPRESENT
    if not reading.fresh:
        bits |= COMMLOST
    if "FSD" in reading.flags:
        bits |= SHUTDOWN
    if reading.power.on_battery_since is not None:
        bits |= FASTPOLL
        if facts.on_battery_for() >= ONBATTDELAY:
            bits |= ONBATT_MSG
            charge = facts.number("battery.charge")
            runtime = facts.number("battery.runtime")
            low_charge = facts.number("battery.charge.low") or 0.0
            low_runtime = facts.number("battery.runtime.low") or 0.0
            if charge is not None and charge <= low_charge:
                bits |= SHUT_LOAD
            if runtime is not None and runtime / 60 <= int(low_runtime / 60):
                bits |= SHUT_LTIME
    return bits


def transfer_cause(reason: str | None) -> str | None:
    """LASTXFER for NUT's ``input.transfer.reason``; None: no line."""
    if reason is None or reason == "N":
        return None
    return _TRANSFER_CAUSES.get(reason, "UNKNOWN EVENT")


def test_code(result: str) -> str:
    """apcupsd's SELFTEST code for NUT's ``ups.test.result`` (apcsmart's raw
    ``X`` reply, or a text starting with it): OK, BT, NG, or NO."""
    code = result[:2].upper()
    return code if code in ("OK", "BT", "NG") else "NO"


def _selftest(facts: _Facts) -> str | None:
    result = facts.text("ups.test.result")
    return None if result is None else test_code(result)


def _test_interval(facts: _Facts) -> str | None:
    seconds = facts.number("ups.test.interval")
    if seconds is None:
        return None
    hours = int(seconds // 3600)
    return f"{hours:03d}" if hours else "OFF"  # NUT reads "ON " and "OFF" as 0


def _sense(facts: _Facts) -> str | None:
    value = facts.text("input.sensitivity")
    if value is None:
        return None
    return _SENSITIVITY.get(value[:1].upper(), "Unknown")


def _alarm(facts: _Facts) -> str | None:
    value = facts.text("battery.alarm.threshold")
    return None if value is None else _ALARM.get(value[:1], "Always")


def _xonbatt(facts: _Facts) -> str | None:
    power = facts.reading.power
    if not power.transfers or power.last_to_battery is None:
        return None
    return format_date(power.last_to_battery)


def _xoffbatt(facts: _Facts) -> str:
    when = facts.reading.power.last_from_battery
    return format_date(when) if when is not None else "N/A"


def _cumonbatt(facts: _Facts) -> str:
    power = facts.reading.power
    return f"{int(power.cumulative) + int(facts.on_battery_for())} Seconds"


Field = Callable[[_Facts], "str | None"]

# apcupsd's output_status after STARTTIME/SHARE, in its order.
_UPS_FIELDS: tuple[tuple[str, Field], ...] = (
    ("MODEL", _raw("ups.model")),
    ("STATUS", _status),
    ("LINEV", _real("input.voltage", " Volts")),
    ("LOADPCT", _real("ups.load", " Percent")),
    ("BCHARGE", _real("battery.charge", " Percent")),
    ("TIMELEFT", _real("battery.runtime", " Minutes", 60)),
    ("MBATTCHG", _threshold("battery.charge.low", " Percent")),
    ("MINTIMEL", _threshold("battery.runtime.low", " Minutes", 60)),
    ("MAXTIME", lambda facts: "0 Seconds"),
    ("MAXLINEV", _real("input.voltage.maximum", " Volts")),
    ("MINLINEV", _real("input.voltage.minimum", " Volts")),
    ("OUTPUTV", _real("output.voltage", " Volts")),
    ("SENSE", _sense),
    ("DWAKE", _whole("ups.delay.start", " Seconds")),
    ("DSHUTD", _whole("ups.delay.shutdown", " Seconds")),
    ("DLOWBATT", _whole("battery.runtime.low", " Minutes", 60)),
    ("LOTRANS", _whole("input.transfer.low", " Volts", point=".0")),
    ("HITRANS", _whole("input.transfer.high", " Volts", point=".0")),
    ("RETPCT", _whole("battery.charge.restart", " Percent", point=".0")),
    ("ITEMP", _real("ups.temperature", " C")),
    ("ALARMDEL", _alarm),
    ("BATTV", _real("battery.voltage", " Volts")),
    ("LINEFREQ", _real("input.frequency", " Hz")),
    ("OUTCURNT", lambda facts: (f"{value:.2f} Amps" if (value := facts.number(
        "output.current")) is not None else None)),
    ("LASTXFER", lambda facts: transfer_cause(facts.text("input.transfer.reason"))),
    ("NUMXFERS", lambda facts: str(facts.reading.power.transfers)),
    ("XONBATT", _xonbatt),
    ("TONBATT", lambda facts: f"{int(facts.on_battery_for())} Seconds"),
    ("CUMONBATT", _cumonbatt),
    ("XOFFBATT", _xoffbatt),
    ("SELFTEST", _selftest),
    ("STESTI", _test_interval),
    ("STATFLAG", lambda facts: f"0x{statflag(facts):08X}"),
    ("DIPSW", _hex("experimental.dip_switch")),
    ("REG1", _hex("experimental.register.1")),
    ("REG2", _hex("experimental.register.2")),
    ("REG3", _hex("experimental.register.3")),
    ("MANDATE", _raw("ups.mfr.date")),
    ("SERIALNO", _raw("ups.serial")),
    ("BATTDATE", _raw("battery.date")),
    ("NOMOUTV", _whole("output.voltage.nominal", " Volts")),
    ("NOMINV", _whole("input.voltage.nominal", " Volts")),
    ("NOMBATTV", _real("battery.voltage.nominal", " Volts")),
    ("NOMPOWER", _whole("ups.realpower.nominal", " Watts")),
    ("NOMAPNT", _whole("ups.power.nominal", " VA")),
    ("HUMIDITY", _real("ambient.humidity", " Percent")),
    ("AMBTEMP", _real("ambient.temperature", " C")),
    ("EXTBATTS", _whole("battery.packs", "")),
    ("BADBATTS", _whole("battery.packs.bad", "")),
    ("FIRMWARE", _raw("ups.firmware")),
)


def status_lines(reading: Reading, daemon: Daemon, now: float) -> list[bytes]:
    """Every line of the ``status`` answer after the APC header, END APC last."""
    facts = _Facts(reading, now)
    driver = reading.values.get("driver.name")
    head: list[tuple[str, str | None]] = [
        ("DATE", format_date(reading.polled if reading.polled is not None else now)),
        ("HOSTNAME", daemon.hostname),
        ("VERSION", f"{APCUPSD_VERSION} (nutpy {daemon.version})"),
        ("UPSNAME", reading.name),
        ("CABLE", _CABLES.get(driver or "")),
        ("DRIVER", f"nutpy {driver}" if driver else None),
        ("UPSMODE", ""),  # apcupsd 3.14.14 prints these two empty when stand-alone
        ("STARTTIME", format_date(daemon.started)),
        ("SHARE", ""),
    ]
    fields = head + [(key, field(facts)) for key, field in _UPS_FIELDS]
    fields.append(("END APC", format_date(now)))
    return [line(key, value) for key, value in fields if value is not None]
