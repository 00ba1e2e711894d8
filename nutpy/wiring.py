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
from nutpy.tls import tls_problems

__all__ = ["build_driver", "check", "make_driver"]


class _PortProblem(DriverConfigError):
    """The section's ``port`` is what is wrong (reported on its line)."""


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
            raise _PortProblem(str(exc)) from exc

        def open_line(baudrate: int) -> AbstractAsyncContextManager[trio.abc.Stream]:
            return ports.open_port(spec, baudrate, confdir)

        setup = DriverSetup(section, confdir, globals_, open_line)
    return entry.factory(setup)


def _diagnostic(section: UpsConfig, cfg: Config, exc: DriverConfigError) -> Diagnostic:
    key = "port" if isinstance(exc, _PortProblem) else (
        "driver" if registry.lookup(section.driver) is None else None)
    lineno = section.keys.get(key, section.lineno) if key else section.lineno
    return Diagnostic(str(cfg.directory / "ups.conf"), lineno, "error",
                      f"[{section.name}] {exc}; it stays DRIVER-NOT-CONNECTED")


def build_driver(section: UpsConfig, cfg: Config) -> Driver | Diagnostic:
    """The section's driver, or the error that keeps it from running."""
    try:
        return make_driver(section, cfg.directory, cfg.ups.globals)
    except DriverConfigError as exc:
        return _diagnostic(section, cfg, exc)


def _check_section(section: UpsConfig, cfg: Config) -> Diagnostic | None:
    """build_driver's verdict, plus what only the files tell about a port."""
    built = build_driver(section, cfg)
    if isinstance(built, Diagnostic):
        return built
    entry = registry.lookup(section.driver)
    if entry is not None and entry.serial:
        try:
            ports.check_port(ports.parse_port(section.port), cfg.directory)
        except ports.PortError as exc:
            return _diagnostic(section, cfg, _PortProblem(str(exc)))
    return None


def check(cfg: Config) -> list[Diagnostic]:
    """Every problem ``serve`` reports for ``cfg``: the files' and the drivers'.

    It reads what the config names (CERTFILE, a simulator's dump), so call
    it off the event loop.
    """
    found = (_check_section(section, cfg) for section in cfg.ups.ups)
    return (cfg.diagnostics + tls_problems(cfg.upsd, str(cfg.directory / "upsd.conf"))
            + [d for d in found if d is not None])
