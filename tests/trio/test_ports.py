"""Opening a serial port: what was waiting on it before is not read as an answer."""

from __future__ import annotations

import os
import tty
from pathlib import Path

import trio

from nutpy.ports import open_port, parse_port


async def test_bytes_left_on_the_line_before_opening_are_dropped() -> None:
    master, slave = os.openpty()
    tty.setraw(slave)
    try:
        os.write(master, b"BYE\r\n")  # what a UPS said to the server that just stopped
        async with open_port(parse_port(os.ttyname(slave)), 2400, Path(".")) as line:
            with trio.move_on_after(0.3):
                left = await line.receive_some(100)
                raise AssertionError(f"read what was there before: {left!r}")
            os.write(master, b"SM\r\n")
            with trio.fail_after(5):
                assert await line.receive_some(100) == b"SM\r\n"
    finally:
        os.close(master)
        os.close(slave)
