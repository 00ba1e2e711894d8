"""Finding and reading the config files (the only part of config that does I/O)."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from nutpy.config.syntax import Severity, Sink

__all__ = ["MAX_CONFIG_BYTES", "default_confdir", "default_statepath", "read_config_file",
           "read_regular"]

# The largest config file read.  A ups.conf of a thousand UPSes is some
# 100 KiB; a bigger file is a mistake (a log written over it, say), and
# reading and tokenizing 100 MB would take a minute and gigabytes.
MAX_CONFIG_BYTES = 1024 * 1024


def default_confdir() -> Path:
    return Path(os.environ.get("NUT_CONFPATH") or "/etc/nut")


def default_statepath() -> Path:
    """Where NUT keeps its sockets and state (Debian's default: /run/nut)."""
    return Path(os.environ.get("NUT_STATEPATH") or "/run/nut")


_FILE_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"),
               (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
               (stat.S_ISBLK, "a block device"))


def read_regular(path: Path, limit: int | None = None) -> bytes:
    """The bytes of a regular file; OSError (with strerror) for anything else.

    Opened non-blocking and checked before reading, so a FIFO or a device in
    place of a config file (or a dump) is refused instead of hanging
    start-up or a reload.  ``limit``: the most bytes it may have (more is an
    OSError, and no more than that is read).
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = next((name for test, name in _FILE_KINDS if test(info.st_mode)),
                        "not a file")
            raise OSError(0, f"it is {kind}, not a regular file")
        if limit is not None and info.st_size > limit:
            raise _too_big(limit)
        os.set_blocking(fd, True)
        with os.fdopen(fd, "rb") as f:
            fd = -1
            data = f.read() if limit is None else f.read(limit + 1)
        if limit is not None and len(data) > limit:  # it grew meanwhile
            raise _too_big(limit)
        return data
    finally:
        if fd >= 0:
            os.close(fd)


def _too_big(limit: int) -> OSError:
    size = f"{limit // 1024} KiB" if limit % 1024 == 0 else f"{limit} bytes"
    return OSError(errno.EFBIG, f"it is larger than {size}, more than a file of this "
                   "kind ever needs")


def read_config_file(path: Path, sink: Sink, missing: Severity | None) -> bytes | None:
    """The file's bytes, or None with a diagnostic saying why not.

    ``missing``: how bad it is that the file does not exist (None: not at all).
    """
    try:
        return read_regular(path, MAX_CONFIG_BYTES)
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


