"""APC Smart (UPS-Link) protocol, without I/O.

Everything the driver needs to talk to a Smart-UPS lives here as data and pure
functions: the query bytes, a splitter that separates alert bytes from reply
lines, reply validation and conversion into NUT variables (with NUT
``apcsmart``'s exact value formats), the status register, capability strings
(``a`` and ``^Z``), firmware decoding, and the instant commands as timed steps.
Time never appears except as numbers passed in or handed back.

Replies are handled as ``bytes`` so that a garbled line (noise, a control byte,
an unexpected shape) is rejected rather than published: every query has a
format, and a line that does not match it yields no value.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

# ---- command bytes and timeouts -------------------------------------------

SMART_MODE = b"Y"  # -> "SM"
DUMB_MODE = b"R"  # -> "BYE"
STATUS = b"Q"
CMDSET = b"a"
CAPS = b"\x1a"  # ^Z
FIRMWARE_OLD = b"V"
FIRMWARE_NEW = b"b"
NEXT_VALUE = b"-"
ESCAPE = b"\x1b"  # NUT sends it between failed Y tries; its answer is discarded
ABORT = b"\x7f"  # DEL: cancels a pending @, S or K K
FACTORY_RESET = b"z"
REGISTER_1 = b"~"
REGISTER_2 = b"'"
REGISTER_3 = b"8"
DIP_SWITCHES = b"7"

REPLY_TIMEOUT = 3.0
SMART_MODE_TIMEOUT = 1.5  # also the confirmation read after S, K, @
LONG_TIMEOUT = 6.0  # a and ^Z
SMART_MODE_TRIES = 5

# What NUT polls every cycle after Q (section 6.1 step 6); the rest hourly.
POLL_ORDER = b"QCPXLF9GMNOfBj" + b"i/htTH{}[]"
# What NUT probes when the UPS has no usable ``a`` reply ("old" mode).
OLD_PROBE = b"CPLOfB\x01nbV/"
# Characters of the ``a`` command list that NUT never probes.
UNPROBED = b"\x1a\x7f~')-+8QRYayz"

MAX_LINE = 511  # NUT's 512-byte buffer, less the terminator
STRING_LENGTH = 8  # ups.id and battery.date
ENUM_MAX_STEPS = 32  # NUT gives up cycling an enum after this many "-"

CR = 0x0D
LF = 0x0A


# ---- alerts -----------------------------------------------------------------


class Alert(enum.Enum):
    """The single bytes a Smart-UPS sends on its own (section 4)."""

    LINE_FAIL = ord("!")
    LINE_RESTORED = ord("$")
    LOW_BATTERY = ord("%")
    LOW_BATTERY_CLEARED = ord("+")
    REPLACE_BATTERY = ord("#")
    ABNORMAL = ord("?")
    ABNORMAL_CLEARED = ord("=")
    MEASURE_UPS_ALARM = ord("&")
    EEPROM_CHANGED = ord("|")
    TURNING_OFF = ord("*")


ALERT_MEANINGS: dict[Alert, str] = {
    Alert.LINE_FAIL: "line fail, on battery",
    Alert.LINE_RESTORED: "line power restored",
    Alert.LOW_BATTERY: "low battery",
    Alert.LOW_BATTERY_CLEARED: "low battery cleared",
    Alert.REPLACE_BATTERY: "replace battery",
    Alert.ABNORMAL: "abnormal condition (overload or low-battery shutdown)",
    Alert.ABNORMAL_CLEARED: "abnormal condition cleared",
    Alert.MEASURE_UPS_ALARM: "Measure-UPS alarm: check register J",
    Alert.EEPROM_CHANGED: "EEPROM changed",
    Alert.TURNING_OFF: "about to turn off",
}

_ALERT_BYTES = frozenset(a.value for a in Alert)


# ---- stream splitter ----------------------------------------------------------


class ReadMode(enum.Enum):
    """How the bytes of the next reply line are told apart from alerts."""

    ALERTS = "alerts"  # every alert byte is an alert (all ordinary replies)
    CAPS = "caps"  # ^Z reply: '#' is data (it starts the string)
    RAW = "raw"  # a reply: nothing is an alert (it lists the alert characters)


@dataclass(frozen=True, slots=True)
class AlertEvent:
    alert: Alert


@dataclass(frozen=True, slots=True)
class ReplyLine:
    """One reply, CR removed, LF not included."""

    data: bytes


@dataclass(frozen=True, slots=True)
class Overflow:
    """A line longer than NUT's buffer: its bytes are dropped up to the LF."""


StreamEvent = AlertEvent | ReplyLine | Overflow


