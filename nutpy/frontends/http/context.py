"""What every HTTP request handler shares.  A reload swaps ``users``."""

from __future__ import annotations

from dataclasses import dataclass

from nutpy.config import User
from nutpy.config.descriptions import Descriptions
from nutpy.history.keeper import History
from nutpy.history.recorder import Recorder
from nutpy.store import Store

__all__ = ["COMMAND_TIMEOUT", "HttpContext"]

COMMAND_TIMEOUT = 15.0  # how long a write waits for the driver's answer


@dataclass
class HttpContext:
    store: Store
    users: dict[str, User]
    descriptions: Descriptions
    recorder: Recorder
    allow_plain_auth: bool = False  # HTTP_ALLOW_PLAIN_AUTH: credentials over plain HTTP
    command_timeout: float = COMMAND_TIMEOUT
    history: History | None = None  # None: HISTORY off, or it could not be opened
