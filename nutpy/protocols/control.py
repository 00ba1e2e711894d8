"""The line protocol of nutpy's local control socket, without I/O.

``nutpy killpower`` asks a running ``nutpy serve`` to cut the power through
this socket (``$NUT_STATEPATH/nutpy.sock``, mode 0600).  The server speaks
first: ``NUTPY CONFIG <directory>``, the configuration it serves, so that a
``killpower`` of another configuration (sharing the state directory) asks
it nothing.  A request is one line, ``KILLPOWER <ups>``; the answer is any number of ``NOTE <text>``
lines (what the driver told the UPS), then one verdict: ``OK`` (the UPS
confirmed), ``FAILED`` (it did not) or ``ERR <reason>``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["SOCKET_NAME", "Answer", "Reader", "answer", "greeting", "parse_greeting",
           "parse_request", "request"]

SOCKET_NAME = "nutpy.sock"
_GREETING = "NUTPY CONFIG "


def greeting(confdir: str) -> bytes:
    """The server's first line: the config directory it serves (absolute)."""
    return f"{_GREETING}{confdir}\n".encode()


def parse_greeting(line: str) -> str | None:
    """The config directory a greeting names, or None if the line is not one."""
    return line[len(_GREETING):] if line.startswith(_GREETING) else None


def request(ups: str) -> bytes:
    return f"KILLPOWER {ups}\n".encode()


def parse_request(line: str) -> str | None:
    """The UPS a request line names, or None if it is not a request."""
    words = line.split()
    if len(words) != 2 or words[0].upper() != "KILLPOWER":
        return None
    return words[1]


def answer(notes: list[str], confirmed: bool, error: str | None = None) -> bytes:
    """The reply: the notes, then OK or FAILED (ERR ``error`` when one is given)."""
    verdict = f"ERR {error}" if error is not None else "OK" if confirmed else "FAILED"
    return "".join([*(f"NOTE {note}\n" for note in notes), f"{verdict}\n"]).encode()


@dataclass
class Answer:
    confirmed: bool = False
    notes: list[str] = field(default_factory=list)


class Reader:
    """Collects the lines of one answer; :meth:`feed` returns it when complete."""

    def __init__(self) -> None:
        self._answer = Answer()

    def feed(self, line: str) -> Answer | None:
        if line.startswith("NOTE "):
            self._answer.notes.append(line[5:])
            return None
        done, self._answer = self._answer, Answer()
        done.confirmed = line == "OK"
        if line.startswith("ERR "):
            done.notes.append(line[4:])
        return done
