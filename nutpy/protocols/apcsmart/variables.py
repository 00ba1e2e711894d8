"""Smart replies as NUT variables, and back: NUT ``apcsmart``'s variable table.

Every query byte has a reply format; a line that does not match it yields no
value (UPS-Link has no checksum, so the format is the only guard against
noise).  :func:`decode` gives NUT's exact value formats; :func:`encode` and
:func:`encode_all` invert it, to load a simulator from a NUT device dump.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field

from nutpy.protocols.apcsmart.framing import STATUS
from nutpy.protocols.apcsmart.status import status_bits

__all__ = ["DUAL_VARIABLES", "EVERY_POLL", "GARBLED", "NOT_AVAILABLE", "PACK_MAX", "POLL_ORDER",
           "QUERY_BYTES", "STRING_LENGTH", "TRANSFER_REASONS", "VARIABLES", "Conv",
           "Outcome", "Reading", "VarSpec", "convert", "decode", "decode_dual", "encode",
           "encode_all", "is_polled", "spec_named", "specs_for"]

# What NUT polls every cycle after Q (section 6.1 step 6); the rest hourly.
POLL_ORDER = b"QCPXLF9GMNOfBj" + b"i/htTH{}[]"
# Of those, what nutpy reads every poll: what moves from one second to the
# next (load, line and output voltage) and what a shutdown is decided on
# (charge, runtime).  The rest of NUT's polled queries (temperatures, line
# frequency and quality, transfer reason, self-test result...) are read
# every few polls, and whenever the status changes: each query is a wake-up
# of the event loop, and idle CPU is mostly wake-ups (issue #17).
EVERY_POLL = frozenset(b"PLOfj")
STRING_LENGTH = 8  # ups.id and battery.date



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


# pragma: no mutate start
# (_v runs only while the module is imported, before mutmut picks a mutant:
# its mutants cannot be tried; the table's tests pin every row it builds.)
def _v(name: str, cmd: bytes, pattern: bytes, conv: Conv = Conv.RAW, *, polled: bool = False,
       string: bool = False, packed: bool = False) -> VarSpec:
    return VarSpec(name, cmd, conv, re.compile(pattern), polled, string, packed)
# pragma: no mutate end


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


# pragma: no mutate start
# (import time only, as _v above; tests/unit/test_apcsmart_tables.py pins the index.)
def _by_query() -> dict[bytes, tuple[VarSpec, ...]]:
    rows: dict[bytes, list[VarSpec]] = {}
    for spec in VARIABLES:
        rows.setdefault(spec.cmd, []).append(spec)
    return {cmd: tuple(specs) for cmd, specs in rows.items()}
# pragma: no mutate end


# Every reply is decoded through this: indexed once, not a table scan per reply
# (that scan was an eighth of a poll's CPU time, issue #17).
_BY_QUERY = _by_query()
_POLLED = frozenset(cmd for cmd, specs in _BY_QUERY.items() if any(s.polled for s in specs))


def specs_for(cmd: bytes) -> tuple[VarSpec, ...]:
    return _BY_QUERY.get(cmd, ())


def is_polled(cmd: bytes) -> bool:
    """Whether NUT reads ``cmd`` every poll (else hourly)."""
    return cmd in _POLLED


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

