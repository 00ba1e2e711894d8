"""Pure pieces of the upsd line protocol: error codes and reply formatting."""

from __future__ import annotations

import enum

from nutpy import __version__

PROTOCOL_VERSION = "1.3"
# A NUT-style version that version-parsing clients accept, naming nutpy.
SERVER_VERSION = f"2.8.5-nutpy{__version__}"
SERVER_INFO = f"Network UPS Tools upsd {SERVER_VERSION} - https://www.networkupstools.org/"
HELP_TEXT = ("Commands: HELP VER PROTVER GET LIST SET INSTCMD LOGIN LOGOUT "
             "USERNAME PASSWORD STARTTLS")
NO_DESCRIPTION = "Description unavailable"


class Err(enum.Enum):
    ACCESS_DENIED = "ACCESS-DENIED"
    UNKNOWN_UPS = "UNKNOWN-UPS"
    VAR_NOT_SUPPORTED = "VAR-NOT-SUPPORTED"
    CMD_NOT_SUPPORTED = "CMD-NOT-SUPPORTED"
    INVALID_ARGUMENT = "INVALID-ARGUMENT"
    INSTCMD_FAILED = "INSTCMD-FAILED"
    SET_FAILED = "SET-FAILED"
    READONLY = "READONLY"
    TOO_LONG = "TOO-LONG"
    INVALID_VALUE = "INVALID-VALUE"
    FEATURE_NOT_SUPPORTED = "FEATURE-NOT-SUPPORTED"
    FEATURE_NOT_CONFIGURED = "FEATURE-NOT-CONFIGURED"
    ALREADY_SSL_MODE = "ALREADY-SSL-MODE"
    DRIVER_NOT_CONNECTED = "DRIVER-NOT-CONNECTED"
    DATA_STALE = "DATA-STALE"
    ALREADY_LOGGED_IN = "ALREADY-LOGGED-IN"
    ALREADY_SET_USERNAME = "ALREADY-SET-USERNAME"
    ALREADY_SET_PASSWORD = "ALREADY-SET-PASSWORD"
    USERNAME_REQUIRED = "USERNAME-REQUIRED"
    PASSWORD_REQUIRED = "PASSWORD-REQUIRED"
    UNKNOWN_COMMAND = "UNKNOWN-COMMAND"


class ProtocolError(Exception):
    """Raised inside a handler to answer ``ERR <code>``."""

    def __init__(self, code: Err) -> None:
        super().__init__(code.value)
        self.code = code


def err_line(code: Err) -> str:
    return f"ERR {code.value}\n"


_ESCAPED = str.maketrans({"\\": "\\\\", '"': '\\"', "#": "\\#"})


def escape(value: str) -> str:
    """Escape ``\\``, ``"`` and ``#`` as upsd does inside quoted values."""
    return value.translate(_ESCAPED)


def listing(kind: str, subject: str, lines: list[str]) -> str:
    """``BEGIN LIST kind subject`` ... ``END LIST kind subject`` as one string."""
    head = f"{kind} {subject}" if subject else kind
    body = "".join(line + "\n" for line in lines)
    return f"BEGIN LIST {head}\n{body}END LIST {head}\n"
