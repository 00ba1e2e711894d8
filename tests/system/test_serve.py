"""`nutpy serve` as a process: start-up failures, ALLOW_NO_DEVICE, SIGHUP reload."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest

from tests.nutenv import (
    FIXTURES,
    free_port,
    nut_tool,
    nutpy_command,
    nutpy_server,
    talk,
    wait_until,
    write_config,
)

pytestmark = pytest.mark.system


def _serve_exit_code(confdir: Path) -> tuple[int, str]:
    proc = subprocess.run(nutpy_command("serve", "-c", str(confdir)), capture_output=True,
                          text=True, timeout=20)
    return proc.returncode, proc.stderr


@pytest.mark.parametrize("case", ["no-configs", "no-ups-conf", "no-sections"])
def test_serve_refuses_to_start_without_a_ups(tmp_path: Path, case: str) -> None:
    if case != "no-configs":
        (tmp_path / "upsd.conf").write_text(f"LISTEN 127.0.0.1 {free_port()}\n")
        (tmp_path / "upsd.users").write_text("")
    if case == "no-sections":
        (tmp_path / "ups.conf").write_text("pollinterval = 2\n")
    code, stderr = _serve_exit_code(tmp_path)
    assert code != 0
    assert "ups.conf" in stderr


def test_allow_no_device_serves_an_empty_list(tmp_path: Path) -> None:
    port = free_port()
    write_config(tmp_path, ups_conf="# none\n",
                 upsd_conf=f"LISTEN 127.0.0.1 {port}\nALLOW_NO_DEVICE true\n")
    with nutpy_server(tmp_path, port):
        out = subprocess.run([nut_tool("upsc"), "-l", f"127.0.0.1:{port}"],
                             capture_output=True, text=True, timeout=10)
        assert out.returncode == 0
        assert out.stdout == ""


def test_listener_that_cannot_bind_is_fatal_unless_allowed(tmp_path: Path) -> None:
    port = free_port()
    write_config(tmp_path, ups_conf="[u]\ndriver = dummy-ups\nport = u.dev\n",
                 upsd_conf=f"LISTEN 127.0.0.1 {port}\nLISTEN 192.0.2.1 {port}\n",
                 files={"u.dev": b"ups.status: OL\n"})
    code, stderr = _serve_exit_code(tmp_path)
    assert code != 0 and "192.0.2.1" in stderr
    (tmp_path / "upsd.conf").write_text(f"LISTEN 127.0.0.1 {port}\nLISTEN 192.0.2.1 {port}\n"
                                        "ALLOW_NOT_ALL_LISTENERS true\n")
    with nutpy_server(tmp_path, port):
        assert talk(port, b"VER\n").startswith(b"Network UPS Tools upsd")


def test_sighup_reloads_ups_and_users_and_rejects_a_broken_config(tmp_path: Path) -> None:
    port = free_port()
    dev = (FIXTURES / "smart-ups-1500.dev").read_bytes()
    write_config(tmp_path, ups_conf="[one]\ndriver = dummy-ups\nport = u.dev\n",
                 upsd_conf=f"LISTEN 127.0.0.1 {port}\n",
                 users="[admin]\npassword = old\nactions = SET\n", files={"u.dev": dev})
    with nutpy_server(tmp_path, port) as server:
        assert talk(port, b"LIST UPS\n") == (
            b'BEGIN LIST UPS\nUPS one "Description unavailable"\nEND LIST UPS\n')
        (tmp_path / "ups.conf").write_text(
            '[one]\ndriver = dummy-ups\nport = u.dev\ndesc = "renamed"\n'
            "[two]\ndriver = dummy-ups\nport = u.dev\n")
        (tmp_path / "upsd.users").write_text("[admin]\npassword = new\nactions = SET\n")
        server.signal(signal.SIGHUP)
        assert wait_until(lambda: b"UPS two" in talk(port, b"LIST UPS\n"), timeout=5)
        assert b'UPS one "renamed"' in talk(port, b"LIST UPS\n")
        assert wait_until(lambda: talk(port, b"GET VAR two ups.model\n")
                          == b'VAR two ups.model "Smart-UPS 1500"\n', timeout=5)
        login = b"USERNAME admin\nPASSWORD new\nSET VAR one ups.id x\n"
        assert talk(port, login).endswith(b"OK\n")

        (tmp_path / "ups.conf").write_text("# oops, emptied\n")
        server.signal(signal.SIGHUP)
        assert wait_until(lambda: "reload rejected" in server.log_text(), timeout=5)
        assert b"UPS two" in talk(port, b"LIST UPS\n")

        (tmp_path / "ups.conf").write_text("[two]\ndriver = dummy-ups\nport = u.dev\n")
        server.signal(signal.SIGHUP)
        assert wait_until(lambda: b"UPS one" not in talk(port, b"LIST UPS\n"), timeout=5)
        assert talk(port, b"GET VAR one ups.status\n") == b"ERR UNKNOWN-UPS\n"
