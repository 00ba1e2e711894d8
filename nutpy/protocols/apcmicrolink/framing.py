"""Microlink framing: records from the UPS, write frames to it, and their checksum.

Every record is a page number, ``width`` data bytes and two check bytes (two
running sums, Fletcher-style).  :class:`FrameAssembler` pulls checksum-valid
records out of an arbitrary byte stream, resynchronising on noise.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["ACK", "NAK", "FrameAssembler", "MicrolinkError", "Record", "check_bytes", "frame",
           "frame_ok", "record", "running_sums", "write_frame"]

ACK = 0xFE  # "next": the UPS answers with the next page
NAK = 0xFD  # "reset" in set-up, "repeat the last record" when monitoring
# 0xF7 is sent by PowerChute and klaasdc; its meaning is unknown and nutpy never sends it.

_MIN_WIDTH = 4
_MAX_WIDTH = 64


class MicrolinkError(Exception):
    """The UPS sent something this codec cannot work with (bad descriptor)."""


# ---- checksum and frames --------------------------------------------------


def running_sums(data: Iterable[int], s0: int = 0, s1: int = 0) -> tuple[int, int]:
    """The checksum's two running sums mod 255, continued from ``(s0, s1)``."""
    for x in data:
        s0 = (s0 + x) % 255
        s1 = (s1 + s0) % 255
    return s0, s1


def check_bytes(data: bytes) -> bytes:
    """The two check bytes that follow ``data`` on the wire (each 1..255)."""
    c0, c1 = running_sums(data)
    cb0 = 255 - (c0 + c1) % 255
    cb1 = 255 - (c0 + cb0) % 255
    return bytes((cb0, cb1))


def frame(data: bytes) -> bytes:
    return data + check_bytes(data)


def frame_ok(raw: bytes | bytearray) -> bool:
    """True if the last two bytes are the check bytes of the rest."""
    return len(raw) >= 3 and check_bytes(bytes(raw[:-2])) == raw[-2:]


def record(page: int, data: bytes) -> bytes:
    """A UPS->host record: page id, one row of data, check bytes."""
    return frame(bytes((page,)) + data)


def write_frame(page: int, offset: int, data: bytes) -> bytes:
    """A host->UPS write of ``data`` at ``offset`` within ``page``."""
    return frame(bytes((page, offset, len(data))) + data)


@dataclass(frozen=True, slots=True)
class Record:
    page: int
    data: bytes


class FrameAssembler:
    """Turns a byte stream from the UPS into checksum-valid records.

    Until the row width is known only page 0 is accepted (its third byte gives
    the width).  Bytes that do not start a valid record are skipped one at a
    time, so strays and corrupt records cost nothing but themselves.
    """

    def __init__(self, width: int | None = None, count: int | None = None) -> None:
        self.width = width
        self.count = count  # page ids >= count are never valid
        self._buf = bytearray()
        self.skipped = 0  # bytes discarded so far (strays, corrupt records)

    def clear(self) -> None:
        self.skipped += len(self._buf)
        self._buf.clear()

    def feed(self, data: bytes) -> list[Record]:
        buf = self._buf
        buf += data
        out: list[Record] = []
        while buf:
            if buf[0] == ACK:  # echoed polls on some cables
                self._drop(1)
                continue
            width = self.width
            if width is None:
                if buf[0] != 0:
                    self._drop(1)
                    continue
                if len(buf) < 3:
                    break
                width = buf[2]
                if not _MIN_WIDTH <= width <= _MAX_WIDTH:
                    self._drop(1)
                    continue
            size = width + 3
            if len(buf) < size:
                break
            page = buf[0]
            if (self.count is None or page < self.count) and frame_ok(buf[:size]):
                out.append(Record(page, bytes(buf[1:size - 2])))
                del buf[:size]
                if self.width is None:
                    self.width = width
            else:
                self._drop(1)
        return out

    def _drop(self, n: int) -> None:
        del self._buf[:n]
        self.skipped += n
