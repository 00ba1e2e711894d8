"""The two servers under test, configured alike, and the simulators they read.

``upsd``: Debian's NUT 2.8.0 (``/lib/nut/upsd`` plus a driver process per
UPS).  ``nutpy``: ``nutpy serve`` (drivers inside).  Each gets its own config
directory holding the same ``ups.conf`` driver section, the same
``upsd.users``, and an ``upsd.conf`` that differs only in its port.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bench.procs import started
from tests.support.nut import accepts_connections, free_port, wait_until

NUT_LIBEXEC = Path("/lib/nut")
FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"
DUMP = FIXTURES / "smart-ups-1500.dev"
UPS = "ups"
MAXCONN = 20000  # upsd's default is 1024: both get room for 10,000 idle clients
START_TIMEOUT = 30.0
USERS = """\
[admin]
\tpassword = bench-admin
\tactions = SET FSD
\tinstcmds = ALL
[monitor]
\tpassword = bench-monitor
\tupsmon primary
"""
SERVERS = ("nutpy", "upsd")


@dataclass
class Running:
    """One server under test: its port and the processes that make it up."""

    name: str  # "nutpy" or "upsd"
    port: int
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)  # by role

    @property
    def pids(self) -> dict[str, int]:
        return {role: proc.pid for role, proc in self.procs.items()}


def write_confdir(directory: Path, port: int, ups_conf: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "ups.conf").write_text(ups_conf)
    (directory / "upsd.conf").write_text(f"LISTEN 127.0.0.1 {port}\nMAXCONN {MAXCONN}\n")
    users = directory / "upsd.users"
    users.write_text(USERS)
    users.chmod(0o600)
    state = directory / "state"
    state.mkdir(exist_ok=True)
    state.chmod(0o700)
    return directory


def ask(port: int, request: str, timeout: float = 2.0) -> str:
    """One request on a fresh connection; the first reply line ('' on failure)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            sock.sendall(request.encode() + b"\n")
            data = b""
            while not data.endswith(b"\n"):
                chunk = sock.recv(4096)
                if not chunk:
                    break
                data += chunk
            return data.decode(errors="replace").split("\n", 1)[0]
    except OSError:
        return ""


def wait_serving(server: Running, timeout: float = START_TIMEOUT) -> None:
    """Until ``GET VAR ups ups.status`` is answered with a value."""
    def ready() -> bool:
        for role, proc in server.procs.items():
            if proc.poll() is not None:
                raise RuntimeError(f"{server.name}: {role} exited during start-up")
        return ask(server.port, f"GET VAR {UPS} ups.status").startswith("VAR ")
    if not wait_until(ready, timeout, 0.1):
        raise RuntimeError(f"{server.name} did not serve {UPS} within {timeout:g} s")


def _nut_env(confdir: Path) -> dict[str, str]:
    state = str(confdir / "state")
    return {**os.environ, "NUT_CONFPATH": str(confdir), "NUT_STATEPATH": state,
            "NUT_ALTPIDPATH": state}


def _as_root() -> list[str]:
    return ["-u", "root"] if os.geteuid() == 0 else []


@contextlib.contextmanager
def upsd(workdir: Path, driver: str, port_line: str, extra: str = "") -> Iterator[Running]:
    """NUT's ``driver`` process plus ``upsd`` serving one UPS called ``ups``."""
    port = free_port()
    confdir = write_confdir(workdir / "upsd", port,
                            f"{extra}[{UPS}]\n\tdriver = {driver}\n\tport = {port_line}\n")
    env = _nut_env(confdir)
    server = Running("upsd", port)
    with contextlib.ExitStack() as stack:
        drv = stack.enter_context(started(
            [str(NUT_LIBEXEC / driver), "-a", UPS, *_as_root(), "-F"],
            confdir / "driver.log", env=env))
        server.procs["driver"] = drv
        # upsd refuses to start before the driver's socket exists
        wait_until(lambda: any(p.name.startswith(driver) for p in (confdir / "state").iterdir()),
                   START_TIMEOUT)
        daemon = stack.enter_context(started(
            [str(NUT_LIBEXEC / "upsd"), *_as_root(), "-F"], confdir / "upsd.log", env=env))
        server.procs["upsd"] = daemon
        wait_serving(server)
        yield server


