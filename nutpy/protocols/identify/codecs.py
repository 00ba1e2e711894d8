"""The names identification takes from the two APC codecs, in one place.

Kept in one place, so that identification's dependence on the codecs is
visible at a glance.
"""

from nutpy.protocols.apcmicrolink.framing import ACK, NAK, MicrolinkError
from nutpy.protocols.apcmicrolink.session import NoResponse, Session
from nutpy.protocols.apcsmart.firmware import model_from_firmware
from nutpy.protocols.apcsmart.framing import (
    DUMB_MODE,
    FIRMWARE_NEW,
    FIRMWARE_OLD,
    SMART_MODE,
    SMART_MODE_TIMEOUT,
    ReplyLine,
    Splitter,
)
from nutpy.protocols.apcsmart.variables import Outcome, decode

MODEL = b"\x01"  # ^A -> "SMART-UPS 1000"
SERIAL = b"n"  # -> "QS9931125245"

__all__ = [
    "ACK", "DUMB_MODE", "FIRMWARE_NEW", "FIRMWARE_OLD", "MODEL", "NAK", "SERIAL", "SMART_MODE",
    "SMART_MODE_TIMEOUT", "MicrolinkError", "NoResponse", "Outcome", "ReplyLine", "Session",
    "Splitter", "decode", "model_from_firmware",
]
