"""What a process may do: run inside nutpy.service's sandbox, and outside it as a control.

``python3 sandbox_probe.py OUT TAG`` writes a JSON object to OUT: the process's
ids, every directory it can create a file in, and, for each access that
nutpy.service must refuse, "ok" or the errno name (for a system call run in
a child: the child's exit status, -31 when the system-call filter killed it).
Standard library only: it runs under the container's Python, as user nut.
"""

from __future__ import annotations

import errno
import json
import mmap
import os
import resource
import subprocess
import sys
from collections.abc import Callable


def attempt(action: Callable[[], object]) -> str:
    try:
        action()
    except OSError as exc:
        return errno.errorcode.get(exc.errno or 0, str(exc.errno))
    return "ok"


def writable_dirs(tag: str) -> list[str]:
    """Every directory (outside /proc and /sys) in which a new file can be made."""
    found = []
    for top, dirs, _ in os.walk("/", onerror=lambda exc: None):
        if top in ("/proc", "/sys"):
            dirs[:] = []
            continue
        path = os.path.join(top, f".nutpy-probe-{tag}")
        try:
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        except OSError:
            continue
        os.unlink(path)
        found.append(top)
    return sorted(found)


def in_child(code: str) -> int:
    """Exit status of ``code`` run in a child (which inherits the filters)."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True,
                          timeout=30).returncode


def open_device(path: str) -> None:
    os.close(os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK))


def write_and_execute() -> None:
    mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC).close()


def lower_and_raise_nofile() -> None:
    """What ``nutpy serve`` does at start-up to its open-file limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft // 2, hard))
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def probe(tag: str) -> dict[str, object]:
    mine = f"/tmp/nutpy-probe-{tag}"
    with open(mine, "w") as out:
        out.write(tag)
    return {
        "ids": [os.getuid(), os.getgid(), sorted(os.getgroups())],
        "writable": writable_dirs(tag),
        "open /dev/ttyUSB0": attempt(lambda: open_device("/dev/ttyUSB0")),
        "open /dev/net/tun": attempt(lambda: open_device("/dev/net/tun")),
        "mmap write+exec": attempt(write_and_execute),
        "setrlimit": attempt(lower_and_raise_nofile),
        # One call of each group that SystemCallFilter= denies, each of which
        # an unprivileged process may make on itself.
        "setuid": in_child("import os; os.setuid(os.getuid())"),  # @privileged
        "chown": in_child(f"import os; os.chown({mine!r}, os.getuid(), -1)"),  # @privileged
        "setpriority": in_child("import os; os.setpriority(os.PRIO_PROCESS, 0, 5)"),  # @resources
    }


if __name__ == "__main__":
    with open(sys.argv[1], "w") as result:
        json.dump(probe(sys.argv[2]), result)
