"""`nutpy serve` as a process: start-up failures, ALLOW_NO_DEVICE, SIGHUP reload."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
from pathlib import Path

import pytest

from tests.support import FIXTURES
from tests.support.nut import (
    free_port,
    make_unreadable,
    nut_tool,
    nutpy_command,
    nutpy_server,
    talk,
    wait_until,
    write_config,
)


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


# ---- check-config and serve report the same problems ------------------------------

DIAGNOSTIC = re.compile(r"(/\S+): (error|warning): (.*)$")
GOOD_UPS = "[good]\ndriver = dummy-ups\nport = u.dev\n"


def _broken_ups_conf(confdir: Path) -> None:
    write_config(confdir, ups_conf=GOOD_UPS + (
        "[good]\ndriver = apcsmart\nport = /dev/null\n"  # duplicate
        "[noport]\ndriver = dummy-ups\n"
        '[quote]\ndriver = dummy-ups\nport = q.dev\ndesc = "a # b"\n'
        "[odd]\ndriver = usbhid-ups\nport = auto\n"  # a driver nutpy does not have
        "[smart]\ndriver = apcsmart\nport = ftp://x\npollinterval = soon\nfrob = 1\n"
        "this is = wrong\n"),
        upsd_conf="MAXAGE soon\nACL all 0.0.0.0/0\nFROB 1\n",
        users="[a]\npassword = x\nupsmon boss\ncolour = blue\n[b]\nactions = SET\n",
        files={"u.dev": b"ups.status: OL\n"})
    (confdir / "upsd.users").chmod(0o644)


def _unterminated_quote(confdir: Path) -> None:
    write_config(confdir, ups_conf=GOOD_UPS, users='[a]\npassword = "abc\nactions = SET\n',
                 files={"u.dev": b"ups.status: OL\n"})


def _ups_conf_is_a_directory(confdir: Path) -> None:
    write_config(confdir, ups_conf="")
    (confdir / "ups.conf").unlink()
    (confdir / "ups.conf").mkdir()


def _users_is_a_fifo(confdir: Path) -> None:
    write_config(confdir, ups_conf=GOOD_UPS, files={"u.dev": b"ups.status: OL\n"})
    (confdir / "upsd.users").unlink()
    os.mkfifo(confdir / "upsd.users")


def _ups_conf_dangling_symlink(confdir: Path) -> None:
    write_config(confdir, ups_conf="")
    (confdir / "ups.conf").unlink()
    (confdir / "ups.conf").symlink_to(confdir / "moved-away.conf")


def _bad_values(confdir: Path) -> None:
    """Values that reach a parser: each one used to raise (a traceback, or a dead server)."""
    write_config(confdir, ups_conf=GOOD_UPS + (
        '[tcp]\ndriver = apcsmart\nport = "socket://host:abc"\n'
        '[sim]\ndriver = apcmicrolink\nport = "sim:microlink?rows=9"\n'
        f"[slow]\ndriver = dummy-ups\nport = u.dev\npollinterval = {'9' * 400}\n"),
        upsd_conf=f"LISTEN {'a' * 64}.example\nMAXAGE {'9' * 400}\n",
        files={"u.dev": b"ups.status: OL\n"})


BROKEN = {"malformed-lines": _broken_ups_conf, "unterminated-quote": _unterminated_quote,
          "ups-conf-is-a-directory": _ups_conf_is_a_directory,
          "users-is-a-fifo": _users_is_a_fifo,
          "ups-conf-dangling-symlink": _ups_conf_dangling_symlink,
          "bad-values": _bad_values}


def _diagnostics(text: str) -> list[str]:
    found = (DIAGNOSTIC.search(line) for line in text.splitlines())
    return sorted(m.group(0) for m in found if m)


def _serve_diagnostics(confdir: Path, port: int) -> tuple[bool, list[str]]:
    """(started?, the problems ``serve`` logged) for a config directory."""
    log = confdir / "nutpy.log"
    with nutpy_server(confdir, port, wait=False) as server:
        proc = server.procs[0]
        started = wait_until(lambda: proc.poll() is not None or _answers(port), timeout=15)
        assert started, server.log_text()
        running = proc.poll() is None
    return running, _diagnostics(log.read_text())


def _answers(port: int) -> bool:
    try:
        return talk(port, b"NETVER\n", timeout=1) == b"1.3\n"
    except OSError:
        return False


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_check_config_and_serve_agree(tmp_path: Path, case: str) -> None:
    confdir = tmp_path / "conf"
    BROKEN[case](confdir)
    port = free_port()
    upsd_conf = confdir / "upsd.conf"
    upsd_conf.write_text(f"LISTEN 127.0.0.1 {port}\n" + upsd_conf.read_text())
    checked = subprocess.run(nutpy_command("check-config", "-c", str(confdir)),
                             capture_output=True, text=True, timeout=20)
    problems = _diagnostics(checked.stdout)
    assert problems, checked.stdout
    assert all(str(confdir) in p for p in problems)
    errors = [p for p in problems if ": error: " in p]
    assert checked.returncode == (1 if errors else 0)
    started, logged = _serve_diagnostics(confdir, port)
    assert logged == problems
    fatal = case.startswith("ups-conf")
    assert started is not fatal
    if case == "malformed-lines":  # every bad line is named
        where = sorted(p.split(": ")[0].removeprefix(f"{confdir}/") for p in problems)
        assert where == sorted([
            "ups.conf:4", "ups.conf:7", "ups.conf:12", "ups.conf:14", "ups.conf:18",
            "ups.conf:19", "ups.conf:20", "ups.conf:21", "upsd.conf:2", "upsd.conf:3",
            "upsd.conf:4", "upsd.users", "upsd.users", "upsd.users:3", "upsd.users:4"])
    if case == "bad-values":
        where = sorted(p.split(": ")[0].removeprefix(f"{confdir}/") for p in problems)
        assert where == ["ups.conf:13", "ups.conf:6", "ups.conf:9", "upsd.conf:2",
                         "upsd.conf:3"]


@pytest.mark.parametrize("kind", ["fifo", "dangling-symlink", "directory"])
def test_serve_refuses_to_start_when_upsd_conf_cannot_be_read(tmp_path: Path,
                                                              kind: str) -> None:
    """As upsd: without upsd.conf's LISTEN, CERTFILE and MAXCONN nothing safe can run."""
    write_config(tmp_path, ups_conf=GOOD_UPS, files={"u.dev": b"ups.status: OL\n"})
    upsd_conf = tmp_path / "upsd.conf"
    make_unreadable(upsd_conf, kind)
    checked = subprocess.run(nutpy_command("check-config", "-c", str(tmp_path)),
                             capture_output=True, text=True, timeout=20)
    code, stderr = _serve_exit_code(tmp_path)
    assert checked.returncode == 1 and code == 1
    problem = _diagnostics(checked.stdout)
    assert len(problem) == 1 and problem[0].startswith(f"{upsd_conf}: error: cannot read")
    assert problem == _diagnostics(stderr)
    assert f"cannot start: {upsd_conf}: cannot read it" in stderr


