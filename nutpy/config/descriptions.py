"""Variable and command descriptions from NUT's ``cmdvartab``.

upsd reads ``<DATAPATH>/cmdvartab`` (lines ``VARDESC name "text"`` and
``CMDDESC name "text"``).  nutpy reads the same file when it is installed, so
``GET DESC`` answers as upsd does; without it every answer is
"Description unavailable", as in upsd.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from nutpy.protocols.tokenizer import Line, tokenize_text

DEFAULT_DATAPATH = "/usr/share/nut"


@dataclass
class Descriptions:
    variables: dict[str, str] = field(default_factory=dict)  # lower-case keys
    commands: dict[str, str] = field(default_factory=dict)

    def variable(self, name: str) -> str | None:
        return self.variables.get(_strip_upstream(name).lower())

    def command(self, name: str) -> str | None:
        return self.commands.get(_strip_upstream(name).lower())


def _strip_upstream(name: str) -> str:
    return name[9:] if name.startswith("upstream.") else name


def parse_cmdvartab(data: bytes) -> Descriptions:
    result = Descriptions()
    for event in tokenize_text(data):
        if not isinstance(event, Line) or len(event.words) < 3:
            continue
        kind, name, text = event.words[:3]
        if kind == "VARDESC":
            result.variables.setdefault(name.lower(), text)
        elif kind == "CMDDESC":
            result.commands.setdefault(name.lower(), text)
    return result


def load_descriptions(datapath: str | None) -> Descriptions:
    path = Path(datapath or DEFAULT_DATAPATH) / "cmdvartab"
    try:
        return parse_cmdvartab(path.read_bytes())
    except OSError:
        return Descriptions()
