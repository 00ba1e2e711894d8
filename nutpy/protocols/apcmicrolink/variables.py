"""The NUT variables in a Microlink blob: NUT ``apcmicrolink``'s table and value formats.

:func:`decode_values` turns the blob, through the :class:`Layout`, into what
NUT publishes (including ``ups.status`` and ``ups.alarm``).
"""

from __future__ import annotations

import datetime
import enum
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from nutpy.protocols.apcmicrolink.layout import Field, Layout

__all__ = ["VARIABLES", "Kind", "VarSpec", "bound_variables", "decode_values", "device_status",
           "format_value", "outlet_group_count", "status_flags", "status_tokens"]

class Kind(enum.Enum):
    STRING = "string"  # ASCII, NUL-padded
    HEX = "hex"  # lower-case, two digits a byte
    DATE = "date"  # days since 2000-01-01
    FIXED = "fixed"  # raw / 2**bp
    ENUM = "enum"  # one value, looked up in labels
    BITS = "bits"  # labels of every set bit, space-separated
    FIXED_MAP = "fixedmap"  # special values from labels, else fixed point


# pragma: no mutate start
# (_bits runs only while the module is imported, before mutmut picks a mutant:
# its mutants cannot be tried; the label tables' tests pin what it builds.)
def _bits(*names: str, start: int = 0) -> dict[int, str]:
    """Labels for consecutive bits; an empty name leaves that bit out."""
    return {1 << (start + i): name for i, name in enumerate(names) if name}
# pragma: no mutate end


_TEST_RESULT = {0: "None"} | _bits(
    "Pending", "InProgress", "Passed", "Failed", "Refused", "Aborted", "", "LocalUser",
    "Internal", "InvalidState", "InternalFault", "StateOfChargeNotAcceptable")
_CAL_RESULT = {0: "None"} | _bits(
    "Pending", "InProgress", "Passed", "Failed", "Refused", "Aborted", "", "", "",
    "InvalidState", "InternalFault", "StateOfChargeNotAcceptable", "LoadChange",
    "ACInputNotAcceptable", "LoadTooLow", "OverChargeInProgress")
_INPUT_QUALITY = _bits(
    "Acceptable", "PendingAcceptable", "VoltageTooLow", "VoltageTooHigh", "Distorted",
    "BOOST", "TRIM", "FrequencyTooLow", "FrequencyTooHigh", "FreqAndPhaseNotLocked",
    "PhaseDeltaOutOfRange", "NeutralNotConnected", "NotAcceptable", "PlugRatingExceeded",
    "PhaseBotAcceptable", "PoweringLoad")
_TEST_INTERVAL = _bits("Never", "OnStartUpOnly", "OnStartUpPlus7", "OnStartUpPlus14",
                       "OnStartUp7Since", "OnStartUp14Since")
_LIFETIME = _bits("LifeTimeStatusOK", "LifeTimeNearEnd", "LifeTimeExceeded",
                  "LifeTimeNearEndAcknowledged", "LifeTimeExceededAcknowledged",
                  "MeasuredLifeTimeNearEnd", "MeasuredLifeTimeNearEndAcknowledged")
_VOLTAGE_SETTING = _bits(
    "VAC100", "VAC120", "VAC200", "VAC208", "VAC220", "VAC230", "VAC240", "VAC220_380",
    "VAC230_400", "VAC240_415", "VAC277_480", "VAC110", "VAC127", "VACAuto120_208or240",
    "VAC120_208", "VAC120_240", "VAC100_200", "VAC254_440", "VAC115", "VAC125")
_LANGUAGE = _bits("en", "fr", "it", "de", "es", "pt", "ja", "ru")
_OUTLET_STATUS = _bits(
    "StateOn", "StateOff", "ProcessReboot", "ProcessShutdown", "ProcessSleep", "", "",
    "PendingLoadShed", "PendingOnDelay", "PendingOffDelay", "PendingOnACPresence",
    "PendingOnMinRuntime", "MemberGroupProcess1", "MemberGroupProcess2", "LowRuntime")
