"""Announcing the services on the LAN with python-zeroconf, from trio.

zeroconf runs its own asyncio loop in a thread; its blocking calls
(register, update, unregister, close) are made from trio's worker threads.
The UPS list comes from the store's feed (``UpsAdded`` / ``UpsRemoved``), so
a reload that adds or removes a UPS updates ``device_list`` by itself; the
reload hook hands over the new config (``ANNOUNCE`` may have changed).  A
burst of changes is announced once, :data:`SETTLE` seconds after it.  On
stop every service says goodbye (a record with TTL 0), so browsers drop it
at once instead of when its TTL runs out.  A failure to announce is logged
and never stops the server.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Callable

import ifaddr
import trio
import zeroconf

from nutpy.config import Config
from nutpy.frontends.announce.services import Service, needs_host_addresses, plan, wanted
from nutpy.store import Store, Subscription
from nutpy.store.events import Event, Resync, UpsAdded, UpsRemoved

__all__ = ["GOODBYE_TIMEOUT", "SETTLE", "Announcer", "serve_announce"]

log = logging.getLogger("nutpy.announce")

SETTLE = 0.3  # seconds: a reload removes and re-adds UPSes; announce the end state
GOODBYE_TIMEOUT = 5.0
Reconfigure = Callable[[Config], None]


def _host_addresses() -> list[str]:
    return [ip.ip if isinstance(ip.ip, str) else ip.ip[0]
            for adapter in ifaddr.get_adapters() for ip in adapter.ips]


def _resolve(names: set[str]) -> dict[str, list[str]]:
    """Addresses of LISTEN entries given as host names (blocking: run in a thread)."""
    out: dict[str, list[str]] = {}
    for name in names:
        try:
            infos = socket.getaddrinfo(name, None, type=socket.SOCK_STREAM)
        except OSError as exc:
            log.warning("cannot announce LISTEN %s: %s", name, exc)
            continue
        out[name] = sorted({str(info[4][0]) for info in infos})
    return out


def _is_name(address: str) -> bool:
    if address in ("*", ""):
        return False
    try:
        ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        return True
    return False


class Announcer:
    """Keeps the announced services equal to what the config and store call for."""

    def __init__(self, cfg: Config, store: Store, hostname: str | None = None) -> None:
        self._cfg = cfg
        self._store = store
        self.hostname = hostname or socket.gethostname().split(".")[0]
        self._dirty = trio.Event()
        self._zc: zeroconf.Zeroconf | None = None
        self._interfaces: list[str] = []
        self._published: dict[tuple[str, str], zeroconf.ServiceInfo] = {}

    def reconfigure(self, cfg: Config) -> None:
        """The reload hook: announce what ``cfg`` says is served."""
        self._cfg = cfg
        self._dirty.set()

    async def run(self, *, task_status: trio.TaskStatus[Reconfigure]
                  = trio.TASK_STATUS_IGNORED) -> None:
        def relevant(event: Event) -> bool:
            return isinstance(event, UpsAdded | UpsRemoved | Resync)

        with self._store.feed.subscribe(want=relevant) as changes:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._watch, changes)
                task_status.started(self.reconfigure)
                try:
                    while True:
                        self._dirty = trio.Event()
                        await self._apply()
                        await self._dirty.wait()
                        await trio.sleep(SETTLE)
                finally:
                    with trio.CancelScope(shield=True), trio.move_on_after(GOODBYE_TIMEOUT):
                        await trio.to_thread.run_sync(self._close, abandon_on_cancel=True)

    async def _watch(self, changes: Subscription) -> None:
        async for _ in changes:
            self._dirty.set()

    async def _apply(self) -> None:
        """Announce what is served now.  Nothing here may stop the server: a host
        whose interfaces cannot be listed (a sandbox without netlink, say) or a
        zeroconf that fails is logged, and tried again at the next change."""
        cfg = self._cfg
        try:
            services: list[Service] = []
            if wanted(cfg.nutpy.announce):
                listens = [*cfg.upsd.listeners, *cfg.nutpy.http_listen]
                names = {item.address for item in listens if _is_name(item.address)}
                resolved = await trio.to_thread.run_sync(_resolve, names) if names else {}
                host = (await trio.to_thread.run_sync(_host_addresses)
                        if needs_host_addresses(listens) else [])
                services = plan(cfg.upsd.listeners, cfg.nutpy.http_listen, self.hostname,
                                [ups.name for ups in self._store], host, resolved)
            await self._publish(services)
        except* (OSError, zeroconf.Error, RuntimeError) as group:
            log.error("cannot announce on the LAN: %s",
                      "; ".join(str(exc) for exc in group.exceptions))
            await trio.to_thread.run_sync(self._close)  # start afresh at the next change

    async def _publish(self, services: list[Service]) -> None:
        interfaces = sorted({a for s in services for a in s.addresses})
        if interfaces != self._interfaces:
            await trio.to_thread.run_sync(self._close)
        if not services:
            return
        if self._zc is None:
            self._zc = await trio.to_thread.run_sync(self._open, interfaces)
            self._interfaces = interfaces
        zc = self._zc
        infos = {(s.type, s.name): self._info(s) for s in services}
        # Each registration probes for about 1.7 s: all of them at once.
        async with trio.open_nursery() as nursery:
            for key in [k for k in self._published if k not in infos]:
                nursery.start_soon(trio.to_thread.run_sync, zc.unregister_service,
                                   self._published.pop(key))
            for key, info in infos.items():
                old = self._published.get(key)
                if old is None:
                    nursery.start_soon(trio.to_thread.run_sync, self._register, info)
                elif (old.properties, old.port, old.addresses) != (info.properties, info.port,
                                                                   info.addresses):
                    info.name = old.name  # keep a name a conflict made us change
                    nursery.start_soon(trio.to_thread.run_sync, zc.update_service, info)
                    log.info("announcement updated: %s", info.name)
                else:
                    continue
                self._published[key] = info

    def _info(self, service: Service) -> zeroconf.ServiceInfo:
        return zeroconf.ServiceInfo(
            service.type, f"{service.name}.{service.type}", port=service.port,
            properties=dict(service.txt), server=f"{self.hostname}.local.",
            parsed_addresses=list(service.addresses))

    # ---- in worker threads -----------------------------------------------

    @staticmethod
    def _open(interfaces: list[str]) -> zeroconf.Zeroconf:
        versions = {ipaddress.ip_address(a).version for a in interfaces}
        ip_version = (zeroconf.IPVersion.All if versions == {4, 6} else
                      zeroconf.IPVersion.V6Only if versions == {6} else
                      zeroconf.IPVersion.V4Only)
        return zeroconf.Zeroconf(interfaces=list(interfaces), ip_version=ip_version)

    def _register(self, info: zeroconf.ServiceInfo) -> None:
        assert self._zc is not None
        self._zc.register_service(info, allow_name_change=True)
        log.info("announcing %s on port %d", info.name, info.port)

    def _close(self) -> None:
        zc, self._zc, self._interfaces, self._published = self._zc, None, [], {}
        if zc is None:
            return
        try:
            zc.unregister_all_services()  # the goodbyes
            zc.close()
        except (OSError, zeroconf.Error, RuntimeError) as exc:
            log.warning("withdrawing the announcements failed: %s", exc)
        else:
            log.info("announcements withdrawn")


async def serve_announce(cfg: Config, store: Store, *,
                         task_status: trio.TaskStatus[Reconfigure]
                         = trio.TASK_STATUS_IGNORED) -> None:
    """Announce until cancelled; ``task_status.started`` hands back the reload hook."""
    await Announcer(cfg, store).run(task_status=task_status)
