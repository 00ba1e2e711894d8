"""The status register (``Q``) and the alert bytes that announce its changes.

``ups.status`` is eight bits of ``Q`` turned into NUT's words, in NUT's fixed
order.  A Smart-UPS also sends single bytes on its own (section 4 of the
spec).  NUT's ``alert_handler`` flips the register's bits from them until the
next ``Q``; nutpy only takes them as a reason to ask (see
:mod:`~nutpy.protocols.apcsmart.confirm`).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable

__all__ = ["ALERT_MEANINGS", "BOOST", "CAL", "LB", "OB", "OL", "OVER", "RB", "TRIM", "Alert",
           "impossible", "parse_register", "parse_status", "status_bits", "status_tokens"]

CAL, TRIM, BOOST, OL, OB, OVER, LB, RB = (1 << bit for bit in range(8))
_STATUS_TOKENS = ((CAL, "CAL"), (TRIM, "TRIM"), (BOOST, "BOOST"), (OL, "OL"),
                  (OB, "OB"), (OVER, "OVER"), (LB, "LB"), (RB, "RB"))
_HEX2 = re.compile(rb"[0-9A-Fa-f]{2}")


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


def parse_register(line: bytes) -> int | None:
    """A two-hex-digit reply (Q, 9, ~, ', 8, 7) as a number; None if garbled."""
    if _HEX2.fullmatch(line) is None:
        return None
    return int(line, 16)


# Bits no unit shows at once: on line and on battery, trimming and boosting,
# either of those on battery (they are what the UPS does to the mains).
_CONTRADICTIONS = (OL | OB, TRIM | BOOST, TRIM | OB, BOOST | OB)


def impossible(status: int) -> bool:
    """Whether a ``Q`` value contradicts itself."""
    return any(status & bits == bits for bits in _CONTRADICTIONS)


def parse_status(line: bytes) -> int | None:
    """A ``Q`` reply as the register; None if garbled or self-contradictory.

    UPS-Link has no checksum: one noise byte turns ``08`` into ``18``, so a
    reply that cannot be true is treated as one that does not parse.
    """
    status = parse_register(line)
    return None if status is None or impossible(status) else status


def status_tokens(status: int) -> list[str]:
    """NUT's ``ups.status`` words for a Q value, in NUT's fixed order."""
    tokens = [token for mask, token in _STATUS_TOKENS if status & mask]
    return tokens or ["OFF"]


def status_bits(tokens: Iterable[str]) -> int:
    """The Q value behind ``ups.status`` words; words Q cannot carry are ignored."""
    masks = {token: mask for mask, token in _STATUS_TOKENS}
    return sum({masks[t] for t in tokens if t in masks})