_OUTLET_CAUSE = _bits(
    "SystemInitialization", "UPSStatusChange", "LocalUserCommand", "USBPortCommand",
    "SmartSlot1Command", "LoadShedCommand", "RJ45PortCommand", "ACInputBad",
    "UnknownCommand", "ConfigurationChange", "SmartSlot2Command",
    "InternalNetwork1Command", "InternalNetwork2Command", "LowRuntimeSet",
    "LowRuntimeClear", "ScheduledCommand", "LoadRebootCommand", "InputContactCommand")
_TRANSFER_REASON = dict(enumerate((
    "SystemInitialization", "HighInputVoltage", "LowInputVoltage", "DistortedInput",
    "RapidChangeOfInputVoltage", "HighInputFrequency", "LowInputFrequency",
    "FreqAndOrPhaseDifference", "AcceptableInput", "AutomaticTest", "TestEnded",
    "LocalUICommand", "ProtocolCommand", "LowBatteryVoltage", "GeneralError",
    "PowerSystemError", "BatterySystemError", "ErrorCleared", "AutomaticRestart",
    "DistortedInverterOutput", "InverterOutputAcceptable", "EPOInterface",
    "InputPhaseDeltaOutOfRange", "InputNeutralNotConnected", "ATSTransfer",
    "ConfigurationChange", "AlertAsserted", "AlertCleared", "PlugRatingExceeded",
    "OutletGroupStateChange", "FailureBypassExpired", "InternalCommand", "USBCommand",
    "SmartSlot1Command", "InternalNetwork1Command", "FollowingSystemController")))
_EFFICIENCY = {-1 - i: name for i, name in enumerate((
    "NotAvailable", "LoadTooLow", "OutputOff", "OnBattery", "InBypass",
    "BatteryCharging", "PoorACInput", "BatteryDisconnected"))}
_COUNTDOWN = {-1: "NotActive", 0: "CountdownExpired"}
_COUNTDOWN_SETTING = {-1: "Disabled"}
_RETRANSFER = {0: "NoDelay"}


@dataclass(frozen=True, slots=True)
class VarSpec:
    """How one usage becomes one NUT variable (NUT 0.01's table)."""

    path: str  # may hold "{i}" for the switched outlet group index
    name: str  # may hold "{n}" for the group number (index + 1)
    kind: Kind
    signed: bool = False
    bp: int = 0
    writable: bool = False
    labels: Mapping[int, str] | None = None


_S, _H, _D, _F, _E, _B, _FM = (Kind.STRING, Kind.HEX, Kind.DATE, Kind.FIXED, Kind.ENUM,
                               Kind.BITS, Kind.FIXED_MAP)

