"""Which DNS-SD services to announce, from the config and the UPS list: pure.

* ``_nut._tcp``: what Home Assistant's NUT integration browses for, and the
  type NUT's own Avahi file (``scripts/avahi/nut.service``) announces;
* ``_upsd._tcp``: what NUT's ``nut-scanner -A`` browses for, reading the TXT
  keys ``txtvers``, ``protovers`` and ``device_list`` (UPS names joined by
  ``;``, as in ``avahi-publish -s nut _upsd._tcp 3493 txtvers=1
  protovers=1.0.0 device_list="dev1;dev2"`` in its source); it turns each
  name into ``ups@host[:port]``.  Both NUT types carry the same TXT record;
  ``protovers`` is the protocol version the server answers ``NETVER`` with;
* ``_http._tcp`` for the dashboard on each ``HTTP_LISTEN``, with ``path=/``.

Only listeners reachable from the LAN are announced: loopback ones never,
a wildcard (``*``, ``0.0.0.0``, ``::``) with every non-loopback address of
the machine, a specific address with just that address.  IPv6 link-local
addresses are left out (they need a scope the record cannot carry).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from nutpy.config import Listen
from nutpy.protocols.nut import PROTOCOL_VERSION

__all__ = ["HTTP_TYPE", "NUT_TYPE", "TXT_MAX", "UPSD_TYPE", "Service", "device_list",
           "lan_addresses", "needs_host_addresses", "plan", "wanted"]

NUT_TYPE = "_nut._tcp.local."
UPSD_TYPE = "_upsd._tcp.local."
HTTP_TYPE = "_http._tcp.local."
TXT_MAX = 255  # one TXT string's length byte
_WILDCARD = {"*": (4, 6), "0.0.0.0": (4,), "::": (6,)}


@dataclass(frozen=True, slots=True)
class Service:
    type: str
    name: str  # the instance name, without the type
    port: int
    addresses: tuple[str, ...]
    txt: tuple[tuple[str, str], ...]


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.split("%")[0])
    except ValueError:
        return None


def lan_addresses(addresses: Iterable[str]) -> list[str]:
    """The addresses a LAN peer could reach: no loopback, no link-local IPv6."""
    out = []
    for text in addresses:
        ip = _ip(text)
        if ip is None or ip.is_loopback or ip.is_unspecified:
            continue
        if ip.version == 6 and ip.is_link_local:
            continue
        out.append(str(ip))
    return out


def _addresses(listen: Listen, host: list[str], resolved: Mapping[str, list[str]]) -> list[str]:
    families = _WILDCARD.get(listen.address)
    if families is not None:
        return [a for a in host if ipaddress.ip_address(a).version in families]
    if _ip(listen.address) is not None:
        return lan_addresses([listen.address])
    return lan_addresses(resolved.get(listen.address, []))


def needs_host_addresses(listens: Iterable[Listen]) -> bool:
    """Whether a wildcard LISTEN asks for the machine's own addresses."""
    return any(listen.address in _WILDCARD for listen in listens)


def _by_port(listens: Iterable[Listen], host: list[str],
             resolved: Mapping[str, list[str]]) -> dict[int, tuple[str, ...]]:
    ports: dict[int, list[str]] = {}
    for listen in listens:
        for address in _addresses(listen, host, resolved):
            if address not in ports.setdefault(listen.port, []):
                ports[listen.port].append(address)
    return {port: tuple(addrs) for port, addrs in sorted(ports.items()) if addrs}


def device_list(names: Iterable[str]) -> str:
    """``a;b;c``, as many whole names as fit in one TXT string."""
    room = TXT_MAX - len("device_list=")
    taken: list[str] = []
    for name in names:
        if len(";".join([*taken, name]).encode()) > room:
            break
        taken.append(name)
    return ";".join(taken)


def _instance(base: str, port: int, first: bool) -> str:
    return base if first else f"{base} (port {port})"


def wanted(announce: bool | None) -> bool:
    """ANNOUNCE off turns it off; on, or unset, announces every LAN listener."""
    return announce is not False


def plan(listen: Iterable[Listen], http_listen: Iterable[Listen], hostname: str,
         ups_names: Iterable[str], host_addresses: Iterable[str],
         resolved: Mapping[str, list[str]] | None = None) -> list[Service]:
    """Every service to announce; empty when no listener is reachable from the LAN."""
    host = lan_addresses(host_addresses)
    resolved = resolved or {}
    txt = (("txtvers", "1"), ("protovers", PROTOCOL_VERSION),
           ("device_list", device_list(ups_names)))
    services = []
    for i, (port, addresses) in enumerate(_by_port(listen, host, resolved).items()):
        name = _instance(hostname, port, i == 0)
        services += [Service(kind, name, port, addresses, txt) for kind in (NUT_TYPE, UPSD_TYPE)]
    for i, (port, addresses) in enumerate(_by_port(http_listen, host, resolved).items()):
        services.append(Service(HTTP_TYPE, _instance(f"nutpy on {hostname}", port, i == 0),
                                port, addresses, (("path", "/"),)))
    return services