class Splitter:
    """Separates alert bytes from LF-terminated reply lines.

    Alerts may arrive before a reply or in the middle of one; they come out
    in the order they arrived, each before the line they interrupted.  The
    mode set with :meth:`expect` applies to the next line only.
    """

    def __init__(self) -> None:
        self._line = bytearray()
        self._mode = ReadMode.ALERTS
        self._overflowed = False

    @property
    def pending(self) -> bytes:
        """The bytes of the reply line read so far."""
        return bytes(self._line)

    def expect(self, mode: ReadMode) -> None:
        self._mode = mode

    def clear(self) -> None:
        """Forget a partial line (a flush before a new command)."""
        self._line.clear()
        self._overflowed = False
        self._mode = ReadMode.ALERTS

    def feed(self, data: bytes) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        for byte in data:
            if byte == CR:
                continue
            if byte == LF:
                events.append(Overflow() if self._overflowed else ReplyLine(bytes(self._line)))
                self.clear()
                continue
            if byte in _ALERT_BYTES and self._is_alert(byte):
                events.append(AlertEvent(Alert(byte)))
                continue
            if len(self._line) >= MAX_LINE:
                self._overflowed = True
            else:
                self._line.append(byte)
        return events

    def _is_alert(self, byte: int) -> bool:
        if self._mode is ReadMode.RAW:
            return False
        return not (self._mode is ReadMode.CAPS and byte == Alert.REPLACE_BATTERY.value)


# ---- status register ----------------------------------------------------------

CAL, TRIM, BOOST, OL, OB, OVER, LB, RB = (1 << bit for bit in range(8))
_STATUS_TOKENS = ((CAL, "CAL"), (TRIM, "TRIM"), (BOOST, "BOOST"), (OL, "OL"),
                  (OB, "OB"), (OVER, "OVER"), (LB, "LB"), (RB, "RB"))
_HEX2 = re.compile(rb"[0-9A-Fa-f]{2}")


def parse_register(line: bytes) -> int | None:
    """A two-hex-digit reply (Q, 9, ~, ', 8, 7) as a number; None if garbled."""
    if _HEX2.fullmatch(line) is None:
        return None
    return int(line, 16)


def status_tokens(status: int) -> list[str]:
    """NUT's ``ups.status`` words for a Q value, in NUT's fixed order."""
    tokens = [token for mask, token in _STATUS_TOKENS if status & mask]
    return tokens or ["OFF"]


def status_bits(tokens: Iterable[str]) -> int:
    """The Q value behind ``ups.status`` words; words Q cannot carry are ignored."""
    masks = {token: mask for mask, token in _STATUS_TOKENS}
    return sum({masks[t] for t in tokens if t in masks})


def apply_alert(status: int, alert: Alert) -> int:
    """How NUT's alert handler changes the status bits between polls."""
    if alert is Alert.LINE_FAIL:
        return (status & ~OL) | OB
    if alert is Alert.LINE_RESTORED:
        return (status & ~OB) | OL
    if alert is Alert.LOW_BATTERY:
        return status | LB
    if alert is Alert.LOW_BATTERY_CLEARED:
        return status & ~LB
    if alert is Alert.REPLACE_BATTERY:
        return status | RB
    if alert is Alert.ABNORMAL:
        return status | OVER
    if alert is Alert.ABNORMAL_CLEARED:
        return status & ~OVER
    return status


def extended_status(status: int, *, charge: float | None = None,
                    register1: int | None = None) -> list[str]:
    """nutpy's optional additions to NUT's words (NUT apcsmart emits none).

    ``DISCHRG`` when on battery, ``CHRG`` when on line below 100 % and not
    calibrating, ``BYPASS`` when register 1 shows a bypass state.
    """
    extra: list[str] = []
    if status & OB:
        extra.append("DISCHRG")
    elif status & OL and not status & CAL and charge is not None and charge < 100:
        extra.append("CHRG")
    if register1 is not None and register1 & 0b101110:
        extra.append("BYPASS")
    return extra


_REGISTER2_ALARMS = (
    "Electronics fan failure", "Isolation unit fan failure", "Bypass supply failure",
    "Output voltage select failure", "DC imbalance", "Battery disconnected",
    "Trim/Boost relay fault", "Bad output voltage",
)
# Register 3 bits 0, 3 and 4 are states (off after LB, sleeping, shut down by S).
_REGISTER3_ALARMS = {
    1: "Unable to transfer to battery (overload)", 2: "Main relay failure",
    5: "Battery charger failure", 6: "Bypass relay failure", 7: "Internal temperature too high",
}


def register_alarms(register2: int | None, register3: int | None) -> list[str]:
    """nutpy's optional ``ups.alarm`` texts from registers 2 and 3."""
    texts: list[str] = []
    if register2 is not None:
        texts += [text for bit, text in enumerate(_REGISTER2_ALARMS) if register2 >> bit & 1]
    if register3 is not None:
        texts += [text for bit, text in _REGISTER3_ALARMS.items() if register3 >> bit & 1]
    return texts


# ---- variables ----------------------------------------------------------------


class Conv(enum.Enum):
    """How NUT turns a raw reply into a variable's value."""

    RAW = "raw"
    MINUTES = "minutes"  # x60, via strtol
    HOURS = "hours"  # x3600, via strtol ("ON " and "OFF" become 0)
    REASON = "reason"  # G letter -> text


TRANSFER_REASONS = {
    "R": "unacceptable utility voltage rate of change",
    "H": "high utility voltage",
    "L": "low utility voltage",
    "T": "line voltage notch or spike",
    "O": "no transfers yet since turnon",
    "S": "simulated power failure or UPS test",
}

