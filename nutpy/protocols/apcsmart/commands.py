"""Instant commands, writes and killpower as timed steps: what NUT sends, and how it waits.

Smart-UPS commands that can cut the power want care: ``K``, ``Z`` and ``^N``
are pressed twice, 1.5 s apart, with a short window after the first press in
which any reply aborts; ``@nnn`` and string writes are paced byte by byte;
some old units confirm a shutdown with a bare ``*``.  A :class:`Step` says
what to send, what reply lets the command go on, and how long to wait;
running the steps is the session's job.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from nutpy.protocols.apcsmart.framing import (
    NEXT_VALUE,
    REPLY_TIMEOUT,
    SMART_MODE,
    SMART_MODE_TIMEOUT,
)
from nutpy.protocols.apcsmart.status import CAL, OB, OL
from nutpy.protocols.apcsmart.variables import STRING_LENGTH

__all__ = ["AT_RECOVERY", "ENUM_STEP", "INSTCMD_BYTES", "KNOWN_INSTCMDS",
           "NASTY", "Expect", "NastyGuard", "ShutdownMethod", "Step", "UnknownCommand",
           "at_steps", "instcmd_steps", "killpower_plan", "needs_at_recovery",
           "string_write_steps"]


# The command bytes of ``a`` that make NUT register instant commands.
INSTCMD_BYTES: dict[bytes, tuple[str, ...]] = {
    b"@": ("shutdown.return",),
    b"S": ("shutdown.return",),
    b"K": ("shutdown.stayoff",),
    b"Z": ("load.off",),
    b"\x0e": ("load.on",),
    b"D": ("calibrate.start", "calibrate.stop"),
    b"A": ("test.panel.start",),
    b"U": ("test.failure.start",),
    b"W": ("test.battery.start", "test.battery.stop"),
    b"^": ("bypass.start", "bypass.stop"),
}
KNOWN_INSTCMDS = frozenset(name for names in INSTCMD_BYTES.values() for name in names)

class Expect(enum.Enum):
    """What the driver reads after sending a step's bytes."""

    NOTHING = "nothing"  # read nothing
    SILENCE = "silence"  # any reply within the timeout aborts the command
    OK = "OK"  # the reply must be OK
    OK_OR_SILENCE = "OK or silence"  # Z: no reply counts as success
    NOT_REFUSED = "not refused"  # anything but NA, NO or a timeout (calibration)
    ANY = "any"  # read and ignore the reply; a timeout is fine


@dataclass(frozen=True, slots=True)
class Step:
    """Send ``send``; read for up to ``timeout`` s as ``expect`` says; then wait ``delay_after`` s.

    ``star_ok``: a bare ``*`` alert counts as ``OK`` (old units confirming a
    shutdown).
    """

    send: bytes
    expect: Expect
    timeout: float = 0.0
    delay_after: float = 0.0
    star_ok: bool = False

    def accepts(self, reply: bytes | None) -> bool:
        """Whether the reply (None: nothing within the timeout) lets the command go on."""
        if self.expect is Expect.NOTHING or self.expect is Expect.ANY:
            return True
        if self.expect is Expect.SILENCE:
            return reply is None
        if reply == b"*" and self.star_ok:
            return True
        if self.expect is Expect.OK:
            return reply == b"OK"
        if self.expect is Expect.OK_OR_SILENCE:
            return reply is None or reply == b"OK"
        return reply is not None and reply not in (b"NA", b"NO")


PEEK_WINDOW = 0.2  # NUT's no-reply window after the first byte of a sequence
PRESS_GAP = 1.3  # then this long before the second press (1.5 s apart in all)
PACE = 0.05  # between the bytes of @nnn and -string
CS_DELAY = 3.5  # NUT's cshdelay between U and S

NASTY = frozenset({"shutdown.return", "shutdown.stayoff", "load.off"})
MIN_NASTY_GAP = 3.0
MAX_NASTY_GAP = 15.0

