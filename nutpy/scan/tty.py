"""Opening a serial port to probe it, and leaving it exactly as it was found.

Not trio-serial (which the drivers use): a scan must look before it takes.
The port is opened non-blocking (no wait for carrier), refused if another
program holds it (``TIOCEXCL``, ``flock``), then claimed for the probe with
both, and its termios settings are put back before it is closed.  The probe
switches the speed between protocols on the same descriptor.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import struct
import termios
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trio

from nutpy.scan.holders import Holder, flock_holders, openers, program_name

__all__ = ["Busy", "NoHardware", "NotATty", "Tty", "open_tty"]

TIOCGEXCL = 0x80045440  # Linux: is TIOCEXCL set (root may open such a port anyway)
TIOCGSERIAL = 0x541E
PORT_UNKNOWN = 0  # serial_struct.type of a ttyS node with no UART behind it
_SPEEDS = {2400: termios.B2400, 9600: termios.B9600}


class Busy(Exception):
    """Another program holds the port."""

    def __init__(self, holders: list[Holder]) -> None:
        super().__init__(", ".join(map(str, holders)))
        self.holders = holders


class NotATty(Exception):
    """The path is not a terminal device."""


class NoHardware(Exception):
    """A ttyS node with no UART behind it."""


@dataclass
class Tty:
    fd: int
    stream: trio.lowlevel.FdStream
    saved: list[Any]

    def set_speed(self, baudrate: int) -> None:
        """Raw 8N1 at ``baudrate``, no flow control, input flushed."""
        attrs = termios.tcgetattr(self.fd)
        cc = list(attrs[6])
        cc[termios.VMIN], cc[termios.VTIME] = 1, 0
        cflag = attrs[2] & ~(termios.CSIZE | termios.PARENB | termios.CSTOPB
                             | termios.CRTSCTS | termios.CBAUD)
        speed = _SPEEDS[baudrate]
        attrs = [termios.IGNPAR, 0, cflag | termios.CS8 | termios.CREAD | termios.CLOCAL | speed,
                 0, speed, speed, cc]
        termios.tcsetattr(self.fd, termios.TCSANOW, attrs)
        termios.tcflush(self.fd, termios.TCIFLUSH)


def _exclusive(fd: int) -> bool:
    buf = bytearray(4)
    try:
        fcntl.ioctl(fd, TIOCGEXCL, buf)
    except OSError:
        return False
    return bool(struct.unpack("i", buf)[0])


def _has_uart(fd: int) -> bool:
    buf = bytearray(72)  # struct serial_struct
    try:
        fcntl.ioctl(fd, TIOCGSERIAL, buf)
    except OSError:
        return True  # not a driver that says (USB adapters, ptys): assume so
    kind: int = struct.unpack_from("i", buf)[0]
    return kind != PORT_UNKNOWN


def _exclusive_holders(device: Path) -> list[Holder]:
    pids = openers(device)
    how = "exclusive mode (TIOCEXCL)"
    return [Holder(how, pid, program_name(pid)) for pid in pids] or [Holder(how)]


@contextlib.asynccontextmanager
async def open_tty(device: Path) -> AsyncIterator[Tty]:
    """The port, claimed for as long as the ``async with`` lasts.

    OSError if it cannot be opened; :class:`Busy`, :class:`NotATty` or
    :class:`NoHardware` if it must not or need not be probed.
    """
    try:
        fd = os.open(device, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    except OSError as exc:
        if exc.errno == errno.EBUSY:  # TIOCEXCL, and we are not root
            raise Busy(_exclusive_holders(device)) from exc
        raise
    try:
        if not os.isatty(fd):
            raise NotATty(str(device))
        if not _has_uart(fd):
            raise NoHardware(str(device))
        if _exclusive(fd):
            raise Busy(_exclusive_holders(device))
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Busy(flock_holders(device) or [Holder("flock")]) from None
        saved = termios.tcgetattr(fd)
        fcntl.ioctl(fd, termios.TIOCEXCL)
        try:
            async with trio.lowlevel.FdStream(os.dup(fd)) as stream:
                yield Tty(fd, stream, saved)
        finally:
            # Every probe waits for an answer (or a timeout) after its last
            # byte, so nothing is left in the output queue to be cut short.
            with contextlib.suppress(OSError):  # an adapter pulled out meanwhile
                termios.tcflush(fd, termios.TCIFLUSH)
                termios.tcsetattr(fd, termios.TCSANOW, saved)
                fcntl.ioctl(fd, termios.TIOCNXCL)
    finally:
        os.close(fd)  # releases the flock
