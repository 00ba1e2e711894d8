"""APC Microlink wire protocol, without I/O.

Everything here works on bytes and on a ``now`` passed in by the caller:

* framing and the Fletcher-style checksum (records from the UPS, write frames
  to it) and :class:`FrameAssembler`, which pulls checksum-valid records out
  of an arbitrary byte stream;
* the page-0 :class:`Header` and the descriptor bytecode, parsed into a
  :class:`Layout` (usage path -> blob offset and size), so any row width and
  any layout work;
* decoding of the NUT variables from the blob (:func:`decode_values`) and the
  write frames for settings and instant commands (:func:`encode_setting`,
  :func:`encode_command`);
* :class:`Session`, the host side of the session (set-up sweep,
  authentication, polling, recovery), in the manner of h11: the caller moves
  the bytes and keeps the time.
"""

from __future__ import annotations

import datetime
import enum
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

ACK = 0xFE  # "next": the UPS answers with the next page
NAK = 0xFD  # "reset" in set-up, "repeat the last record" when monitoring
BACK = 0xF7  # sent by PowerChute and klaasdc; meaning unknown, we never send it

MIN_WIDTH = 4
MAX_WIDTH = 64
_KEEP = 255  # bytes of unparsed input kept on overflow (as NUT)


class MicrolinkError(Exception):
    """The UPS sent something this codec cannot work with (bad descriptor)."""


# ---- checksum and frames --------------------------------------------------


def running_sums(data: Iterable[int], s0: int = 0, s1: int = 0) -> tuple[int, int]:
    """The checksum's two running sums mod 255, continued from ``(s0, s1)``."""
    for x in data:
        s0 = (s0 + x) % 255
        s1 = (s1 + s0) % 255
    return s0, s1


def check_bytes(data: bytes) -> bytes:
    """The two check bytes that follow ``data`` on the wire (each 1..255)."""
    c0, c1 = running_sums(data)
    cb0 = 255 - (c0 + c1) % 255
    cb1 = 255 - (c0 + cb0) % 255
    return bytes((cb0, cb1))


def frame(data: bytes) -> bytes:
    return data + check_bytes(data)


def frame_ok(raw: bytes | bytearray) -> bool:
    """True if the last two bytes are the check bytes of the rest."""
    return len(raw) >= 3 and check_bytes(bytes(raw[:-2])) == raw[-2:]


def record(page: int, data: bytes) -> bytes:
    """A UPS->host record: page id, one row of data, check bytes."""
    return frame(bytes((page,)) + data)


def write_frame(page: int, offset: int, data: bytes) -> bytes:
    """A host->UPS write of ``data`` at ``offset`` within ``page``."""
    return frame(bytes((page, offset, len(data))) + data)


@dataclass(frozen=True, slots=True)
class Record:
    page: int
    data: bytes


class FrameAssembler:
    """Turns a byte stream from the UPS into checksum-valid records.

    Until the row width is known only page 0 is accepted (its third byte gives
    the width).  Bytes that do not start a valid record are skipped one at a
    time, so strays and corrupt records cost nothing but themselves.
    """

    def __init__(self, width: int | None = None, count: int | None = None) -> None:
        self.width = width
        self.count = count  # page ids >= count are never valid
        self._buf = bytearray()
        self.skipped = 0  # bytes discarded so far (strays, corrupt records)

    def clear(self) -> None:
        self.skipped += len(self._buf)
        self._buf.clear()

    def feed(self, data: bytes) -> list[Record]:
        buf = self._buf
        buf += data
        out: list[Record] = []
        while buf:
            if buf[0] == ACK:  # echoed polls on some cables
                self._drop(1)
                continue
            width = self.width
            if width is None:
                if buf[0] != 0:
                    self._drop(1)
                    continue
                if len(buf) < 3:
                    break
                width = buf[2]
                if not MIN_WIDTH <= width <= MAX_WIDTH:
                    self._drop(1)
                    continue
            size = width + 3
            if len(buf) < size:
                break
            page = buf[0]
            if (self.count is None or page < self.count) and frame_ok(buf[:size]):
                out.append(Record(page, bytes(buf[1:size - 2])))
                del buf[:size]
                if self.width is None:
                    self.width = width
            else:
                self._drop(1)
        if len(buf) > _KEEP:
            self._drop(len(buf) - _KEEP)
        return out

    def _drop(self, n: int) -> None:
        del self._buf[:n]
        self.skipped += n