_NUM = rb"\d{1,4}(?:\.\d{1,3})?"
_SNUM = rb"-?" + _NUM
_FIELD = rb"(?:-?\d{1,3}(?:\.\d{1,2})?|NO)?"
_PACKED = _FIELD + rb"(?:," + _FIELD + rb")*"
_TEXT = rb"[\x20-\x7e]{1,32}"
_TEXT8 = rb"[\x20-\x7e]{1,8}"


@dataclass(frozen=True, slots=True)
class VarSpec:
    """One row of NUT's variable table: a NUT name, its query byte, its format."""

    name: str
    cmd: bytes
    conv: Conv
    pattern: re.Pattern[bytes]
    polled: bool = False
    string: bool = False  # RW STRING of up to 8 characters once it answers
    packed: bool = False  # comma-separated, ``.0.`` becomes ``.1.``, ``.2.``...

    def names(self, count: int = 1) -> list[str]:
        if not self.packed:
            return [self.name]
        return [self.name.replace(".0.", f".{i + 1}.") for i in range(count)]


def _v(name: str, cmd: bytes, pattern: bytes, conv: Conv = Conv.RAW, *, polled: bool = False,
       string: bool = False, packed: bool = False) -> VarSpec:
    return VarSpec(name, cmd, conv, re.compile(pattern), polled, string, packed)


# In NUT's order: where two rows share a name or a byte, the first that
# answers in its format wins (T: temperature before uptime; b before V).
VARIABLES: tuple[VarSpec, ...] = (
    _v("ups.temperature", b"C", _SNUM, polled=True),
    _v("ups.load", b"P", _NUM, polled=True),
    _v("ups.test.interval", b"E", rb"\d{1,3}|ON ?|OFF", Conv.HOURS),
    _v("ups.test.result", b"X", rb"[A-Z]{2}", polled=True),
    _v("ups.delay.start", b"r", _NUM),
    _v("ups.delay.shutdown", b"p", _NUM),
    _v("ups.id", b"c", _TEXT8, string=True),
    _v("ups.contacts", b"i", rb"[0-9A-Fa-f]{2}", polled=True),
    _v("ups.display.language", b"\x0c", _TEXT),
    _v("input.voltage", b"L", _NUM, polled=True),
    _v("input.frequency", b"F", _NUM, polled=True),
    _v("input.sensitivity", b"s", rb"[A-Z]"),
    _v("input.quality", b"9", rb"[0-9A-Fa-f]{2}", polled=True),
    _v("input.transfer.low", b"l", _NUM),
    _v("input.transfer.high", b"u", _NUM),
    _v("input.transfer.reason", b"G", rb"[A-Z]", Conv.REASON, polled=True),
    _v("input.voltage.maximum", b"M", _NUM, polled=True),
    _v("input.voltage.minimum", b"N", _NUM, polled=True),
    _v("output.current", b"/", _NUM, polled=True),
    _v("output.voltage", b"O", _NUM, polled=True),
    _v("output.voltage.nominal", b"o", _NUM),
    _v("ambient.humidity", b"h", _NUM, polled=True),
    _v("ambient.0.humidity", b"H", _PACKED, polled=True, packed=True),
    _v("ambient.0.humidity.high", b"{", _PACKED, polled=True, packed=True),
    _v("ambient.0.humidity.low", b"}", _PACKED, polled=True, packed=True),
    _v("ambient.temperature", b"t", _SNUM, polled=True),
    _v("ambient.0.temperature", b"T", rb"\d{2}\.\d{2}", polled=True, packed=True),
    _v("ambient.0.temperature.high", b"[", _PACKED, polled=True, packed=True),
    _v("ambient.0.temperature.low", b"]", _PACKED, polled=True, packed=True),
    _v("battery.date", b"x", _TEXT8, string=True),
    _v("battery.charge", b"f", _NUM, polled=True),
    _v("battery.charge.restart", b"e", _NUM),
    _v("battery.voltage", b"B", _NUM, polled=True),
    _v("battery.voltage.nominal", b"g", _NUM),
    _v("battery.runtime", b"j", rb"\d{1,5}:?", Conv.MINUTES, polled=True),
    _v("battery.runtime.low", b"q", rb"\d{1,3}", Conv.MINUTES),
    _v("battery.packs", b">", _NUM),
    _v("battery.packs.bad", b"<", _NUM),
    _v("battery.alarm.threshold", b"k", rb"[0-9A-Z]"),
    _v("device.uptime", b"T", rb"\d{3}\.\d", Conv.HOURS, polled=True),
    _v("ups.serial", b"n", _TEXT),
    _v("ups.mfr.date", b"m", _TEXT),
    _v("ups.model", b"\x01", _TEXT),
    _v("ups.firmware.aux", b"v", _TEXT),
    _v("ups.firmware", b"b", rb"[A-Za-z0-9]+\.[A-Za-z0-9]+\.[A-Za-z0-9]+"),
    _v("ups.firmware", b"V", _TEXT),
)
QUERY_BYTES: frozenset[bytes] = frozenset(spec.cmd for spec in VARIABLES)
PACK_MAX = 4

