"""A throwaway Debian with a real systemd as PID 1, booted by ``systemd-nspawn``.

systemd is never started on this machine itself, not even in namespaces of
its own: the root file system is shared, and systemd's boot clean-up would
empty the machine's /tmp.  It boots only inside a separate root tree, built
once with ``mmdebstrap`` and cached under ``/var/cache/nutpy-test`` keyed by
its package list and suite.  Each :class:`Container` boots that tree with
``--volatile=overlay``: writes land in a tmpfs over it, so every boot starts
from the same tree and leaves nothing behind (``-x`` would copy the 260 MB
tree at each boot instead, about 5 s).

Why the particular nspawn options:

* ``--private-network``: the container has only its own loopback, so the
  servers in it cannot collide with the machine's ports (or reach anything).
* ``SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1`` and ``--system-call-filter=bpf``:
  without cgroup v2 and ``bpf()``, systemd cannot attach the device filter of
  ``DevicePolicy=`` and ``DeviceAllow=`` is silently not enforced.
* ``--keep-unit --register=no``: there is no systemd on the machine to ask
  for a scope, so nspawn stays in the cgroup it was started in.  That is a
  cgroup of its own, made here and removed afterwards (with everything in it
  killed), so nothing a container started can outlive the test.

* ``--console=read-only``: the container's console is copied to a file
  outside.  It is the one record of the last moments of a power-off (the
  final stage runs after the journal can be followed out).

Commands run inside with ``nsenter -a`` and a clean environment; results come
back through directories bound into the container.
"""

from __future__ import annotations

import contextlib
import fcntl
import grp
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

CACHE = Path("/var/cache/nutpy-test")
# What the tree holds: systemd as init, NUT's upsmon (nut-client, which also
# makes the nut user), and what `make install` needs (python3-venv, make).
PACKAGES = ("systemd", "systemd-sysv", "dbus", "procps", "python3", "python3-venv",
            "nut-client", "make")
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
CGROUP = Path("/sys/fs/cgroup")
BOOT_TIMEOUT = 60.0
VOLATILE = Path("/tmp/nspawn-volatile-*")  # where nspawn mounts the tmpfs of the overlay
PROPAGATE = Path("/run/systemd/nspawn/propagate")  # nspawn's, one directory per machine


class ContainerError(RuntimeError):
    """A command inside the container failed, or the container would not boot."""


# ---- the root tree -----------------------------------------------------------------

def host_codename() -> str:
    """The Debian suite of this machine (the container runs the same one)."""
    text = Path("/etc/os-release").read_text()
    found = re.search(r"^VERSION_CODENAME=\"?([a-z]+)", text, re.MULTILINE)
    if found is None:
        raise ContainerError("/etc/os-release names no VERSION_CODENAME")
    return found.group(1)


def debian_mirror(codename: str) -> str:
    """The mirror apt uses here for ``codename`` itself (not -security or -updates)."""
    sources = Path("/etc/apt")
    files = [sources / "sources.list", *sorted((sources / "sources.list.d").glob("*"))]
    for path in files:
        with contextlib.suppress(OSError):
            text = path.read_text()
            if path.suffix == ".sources":  # deb822 stanzas
                for stanza in re.split(r"\n\s*\n", text):
                    fields: dict[str, str] = dict(
                        re.findall(r"^(\w[\w-]*):\s*(.*)$", stanza, re.MULTILINE))
                    if "deb" in fields.get("Types", "").split() \
                            and codename in fields.get("Suites", "").split():
                        return fields["URIs"].split()[0]
            else:
                for line in text.splitlines():
                    words = re.sub(r"\[[^]]*\]", "", line).split()
                    if len(words) >= 3 and words[0] == "deb" and words[2] == codename:
                        return words[1]
    return "http://deb.debian.org/debian"


def rootfs() -> Path:
    """The cached root tree, built with mmdebstrap the first time (about 25 s)."""
    codename = host_codename()
    mirror = debian_mirror(codename)
    key = hashlib.sha256(" ".join((codename, mirror, *PACKAGES)).encode()).hexdigest()[:12]
    tree = CACHE / f"rootfs-{codename}-{key}"
    if (tree / "sbin" / "init").exists():
        return tree
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / "build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another run may be building the same tree
        if (tree / "sbin" / "init").exists():
            return tree
        building = tree.with_name(tree.name + ".building")
        shutil.rmtree(building, ignore_errors=True)
        done = subprocess.run(
            ["mmdebstrap", "--quiet", "--variant=apt", f"--include={','.join(PACKAGES)}",
             codename, str(building), mirror],
            capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            shutil.rmtree(building, ignore_errors=True)
            raise ContainerError(f"mmdebstrap failed:\n{done.stdout}\n{done.stderr}")
        building.rename(tree)
    return tree


def wheelhouse(repo: Path) -> Path:
    """nutpy's dependencies (and a recent setuptools to build it) as wheels.

    The container has no network: ``make install`` inside installs from here
    (``PIP_NO_INDEX``, ``PIP_FIND_LINKS``).  Cached, keyed by pyproject.toml.
    """
    pyproject = (repo / "pyproject.toml").read_bytes()
    wheels = CACHE / f"wheels-{hashlib.sha256(pyproject).hexdigest()[:12]}"
    if (wheels / ".complete").exists():
        return wheels
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / "build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (wheels / ".complete").exists():
            return wheels
        shutil.rmtree(wheels, ignore_errors=True)
        # The build requirement of pyproject.toml, then the project's dependencies.
        found = re.search(r'requires\s*=\s*\[([^]]*)\]', pyproject.decode())
        build = re.findall(r'"([^"]+)"', found.group(1)) if found else []
        done = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet",
             "--only-binary=:all:", "--dest", str(wheels), *build, str(repo)],
            capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            raise ContainerError(f"pip download failed:\n{done.stdout}\n{done.stderr}")
        (wheels / ".complete").touch()
    return wheels