# ---- page 0 and the descriptor --------------------------------------------

FLAG_AUTH_REQUIRED = 0x01
FLAG_DESCRIPTOR = 0x08
DESCRIPTOR_START = 12  # blob offset of the descriptor bytecode


@dataclass(frozen=True, slots=True)
class Header:
    """Page 0: protocol version, row width, page count and where data starts."""

    raw: bytes
    version: int
    width: int
    count: int
    series_id: int
    series_version: int
    flags: int
    descriptor_version: int
    data_pointer: int

    @classmethod
    def parse(cls, data: bytes) -> Header:
        if len(data) < 12:
            raise MicrolinkError(f"page 0 is {len(data)} bytes, need 12")
        return cls(raw=bytes(data), version=data[0], width=data[1], count=data[2],
                   series_id=int.from_bytes(data[3:5], "big"), series_version=data[5],
                   flags=data[6], descriptor_version=data[8],
                   data_pointer=int.from_bytes(data[10:12], "big"))

    @property
    def auth_required(self) -> bool:
        return bool(self.flags & FLAG_AUTH_REQUIRED)

    @property
    def data_start(self) -> int:
        """Blob offset of the data area (data pointer: high byte page, low offset)."""
        return (self.data_pointer >> 8) * self.width + (self.data_pointer & 0xFF)

    @property
    def data_page(self) -> int:
        """The first page holding data rather than descriptor bytecode."""
        return self.data_start // self.width


@dataclass(frozen=True, slots=True)
class Field:
    """One usage: where its value lives in the blob."""

    path: str
    offset: int  # blob offset
    size: int
    skipped: bool = False  # occupies data space, not published (F5)
    limits: tuple[int, int] | None = None  # (min, max) raw, from an FA token


class _End(Exception):
    """F6: the descriptor is over."""


class _Parser:
    def __init__(self, blob: bytes, data_offset: int) -> None:
        self.blob = blob
        self.data = data_offset
        self.fields: dict[str, Field] = {}

    def byte(self, pos: int) -> int:
        if pos >= len(self.blob):
            raise MicrolinkError("descriptor runs past the end of the blob")
        return self.blob[pos]

    def block(self, pos: int, path: str) -> int:
        """Parse up to the closing FF; return the position after it."""
        skip_next = False
        while pos < len(self.blob):
            token = self.blob[pos]
            pos += 1
            if token == 0xF6:
                raise _End
            if token == 0xFF:
                return pos
            if token == 0xF7:
                continue
            if token == 0xF5:
                skip_next = True
            elif token == 0xF4:
                pos = self.block(pos, path)
            elif token == 0xF8:
                pos = self.block(pos + 1, f"{self.byte(pos):X}:")
            elif token == 0xFE:
                pos = self.block(pos + 1, f"{path}{self.byte(pos):X}.")
            elif token == 0xFD:
                ident, count = self.byte(pos), self.byte(pos + 1)
                end = pos + 2
                for i in range(count):  # the body repeats, data index by index
                    end = self.block(pos + 2, f"{path}{ident:X}[{i}].")
                pos = end
            elif token == 0x00 or token >= 0xE0:
                raise MicrolinkError(f"invalid descriptor token {token:02X} at {pos - 1}")
            else:
                pos = self.usage(pos, path, token, skip_next)
                skip_next = False
        return pos

    def number(self, pos: int, size: int) -> int:
        if pos + size > len(self.blob):
            raise MicrolinkError("descriptor runs past the end of the blob")
        return int.from_bytes(self.blob[pos:pos + size], "big")

    def usage(self, pos: int, path: str, ident: int, skipped: bool) -> int:
        size = 2
        limits = None
        while pos < len(self.blob):
            token = self.blob[pos]
            if token == 0xFC:
                size = self.byte(pos + 1)
                pos += 2
            elif token in (0xFB, 0xF9):  # bitmask / default value
                pos += 1 + size
            elif token == 0xFA:  # max then min
                limits = self.number(pos + 1 + size, size), self.number(pos + 1, size)
                pos += 1 + 2 * size
            else:
                break
        sep = "" if not path or path[-1] in ":." else "."
        name = f"{path}{sep}{ident:X}"
        self.fields.setdefault(name, Field(name, self.data, size, skipped, limits))
        self.data += size
        return pos