_AT_PARAM = re.compile(r"[Aa][Tt]:([0-9]{1,3})")


class UnknownCommand(ValueError):
    """Not an instant command this driver knows, or a bad parameter for it."""


def _double_press(cmd: bytes, last: Step) -> list[Step]:
    return [Step(cmd, Expect.SILENCE, PEEK_WINDOW, PRESS_GAP), last]


def _simple(cmd: bytes, expect: Expect = Expect.OK) -> list[Step]:
    return [Step(cmd, expect, REPLY_TIMEOUT)]


def instcmd_steps(name: str, param: str | None = None, *,
                  status: int | None = None) -> list[Step]:
    """The bytes NUT sends for an instant command, with its timing.

    ``status``: the last Q value.  ``calibrate.*`` needs it (NUT reads Q first
    and sends nothing when there is nothing to do: an empty list), and so does
    ``shutdown.return cs`` (it sends ``U`` only when on line).
    """
    name = name.lower()
    if name == "shutdown.return":
        return _shutdown_return(param, status)
    if param:
        raise UnknownCommand(f"{name} takes no parameter")
    if name == "shutdown.stayoff":
        return _double_press(b"K", Step(b"K", Expect.OK, SMART_MODE_TIMEOUT, star_ok=True))
    if name == "load.off":
        return _double_press(b"Z", Step(b"Z", Expect.OK_OR_SILENCE, SMART_MODE_TIMEOUT,
                                        star_ok=True))
    if name == "load.on":
        return _double_press(b"\x0e", Step(b"\x0e", Expect.NOTHING))
    if name in ("calibrate.start", "calibrate.stop"):
        if status is None:
            raise UnknownCommand(f"{name} needs the status register")
        running = bool(status & CAL)
        if running == (name == "calibrate.start"):
            return []
        return _simple(b"D", Expect.NOT_REFUSED)
    simple = {"test.panel.start": b"A", "test.failure.start": b"U",
              "test.battery.start": b"W", "test.battery.stop": b"W",
              "bypass.start": b"^", "bypass.stop": b"^"}
    if name in simple:
        return _simple(simple[name])
    raise UnknownCommand(f"unknown command {name}")


def _shutdown_return(param: str | None, status: int | None) -> list[Step]:
    confirm = Step(b"S", Expect.OK, SMART_MODE_TIMEOUT, star_ok=True)
    if not param:
        return [confirm]
    if param.lower() == "cs":
        if status is not None and status & OL:
            return [Step(b"U", Expect.ANY, SMART_MODE_TIMEOUT, CS_DELAY), confirm]
        return [confirm]
    match = _AT_PARAM.fullmatch(param)
    if match is None:
        raise UnknownCommand(f"shutdown.return: bad parameter {param!r}")
    return at_steps(match.group(1))


def at_steps(digits: str) -> list[Step]:
    """``@`` and its wake-up delay (units of 6 min): 3 digits, or exactly 2 if given 2."""
    width = 2 if len(digits) == 2 else 3
    text = digits.zfill(width).encode("ascii")
    steps = [Step(b"@", Expect.SILENCE, PEEK_WINDOW)]
    steps += [Step(bytes((d,)), Expect.NOTHING, 0.0, PACE) for d in text[:-1]]
    steps.append(Step(text[-1:], Expect.OK, SMART_MODE_TIMEOUT, star_ok=True))
    return steps


# When a 2-digit ``@nn`` is refused, NUT sends this to reset the sequence.
AT_RECOVERY = Step(SMART_MODE, Expect.ANY, SMART_MODE_TIMEOUT)


def needs_at_recovery(steps: list[Step]) -> bool:
    """Whether a failure of ``steps`` must be followed by :data:`AT_RECOVERY` (``@nn``)."""
    return len(steps) == 3 and steps[0].send == b"@"
