"""A power-cut rehearsal: one simulated UPS, one server, three real upsmon hosts.

Each :class:`Rig` runs ``nutpy simulate`` on a pty, a server reading it —
nutpy, or NUT's own ``upsd`` + driver — and Debian's ``upsmon -F`` three
times, as three hosts: one primary and two secondaries, each with its own
``NUT_CONFPATH``, ``NUT_STATEPATH`` and ``NUT_ALTPIDPATH``.  A host's
SHUTDOWNCMD writes the time it ran; upsmon then exits, as the host would go
down.  A watcher follows ``ups.status`` over TCP and the simulator's output
state, so every scenario ends with a timeline of what happened when.
:meth:`Rig.noise` puts noise on the serial line for a while and reports what
the hosts and a fast client were served meanwhile.

Nothing here asserts: the scenarios in ``test_upsmon_shutdown.py`` do.
"""

from __future__ import annotations

import collections
import contextlib
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.support import FIXTURES
from tests.support.nut import (
    NUT_LIBEXEC,
    Server,
    free_port,
    nut_env,
    nutpy_command,
    nutpy_server,
    real_upsd,
    sim_control,
    sim_show,
    simulator,
    wait_until,
    write_config,
)

# upsmon timing, short so that a scenario takes seconds (seconds each).
POLLFREQ = 1
DEADTIME = 6
HOSTSYNC = 5
MAXAGE = 5
GRACE = 4  # the UPS's shutdown delay (Smart ``p``; Microlink outlet off delay)
SECONDARIES = ("secondary1", "secondary2")
USERS = """\
[monpri]
  password = pri-pass
  upsmon primary
[monsec]
  password = sec-pass
  upsmon secondary
"""


@dataclass
class Timeline:
    """What happened when, in wall-clock seconds (shared with the hosts' scripts)."""

    events: list[tuple[float, str]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, label: str, when: float | None = None) -> None:
        with self._lock:
            self.events.append((time.time() if when is None else when, label))

    def first(self, label: str) -> float | None:
        """When ``label`` (or, ending in ``*``, any label starting so) first happened."""
        with self._lock:
            times = [t for t, name in self.events
                     if name == label or (label.endswith("*") and name.startswith(label[:-1]))]
        return min(times) if times else None

    def order(self, labels: list[str]) -> list[str]:
        """Those of ``labels`` that happened, earliest first."""
        seen = [(when, label) for label in labels if (when := self.first(label)) is not None]
        return [label for _, label in sorted(seen)]

    def render(self, title: str) -> str:
        with self._lock:
            events = sorted(self.events)
        if not events:
            return f"{title}: nothing happened"
        start = events[0][0]
        lines = [f"{title}:"] + [f"  {when - start:7.2f} s  {label}" for when, label in events]
        return "\n".join(lines)


@dataclass
class Host:
    """One machine protected by upsmon."""

    name: str
    role: str  # "primary" or "secondary"
    directory: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def shutdown_file(self) -> Path:
        return self.directory / "shutdown-at"

    @property
    def powerdown_flag(self) -> Path:
        return self.directory / "killpower"

    def env(self) -> dict[str, str]:
        return nut_env(self.directory)

    def shut_down_at(self) -> float | None:
        if not self.shutdown_file.exists():
            return None
        text = self.shutdown_file.read_text().split()
        return float(text[0]) if text else None

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def command(self, *args: str) -> list[str]:
        """``upsmon ARGS`` as this host runs it.

        upsmon 2.8.0 keeps its pid file in the compiled-in /run/nut whatever
        NUT_ALTPIDPATH says, and refuses to start beside another instance:
        each host gets its own /run/nut in a private mount namespace.
        """
        run = self.directory / "run"
        run.mkdir(exist_ok=True)
        return ["unshare", "--mount", "--propagation", "private", "sh", "-c",
                'mount --bind "$0" /run/nut && exec "$@"', str(run),
                str(NUT_LIBEXEC / "upsmon"), *args]


# What upsmon logs when it acts on the power (2.8.0's words).
UPSMON_ALARMS = ("on battery", "battery is low", "forced shutdown",
                 "automatic power-fail shutdown", "forcing shutdown")


