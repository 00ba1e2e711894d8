"""A private network (and /run) for tests that multicast: mDNS never reaches a real interface.

:func:`namespace` starts a holder process in a new network and mount
namespace (``unshare -n -m``) and sets up, inside only: ``lo``, and a veth
pair, ``nut0`` (192.0.2.1) for the server and ``brw0`` (192.0.2.2) for the
browsers (a dummy interface would refuse multicast membership, and this
kernel has none), with documentation addresses (RFC 5737) that exist
nowhere else.  Both ends live in the same
namespace, so the kernel must accept packets from its own addresses
(``accept_local``).  ``/run`` is a fresh tmpfs there, so a dbus system bus and
an avahi-daemon started inside have their own sockets and pid files; Debian's
``/etc/avahi/services`` (NUT's static file) is hidden.  Every process runs
through ``nsenter`` into the namespace; stopping the holder (and the
processes a test started) removes it all.
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support import REPO
from tests.support.nut import _stop, wait_until

SERVER_ADDRESS = "192.0.2.1"
BROWSER_ADDRESS = "192.0.2.2"
BROWSER_INTERFACE = "brw0"

_SETUP = f"""set -e
mount -t tmpfs tmpfs /run
mkdir -p /run/dbus /run/avahi-daemon /run/lock
mount -t tmpfs tmpfs /etc/avahi/services
ip link set lo up
ip link add nut0 type veth peer name {BROWSER_INTERFACE}
for dev in all nut0 {BROWSER_INTERFACE}; do
  sysctl -q -w net.ipv4.conf.$dev.accept_local=1 net.ipv4.conf.$dev.rp_filter=0
  sysctl -q -w net.ipv6.conf.$dev.disable_ipv6=1
done
ip addr add {SERVER_ADDRESS}/24 dev nut0
ip addr add {BROWSER_ADDRESS}/24 dev {BROWSER_INTERFACE}
ip link set nut0 up
ip link set {BROWSER_INTERFACE} up
echo ready
exec sleep 900
"""

AVAHI_CONF = f"""[server]
use-ipv4=yes
use-ipv6=no
allow-interfaces={BROWSER_INTERFACE}
enable-dbus=yes
[wide-area]
enable-wide-area=no
[publish]
disable-publishing=yes
"""


@dataclass
class Namespace:
    holder: subprocess.Popen[bytes]
    directory: Path
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def command(self, *args: str) -> list[str]:
        return ["nsenter", "-t", str(self.holder.pid), "-n", "-m", f"--wd={REPO}", "--", *args]

    def run(self, *args: str, timeout: float = 30,
            **kwargs: Any) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.command(*args), capture_output=True, text=True,
                              timeout=timeout, **kwargs)

    def start(self, *args: str, log: str, **kwargs: Any) -> subprocess.Popen[bytes]:
        """A long-running process inside, its output to ``directory/log``; stopped at the end."""
        with open(self.directory / log, "wb") as out:
            proc = subprocess.Popen(self.command(*args), stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, **kwargs)
        self.procs.append(proc)
        return proc

    def log(self, name: str) -> str:
        return (self.directory / name).read_text(errors="replace")

    def start_avahi(self) -> None:
        """A dbus system bus and avahi-daemon, private to the namespace."""
        self.start("dbus-daemon", "--system", "--nofork", "--nopidfile", log="dbus.log")
        assert wait_until(lambda: self.run("test", "-S", "/run/dbus/system_bus_socket")
                          .returncode == 0, timeout=10), self.log("dbus.log")
        conf = self.directory / "avahi-daemon.conf"
        conf.write_text(AVAHI_CONF)
        self.start("avahi-daemon", "-f", str(conf), "--no-drop-root", "--no-chroot",
                   "--no-rlimits", "--no-proc-title", log="avahi.log")
        assert wait_until(lambda: "Server startup complete" in self.log("avahi.log"),
                          timeout=15), self.log("avahi.log")


@contextlib.contextmanager
def namespace(directory: Path) -> Iterator[Namespace]:
    directory.mkdir(parents=True, exist_ok=True)
    holder = subprocess.Popen(["unshare", "--net", "--mount", "sh", "-c", _SETUP],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    ns = Namespace(holder, directory)
    try:
        assert holder.stdout is not None
        line = holder.stdout.readline()
        if line != b"ready\n":
            holder.wait(5)
            raise RuntimeError(f"cannot make the namespace: {holder.stderr.read()!r}"
                               if holder.stderr else "cannot make the namespace")
        yield ns
    finally:
        for proc in reversed(ns.procs):
            _stop(proc)
        holder.kill()
        holder.wait(5)
