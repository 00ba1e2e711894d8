"""SIGHUP with every kind of broken config: the server reports it and keeps serving.

One server, one broken config after another.  Each one is reported as
``check-config`` reports it (file:line), and the UPS that was being served
still answers; a reload whose files cannot be read keeps the running
configuration whole.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Callable
from functools import partial
from pathlib import Path

from tests.support.nut import (
    Server,
    free_port,
    make_unreadable,
    nutpy_command,
    nutpy_server,
    talk,
    wait_until,
)

GOOD_UPS = "[good]\ndriver = dummy-ups\nport = u.dev\n"
USERS = "[admin]\npassword = pw\nactions = SET\n"


def _ups_conf(extra: str) -> Callable[[Path], None]:
    def write(confdir: Path) -> None:
        (confdir / "ups.conf").write_text(GOOD_UPS + extra)
    return write


def _upsd_conf(extra: str) -> Callable[[Path], None]:
    def write(confdir: Path) -> None:
        path = confdir / "upsd.conf"
        path.write_text(path.read_text() + extra)
    return write


def _replace_with(name: str, kind: str) -> Callable[[Path], None]:
    def write(confdir: Path) -> None:
        make_unreadable(confdir / name, kind)
    return write


def _nutpy_conf(text: str) -> Callable[[Path], None]:
    def write(confdir: Path) -> None:
        (confdir / "nutpy.conf").write_text(text)
    return write


def _too_large(confdir: Path) -> None:
    (confdir / "upsd.conf").write_bytes(b"# padding\n" * 110_000)  # 1.1 MB


def _fifo_dump(confdir: Path) -> None:
    os.mkfifo(confdir / "fifo.dev")
    _ups_conf('[sim]\ndriver = apcsmart\nport = "sim:smart?dump=fifo.dev"\n')(confdir)


HUGE = "9" * 400
# name -> (how to break the config, what the log must say)
BROKEN: dict[str, tuple[Callable[[Path], None], str]] = {
    "socket-port-not-a-number": (
        _ups_conf('[tcp]\ndriver = apcsmart\nport = "socket://host:abc"\n'),
        "ups.conf:6: error: [tcp] 'socket://host:abc'"),
    "socket-host-unencodable": (
        _ups_conf(f'[tcp]\ndriver = apcsmart\nport = "socket://{"a" * 64}.x:1"\n'),
        "ups.conf:6: error: [tcp]"),
    "sim-option": (_ups_conf('[sim]\ndriver = apcmicrolink\nport = "sim:microlink?rows=9"\n'),
                   "ups.conf:6: error: [sim]"),
    "sim-dump-fifo": (_fifo_dump, "ups.conf:6: error: [sim] cannot read dump"),
    "pollinterval-huge": (_ups_conf(f"pollinterval = {HUGE}\n"),
                          "ups.conf:4: error: 'pollinterval' must be from 1 to 3600"),
    "listen-unencodable": (_upsd_conf(f"LISTEN {'a' * 64}.example\n"),
                           "upsd.conf:2: error: LISTEN host name"),
    "maxage-huge": (_upsd_conf(f"MAXAGE {HUGE}\n"),
                    "upsd.conf:2: error: MAXAGE must be from 1 to 86400"),
    "certfile-missing": (_upsd_conf("CERTFILE /nonexistent/upsd.pem\n"),
                         "upsd.conf:2: error: cannot read /nonexistent/upsd.pem"),
    "http-listen-unencodable": (_nutpy_conf(f"HTTP_LISTEN {'a' * 64}.example\n"),
                                "nutpy.conf:1: error: HTTP_LISTEN host name"),
    "upsd-conf-too-large": (_too_large, "upsd.conf: error: cannot read: it is larger than"),
    "upsd-conf-fifo": (_replace_with("upsd.conf", "fifo"), "reload rejected"),
    "upsd-conf-directory": (_replace_with("upsd.conf", "directory"), "reload rejected"),
    "ups-conf-dangling": (_replace_with("ups.conf", "dangling-symlink"), "reload rejected"),
    "users-directory": (_replace_with("upsd.users", "directory"), "reload rejected"),
}


def _restore(confdir: Path, port: int) -> None:
    for name in ("ups.conf", "upsd.conf", "upsd.users", "nutpy.conf", "fifo.dev",
                 "ups.conf.gone"):
        path = confdir / name
        if path.is_dir() and not path.is_symlink():
            path.rmdir()
        else:
            path.unlink(missing_ok=True)
    (confdir / "ups.conf").write_text(GOOD_UPS)
    (confdir / "upsd.conf").write_text(f"LISTEN 127.0.0.1 {port}\n")
    (confdir / "upsd.users").write_text(USERS)
    (confdir / "upsd.users").chmod(0o600)


def _reloaded(server: Server, since: int) -> bool:
    """Whether the server has finished a reload since log offset ``since``."""
    text = server.log_text()[since:]
    return "configuration reloaded" in text or "reload rejected" in text


def test_sighup_with_each_broken_config_keeps_serving(tmp_path: Path) -> None:
    port = free_port()
    tmp_path.joinpath("u.dev").write_text("ups.status: OL\nups.id: a\n")
    _restore(tmp_path, port)
    status = b"GET VAR good ups.status\n"
    login = b"USERNAME admin\nPASSWORD pw\nSET VAR good ups.id x\n"
    with nutpy_server(tmp_path, port) as server:
        assert wait_until(lambda: talk(port, status) == b'VAR good ups.status "OL"\n')
        for name, (breaks, says) in BROKEN.items():
            before = len(server.log_text())
            breaks(tmp_path)
            server.signal(signal.SIGHUP)
            assert wait_until(partial(_reloaded, server, before), timeout=10), name
            assert says in server.log_text()[before:], (name, server.log_text()[before:])
            assert server.procs[0].poll() is None, (name, server.log_text())
            assert talk(port, status) == b'VAR good ups.status "OL"\n', name
            assert talk(port, login).endswith(b"OK\n"), name
            assert "Traceback" not in server.log_text(), name
            if "reload rejected" not in says:  # the same words as check-config's
                checked = subprocess.run(nutpy_command("check-config", "-c", str(tmp_path)),
                                         capture_output=True, text=True, timeout=20)
                assert says in checked.stdout, name
            _restore(tmp_path, port)
