"""Which serial ports the machine has, and the name of each that survives a reboot.

A USB-serial adapter can come back as another ``/dev/ttyUSBn`` after every
reboot or replug; udev's ``/dev/serial/by-id/`` links name the adapter
itself (vendor, model, serial number), so a config written with that name
keeps working.  Built-in UARTs (``ttyS*``) have no such link and keep their
names.  A port carrying the kernel's console is left out: writing probe
bytes there would land on the console, or in a getty's login prompt.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DEV", "SYS", "Port", "console_names", "port_for", "serial_ports"]

DEV = Path("/dev")
SYS = Path("/sys")
_PATTERNS = ("ttyUSB*", "ttyACM*", "ttyS*")
_STABLE_DIRS = ("serial/by-id", "serial/by-path")


@dataclass(frozen=True, slots=True)
class Port:
    """A port to probe: as given, the device it is, and the name for ups.conf."""

    given: str
    device: Path | None = None  # the device node; None for socket:// URLs
    stable: str = ""  # what ups.conf should say

    @property
    def is_url(self) -> bool:
        return self.given.startswith("socket://")

    @property
    def label(self) -> str:
        """How the reports name it: the given name, plus the device if it differs."""
        if self.device is not None and str(self.device) != self.given:
            return f"{self.given} ({self.device})"
        return self.given


def _natural(path: Path) -> tuple[str, int]:
    match = re.fullmatch(r"(.*?)(\d+)", path.name)
    return (match.group(1), int(match.group(2))) if match else (path.name, -1)


def _resolve(path: Path) -> Path:
    with contextlib.suppress(OSError):
        return path.resolve(strict=True)
    return path


def _by_id(dev: Path) -> dict[Path, Path]:
    """Device node -> its by-id link (else its by-path link)."""
    links: dict[Path, Path] = {}
    for sub in reversed(_STABLE_DIRS):  # by-id wins: written last
        folder = dev / sub
        with contextlib.suppress(OSError):
            for link in sorted(folder.iterdir()):
                links[_resolve(link)] = link
    return links


def port_for(given: str, dev: Path = DEV) -> Port:
    """The :class:`Port` for a path the user named."""
    path = Path(given)
    device = _resolve(path)
    if any(str(path.parent).endswith(sub) for sub in _STABLE_DIRS):
        return Port(given, device, given)
    link = _by_id(dev).get(device)
    return Port(given, device, str(link) if link is not None else given)


def serial_ports(dev: Path = DEV) -> list[Port]:
    """Every serial port device node under ``dev``, each once, by-id links first."""
    links = _by_id(dev)
    seen: set[Path] = set()
    ports: list[Port] = []
    for device, link in sorted(links.items(), key=lambda item: str(item[1])):
        if device not in seen and device.exists():
            seen.add(device)
            ports.append(Port(str(link), device, str(link)))
    for pattern in _PATTERNS:
        for node in sorted(dev.glob(pattern), key=_natural):
            device = _resolve(node)
            if device not in seen:
                seen.add(device)
                ports.append(Port(str(node), device, str(node)))
    return ports


def console_names(sys: Path = SYS) -> set[str]:
    """The ttys the kernel writes its console to (``console=ttyS0``)."""
    with contextlib.suppress(OSError):
        return set((sys / "class/tty/console/active").read_text().split())
    return set()
