"""Which APC protocol a port speaks, and what UPS is on it, without I/O.

``nutpy scan`` runs these probes on each port in turn, Microlink's first:
its ``FD``/``FE`` bytes, reaching a Smart-UPS at 2400 baud, arrive as 0xFF
or nothing, which it ignores; a Smart ``Y`` reaching a Microlink unit is the
start of a write frame that never completes (its checksum could not match).
Each probe sends only queries that identify the UPS, never one that changes
its state, and concludes with a :data:`Finding`.
"""

from nutpy.protocols.identify.findings import HEARD_MAX, Finding, Identity, NoUps, Probe, Unreadable
from nutpy.protocols.identify.microlink import MicrolinkProbe
from nutpy.protocols.identify.smart import SmartProbe

__all__ = ["HEARD_MAX", "Finding", "Identity", "MicrolinkProbe", "NoUps", "Probe", "SmartProbe",
           "Unreadable", "probes"]


def probes() -> list[Probe]:
    """A fresh probe for each protocol, in the order to run them."""
    return [MicrolinkProbe(), SmartProbe()]