# Dual-byte queries (SPM models), announced in the 4th section of ``a``.
DUAL_VARIABLES: dict[bytes, str] = {b"\x9f\xd3": "input.frequency",
                                    b"\x9f\xd4": "battery.current"}


def specs_for(cmd: bytes) -> list[VarSpec]:
    return [spec for spec in VARIABLES if spec.cmd == cmd]


def spec_named(name: str) -> VarSpec | None:
    """The first table row for a NUT variable (``ambient.2.humidity`` finds ``.0.``)."""
    key = re.sub(r"^ambient\.\d+\.", "ambient.0.", name) if name.startswith("ambient.") else name
    for spec in VARIABLES:
        if spec.name == key and (spec.packed or key == name):
            return spec
    return None


def convert(conv: Conv, raw: str) -> str:
    """NUT's ``convert_data``: raw pass-through except MIN, HRS and REASON."""
    if conv is Conv.MINUTES:
        return str(60 * _strtol(raw))
    if conv is Conv.HOURS:
        return str(3600 * _strtol(raw))
    if conv is Conv.REASON:
        return TRANSFER_REASONS.get(raw[:1], raw)
    return raw


def _strtol(text: str) -> int:
    match = re.match(r"\s*([+-]?\d+)", text)
    return int(match.group(1)) if match else 0


class Outcome(enum.Enum):
    VALUE = "value"
    NA = "na"  # the UPS does not know (NUT deletes a polled variable for good)
    BAD = "bad"  # the line does not have the query's format: publish nothing


@dataclass(frozen=True, slots=True)
class Reading:
    outcome: Outcome
    values: dict[str, str] = field(default_factory=dict)


NOT_AVAILABLE = Reading(Outcome.NA)
GARBLED = Reading(Outcome.BAD)


def decode(cmd: bytes, line: bytes, *, output_frequency: bool = False) -> Reading:
    """The NUT variables carried by ``line``, the reply to query ``cmd``.

    ``output_frequency``: the UPS announced the dual-byte frequency query, so
    NUT calls ``F`` ``output.frequency``.
    """
    if line == b"NA":
        return NOT_AVAILABLE
    if not line:
        return GARBLED  # NUT counts an empty reply as a failed read
    for spec in specs_for(cmd):
        if spec.pattern.fullmatch(line) is None:
            continue
        raw = line.decode("ascii")
        if not spec.packed:
            name = spec.name
            if output_frequency and name == "input.frequency":
                name = "output.frequency"
            return Reading(Outcome.VALUE, {name: convert(spec.conv, raw)})
        fields = raw.split(",")[:PACK_MAX]
        return Reading(Outcome.VALUE, {
            name: convert(spec.conv, value) if value else "N/A"
            for name, value in zip(spec.names(len(fields)), fields, strict=True)})
    return GARBLED


def decode_dual(cmd: bytes, line: bytes) -> Reading:
    """A reply to a dual-byte query, passed through raw."""
    name = DUAL_VARIABLES.get(cmd)
    if name is None or line == b"NA":
        return NOT_AVAILABLE if name else GARBLED
    if re.fullmatch(_NUM, line) is None:
        return GARBLED
    return Reading(Outcome.VALUE, {name: line.decode("ascii")})


def encode(name: str, value: str) -> tuple[bytes, str] | None:
    """The query byte and raw reply that make NUT publish ``name: value``.

    The inverse of :func:`decode` (used to load a simulator from a NUT dump);
    None when the value has no Smart form.  ``ups.status`` maps to ``Q``.
    """
    if name == "ups.status":
        return STATUS, f"{status_bits(value.split()):02X}"
    if name == "output.frequency":
        name = "input.frequency"
    candidates = [spec for spec in VARIABLES if spec.name == name]
    if not candidates and (spec := spec_named(name)) is not None:
        candidates = [spec]
    for spec in candidates:
        raw = _unconvert(spec, value)
        if raw is not None and spec.pattern.fullmatch(raw.encode("ascii", "replace")):
            return spec.cmd, raw
    return None


def encode_all(variables: dict[str, str]) -> dict[bytes, str]:
    """Raw replies for a whole set of NUT variables (a device dump).

    Packed ``ambient.N.*`` values are joined back into one comma-separated
    reply; variables with no Smart form (``driver.*``, ``device.*``,
    ``ups.mfr``...) are left out.
    """
    raw: dict[bytes, str] = {}
    packs: dict[bytes, dict[int, str]] = {}
    for name, value in variables.items():
        spec = spec_named(name)
        if spec is not None and spec.packed and spec.name != name:
            number = int(name.split(".")[1])
            if 1 <= number <= PACK_MAX:
                field_raw = _unconvert(spec, value)
                if field_raw is not None:
                    packs.setdefault(spec.cmd, {})[number] = field_raw
            continue
        encoded = encode(name, value)
        if encoded is not None:
            raw[encoded[0]] = encoded[1]
    for cmd, fields in packs.items():
        raw[cmd] = ",".join(fields.get(i, "") for i in range(1, max(fields) + 1))
    return raw


