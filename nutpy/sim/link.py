"""Putting a simulator engine on a wire: a trio stream, a pty, a control socket.

The engine is pure; this module feeds it what the host writes, writes back
what it answers, calls its ``tick`` so alerts and physics happen on time, and
serves the control language on a Unix socket (and a terminal's stdin).
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import random
import sys
import tty
from collections.abc import AsyncIterator
from pathlib import Path

import trio

from nutpy.lines import LineReader, LineTooLong
from nutpy.listening import serve_connections, unix_listener
from nutpy.sim.control import (
    Engine,
    Garble,
    Inject,
    Noise,
    cut_short,
    garbled,
    idle_noise,
    random_garbage,
    run_control,
)

log = logging.getLogger("nutpy.sim")

TICK_INTERVAL = 0.05
NOMINAL_BAUD = 2400  # for the byte times of idle-line noise on an unpaced link


class SimLink:
    """Runs one engine; several streams may take turns being its wire.

    With ``baud`` set, the wire is as slow as a serial line at that rate (10
    bits a byte): what the host sends reaches the engine only when its last
    byte would have, and a reply reaches the host only when its last byte
    would have.  Without it, bytes move as fast as the stream does.
    """

    def __init__(self, engine: Engine, *, seed: int | None = None,
                 baud: int | None = None) -> None:
        self.engine = engine
        self.rng = random.Random(seed)
        self._noise = bytearray()
        self._garble = 0.0  # chance of noise in each byte time of the line to the host
        self._truncate = 0  # replies still to cut short
        self._send_lock = trio.Lock()
        self._byte_time = 10.0 / baud if baud else 0.0
        self._line_free = 0.0  # when the simulated line has carried all bytes so far
        self._wake_ticker = trio.Event()

    async def serve(self, stream: trio.abc.Stream) -> None:
        """Be the UPS at the other end of ``stream`` until it closes."""
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._ticker, stream)
            while data := await stream.receive_some(4096):
                reply = self.engine.feed(bytes(data), trio.current_time())
                if reply and self._truncate:
                    self._truncate -= 1
                    reply = cut_short(reply)
                # The command's bytes and then the reply's share the line: one
                # wait for both (each sleep overshoots by up to a millisecond).
                if reply:
                    await self._send(stream, reply, after=len(data))
                elif self._byte_time:
                    self._line_time(len(data))
            nursery.cancel_scope.cancel()

    def _line_time(self, count: int) -> float:
        """When ``count`` more bytes, queued behind the ones before, are through."""
        self._line_free = max(self._line_free, trio.current_time()) + count * self._byte_time
        return self._line_free

    async def _send(self, stream: trio.abc.Stream, data: bytes, after: int = 0) -> None:
        """Send ``data``; paced, it arrives when ``after`` bytes and it are through."""
        if self._garble:
            data = garbled(data, self._garble, self.rng)
        async with self._send_lock:
            if self._byte_time:
                await trio.sleep_until(self._line_time(after + len(data)))
            await stream.send_all(data)

    async def _ticker(self, stream: trio.abc.Stream) -> None:
        byte_time = self._byte_time or 10 / NOMINAL_BAUD
        last, byte_times = trio.current_time(), 0.0
        while True:
            now = trio.current_time()
            out = self.engine.tick(now) or b""
            if self._garble:  # what noise made of the idle line since the last tick
                byte_times += (now - last) / byte_time
                self._noise += idle_noise(int(byte_times), self._garble, self.rng)
                byte_times %= 1
            last = now
            if self._noise:
                out, self._noise = bytes(self._noise) + out, bytearray()
            if out:
                await self._send(stream, out)
            with trio.move_on_after(TICK_INTERVAL):
                await self._wake_ticker.wait()
            self._wake_ticker = trio.Event()

    def control(self, line: str) -> list[str]:
        """Run one control command; noise and injected bytes are queued for the wire,
        truncation and garbling armed.

        The ticker runs at once, so an alert the command causes (``!`` on
        ``mains fail``) leaves now, as a real UPS sends it, not up to one tick
        later.
        """
        answer, fault = run_control(self.engine, line)
        if isinstance(fault, Noise):
            self._noise += random_garbage(fault.count, self.rng)
        elif isinstance(fault, Inject):
            self._noise += fault.data
        elif isinstance(fault, Garble):
            self._garble = fault.rate
        elif fault is not None:
            self._truncate = fault.count
        self._wake_ticker.set()
        return answer

    async def serve_control_stream(self, stream: trio.abc.Stream) -> None:
        """The control language over a byte stream, one command per line."""
        reader = LineReader(stream)
        while True:
            try:
                line = await reader.next()
            except LineTooLong:
                await stream.send_all(b"ERR line too long\n")
                continue
            if line is None:
                return
            answer = self.control(line)
            await stream.send_all("".join(f"{a}\n" for a in answer).encode())

    async def serve_control_socket(self, path: Path, *,
                                   task_status: trio.TaskStatus[None]
                                   = trio.TASK_STATUS_IGNORED) -> None:
        """Accept control connections on a Unix socket at ``path``.

        OSError if the path holds something else or another simulator's socket.
        """
        async with unix_listener(path) as listener:
            task_status.started()
            await serve_connections(self._control_connection, [listener], log=log)

    async def _control_connection(self, conn: trio.SocketStream) -> None:
        async with conn:
            with contextlib.suppress(trio.BrokenResourceError):
                await self.serve_control_stream(conn)

    async def serve_terminal(self) -> None:
        """Read control commands typed on stdin, answer on stdout."""
        async with trio.lowlevel.FdStream(os.dup(sys.stdin.fileno())) as stdin:
            reader = LineReader(stdin)
            while True:
                try:
                    line = await reader.next()
                except LineTooLong as exc:
                    print(f"ERR {exc}", flush=True)
                    continue
                if line is None:
                    return
                for answer in self.control(line):
                    print(answer, flush=True)


def _clear_stale_link(link: Path) -> None:
    """Remove a symlink a dead simulator left at ``link``; refuse anything else there.

    A simulator's link points at a pty under /dev/pts that goes with it: a
    dangling link is stale.  A link to a device that is there may be another
    simulator's (OSError EADDRINUSE), and anything that is not a symlink is
    someone's file (FileExistsError): neither is touched.
    """
    if not link.is_symlink():
        if link.exists():
            raise FileExistsError(errno.EEXIST, "something that is not a symbolic link "
                                  "is there; not replacing it", str(link))
        return
    if link.exists():
        raise OSError(errno.EADDRINUSE, f"in use: it points at {os.readlink(link)}, "
                      "which is there (another simulator's?)", str(link))
    link.unlink(missing_ok=True)


@contextlib.asynccontextmanager
async def pseudo_terminal(link: Path) -> AsyncIterator[trio.lowlevel.FdStream]:
    """A pty whose device end is reachable at ``link`` (a symlink).

    We keep the device end open ourselves, so a host program that closes and
    re-opens the port never makes our end read EOF or EIO.  On the way out
    the link is removed only if it is still the one made here.
    """
    _clear_stale_link(link)
    master, slave = os.openpty()
    tty.setraw(slave)
    device = os.ttyname(slave)
    try:
        link.symlink_to(device)
    except OSError:
        os.close(master)
        os.close(slave)
        raise
    try:
        async with trio.lowlevel.FdStream(master) as stream:
            yield stream
    finally:
        os.close(slave)
        with contextlib.suppress(OSError):
            if link.is_symlink() and os.readlink(link) == device:
                link.unlink()


async def serve_pty(link_obj: SimLink, link: Path, control: Path | None) -> None:
    """``nutpy simulate``: the engine on a pty, plus the control interfaces."""
    async with pseudo_terminal(link) as stream, trio.open_nursery() as nursery:
        if control is not None:
            await nursery.start(link_obj.serve_control_socket, control)
        if sys.stdin.isatty():
            nursery.start_soon(link_obj.serve_terminal)
        log.info("simulated UPS on %s -> %s%s", link, os.readlink(link),
                 f", control socket {control}" if control else "")
        await link_obj.serve(stream)
