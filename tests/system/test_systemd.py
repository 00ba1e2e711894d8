"""What systemd sees of ``nutpy serve``, and the units ``make install`` puts in place."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from nutpy import sdnotify
from tests.support import REPO
from tests.support.nut import free_port, nutpy_server, talk, write_config


def receive_all(sock: socket.socket, seconds: float) -> list[str]:
    """Every datagram that arrives within ``seconds``, as KEY=value lines."""
    lines: list[str] = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            lines += sock.recv(4096).decode().splitlines()
        except TimeoutError:
            break
    return lines


@pytest.mark.parametrize("abstract", [False, True])
def test_notify_reaches_the_socket(tmp_path: Path, abstract: bool) -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        if abstract:
            name = f"nutpy-test-{time.monotonic_ns()}"
            sock.bind("\0" + name)
            address = "@" + name
        else:
            address = str(tmp_path / "notify")
            sock.bind(address)
        assert sdnotify.notify("READY=1", "STATUS=x", environ={"NOTIFY_SOCKET": address})
        assert receive_all(sock, 0.2) == ["READY=1", "STATUS=x"]
    assert not sdnotify.notify("READY=1", environ={})
    assert not sdnotify.notify("READY=1", environ={"NOTIFY_SOCKET": address + "-gone"})


def test_watchdog_period() -> None:
    assert sdnotify.watchdog_period({"WATCHDOG_USEC": "30000000"}) == 30.0
    assert sdnotify.watchdog_period({"WATCHDOG_USEC": "1000000", "WATCHDOG_PID": "1"}) is None
    assert sdnotify.watchdog_period({}) is None
    assert sdnotify.watchdog_period({"WATCHDOG_USEC": "0"}) is None


def test_serve_reports_ready_watchdog_reload_and_stop(tmp_path: Path) -> None:
    port = free_port()
    confdir = write_config(tmp_path, ups_conf="[u]\n  driver = dummy-ups\n  port = u.dev\n",
                           upsd_conf=f"LISTEN 127.0.0.1 {port}\n",
                           files={"u.dev": b"ups.status: OL\n"})
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(tmp_path / "notify"))
        env = {"NOTIFY_SOCKET": str(tmp_path / "notify"), "WATCHDOG_USEC": "400000"}
        with nutpy_server(confdir, port, wait=False, extra_env=env) as server:
            first = receive_all(sock, 3.0)
            # READY=1 comes once the port answers, then WATCHDOG=1 every 0.2 s
            # (counted once it runs: how long start-up takes is not the point).
            assert "READY=1" in first
            assert receive_all(sock, 2.5).count("WATCHDOG=1") >= 10
            assert talk(port, b"GET VAR u ups.status\n") == b'VAR u ups.status "OL"\n'
            server.signal(signal.SIGHUP)
            reload = receive_all(sock, 1.0)
            assert reload.index("RELOADING=1") < reload.index("READY=1")
            assert any(line.startswith("MONOTONIC_USEC=") for line in reload)
            server.signal(signal.SIGTERM)
            assert server.procs[0].wait(10) == 0  # a clean stop, not a kill
            assert "STOPPING=1" in receive_all(sock, 0.5)


def test_make_install_puts_units_that_systemd_accepts(tmp_path: Path) -> None:
    prefix, units = tmp_path / "usr", tmp_path / "units"
    done = subprocess.run(["make", "-C", str(REPO), "install", f"PREFIX={prefix}",
                           f"SYSTEMDDIR={units}"], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    installed = prefix / "bin" / "nutpy"
    version = subprocess.run([str(installed), "--version"], capture_output=True, text=True)
    assert version.returncode == 0 and version.stdout.startswith("nutpy ")
    service, final = units / "nutpy.service", units / "nutpy-killpower.service"
    assert f"ExecStart={installed} serve -c /etc/nut" in service.read_text()
    assert f"ExecStart={installed} killpower -c /etc/nut" in final.read_text()
    assert (prefix / "share" / "nutpy" / "examples" / "ups.conf").exists()
    verify = subprocess.run(["systemd-analyze", "verify", str(service), str(final)],
                            capture_output=True, text=True, timeout=60)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    # systemd's own rating of the sandbox: 0 (locked down) to 10; 2.5 or less.
    security = subprocess.run(["systemd-analyze", "security", "--offline=true",
                               "--threshold=25", str(service)],
                              capture_output=True, text=True, timeout=60)
    assert security.returncode == 0, security.stdout + security.stderr