def parse_descriptor(blob: bytes, data_offset: int,
                     start: int = DESCRIPTOR_START) -> dict[str, Field]:
    """Usage path -> field, from the descriptor bytecode at ``start``.

    Paths are spelled as NUT spells them (``2:4.9.40``, ``2:4.3D[0].B6``,
    ``3:4A``); the first occurrence of a path wins.
    """
    parser = _Parser(blob, data_offset)
    pos = start
    try:
        while pos < len(blob):  # FF at top level closes nothing: carry on
            pos = parser.block(pos, "")
    except _End:
        pass
    return parser.fields


@dataclass(frozen=True, slots=True)
class Layout:
    """The header and field map of one UPS: everything position-dependent."""

    header: Header
    fields: Mapping[str, Field]

    @classmethod
    def from_blob(cls, header: Header, blob: bytes) -> Layout:
        if not header.flags & FLAG_DESCRIPTOR or header.descriptor_version != 1:
            raise MicrolinkError(f"no usable descriptor (flags {header.flags:02X}, "
                                 f"version {header.descriptor_version})")
        if header.data_start >= len(blob):
            raise MicrolinkError(f"data pointer {header.data_pointer:04X} is past the blob")
        fields = parse_descriptor(blob, header.data_start)
        for f in fields.values():
            if f.offset + f.size > len(blob):
                raise MicrolinkError(f"usage {f.path} lies past the last page")
        return cls(header, fields)

    def field(self, path: str) -> Field | None:
        f = self.fields.get(path)
        return None if f is None or f.skipped else f

    def locate(self, f: Field) -> tuple[int, int]:
        """(page, offset within the page) of a field."""
        return divmod(f.offset, self.header.width)

    def write(self, f: Field, data: bytes) -> bytes:
        """The frame that writes ``data`` (exactly ``f.size`` bytes) to ``f``."""
        if len(data) != f.size:
            raise ValueError(f"{f.path} is {f.size} bytes, not {len(data)}")
        page, offset = self.locate(f)
        if offset + f.size > self.header.width:
            raise ValueError(f"{f.path} straddles two pages and cannot be written")
        return write_frame(page, offset, data)


# ---- authentication -------------------------------------------------------

MASTER_PASSWORD = "2:4.8.6"
SLAVE_PASSWORD = "2:4.8.5"
AUTH_STATUS = "2:4.8.9"
SERIAL = "2:4.9.40"


def auth_key(header: bytes, serial: bytes) -> tuple[int, int]:
    """K: the running sums over header bytes 0-7 and the serial usage,
    seeded with the series id low byte, then its high byte."""
    return running_sums(header[:8] + serial, header[4], header[3])


def slave_password(key: tuple[int, int], master: bytes, r: bytes = b"\0\0") -> bytes:
    """What the host writes: two free bytes, then F(K; master[0], master[1])."""
    return r[:2] + bytes(running_sums(master[:2], *key))


def master_tail(key: tuple[int, int], r: bytes) -> bytes:
    """The last two master bytes a UPS sets after accepting slave ``r + ...``."""
    return bytes(running_sums(r[:2], *key))


# ---- NUT variables ----------------------------------------------------------


class Kind(enum.Enum):
    STRING = "string"  # ASCII, NUL-padded
    HEX = "hex"  # lower-case, two digits a byte
    DATE = "date"  # days since 2000-01-01
    FIXED = "fixed"  # raw / 2**bp
    ENUM = "enum"  # one value, looked up in labels
    BITS = "bits"  # labels of every set bit, space-separated
    FIXED_MAP = "fixedmap"  # special values from labels, else fixed point


def _bits(*names: str, start: int = 0) -> dict[int, str]:
    """Labels for consecutive bits; an empty name leaves that bit out."""
    return {1 << (start + i): name for i, name in enumerate(names) if name}


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

MAX_SWITCHED_GROUPS = 4


def _instances(spec: VarSpec) -> Iterator[tuple[str, str]]:
    """(path, name) pairs of a spec; four of them for switched-group templates."""
    if "{i}" not in spec.path:
        yield spec.path, spec.name
        return
    for i in range(MAX_SWITCHED_GROUPS):
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


