"""Child processes the bench starts, and what /proc says about them.

Every process is started in a session of its own (so it leads its own process
group) and is stopped with its whole group when the ``with`` block that
started it ends, whatever happened inside.  Nothing here binds anything but
127.0.0.1.
"""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

STOP_GRACE = 5.0


def raise_nofile_limit() -> int:
    """Lift the soft open-files limit to the hard one (children inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def stop_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process group, then SIGKILL it if it lingers."""
    if proc.poll() is not None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)  # leftovers of an exited leader
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(STOP_GRACE)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(STOP_GRACE)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


@contextlib.contextmanager
def started(args: list[str], log: Path, *, env: dict[str, str] | None = None,
            stdin: int | None = subprocess.DEVNULL,
            stdout: int | None = None) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``args`` (output to ``log``) for the duration of the block."""
    with open(log, "ab") as out:
        proc = subprocess.Popen(args, stdin=stdin, stdout=stdout or out,
                                stderr=out, env=env, start_new_session=True)
    try:
        yield proc
    finally:
        stop_group(proc)


@dataclass(frozen=True)
class Usage:
    cpu_seconds: float  # user + system, since the process started (live threads)
    rss_bytes: int
    fds: int
    threads: dict[int, float]  # thread id -> its CPU seconds

    def cpu_since(self, before: Usage) -> float:
        """CPU seconds spent since ``before``, thread by thread: a thread that
        ended meanwhile (trio's idle worker threads end after 10 s) took its
        time with it, and subtracting totals made that a negative cost."""
        return sum(cpu - before.threads.get(tid, 0.0) for tid, cpu in self.threads.items())


def usage(pid: int) -> Usage:
    """CPU time, resident memory and open descriptors of one process."""
    # schedstat's first field is the time on a CPU in ns (/proc/PID/stat
    # counts 10 ms ticks, too coarse for an idle NUT driver); every thread
    threads: dict[int, float] = {}
    for task in os.listdir(f"/proc/{pid}/task"):
        with contextlib.suppress(FileNotFoundError), \
                open(f"/proc/{pid}/task/{task}/schedstat") as f:
            threads[int(task)] = int(f.read().split()[0]) / 1e9
    rss = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) * 1024
                break
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    return Usage(sum(threads.values()), rss, fds, threads)

