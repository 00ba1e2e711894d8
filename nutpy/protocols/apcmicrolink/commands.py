"""Writes to a Microlink UPS: settings and instant commands as write frames.

A setting is its value encoded in place; a command is a command word (with
the command source NUT ORs in) written to its usage.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from nutpy.protocols.apcmicrolink.layout import Layout
from nutpy.protocols.apcmicrolink.variables import (
    Kind,
    VarSpec,
    bound_variables,
    outlet_group_count,
)

__all__ = ["OUTLET_OPS", "SOURCES", "Setting", "available_commands", "encode_command",
           "encode_setting", "encode_value", "settings"]

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

_TEST_START, _TEST_STOP = 0x0001, 0x0002
_UI_PANEL_TEST, _UI_MUTE = 0x0001, 0x0004
_UPS_BYPASS_START, _UPS_BYPASS_STOP = 1 << 4, 1 << 5

_OUTLET_CANCEL, _OUTLET_ON, _OUTLET_OFF, _OUTLET_SHUTDOWN, _OUTLET_REBOOT = 1, 2, 4, 8, 16
_OUTLET_COLD_BOOT, _OUTLET_ON_DELAY, _OUTLET_OFF_DELAY = 32, 64, 128
_OUTLET_TARGETS = (1 << 8, 1 << 9, 1 << 10, 1 << 11, 1 << 19)  # MOG, SOG0..SOG3

OUTLET_OPS = {
    "load.off": _OUTLET_OFF,
    "load.on": _OUTLET_ON,
    "load.cycle": _OUTLET_REBOOT,
    "load.off.delay": _OUTLET_OFF | _OUTLET_OFF_DELAY,
    "load.on.delay": _OUTLET_ON | _OUTLET_ON_DELAY,
    "shutdown.return": _OUTLET_SHUTDOWN | _OUTLET_OFF_DELAY,
    "shutdown.stayoff": _OUTLET_OFF | _OUTLET_OFF_DELAY,
    "shutdown.reboot": _OUTLET_REBOOT,
    "shutdown.reboot.graceful": _OUTLET_REBOOT | _OUTLET_OFF_DELAY,
}
_SIMPLE = {  # command -> (path, value, index into _SOURCE_BITS or None)
    "test.battery.start": ("2:10", _TEST_START, 0),
    "test.battery.stop": ("2:10", _TEST_STOP, 0),
    "calibrate.start": ("2:12", _TEST_START, 0),
    "calibrate.stop": ("2:12", _TEST_STOP, 0),
    "test.panel.start": ("2:4.B.3B", _UI_PANEL_TEST, None),
    "beeper.mute": ("2:4.B.3B", _UI_MUTE, None),
    "bypass.start": ("2:14", _UPS_BYPASS_START, 1),
    "bypass.stop": ("2:14", _UPS_BYPASS_STOP, 1),
}
_OUTLET_COMMAND = "2:4.B5"


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
        targets = _OUTLET_TARGETS[int(number)]
    else:
        for group in range(groups):
            targets |= _OUTLET_TARGETS[group]
    if op_name not in OUTLET_OPS or not groups:
        raise KeyError(name)
    return _OUTLET_COMMAND, OUTLET_OPS[op_name] | targets | _SOURCE_BITS[source][2]


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
    if groups and layout.field(_OUTLET_COMMAND):
        out += [*OUTLET_OPS, "shutdown.default"]
        out += [f"outlet.group.{g}.{op}" for g in range(groups) for op in OUTLET_OPS]
    return out
