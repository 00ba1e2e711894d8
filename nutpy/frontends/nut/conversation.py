"""What one connection does with the bytes it reads, with no I/O.

The listener reads; a :class:`Conversation` tokenizes what was read, hands
each request to the session, and yields the replies in batches to send.  A
batch is cut when it reaches ``OUTPUT_LIMIT``, and the requests after it are
only handled once the batch is sent (the generator resumes after the send),
so a client that pipelines requests without reading gets no more than that
held for it.  ``STARTTLS`` and ``LOGOUT`` stop the handling of that read:
the listener must hand over to TLS or close.

A read that is one request answered a moment ago comes back from the
server's :class:`~nutpy.frontends.nut.replies.ReplyCache` (:meth:`Conversation.cached`),
without tokenizing it again.

The fuzz tests drive this same code, so what they prove is what serves.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from nutpy.frontends.nut.session import Session
from nutpy.protocols.tokenizer import Line, Tokenizer

__all__ = ["OUTPUT_LIMIT", "Conversation", "loggable"]

log = logging.getLogger("nutpy.server")

OUTPUT_LIMIT = 64 * 1024  # replies held before sending; beyond it, send before reading on


def loggable(words: list[str]) -> str:
    """A request as it may appear in the log: a PASSWORD's words are masked."""
    if words and words[0].upper() == "PASSWORD":
        return " ".join([words[0], *("****" for _ in words[1:])])
    return " ".join(words)


class Conversation:
    __slots__ = ("requests", "session", "tokenizer")

    def __init__(self, session: Session) -> None:
        self.session = session
        self.tokenizer = Tokenizer()
        self.requests = 0  # whole requests in the last read (they keep a client from idling)

    def cached(self, data: bytes) -> str | None:
        """The reply to ``data`` if it is one request whose answer is kept (else None:
        hand it to :meth:`receive`)."""
        if self.tokenizer.pending or log.isEnabledFor(logging.DEBUG):
            return None  # the middle of a line; or every request is to be logged
        reply = self.session.ctx.replies.get(data)
        if reply is not None:
            self.requests = 1
        return reply

    def receive(self, data: bytes) -> Iterator[str]:
        """The replies to what ``data`` completes, in batches to send in order."""
        session = self.session
        replies: list[str] = []
        pending = 0
        self.requests = 0
        whole = not self.tokenizer.pending  # data begins a line (it may be one request)
        words: list[str] = []
        for event in self.tokenizer.feed(data, stop_on_error=True):
            if not isinstance(event, Line):
                log.info("client %s: parse error: %s", session.address, event.message)
                continue
            self.requests += 1
            if log.isEnabledFor(logging.DEBUG):
                log.debug("client %s: %s", session.address, loggable(event.words))
            words = event.words
            reply = session.handle(words)
            replies.append(reply)
            pending += len(reply)
            if session.closing or session.start_tls:
                break
            if pending >= OUTPUT_LIMIT:
                yield "".join(replies)
                replies, pending = [], 0
        if replies:
            if whole and self.requests == 1 and len(replies) == 1 and \
                    data.find(b"\n") == len(data) - 1:  # the read was that one request
                self._keep(data, words, replies[0])
            yield "".join(replies)

    def _keep(self, data: bytes, words: list[str], reply: str) -> None:
        """Keep the reply to a read that was one ``GET VAR`` answered with a value."""
        if len(words) >= 4 and reply.startswith("VAR ") and words[0].upper() == "GET" \
                and words[1].upper() == "VAR":
            ups = self.session.ctx.store.get(words[2])
            if ups is not None:
                self.session.ctx.replies.put(data, reply, ups)

    def tls_started(self) -> None:
        """Bytes read in the clear before the handshake are not requests under TLS."""
        self.tokenizer.reset_line()