@dataclass
class NoiseReport:
    """What a spell of line noise did (see :meth:`Rig.noise`)."""

    seconds: float
    percent: float
    truth: str  # the simulator's status words throughout
    served: collections.Counter[str]  # every ups.status a fast client was served
    alarms: list[str]  # upsmon log lines meanwhile that act on the power
    comm_lost: int  # upsmon's "Communications ... lost" lines meanwhile
    shut_down: list[str]  # hosts that shut down meanwhile
    driver: dict[str, int]  # what nutpy's driver logged of the noise (with debug)

    def problems(self) -> list[str]:
        """What a spurious shutdown is made of: a status flag the UPS does not have
        served, upsmon acting on the power, a host going down.  (An error served,
        as DATA-STALE, is in :meth:`render`: no shutdown on mains comes of it.)"""
        truth = set(self.truth.split())
        wrong = {status: n for status, n in self.served.items()
                 if not status.startswith("ERR ") and status != "unreachable"
                 and set(status.split()) != truth}
        return ([f"served {status!r} {n} times" for status, n in wrong.items()]
                + [f"upsmon: {line}" for line in self.alarms]
                + [f"{host} shut down" for host in self.shut_down])

    def render(self) -> str:
        return (f"{self.percent:g} % noise for {self.seconds:g} s on {self.truth!r}: "
                f"{sum(self.served.values())} statuses served "
                f"({dict(self.served)}), upsmon alarms {len(self.alarms)}, "
                f"communications lost {self.comm_lost}, shutdowns {len(self.shut_down)}; "
                f"driver: {self.driver}")


