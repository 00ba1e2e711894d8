"""NUT's word tokenizer, shared by the config files and the network protocol.

This is a byte-at-a-time state machine with the same observable behaviour as
NUT's ``parseconf``: ``#`` comments, ``"quoted words"``, backslash escapes,
``=`` as a word of its own, silent dropping of control and non-ASCII bytes,
512-character words and at most 32 words per line.  It does no I/O: feed it
bytes and it hands back finished lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum, auto

MAX_WORD_LENGTH = 512
MAX_WORDS = 32

_LF = 0x0A
_SPACES = frozenset(b" \t\r\v\f")
# A line of printable ASCII and blanks with no quote, backslash, '#' or '=':
# the state machine would only split it at the blanks.  Nearly every request
# a client sends is one, so :meth:`Tokenizer.feed` splits such lines at C
# speed (bytes.split() splits at exactly these blanks).
_PLAIN_LINE = re.compile(rb"[!$-<>-\[\]-~ \t\r\v\f]*")


class _State(Enum):
    WORD_START = auto()
    COMMENT = auto()
    QUOTED = auto()
    QUOTED_ESCAPE = auto()
    BARE = auto()
    BARE_ESCAPE = auto()


@dataclass(frozen=True, slots=True)
class Line:
    """A complete logical line: its words, and the physical line it ended on."""

    words: list[str]
    lineno: int


@dataclass(frozen=True, slots=True)
class ParseError:
    """A line that cannot be tokenized (only an unescaped ``#`` inside quotes)."""

    message: str
    lineno: int


Event = Line | ParseError

QUOTE_HASH_ERROR = "Unbalanced word due to unescaped # in quotes"


class Tokenizer:
    """Incremental tokenizer.  ``feed`` returns the events completed so far."""

    __slots__ = ("_lineno", "_max_word_length", "_max_words", "_quote_lineno", "_state",
                 "_word", "_words")

    def __init__(
        self, max_word_length: int = MAX_WORD_LENGTH, max_words: int = MAX_WORDS
    ) -> None:
        self._max_word_length = max_word_length
        self._max_words = max_words
        self._state = _State.WORD_START
        self._word: list[str] = []
        self._words: list[str] = []
        self._lineno = 1
        self._quote_lineno = 0

    @property
    def open_quote(self) -> int | None:
        """The line a still unterminated quoted word began on, if there is one."""
        if self._state in (_State.QUOTED, _State.QUOTED_ESCAPE):
            return self._quote_lineno
        return None

    @property
    def pending(self) -> bool:
        """True when a line has been started but not finished."""
        return self._state is not _State.WORD_START or bool(self._words)

    def reset_line(self) -> None:
        """Forget the partial line (after a parse error, say)."""
        self._state = _State.WORD_START
        self._word = []
        self._words = []

    def feed(self, data: bytes, *, stop_on_error: bool = False) -> list[Event]:
        """Consume ``data``.

        With ``stop_on_error`` the bytes after a parse error are discarded, as
        upsd discards the rest of the ``read()`` that held the error.  Without
        it (config files) the rest of that physical line is skipped instead.
        """
        events: list[Event] = []
        if self._state is _State.WORD_START and not self._words:
            data = self._plain_lines(data, events)
        for byte in data:
            event = self._step(byte)
            if event is None:
                continue
            events.append(event)
            if isinstance(event, ParseError):
                if stop_on_error:
                    self.reset_line()
                    return events
                self._state = _State.COMMENT
                self._words = []
                self._word = []
        return events

    def _plain_lines(self, data: bytes, events: list[Event]) -> bytes:
        """Tokenize the whole plain lines at the start of ``data``; return the rest."""
        start = 0
        while (end := data.find(b"\n", start)) >= 0:
            line = data[start:end]
            if _PLAIN_LINE.fullmatch(line) is None:
                break
            words = [w[:self._max_word_length].decode("ascii")
                     for w in line.split()[:self._max_words]]
            events.append(Line(words, self._lineno))
            self._lineno += 1
            start = end + 1
        return data[start:] if start else data

    def finish(self) -> list[Event]:
        """End of input: a last line without LF still counts."""
        if self._state in (_State.BARE, _State.BARE_ESCAPE, _State.QUOTED,
                           _State.QUOTED_ESCAPE) or self._word:
            self._end_word()
        if not self._words:
            self.reset_line()
            return []
        line = Line(self._words, self._lineno)
        self.reset_line()
        return [line]

    def _add_char(self, byte: int) -> None:
        if byte < 0x20 or byte > 0x7F:
            return
        if len(self._word) < self._max_word_length:
            self._word.append(chr(byte))

    def _end_word(self) -> None:
        if len(self._words) < self._max_words:
            self._words.append("".join(self._word))
        self._word = []

    def _end_line(self) -> Line:
        line = Line(self._words, self._lineno)
        self._words = []
        self._word = []
        self._lineno += 1
        self._state = _State.WORD_START
        return line

    def _word_start(self, byte: int) -> Event | None:
        if byte == _LF:
            return self._end_line()
        if byte == 0x23:  # '#'
            self._state = _State.COMMENT
        elif byte in _SPACES:
            pass
        elif byte == 0x5C:  # backslash
            self._state = _State.BARE_ESCAPE
        elif byte == 0x22:  # '"'
            self._state = _State.QUOTED
            self._quote_lineno = self._lineno
        else:
            self._add_char(byte)
            if byte == 0x3D:  # '=' is always a word on its own
                self._end_word()
            else:
                self._state = _State.BARE
        return None

    def _step(self, byte: int) -> Event | None:
        state = self._state
        if state is _State.WORD_START:
            return self._word_start(byte)
        if state is _State.COMMENT:
            if byte == _LF:
                return self._end_line()
            return None
        if state is _State.QUOTED:
            if byte == 0x23:
                self._end_word()
                self._state = _State.WORD_START
                return ParseError(QUOTE_HASH_ERROR, self._lineno)
            if byte == 0x22:
                self._end_word()
                self._state = _State.WORD_START
            elif byte == 0x5C:
                self._state = _State.QUOTED_ESCAPE
            else:
                if byte == _LF:
                    self._lineno += 1
                self._add_char(byte)
            return None
        if state is _State.QUOTED_ESCAPE:
            if byte == _LF:
                self._lineno += 1
            else:
                self._add_char(byte)
            self._state = _State.QUOTED
            return None
        if state is _State.BARE:
            if byte == 0x23:
                self._end_word()
                self._state = _State.COMMENT
            elif byte == _LF:
                self._end_word()
                return self._end_line()
            elif byte in _SPACES:
                self._end_word()
                self._state = _State.WORD_START
            elif byte == 0x3D:
                self._end_word()
                self._state = _State.WORD_START
                return self._word_start(byte)
            elif byte == 0x5C:
                self._state = _State.BARE_ESCAPE
            else:
                self._add_char(byte)
            return None
        # BARE_ESCAPE: take the next byte literally; backslash-LF continues.
        if byte == _LF:
            self._lineno += 1
        else:
            self._add_char(byte)
        self._state = _State.BARE
        return None


def tokenize_text(data: bytes) -> list[Event]:
    """Tokenize a whole file's bytes; empty lines are left out."""
    tok = Tokenizer()
    events = tok.feed(data) + tok.finish()
    return [e for e in events if not (isinstance(e, Line) and not e.words)]

