"""``nutpy killpower``, the command, against simulators on ptys — and NUT's ``apcsmart -k``."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from tests.support import FIXTURES
from tests.support.nut import (
    NUT_LIBEXEC,
    free_port,
    nut_env,
    nutpy_command,
    nutpy_server,
    sim_control,
    sim_show,
    simulator,
    wait_until,
    write_config,
)

DUMP = str(FIXTURES / "smart-ups-1500.dev")


def configure(directory: Path, ups_conf: str) -> Path:
    return write_config(directory, ups_conf=ups_conf,
                        upsd_conf=f"LISTEN 127.0.0.1 {free_port()}\n")


def apcsmart_on(directory: Path, link: Path, **options: str) -> Path:
    extra = "".join(f"  {key} = {value}\n" for key, value in options.items())
    return configure(directory, f"[ups]\n  driver = apcsmart\n  port = {link}\n{extra}")


def killpower(confdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(nutpy_command("killpower", "-c", str(confdir), *args),
                          env=nut_env(confdir), capture_output=True, text=True, timeout=60)


def nut_killpower(confdir: Path) -> subprocess.CompletedProcess[str]:
    """NUT's own: ``apcsmart -k``, what ``upsdrvctl shutdown`` runs."""
    root = ["-u", "root"] if os.geteuid() == 0 else []
    return subprocess.run([str(NUT_LIBEXEC / "apcsmart"), "-a", "ups", "-k", *root],
                          env=nut_env(confdir), capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("mains", ["fail", "restore"])
def test_same_command_as_nut_on_battery_better_on_line(tmp_path: Path, mains: str) -> None:
    """On battery both send S.  On line NUT misreads Q and sends S, which is refused;
    nutpy sends @000, as NUT means to."""
    shown = {}
    for who, run in (("nutpy", killpower), ("nut", nut_killpower)):
        with simulator("smart", tmp_path / who, "--dump", DUMP) as (link, control):
            sim_control(control, f"mains {mains}")
            done = run(apcsmart_on(tmp_path / who, link))
            shown[who] = sim_show(control)
            shown[who]["exit"] = str(done.returncode)
            shown[who]["said"] = done.stdout + done.stderr
    print(shown)
    if mains == "fail":
        assert shown["nutpy"]["pending shutdown"] == shown["nut"]["pending shutdown"] == "S"
        assert shown["nutpy"]["exit"] == "0"
        assert "soft hibernate (S) confirmed" in shown["nutpy"]["said"]
    else:
        assert shown["nutpy"]["pending shutdown"] == "@"
        assert shown["nutpy"]["exit"] == "0"
        assert "on line: hard hibernate (@000) confirmed" in shown["nutpy"]["said"]
        assert shown["nut"]["pending shutdown"] == "none"
        assert "status read failed, assuming LB+OB" in shown["nut"]["said"]


def test_asks_the_running_server(tmp_path: Path) -> None:
    with simulator("smart", tmp_path, "--dump", DUMP) as (link, control):
        confdir = apcsmart_on(tmp_path / "conf", link, pollinterval="1")
        port = int((confdir / "upsd.conf").read_text().split()[2])
        sim_control(control, "mains fail")
        with nutpy_server(confdir, port) as server:
            sock = confdir / "state" / "nutpy.sock"
            assert wait_until(sock.exists)
            assert stat.S_IMODE(sock.stat().st_mode) == 0o600  # killpower is for root
            done = killpower(confdir, "UPS")  # names match case-insensitively
            assert done.returncode == 0, done
            assert "nutpy serve is running" in done.stderr
            assert done.stdout.startswith("ups: confirmed: on battery: soft hibernate (S)")
            assert sim_show(control)["pending shutdown"] == "S"
            assert "killpower: on battery" in server.log_text()
        assert not sock.exists()  # removed when the server stops


def test_microlink_standalone(tmp_path: Path) -> None:
    with simulator("microlink", tmp_path) as (link, control):
        confdir = configure(tmp_path / "conf",
                            f"[smt]\n  driver = apcmicrolink\n  port = {link}\n")
        sim_control(control, "mains fail")
        done = killpower(confdir)
        assert done.returncode == 0, done
        assert done.stdout.startswith("smt: confirmed: shutdown.return confirmed")
        assert sim_show(control)["outlet status"] == "0x0208"  # shutdown, off-delay pending


def test_failures_exit_non_zero_and_say_why(tmp_path: Path) -> None:
    with simulator("smart", tmp_path, "--dump", DUMP) as (link, control):
        sim_control(control, "unplug")
        confdir = configure(tmp_path / "conf", (
            f"[silent]\n  driver = apcsmart\n  port = {link}\n"
            f"[dummy]\n  driver = dummy-ups\n  port = dummy.dev\n"))
        (confdir / "dummy.dev").write_text("ups.status: OL\n")
        done = killpower(confdir, "-t", "3")
        assert done.returncode == 2, done
        assert f"silent: NOT CONFIRMED: no data from {link} within 3 s" in done.stdout
        assert "dummy: NOT CONFIRMED: dummy-ups has no UPS output to turn off" in done.stdout
        unknown = killpower(confdir, "nosuch")
        assert unknown.returncode == 1
        assert "not in ups.conf: nosuch" in unknown.stderr


def test_never_asks_a_server_of_another_configuration(tmp_path: Path) -> None:
    """Two configurations, one state directory: killpower -c B must not ask A's server
    (it would answer for A's UPS, "dummy-ups has no UPS output to turn off")."""
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    other = configure(tmp_path / "other", "[ups]\n  driver = dummy-ups\n  port = u.dev\n")
    (other / "u.dev").write_text("ups.status: OL\n")
    port = int((other / "upsd.conf").read_text().split()[2])
    env = {"NUT_STATEPATH": str(state)}
    with simulator("smart", tmp_path, "--dump", DUMP) as (link, control), \
            nutpy_server(other, port, extra_env=env):
        sim_control(control, "mains fail")
        assert wait_until((state / "nutpy.sock").exists)
        ours = apcsmart_on(tmp_path / "ours", link)
        done = subprocess.run(nutpy_command("killpower", "-c", str(ours)),
                              env={**nut_env(ours), **env}, capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == 0, done
        assert "dummy-ups" not in done.stdout
        assert done.stdout.startswith("ups: confirmed: on battery: soft hibernate (S)")
        assert f"serves {other}" in done.stderr  # it says why it opened the port itself
        assert sim_show(control)["pending shutdown"] == "S"
