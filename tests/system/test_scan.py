"""``nutpy scan`` as a user runs it: ten ports at once, then the config it printed, served.

On ptys: five simulated UPSes paced like real serial lines (three Smart
dumps at 2400 baud, Microlink with 16- and 32-byte rows at 9600), a port
with nothing on it, a device that echoes, a console that prompts, a port
held exclusively by another process, and a Smart-UPS that NUT's own
``apcsmart`` driver already has open.  The printed sections must pass
``check-config``, be read by NUT's own config parser (``upsdrvctl -t``),
and ``serve`` must serve every UPS to Debian's ``upsc``.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from pathlib import Path

from nutpy.config import parse_ups_conf
from nutpy.scan.holders import flock_holders
from nutpy.scan.report import NOTHING_ANSWERS
from tests.support import FIXTURES, REPO
from tests.support.netns import namespace
from tests.support.nut import (
    NUT_LIBEXEC,
    free_port,
    nut_env,
    nut_tool,
    nutpy_command,
    nutpy_server,
    sim_show,
    simulator,
    wait_until,
    write_config,
)

SMART_DUMPS = {"smart-ups-1500": ("Smart-UPS 1500", "smart-ups-1500"),
               "smart-ups-sc1500": ("Smart-UPS SC1500", "smart-ups-sc1500"),
               "smart-ups-rt-3000-xl": ("Smart-UPS RT 3000 XL", "smart-ups-rt-3000-xl")}
SCAN_LIMIT = 10.0  # the bound for eight ports; this scan has ten


@contextlib.contextmanager
def device(kind: str, link: Path) -> Iterator[int]:
    """A non-UPS device from tests.support.ttys; yields its PID."""
    proc = subprocess.Popen([sys.executable, "-m", "tests.support.ttys", kind, str(link)],
                            stdout=subprocess.PIPE, cwd=REPO)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
        yield proc.pid
    finally:
        proc.kill()
        proc.wait(5)


@contextlib.contextmanager
def nut_apcsmart(directory: Path, link: Path) -> Iterator[int]:
    """NUT's apcsmart driver holding ``link``; yields its PID."""
    directory.mkdir()
    write_config(directory, ups_conf=f"[held]\ndriver = apcsmart\nport = {link}\n")
    env = nut_env(directory)
    with open(directory / "driver.log", "wb") as log:
        proc = subprocess.Popen([str(NUT_LIBEXEC / "apcsmart"), "-a", "held", "-u", "root",
                                 "-F"], stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        assert wait_until(lambda: flock_holders(link.resolve()), timeout=15), \
            (directory / "driver.log").read_text()
        yield proc.pid
    finally:
        proc.terminate()
        proc.wait(10)


def upsc(port: int, ups: str, var: str) -> str:
    return subprocess.run([nut_tool("upsc"), f"{ups}@127.0.0.1:{port}", var],
                          capture_output=True, text=True, timeout=10).stdout.strip()


def test_scan_ten_ports_then_serve_what_it_printed(tmp_path: Path) -> None:
    with contextlib.ExitStack() as stack:
        sims = {}
        for dump in SMART_DUMPS:
            sims[dump] = stack.enter_context(simulator(
                "smart", tmp_path / dump, "--dump", str(FIXTURES / f"{dump}.dev"),
                "--baud", "2400"))
        sims["smt16"] = stack.enter_context(simulator("microlink", tmp_path / "smt16",
                                                      "--baud", "9600"))
        sims["smt32"] = stack.enter_context(simulator("microlink", tmp_path / "smt32",
                                                      "--rows", "32", "--baud", "9600"))
        held_link, _ = stack.enter_context(simulator("smart", tmp_path / "held"))
        apcsmart_pid = stack.enter_context(nut_apcsmart(tmp_path / "nut", held_link))
        master, silent = os.openpty()
        stack.callback(os.close, master)
        stack.callback(os.close, silent)
        silent_before = termios.tcgetattr(silent)
        echo, console, exclusive = (tmp_path / f"{k}.tty" for k in ("echo", "console", "excl"))
        stack.enter_context(device("echo", echo))
        stack.enter_context(device("console", console))
        exclusive_pid = stack.enter_context(device("exclusive", exclusive))

        ports = [str(link) for link, _ in sims.values()]
        ports += [os.ttyname(silent), str(echo), str(console), str(exclusive), str(held_link)]
        start = time.monotonic()
        scan = subprocess.run(nutpy_command("scan", *ports), capture_output=True, text=True,
                              timeout=60, cwd=REPO)
        took = time.monotonic() - start
        verdicts = dict(line.split(": ", 1) for line in scan.stderr.splitlines())

        assert scan.returncode == 0, scan.stderr
        assert took < SCAN_LIMIT, f"the scan took {took:.1f} s"
        print(f"scan of {len(ports)} ports: {took:.2f} s")
        conf, problems = parse_ups_conf(scan.stdout.encode(), "scan")
        assert problems == []
        sections = {u.name: u for u in conf.ups}
        for dump, (model, name) in SMART_DUMPS.items():
            link = sims[dump][0]
            assert (sections[name].driver, sections[name].port) == ("apcsmart", str(link))
            assert (sections[name].desc or "").startswith(model)
            assert sim_show(sims[dump][1])["mode"] == "dumb"  # left as NUT's driver leaves it
        assert sections["smt1500i"].desc == "Smart-UPS 1500 (SMT1500I), serial AS2101123456"
        assert sections["smt1500i-2"].port == str(sims["smt32"][0])
        for sim in ("smt16", "smt32"):
            assert sim_show(sims[sim][1])["link"] == "plugged, set-up"  # never authenticated
        assert len(sections) == 5

        silent_label = os.ttyname(silent)
        assert verdicts[silent_label] == NOTHING_ANSWERS
        assert termios.tcgetattr(silent) == silent_before
        assert verdicts[f"{echo} ({os.readlink(echo)})"].startswith(
            "answers, but only echoes back what it is sent")
        assert verdicts[f"{console} ({os.readlink(console)})"].startswith(
            'something talks, but neither APC Smart nor Microlink (at 9600 baud "\\xfd\\r\\n'
            'login: ')
        assert verdicts[f"{exclusive} ({os.readlink(exclusive)})"].startswith(
            f"in use by PID {exclusive_pid} (tests.support.ttys), by exclusive mode (TIOCEXCL)")
        assert verdicts[f"{held_link} ({os.readlink(held_link)})"].startswith(
            f"in use by PID {apcsmart_pid} (apcsmart), by flock: not probed")

        # The printed config, as is: nutpy checks it, NUT's parser reads it, nutpy serves it.
        confdir = tmp_path / "conf"
        port = free_port()
        write_config(confdir, ups_conf=scan.stdout, upsd_conf=f"LISTEN 127.0.0.1 {port}\n")
        check = subprocess.run(nutpy_command("check-config", "-c", str(confdir)),
                               capture_output=True, text=True, timeout=30, cwd=REPO)
        assert check.returncode == 0, check.stdout
        assert "0 error(s), 0 warning(s)" in check.stdout
        for _, name in SMART_DUMPS.values():
            nut = subprocess.run([nut_tool("upsdrvctl"), "-t", "start", name],
                                 capture_output=True, text=True, timeout=10,
                                 env=nut_env(confdir))
            assert nut.returncode == 0, nut.stderr
            assert f"exec:  {NUT_LIBEXEC / 'apcsmart'} -a {name}" in nut.stderr + nut.stdout
        with nutpy_server(confdir, port):
            for ups in sections:
                assert wait_until(lambda ups=ups: upsc(port, ups, "ups.status") == "OL",
                                  timeout=30), ups
            assert upsc(port, "smart-ups-sc1500", "ups.model") == "Smart-UPS SC1500"
            assert upsc(port, "smt1500i-2", "ups.serial") == "AS2101123456"


def test_a_uucp_lock_file_in_run_lock_keeps_the_scan_off(tmp_path: Path) -> None:
    """The real default place, /run/lock, in a mount namespace of its own (a tmpfs there)."""
    with simulator("smart", tmp_path / "sim") as (link, control), \
            namespace(tmp_path / "ns") as ns:
        holder = ns.start("sleep", "60", log="sleep.log")
        comm = Path(f"/proc/{holder.pid}/comm")
        assert wait_until(lambda: comm.read_text() == "sleep\n", timeout=5)
        lock = f"/run/lock/LCK..{Path(os.readlink(link)).name}"
        assert ns.run("sh", "-c", f"printf '%010d\\n' {holder.pid} > {lock}").returncode == 0
        scan = ns.run(*nutpy_command("scan", str(link)))
        assert scan.returncode == 1 and scan.stdout == ""
        assert scan.stderr.startswith(f"{link} ({os.readlink(link)}): in use by PID "
                                      f"{holder.pid} (sleep), by lock file {lock}: not probed")
        assert sim_show(control)["last command"] == "none"  # not a byte reached the UPS
        assert not Path(lock).exists()  # the machine's own /run/lock was never touched
