"""The names identification takes from the two APC codecs, in one place.

Both codecs are being reshaped; keeping every import here means a rename
there is a one-line change here.
"""

from nutpy.protocols.apcmicrolink.codec import ACK, NAK, MicrolinkError, NoResponse, Session
from nutpy.protocols.apcsmart.codec import (
    DUMB_MODE,
    FIRMWARE_NEW,
    FIRMWARE_OLD,
    SMART_MODE,
    SMART_MODE_TIMEOUT,
    Outcome,
    ReplyLine,
    Splitter,
    decode,
    decode_firmware,
)

MODEL = b"\x01"  # ^A -> "SMART-UPS 1000"
SERIAL = b"n"  # -> "QS9931125245"

__all__ = [
    "ACK", "DUMB_MODE", "FIRMWARE_NEW", "FIRMWARE_OLD", "MODEL", "NAK", "SERIAL", "SMART_MODE",
    "SMART_MODE_TIMEOUT", "MicrolinkError", "NoResponse", "Outcome", "ReplyLine", "Session",
    "Splitter", "decode", "decode_firmware",
]
