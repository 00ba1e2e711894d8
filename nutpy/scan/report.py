"""What the scan says: ``ups.conf`` sections on stdout, one verdict per port on stderr.

Pure text from findings, so every sentence a user may read is tested.  The
advice names what people get wrong most (the cable, another program on the
port, permissions), because a port that stays silent looks the same
whatever the reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from nutpy.protocols.identify import Identity, NoUps, Unreadable
from nutpy.scan.holders import Holder

__all__ = ["NOTHING_ANSWERS", "NOTHING_ANSWERS_TCP", "Found", "busy_line", "describe",
           "found_line", "heard_line", "quote", "section", "section_name", "unreadable_line"]

NOTHING_ANSWERS = (
    "opens, but nothing answers at 2400 or 9600 baud: an APC Smart-UPS needs APC's "
    "940-0024 cable (or one wired like it), an SMT, SMC or SMX unit its RJ45 cable "
    "940-0625A; a standard null-modem or console cable gets no answer. Is the UPS on?")
NOTHING_ANSWERS_TCP = (
    "connects, but nothing answers: whatever listens there (ser2net?) must pass the UPS's "
    "port through raw, at 2400 baud for an APC Smart-UPS or 9600 for Microlink (SMT, SMC, "
    "SMX), over APC's serial cable")
_SAFE_NAME = re.compile(r"[^a-z0-9]+")
_NEEDS_QUOTES = re.compile(r'[\s"\\#=]')


@dataclass(frozen=True, slots=True)
class Found:
    """A UPS for ups.conf: what it is, where, and its section name."""

    identity: Identity
    port: str  # as ups.conf should say it
    label: str  # as the user knows the port
    name: str


def describe(identity: Identity) -> str:
    """``Smart-UPS 1500 (SMT1500I), serial AS2101123456``: for desc and the log."""
    text = identity.model or f"{identity.protocol} UPS"
    if identity.sku and identity.sku != identity.model:
        text += f" ({identity.sku})"
    if identity.serial:
        text += f", serial {identity.serial}"
    return text


def section_name(identity: Identity, taken: set[str]) -> str:
    """A section name from the part number or model, unique among ``taken``."""
    base = _SAFE_NAME.sub("-", (identity.sku or identity.model or "apc-ups").lower()).strip("-")
    base = base or "apc-ups"
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}-{n}"
    taken.add(name)
    return name


def quote(value: str) -> str:
    """A value as NUT's ups.conf syntax reads it back unchanged."""
    if value and not _NEEDS_QUOTES.search(value):
        return value
    return '"' + re.sub(r'(["\\#])', r"\\\1", value) + '"'


def section(found: Found) -> str:
    ident = found.identity
    facts = [f"firmware {ident.firmware}"] if ident.firmware else []
    facts.append(f"{ident.protocol} at {ident.baudrate} baud")
    return (f"# {describe(ident)}: {', '.join(facts)}, on {found.label}\n"
            f"[{found.name}]\n"
            f"\tdriver = {ident.driver}\n"
            f"\tport = {quote(found.port)}\n"
            f"\tdesc = {quote(describe(ident))}\n")


def found_line(found: Found) -> str:
    ident = found.identity
    text = f"{ident.protocol} UPS at {ident.baudrate} baud: {describe(ident)}"
    if ident.firmware:
        text += f", firmware {ident.firmware}"
    text += f" -> [{found.name}]"
    if ident.unanswered:
        text += f" (it did not answer: {', '.join(ident.unanswered)})"
    return text


def unreadable_line(finding: Unreadable) -> str:
    return (f"answers in {finding.protocol} at {finding.baudrate} baud, but {finding.reason}: "
            "check the cable and try again; if it persists, nutpy's driver will not read "
            "it either (please report it)")


def _sample(data: bytes) -> str:
    head = data[:24]
    printable = sum(32 <= b < 127 or b in b"\r\n" for b in head)
    if printable * 4 >= len(head) * 3:
        return '"' + head.decode("latin-1").encode("unicode_escape").decode() + '"'
    return head.hex(" ")


def heard_line(misses: list[NoUps], tcp: bool = False) -> str:
    """Nothing identified: silence, an echo, or talk in neither protocol."""
    talk = [m for m in misses if m.heard]
    if not talk:
        return NOTHING_ANSWERS_TCP if tcp else NOTHING_ANSWERS
    if all(m.echoed for m in talk):
        return ("answers, but only echoes back what it is sent: a loopback plug, a modem or "
                "console with echo on, or a cable with its receive and transmit lines "
                "bridged; not a UPS")
    heard = "; ".join(f"at {m.baudrate} baud {_sample(m.heard)}" for m in talk)
    return (f"something talks, but neither APC Smart nor Microlink ({heard}): another "
            "device (a modem, a console, another make of UPS), or a UPS set to another speed")


def busy_line(holders: list[Holder]) -> str:
    return (f"in use by {'; '.join(map(str, holders))}: not probed. Stop that program to "
            "scan this port (if it is NUT, nutpy or apcupsd, its config already says what "
            "is on it)")