VARIABLES: tuple[VarSpec, ...] = (
    VarSpec("2:4.9.40", "ups.serial", _S),
    VarSpec("2:4.9.40", "device.serial", _S),
    VarSpec("2:4.9.42", "experimental.device.sku", _S),
    VarSpec("2:4.9.44", "ups.model", _S),
    VarSpec("2:4.9.44", "device.model", _S),
    VarSpec("2:4.82", "ups.id", _S, writable=True),
    VarSpec("2:4.9.1B", "ups.productid", _H),
    VarSpec("2:4.9.1C", "ups.vendorid", _H),
    VarSpec("2:4.9.19", "ups.mfr.date", _D),
    VarSpec("3:4A", "ups.firmware", _S),
    VarSpec("2:11", "ups.test.result", _B, labels=_TEST_RESULT),
    VarSpec("2:4.5.11", "experimental.battery.test.result", _B, labels=_TEST_RESULT),
    VarSpec("2:4.5.13", "experimental.ups.calibration.result", _B, labels=_CAL_RESULT),
    VarSpec("2:B", "input.transfer.reason", _E, signed=True, labels=_TRANSFER_REASON),
    VarSpec("2:4.5.18", "ups.test.interval", _E, writable=True, labels=_TEST_INTERVAL),
    VarSpec("2:4.5.19", "battery.date.maintenance", _D),
    VarSpec("2:4.5.22", "ups.temperature", _F, signed=True, bp=7),
    VarSpec("2:4.5.22", "battery.temperature", _F, signed=True, bp=7),
    VarSpec("2:4.5.31", "battery.lowruntimewarning", _F),
    VarSpec("2:4.5.42", "experimental.battery.sku", _S),
    VarSpec("2:4.5.48", "battery.date", _D, writable=True),
    VarSpec("2:4.5.74", "battery.lifetime.status", _B, labels=_LIFETIME),
    VarSpec("2:4.5.9F", "battery.runtime", _F),
    VarSpec("2:4.5.24", "battery.runtime", _F),  # 2-byte fallback on some units
    VarSpec("2:4.5.20", "battery.charge", _F, bp=9),
    VarSpec("2:4.5.21", "battery.voltage", _F, signed=True, bp=5),
    VarSpec("2:4.6.16", "input.quality", _B, labels=_INPUT_QUALITY),
    VarSpec("2:4.6.25", "input.voltage", _F, bp=6),
    VarSpec("2:4.6.27", "input.frequency", _F, bp=7),
    VarSpec("2:4.6.BA", "input.transfer.delay", _FM, signed=True, writable=True,
            labels=_RETRANSFER),
    VarSpec("2:4.7.D", "input.transfer.high", _F, writable=True),
    VarSpec("2:4.7.E", "input.transfer.low", _F, writable=True),
    VarSpec("2:4.7.25", "output.voltage", _F, bp=6),
    VarSpec("2:4.7.26", "output.current", _F, bp=5),
    VarSpec("2:4.7.27", "output.frequency", _F, bp=7),
    VarSpec("2:4.7.28", "ups.load", _F, bp=8),  # NUT 0.01 calls this ups.realpower
    VarSpec("2:4.7.2A", "ups.realpower.nominal", _F),
    VarSpec("2:4.7.2B", "ups.power.nominal", _F),
    VarSpec("2:4.7.2C", "experimental.output.voltage.setting", _B, writable=True,
            labels=_VOLTAGE_SETTING),
    VarSpec("3:17", "ups.efficiency", _FM, signed=True, bp=7, labels=_EFFICIENCY),
    VarSpec("3:26", "experimental.output.energy", _F),
    VarSpec("3:2B", "ups.display.language", _E, writable=True, labels=_LANGUAGE),
    VarSpec("2:4.5.F.69", "experimental.statistics.battery.totaltime", _F),
    VarSpec("2:4.6.F.69", "experimental.statistics.input.totaltime", _F),
    VarSpec("2:4.7.F.69", "experimental.statistics.output.totaltime", _F),
    VarSpec("2:4.F.69", "experimental.statistics.ups.totaltime", _F),
    # The main outlet group, then up to four switched groups.
    VarSpec("2:4.3E.B8", "outlet.group.0.delay.shutdown", _FM, signed=True, writable=True,
            labels=_COUNTDOWN_SETTING),
    VarSpec("2:4.3E.B7", "outlet.group.0.delay.reboot", _FM, signed=True, writable=True,
            labels=_COUNTDOWN_SETTING),
    VarSpec("2:4.3E.B9", "outlet.group.0.delay.start", _FM, signed=True, writable=True,
            labels=_COUNTDOWN_SETTING),
    VarSpec("2:4.3E.30", "outlet.group.0.minimumreturnruntime", _F, writable=True),
    VarSpec("2:4.3E.31", "outlet.group.0.lowruntimewarning", _F, writable=True),
    VarSpec("2:4.3E.82", "outlet.group.0.name", _S, writable=True),
    VarSpec("2:4.3E.84", "experimental.outlet.group.0.status.cause", _B,
            labels=_OUTLET_CAUSE),
    VarSpec("2:4.3E.B6", "outlet.group.0.status", _B, labels=_OUTLET_STATUS),
    VarSpec("2:4.3D[{i}].2D", "outlet.group.{n}.timer.shutdown", _E, signed=True,
            labels=_COUNTDOWN),
    VarSpec("2:4.3D[{i}].2E", "outlet.group.{n}.timer.reboot", _E, signed=True,
            labels=_COUNTDOWN),
    VarSpec("2:4.3D[{i}].AD", "outlet.group.{n}.timer.start", _E, signed=True,
            labels=_COUNTDOWN),
    VarSpec("2:4.3D[{i}].B8", "outlet.group.{n}.delay.shutdown", _FM, signed=True,
            writable=True, labels=_COUNTDOWN_SETTING),
    VarSpec("2:4.3D[{i}].B7", "outlet.group.{n}.delay.reboot", _FM, signed=True,
            writable=True, labels=_COUNTDOWN_SETTING),
    VarSpec("2:4.3D[{i}].B9", "outlet.group.{n}.delay.start", _FM, signed=True,
            writable=True, labels=_COUNTDOWN_SETTING),
    VarSpec("2:4.3D[{i}].30", "outlet.group.{n}.minimumreturnruntime", _F, writable=True),
    VarSpec("2:4.3D[{i}].31", "outlet.group.{n}.lowruntimewarning", _F, writable=True),
    VarSpec("2:4.3D[{i}].82", "outlet.group.{n}.name", _S, writable=True),
    VarSpec("2:4.3D[{i}].84", "experimental.outlet.group.{n}.status.cause", _B,
            labels=_OUTLET_CAUSE),
    VarSpec("2:4.3D[{i}].B6", "outlet.group.{n}.status", _B, labels=_OUTLET_STATUS),
)

