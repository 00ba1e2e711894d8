"""What one client connection knows, and what all of them share, with no I/O.

:class:`ClientState` is the protocol state of one connection (who logged
in, TRACKING, TLS) with the checks every verb makes; the verbs themselves
are in :mod:`~nutpy.frontends.nut.handlers`, and :class:`~nutpy.frontends.nut.session.Session`
puts the two together.  Everything shared between connections (the store,
users, tracking table, descriptions) lives in :class:`ServerContext`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

from nutpy.config import UpsdConf, User
from nutpy.config.descriptions import Descriptions
from nutpy.config.upsd_users import authenticate
from nutpy.frontends.nut.replies import ReplyCache
from nutpy.frontends.nut.tracking import Tracking
from nutpy.protocols.nut import Err, ProtocolError
from nutpy.store import Availability, Store, UpsState


@dataclass
class ServerContext:
    """What every session shares.  SIGHUP swaps ``users`` and ``upsd``."""

    store: Store
    upsd: UpsdConf
    users: dict[str, User]
    descriptions: Descriptions
    tracking: Tracking
    clock: Callable[[], float]
    tls_available: bool = False
    sessions: dict[int, ClientState] = field(default_factory=dict)
    replies: ReplyCache = field(init=False)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def __post_init__(self) -> None:
        self.replies = ReplyCache(self.store)

    def next_client_id(self) -> int:
        return next(self._ids)

    def kick(self, ups: UpsState) -> None:
        """Disconnect every client logged in to ``ups`` (it was removed)."""
        for session in list(self.sessions.values()):
            if session.login_ups is ups and session.kill is not None:
                session.kill()


class ClientState:
    """Protocol state of one connection."""

    __slots__ = ("address", "closing", "ctx", "id", "kill", "login_ups", "password",
                 "start_tls", "tls", "tracking", "username")

    def __init__(self, ctx: ServerContext, address: str) -> None:
        self.ctx = ctx
        self.id = ctx.next_client_id()
        self.address = address
        self.username: str | None = None
        self.password: str | None = None
        self.login_ups: UpsState | None = None
        self.tracking = False
        self.tls = False
        self.start_tls = False  # set by STARTTLS: the listener must hand over
        self.closing = False  # set by LOGOUT
        self.kill: Callable[[], None] | None = None  # set by the connection
        ctx.sessions[self.id] = self

    def close(self) -> None:
        """The connection ended: a login no longer counts."""
        self.ctx.sessions.pop(self.id, None)
        if self.login_ups is not None:
            self.login_ups.logout(self.id)
            self.login_ups = None

    def ups(self, name: str) -> UpsState:
        ups = self.ctx.store.get(name)
        if ups is None:
            raise ProtocolError(Err.UNKNOWN_UPS)
        return ups

    def available_ups(self, name: str) -> UpsState:
        """The UPS, if its data may be served now (upsd's availability check)."""
        ups = self.ups(name)
        state = ups.availability()
        if state is Availability.DRIVER_NOT_CONNECTED:
            raise ProtocolError(Err.DRIVER_NOT_CONNECTED)
        if state is Availability.DATA_STALE:
            raise ProtocolError(Err.DATA_STALE)
        return ups

    def authenticated_user(self) -> User | None:
        """The user whose name and password this session sent, if they match."""
        if self.username is None or self.password is None:
            return None
        return authenticate(self.ctx.users, self.username, self.password)

    def require_action(self, *actions: str) -> None:
        user = self.authenticated_user()
        if user is None or not any(user.may(a) for a in actions):
            raise ProtocolError(Err.ACCESS_DENIED)
