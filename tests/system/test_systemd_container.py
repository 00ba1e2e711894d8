"""nutpy.service and nutpy-killpower.service under a real systemd, in a container.

The units from ``systemd/`` are installed by ``make install`` inside a Debian
booted by ``systemd-nspawn`` (:mod:`tests.support.nspawn`), beside Debian's own
``nut-monitor.service`` (the real upsmon, as the primary).  The simulated
Smart-UPS runs outside, on a pty handed to the container as ``/dev/ttyUSB0``
(root:dialout 0660, like a USB serial adapter), so it sees the container
power off and can say what it was told at the very end.

The first tests share one boot: readiness, reload, the sandbox, the
watchdog.  Each power-off gets a boot of its own.  Before the container
tests, two without one check what nutpy tells ``$NOTIFY_SOCKET`` while its
UPS cannot be read.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import FIXTURES
from tests.support.nspawn import Container, container, rootfs, share_tty, source_tree, wheelhouse
from tests.support.nut import (
    free_port,
    nutpy_server,
    sim_control,
    sim_show,
    simulator,
    wait_until,
    write_config,
)

# After the parallel run, on its own: its containers share one cached root
# tree, and it times systemd.
pytestmark = pytest.mark.alone

REPO = Path(__file__).resolve().parents[2]
UNIT = (REPO / "systemd" / "nutpy.service").read_text()


def unit_seconds(key: str) -> float:
    found = re.search(rf"^{key}=(\d+)$", UNIT, re.MULTILINE)
    assert found, f"{key}= is not in nutpy.service"
    return float(found.group(1))


WATCHDOG = unit_seconds("WatchdogSec")
RESTART = unit_seconds("RestartSec")
SLACK = 8.0  # seconds allowed on top of any time systemd or upsmon promises (loaded CI)
GRACE = 5  # the simulated UPS's shutdown delay (Smart ``p``)
ADDRESS = "127.0.0.1 port 3493"

UPS_CONF = "[ups]\n  driver = apcsmart\n  port = /dev/ttyUSB0\n  pollinterval = 1\n"
UPSD_CONF = "LISTEN 127.0.0.1 3493\n"
USERS = "[monpri]\n  password = pri-pass\n  upsmon primary\n"
# Debian's upsmon.conf, polled every second and without the last 5 s of delay.
UPSMON_CONF = """\
MONITOR ups@127.0.0.1 1 monpri pri-pass primary
MINSUPPLIES 1
SHUTDOWNCMD "/sbin/shutdown -h +0"
POLLFREQ 1
POLLFREQALERT 1
DEADTIME 15
FINALDELAY 0
POWERDOWNFLAG /etc/killpower
"""


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


def _wait_datagram(sock: socket.socket, prefix: str, seconds: float) -> list[str]:
    """The first datagram with a line starting with ``prefix`` ([] if none came)."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            lines = sock.recv(4096).decode().splitlines()
        except TimeoutError:
            break
        if any(line.startswith(prefix) for line in lines):
            return lines
    return []


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
        ready = _wait_datagram(sock, "READY=1", 10.0)
        waited = time.monotonic() - started
        assert 1.0 <= waited <= 2.0 + SLACK, waited
        assert f"STATUS=1 UPS (ups) on 127.0.0.1 port {port}; stale: ups" in ready, ready
        sim_control(control, "plug")
        status = _wait_datagram(sock, "STATUS=", 10.0)
        assert status == [f"STATUS=1 UPS (ups) on 127.0.0.1 port {port}"], status


# ---- the container -----------------------------------------------------------------

@dataclass
class Machine:
    """A booted container with nutpy installed, and the simulated UPS outside it."""

    box: Container
    control: Path  # the simulator's control socket (outside)
    results: Path  # bound at /results, writable

    def sim(self, *commands: str) -> None:
        for command in commands:
            sim_control(self.control, command)

    def upsc(self, variable: str, ups: str = "ups") -> str:
        done = self.box.run("upsc", f"{ups}@127.0.0.1", variable, check=False, timeout=20)
        return (done.stdout.strip() or done.stderr.strip()).splitlines()[-1] \
            if (done.stdout.strip() or done.stderr.strip()) else ""

    def ask(self, request: str) -> str:
        """One NUT request from inside; the first line of the answer ('' if none)."""
        script = ("import socket,sys\n"
                  "try:\n"
                  "  s=socket.create_connection(('127.0.0.1',3493),timeout=5)\n"
                  "  s.sendall(sys.argv[1].encode()+b'\\n')\n"
                  "  print(s.makefile('rb').readline().decode().strip())\n"
                  "except OSError as e: print('unreachable', e)\n")
        return self.box.run("python3", "-c", script, request, timeout=20).stdout.strip()

    def main_pid(self) -> int:
        return int(self.box.show("nutpy.service", "MainPID"))

    def state(self, unit: str = "nutpy.service") -> str:
        return self.box.show(unit, "ActiveState")

    def numlogins(self) -> int | None:
        words = self.ask("GET NUMLOGINS ups").split()
        return int(words[2]) if len(words) == 3 and words[0] == "NUMLOGINS" else None

    def configure(self, ups_conf: str = UPS_CONF, users: str = USERS) -> None:
        """The files nutpy and upsmon read, owned as Debian's packages own them."""
        self.box.put("/etc/nut/ups.conf", ups_conf, "640", "root:nut")
        self.box.put("/etc/nut/upsd.conf", UPSD_CONF, "640", "root:nut")
        self.box.put("/etc/nut/upsd.users", users, "640", "root:nut")