def field_bytes(layout: Layout, blob: bytes, path: str) -> bytes | None:
    f = layout.field(path)
    return None if f is None else blob[f.offset:f.offset + f.size]


def _word(layout: Layout, blob: bytes, path: str) -> int | None:
    raw = field_bytes(layout, blob, path)
    return None if raw is None else _as_int(raw, False)


# Status word 2:4.A bits -> ups.status tokens and ups.alarm texts (NUT 0.01).
STATUS_BITS = {1 << 1: "OL", 1 << 2: "OB", 1 << 3: "BYPASS", 1 << 4: "OFF",
               1 << 7: "TEST", 1 << 21: "OVER"}
ALARM_BITS = {1 << 5: "General fault", 1 << 6: "Input not acceptable"}
STATUS_HIGH_EFFICIENCY = 1 << 13


def status_tokens(layout: Layout, blob: bytes) -> tuple[list[str], list[str]]:
    """(ups.status tokens, ups.alarm texts).

    NUT 0.01's tokens from the status word, plus what NUT lacks (spec §5
    "gaps"): LB from simple signalling bit 1, RB from the battery error word,
    CAL, BOOST/TRIM from input quality, HE, and CHRG/DISCHRG derived from
    OL/OB and the charge.
    """
    word = _word(layout, blob, "2:4.A") or 0
    tokens = [name for bit, name in STATUS_BITS.items() if word & bit]
    alarms = [text for bit, text in ALARM_BITS.items() if word & bit]
    if word & STATUS_HIGH_EFFICIENCY:
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


def decode_values(layout: Layout, blob: bytes) -> dict[str, str]:
    """Every NUT variable the blob holds, with derived ones (status, load, power)."""
    out: dict[str, str] = {"ups.mfr": "APC", "device.mfr": "APC"}
    for name, (spec, f) in bound_variables(layout).items():
        text = format_value(spec, blob[f.offset:f.offset + f.size])
        if text is not None:
            out[name] = text
    if "2:4.A" in layout.fields:
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
    while count <= MAX_SWITCHED_GROUPS and layout.field(f"2:4.3D[{count - 1}].B6"):
        count += 1
    return count


# ---- writing settings -------------------------------------------------------


def encode_value(spec: VarSpec, size: int, text: str) -> bytes:
    """The raw bytes of a NUT value; ValueError if it does not fit the usage."""
    kind = spec.kind
    if kind is Kind.STRING:
        data = text.encode("ascii")
        if len(data) > size:
            raise ValueError(f"longer than {size} characters")
        return data.ljust(size, b"\0")  # NUL-padded, as NUT
    if kind is Kind.DATE:
        days = (datetime.date.fromisoformat(text) - datetime.date(2000, 1, 1)).days
        return _int_bytes(days, size, False)
    if kind is Kind.HEX:
        return _int_bytes(int(text, 16), size, False)
    labels = {name.lower(): value for value, name in (spec.labels or {}).items()}
    if text.lower() in labels:
        value = labels[text.lower()]
    elif kind in (Kind.ENUM, Kind.BITS):
        value = int(text, 0)
    else:
        value = round(float(text) * (1 << spec.bp))
    return _int_bytes(value, size, spec.signed or value < 0)


def _int_bytes(value: int, size: int, signed: bool) -> bytes:
    try:
        return value.to_bytes(size, "big", signed=signed)
    except OverflowError:
        raise ValueError(f"{value} does not fit in {size} bytes") from None


def encode_setting(layout: Layout, name: str, value: str) -> bytes:
    """The write frame for ``SET VAR name value``.

    KeyError if the UPS has no such writable variable, ValueError if the value
    is not valid for it.
    """
    bound = bound_variables(layout).get(name)
    if bound is None or not bound[0].writable:
        raise KeyError(name)
    spec, f = bound
    return layout.write(f, encode_value(spec, f.size, value))


@dataclass(frozen=True, slots=True)
class Setting:
    """What upsd tells clients about a writable variable (``GET TYPE``, enums, ranges)."""

    length: int | None  # STRING:length, or None for NUMBER
    enums: tuple[str, ...] = ()
    ranges: tuple[tuple[int, int], ...] = ()