def source_tree(repo: Path, dest: Path) -> Path:
    """A copy of the work tree as git sees it (tracked and new files, not ignored ones)."""
    listed = subprocess.run(["git", "-C", str(repo), "ls-files", "-z", "--cached",
                             "--others", "--exclude-standard"],
                            capture_output=True, check=True, timeout=60).stdout
    for name in sorted(set(listed.decode().split("\0")) - {""}):
        source = repo / name
        if source.is_file():  # a file deleted but not yet committed is skipped
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    return dest


def share_tty(link: Path) -> Path:
    """Give a pty of ours the owner and mode of a serial port: root:dialout 0660."""
    device = link.resolve()
    os.chown(device, 0, grp.getgrnam("dialout").gr_gid)
    device.chmod(0o660)
    return device


# ---- cgroups ---------------------------------------------------------------------

def _hierarchies() -> list[Path]:
    """Where a cgroup must be made: both trees of a hybrid layout, or the unified one."""
    hybrid = [CGROUP / "systemd", CGROUP / "unified"]
    if all((path / "cgroup.procs").exists() for path in hybrid):
        return hybrid
    return [CGROUP]


def _procs(group: Path) -> list[int]:
    pids: list[int] = []
    for procs in group.rglob("cgroup.procs"):
        with contextlib.suppress(OSError, ValueError):
            pids += [int(line) for line in procs.read_text().split()]
    return pids


def _remove_cgroup(groups: list[Path]) -> None:
    """Kill whatever is left in ``groups`` and remove them, innermost first."""
    deadline = time.monotonic() + 10
    while any(_procs(group) for group in groups if group.exists()):
        for group in groups:
            for pid in _procs(group) if group.exists() else []:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        if time.monotonic() > deadline:
            raise ContainerError(f"processes left in {groups}")
        time.sleep(0.05)
    for group in groups:
        if group.exists():
            for directory in sorted((p for p in group.rglob("*") if p.is_dir()),
                                    key=lambda p: len(p.parts), reverse=True):
                directory.rmdir()
            group.rmdir()


# ---- the container ---------------------------------------------------------------

