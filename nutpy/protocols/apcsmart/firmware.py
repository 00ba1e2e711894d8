"""What a Smart-UPS's firmware answer says of its model, when ``^A`` does not.

The old answer to ``V`` is three characters (``IWI``: model I, W, locale I),
the new answer to ``b`` three dotted parts (``60.11.I``: SKU 60).  NUT's
apcsmart carries the same tables; ``nutpy scan`` uses them to name a unit
that does not answer ``^A``.
"""

from __future__ import annotations

import re

__all__ = ["model_from_firmware"]

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

_NEW_FIRMWARE = re.compile(r"(\d+)\.[A-Za-z0-9]+\.[A-Za-z0-9]")


def model_from_firmware(text: str) -> str | None:
    """The model a ``b`` or ``V`` answer names, or None if it names none."""
    match = _NEW_FIRMWARE.fullmatch(text)
    if match:
        return NEW_MODELS.get(int(match.group(1)))
    if len(text) == 3 and text.isalnum():
        return OLD_MODELS.get(text[0])
    return None