def _unconvert(spec: VarSpec, value: str) -> str | None:
    if spec.conv is Conv.REASON:
        for letter, text in TRANSFER_REASONS.items():
            if value == text:
                return letter
        return value
    if spec.conv is Conv.RAW:
        return "" if value == "N/A" and spec.packed else value
    if not value.isdigit():
        return None
    number = int(value)
    if spec.conv is Conv.MINUTES:
        if number % 60:
            return None
        return f"{number // 60:04d}:" if spec.cmd == b"j" else f"{number // 60:02d}"
    if number % 3600:
        return None
    hours = number // 3600
    if spec.cmd == b"T":
        return f"{hours:03d}.0"
    return f"{hours:03d}" if hours else "OFF"


# ---- capability discovery: ``a`` ---------------------------------------------

_CMDSET_FORMAT = re.compile(rb"[0-9]\.[^.]*\.[^.]+(?:\.[^.]+)?")

INSTCMD_BYTES: dict[bytes, tuple[str, ...]] = {
    b"@": ("shutdown.return",),
    b"S": ("shutdown.return",),
    b"K": ("shutdown.stayoff",),
    b"Z": ("load.off",),
    b"\x0e": ("load.on",),
    b"D": ("calibrate.start", "calibrate.stop"),
    b"A": ("test.panel.start",),
    b"U": ("test.failure.start",),
    b"W": ("test.battery.start", "test.battery.stop"),
    b"^": ("bypass.start", "bypass.stop"),
}


@dataclass(frozen=True, slots=True)
class CmdSet:
    """The ``a`` reply: protocol version, alert bytes, command bytes, dual-byte queries."""

    version: int
    alerts: bytes
    commands: bytes
    dual: tuple[bytes, ...] = ()


def parse_cmdset(line: bytes) -> CmdSet | None:
    """None for NA, timeout leftovers or any line NUT would not accept."""
    if _CMDSET_FORMAT.fullmatch(line) is None:
        return None
    version, alerts, commands, *rest = line.split(b".")
    dual: list[bytes] = []
    if rest:
        ext = rest[0]
        prefix: int | None = None
        for i, byte in enumerate(ext):
            if i + 1 < len(ext) and ext[i + 1] == 0x3A:
                prefix = byte
            elif byte != 0x3A and prefix is not None:
                dual.append(bytes((prefix, byte)))
    return CmdSet(int(version), alerts, commands, tuple(dual))


@dataclass(frozen=True, slots=True)
class Discovery:
    """What NUT makes of a command list, in the order it walks it."""

    queries: bytes  # variable bytes to probe, each once
    instcmds: tuple[str, ...]  # registered without being sent
    unrecognized: bytes
    caps: bool  # ^Z listed: read the EEPROM choices after probing


def discover(commands: bytes) -> Discovery:
    queries = bytearray()
    instcmds: list[str] = []
    unknown = bytearray()
    for byte in commands:
        cmd = bytes((byte,))
        if byte in UNPROBED:
            continue
        if cmd in QUERY_BYTES:
            if byte not in queries:
                queries.append(byte)
        elif cmd in INSTCMD_BYTES:
            instcmds += [n for n in INSTCMD_BYTES[cmd] if n not in instcmds]
        else:
            unknown.append(byte)
    return Discovery(bytes(queries), tuple(instcmds), bytes(unknown), CAPS[0] in commands)


# ---- capability discovery: ``^Z`` --------------------------------------------


@dataclass(frozen=True, slots=True)
class CapEntry:
    cmd: bytes
    locale: str
    values: tuple[str, ...]


def parse_caps(line: bytes, *, tolerate_overflow: bool = False) -> list[CapEntry] | None:
    """The EEPROM choices; None if the string is not one.

    An entry running past the end is fatal in NUT, except for the quirky
    firmware ``451.2.I`` (``tolerate_overflow``), where parsing just stops.
    """
    if not line.startswith(b"#") or any(b < 0x20 or b > 0x7E for b in line):
        return None
    matrix = line.startswith(b"##")
    pos = 0 if matrix else 1
    entries: list[CapEntry] = []
    while pos < len(line):
        if matrix:
            pos += 2
        if pos + 4 > len(line):
            return entries if tolerate_overflow else None
        cmd, locale, count, width = line[pos:pos + 4]
        count = max(count - 0x30, 0)
        width = max(width - 0x30, 0)
        end = pos + 4 + count * width
        if end > len(line):
            return entries if tolerate_overflow else None
        body = line[pos + 4:end].decode("ascii")
        values = tuple(body[i * width:(i + 1) * width] for i in range(count))
        entries.append(CapEntry(bytes((cmd,)), chr(locale), values))
        pos = end
    return entries


def firmware_locale(firmware: str) -> str:
    """The locale letter NUT reads from the last character of ``ups.firmware``."""
    return firmware[-1:]


