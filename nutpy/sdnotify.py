"""systemd's service notification protocol (``sd_notify``), without libsystemd.

Under ``Type=notify`` systemd passes ``$NOTIFY_SOCKET``, a Unix datagram
socket (a leading ``@`` means the abstract namespace), and with
``WatchdogSec=`` also ``$WATCHDOG_USEC`` (and ``$WATCHDOG_PID``).  The service
sends ``KEY=value`` lines: ``READY=1`` once it serves, ``RELOADING=1`` then
``READY=1`` around a reload, ``STOPPING=1`` when it stops, and ``WATCHDOG=1``
more often than every ``WATCHDOG_USEC`` microseconds, or systemd restarts it.
Outside systemd every call is a no-op.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Mapping

import trio


def notify(*assignments: str, environ: Mapping[str, str] = os.environ) -> bool:
    """Send ``KEY=value`` lines to systemd; False when not under systemd or it failed."""
    address = environ.get("NOTIFY_SOCKET", "")
    if not address.startswith(("/", "@")):
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]
    message = "\n".join(assignments).encode()
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)
        try:
            sock.sendto(message, address)
        except OSError:
            return False
    return True


def reloading(environ: Mapping[str, str] = os.environ) -> bool:
    """Say a reload has begun (systemd wants the monotonic time with it)."""
    usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    return notify("RELOADING=1", f"MONOTONIC_USEC={usec}", environ=environ)


def watchdog_period(environ: Mapping[str, str] = os.environ) -> float | None:
    """How often systemd wants ``WATCHDOG=1``, in seconds; None when it does not."""
    usec = environ.get("WATCHDOG_USEC", "")
    pid = environ.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    if pid and (not pid.isdigit() or int(pid) != os.getpid()):
        return None  # meant for another process
    return int(usec) / 1_000_000


async def feed_watchdog(period: float, environ: Mapping[str, str] = os.environ) -> None:
    """Send ``WATCHDOG=1`` at half the period, for as long as the event loop runs."""
    while True:
        notify("WATCHDOG=1", environ=environ)
        await trio.sleep(period / 2)
