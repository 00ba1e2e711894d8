"""nutpy announces itself over mDNS; real browsers find it, see a reload, and the goodbye.

Everything runs inside a network namespace this test makes (see
``tests.support.netns``): nutpy listens on one end of a veth pair, the
browsers sit on the other, and no packet reaches a real interface.  The
browsers are python-zeroconf's own (as Home Assistant uses it), and
Debian's avahi-daemon with ``avahi-browse`` and NUT's ``nut-scanner -A``
(both over a dbus system bus private to the namespace).
"""

from __future__ import annotations

import json
import signal
import socket
import sys
from pathlib import Path

from tests.support.netns import (
    BROWSER_ADDRESS,
    SERVER_ADDRESS,
    Namespace,
    namespace,
)
from tests.support.nut import nut_env, nut_tool, nutpy_command, wait_until, write_config

NUT, UPSD, HTTP = "_nut._tcp.local.", "_upsd._tcp.local.", "_http._tcp.local."
HOST = socket.gethostname().split(".")[0]
SMART = "[demo]\ndriver = apcsmart\nport = sim:smart\n"
MICROLINK = "[smt]\ndriver = apcmicrolink\nport = sim:microlink\n"
TIMEOUT = 20.0


def events(ns: Namespace) -> list[dict[str, object]]:
    return [json.loads(line) for line in ns.log("browse.log").splitlines() if line.strip()]


def latest(ns: Namespace, kind: str) -> dict[str, object] | None:
    """The last event for the service of this type, or None."""
    found = [e for e in events(ns) if e.get("type") == kind]
    return found[-1] if found else None


def resolved_with(ns: Namespace, kind: str, devices: str) -> bool:
    event = latest(ns, kind)
    txt = event.get("txt") if event is not None else None
    return isinstance(txt, dict) and txt.get("device_list") == devices


def avahi_browse(ns: Namespace, kind: str) -> list[list[str]]:
    """``avahi-browse -rpt``: the resolved entries (``=`` lines) avahi-daemon knows."""
    out = ns.run("avahi-browse", "-r", "-p", "-t", "-k", kind.removesuffix(".local.")).stdout
    return [line.split(";", 9) for line in out.splitlines() if line.startswith("=")]


def nut_scanner(ns: Namespace) -> str:
    # -t is an upper bound: nut-scanner returns once avahi has listed all it knows.
    return ns.run(nut_tool("nut-scanner"), "-A", "-t", "10", "-P", "-q").stdout


def serve(ns: Namespace, confdir: Path) -> None:
    env = nut_env(confdir)
    env.pop("NUT_CONFPATH")
    ns.start(*nutpy_command("serve", "-c", str(confdir)), log="nutpy.log", env=env)


def test_announced_found_updated_on_reload_and_withdrawn_on_stop(tmp_path: Path) -> None:
    confdir = tmp_path / "conf"
    write_config(confdir, ups_conf=SMART, upsd_conf=f"LISTEN 127.0.0.1 3493\n"
                 f"LISTEN {SERVER_ADDRESS} 3493\n",
                 files={"nutpy.conf": f"HTTP_LISTEN {SERVER_ADDRESS} 9199\n".encode()})
    with namespace(tmp_path / "ns") as ns:
        ns.start_avahi()
        ns.start(sys.executable, "-m", "tests.support.mdns_browse", BROWSER_ADDRESS, NUT,
                 UPSD, HTTP, log="browse.log")
        assert wait_until(lambda: events(ns), timeout=TIMEOUT), ns.log("browse.log")
        serve(ns, confdir)
        server = ns.procs[-1]

        # Found, each with the right port, address and UPS list.
        assert wait_until(lambda: all(resolved_with(ns, kind, "demo") for kind in (NUT, UPSD))
                          and latest(ns, HTTP) is not None, timeout=TIMEOUT), \
            ns.log("browse.log") + ns.log("nutpy.log")
        for kind in (NUT, UPSD):
            event = latest(ns, kind)
            assert event is not None
            assert (event["name"], event["port"], event["addresses"]) == (
                f"{HOST}.{kind}", 3493, [SERVER_ADDRESS])
            assert event["txt"] == {"txtvers": "1", "protovers": "1.3", "device_list": "demo"}
        http = latest(ns, HTTP)
        assert http is not None and (http["name"], http["port"], http["txt"]) == (
            f"nutpy on {HOST}.{HTTP}", 9199, {"path": "/"})
        assert ns.run(nut_tool("upsc"), f"demo@{SERVER_ADDRESS}", "ups.model").stdout \
            .strip() == "SMART-UPS 1000"  # the announced address serves
        for kind in (NUT, UPSD):
            assert wait_until(lambda kind=kind: avahi_browse(ns, kind), timeout=TIMEOUT)
            [entry] = avahi_browse(ns, kind)
            assert entry[1:4] + entry[6:10] == ["brw0", "IPv4", HOST, f"{HOST}.local",
                                                SERVER_ADDRESS, "3493", '"device_list=demo" '
                                                '"protovers=1.3" "txtvers=1"']
        assert nut_scanner(ns).splitlines() == [
            f'NUT:driver="nutclient",port="demo@{HOST}.local",desc="IPv4"']

        # A reload that adds a UPS updates the list everywhere.
        (confdir / "ups.conf").write_text(SMART + MICROLINK)
        server.send_signal(signal.SIGHUP)
        assert wait_until(lambda: all(resolved_with(ns, kind, "demo;smt")
                                      for kind in (NUT, UPSD)), timeout=TIMEOUT), \
            ns.log("browse.log")
        assert any(e["event"] == "updated" for e in events(ns))
        assert wait_until(lambda: '"device_list=demo;smt"' in
                          (avahi_browse(ns, UPSD) or [[""]])[0][-1], timeout=TIMEOUT)
        assert sorted(nut_scanner(ns).splitlines()) == [
            f'NUT:driver="nutclient",port="{ups}@{HOST}.local",desc="IPv4"'
            for ups in ("demo", "smt")]

        # Stopped: every service says goodbye, at once rather than when its TTL ends.
        server.send_signal(signal.SIGTERM)
        assert server.wait(15) == 0
        for kind in (NUT, UPSD, HTTP):
            event = latest(ns, kind)
            assert event is not None and event["event"] == "removed", kind
        assert wait_until(lambda: not avahi_browse(ns, UPSD), timeout=5)
        assert "announcements withdrawn" in ns.log("nutpy.log")


def test_announce_off_says_nothing_until_a_reload_turns_it_on(tmp_path: Path) -> None:
    confdir = tmp_path / "conf"
    write_config(confdir, ups_conf=SMART, upsd_conf=f"LISTEN {SERVER_ADDRESS} 3493\n",
                 files={"nutpy.conf": b"ANNOUNCE off\n"})
    with namespace(tmp_path / "ns") as ns:
        ns.start(sys.executable, "-m", "tests.support.mdns_browse", BROWSER_ADDRESS, NUT,
                 log="browse.log")
        assert wait_until(lambda: events(ns), timeout=TIMEOUT)
        serve(ns, confdir)
        server = ns.procs[-1]
        assert wait_until(lambda: ns.run(nut_tool("upsc"), f"demo@{SERVER_ADDRESS}",
                                         "ups.status").stdout.strip() == "OL", timeout=TIMEOUT)
        assert not wait_until(lambda: latest(ns, NUT), timeout=3)
        (confdir / "nutpy.conf").write_text("ANNOUNCE on\n")
        server.send_signal(signal.SIGHUP)
        assert wait_until(lambda: resolved_with(ns, NUT, "demo"), timeout=TIMEOUT), \
            ns.log("nutpy.log")

