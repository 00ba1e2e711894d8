"""The two serial drivers as the fault tests drive them: engine, values, line noise."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from nutpy.sim.control import Engine
from nutpy.sim.microlink import MicrolinkSim
from nutpy.sim.smart import SmartUps


@dataclass(frozen=True)
class Kind:
    driver: str
    engine: Callable[[], Engine]
    before: dict[str, str]  # what the fresh simulator shows
    after: dict[str, str]  # after "mains fail" and "load 40"
    noise: bytes  # what garbage on its line is made of


KINDS = {
    # Smart-UPS replies have no checksum: a stray digit or alert character
    # inside a reply cannot be told from data, so the garbage here is what
    # the protocol can detect (control bytes; CR is ignored by the protocol).
    "apcsmart": Kind("apcsmart", SmartUps, {"ups.status": "OL", "ups.load": "012.4"},
                     {"ups.status": "OB", "ups.load": "040.0"},
                     bytes(b for b in range(256) if not 0x20 <= b <= 0x7E and b != 0x0D)),
    "apcmicrolink": Kind("apcmicrolink", MicrolinkSim, {"ups.status": "OL", "ups.load": "18"},
                         {"ups.status": "OB DISCHRG", "ups.load": "40"}, bytes(range(256))),
}