def install(box: Container) -> None:
    """``make install`` from the work tree, offline, then NUT's files and the units."""
    box.run("make", "-C", "/src", "install", timeout=300,
            env={"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": "/wheels",
                 "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
    box.put("/etc/nut/nut.conf", "MODE=netserver\n", "640", "root:nut")
    box.put("/etc/nut/upsmon.conf", UPSMON_CONF, "640", "root:nut")
    # nut's home, as nut-server makes it: a place nut could write, but nutpy may not.
    box.run("install", "-d", "-o", "nut", "-g", "nut", "-m", "770", "/var/lib/nut")
    box.systemctl("daemon-reload")
    box.systemctl("enable", "nutpy.service", "nutpy-killpower.service")


@contextlib.contextmanager
def machine(workdir: Path, source: Path, wheels: Path) -> Iterator[Machine]:
    with contextlib.ExitStack() as stack:
        link, control = stack.enter_context(
            simulator("smart", workdir / "sim", "--dump", str(FIXTURES / "smart-ups-1500.dev")))
        sim_control(control, f"set p {GRACE:03d}")
        device = share_tty(link)
        results = workdir / "results"
        results.mkdir(parents=True)
        results.chmod(0o777)  # so that only the sandbox can stop nutpy writing there
        box = stack.enter_context(container(rootfs(), workdir / "container", [
            (results, "/results", True), (source, "/src", True), (wheels, "/wheels", False),
            (device, "/dev/ttyUSB0", True)]))
        try:
            install(box)
            booted = Machine(box, control, results)
            booted.configure()
            yield booted
        except BaseException:
            print(f"--- journal\n{box.journal()[-20000:]}\n--- console\n{box.console()}")
            raise


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return source_tree(REPO, tmp_path_factory.mktemp("src"))


@pytest.fixture(scope="module")
def wheels() -> Path:
    return wheelhouse(REPO)


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory, source: Path,
           wheels: Path) -> Iterator[Machine]:
    """One boot for the tests that leave the container running."""
    started = time.monotonic()
    with machine(tmp_path_factory.mktemp("shared"), source, wheels) as booted:
        print(f"boot {booted.box.boot_seconds:.2f} s, "
              f"boot and make install {time.monotonic() - started:.1f} s")
        yield booted


def _start_fresh(m: Machine) -> None:
    """nutpy running on the test's config, with the UPS read."""
    m.sim("plug", "mains restore")
    m.configure()
    m.box.systemctl("restart", "nutpy.service", timeout=60)
    assert m.state() == "active", m.box.journal()[-5000:]


def test_activating_until_the_ups_is_read_then_status_says_what_it_serves(
        shared: Machine) -> None:
    m = shared
    m.box.systemctl("stop", "nutpy.service")
    m.sim("unplug")  # the UPS does not answer yet
    m.box.systemctl("start", "--no-block", "nutpy.service")
    try:
        # It listens at once, and says it has no data yet...
        assert wait_until(lambda: m.ask("GET VAR ups ups.status").startswith("ERR"),
                          timeout=20), m.box.journal()[-5000:]
        # ...while systemd still waits for it (and so would upsmon, ordered after it).
        assert m.state() == "activating"
        time.sleep(1.0)
        assert m.state() == "activating"
        m.sim("plug")
        plugged = time.monotonic()
        assert wait_until(lambda: m.state() == "active", timeout=15), m.box.journal()[-5000:]
        print(f"active {time.monotonic() - plugged:.2f} s after the UPS answered")
        assert m.box.show("nutpy.service", "StatusText") == f"1 UPS (ups) on {ADDRESS}"
        assert m.upsc("ups.status") == "OL"
    finally:
        m.sim("plug")


def test_reload_keeps_the_process_and_a_broken_config_keeps_serving(shared: Machine) -> None:
    m = shared
    _start_fresh(m)
    pid = m.main_pid()
    m.box.put("/etc/nut/two.dev", "ups.status: OL\nbattery.charge: 77\n", "640", "root:nut")
    try:
        m.configure(ups_conf=UPS_CONF + "[two]\n  driver = dummy-ups\n  port = two.dev\n")
        m.box.systemctl("reload", "nutpy.service")
        assert wait_until(lambda: m.upsc("battery.charge", "two") == "77", timeout=15)
        assert m.main_pid() == pid
        serving = f"2 UPS (ups, two) on {ADDRESS}"
        assert wait_until(lambda: m.box.show("nutpy.service", "StatusText") == serving,
                          timeout=10)

        def rejected(count: int) -> None:
            m.box.systemctl("reload", "nutpy.service")
            assert wait_until(lambda: m.box.journal().count("reload rejected") == count,
                              timeout=15), m.box.journal()[-5000:]
            assert m.state() == "active" and m.main_pid() == pid
            assert m.upsc("battery.charge", "two") == "77" and m.upsc("ups.status") == "OL"
            assert m.box.show("nutpy.service", "StatusText") == serving

        rejected_before = m.box.journal().count("reload rejected")
        m.box.put("/etc/nut/ups.conf", "this is not [a ups.conf\n", "640", "root:nut")
        rejected(rejected_before + 1)
        m.configure(ups_conf=UPS_CONF + "[two]\n  driver = dummy-ups\n  port = two.dev\n")
        m.box.run("chmod", "600", "/etc/nut/upsd.users")  # root's alone: nut cannot read it
        rejected(rejected_before + 2)
    finally:
        m.configure()
        m.box.systemctl("reload", "nutpy.service")


SIGSYS = -31  # the exit status of a child killed by the system-call filter


def test_sandbox_refuses_what_nutpy_must_not_do(shared: Machine) -> None:
    m = shared
    _start_fresh(m)
    status = dict(line.split(":\t", 1) for line in
                  m.box.run("cat", f"/proc/{m.main_pid()}/status").stdout.splitlines()
                  if ":\t" in line)
    gids = {name: m.box.run("getent", "group", name).stdout.split(":")[2]
            for name in ("nut", "dialout")}
    uid = m.box.run("id", "-u", "nut").stdout.strip()
    assert status["Uid"].split() == [uid] * 4
    assert status["Gid"].split() == [gids["nut"]] * 4
    assert sorted(status["Groups"].split()) == sorted(gids.values())
    assert status["CapEff"] == status["CapBnd"] == "0000000000000000"
    assert status["NoNewPrivs"] == "1" and status["Seccomp"] == "2"

    # The probe runs as an ExecStartPre= of the real unit, which gets the same
    # user, namespaces, device filter, system-call filter and memory rules as
    # ExecStart=; then, as a control, as the same user without the sandbox.
    shutil.copy(REPO / "tests" / "support" / "sandbox_probe.py", m.results)
    python, probe = "/usr/local/lib/nutpy/bin/python3", "/results/sandbox_probe.py"
    dropin = "/etc/systemd/system/nutpy.service.d"
    m.box.run("mkdir", "-p", dropin)
    m.box.put(f"{dropin}/probe.conf",
              f"[Service]\nExecStartPre={python} {probe} /run/nut/sandbox.json sandbox\n")
    try:
        m.box.systemctl("daemon-reload")
        m.box.systemctl("restart", "nutpy.service", timeout=120)
    finally:
        m.box.run("rm", "-r", dropin)
        m.box.systemctl("daemon-reload")
    m.box.systemctl("restart", "nutpy.service")
    sandbox = json.loads(m.box.run("cat", "/run/nut/sandbox.json").stdout)
    m.box.run("systemd-run", "--wait", "--quiet", "--collect", "-p", "User=nut", "-p",
              "Group=nut", "-p", "SupplementaryGroups=dialout", python, probe,
              "/run/nut/control.json", "control", timeout=120)
    control = json.loads(m.box.run("cat", "/run/nut/control.json").stdout)
    print(json.dumps({"sandbox": sandbox, "control": control}, indent=1))

    assert sandbox["ids"] == control["ids"]
    # It can write its state directory, and a /tmp and /var/tmp of its own
    # (what it wrote there is not in the real /tmp): nothing else.  The same
    # user without the sandbox can write its home, a 0777 directory, /dev/shm.
    assert sandbox["writable"] == ["/run/nut", "/tmp", "/var/tmp"]
    assert m.box.run("test", "-e", "/tmp/nutpy-probe-sandbox", check=False).returncode == 1
    assert {"/var/lib/nut", "/results", "/dev/shm", "/dev/mqueue", "/run/lock"} \
        <= set(control["writable"])
    # The serial port opens; another device, world-writable, does not.
    assert sandbox["open /dev/ttyUSB0"] == control["open /dev/ttyUSB0"] == "ok"
    assert (sandbox["open /dev/net/tun"], control["open /dev/net/tun"]) == ("EPERM", "ok")
    # MemoryDenyWriteExecute=
    assert (sandbox["mmap write+exec"], control["mmap write+exec"]) == ("EPERM", "ok")
    # SystemCallFilter=~@privileged @resources, while nutpy's own raising of
    # its open-file limit (prlimit64) still works.
    assert sandbox["setrlimit"] == control["setrlimit"] == "ok"
    for call in ("setuid", "chown", "setpriority"):
        assert (sandbox[call], control[call]) == (SIGSYS, 0), call
    assert m.upsc("ups.status") == "OL"  # and nutpy itself runs in all that


def test_watchdog_restarts_a_hung_server_and_clients_come_back(shared: Machine) -> None:
    m = shared
    _start_fresh(m)
    m.box.systemctl("start", "nut-monitor.service")
    try:
        assert wait_until(lambda: m.numlogins() == 1, timeout=20), m.box.journal()[-5000:]
        hung = m.main_pid()
        load = m.upsc("ups.load")
        m.box.run("kill", "-STOP", str(hung))
        stopped = time.monotonic()
        m.sim("load 55")  # what the restarted server must show
        assert wait_until(lambda: m.main_pid() not in (hung, 0) and m.state() == "active",
                          timeout=WATCHDOG + RESTART + SLACK + 10), m.box.journal()[-5000:]
        restarted = time.monotonic() - stopped
        print(f"restarted {restarted:.1f} s after the hang (WatchdogSec={WATCHDOG:g}, "
              f"RestartSec={RESTART:g})")
        assert restarted <= WATCHDOG + RESTART + SLACK
        assert "Watchdog timeout" in m.box.journal()
        assert wait_until(lambda: m.numlogins() == 1, timeout=20), m.box.journal()[-5000:]
        assert float(m.upsc("ups.load")) == pytest.approx(55, abs=1), load
        assert m.state("nut-monitor.service") == "active"
    finally:
        m.box.systemctl("stop", "nut-monitor.service")
        m.sim("load 12.4")


# ---- the power-failure chain: each power-off is a boot of its own -------------------

def _serve_with_upsmon(m: Machine) -> None:
    """nutpy and upsmon as services, started the way a boot starts them."""
    m.box.systemctl("start", "nutpy.service", "nut-monitor.service", timeout=60)
    assert wait_until(lambda: m.numlogins() == 1, timeout=20), m.box.journal()[-5000:]
    # Ordered after nutpy, which was ready only once the UPS was read,
    # upsmon never saw the UPS without data.
    upsmon = [line for line in m.box.journal().splitlines() if "upsmon" in line]
    assert not [line for line in upsmon if "stale" in line.lower() or "not connected"
                in line.lower()], upsmon


def test_power_failure_ends_with_the_ups_told_to_cut_its_output(
        tmp_path: Path, source: Path, wheels: Path) -> None:
    with machine(tmp_path, source, wheels) as m:
        _serve_with_upsmon(m)
        m.sim("mains fail")
        assert wait_until(lambda: "on battery" in m.box.journal(), timeout=20), \
            m.box.journal()[-5000:]
        m.sim("battery low")
        low = time.monotonic()
        assert m.box.wait_exit(60), m.box.console()[-5000:]
        print(f"powered off {time.monotonic() - low:.1f} s after the battery went low")
        assert "Executing automatic power-fail shutdown" in m.box.journal()
        # The final stage, as the container's console showed it: upsmon -K
        # found the flag, then nutpy killpower told the UPS...
        console = m.box.console()
        assert "Power down flag is set" in console, console[-5000:]
        assert "ups: confirmed: on battery: soft hibernate (S)" in console, console[-5000:]
        assert "Finished nutpy-killpower.service" in console, console[-5000:]
        # ...and the UPS, outside, cuts its output after its shutdown delay.
        assert wait_until(lambda: sim_show(m.control)["output"] == "off",
                          timeout=GRACE + SLACK), sim_show(m.control)
        print(f"output off {time.monotonic() - low:.1f} s after the battery went low")


def test_power_off_on_mains_without_the_flag_cuts_nothing(
        tmp_path: Path, source: Path, wheels: Path) -> None:
    with machine(tmp_path, source, wheels) as m:
        _serve_with_upsmon(m)
        m.box.systemctl("poweroff", "--no-block")
        assert m.box.wait_exit(60), m.box.console()[-5000:]
        # The final stage ran, and upsmon -K stopped it before nutpy killpower.
        console = m.box.console()
        assert "Starting nutpy-killpower.service" in console, console[-5000:]
        assert "Power down flag is not set" in console, console[-5000:]
        assert "killpower" not in console.split("Power down flag is not set")[1]
        time.sleep(GRACE + 1)  # long enough for a shutdown the UPS would have been told of
        show = sim_show(m.control)
        assert (show["output"], show["pending shutdown"], show["mains"]) == (
            "on", "none", "present"), show
