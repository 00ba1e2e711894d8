"""One Smart-UPS serial line as transactions: send bytes, get the reply line.

A reader task feeds every byte that arrives into the codec's
:class:`~nutpy.protocols.apcsmart.codec.Splitter` as soon as it arrives, so
alert bytes are handed to ``on_alert`` at once (not when the next reply line
ends, as in NUT), and reply lines queue for whoever sent the command.
Only one task sends; the UPS answers one command at a time.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import trio

from nutpy.protocols.apcsmart import codec
from nutpy.protocols.apcsmart.codec import Alert, AlertEvent, Overflow, ReadMode, Step

# Stands in for a garbled line (too long, or followed by more bytes): it
# matches no reply format.
OVERFLOWED = b"\x00"


class LineLost(Exception):
    """The port closed under us (a serial adapter unplugged, ser2net gone)."""


class SmartLine:
    def __init__(self, stream: trio.abc.Stream, on_alert: Callable[[Alert], None]) -> None:
        self.stream = stream
        self.on_alert = on_alert
        self.splitter = codec.Splitter()
        self._send_lines, self._lines = trio.open_memory_channel[bytes](math.inf)
        self._star_is_reply = False
        self.bytes_sent = 0  # totals for the poll-cycle log
        self.bytes_received = 0

    async def read_forever(self) -> None:
        """The reader task: raises :class:`LineLost` when the port closes."""
        try:
            while data := await self.stream.receive_some(4096):
                self.bytes_received += len(data)
                for event in self.splitter.feed(bytes(data)):
                    self._dispatch(event)
        except (trio.BrokenResourceError, OSError) as exc:
            raise LineLost(str(exc) or type(exc).__name__) from exc
        raise LineLost("end of file on the port")

    def _dispatch(self, event: codec.StreamEvent) -> None:
        if isinstance(event, AlertEvent):
            if event.alert is Alert.TURNING_OFF and self._star_is_reply:
                self._send_lines.send_nowait(b"*")
            else:
                self.on_alert(event.alert)
        elif isinstance(event, Overflow):
            self._send_lines.send_nowait(OVERFLOWED)
        else:
            self._send_lines.send_nowait(event.data)

    def flush(self) -> None:
        """Forget replies nobody waited for and any partial line (NUT's apc_flush)."""
        self.splitter.clear()
        while True:
            try:
                self._lines.receive_nowait()
            except trio.WouldBlock:
                return

    async def send(self, data: bytes) -> None:
        self.bytes_sent += len(data)
        try:
            await self.stream.send_all(data)
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
            raise LineLost(str(exc) or type(exc).__name__) from exc

    async def read(self, timeout: float) -> bytes | None:
        """The next reply line, or None if none comes within ``timeout`` s.

        A UPS sends nothing after a reply but alerts, so a line whose heels
        are trodden by more line bytes was cut short by noise: it comes back
        as :data:`OVERFLOWED` (garbled) instead.  So does the start of a line
        whose end never comes (a reply cut short): the UPS did answer.
        """
        with trio.move_on_after(timeout):
            line = await self._lines.receive()
            if self.splitter.pending or self._lines.statistics().current_buffer_used:
                return OVERFLOWED
            return line
        return OVERFLOWED if self.splitter.pending else None

    async def query(self, cmd: bytes, timeout: float = codec.REPLY_TIMEOUT,
                    mode: ReadMode = ReadMode.ALERTS) -> bytes | None:
        """Flush, send ``cmd``, return its reply line (None: timeout)."""
        self.flush()
        self.splitter.expect(mode)
        await self.send(cmd)
        return await self.read(timeout)

    async def run_steps(self, steps: list[Step]) -> bool:
        """Carry out timed steps (an instant command or a write); False when one fails."""
        self.flush()
        for step in steps:
            await self.send(step.send)
            reply = None
            if step.expect is not codec.Expect.NOTHING:
                self._star_is_reply = step.star_ok
                try:
                    reply = await self.read(step.timeout)
                finally:
                    self._star_is_reply = False
            if not step.accepts(reply):
                return False
            await trio.sleep(step.delay_after)
        return True
