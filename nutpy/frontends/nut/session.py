"""One client connection's protocol state and its verbs together, with no I/O.

A :class:`Session` takes one tokenized request at a time and returns the reply
text; the listener moves the bytes.
"""

from __future__ import annotations

from nutpy.frontends.nut.handlers import VERBS
from nutpy.frontends.nut.state import ClientState, ServerContext
from nutpy.protocols.nut import Err, ProtocolError, err_line

__all__ = ["ServerContext", "Session"]


class Session(ClientState):
    """A connection's state plus the dispatch of its requests."""

    __slots__ = ()

    def handle(self, words: list[str]) -> str:
        """Answer one request (its words as tokenized); never raises."""
        if not words:
            return err_line(Err.UNKNOWN_COMMAND)
        verb = VERBS.get(words[0].upper())
        if verb is None:
            return err_line(Err.UNKNOWN_COMMAND)
        handler, needs_user = verb
        try:
            if needs_user:
                if self.username is None:
                    raise ProtocolError(Err.USERNAME_REQUIRED)
                if self.password is None:
                    raise ProtocolError(Err.PASSWORD_REQUIRED)
            return handler(self, words[1:])
        except ProtocolError as exc:
            return err_line(exc.code)
