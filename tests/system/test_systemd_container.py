"""nutpy.service and nutpy-killpower.service under a real systemd, in a container.

First, without a container: what nutpy tells ``$NOTIFY_SOCKET`` while its UPS
cannot be read.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator
from pathlib import Path

from tests.nutenv import FIXTURES, free_port, nutpy_server, sim_control, simulator, write_config

SLACK = 8.0  # seconds allowed on top of any time systemd or upsmon promises (loaded CI)


# ---- what nutpy tells systemd, without a container ----------------------------------

def _datagrams(sock: socket.socket, seconds: float) -> list[str]:
    lines: list[str] = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            lines += sock.recv(4096).decode().splitlines()
        except TimeoutError:
            break
    return lines


def _wait_datagram(sock: socket.socket, prefix: str, seconds: float) -> str | None:
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        for line in _datagrams(sock, min(left, 0.2)):
            if line.startswith(prefix):
                return line
    return None


@contextlib.contextmanager
def _silent_ups(tmp_path: Path, maxage: int) -> Iterator[tuple[socket.socket, Path, int]]:
    """nutpy on a Smart-UPS that does not answer yet: (notify socket, control, port)."""
    with contextlib.ExitStack() as stack:
        link, control = stack.enter_context(
            simulator("smart", tmp_path, "--dump", str(FIXTURES / "smart-ups-1500.dev")))
        sim_control(control, "unplug")
        port = free_port()
        confdir = write_config(
            tmp_path / "conf", ups_conf=f"[ups]\n  driver = apcsmart\n  port = {link}\n"
                                        "  pollinterval = 1\n",
            upsd_conf=f"LISTEN 127.0.0.1 {port}\nMAXAGE {maxage}\n")
        sock = stack.enter_context(socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM))
        sock.bind(str(tmp_path / "notify"))
        stack.enter_context(nutpy_server(confdir, port,
                                         extra_env={"NOTIFY_SOCKET": str(tmp_path / "notify")}))
        yield sock, control, port


def test_ready_only_once_the_ups_is_read(tmp_path: Path) -> None:
    with _silent_ups(tmp_path, maxage=15) as (sock, control, port):
        # It listens (nutpy_server waited for the port), but is not ready.
        assert "READY=1" not in _datagrams(sock, 2.0)
        sim_control(control, "plug")
        lines = _datagrams(sock, 5.0)
        assert "READY=1" in lines, lines
        assert f"STATUS=1 UPS (ups) on 127.0.0.1 port {port}" in lines, lines


def test_ready_after_maxage_when_the_ups_stays_silent(tmp_path: Path) -> None:
    # One dead port must not keep the others from being served: after MAXAGE
    # nutpy is ready anyway, says which UPS it has no data for, and says it
    # again once the UPS answers.
    with _silent_ups(tmp_path, maxage=2) as (sock, control, port):
        started = time.monotonic()
        assert _wait_datagram(sock, "READY=1", 10.0) is not None
        waited = time.monotonic() - started
        assert 1.0 <= waited <= 2.0 + SLACK, waited
        sim_control(control, "plug")
        status = _wait_datagram(sock, "STATUS=", 10.0)
        assert status == f"STATUS=1 UPS (ups) on 127.0.0.1 port {port}", status