class Container:
    """One boot of ``tree``; ``binds`` are (host path, container path, writable)."""

    def __init__(self, tree: Path, workdir: Path,
                 binds: Sequence[tuple[Path, str, bool]] = ()) -> None:
        self.tree = tree
        self.workdir = workdir
        self.binds = list(binds)
        self.name = f"nutpy-test-{os.getpid()}-{time.monotonic_ns() % 10**6}"
        self.groups = [hierarchy / self.name for hierarchy in _hierarchies()]
        self.proc: subprocess.Popen[bytes] | None = None
        self.leader = 0
        self.boot_seconds = 0.0
        self._volatile: set[Path] = set()
        self._stack = contextlib.ExitStack()

    @property
    def console_log(self) -> Path:
        return self.workdir / "console.log"

    @property
    def journal_log(self) -> Path:
        return self.workdir / "journal.log"

    def __enter__(self) -> Container:
        try:
            self._boot()
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def _boot(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        for group in self.groups:
            group.mkdir()
        self._stack.callback(_remove_cgroup, self.groups)
        options = [f"--bind{'' if writable else '-ro'}={host}:{inside}"
                   for host, inside, writable in self.binds]
        command = ["systemd-nspawn", "--quiet", "--register=no", "--keep-unit",
                   "--private-network", "--console=read-only", "--system-call-filter=bpf",
                   "--volatile=overlay", f"--machine={self.name}", "-D", str(self.tree),
                   *options, "-b"]
        env = {"PATH": PATH, "SYSTEMD_NSPAWN_UNIFIED_HIERARCHY": "1"}
        procs = [group / "cgroup.procs" for group in self.groups]

        def join_cgroup() -> None:  # in the child, before nspawn runs
            for path in procs:
                path.write_text(str(os.getpid()))

        self._volatile = set(VOLATILE.parent.glob(VOLATILE.name))
        started = time.monotonic()
        with open(self.console_log, "wb") as console:
            self.proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=console,
                                         stderr=subprocess.STDOUT, env=env,
                                         preexec_fn=join_cgroup, start_new_session=True)
        self._stack.callback(self._stop)
        self.leader = self._wait_leader()
        deadline = time.monotonic() + BOOT_TIMEOUT
        state = "offline"  # until systemd answers on its private socket
        while state in ("offline", "unknown", "") and time.monotonic() < deadline:
            state = self.run("systemctl", "is-system-running", "--wait", check=False,
                             timeout=BOOT_TIMEOUT).stdout.strip()
            time.sleep(0.05)
        if state not in ("running", "degraded"):
            raise ContainerError(f"the container did not boot ({state}):\n{self.console()}")
        self.boot_seconds = time.monotonic() - started
        # A copy of the journal, kept outside, by a journalctl inside that
        # nsenter leaves behind as an orphan: the container's PID 1 adopts
        # it, and kills and reaps it with the rest at power-off.  As
        # nsenter's own child it would stop nsenter with it at power-off
        # (systemd-shutdown stops every process first), leaving a zombie
        # that systemd-shutdown waits 90 s for.
        with open(self.journal_log, "wb") as out:
            subprocess.run(self._enter("sh", "-c", "journalctl --follow --no-pager --boot "
                                       "--output=short-monotonic </dev/null &"),
                           stdout=out, stderr=subprocess.STDOUT, timeout=30, check=True)

    def _wait_leader(self) -> int:
        """The container's PID 1, as this machine numbers it: nspawn's child."""
        assert self.proc is not None
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        deadline = time.monotonic() + BOOT_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ContainerError(f"nspawn exited with {self.proc.returncode}:\n"
                                     f"{self.console()}")
            with contextlib.suppress(OSError, ValueError):
                # nspawn forks twice on the way: wait for the child that is systemd.
                for pid in children.read_text().split():
                    if Path(f"/proc/{pid}/comm").read_text().strip() == "systemd":
                        return int(pid)
            time.sleep(0.02)
        raise ContainerError(f"nspawn started no container:\n{self.console()}")

    def _enter(self, *command: str, env: dict[str, str] | None = None) -> list[str]:
        assignments = [f"{key}={value}" for key, value in (env or {}).items()]
        return ["nsenter", "-t", str(self.leader), "-a", "env", "-i", f"PATH={PATH}",
                "LANG=C.UTF-8", "HOME=/root", *assignments, *command]

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def wait_exit(self, timeout: float) -> bool:
        """Wait for the container to power off; whether it did."""
        assert self.proc is not None
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return False
        return True

    def _stop(self) -> None:
        """Power off; failing that, kill nspawn (its cgroup is emptied afterwards)."""
        if self.running():
            with contextlib.suppress(subprocess.TimeoutExpired, ContainerError):
                self.run("systemctl", "poweroff", "--no-block", check=False, timeout=10)
            if not self.wait_exit(30):
                assert self.proc is not None
                self.proc.kill()
                self.proc.wait(10)
                # Killed, nspawn leaves the empty mount point of its tmpfs
                # behind, and its directory for mount propagation.
                left = set(VOLATILE.parent.glob(VOLATILE.name)) - self._volatile
                for directory in [*left, PROPAGATE / self.name]:
                    with contextlib.suppress(OSError):
                        directory.rmdir()

    # ---- inside ------------------------------------------------------------------

    def run(self, *command: str, input: str | None = None, check: bool = True,
            timeout: float = 60, env: dict[str, str] | None = None
            ) -> subprocess.CompletedProcess[str]:
        """Run ``command`` in the container, as root, in a clean environment (plus ``env``)."""
        done = subprocess.run(self._enter(*command, env=env), input=input,
                              capture_output=True, text=True, timeout=timeout)
        if check and done.returncode != 0:
            raise ContainerError(f"{' '.join(command)}: exit {done.returncode}\n"
                                 f"{done.stdout}{done.stderr}")
        return done

    def put(self, path: str, text: str, mode: str = "644", owner: str = "root:root") -> None:
        """Write a file in the container."""
        self.run("sh", "-c", 'cat > "$1" && chown "$2" "$1" && chmod "$3" "$1"', "put",
                 path, owner, mode, input=text)

    def systemctl(self, *args: str, check: bool = True,
                  timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return self.run("systemctl", *args, check=check, timeout=timeout)

    def show(self, unit: str, prop: str) -> str:
        """One property of a unit, as ``systemctl show -P`` prints it."""
        return self.systemctl("show", "-P", prop, unit).stdout.strip()

    def console(self) -> str:
        return self.console_log.read_text(errors="replace") if self.console_log.exists() \
            else ""

    def journal(self) -> str:
        """The container's journal as followed so far, from the copy kept outside
        (so it is there after the power-off too)."""
        return self.journal_log.read_text(errors="replace") if self.journal_log.exists() \
            else ""


@contextlib.contextmanager
def container(tree: Path, workdir: Path,
              binds: Sequence[tuple[Path, str, bool]] = ()) -> Iterator[Container]:
    with Container(tree, workdir, binds) as booted:
        yield booted
