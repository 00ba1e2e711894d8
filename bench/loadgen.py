"""Build and drive ``loadgen.c``, the compiled load generator.

It is compiled with ``cc -O2`` into the bench's work directory at the start of
every run (a second or so), so the numbers never depend on a stale binary.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bench.procs import started

SOURCE = Path(__file__).with_name("loadgen.c")


def build(workdir: Path) -> Path:
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        raise RuntimeError("no C compiler: `make bench` installs build-essential")
    binary = workdir / "loadgen"
    subprocess.run([compiler, "-O2", "-Wall", "-o", str(binary), str(SOURCE)], check=True)
    return binary


def _fields(line: str) -> dict[str, str]:
    return dict(word.split("=", 1) for word in line.split() if "=" in word)


@dataclass(frozen=True)
class RunResult:
    """What one ``loadgen run`` measured."""

    requests: int
    rate: float  # completed round trips per second
    p50_ms: float
    p99_ms: float
    max_ms: float
    errors: int  # replies starting with ERR
    lost: int  # connections refused or closed by the server
    generator_cpu: float  # the generator's CPU seconds per wall second

    @classmethod
    def parse(cls, line: str) -> RunResult:
        f = _fields(line)
        cpu = float(f["cpu_user_s"]) + float(f["cpu_sys_s"])
        return cls(int(f["requests"]), float(f["rate"]), int(f["p50_us"]) / 1000,
                   int(f["p99_us"]) / 1000, int(f["max_us"]) / 1000, int(f["errors"]),
                   int(f["connect_failed"]) + int(f["closed"]), cpu / float(f["wall_s"]))


@dataclass
class LoadGen:
    binary: Path

    def run(self, port: int, clients: int, seconds: float, request: str,
            terminator: str, *, interval_ms: float = 0.0, warmup: float = 1.0) -> RunResult:
        """``clients`` connections; closed loop, or one request each per ``interval_ms``."""
        args = [str(self.binary), "run", str(port), str(clients), f"{seconds:g}",
                f"{warmup:g}", str(int(interval_ms * 1000)), request, terminator]
        done = subprocess.run(args, capture_output=True, text=True,
                              timeout=seconds + warmup + 60, check=True)
        return RunResult.parse(done.stdout.strip().splitlines()[-1])

    @contextlib.contextmanager
    def hold(self, port: int, clients: int, log: Path, *, timeout: float = 180.0
             ) -> Iterator[dict[str, str]]:
        """Hold ``clients`` idle connections open for the block; yields the ready line."""
        with started([str(self.binary), "hold", str(port), str(clients), f"{timeout:g}"],
                     log, stdin=subprocess.PIPE, stdout=subprocess.PIPE) as proc:
            assert proc.stdout is not None and proc.stdin is not None
            line = proc.stdout.readline().decode()
            if not line.startswith("ready"):
                raise RuntimeError(f"loadgen hold did not get ready: {line!r}")
            yield _fields(line)
            proc.stdin.close()
            proc.wait(30)

    @contextlib.contextmanager
    def echo(self, port: int, reply: str, log: Path) -> Iterator[None]:
        """The trivial server that answers ``reply`` to every line."""
        with started([str(self.binary), "echo", str(port), reply], log):
            yield
