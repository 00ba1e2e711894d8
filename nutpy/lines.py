"""Reading newline-terminated text from a stream, with a bound on the line.

The local control channels (the simulators' control sockets and terminal,
killpower's socket) speak lines of text.
"""

from __future__ import annotations

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