def settings(layout: Layout) -> dict[str, Setting]:
    """NUT name -> Setting for every writable variable this layout carries.

    Enumerated kinds list their labels; plain integers get the min/max the
    descriptor declares (FA), if any.
    """
    out: dict[str, Setting] = {}
    for name, (spec, f) in bound_variables(layout).items():
        if not spec.writable:
            continue
        if spec.kind is Kind.STRING:
            out[name] = Setting(f.size)
        elif spec.kind in (Kind.ENUM, Kind.BITS) and spec.labels:
            out[name] = Setting(None, enums=tuple(spec.labels.values()))
        elif spec.kind is Kind.FIXED and spec.bp == 0 and not spec.signed and f.limits:
            out[name] = Setting(None, ranges=(f.limits,))
        else:
            out[name] = Setting(None)
    return out


# ---- instant commands -------------------------------------------------------

# Command sources (the cmdsrc option): bit per command domain.
SOURCES = ("rj45", "usb", "local", "smartslot1", "internal1")
_SOURCE_BITS = {  # source -> (battery test / calibration, UPS command, outlet)
    "rj45": (1 << 10, 1 << 27, 1 << 14),
    "usb": (1 << 8, 1 << 28, 1 << 12),
    "local": (1 << 9, 1 << 29, 1 << 13),
    "smartslot1": (1 << 11, 1 << 30, 1 << 15),
    "internal1": (1 << 13, 1 << 31, 1 << 17),
}

TEST_START, TEST_STOP = 0x0001, 0x0002
UI_PANEL_TEST, UI_MUTE = 0x0001, 0x0004
UPS_BYPASS_START, UPS_BYPASS_STOP = 1 << 4, 1 << 5

OUTLET_CANCEL, OUTLET_ON, OUTLET_OFF, OUTLET_SHUTDOWN, OUTLET_REBOOT = 1, 2, 4, 8, 16
OUTLET_COLD_BOOT, OUTLET_ON_DELAY, OUTLET_OFF_DELAY = 32, 64, 128
OUTLET_TARGETS = (1 << 8, 1 << 9, 1 << 10, 1 << 11, 1 << 19)  # MOG, SOG0..SOG3

OUTLET_OPS = {
    "load.off": OUTLET_OFF,
    "load.on": OUTLET_ON,
    "load.cycle": OUTLET_REBOOT,
    "load.off.delay": OUTLET_OFF | OUTLET_OFF_DELAY,
    "load.on.delay": OUTLET_ON | OUTLET_ON_DELAY,
    "shutdown.return": OUTLET_SHUTDOWN | OUTLET_OFF_DELAY,
    "shutdown.stayoff": OUTLET_OFF | OUTLET_OFF_DELAY,
    "shutdown.reboot": OUTLET_REBOOT,
    "shutdown.reboot.graceful": OUTLET_REBOOT | OUTLET_OFF_DELAY,
}
_SIMPLE = {  # command -> (path, value, index into _SOURCE_BITS or None)
    "test.battery.start": ("2:10", TEST_START, 0),
    "test.battery.stop": ("2:10", TEST_STOP, 0),
    "calibrate.start": ("2:12", TEST_START, 0),
    "calibrate.stop": ("2:12", TEST_STOP, 0),
    "test.panel.start": ("2:4.B.3B", UI_PANEL_TEST, None),
    "beeper.mute": ("2:4.B.3B", UI_MUTE, None),
    "bypass.start": ("2:14", UPS_BYPASS_START, 1),
    "bypass.stop": ("2:14", UPS_BYPASS_STOP, 1),
}
OUTLET_COMMAND = "2:4.B5"


def _command_word(layout: Layout, name: str, source: str) -> tuple[str, int]:
    if source not in _SOURCE_BITS:
        raise ValueError(f"unknown command source {source!r} (one of {', '.join(SOURCES)})")
    if name in _SIMPLE:
        path, value, domain = _SIMPLE[name]
        if domain is not None:
            value |= _SOURCE_BITS[source][domain]
        return path, value
    groups = outlet_group_count(layout)
    op_name, targets = name, 0
    if name == "shutdown.default":
        op_name = "shutdown.return"
    if name.startswith("outlet.group."):
        number, _, op_name = name[len("outlet.group."):].partition(".")
        if not number.isdigit() or int(number) >= groups:
            raise KeyError(name)
        targets = OUTLET_TARGETS[int(number)]
    else:
        for group in range(groups):
            targets |= OUTLET_TARGETS[group]
    if op_name not in OUTLET_OPS or not groups:
        raise KeyError(name)
    return OUTLET_COMMAND, OUTLET_OPS[op_name] | targets | _SOURCE_BITS[source][2]


