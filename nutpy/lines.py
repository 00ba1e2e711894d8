"""Small line-based local channels: the simulators' control sockets and killpower's.

Both speak newline-terminated text over a stream (a Unix socket, or a
terminal), so both use :class:`LineReader` to split it and
:func:`unix_listener` to listen.
"""

from __future__ import annotations

import contextlib
import os
import socket
from pathlib import Path

import trio

MAX_LINE = 4096


class LineTooLong(ValueError):
    """More than ``limit`` bytes without a newline; they were thrown away."""


class LineReader:
    def __init__(self, stream: trio.abc.ReceiveStream, limit: int = MAX_LINE) -> None:
        self._stream = stream
        self._limit = limit
        self._buffer = bytearray()

    async def next(self) -> str | None:
        """The next line without its newline; None at the end of the stream."""
        while (end := self._buffer.find(b"\n")) < 0:
            if len(self._buffer) > self._limit:
                self._buffer.clear()
                raise LineTooLong(f"a line over {self._limit} bytes")
            data = await self._stream.receive_some(self._limit)
            if not data:
                return None
            self._buffer += data
        line = bytes(self._buffer[:end])
        del self._buffer[:end + 1]
        return line.decode("utf-8", "replace")


async def unix_listener(path: Path, mode: int | None = None) -> trio.SocketListener:
    """Listen on a Unix socket at ``path``, replacing a file left there by a dead process.

    ``mode``: the socket file's permissions (set from the start, through the
    umask, so nobody else can connect in between); None keeps the umask's.
    """
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    sock = trio.socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o777 & ~mode) if mode is not None else None
    try:
        await sock.bind(os.fspath(path))
        sock.listen(16)
    except OSError:
        sock.close()
        raise
    finally:
        if old is not None:
            os.umask(old)
    return trio.SocketListener(sock)
