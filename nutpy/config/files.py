"""Finding and reading the config files (the only part of config that does I/O)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from nutpy.config.syntax import Severity, Sink

__all__ = ["default_confdir", "default_statepath", "read_config_file", "read_regular"]


def default_confdir() -> Path:
    return Path(os.environ.get("NUT_CONFPATH") or "/etc/nut")


def default_statepath() -> Path:
    """Where NUT keeps its sockets and state (Debian's default: /run/nut)."""
    return Path(os.environ.get("NUT_STATEPATH") or "/run/nut")


_FILE_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"),
               (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
               (stat.S_ISBLK, "a block device"))


def read_regular(path: Path) -> bytes:
    """The bytes of a regular file; OSError (with strerror) for anything else.

    Opened non-blocking and checked before reading, so a FIFO or a device in
    place of a config file (or a dump) is refused instead of hanging
    start-up or a reload.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = next((name for test, name in _FILE_KINDS if test(mode)), "not a file")
            raise OSError(0, f"it is {kind}, not a regular file")
        os.set_blocking(fd, True)
        with os.fdopen(fd, "rb") as f:
            fd = -1
            return f.read()
    finally:
        if fd >= 0:
            os.close(fd)


def read_config_file(path: Path, sink: Sink, missing: Severity | None) -> bytes | None:
    """The file's bytes, or None with a diagnostic saying why not.

    ``missing``: how bad it is that the file does not exist (None: not at all).
    """
    try:
        return read_regular(path)
    except FileNotFoundError:
        if path.is_symlink():
            sink.error(0, f"cannot read: dangling symbolic link to {os.readlink(path)}")
        elif missing == "error":
            sink.error(0, "file not found")
        elif missing == "warning":
            sink.warning(0, "file not found")
    except OSError as exc:
        sink.error(0, f"cannot read: {exc.strerror or exc}")
    return None