def test_a_state_path_too_long_for_a_unix_socket_does_not_stop_serve(tmp_path: Path) -> None:
    port = free_port()
    write_config(tmp_path, ups_conf=GOOD_UPS, upsd_conf=f"LISTEN 127.0.0.1 {port}\n",
                 files={"u.dev": b"ups.status: OL\n"})
    state = tmp_path / ("s" * 120)
    state.mkdir()
    with nutpy_server(tmp_path, port, extra_env={"NUT_STATEPATH": str(state)}) as server:
        assert wait_until(lambda: talk(port, b"GET VAR good ups.status\n")
                          == b'VAR good ups.status "OL"\n', timeout=5)
        assert "no control socket at" in server.log_text()
        assert server.procs[0].poll() is None


def test_a_listen_that_cannot_bind_is_named_with_its_line(tmp_path: Path) -> None:
    port = free_port()
    write_config(tmp_path, ups_conf=GOOD_UPS, files={"u.dev": b"ups.status: OL\n"},
                 upsd_conf=f"# held by another program\nLISTEN 127.0.0.1 {port}\n")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        code, stderr = _serve_exit_code(tmp_path)
    assert code == 1
    assert (f"{tmp_path}/upsd.conf:2: error: cannot listen on 127.0.0.1 port {port}: "
            "Address already in use") in stderr


# ---- a reload that cannot be read keeps what runs ----------------------------------

def test_sighup_with_unreadable_files_keeps_the_running_config(tmp_path: Path) -> None:
    port = free_port()
    write_config(tmp_path, ups_conf=GOOD_UPS, upsd_conf=f"LISTEN 127.0.0.1 {port}\n",
                 users="[mon]\npassword = pw\nupsmon primary\n",
                 files={"u.dev": b"ups.status: OL\n"})
    primary = b"USERNAME mon\nPASSWORD pw\nPRIMARY good\n"
    with nutpy_server(tmp_path, port) as server:
        assert talk(port, primary) == b"OK\nOK\nOK PRIMARY-GRANTED\n"
        users = tmp_path / "upsd.users"
        users.unlink()
        os.mkfifo(users)  # a reader would block on it for ever
        server.signal(signal.SIGHUP)
        assert wait_until(lambda: "reload rejected" in server.log_text(), timeout=5)
        assert f"{users}: error: cannot read: it is a FIFO" in server.log_text()
        assert talk(port, primary) == b"OK\nOK\nOK PRIMARY-GRANTED\n"

        users.unlink()
        users.write_text("[mon]\npassword = new\nupsmon primary\n")
        (tmp_path / "ups.conf").unlink()
        (tmp_path / "ups.conf").symlink_to(tmp_path / "gone.conf")
        server.signal(signal.SIGHUP)
        assert wait_until(lambda: server.log_text().count("reload rejected") == 2, timeout=5)
        assert talk(port, primary) == b"OK\nOK\nOK PRIMARY-GRANTED\n"
        assert b"UPS good" in talk(port, b"LIST UPS\n")
