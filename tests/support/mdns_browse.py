"""A DNS-SD browser in its own process, with python-zeroconf (as Home Assistant browses).

``python -m tests.support.mdns_browse ADDRESS TYPE...`` browses on the
interface with ADDRESS and prints one JSON object per line for each change:
``{"event": "added"|"updated"|"removed", "type", "name", "port",
"addresses", "txt"}`` (an added or updated service is resolved first).
"""

from __future__ import annotations

import json
import sys
import threading

from zeroconf import IPVersion, ServiceBrowser, ServiceInfo, ServiceStateChange, Zeroconf


def _print(event: str, service_type: str, name: str, info: ServiceInfo | None) -> None:
    record: dict[str, object] = {"event": event, "type": service_type, "name": name}
    if info is not None:
        record |= {"port": info.port, "addresses": info.parsed_addresses(),
                   "txt": {k.decode(): (v or b"").decode()
                           for k, v in info.properties.items()}}
    print(json.dumps(record), flush=True)


def on_change(zeroconf: Zeroconf, service_type: str, name: str,
              state_change: ServiceStateChange) -> None:
    if state_change is ServiceStateChange.Removed:
        _print("removed", service_type, name, None)
        return
    info = zeroconf.get_service_info(service_type, name, timeout=3000)
    _print("added" if state_change is ServiceStateChange.Added else "updated",
           service_type, name, info)


def main(address: str, types: list[str]) -> None:
    zc = Zeroconf(interfaces=[address], ip_version=IPVersion.V4Only)
    ServiceBrowser(zc, types, handlers=[on_change])
    print(json.dumps({"event": "browsing"}), flush=True)
    threading.Event().wait()  # until killed


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
