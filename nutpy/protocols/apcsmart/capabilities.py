"""What a Smart-UPS can do: its command list (``a``), EEPROM choices (``^Z``), firmware tables.

NUT's ``getbaseinfo`` learns a unit's queries and commands from ``a``, or, for
firmware it knows by its ``V``/``b`` answer, from a fixed table; units with
neither get a short fixed probe list.  ``^Z`` lists the values each EEPROM
setting can take, which makes those variables writable enums.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from nutpy.protocols.apcsmart.commands import INSTCMD_BYTES
from nutpy.protocols.apcsmart.framing import CAPS
from nutpy.protocols.apcsmart.status import parse_register
from nutpy.protocols.apcsmart.variables import QUERY_BYTES, convert, specs_for

__all__ = ["OLD_PROBE", "QUIRK_FIRMWARE", "CapEntry", "CmdSet", "Discovery", "Legacy",
           "caps_enums", "discover", "firmware_locale", "legacy_lookup", "parse_caps",
           "parse_cmdset"]

# What NUT probes when the UPS has no usable ``a`` reply ("old" mode).
OLD_PROBE = b"CPLOfB\x01nbV/"
# Characters of the ``a`` command list that NUT never probes.
_UNPROBED = b"\x1a\x7f~')-+8QRYayz"
_CMDSET_FORMAT = re.compile(rb"[0-9]\.[^.]*\.[^.]+(?:\.[^.]+)?")


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
        if byte in _UNPROBED:
            continue
        if cmd in QUERY_BYTES:
            if byte not in queries:
                queries.append(byte)
        elif cmd in INSTCMD_BYTES:
            instcmds += [n for n in INSTCMD_BYTES[cmd] if n not in instcmds]
        else:
            unknown.append(byte)
    return Discovery(bytes(queries), tuple(instcmds), bytes(unknown), CAPS[0] in commands)


# ---- EEPROM choices: ``^Z`` ---------------------------------------------------


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


# ---- firmware NUT knows by name ----------------------------------------------------

# Firmware answers for which NUT skips ``a`` and ``^Z`` and uses a fixed list.
_MATRIX_FULL = b"@789ABCDEFGKLMNOPQRSTUVWXYZcefgjklmnopqrsuwxz/<>\\^\x0c\x16"
_MATRIX = b"@79ABCDEFGKLMNOPQRSUVWXYZcefgjklmnopqrsuxz/<>"
_SMART = b"@79ABCDEFGKLMNOPQRSUVWXYZcefgjklmnopqrsuxz"
_SMART_I = b"@79ABCEFGKLMNOPQRSUVWXYZcfg"
_COMPAT_COMMANDS: dict[str, bytes] = {
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
    if parse_register(firmware.encode("ascii", "replace")) is not None:
        return Legacy("Smart-UPS", _HEX_FIRMWARE_COMMANDS)
    commands = _COMPAT_COMMANDS.get(firmware)
    if commands is None:
        return None
    return Legacy("Matrix-UPS" if firmware[0] in "05" else "Smart-UPS", commands)