# One step of an enum write: the driver re-queries after each.
ENUM_STEP = Step(NEXT_VALUE, Expect.OK, REPLY_TIMEOUT)


def string_write_steps(value: str) -> list[Step]:
    """Writing ``ups.id``/``battery.date`` after querying it: ``-`` and 8 CR-padded bytes."""
    if len(value) > STRING_LENGTH or any(not " " <= ch <= "~" for ch in value):
        raise ValueError(f"not an 8-character printable value: {value!r}")
    data = value.encode("ascii").ljust(STRING_LENGTH, b"\r")
    steps = [Step(NEXT_VALUE, Expect.SILENCE, PEEK_WINDOW)]
    steps += [Step(bytes((b,)), Expect.NOTHING, 0.0, PACE) for b in data[:-1]]
    steps.append(Step(data[-1:], Expect.OK, REPLY_TIMEOUT))
    return steps


class NastyGuard:
    """NUT runs shutdown.* and load.off only when the previous try came 3-15 s earlier.

    The timer is shared by all of them and restarts on every try.
    """

    def __init__(self) -> None:
        self._last: float | None = None

    def allow(self, now: float) -> bool:
        last, self._last = self._last, now
        return last is not None and MIN_NASTY_GAP <= now - last <= MAX_NASTY_GAP


# ---- killpower: what NUT's ``apcsmart -k`` sends ---------------------------------


@dataclass(frozen=True, slots=True)
class ShutdownMethod:
    """One way of telling the UPS to cut its output, as ``sdtype``/``advorder`` name them."""

    name: str  # NUT's man page name, e.g. "soft hibernate (S)"
    steps: list[Step]
    returns: bool  # whether the output comes back by itself when the mains return


# ``advorder`` digits, in NUT's order.
_ADVORDER = "01234"


def _method(digit: str, status: int, awd: str | None) -> ShutdownMethod:
    if digit == "0":
        return ShutdownMethod("soft hibernate (S)", _shutdown_return(None, None), True)
    if digit == "1":
        return ShutdownMethod(f"hard hibernate (@{awd or '000'})", at_steps(awd or "000"), True)
    if digit == "2":
        return ShutdownMethod("delayed poweroff (K K)", instcmd_steps("shutdown.stayoff"), False)
    if digit == "3":
        return ShutdownMethod("instant poweroff (Z Z)", instcmd_steps("load.off"), False)
    return ShutdownMethod("forced on-battery soft hibernate (U, S)",
                          _shutdown_return("cs", status), True)


def killpower_plan(status: int, *, sdtype: str | None = None, advorder: str | None = None,
                   awd: str | None = None) -> list[ShutdownMethod]:
    """The shutdown methods to try in turn, stopping at the first one the UPS confirms.

    Follows NUT's ``upsdrv_shutdown``: ``advorder`` (digits 0-4, unless it
    starts with ``N``) wins over ``sdtype``; the default sends ``@awd`` on line
    and ``S`` on battery.  ``status`` is the Q register just read (NUT assumes
    OB+LB when it cannot read it).  Raises ValueError for an unusable option.
    """
    if awd is not None and not (awd.isdigit() and len(awd) <= 3):
        raise ValueError(f"awd '{awd}': up to 3 digits")
    if advorder and advorder[0].upper() != "N":
        if any(digit not in _ADVORDER for digit in advorder):
            raise ValueError(f"advorder '{advorder}': digits 0-4 only")
        return [_method(digit, status, awd) for digit in advorder]
    kind = sdtype or "0"
    on_battery = bool(status & OB)
    plans = {"1": ["0", "1"] if on_battery else ["1"], "2": ["3"], "3": ["2"],
             "4": ["4"], "5": ["1"]}
    if kind == "0":
        return [_method("1" if status & OL else "0", status, awd)]
    if kind not in plans:
        raise ValueError(f"sdtype '{sdtype}': 0 to 5 only")
    return [_method(digit, status, awd) for digit in plans[kind]]
