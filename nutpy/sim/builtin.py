"""The built-in simulators by name: ``smart`` and ``microlink``."""

from __future__ import annotations

from pathlib import Path

from nutpy.config.files import read_regular
from nutpy.sim.control import Engine
from nutpy.sim.microlink import MicrolinkSim
from nutpy.sim.smart import SmartUps

NAMES = ("smart", "microlink")


def make_engine(name: str, options: dict[str, str], base: Path) -> Engine:
    """Build a simulator; ValueError says what is wrong with the options.

    ``smart`` takes ``dump=FILE.dev`` (relative to ``base``); ``microlink``
    takes ``rows=16`` or ``rows=32``.
    """
    if name == "smart":
        dump = options.get("dump")
        if dump is None:
            return SmartUps()
        try:
            return SmartUps.from_dev(read_regular(base / dump))
        except OSError as exc:
            raise ValueError(f"cannot read dump {base / dump}: {exc.strerror}") from exc
    if name == "microlink":
        rows = options.get("rows", "16")
        if rows not in ("16", "32"):
            raise ValueError("rows must be 16 or 32")
        return MicrolinkSim(width=int(rows))
    raise ValueError(f"no simulator called '{name}' (there are: {', '.join(NAMES)})")
