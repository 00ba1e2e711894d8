"""From a ups.conf section to a driver ready to run.

The one place that knows both the drivers and the kinds of port: it looks the
driver up by name, parses ``port`` when the driver reads a line, and hands the
driver an opener bound to that port.  ``serve``, ``check-config`` and
``killpower`` all build their drivers here, so a section they accept is one
that runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import trio

from nutpy import ports
from nutpy.config import Config, Diagnostic, UpsConfig
from nutpy.drivers import registry
from nutpy.drivers.base import Driver, DriverConfigError, DriverSetup

__all__ = ["build_driver", "check", "make_driver"]


def make_driver(section: UpsConfig, confdir: Path,
                globals_: Mapping[str, str | None]) -> Driver:
    """The section's driver; DriverConfigError says why it cannot be built."""
    entry = registry.lookup(section.driver)
    if entry is None:
        raise DriverConfigError(
            f"driver '{section.driver}' is not one nutpy has "
            f"(it has: {', '.join(registry.names())})")
    setup = DriverSetup(section, confdir, globals_)
    if entry.serial:
        try:
            spec = ports.parse_port(section.port)
        except ports.PortError as exc:
            raise DriverConfigError(str(exc)) from exc

        def open_line(baudrate: int) -> AbstractAsyncContextManager[trio.abc.Stream]:
            return ports.open_port(spec, baudrate, confdir)

        setup = DriverSetup(section, confdir, globals_, open_line)
    return entry.factory(setup)


def build_driver(section: UpsConfig, cfg: Config) -> Driver | Diagnostic:
    """The section's driver, or the error that keeps it from running."""
    try:
        return make_driver(section, cfg.directory, cfg.ups.globals)
    except DriverConfigError as exc:
        return Diagnostic(str(cfg.directory / "ups.conf"), section.lineno, "error",
                          f"[{section.name}] {exc}; it stays DRIVER-NOT-CONNECTED")


def check(cfg: Config) -> list[Diagnostic]:
    """Every problem ``serve`` reports for ``cfg``: the files' and the drivers'."""
    built = (build_driver(section, cfg) for section in cfg.ups.ups)
    return cfg.diagnostics + [d for d in built if isinstance(d, Diagnostic)]
