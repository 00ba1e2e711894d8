"""The simulators' control language, without I/O.

One command per line, the same for every simulated UPS::

    mains fail | mains restore | battery charge PCT | battery low | load PCT
    unplug | plug | noise N | garble PCT | inject HEX... | truncate N
    set VAR VALUE | show

:func:`run_control` applies a line to an engine and returns the lines to
answer.  ``noise N`` (N random bytes on the line now), ``garble PCT`` (from
now on, each byte time of the line from the UPS has a PCT % chance of noise;
0 stops), ``inject HEX...`` (exactly these bytes, in hex: ``inject 21 25``)
and ``truncate N`` (the next N replies cut short, 0 to stop) are returned as
line faults because the bytes on the line are the transport's business.
``unplug`` is a UPS that stops answering.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Protocol

HELP = ("commands: mains fail | mains restore | battery charge PCT | battery low | "
        "load PCT | unplug | plug | noise N | garble PCT | inject HEX... | truncate N | "
        "set VAR VALUE | show")
MAX_NOISE = 1_000_000
MAX_INJECT = 4096
MAX_TRUNCATE = 1_000_000


class Engine(Protocol):
    """What a simulated UPS offers its transport and its operator."""

    def feed(self, data: bytes, now: float) -> bytes: ...
    def tick(self, now: float) -> bytes | None: ...
    def mains_fail(self) -> None: ...
    def mains_restore(self) -> None: ...
    def battery_charge(self, pct: float, /) -> None: ...
    def battery_low(self) -> None: ...
    def load(self, pct: float, /) -> None: ...
    def unplug(self) -> None: ...
    def plug(self) -> None: ...
    def set(self, var: str, value: str, /) -> None: ...
    def show(self) -> list[str]: ...


@dataclass(frozen=True, slots=True)
class Noise:
    count: int


@dataclass(frozen=True, slots=True)
class Garble:
    rate: float  # chance of noise in each byte time of the line from the UPS (0: none)


@dataclass(frozen=True, slots=True)
class Inject:
    data: bytes  # to put on the line from the UPS, as they are


@dataclass(frozen=True, slots=True)
class Truncate:
    count: int  # replies to cut short from now on (0: none)


LineFault = Noise | Garble | Inject | Truncate


def random_garbage(count: int, rng: random.Random) -> bytes:
    """``count`` random bytes for a transport to put on the line as noise."""
    return bytes(rng.randrange(256) for _ in range(count))


def garbled(data: bytes, rate: float, rng: random.Random) -> bytes:
    """``data`` with each byte replaced by a random one at ``rate`` (noise in its byte time)."""
    return bytes(rng.randrange(256) if rng.random() < rate else b for b in data)


def idle_noise(byte_times: int, rate: float, rng: random.Random) -> bytes:
    """The random bytes noise makes on an idle line over ``byte_times`` byte times."""
    return bytes(rng.randrange(256) for _ in range(byte_times) if rng.random() < rate)


def _hex_bytes(words: list[str]) -> bytes:
    try:
        data = bytes.fromhex("".join(words))
    except ValueError:
        raise ValueError("inject takes bytes in hex, as in: inject 21 25") from None
    if not 0 < len(data) <= MAX_INJECT:
        raise ValueError(f"inject takes 1 to {MAX_INJECT} bytes")
    return data


def cut_short(reply: bytes) -> bytes:
    """The first half of a reply: what ends it (CR LF, checksum) is lost."""
    return reply[:len(reply) // 2]


def number(word: str, low: float, high: float, what: str) -> float:
    """``word`` as a finite number from ``low`` to ``high``; ValueError otherwise."""
    try:
        value = float(word)
    except ValueError:
        raise ValueError(f"{what} needs a number, not {word[:20]!r}") from None
    if not low <= value <= high:  # NaN fails this too
        raise ValueError(f"{what} is from {low:g} to {high:g}")
    return value


def _percent(word: str) -> float:
    return number(word.rstrip("%"), 0, 100, "a percentage")


_MAX_ERROR = 120  # characters of an error echoed back (a value may be huge)


def run_control(engine: Engine, line: str) -> tuple[list[str], LineFault | None]:
    """Apply one control line; returns (answer lines, line fault to apply)."""
    words = line.split()
    if not words:
        return [], None
    verb = [w.lower() for w in words[:2]]
    try:
        if verb == ["mains", "fail"]:
            engine.mains_fail()
        elif verb == ["mains", "restore"]:
            engine.mains_restore()
        elif verb == ["battery", "charge"] and len(words) == 3:
            engine.battery_charge(_percent(words[2]))
        elif verb == ["battery", "low"]:
            engine.battery_low()
        elif verb[0] == "load" and len(words) == 2:
            engine.load(_percent(words[1]))
        elif verb == ["unplug"]:
            engine.unplug()
        elif verb == ["plug"]:
            engine.plug()
        elif verb[0] == "noise" and len(words) == 2:
            count = int(words[1])
            if not 0 < count <= MAX_NOISE:
                raise ValueError(f"noise takes 1 to {MAX_NOISE} bytes")
            return ["OK"], Noise(count)
        elif verb[0] == "garble" and len(words) == 2:
            return ["OK"], Garble(_percent(words[1]) / 100)
        elif verb[0] == "inject" and len(words) >= 2:
            return ["OK"], Inject(_hex_bytes(words[1:]))
        elif verb[0] == "truncate" and len(words) == 2:
            count = int(words[1])
            if not 0 <= count <= MAX_TRUNCATE:
                raise ValueError(f"truncate takes 0 to {MAX_TRUNCATE} replies")
            return ["OK"], Truncate(count)
        elif verb[0] == "set" and len(words) >= 3:
            engine.set(words[1], " ".join(words[2:]))
        elif verb == ["show"]:
            return [*engine.show(), "OK"], None
        else:
            return [f"ERR unknown command; {HELP}"], None
    except (ValueError, LookupError, ArithmeticError) as exc:
        # An engine says what is wrong with a ValueError; the others are a
        # value it did not foresee, still an answer and never a crash.
        text = str(exc) if isinstance(exc, ValueError) else f"{type(exc).__name__}: {exc}"
        return [f"ERR {text[:_MAX_ERROR]}"], None
    return ["OK"], None
