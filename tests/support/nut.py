"""Helpers for tests that run whole servers: nutpy, and NUT's own upsd.

Both run as child processes on a free loopback port, each with its own config
directory; every process a helper starts is stopped when its ``with`` block
ends.
"""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

NUT_LIBEXEC = Path("/lib/nut")
START_TIMEOUT = 15.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_config(directory: Path, *, ups_conf: str, upsd_conf: str = "",
                 users: str = "", files: dict[str, bytes] | None = None) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "ups.conf").write_text(ups_conf)
    (directory / "upsd.conf").write_text(upsd_conf)
    users_path = directory / "upsd.users"
    users_path.write_text(users)
    users_path.chmod(0o600)
    for name, data in (files or {}).items():
        (directory / name).write_bytes(data)
    return directory


def make_unreadable(path: Path, kind: str) -> None:
    """Put a FIFO, a directory or a dangling symlink where the file ``path`` was."""
    path.unlink()
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "directory":
        path.mkdir()
    else:
        assert kind == "dangling-symlink"
        path.symlink_to(path.with_name(path.name + ".gone"))


def wait_for_port(port: int, host: str = "127.0.0.1", timeout: float = START_TIMEOUT,
                  proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before listening")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listening on {host}:{port}")


def talk(port: int, data: bytes, host: str = "127.0.0.1", quiet: float = 0.3,
         timeout: float = 5.0) -> bytes:
    """Send ``data``, then read until the server has been quiet for ``quiet`` s
    (the first byte may take up to ``timeout``: a loaded machine is slow to start)."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(data)
        chunks: list[bytes] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            sock.settimeout(quiet if chunks else max(deadline - time.monotonic(), 0.01))
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@dataclass
class Server:
    """A running server: its port and its processes' logs."""

    port: int
    confdir: Path
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)

    def log_text(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in self.logs if p.exists())

    def signal(self, sig: int) -> None:
        self.procs[-1].send_signal(sig)


def nutpy_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "nutpy.cli", *args]


def _soft_nofile(limit: int | None) -> Callable[[], None] | None:
    """A preexec_fn that starts the child with this soft open-file limit."""
    if limit is None:
        return None

    def lower() -> None:
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))

    return lower


@contextlib.contextmanager
def nutpy_server(confdir: Path, port: int, *, host: str = "127.0.0.1",
                 wait: bool = True, extra_env: dict[str, str] | None = None,
                 args: tuple[str, ...] = (), soft_nofile: int | None = None
                 ) -> Iterator[Server]:
    """``nutpy serve -c confdir [args]``; ``soft_nofile`` starts it with that fd limit."""
    log = confdir / "nutpy.log"
    env = {**nut_env(confdir), **(extra_env or {})}
    env.pop("NUT_CONFPATH", None)
    with open(log, "wb") as out:
        proc = subprocess.Popen(nutpy_command("serve", "-c", str(confdir), *args),
                                stdout=out, stderr=subprocess.STDOUT, env=env,
                                preexec_fn=_soft_nofile(soft_nofile))
    server = Server(port, confdir, [proc], [log])
    try:
        if wait:
            wait_for_port(port, host, proc=proc)
        yield server
    finally:
        _stop(proc)


def nut_env(confdir: Path) -> dict[str, str]:
    state = confdir / "state"
    state.mkdir(exist_ok=True)
    state.chmod(0o700)
    return {**os.environ, "NUT_CONFPATH": str(confdir), "NUT_STATEPATH": str(state),
            "NUT_ALTPIDPATH": str(state)}


def _as_root() -> list[str]:
    return ["-u", "root"] if os.geteuid() == 0 else []


@contextlib.contextmanager
def real_upsd(confdir: Path, port: int, drivers: dict[str, str]) -> Iterator[Server]:
    """NUT's upsd plus one real driver per UPS (``{name: driver}``)."""
    env = nut_env(confdir)
    server = Server(port, confdir)
    try:
        for name, driver in drivers.items():
            log = confdir / f"driver-{name}.log"
            with open(log, "wb") as out:
                server.procs.append(subprocess.Popen(
                    [str(NUT_LIBEXEC / driver), "-a", name, *_as_root(), "-F"],
                    stdout=out, stderr=subprocess.STDOUT, env=env))
            server.logs.append(log)
        log = confdir / "upsd.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen([str(NUT_LIBEXEC / "upsd"), *_as_root(), "-F"],
                                    stdout=out, stderr=subprocess.STDOUT, env=env)
        server.procs.append(proc)
        server.logs.append(log)
        wait_for_port(port, proc=proc)
        yield server
    finally:
        for proc in reversed(server.procs):
            _stop(proc)


def wait_until(predicate: object, timeout: float = 10.0, interval: float = 0.1) -> bool:
    """Poll ``predicate()`` until true or ``timeout``; return its last result."""
    assert callable(predicate)
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def nut_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(f"{name} is not installed: run `make test`, which installs "
                           "Debian's nut-client and nut-server")
    return path


@contextlib.contextmanager
def simulator(model: str, directory: Path, *extra: str) -> Iterator[tuple[Path, Path]]:
    """``nutpy simulate MODEL`` on a pty; yields (pty link, control socket).

    Stopped with SIGTERM, the simulator leaves its link and socket behind
    (dangling); they are removed before it starts again on the same paths.
    """
    directory.mkdir(parents=True, exist_ok=True)
    link, control = directory / f"{model}.tty", directory / f"{model}.ctl"
    link.unlink(missing_ok=True)
    control.unlink(missing_ok=True)
    log = directory / f"sim-{model}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(nutpy_command("simulate", model, "--link", str(link),
                                              "--control", str(control), *extra),
                                stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
    try:
        # The socket file appears at bind(), a moment before listen(): wait
        # until it takes a connection.
        if not wait_until(lambda: link.exists() and accepts_connections(control), timeout=10):
            raise RuntimeError(f"simulator did not start: {log.read_text()}")
        yield link, control
    finally:
        _stop(proc)


def accepts_connections(path: Path) -> bool:
    """Whether something listens on the Unix socket at ``path``."""
    with socket.socket(socket.AF_UNIX) as sock:
        return sock.connect_ex(str(path)) == 0


def sim_control(control: Path, *commands: str) -> list[str]:
    """Send control commands to a simulator; returns the answer lines."""
    answers: list[str] = []
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(5)
        sock.connect(str(control))
        for command in commands:
            sock.sendall(command.encode() + b"\n")
            buffer = b""
            while not (buffer.endswith(b"OK\n") or b"ERR" in buffer):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                buffer += chunk
            answers += buffer.decode().splitlines()
    return answers


def sim_show(control: Path) -> dict[str, str]:
    lines = sim_control(control, "show")
    return dict(line.split(": ", 1) for line in lines if ": " in line)


def rss_kib(pid: int, field: str = "VmRSS") -> int:
    """Resident memory of a process from /proc, in KiB (``VmHWM``: its peak)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} for process {pid}")


def make_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for localhost/127.0.0.1/::1: (CERTFILE, cert)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise RuntimeError("the openssl command is not installed: run `make test`, "
                           "which installs it")
    directory.mkdir(parents=True, exist_ok=True)
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert),
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1"],
        check=True, capture_output=True, timeout=START_TIMEOUT)
    certfile = directory / "upsd.pem"
    certfile.write_bytes(cert.read_bytes() + key.read_bytes())
    certfile.chmod(0o600)
    return certfile, cert