def nutpy_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "nutpy.cli", *args]


@contextlib.contextmanager
def nutpy(workdir: Path, ups_conf: str, *, debug: bool = False,
          name: str = "nutpy") -> Iterator[Running]:
    """``nutpy serve`` with ``ups_conf``; ``debug`` adds ``-D`` (poll-cycle log)."""
    port = free_port()
    confdir = write_confdir(workdir / name, port, ups_conf)
    env = {k: v for k, v in os.environ.items() if k != "NUT_CONFPATH"}
    args = nutpy_command("serve", "-c", str(confdir), *(["-D"] if debug else []))
    with started(args, confdir / "nutpy.log", env=env) as proc:
        server = Running("nutpy", port, {"nutpy": proc})
        wait_serving(server, START_TIMEOUT * 4)
        yield server


def dummy_conf(directory: Path) -> str:
    """The dummy-ups section's port, with the dump copied next to the config."""
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copy(DUMP, directory / DUMP.name)
    return DUMP.name


@contextlib.contextmanager
def dummy_pair(workdir: Path) -> Iterator[dict[str, Running]]:
    """Both servers reading the same APC dump through dummy-ups."""
    port_line = dummy_conf(workdir / "upsd")
    dummy_conf(workdir / "nutpy")
    ups_conf = f"[{UPS}]\n\tdriver = dummy-ups\n\tport = {port_line}\n"
    with upsd(workdir, "dummy-ups", port_line) as nut, nutpy(workdir, ups_conf) as ours:
        yield {"nutpy": ours, "upsd": nut}


@dataclass
class Simulator:
    link: Path  # the pty a driver opens
    control: Path  # the control socket
    pid: int


@contextlib.contextmanager
def simulator(directory: Path, name: str, *extra: str) -> Iterator[Simulator]:
    """``nutpy simulate smart`` loaded with the dump, on a pty."""
    directory.mkdir(parents=True, exist_ok=True)
    link, control = directory / f"{name}.tty", directory / f"{name}.ctl"
    args = nutpy_command("simulate", "smart", "--link", str(link), "--dump", str(DUMP),
                         "--control", str(control), *extra)
    with started(args, directory / f"{name}.log") as proc:
        if not wait_until(lambda: link.exists() and accepts_connections(control), START_TIMEOUT):
            raise RuntimeError(f"simulator {name} did not start")
        yield Simulator(link, control, proc.pid)


class Control:
    """A persistent connection to a simulator's control socket."""

    def __init__(self, path: Path) -> None:
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.settimeout(5)
        self.sock.connect(str(path))

    def send(self, command: str) -> None:
        """Send a command without waiting for its answer (see :meth:`answer`)."""
        self.sock.sendall(command.encode() + b"\n")

    def answer(self) -> str:
        data = b""
        while not (data.endswith(b"OK\n") or b"ERR" in data):
            chunk = self.sock.recv(4096)
            if not chunk:
                break
            data += chunk
        return data.decode(errors="replace")

    def close(self) -> None:
        self.sock.close()


def run_upsc(port: int) -> float:
    """Wall time of one ``upsc ups@127.0.0.1:PORT`` (it must succeed)."""
    begin = time.perf_counter()
    done = subprocess.run(["upsc", f"{UPS}@127.0.0.1:{port}"], capture_output=True,
                          timeout=30)
    elapsed = time.perf_counter() - begin
    if done.returncode != 0 or b"ups.status" not in done.stdout:
        raise RuntimeError(f"upsc failed: {done.stderr.decode(errors='replace')}")
    return elapsed