_MAX_SWITCHED_GROUPS = 4


def _instances(spec: VarSpec) -> Iterator[tuple[str, str]]:
    """(path, name) pairs of a spec; four of them for switched-group templates."""
    if "{i}" not in spec.path:
        yield spec.path, spec.name
        return
    for i in range(_MAX_SWITCHED_GROUPS):
        yield spec.path.format(i=i), spec.name.format(n=i + 1)


def bound_variables(layout: Layout) -> dict[str, tuple[VarSpec, Field]]:
    """NUT name -> (spec, field) for every variable this layout carries."""
    out: dict[str, tuple[VarSpec, Field]] = {}
    for spec in VARIABLES:
        for path, name in _instances(spec):
            f = layout.field(path)
            if f is not None and name not in out:
                out[name] = (spec, f)
    return out


def _as_int(raw: bytes, signed: bool) -> int:
    return int.from_bytes(raw, "big", signed=signed)


def _fixed_text(value: int, bp: int) -> str:
    if bp == 0:
        return str(value)
    text = f"{value / (1 << bp):.6f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def format_value(spec: VarSpec, raw: bytes) -> str | None:
    """The NUT text of a usage's raw bytes, as NUT 0.01 prints it; None = unpublished."""
    kind = spec.kind
    if kind is Kind.STRING:
        text = "".join(chr(b) for b in raw if 0x20 <= b < 0x7F).rstrip()
        return text or None
    if kind is Kind.HEX:
        return raw.hex()
    if kind is Kind.DATE:
        day = datetime.date(2000, 1, 1) + datetime.timedelta(days=_as_int(raw, False))
        return day.isoformat()
    labels = spec.labels or {}
    if kind is Kind.BITS:
        value = _as_int(raw, False)
        names = [name for bit, name in labels.items() if bit and value & bit]
        if names:
            return " ".join(names)
        if value == 0 and 0 in labels:
            return labels[0]
        return f"0x{value:0{2 * len(raw)}X}"
    if kind is Kind.ENUM:
        value = _as_int(raw, True)  # NUT reads the top bit as a sign for every enum
        return labels.get(value, str(value))
    value = _as_int(raw, spec.signed)
    if kind is Kind.FIXED_MAP and value in labels:
        return labels[value]
    return _fixed_text(value, spec.bp)


def _field_bytes(layout: Layout, blob: bytes, path: str) -> bytes | None:
    f = layout.field(path)
    return None if f is None else blob[f.offset:f.offset + f.size]


def _word(layout: Layout, blob: bytes, path: str) -> int | None:
    raw = _field_bytes(layout, blob, path)
    return None if raw is None else _as_int(raw, False)


# Status word 2:4.A bits -> ups.status tokens and ups.alarm texts (NUT 0.01).
_STATUS_BITS = {1 << 1: "OL", 1 << 2: "OB", 1 << 3: "BYPASS", 1 << 4: "OFF",
               1 << 7: "TEST", 1 << 21: "OVER"}
_ALARM_BITS = {1 << 5: "General fault", 1 << 6: "Input not acceptable"}
_STATUS_HIGH_EFFICIENCY = 1 << 13


