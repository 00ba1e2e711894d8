"""The driver contract, and the supervisor that keeps each driver running.

A driver is an object with ``async run(ups, requests)``: it publishes into
``ups`` (a :class:`~nutpy.store.UpsState`) and executes the client requests
that arrive on ``requests``.  It never learns that a network exists.  If it
raises, the supervisor logs the failure once, marks the UPS disconnected and
starts it again with back-off.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import trio

from nutpy import __version__
from nutpy.config import UpsConfig
from nutpy.drivers.transport import PortError, PortSpec, parse_port
from nutpy.store import Request, UpsState

log = logging.getLogger("nutpy.driver")

DEFAULT_POLLINTERVAL = 2.0
REQUEST_QUEUE = 16
_BACKOFF_START = 1.0
_BACKOFF_MAX = 30.0


class Driver(Protocol):
    async def run(self, ups: UpsState,
                  requests: trio.MemoryReceiveChannel[Request]) -> None: ...


DriverFactory = Callable[[UpsConfig, Path, dict[str, str | None]], Driver]


class DriverConfigError(Exception):
    """The ups.conf section cannot work with this driver (bad port, say)."""


def _registry() -> dict[str, DriverFactory]:
    from nutpy.drivers.apcmicrolink.driver import ApcMicrolink
    from nutpy.drivers.apcsmart.driver import ApcSmart
    from nutpy.drivers.dummy import DummyUps

    return {"dummy-ups": DummyUps,
            "apcmicrolink": ApcMicrolink,
            "apcsmart": ApcSmart}


def port_spec(section: UpsConfig) -> PortSpec:
    """The section's ``port`` parsed, or DriverConfigError saying what is wrong."""
    try:
        return parse_port(section.port)
    except PortError as exc:
        raise DriverConfigError(str(exc)) from exc


def publish_driver_info(ups: UpsState, name: str, parameters: dict[str, str]) -> None:
    """``driver.*`` and ``device.type``, as NUT's driver core publishes them."""
    ups.set("driver.name", name)
    for key, value in parameters.items():
        ups.set(f"driver.parameter.{key}", value)
    ups.set("driver.version", __version__)
    ups.set("driver.version.internal", __version__)
    ups.set("device.type", "ups")


def mirror_device_info(ups: UpsState) -> None:
    """Copy ups.mfr/model/serial to device.*, as NUT's driver core does."""
    for suffix in ("mfr", "model", "serial"):
        var = ups.get(f"ups.{suffix}")
        if var is not None:
            ups.set(f"device.{suffix}", var.value)


def driver_names() -> list[str]:
    return sorted(_registry())


def make_driver(section: UpsConfig, confdir: Path,
                globals_: dict[str, str | None]) -> Driver:
    """Build the driver named in the section; DriverConfigError if it cannot be."""
    factory = _registry().get(section.driver)
    if factory is None:
        raise DriverConfigError(
            f"driver '{section.driver}' is not one nutpy has "
            f"(it has: {', '.join(driver_names())})")
    return factory(section, confdir, globals_)


def poll_interval(section: UpsConfig, globals_: dict[str, str | None]) -> float:
    raw = section.options.get("pollinterval") or globals_.get("pollinterval")
    return float(raw) if raw and raw.isdigit() and int(raw) > 0 else DEFAULT_POLLINTERVAL


async def supervise(driver: Driver, ups: UpsState) -> None:
    """Run ``driver`` for ``ups`` forever, restarting it after failures."""
    delay = _BACKOFF_START
    last_error = ""
    while True:
        send, receive = trio.open_memory_channel[Request](REQUEST_QUEUE)
        ups.attach(send)
        started = trio.current_time()
        try:
            async with send, receive:
                await driver.run(ups, receive)
        except Exception as exc:  # a driver bug must not take the server down
            message = f"{type(exc).__name__}: {exc}"
            if message != last_error:
                log.error("[%s] driver failed: %s; restarting", ups.name, message)
                last_error = message
        finally:
            ups.disconnect()
        if trio.current_time() - started > _BACKOFF_MAX:
            delay = _BACKOFF_START
        await trio.sleep(delay)
        delay = min(delay * 2, _BACKOFF_MAX)
