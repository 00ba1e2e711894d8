"""``nutpy serve``: config, store, drivers and listeners under one nursery.

SIGHUP re-reads the three files as upsd does: users and settings are
replaced, UPSes are added, changed or removed (clients logged in to a removed
UPS are disconnected), and LISTEN and NIS_LISTEN stay as they were (an
apcupsd port serves its UPS by name, so a redefined UPS is served at once).  A reload whose files
cannot be served, or one of whose files cannot be read, keeps the running
configuration (upsd would drop every user when upsd.users is unreadable).
SIGTERM stops the server cleanly (each driver hands its UPS back to dumb
mode).  Under systemd the server reports readiness, reloads and stopping, and
feeds the watchdog (:mod:`nutpy.sdnotify`).
"""

from __future__ import annotations

import logging
import signal
from dataclasses import dataclass, field
from pathlib import Path

import trio

from nutpy import config as configmod
from nutpy import sdnotify
from nutpy.config import Config, Diagnostic, UpsConfig
from nutpy.config.descriptions import load_descriptions
from nutpy.drivers.base import supervise
from nutpy.frontends.control import serve_control
from nutpy.frontends.nis import serve_nis
from nutpy.frontends.nut.listener import make_tls_context, open_listeners, serve_listeners
from nutpy.frontends.nut.session import ServerContext
from nutpy.frontends.nut.tracking import Tracking
from nutpy.history.recorder import Recorder
from nutpy.store import Store
from nutpy.wiring import build_driver

log = logging.getLogger("nutpy")


class StartupError(Exception):
    """Serving is impossible (upsd would exit non-zero for the same reason)."""


def report(diagnostics: list[Diagnostic]) -> None:
    """Log problems exactly as ``check-config`` prints them, at their severity."""
    for diag in diagnostics:
        level = logging.ERROR if diag.severity == "error" else logging.WARNING
        log.log(level, "%s", diag)


@dataclass
class _Running:
    section: UpsConfig
    scope: trio.CancelScope


@dataclass
class Server:
    """The running server: what SIGHUP needs to reconcile."""

    cfg: Config
    ctx: ServerContext
    nursery: trio.Nursery
    drivers: dict[str, _Running] = field(default_factory=dict)
    recorder: Recorder = field(init=False)

    def __post_init__(self) -> None:
        self.recorder = Recorder(self.ctx.store)

    def start_ups(self, section: UpsConfig) -> None:
        ups = self.ctx.store.add(section.name, section.desc)
        scope = trio.CancelScope()
        self.drivers[section.name.lower()] = _Running(section, scope)
        driver = build_driver(section, self.cfg)
        if isinstance(driver, Diagnostic):
            report([driver])
            return

        async def run() -> None:
            with scope:
                await supervise(driver, ups)

        self.nursery.start_soon(run)

    def stop_ups(self, name: str) -> None:
        running = self.drivers.pop(name.lower(), None)
        if running is not None:
            running.scope.cancel()
        ups = self.ctx.store.get(name)
        if ups is not None:
            self.ctx.kick(ups)
        self.ctx.store.remove(name)

    def reload(self) -> None:
        cfg = configmod.load(self.cfg.directory)
        report(cfg.diagnostics)
        why = cfg.fatal or (f"cannot read {', '.join(cfg.unreadable)}"
                            if cfg.unreadable else None)
        if why:
            log.error("reload rejected, keeping the running configuration: %s", why)
            return
        old = {s.name.lower(): s for s in self.cfg.ups.ups}
        new = {s.name.lower(): s for s in cfg.ups.ups}
        self.cfg.directory = cfg.directory
        cfg.upsd.listen = self.cfg.upsd.listen  # LISTEN is not changed by a reload
        self.cfg = cfg
        self.ctx.users = cfg.users
        self.ctx.upsd = cfg.upsd
        self.ctx.tracking.delay = cfg.upsd.trackingdelay
        self.ctx.store.maxage = cfg.upsd.maxage
        for key, section in old.items():
            if key not in new or (new[key].driver, new[key].port, new[key].options) != (
                    section.driver, section.port, section.options):
                self.stop_ups(section.name)
        for key, section in new.items():
            if key in self.drivers:
                ups = self.ctx.store.get(section.name)
                if ups is not None:
                    ups.desc = section.desc
            else:
                self.start_ups(section)
        log.info("configuration reloaded: %d UPS", len(cfg.ups.ups))


async def _handle_signals(server: Server) -> None:
    """SIGHUP reloads; SIGTERM stops the server."""
    with trio.open_signal_receiver(signal.SIGHUP, signal.SIGTERM) as signals:
        async for signum in signals:
            if signum == signal.SIGTERM:
                log.info("SIGTERM: stopping")
                sdnotify.notify("STOPPING=1")
                server.nursery.cancel_scope.cancel()
                return
            log.info("SIGHUP: reloading configuration")
            sdnotify.reloading()
            server.reload()
            sdnotify.notify("READY=1")


async def serve(directory: Path, *, control: Path | None = None,
                task_status: trio.TaskStatus[list[trio.SocketListener]]
                = trio.TASK_STATUS_IGNORED) -> None:
    """Serve until cancelled or SIGTERM.  Raises StartupError when upsd would not start.

    ``control``: where to answer ``nutpy killpower`` (none when None).
    """
    cfg = configmod.load(directory)
    report(cfg.diagnostics)
    if cfg.fatal:
        raise StartupError(cfg.fatal)
    try:
        tls = make_tls_context(cfg.upsd)
    except OSError as exc:  # ssl.SSLError included
        log.error("TLS disabled: cannot use CERTFILE %s: %s", cfg.upsd.certfile, exc)
        tls = None
    store = Store(maxage=cfg.upsd.maxage)
    ctx = ServerContext(
        store=store, upsd=cfg.upsd, users=cfg.users,
        descriptions=load_descriptions(cfg.upsd.datapath),
        tracking=Tracking(cfg.upsd.trackingdelay), clock=store.clock,
        tls_available=tls is not None)
    try:
        listeners = await open_listeners(cfg.upsd.listeners,
                                         cfg.upsd.allow_not_all_listeners)
    except OSError as exc:
        raise StartupError(str(exc)) from exc
    async with trio.open_nursery() as nursery:
        server = Server(cfg, ctx, nursery)
        nursery.start_soon(store.watch_ages)
        await nursery.start(server.recorder.run)
        for section in cfg.ups.ups:
            server.start_ups(section)
        nursery.start_soon(_handle_signals, server)
        nursery.start_soon(serve_listeners, ctx, listeners, cfg.upsd.maxconn, tls)
        for nis in cfg.nutpy.nis_listen:
            if cfg.ups.find(nis.ups) is not None:  # else reported: NIS_LISTEN names no UPS
                await nursery.start(serve_nis, store, server.recorder, nis)
        if control is not None:
            nursery.start_soon(serve_control, ctx.store, control)
        period = sdnotify.watchdog_period()
        if period is not None:
            nursery.start_soon(sdnotify.feed_watchdog, period)
        task_status.started(listeners)
        sdnotify.notify("READY=1", f"STATUS=serving {len(cfg.ups.ups)} UPS")