def encode_command(layout: Layout, name: str, source: str = "rj45") -> bytes:
    """The write frame for an instant command; KeyError if the UPS lacks it.

    Values wider than the usage are truncated to its low bytes, as NUT does
    (a 2-byte outlet command loses SOG3 and the upper sources).
    """
    path, value = _command_word(layout, name, source)
    f = layout.field(path)
    if f is None:
        raise KeyError(name)
    return layout.write(f, (value & ((1 << 8 * f.size) - 1)).to_bytes(f.size, "big"))


def available_commands(layout: Layout) -> list[str]:
    """The instant commands this layout supports, in a stable order."""
    out = [name for name, (path, _, _) in _SIMPLE.items() if layout.field(path)]
    groups = outlet_group_count(layout)
    if groups and layout.field(OUTLET_COMMAND):
        out += [*OUTLET_OPS, "shutdown.default"]
        out += [f"outlet.group.{g}.{op}" for g in range(groups) for op in OUTLET_OPS]
    return out


# ---- the host session -------------------------------------------------------


class State(enum.Enum):
    IDLE = "idle"  # start() not called yet
    CONNECTING = "connecting"  # sending FD until page 0 answers
    SETUP = "setup"  # sweeping the pages with FE
    AUTHENTICATING = "authenticating"  # slave password written, echo awaited
    MONITOR = "monitor"  # authenticated, polling data pages


@dataclass(frozen=True, slots=True)
class Authenticated:
    """The session reached MONITOR: values() and the layout are usable."""


@dataclass(frozen=True, slots=True)
class AuthFailed:
    """The UPS echoed a master password that does not prove our slave password."""


@dataclass(frozen=True, slots=True)
class SessionLost:
    reason: str


@dataclass(frozen=True, slots=True)
class Updated:
    """A full round of data pages has come in since the last one."""


@dataclass(frozen=True, slots=True)
class NoResponse:
    """Several requests in a row went unanswered: treat the data as stale."""


@dataclass(frozen=True, slots=True)
class WriteDone:
    frame: bytes


@dataclass(frozen=True, slots=True)
class WriteFailed:
    """No echo came for a write; whether the UPS applied it is unknown."""

    frame: bytes


Event = Authenticated | AuthFailed | SessionLost | Updated | NoResponse | WriteDone | WriteFailed

KEEPALIVE = 0.5  # poll at least this often; the UPS drops the session after ~0.73 s


