"""NUT device dump files (``.dev``, ``.seq``): pure parsing, no I/O.

A dump is an ``upsc`` listing (``name: value`` lines); a sequence adds
``TIMER n`` lines between groups of values.  ``driver.*`` lines describe the
driver that made the dump, not the UPS, so they are left out.  Both the
``dummy-ups`` driver and the simulators read dumps through this module.
"""

from __future__ import annotations

from dataclasses import dataclass

from nutpy.protocols.tokenizer import Line, tokenize_text


@dataclass(frozen=True, slots=True)
class Assign:
    name: str
    value: str


@dataclass(frozen=True, slots=True)
class Timer:
    seconds: float


Step = Assign | Timer


def parse_steps(data: bytes) -> list[Step]:
    """The steps of a .dev/.seq file, in file order."""
    steps: list[Step] = []
    for event in tokenize_text(data):
        if not isinstance(event, Line):
            continue
        head, *rest = event.words
        if head.startswith("TIMER"):
            seconds = rest[0] if rest else "0"
            steps.append(Timer(float(seconds) if _is_number(seconds) else 0.0))
            continue
        name = head.split(":", 1)[0]
        if not name or name.startswith("driver.") or head.startswith("ALARM"):
            continue
        steps.append(Assign(name, " ".join(rest)))
    return steps


def dev_variables(data: bytes) -> dict[str, str]:
    """The variables of a dump, the last value of each winning."""
    return {s.name: s.value for s in parse_steps(data) if isinstance(s, Assign)}


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