class Rig:
    """The simulator, a server on it, three upsmon hosts and a watcher.

    ``server``: "nutpy" or "nut".  ``model``: "smart" or "microlink".
    ``debug``: nutpy logs at debug level (what its driver makes of the line).
    """

    def __init__(self, root: Path, server: str, model: str = "smart", *,
                 debug: bool = False) -> None:
        self.root = root
        self.kind = server
        self.model = model
        self.debug = debug
        self.port = free_port()
        self.timeline = Timeline()
        self.hosts = [Host("primary", "primary", root / "primary")] + [
            Host(name, "secondary", root / name) for name in SECONDARIES]
        self.serverdir = root / "server"
        self.control = Path()
        self._link = Path()
        self._stack = contextlib.ExitStack()
        self._server: contextlib.AbstractContextManager[Server] | None = None
        self._stop_watching = threading.Event()
        self._watchers: list[threading.Thread] = []

    # ---- set-up and tear-down ------------------------------------------------

    def __enter__(self) -> Rig:
        try:
            return self._start()
        except BaseException:
            self._stack.close()  # stop whatever had started
            raise

    def _start(self) -> Rig:
        self.root.mkdir(parents=True, exist_ok=True)
        extra = ["--dump", str(FIXTURES / "smart-ups-1500.dev")] if self.model == "smart" else []
        self._link, self.control = self._stack.enter_context(
            simulator(self.model, self.root, *extra))
        self._stack.callback(self._stop_hosts)
        self._stack.callback(self.stop_server)
        if self.model == "smart":
            sim_control(self.control, f"set p {GRACE:03d}")
        else:
            sim_control(self.control, f"set outlet.group.0.delay.shutdown {GRACE}")
        driver = "apcsmart" if self.model == "smart" else "apcmicrolink"
        write_config(self.serverdir, users=USERS,
                     ups_conf=f"[ups]\n  driver = {driver}\n  port = {self._link}\n"
                              "  pollinterval = 1\n",
                     upsd_conf=f"LISTEN 127.0.0.1 {self.port}\nMAXAGE {MAXAGE}\n")
        self.start_server()
        self._watch(self._watch_status)
        self._watch(self._watch_output)
        self._stack.callback(self._stop_watchers)
        # upsmon that finds no data backs off for seconds: start the hosts
        # once the server serves the UPS, as at a real boot.
        if not self.wait_status("OL", timeout=20):
            raise RuntimeError(f"the server does not serve the UPS:\n{self.logs()}")
        for host in self.hosts:
            self._start_host(host)
        if not wait_until(lambda: self.numlogins() == len(self.hosts), timeout=20):
            raise RuntimeError(f"the hosts did not all log in:\n{self.logs()}")
        self.timeline.add("all hosts logged in")
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def start_server(self) -> None:
        if self.kind == "nutpy":
            self._server = nutpy_server(self.serverdir, self.port,
                                        args=("-D",) if self.debug else ())
        else:
            driver = "apcsmart" if self.model == "smart" else "apcmicrolink"
            self._server = real_upsd(self.serverdir, self.port, {"ups": driver})
        self._server.__enter__()
        self.timeline.add("server started")

    def stop_server(self) -> None:
        if self._server is not None:
            server, self._server = self._server, None
            server.__exit__(None, None, None)
            self.timeline.add("server stopped")

    def _start_host(self, host: Host) -> None:
        host.directory.mkdir(parents=True, exist_ok=True)
        script = host.directory / "shutdown.sh"
        script.write_text(f"#!/bin/sh\ndate +%s.%N >> {host.shutdown_file}\n")
        script.chmod(0o755)
        user, password = ("monpri", "pri-pass") if host.role == "primary" else (
            "monsec", "sec-pass")
        conf = host.directory / "upsmon.conf"
        conf.write_text(
            "RUN_AS_USER root\n"
            f"MONITOR ups@127.0.0.1:{self.port} 1 {user} {password} {host.role}\n"
            "MINSUPPLIES 1\n"
            f'SHUTDOWNCMD "{script}"\n'
            f"POLLFREQ {POLLFREQ}\nPOLLFREQALERT {POLLFREQ}\n"
            f"HOSTSYNC {HOSTSYNC}\nDEADTIME {DEADTIME}\nFINALDELAY 0\n"
            f"POWERDOWNFLAG {host.powerdown_flag}\n")
        conf.chmod(0o600)
        with open(host.directory / "upsmon.log", "wb") as log:
            host.proc = subprocess.Popen(
                host.command("-F", "-D"), env=host.env(), stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True)

    def _stop_hosts(self) -> None:
        for host in self.hosts:
            if host.proc is None:
                continue
            with contextlib.suppress(ProcessLookupError):
                os.killpg(host.proc.pid, signal.SIGCONT)
                os.killpg(host.proc.pid, signal.SIGTERM)
            try:
                host.proc.wait(5)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(host.proc.pid, signal.SIGKILL)
                host.proc.wait(5)

    # ---- watching ------------------------------------------------------------

    def _watch(self, loop: Callable[[], None]) -> None:
        thread = threading.Thread(target=loop, daemon=True)
        thread.start()
        self._watchers.append(thread)

    def _stop_watchers(self) -> None:
        self._stop_watching.set()
        for thread in self._watchers:
            thread.join(5)

    def _watch_status(self) -> None:
        """Record every change of ``ups.status`` as a client sees it."""
        last = None
        while not self._stop_watching.is_set():
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=2) as sock:
                    reader = sock.makefile("rb")
                    while not self._stop_watching.is_set():
                        sock.sendall(b"GET VAR ups ups.status\n")
                        line = reader.readline().decode().strip()
                        if not line:
                            break
                        status = line.split('"')[1] if line.startswith("VAR ") else line
                        if status != last:
                            self.timeline.add(f"status {status}")
                            last = status
                        time.sleep(0.05)
            except OSError:
                pass
            if last != "unreachable":
                self.timeline.add("status unreachable")
                last = "unreachable"
            self._stop_watching.wait(0.1)

    def _watch_output(self) -> None:
        last = "on"
        while not self._stop_watching.is_set():
            with contextlib.suppress(OSError):
                output = sim_show(self.control).get("output", last)
                if output != last:
                    self.timeline.add(f"output {output}")
                    last = output
            self._stop_watching.wait(0.1)

    # ---- what a scenario does ------------------------------------------------

    def sim(self, *commands: str) -> None:
        for command in commands:
            self.timeline.add(command)
            sim_control(self.control, command)

    def numlogins(self) -> int | None:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=2) as sock:
                sock.sendall(b"GET NUMLOGINS ups\n")
                words = sock.makefile("rb").readline().split()
        except OSError:
            return None
        return int(words[2]) if len(words) == 3 and words[0] == b"NUMLOGINS" else None

    def saw_status(self, token: str) -> float | None:
        """When a client first saw ``token`` in ``ups.status`` (or as the error)."""
        times = [when for when, label in list(self.timeline.events)
                 if label.startswith("status ") and token in label.split()[1:]]
        return min(times) if times else None

    def wait_status(self, token: str, timeout: float = 15) -> bool:
        return wait_until(lambda: self.saw_status(token) is not None, timeout=timeout)

    def host(self, name: str) -> Host:
        return next(host for host in self.hosts if host.name == name)

    def wait_shutdowns(self, names: list[str], timeout: float) -> bool:
        return wait_until(lambda: all(self.host(n).shut_down_at() for n in names),
                          timeout=timeout)

    def collect(self) -> None:
        """Put each host's shutdown (from its SHUTDOWNCMD) on the timeline."""
        for host in self.hosts:
            when = host.shut_down_at()
            if when is not None:
                self.timeline.add(f"{host.name} shutdown", when)

    def freeze(self, name: str) -> None:
        """The host hangs: its upsmon stays connected but never acts again."""
        host = self.host(name)
        assert host.proc is not None
        os.killpg(host.proc.pid, signal.SIGSTOP)
        self.timeline.add(f"{name} hangs")

    def upsmon(self, host: Host, *args: str) -> subprocess.CompletedProcess[str]:
        """Run ``upsmon ARGS`` as that host (``-c fsd``, ``-K``)."""
        return subprocess.run(host.command(*args), env=host.env(),
                              capture_output=True, text=True, timeout=30)

    def final_stage(self) -> subprocess.CompletedProcess[str] | None:
        """The primary's last step: the server stops, then killpower if the flag is there.

        None when ``upsmon -K`` says there is no POWERDOWNFLAG.
        """
        primary = self.host("primary")
        wait_until(lambda: not primary.running(), timeout=10)  # the host is down
        # Its /run is gone with it (here upsmon's own child may linger as an
        # unreaped zombie, which ``upsmon -K`` would take for a live upsmon).
        (primary.directory / "run" / "upsmon.pid").unlink(missing_ok=True)
        self.stop_server()
        check = self.upsmon(primary, "-K")
        if check.returncode != 0:
            self.timeline.add(f"no POWERDOWNFLAG: {check.stdout.strip()} {check.stderr.strip()}")
            return None
        self.timeline.add("killpower")
        if self.kind == "nutpy":
            command = nutpy_command("killpower", "-c", str(self.serverdir))
        else:
            command = ["/sbin/upsdrvctl",
                       *(["-u", "root"] if os.geteuid() == 0 else []), "shutdown"]
        done = subprocess.run(command, env=nut_env(self.serverdir), capture_output=True,
                              text=True, timeout=60)
        self.timeline.add(f"killpower exit {done.returncode}")
        return done

    def noise(self, seconds: float, percent: float = 1.0) -> NoiseReport:
        """``garble PERCENT`` on the line for ``seconds``, a client polling
        ``ups.status`` meanwhile (a millisecond apart); the noise stays on."""
        truth = sim_show(self.control)["status"].split("(")[1].rstrip(")")
        logs = {host.name: host.directory / "upsmon.log" for host in self.hosts}
        start = {name: path.stat().st_size for name, path in logs.items()}
        served: collections.Counter[str] = collections.Counter()
        stop = threading.Event()
        poller = threading.Thread(target=self._poll_fast, args=(stop, served), daemon=True)
        self.sim(f"garble {percent:g}")
        poller.start()
        stop.wait(seconds)
        stop.set()
        poller.join(10)
        self.timeline.add("noise window over")
        new = {name: path.read_bytes()[start[name]:].decode(errors="replace")
               for name, path in logs.items()}
        lines = [f"{name}: {line}" for name, text in new.items() for line in text.splitlines()]
        log = self.serverdir / "nutpy.log"
        server_log = log.read_text(errors="replace") if log.exists() else ""
        return NoiseReport(
            seconds, percent, truth, served,
            alarms=[line for line in lines if any(a in line for a in UPSMON_ALARMS)],
            comm_lost=sum("Communications with UPS" in line and "lost" in line
                          for line in lines),
            shut_down=[host.name for host in self.hosts if host.shut_down_at() is not None],
            driver={what: server_log.count(text) for what, text in (
                ("alerts not borne out", "not published: alert"),
                ("Q readings not repeated", "a status Q did not repeat"),
                ("garbled replies", "garbled reply"),
                ("replies an alert came into", "an alert came into the reply"))})

    def _poll_fast(self, stop: threading.Event, served: collections.Counter[str]) -> None:
        while not stop.is_set():
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=5) as sock:
                    reader = sock.makefile("rb")
                    while not stop.is_set():
                        sock.sendall(b"GET VAR ups ups.status\n")
                        line = reader.readline().decode().strip()
                        if not line:
                            break
                        served[line.split('"')[1] if line.startswith("VAR ") else line] += 1
                        time.sleep(0.001)
            except OSError:
                served["unreachable"] += 1
                stop.wait(0.1)

    def logs(self) -> str:
        parts = [f"--- {p.relative_to(self.root)}\n{p.read_text(errors='replace')[-3000:]}"
                 for p in sorted(self.root.rglob("*.log"))]
        return "\n".join(parts)


@contextlib.contextmanager
def rig(root: Path, server: str, model: str = "smart") -> Iterator[Rig]:
    with Rig(root, server, model) as running:
        yield running
