"""``nutpy serve``: config, store, drivers and listeners under one nursery.

SIGHUP re-reads the three files as upsd does: users and settings are
replaced, UPSes are added, changed or removed (clients logged in to a removed
UPS are disconnected), and LISTEN and NIS_LISTEN stay as they were (an
apcupsd port serves its UPS by name, so a redefined UPS is served at once).  A reload whose files
cannot be served, or one of whose files cannot be read, keeps the running
configuration (upsd would drop every user when upsd.users is unreadable),
and so does one that fails in any other way: a reload never stops the
server.  The files are read and checked in a worker thread, so clients are
served meanwhile.
SIGTERM stops the server cleanly (each driver hands its UPS back to dumb
mode).  Under systemd the server reports readiness, reloads and stopping, and
feeds the watchdog (:mod:`nutpy.sdnotify`).  It is ready once it listens and
every UPS has been read, so that upsmon, started after it, finds data; but
after MAXAGE at most, since a UPS not read by then is served as stale anyway
and one dead port must not hold back the others.

The HTTP front end, the apcupsd port and the history (with prometheus_client,
h11 and sqlite3: about 6 MB and a third of a second) are imported only when
the configuration asks for them.
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import trio

from nutpy import config as configmod
from nutpy import sdnotify
from nutpy.config import Config, Diagnostic, UpsConfig
from nutpy.config.descriptions import load_descriptions
from nutpy.drivers.base import supervise
from nutpy.frontends.announce import serve_announce
from nutpy.frontends.control import serve_control
from nutpy.frontends.nut.listener import open_listeners, serve_listeners
from nutpy.frontends.nut.session import ServerContext
from nutpy.frontends.nut.tracking import Tracking
from nutpy.history.recorder import KEEP, Recorder
from nutpy.store import (
    Availability,
    AvailabilityChanged,
    Resync,
    Store,
    UpsAdded,
    UpsRemoved,
)
from nutpy.tls import TlsError, server_context
from nutpy.wiring import build_driver, check

if TYPE_CHECKING:
    from nutpy.frontends.http import HttpContext
    from nutpy.history.keeper import History

log = logging.getLogger("nutpy")

# The longest wait for the UPSes before READY=1, whatever MAXAGE says:
# systemd gives up on a start after 90 s (TimeoutStartSec's default).
READY_WAIT_LIMIT = 60.0


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
    recorder: Recorder = field(init=False)
    http: HttpContext | None = None  # when HTTP_LISTEN is set
    reload_hooks: list[Callable[[Config], None]] = field(default_factory=list)
    addresses: list[str] = field(default_factory=list)  # where it listens, for STATUS=

    def __post_init__(self) -> None:
        self.recorder = Recorder(self.ctx.store)

    def unread(self) -> list[str]:
        """The UPSes whose data is not fresh now."""
        return [ups.name for ups in self.ctx.store
                if ups.availability() is not Availability.OK]

    def status(self) -> str:
        """What systemd shows as the service's status."""
        names = [ups.name for ups in self.ctx.store]
        text = f"{len(names)} UPS ({', '.join(names)}) on {', '.join(self.addresses)}"
        unread = self.unread()
        return f"{text}; stale: {', '.join(unread)}" if unread else text

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
        cfg.nutpy.http_listen = self.cfg.nutpy.http_listen  # nor HTTP_LISTEN
        self.cfg = cfg
        self.ctx.users = cfg.users
        if self.http is not None:
            self.http.users = cfg.users
            self.http.allow_plain_auth = cfg.nutpy.http_allow_plain_auth
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
        for hook in self.reload_hooks:
            hook(cfg)
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
            sdnotify.notify("READY=1", f"STATUS={server.status()}")


async def _report_status(server: Server) -> None:
    """READY=1 once every UPS is read (or MAXAGE has passed), then STATUS= as it changes."""
    wanted = (AvailabilityChanged, UpsAdded, UpsRemoved, Resync)
    with server.ctx.store.feed.subscribe(want=lambda e: isinstance(e, wanted)) as changes:
        with trio.move_on_after(min(server.cfg.upsd.maxage, READY_WAIT_LIMIT)):
            while server.unread():
                await changes.receive()
        status = server.status()
        sdnotify.notify("READY=1", f"STATUS={status}")
        async for _ in changes:
            if (current := server.status()) != status:
                status = current
                sdnotify.notify(f"STATUS={status}")


async def _open_history(cfg: Config, store: Store) -> History | None:
    statepath = Path(cfg.upsd.statepath) if cfg.upsd.statepath else \
        configmod.default_statepath()
    path = cfg.nutpy.history_path(statepath, cfg.directory)
    if path is None:
        return None
    import sqlite3  # lazy, as the history (see the module's docstring)

    from nutpy.history.keeper import History
    try:
        return await History.open(store, path, cfg.nutpy.history_days)
    except (OSError, sqlite3.Error) as exc:
        log.warning("no history is kept: cannot use %s: %s", path, exc)
        return None


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
        http_listeners = (await open_listeners(cfg.nutpy.http_listen, False,
                                               str(directory / "nutpy.conf"))
                          if cfg.nutpy.http_listen else [])
    except OSError as exc:
        raise StartupError(str(exc)) from exc
    history = await _open_history(cfg, store)
    # The history is the outermost task: it writes the "server stopped" entry
    # and what is left only after everything else has ended.
    async with trio.open_nursery() as keeper:
        if history is not None:
            keeper.start_soon(history.run)
        async with trio.open_nursery() as nursery:
            server = Server(cfg, ctx, nursery, addresses=[
                "{} port {}".format(*listener.socket.getsockname()[:2])
                for listener in listeners])
            if history is not None:
                server.recorder.preload(await history.entries(
                    None, cfg.nutpy.history_days * 86400.0, KEEP))
                server.recorder.on_entry = history.add_entry
            nursery.start_soon(store.watch_ages)
            await nursery.start(server.recorder.run)
            for section in cfg.ups.ups:
                server.start_ups(section)
            await nursery.start(_handle_signals, server)
            nursery.start_soon(serve_listeners, ctx, listeners, cfg.upsd.maxconn, tls)
            if cfg.nutpy.nis_listen:
                from nutpy.frontends.nis import serve_nis
                for nis in cfg.nutpy.nis_listen:
                    if cfg.ups.find(nis.ups) is not None:  # else reported: names no UPS
                        await nursery.start(serve_nis, store, server.recorder, nis)
            if http_listeners:
                from nutpy.frontends import http
                server.http = http.HttpContext(
                    store, cfg.users, ctx.descriptions, server.recorder,
                    cfg.nutpy.http_allow_plain_auth, history=history)
                nursery.start_soon(http.serve, server.http, http_listeners, tls,
                                   cfg.nutpy.http_maxconn)
            if control is not None:
                nursery.start_soon(serve_control, ctx.store, control, directory)
            server.reload_hooks.append(await nursery.start(serve_announce, cfg, store))
            period = sdnotify.watchdog_period()
            if period is not None:
                nursery.start_soon(sdnotify.feed_watchdog, period)
            nursery.start_soon(_report_status, server)
            task_status.started(listeners)
        keeper.cancel_scope.cancel()

