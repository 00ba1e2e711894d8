"""``nutpy serve``: config, store, drivers and listeners under one nursery.

SIGHUP re-reads the three files as upsd does: users and settings are
replaced, UPSes are added, changed or removed (clients logged in to a removed
UPS are disconnected), and LISTEN stays as it was.  A reload whose files
cannot be served, or one of whose files cannot be read, keeps the running
configuration (upsd would drop every user when upsd.users is unreadable),
and so does one that fails in any other way: a reload never stops the
server.  The files are read and checked in a worker thread, so clients are
served meanwhile.
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
from nutpy.frontends.nut.listener import open_listeners, serve_listeners
from nutpy.frontends.nut.session import ServerContext
from nutpy.frontends.nut.tracking import Tracking
from nutpy.store import Store
from nutpy.tls import TlsError, server_context
from nutpy.wiring import build_driver, check

log = logging.getLogger("nutpy")


class StartupError(Exception):
    """Serving is impossible (upsd would exit non-zero for the same reason)."""


def _read(directory: Path) -> tuple[Config, list[Diagnostic]]:
    """The config and every problem ``check-config`` would print (blocking I/O)."""
    cfg = configmod.load(directory)
    return cfg, check(cfg)


def report(diagnostics: list[Diagnostic]) -> None:
    """Log problems exactly as ``check-config`` prints them, at their severity."""
    for diag in diagnostics:
        level = logging.ERROR if diag.severity == "error" else logging.WARNING
        log.log(level, "%s", diag)


STOP_TIMEOUT = 5.0  # longest wait for a replaced driver to let go of its port


@dataclass
class _Running:
    section: UpsConfig
    scope: trio.CancelScope
    done: trio.Event = field(default_factory=trio.Event)  # the driver has stopped


@dataclass
class Server:
    """The running server: what SIGHUP needs to reconcile."""

    cfg: Config
    ctx: ServerContext
    nursery: trio.Nursery
    drivers: dict[str, _Running] = field(default_factory=dict)

    def start_ups(self, section: UpsConfig, after: trio.Event | None = None) -> None:
        """Run the section's driver; one that cannot be built (check() said why)
        leaves its UPS DRIVER-NOT-CONNECTED.  ``after``: the driver it replaces
        stops first, so that the port (or a simulator's control socket) is free."""
        ups = self.ctx.store.add(section.name, section.desc)
        running = _Running(section, trio.CancelScope())
        self.drivers[section.name.lower()] = running
        driver = build_driver(section, self.cfg)
        if isinstance(driver, Diagnostic):
            running.done.set()
            return

        async def run() -> None:
            try:
                with running.scope:
                    if after is not None:
                        with trio.move_on_after(STOP_TIMEOUT):
                            await after.wait()
                    await supervise(driver, ups)
            finally:
                running.done.set()

        self.nursery.start_soon(run)

    def stop_ups(self, name: str) -> trio.Event | None:
        """Stop the UPS's driver and forget the UPS; the event is set once it stopped."""
        running = self.drivers.pop(name.lower(), None)
        if running is not None:
            running.scope.cancel()
        ups = self.ctx.store.get(name)
        if ups is not None:
            self.ctx.kick(ups)
        self.ctx.store.remove(name)
        return None if running is None else running.done

    async def reload(self) -> None:
        """Re-read the files; whatever goes wrong, the running configuration stays."""
        try:
            cfg, problems = await trio.to_thread.run_sync(_read, self.cfg.directory)
            report(problems)
            why = cfg.fatal or (f"cannot read {', '.join(cfg.unreadable)}"
                                if cfg.unreadable else None)
            if why:
                log.error("reload rejected, keeping the running configuration: %s", why)
                return
            self._apply(cfg)
        except Exception:  # a bug here must not take the UPS monitoring down
            log.exception("reload failed, keeping the running configuration")

    def _apply(self, cfg: Config) -> None:
        old = {s.name.lower(): s for s in self.cfg.ups.ups}
        new = {s.name.lower(): s for s in cfg.ups.ups}
        self.cfg.directory = cfg.directory
        cfg.upsd.listen = self.cfg.upsd.listen  # LISTEN is not changed by a reload
        self.cfg = cfg
        self.ctx.users = cfg.users
        self.ctx.upsd = cfg.upsd
        self.ctx.tracking.delay = cfg.upsd.trackingdelay
        self.ctx.store.maxage = cfg.upsd.maxage
        stopped: dict[str, trio.Event | None] = {}
        for key, section in old.items():
            if key not in new or (new[key].driver, new[key].port, new[key].options) != (
                    section.driver, section.port, section.options):
                stopped[key] = self.stop_ups(section.name)
        for key, section in new.items():
            if key in self.drivers:
                ups = self.ctx.store.get(section.name)
                if ups is not None:
                    ups.desc = section.desc
            else:
                self.start_ups(section, after=stopped.get(key))
        log.info("configuration reloaded: %d UPS", len(cfg.ups.ups))


async def _handle_signals(server: Server, *,
                          task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
                          ) -> None:
    """SIGHUP reloads; SIGTERM stops the server.  Started once the signals are
    caught, so that no SIGHUP after start-up can kill the process."""
    with trio.open_signal_receiver(signal.SIGHUP, signal.SIGTERM) as signals:
        task_status.started()
        async for signum in signals:
            if signum == signal.SIGTERM:
                log.info("SIGTERM: stopping")
                sdnotify.notify("STOPPING=1")
                server.nursery.cancel_scope.cancel()
                return
            log.info("SIGHUP: reloading configuration")
            sdnotify.reloading()
            await server.reload()
            sdnotify.notify("READY=1")


async def serve(directory: Path, *, control: Path | None = None,
                task_status: trio.TaskStatus[list[trio.SocketListener]]
                = trio.TASK_STATUS_IGNORED) -> None:
    """Serve until cancelled or SIGTERM.  Raises StartupError when upsd would not start.

    ``control``: where to answer ``nutpy killpower`` (none when None).
    """
    cfg, problems = await trio.to_thread.run_sync(_read, directory)
    report(problems)
    if cfg.fatal:
        raise StartupError(cfg.fatal)
    try:  # TLS is set up once, at start-up, as in upsd: a reload keeps it
        tls = await trio.to_thread.run_sync(server_context, cfg.upsd)
    except (TlsError, OSError) as exc:  # upsd exits rather than serve plaintext
        raise StartupError(f"CERTFILE {cfg.upsd.certfile}: {exc}") from exc
    store = Store(maxage=cfg.upsd.maxage)
    ctx = ServerContext(
        store=store, upsd=cfg.upsd, users=cfg.users,
        descriptions=await trio.to_thread.run_sync(load_descriptions, cfg.upsd.datapath),
        tracking=Tracking(cfg.upsd.trackingdelay), clock=store.clock,
        tls_available=tls is not None)
    try:
        listeners = await open_listeners(cfg.upsd.listeners,
                                         cfg.upsd.allow_not_all_listeners,
                                         str(directory / "upsd.conf"))
    except OSError as exc:
        raise StartupError(str(exc)) from exc
    async with trio.open_nursery() as nursery:
        server = Server(cfg, ctx, nursery)
        nursery.start_soon(store.watch_ages)
        for section in cfg.ups.ups:
            server.start_ups(section)
        await nursery.start(_handle_signals, server)
        nursery.start_soon(serve_listeners, ctx, listeners, cfg.upsd.maxconn, tls)
        if control is not None:
            nursery.start_soon(serve_control, ctx.store, control, directory)
        period = sdnotify.watchdog_period()
        if period is not None:
            nursery.start_soon(sdnotify.feed_watchdog, period)
        task_status.started(listeners)
        sdnotify.notify("READY=1", f"STATUS=serving {len(cfg.ups.ups)} UPS")

