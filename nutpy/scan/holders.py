"""Who else has a serial port: lock files, ``flock``, exclusive mode, open descriptors.

Programs claim serial ports in different ways, and a scan must respect all
of them: apcupsd, minicom and the uucp tradition write ``LCK..<name>`` in
``/run/lock`` (``/var/lock``) holding their PID; NUT's drivers and pyserial
``flock`` the device; some set ``TIOCEXCL`` so nobody else may open it
(root still can, hence the ``TIOCGEXCL`` check).  The PID and program found
here are what the user needs to act on ("in use by PID 812 (apcupsd)").
"""

from __future__ import annotations

import contextlib
import os
import stat
import struct
from dataclasses import dataclass
from pathlib import Path

__all__ = ["LOCK_DIRS", "PROC", "Holder", "flock_holders", "lock_file", "openers",
           "program_name"]

LOCK_DIRS = (Path("/run/lock"), Path("/var/lock"))
PROC = Path("/proc")
_INTERPRETERS = ("python", "perl", "ruby", "node", "sh", "bash")


@dataclass(frozen=True, slots=True)
class Holder:
    """A process that has claimed the port, and how."""

    how: str  # "lock file /run/lock/LCK..ttyUSB0", "flock", "exclusive mode (TIOCEXCL)"
    pid: int | None = None
    program: str | None = None
    stale: bool = False  # a lock file whose process is gone

    def __str__(self) -> str:
        who = f"PID {self.pid} ({self.program or 'unknown program'})" if self.pid \
            else "another program"
        return f"{who}, by {self.how}"


def program_name(pid: int, proc: Path = PROC) -> str | None:
    """The program's name; for a script, the script's (``nutpy``, not ``python3``)."""
    try:
        comm = (proc / str(pid) / "comm").read_text().strip()
    except OSError:
        return None
    if not comm.startswith(_INTERPRETERS):
        return comm
    with contextlib.suppress(OSError):
        args = (proc / str(pid) / "cmdline").read_bytes().split(b"\0")[1:]
        for i, arg in enumerate(args):
            if arg == b"-m" and i + 1 < len(args):
                return args[i + 1].decode(errors="replace")
            if arg and not arg.startswith(b"-"):
                return Path(arg.decode(errors="replace")).name
    return comm


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _lock_pid(data: bytes) -> int | None:
    """The PID in a lock file: ASCII (HDB UUCP, apcupsd's ``%010d``) or a binary int."""
    text = data.split(b"\0")[0].strip()
    if text.isdigit():
        return int(text)
    if len(data) == 4:
        return int(struct.unpack("=i", data)[0])
    return None


def lock_file(names: set[str], dirs: tuple[Path, ...] = LOCK_DIRS,
              proc: Path = PROC) -> Holder | None:
    """The holder named by a ``LCK..<name>`` file for any of ``names``."""
    seen: set[Path] = set()
    stale: Holder | None = None
    for folder in dirs:
        real = folder.resolve()
        if real in seen:
            continue
        seen.add(real)
        for name in sorted(names):
            path = folder / f"LCK..{name}"
            try:
                data = path.read_bytes()
            except OSError:
                continue
            pid = _lock_pid(data)
            how = f"lock file {path}"
            if pid is None or pid <= 0:
                return Holder(how)
            if _alive(pid):
                return Holder(how, pid, program_name(pid, proc))
            stale = Holder(how, pid, None, stale=True)
    return stale


def flock_holders(device: Path, proc: Path = PROC) -> list[Holder]:
    """Who holds an ``flock`` on the device node, from ``/proc/locks``."""
    try:
        st = os.stat(device)
        text = (proc / "locks").read_text()
    except OSError:
        return []
    key = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    holders = []
    for line in text.splitlines():
        fields = line.split()
        if "->" in fields or len(fields) < 6 or fields[1] != "FLOCK" or fields[5] != key:
            continue
        pid = int(fields[4]) if fields[4].isdigit() else None
        holders.append(Holder("flock", pid, program_name(pid, proc) if pid else None))
    return holders


def openers(device: Path, proc: Path = PROC) -> list[int]:
    """PIDs of other processes with the device open (those we may look at)."""
    try:
        rdev = os.stat(device).st_rdev
    except OSError:
        return []
    found = []
    me = os.getpid()
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        with contextlib.suppress(OSError):
            for fd in (entry / "fd").iterdir():
                with contextlib.suppress(OSError):
                    st = os.stat(fd)
                    if stat.S_ISCHR(st.st_mode) and st.st_rdev == rdev:
                        found.append(int(entry.name))
                        break
    return found