def status_tokens(layout: Layout, blob: bytes) -> tuple[list[str], list[str]]:
    """(ups.status tokens, ups.alarm texts).

    NUT 0.01's tokens from the status word, plus what NUT lacks (spec §5
    "gaps"): LB from simple signalling bit 1, RB from the battery error word,
    CAL, BOOST/TRIM from input quality, HE, and CHRG/DISCHRG derived from
    OL/OB and the charge.
    """
    word = _word(layout, blob, "2:4.A") or 0
    tokens = [name for bit, name in _STATUS_BITS.items() if word & bit]
    alarms = [text for bit, text in _ALARM_BITS.items() if word & bit]
    if word & _STATUS_HIGH_EFFICIENCY:
        tokens.append("HE")
    quality = _word(layout, blob, "2:4.6.16") or 0
    if quality & (1 << 5):
        tokens.append("BOOST")
    if quality & (1 << 6):
        tokens.append("TRIM")
    cal = _word(layout, blob, "2:4.5.13") or 0
    if cal & (1 << 1):
        tokens.append("CAL")
    signalling = _word(layout, blob, "2:4.8.7") or 0
    if signalling & (1 << 1):
        tokens.append("LB")
    battery_error = _word(layout, blob, "2:4.34") or 0
    if battery_error & 0b101:
        tokens.append("RB")
    charge = _word(layout, blob, "2:4.5.20")
    if "OB" in tokens:
        tokens.append("DISCHRG")
    elif "OL" in tokens and charge is not None and charge < 100 << 9:
        tokens.append("CHRG")
    return tokens, alarms


def device_status(word: bytes) -> str:
    """NUT's ``experimental.device.status`` from the status word 2:4.A: the labels
    of its set bits (NUT's apc_status_map), or the raw word in hex when none is."""
    value = int.from_bytes(word, "big")
    labels = [name for bit, name in _STATUS_BITS.items() if value & bit]
    return " ".join(labels) if labels else f"0x{value:0{2 * len(word)}X}"


def status_flags(layout: Layout, blob: bytes) -> tuple[tuple[str, ...], tuple[str, ...], str]:
    """Every flag the blob publishes: ``ups.status``'s tokens, ``ups.alarm``'s texts
    and the status word's labels (``experimental.device.status``)."""
    tokens, alarms = status_tokens(layout, blob)
    word = _field_bytes(layout, blob, "2:4.A")
    return tuple(tokens), tuple(alarms), "" if word is None else device_status(word)


def decode_values(layout: Layout, blob: bytes) -> dict[str, str]:
    """Every NUT variable the blob holds, with derived ones (status, load, power)."""
    out: dict[str, str] = {"ups.mfr": "APC", "device.mfr": "APC"}
    for name, (spec, f) in bound_variables(layout).items():
        text = format_value(spec, blob[f.offset:f.offset + f.size])
        if text is not None:
            out[name] = text
    word = _field_bytes(layout, blob, "2:4.A")
    if word is not None:
        out["experimental.device.status"] = device_status(word)
        tokens, alarms = status_tokens(layout, blob)
        out["ups.status"] = " ".join(tokens)
        if alarms:
            out["ups.alarm"] = " ".join(alarms)
    # NUT 0.01 publishes percentages as ups.realpower / ups.power: give watts and VA.
    for percent_path, nominal, name in (("2:4.7.28", "2:4.7.2A", "ups.realpower"),
                                        ("2:4.7.49", "2:4.7.2B", "ups.power")):
        pct, nom = _word(layout, blob, percent_path), _word(layout, blob, nominal)
        if pct is not None and nom is not None:
            out[name] = str(round(pct * nom / (100 << 8)))
    groups = outlet_group_count(layout)
    if groups:
        out["outlet.group.count"] = str(groups)
    return out


def outlet_group_count(layout: Layout) -> int:
    """1 for the main group (if any), plus each switched group present."""
    if layout.field("2:4.3E.B6") is None:
        return 0
    count = 1
    while count <= _MAX_SWITCHED_GROUPS and layout.field(f"2:4.3D[{count - 1}].B6"):
        count += 1
    return count
