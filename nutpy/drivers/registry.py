"""The drivers nutpy has, by the name ``driver =`` gives them in ups.conf.

Kept apart from :mod:`nutpy.drivers.base` so that the contract does not
import the drivers that implement it.
"""

from __future__ import annotations

from dataclasses import dataclass

from nutpy.drivers.apcmicrolink.driver import ApcMicrolink
from nutpy.drivers.apcsmart.driver import ApcSmart
from nutpy.drivers.base import DriverFactory
from nutpy.drivers.dummy import DummyUps

__all__ = ["Registered", "lookup", "names"]


@dataclass(frozen=True)
class Registered:
    factory: DriverFactory
    serial: bool  # ``port`` is a line to open (else the driver reads it itself)


_DRIVERS = {
    "apcsmart": Registered(ApcSmart, serial=True),
    "apcmicrolink": Registered(ApcMicrolink, serial=True),
    "dummy-ups": Registered(DummyUps, serial=False),
}


def lookup(name: str) -> Registered | None:
    return _DRIVERS.get(name)


def names() -> list[str]:
    return sorted(_DRIVERS)
