"""What every config file shares: NUT's word syntax, line by line, and diagnostics.

Parsing never raises for bad content: each problem becomes a
:class:`Diagnostic` naming the file and line, collected by a :class:`Sink`,
so ``check-config`` and ``serve`` report the same things.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import idna

from nutpy.protocols.tokenizer import Line, ParseError, Tokenizer

__all__ = ["BOOLS", "Diagnostic", "Directive", "Severity", "Sink", "host_problem",
           "key_value", "lines", "number_problem", "section"]

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Diagnostic:
    path: str
    lineno: int  # 0 when the problem concerns the whole file
    severity: Severity
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.lineno}" if self.lineno else self.path
        return f"{where}: {self.severity}: {self.message}"


class Sink:
    """Collects diagnostics for one file."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.items: list[Diagnostic] = []

    def error(self, lineno: int, message: str) -> None:
        self.items.append(Diagnostic(self.path, lineno, "error", message))

    def warning(self, lineno: int, message: str) -> None:
        self.items.append(Diagnostic(self.path, lineno, "warning", message))


def lines(data: bytes, sink: Sink) -> list[Line]:
    """The file's non-empty lines; parse errors become diagnostics.

    A quote that is never closed would swallow the rest of the file into one
    word (parseconf keeps that last line); it is reported and dropped instead.
    """
    tok = Tokenizer()
    events = tok.feed(data)
    opened = tok.open_quote
    events += tok.finish()
    if opened is not None and events and isinstance(events[-1], Line):
        events.pop()
        last = data.count(b"\n") + (not data.endswith(b"\n"))
        sink.error(opened, "parse error: the quote opened on this line is never closed "
                   f"(it runs to line {last}, the end of the file); line ignored")
    lines = []
    for event in events:
        if isinstance(event, ParseError):
            sink.error(event.lineno, f"parse error: {event.message}")
        elif event.words:
            lines.append(event)
    return lines


def section(word: str) -> str | None:
    if len(word) >= 2 and word.startswith("[") and word.endswith("]"):
        return word[1:-1]
    return None


def key_value(words: list[str]) -> tuple[str, str | None] | None:
    """``key = value``, ``key value`` or a bare flag ``key``; None if malformed."""
    if len(words) == 1:
        return words[0], None
    if len(words) == 3 and words[1] == "=":
        return words[0], words[2]
    if len(words) == 2 and words[1] != "=":
        return words[0], words[1]
    return None


BOOLS = {"true": True, "on": True, "yes": True, "1": True,
          "false": False, "off": False, "no": False, "0": False}


@dataclass
class Directive:
    """One upsd.conf line, with typed accessors that report their own errors."""

    key: str
    args: list[str]
    lineno: int
    sink: Sink

    def number(self, low: int, high: int) -> int | None:
        """upsd's rule: the value must start with a digit (atoi reads the rest).

        It must also lie in ``low..high``: upsd would take a number hundreds
        of digits long, and a time that large never comes.
        """
        if len(self.args) != 1 or not self.args[0][:1].isdigit():
            self.sink.error(self.lineno, f"{self.key} needs one number")
            return None
        text = self.args[0]
        digits = text[:len(text) - len(text.lstrip("0123456789"))]
        problem = number_problem(digits, low, high)
        if problem is not None:
            self.sink.error(self.lineno, f"{self.key} {problem}")
            return None
        return int(digits)

    def boolean(self) -> bool | None:
        if not self.args:
            return True
        value = BOOLS.get(self.args[0].lower()) if len(self.args) == 1 else None
        if value is None:
            self.sink.error(self.lineno,
                            f"{self.key} needs true/false, yes/no, on/off or 1/0")
        return value

    def text(self) -> str | None:
        if len(self.args) != 1:
            self.sink.error(self.lineno, f"{self.key} needs one value")
            return None
        return self.args[0]


def number_problem(digits: str, low: int, high: int) -> str | None:
    """What is wrong with a number of digits (an optional ``-`` first) in low..high."""
    shown = digits if len(digits) <= 20 else f"{digits[:12]}... ({len(digits)} digits)"
    if len(digits.lstrip("-0")) > 18 or not low <= int(digits) <= high:
        return f"must be from {low} to {high}, not {shown}"
    return None


_MAX_HOST = 253  # the longest name DNS can carry


def host_problem(host: str) -> str | None:
    """Why ``host`` cannot be looked up or bound, or None.

    The checks the name's encoding would fail at run time (and with an
    exception, not an OSError): an ASCII name goes to the resolver as the
    socket module encodes it (labels of 1 to 63 characters), any other one
    through IDNA 2008 as trio encodes it.  Whether it resolves is not asked.
    """
    if not host:
        return "an empty host name"
    if any(c.isspace() or not c.isprintable() for c in host):
        return f"host name {host!r} contains spaces or control characters"
    if len(host) > _MAX_HOST:
        return f"host name of {len(host)} characters (at most {_MAX_HOST})"
    if not host.isascii():
        try:
            idna.encode(host, uts46=True)
        except idna.IDNAError as exc:
            return f"host name {host!r} cannot be encoded (IDNA): {exc}"
        return None
    labels = host.removesuffix(".").split(".")
    if not all(0 < len(label) <= 63 for label in labels):
        return f"host name {host!r} has an empty label or one over 63 characters"
    return None
