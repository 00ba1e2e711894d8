"""The status register (``Q``) and the alert bytes that change it between polls.

``ups.status`` is eight bits of ``Q`` turned into NUT's words, in NUT's fixed
order.  A Smart-UPS also sends single bytes on its own (section 4 of the
spec); NUT's ``alert_handler`` flips the same bits from them until the next
``Q`` says how things really are.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable

__all__ = ["ALERT_MEANINGS", "BOOST", "CAL", "LB", "OB", "OL", "OVER", "RB", "TRIM", "Alert",
           "apply_alert", "parse_register", "status_bits", "status_tokens"]

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

# What each alert does to the Q bits: (bits cleared, bits set).  Alerts not
# listed change nothing.
_ALERT_EFFECTS: dict[Alert, tuple[int, int]] = {
    Alert.LINE_FAIL: (OL, OB),
    Alert.LINE_RESTORED: (OB, OL),
    Alert.LOW_BATTERY: (0, LB),
    Alert.LOW_BATTERY_CLEARED: (LB, 0),
    Alert.REPLACE_BATTERY: (0, RB),
    Alert.ABNORMAL: (0, OVER),
    Alert.ABNORMAL_CLEARED: (OVER, 0),
}


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
    cleared, set_ = _ALERT_EFFECTS.get(alert, (0, 0))
    return (status & ~cleared) | set_
