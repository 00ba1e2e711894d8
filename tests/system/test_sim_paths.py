"""The simulators' paths: only what they made is ever removed, and a path in use is refused.

``--link``, ``--control`` and ``control=`` used to unlink whatever was at the
path, regular files included; a second server with the same ``control=``
took over the first one's socket and deleted it on exit; after a SIGHUP that
restarted a ``sim:`` UPS its control socket was sometimes gone; and Ctrl-C
on ``nutpy simulate`` printed an exception-group traceback.
"""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

from tests.support.nut import (
    accepts_connections,
    free_port,
    nutpy_command,
    nutpy_server,
    sim_control,
    talk,
    wait_until,
    write_config,
)

PRECIOUS = b"someone else's file\n"


def _simulate(tmp_path: Path, link: Path, control: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(nutpy_command("simulate", "smart", "--link", str(link),
                                          "--control", str(control)),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)


def _finish(proc: subprocess.Popen[bytes], sig: int | None = None) -> tuple[int, str]:
    if sig is not None:
        proc.send_signal(sig)
    try:
        out, _ = proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate(timeout=5)
    return proc.returncode, out.decode(errors="replace")


def test_simulate_refuses_paths_that_hold_something_else(tmp_path: Path) -> None:
    for taken in ("link", "control"):
        link, control = tmp_path / f"{taken}.tty", tmp_path / f"{taken}.ctl"
        target = link if taken == "link" else control
        target.write_bytes(PRECIOUS)
        code, out = _finish(_simulate(tmp_path, link, control))
        assert code == 1, out
        assert str(target) in out and "Traceback" not in out, out
        assert target.read_bytes() == PRECIOUS
        assert not (control if taken == "link" else link).exists()


def test_simulate_refuses_a_link_that_points_at_a_live_device(tmp_path: Path) -> None:
    link, control = tmp_path / "sim.tty", tmp_path / "sim.ctl"
    link.symlink_to("/dev/null")
    code, out = _finish(_simulate(tmp_path, link, control))
    assert code == 1 and "in use" in out, out
    assert link.is_symlink() and str(link.readlink()) == "/dev/null"


def test_ctrl_c_stops_cleanly_and_removes_only_its_own(tmp_path: Path) -> None:
    link, control = tmp_path / "sim.tty", tmp_path / "sim.ctl"
    link.symlink_to(tmp_path / "a-pty-long-gone")  # a dead simulator's: replaced
    proc = _simulate(tmp_path, link, control)
    assert wait_until(lambda: link.exists() and accepts_connections(control))
    code, out = _finish(proc, signal.SIGINT)
    assert code == 0, out
    assert "Traceback" not in out and "ExceptionGroup" not in out, out
    assert not link.is_symlink() and not control.exists()

    proc = _simulate(tmp_path, link, control)
    assert wait_until(lambda: link.exists() and accepts_connections(control))
    link.unlink()
    link.write_bytes(PRECIOUS)  # replaced by someone else meanwhile: not ours to remove
    _finish(proc, signal.SIGINT)
    assert link.read_bytes() == PRECIOUS


UPS_CONF = '[s]\ndriver = apcsmart\nport = "sim:smart?control=s.ctl"\npollinterval = {}\n'


def test_a_second_server_does_not_take_the_first_ones_control_socket(tmp_path: Path) -> None:
    ports = free_port(), free_port()
    first = write_config(tmp_path / "first", ups_conf=UPS_CONF.format(1),
                         upsd_conf=f"LISTEN 127.0.0.1 {ports[0]}\n")
    second = write_config(tmp_path / "second", upsd_conf=f"LISTEN 127.0.0.1 {ports[1]}\n",
                          ups_conf=UPS_CONF.format(1).replace("s.ctl", str(first / "s.ctl")))
    get = b"GET VAR s ups.status\n"
    with nutpy_server(first, ports[0]):
        assert wait_until(lambda: talk(ports[0], get).startswith(b"VAR s ups.status"))
        with nutpy_server(second, ports[1]) as other:
            assert wait_until(lambda: "another process is listening" in other.log_text())
            assert talk(ports[1], get) == b"ERR DATA-STALE\n"
        assert accepts_connections(first / "s.ctl")
        assert sim_control(first / "s.ctl", "mains fail") == ["OK"]
        assert wait_until(lambda: b"OB" in talk(ports[0], get))


def test_control_socket_is_there_after_every_reload_that_restarts_the_sim(
        tmp_path: Path) -> None:
    port = free_port()
    confdir = write_config(tmp_path, ups_conf=UPS_CONF.format(1),
                           upsd_conf=f"LISTEN 127.0.0.1 {port}\n")
    control = tmp_path / "s.ctl"
    with nutpy_server(confdir, port) as server:
        for n in range(2, 7):  # a new pollinterval restarts the UPS, and its simulator
            assert wait_until(lambda: accepts_connections(control))
            before = server.log_text().count("configuration reloaded")
            (tmp_path / "ups.conf").write_text(UPS_CONF.format(n))
            server.signal(signal.SIGHUP)
            assert wait_until(
                lambda: server.log_text().count("configuration reloaded") > before)  # noqa: B023
            assert wait_until(lambda: accepts_connections(control), timeout=5), n
            assert sim_control(control, "show")[-1] == "OK"