class Session:
    """The host side of a Microlink session, as a state machine.

    The caller sends :meth:`start`'s bytes, then loops: send whatever
    :meth:`data_to_send` returns, wait for input until :meth:`next_deadline`,
    and hand what arrived to :meth:`receive_data` (or, if nothing did, call
    :meth:`handle_timeout`).  Pages are cached for the whole connection, so a
    record lost in the set-up sweep is picked up on the next sweep instead of
    starting over.
    """

    def __init__(self, *, reply_timeout: float = 0.2, poll_interval: float = 0.0,
                 max_silence: int = 3, auth_bytes: bytes = b"\0\0") -> None:
        if not 0 <= poll_interval < KEEPALIVE:
            raise ValueError(f"poll interval must be below {KEEPALIVE} s (the UPS's keepalive)")
        self.reply_timeout = reply_timeout
        self.poll_interval = poll_interval
        self.max_silence = max_silence
        self.auth_bytes = auth_bytes[:2]
        self.state = State.IDLE
        self.header: Header | None = None
        self.layout: Layout | None = None
        self.assembler = FrameAssembler()
        self._pages: dict[int, bytes] = {}
        # Set when the UPS may have changed its master password (a session ended,
        # an attempt failed) and cleared when that page comes in again.
        self._master_stale = False
        self._next: bytes | None = None  # the request to send next
        self._not_before = 0.0
        self._sent_at: float | None = None  # set while a reply is awaited
        self._in_flight: bytes | None = None  # a write awaiting its echo
        self._writes: deque[bytes] = deque()
        self._silent = 0  # consecutive timeouts
        self._key: tuple[int, int] | None = None
        self._cursor = 0  # the last page received

    # ---- driving the session --------------------------------------------

    def start(self, now: float) -> bytes:
        """(Re)open the session: send what this returns (FD) first."""
        self.state = State.CONNECTING
        self.assembler.clear()
        self._silent = 0
        self._next = bytes((NAK,))
        self._not_before = now
        return self.data_to_send(now)

    def data_to_send(self, now: float) -> bytes:
        """Bytes to write to the UPS now (often none)."""
        if self._sent_at is not None or self._next is None or now < self._not_before:
            return b""
        out = self._next
        if self.state is State.MONITOR and out == bytes((ACK,)) and self._writes:
            out = self._in_flight = self._writes.popleft()
        self._next = None
        self._sent_at = now
        self.assembler.clear()  # the UPS sends nothing unasked: leftovers are noise
        return out

    def next_deadline(self) -> float | None:
        """When to call :meth:`handle_timeout` / :meth:`data_to_send` next."""
        if self._sent_at is not None:
            return self._sent_at + self.reply_timeout
        if self._next is not None:
            return self._not_before
        return None

    def queue_write(self, data: bytes) -> None:
        """Send a write frame at the next poll once authenticated."""
        self._writes.append(data)

    def command(self, name: str, source: str = "rj45") -> bytes:
        """Queue an instant command; returns its frame.  KeyError if unknown."""
        data = encode_command(self._require_layout(), name, source)
        self.queue_write(data)
        return data

    def set_variable(self, name: str, value: str) -> bytes:
        """Queue a setting; returns its frame.  KeyError / ValueError as encode_setting."""
        data = encode_setting(self._require_layout(), name, value)
        self.queue_write(data)
        return data

    def _require_layout(self) -> Layout:
        if self.layout is None:
            raise KeyError("the descriptor has not been read yet")
        return self.layout

    @property
    def authenticated(self) -> bool:
        return self.state is State.MONITOR

    def blob(self) -> bytes:
        """All cached pages laid end to end (missing pages are zeros)."""
        h = self.header
        if h is None:
            return b""
        blank = bytes(h.width)
        return b"".join(self._pages.get(p, blank) for p in range(h.count))

    def values(self) -> dict[str, str]:
        """The NUT variables, once the descriptor is parsed and every page seen."""
        if self.layout is None or not self._complete():
            return {}
        return decode_values(self.layout, self.blob())

    def _complete(self) -> bool:
        return self.header is not None and len(self._pages) == self.header.count

    # ---- input ----------------------------------------------------------

    def handle_timeout(self, now: float) -> list[Event]:
        """Call when next_deadline() has passed without a reply."""
        if self._sent_at is None or now < self._sent_at + self.reply_timeout:
            return []
        self._sent_at = None
        self.assembler.clear()
        self._silent += 1
        events: list[Event] = []
        if self._in_flight is not None:
            events.append(WriteFailed(self._in_flight))
            self._in_flight = None
        if self._silent == self.max_silence:
            # Only reported: a UPS that comes back answers our NAKs with page 0.
            events.append(NoResponse())
        if self.state is State.SETUP and self._silent < self.max_silence \
                and self._cursor + self._silent < self._end:
            # A lost page (each unanswered FE still moved the UPS on): carry on,
            # the next sweep fills the gap.  Past the last page FE gets silence.
            self._request(ACK, now)
        else:
            # Monitoring: repeat the last record.  Otherwise (re)start the sweep.
            self._request(NAK, now)
        return events

    def receive_data(self, data: bytes, now: float) -> list[Event]:
        events: list[Event] = []
        for rec in self.assembler.feed(data):
            if self._sent_at is None and self._next is not None:
                continue  # a late duplicate: the next request is already decided
            self._sent_at = None
            self._silent = 0
            events += self._on_record(rec, now)
        return events

    @property
    def _end(self) -> int:
        return self.header.count - 1 if self.header else 0

    def _request(self, byte: int, now: float, delay: float = 0.0) -> None:
        self._next = bytes((byte,))
        self._not_before = now + delay

    def _on_record(self, rec: Record, now: float) -> list[Event]:
        events: list[Event] = []
        if rec.page == 0:
            return self._on_header(rec, now)
        if self.header is None or self.state is State.CONNECTING:
            if self.header is not None:
                self._store(rec)
            self._request(NAK, now)
            return events
        self._store(rec)
        self._cursor = rec.page
        if self.state is State.AUTHENTICATING:
            return self._on_auth_echo(rec, now)
        if self.state is State.MONITOR:
            if rec.page < self.header.data_page:
                self.state = State.SETUP
                self._master_stale = True
                events.append(SessionLost("the UPS is sending descriptor pages"))
            else:
                if self._in_flight is not None and rec.page == self._in_flight[0]:
                    events.append(WriteDone(self._in_flight))
                    self._in_flight = None
                if rec.page == self._end:
                    events.append(Updated())
                self._request(ACK, now, self.poll_interval)
                return events
        if rec.page == self._end:
            events += self._finish_sweep(now)
        else:
            self._request(ACK, now)
        return events

    def _store(self, rec: Record) -> None:
        self._pages[rec.page] = rec.data
        if self.layout is not None:
            master = self.layout.field(MASTER_PASSWORD)
            if master is not None and self.layout.locate(master)[0] == rec.page:
                self._master_stale = False

    def _on_header(self, rec: Record, now: float) -> list[Event]:
        events: list[Event] = []
        header = Header.parse(rec.data)
        if self.header is None or header.raw[:12] != self.header.raw[:12]:
            if header.width != len(rec.data) or header.count == 0:
                # Noise that passed the checksum: start over from page 0.
                self._request(NAK, now)
                return events
            self.header, self.layout, self._key = header, None, None
            self._pages.clear()  # another UPS, or it changed: forget everything
            self.assembler.width, self.assembler.count = header.width, header.count
        if self.state in (State.MONITOR, State.AUTHENTICATING):
            self._master_stale = True
        if self.state is State.MONITOR:
            events.append(SessionLost("the UPS restarted the session"))
        if self._in_flight is not None:
            events.append(WriteFailed(self._in_flight))
            self._in_flight = None
        self._pages[0] = rec.data
        self._cursor = 0
        self.state = State.SETUP
        self._request(ACK, now)
        return events

    def _finish_sweep(self, now: float) -> list[Event]:
        """Page count-1 in set-up: authenticate if everything is cached, else sweep again."""
        assert self.header is not None
        if not self._complete():
            self._request(NAK, now)
            return []
        if self.layout is None:
            self.layout = Layout.from_blob(self.header, self.blob())
        if not self.header.auth_required:
            self.state = State.MONITOR
            self._request(ACK, now)
            return [Authenticated()]
        auth = self._auth_frame()
        if auth is None:
            self._request(NAK, now)  # the master password must be from this sweep
            return []
        self.state = State.AUTHENTICATING
        self._next, self._not_before = auth, now
        return []

    def _auth_frame(self) -> bytes | None:
        layout = self.layout
        assert layout is not None and self.header is not None
        master, slave, serial = (layout.field(p) for p in (MASTER_PASSWORD, SLAVE_PASSWORD,
                                                           SERIAL))
        if master is None or slave is None or serial is None:
            raise MicrolinkError("the descriptor lacks the password or serial usages")
        if self._master_stale:
            return None
        blob = self.blob()
        self._key = auth_key(self.header.raw, blob[serial.offset:serial.offset + serial.size])
        password = slave_password(self._key, blob[master.offset:master.offset + 2],
                                  self.auth_bytes)
        return layout.write(slave, password.ljust(slave.size, b"\0"))

    def _on_auth_echo(self, rec: Record, now: float) -> list[Event]:
        layout, key = self.layout, self._key
        assert layout is not None and key is not None
        master = layout.field(MASTER_PASSWORD)
        assert master is not None
        page, offset = layout.locate(master)
        if rec.page != page:
            self._request(NAK, now)  # not the echo: ask again (page 0 if it failed)
            return []
        if rec.data[offset + 2:offset + 4] != master_tail(key, self.auth_bytes):
            self.state = State.SETUP
            self._master_stale = True
            self._request(NAK, now)
            return [AuthFailed()]
        self.state = State.MONITOR
        self._request(ACK, now, self.poll_interval)
        return [Authenticated()]