def caps_enums(entries: Iterable[CapEntry], locale: str,
               present: Collection[str]) -> dict[str, list[str]]:
    """NUT variable -> its ENUM values (converted), for the variables that become RW.

    ``present``: the NUT variables the UPS answered.  An entry counts when its
    byte belongs to a present, non-packed variable and its locale is the
    UPS's or ``4`` (all).  A value already listed is not listed again (as
    NUT's ``dstate_addenum``: ``E``'s ``"ON "`` and ``OFF`` both become ``0``).
    """
    enums: dict[str, list[str]] = {}
    for entry in entries:
        spec = next((s for s in specs_for(entry.cmd) if s.name in present), None)
        if spec is None or spec.packed or entry.locale not in (locale, "4"):
            continue
        values = enums.setdefault(spec.name, [])
        for raw in entry.values:
            value = convert(spec.conv, raw)
            if value not in values:
                values.append(value)
    return enums


# ---- firmware and model ---------------------------------------------------------

OLD_MODELS = {
    "0": "Matrix-UPS 3000", "5": "Matrix-UPS 5000", "2": "Smart-UPS 250",
    "3": "Smart-UPS 400", "4": "Smart-UPS 400", "6": "Smart-UPS 600", "7": "Smart-UPS 900",
    "8": "Smart-UPS 1250", "9": "Smart-UPS 2000", "A": "Smart-UPS 1400",
    "B": "Smart-UPS 1000", "C": "Smart-UPS 650", "D": "Smart-UPS 420", "E": "Smart-UPS 280",
    "F": "Smart-UPS 450", "G": "Smart-UPS 700", "H": "Smart-UPS 700 XL",
    "I": "Smart-UPS 1000", "J": "Smart-UPS 1000 XL", "K": "Smart-UPS 1400",
    "L": "Smart-UPS 1400 XL", "M": "Smart-UPS 2200", "N": "Smart-UPS 2200 XL",
    "O": "Smart-UPS 3000", "P": "Smart-UPS 5000",
}
NEW_MODELS = {
    12: "Back-UPS Pro 650", 13: "Back-UPS Pro 1000", 21: "Smart-UPS 420",
    50: "Smart-UPS 700", 52: "Smart-UPS 700", 60: "Smart-UPS 1000",
    62: "Smart-UPS v/s 650", 70: "Smart-UPS 1400", 72: "Smart-UPS 1400",
    90: "Smart-UPS 3000", 112: "Smart-UPS 5000",
}
LOCALES = {"D": "115/120 V", "I": "220-240 V", "A": "100 V (Asia)", "J": "100 V (Japan)",
           "M": "208 V", "4": "all"}

_NEW_FIRMWARE = re.compile(r"(\d+)\.([A-Za-z0-9]+)\.([A-Za-z0-9])")


@dataclass(frozen=True, slots=True)
class Firmware:
    model: str | None
    locale: str
    rack: bool | None = None  # only the old form says
    sku: int | None = None  # only the new form says


def decode_firmware(text: str) -> Firmware | None:
    """Decode ``V`` (old, ``IWI``) or ``b`` (new, ``60.11.I``)."""
    match = _NEW_FIRMWARE.fullmatch(text)
    if match:
        sku = int(match.group(1))
        return Firmware(NEW_MODELS.get(sku), match.group(3), sku=sku)
    if len(text) == 3 and text.isalnum():
        kind = text[1]
        rack = True if kind == "W" else False if kind in "GT" else None
        return Firmware(OLD_MODELS.get(text[0]), text[2], rack=rack)
    return None


# Firmware answers for which NUT skips ``a`` and ``^Z`` and uses a fixed list.
_MATRIX_FULL = b"@789ABCDEFGKLMNOPQRSTUVWXYZcefgjklmnopqrsuwxz/<>\\^\x0c\x16"
_MATRIX = b"@79ABCDEFGKLMNOPQRSUVWXYZcefgjklmnopqrsuxz/<>"
_SMART = b"@79ABCDEFGKLMNOPQRSUVWXYZcefgjklmnopqrsuxz"
_SMART_I = b"@79ABCEFGKLMNOPQRSUVWXYZcfg"
COMPAT_COMMANDS: dict[str, bytes] = {
    "0XI": _MATRIX_FULL, "0XM": _MATRIX_FULL, "0ZI": _MATRIX, "5UI": _MATRIX, "5ZM": _MATRIX,
    **{key: _SMART for key in ("6QD", "6QI", "6TD", "6TI", "7QD", "7QI", "7TD", "7TI",
                               "8QD", "8QI", "8TD", "8TI")},
    "6JI": b"@789ABCFGKLMNOPQSTUVWXYZfg", "7II": _SMART_I, "9II": _SMART_I, "9GI": _SMART_I,
    "8II": _SMART_I, "8GI": b"@79ABCEFGKLMNOPQRSUVWXYZfg", "5.4.D": b"@\x01ABPQRSUYbdfgjmnx9",
}
_HEX_FIRMWARE_COMMANDS = b"@789ABCFGKLMNOPQRSUVWXYZ"
QUIRK_FIRMWARE = "451.2.I"  # its ^Z string overflows; NUT tolerates it


@dataclass(frozen=True, slots=True)
class Legacy:
    model: str  # what NUT publishes as ups.model
    commands: bytes


def legacy_lookup(firmware: str) -> Legacy | None:
    """NUT's compatibility table, keyed by the ``V`` (or ``b``) answer."""
    if _HEX2.fullmatch(firmware.encode("ascii", "replace")):
        return Legacy("Smart-UPS", _HEX_FIRMWARE_COMMANDS)
    commands = COMPAT_COMMANDS.get(firmware)
    if commands is None:
        return None
    return Legacy("Matrix-UPS" if firmware[0] in "05" else "Smart-UPS", commands)


# ---- instant commands and writes, as timed steps ----------------------------------


class Expect(enum.Enum):
    """What the driver reads after sending a step's bytes."""

    NOTHING = "nothing"  # read nothing
    SILENCE = "silence"  # any reply within the timeout aborts the command
    OK = "OK"  # the reply must be OK
    OK_OR_SILENCE = "OK or silence"  # Z: no reply counts as success
    NOT_REFUSED = "not refused"  # anything but NA, NO or a timeout (calibration)
    ANY = "any"  # read and ignore the reply; a timeout is fine


@dataclass(frozen=True, slots=True)
class Step:
    """Send ``send``; read for up to ``timeout`` s as ``expect`` says; then wait ``delay_after`` s.

    ``star_ok``: a bare ``*`` alert counts as ``OK`` (old units confirming a
    shutdown).
    """

    send: bytes
    expect: Expect
    timeout: float = 0.0
    delay_after: float = 0.0
    star_ok: bool = False

    def accepts(self, reply: bytes | None) -> bool:
        """Whether the reply (None: nothing within the timeout) lets the command go on."""
        if self.expect is Expect.NOTHING or self.expect is Expect.ANY:
            return True
        if self.expect is Expect.SILENCE:
            return reply is None
        if reply == b"*" and self.star_ok:
            return True
        if self.expect is Expect.OK:
            return reply == b"OK"
        if self.expect is Expect.OK_OR_SILENCE:
            return reply is None or reply == b"OK"
        return reply is not None and reply not in (b"NA", b"NO")


PEEK_WINDOW = 0.2  # NUT's no-reply window after the first byte of a sequence
PRESS_GAP = 1.3  # then this long before the second press (1.5 s apart in all)
PACE = 0.05  # between the bytes of @nnn and -string
CS_DELAY = 3.5  # NUT's cshdelay between U and S

NASTY = frozenset({"shutdown.return", "shutdown.stayoff", "load.off"})
MIN_NASTY_GAP = 3.0
MAX_NASTY_GAP = 15.0

_AT_PARAM = re.compile(r"[Aa][Tt]:([0-9]{1,3})")


class UnknownCommand(ValueError):
    """Not an instant command this driver knows, or a bad parameter for it."""


def _double_press(cmd: bytes, last: Step) -> list[Step]:
    return [Step(cmd, Expect.SILENCE, PEEK_WINDOW, PRESS_GAP), last]


def _simple(cmd: bytes, expect: Expect = Expect.OK) -> list[Step]:
    return [Step(cmd, expect, REPLY_TIMEOUT)]


def instcmd_steps(name: str, param: str | None = None, *,
                  status: int | None = None) -> list[Step]:
    """The bytes NUT sends for an instant command, with its timing.

    ``status``: the last Q value.  ``calibrate.*`` needs it (NUT reads Q first
    and sends nothing when there is nothing to do: an empty list), and so does
    ``shutdown.return cs`` (it sends ``U`` only when on line).
    """
    name = name.lower()
    if name == "shutdown.return":
        return _shutdown_return(param, status)
    if param:
        raise UnknownCommand(f"{name} takes no parameter")
    if name == "shutdown.stayoff":
        return _double_press(b"K", Step(b"K", Expect.OK, SMART_MODE_TIMEOUT, star_ok=True))
    if name == "load.off":
        return _double_press(b"Z", Step(b"Z", Expect.OK_OR_SILENCE, SMART_MODE_TIMEOUT,
                                        star_ok=True))
    if name == "load.on":
        return _double_press(b"\x0e", Step(b"\x0e", Expect.NOTHING))
    if name in ("calibrate.start", "calibrate.stop"):
        if status is None:
            raise UnknownCommand(f"{name} needs the status register")
        running = bool(status & CAL)
        if running == (name == "calibrate.start"):
            return []
        return _simple(b"D", Expect.NOT_REFUSED)
    simple = {"test.panel.start": b"A", "test.failure.start": b"U",
              "test.battery.start": b"W", "test.battery.stop": b"W",
              "bypass.start": b"^", "bypass.stop": b"^"}
    if name in simple:
        return _simple(simple[name])
    raise UnknownCommand(f"unknown command {name}")


def _shutdown_return(param: str | None, status: int | None) -> list[Step]:
    confirm = Step(b"S", Expect.OK, SMART_MODE_TIMEOUT, star_ok=True)
    if not param:
        return [confirm]
    if param.lower() == "cs":
        if status is not None and status & OL:
            return [Step(b"U", Expect.ANY, SMART_MODE_TIMEOUT, CS_DELAY), confirm]
        return [confirm]
    match = _AT_PARAM.fullmatch(param)
    if match is None:
        raise UnknownCommand(f"shutdown.return: bad parameter {param!r}")
    return at_steps(match.group(1))


def at_steps(digits: str) -> list[Step]:
    """``@`` and its wake-up delay (units of 6 min): 3 digits, or exactly 2 if given 2."""
    width = 2 if len(digits) == 2 else 3
    text = digits.zfill(width).encode("ascii")
    steps = [Step(b"@", Expect.SILENCE, PEEK_WINDOW)]
    steps += [Step(bytes((d,)), Expect.NOTHING, 0.0, PACE) for d in text[:-1]]
    steps.append(Step(text[-1:], Expect.OK, SMART_MODE_TIMEOUT, star_ok=True))
    return steps


# When a 2-digit ``@nn`` is refused, NUT sends this to reset the sequence.
AT_RECOVERY = Step(SMART_MODE, Expect.ANY, SMART_MODE_TIMEOUT)


def needs_at_recovery(steps: list[Step]) -> bool:
    """Whether a failure of ``steps`` must be followed by :data:`AT_RECOVERY` (``@nn``)."""
    return len(steps) == 3 and steps[0].send == b"@"
# One step of an enum write: the driver re-queries after each.
ENUM_STEP = Step(NEXT_VALUE, Expect.OK, REPLY_TIMEOUT)


def string_write_steps(value: str) -> list[Step]:
    """Writing ``ups.id``/``battery.date`` after querying it: ``-`` and 8 CR-padded bytes."""
    if len(value) > STRING_LENGTH or any(not " " <= ch <= "~" for ch in value):
        raise ValueError(f"not an 8-character printable value: {value!r}")
    data = value.encode("ascii").ljust(STRING_LENGTH, b"\r")
    steps = [Step(NEXT_VALUE, Expect.SILENCE, PEEK_WINDOW)]
    steps += [Step(bytes((b,)), Expect.NOTHING, 0.0, PACE) for b in data[:-1]]
    steps.append(Step(data[-1:], Expect.OK, REPLY_TIMEOUT))
    return steps


class NastyGuard:
    """NUT runs shutdown.* and load.off only when the previous try came 3-15 s earlier.

    The timer is shared by all of them and restarts on every try.
    """

    def __init__(self) -> None:
        self._last: float | None = None

    def allow(self, now: float) -> bool:
        last, self._last = self._last, now
        return last is not None and MIN_NASTY_GAP <= now - last <= MAX_NASTY_GAP


# ---- killpower: what NUT's ``apcsmart -k`` sends ---------------------------------


@dataclass(frozen=True, slots=True)
class ShutdownMethod:
    """One way of telling the UPS to cut its output, as ``sdtype``/``advorder`` name them."""

    name: str  # NUT's man page name, e.g. "soft hibernate (S)"
    steps: list[Step]
    returns: bool  # whether the output comes back by itself when the mains return


# ``advorder`` digits, in NUT's order.
_ADVORDER = "01234"


def _method(digit: str, status: int, awd: str | None) -> ShutdownMethod:
    if digit == "0":
        return ShutdownMethod("soft hibernate (S)", _shutdown_return(None, None), True)
    if digit == "1":
        return ShutdownMethod(f"hard hibernate (@{awd or '000'})", at_steps(awd or "000"), True)
    if digit == "2":
        return ShutdownMethod("delayed poweroff (K K)", instcmd_steps("shutdown.stayoff"), False)
    if digit == "3":
        return ShutdownMethod("instant poweroff (Z Z)", instcmd_steps("load.off"), False)
    return ShutdownMethod("forced on-battery soft hibernate (U, S)",
                          _shutdown_return("cs", status), True)


def killpower_plan(status: int, *, sdtype: str | None = None, advorder: str | None = None,
                   awd: str | None = None) -> list[ShutdownMethod]:
    """The shutdown methods to try in turn, stopping at the first one the UPS confirms.

    Follows NUT's ``upsdrv_shutdown``: ``advorder`` (digits 0-4, unless it
    starts with ``N``) wins over ``sdtype``; the default sends ``@awd`` on line
    and ``S`` on battery.  ``status`` is the Q register just read (NUT assumes
    OB+LB when it cannot read it).  Raises ValueError for an unusable option.
    """
    if awd is not None and not (awd.isdigit() and len(awd) <= 3):
        raise ValueError(f"awd '{awd}': up to 3 digits")
    if advorder and advorder[0].upper() != "N":
        if any(digit not in _ADVORDER for digit in advorder):
            raise ValueError(f"advorder '{advorder}': digits 0-4 only")
        return [_method(digit, status, awd) for digit in advorder]
    kind = sdtype or "0"
    on_battery = bool(status & OB)
    plans = {"1": ["0", "1"] if on_battery else ["1"], "2": ["3"], "3": ["2"],
             "4": ["4"], "5": ["1"]}
    if kind == "0":
        return [_method("1" if status & OL else "0", status, awd)]
    if kind not in plans:
        raise ValueError(f"sdtype '{sdtype}': 0 to 5 only")
    return [_method(digit, status, awd) for digit in plans[kind]]
