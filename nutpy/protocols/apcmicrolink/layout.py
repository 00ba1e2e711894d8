"""Page 0 and the descriptor: where every usage lives in the UPS's blob.

Page 0 (:class:`Header`) gives the row width, the page count and where the
data pages start; the descriptor bytecode that follows is parsed into a
:class:`Layout` (usage path -> blob offset and size), so any row width and any
layout work.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from nutpy.protocols.apcmicrolink.framing import MicrolinkError, write_frame

__all__ = ["Field", "Header", "Layout", "parse_descriptor"]

_FLAG_AUTH_REQUIRED = 0x01
_FLAG_DESCRIPTOR = 0x08
_DESCRIPTOR_START = 12  # blob offset of the descriptor bytecode


@dataclass(frozen=True, slots=True)
class Header:
    """Page 0: protocol version, row width, page count and where data starts."""

    raw: bytes
    version: int
    width: int
    count: int
    series_id: int
    series_version: int
    flags: int
    descriptor_version: int
    data_pointer: int

    @classmethod
    def parse(cls, data: bytes) -> Header:
        if len(data) < 12:
            raise MicrolinkError(f"page 0 is {len(data)} bytes, need 12")
        return cls(raw=bytes(data), version=data[0], width=data[1], count=data[2],
                   series_id=int.from_bytes(data[3:5], "big"), series_version=data[5],
                   flags=data[6], descriptor_version=data[8],
                   data_pointer=int.from_bytes(data[10:12], "big"))

    @property
    def auth_required(self) -> bool:
        return bool(self.flags & _FLAG_AUTH_REQUIRED)

    @property
    def data_start(self) -> int:
        """Blob offset of the data area (data pointer: high byte page, low offset)."""
        return (self.data_pointer >> 8) * self.width + (self.data_pointer & 0xFF)

    @property
    def data_page(self) -> int:
        """The first page holding data rather than descriptor bytecode."""
        return self.data_start // self.width


@dataclass(frozen=True, slots=True)
class Field:
    """One usage: where its value lives in the blob."""

    path: str
    offset: int  # blob offset
    size: int
    skipped: bool = False  # occupies data space, not published (F5)
    limits: tuple[int, int] | None = None  # (min, max) raw, from an FA token


class _End(Exception):
    """F6: the descriptor is over."""


class _Parser:
    def __init__(self, blob: bytes, data_offset: int) -> None:
        self.blob = blob
        self.data = data_offset
        self.fields: dict[str, Field] = {}

    def byte(self, pos: int) -> int:
        if pos >= len(self.blob):
            raise MicrolinkError("descriptor runs past the end of the blob")
        return self.blob[pos]

    def block(self, pos: int, path: str) -> int:
        """Parse up to the closing FF; return the position after it."""
        skip_next = False
        while pos < len(self.blob):
            token = self.blob[pos]
            pos += 1
            if token == 0xF6:
                raise _End
            if token == 0xFF:
                return pos
            if token == 0xF7:
                continue
            if token == 0xF5:
                skip_next = True
            elif token == 0xF4:
                pos = self.block(pos, path)
            elif token == 0xF8:
                pos = self.block(pos + 1, f"{self.byte(pos):X}:")
            elif token == 0xFE:
                pos = self.block(pos + 1, f"{path}{self.byte(pos):X}.")
            elif token == 0xFD:
                ident, count = self.byte(pos), self.byte(pos + 1)
                if count == 0:  # a body repeated no times: a scratch parser finds its end
                    pos = _Parser(self.blob, self.data).block(pos + 2, "")
                    continue
                for i in range(count):  # the body repeats, data index by index
                    end = self.block(pos + 2, f"{path}{ident:X}[{i}].")
                pos = end
            elif token == 0x00 or token >= 0xE0:
                raise MicrolinkError(f"invalid descriptor token {token:02X} at {pos - 1}")
            else:
                pos = self.usage(pos, path, token, skip_next)
                skip_next = False
        return pos

    def number(self, pos: int, size: int) -> int:
        if pos + size > len(self.blob):
            raise MicrolinkError("descriptor runs past the end of the blob")
        return int.from_bytes(self.blob[pos:pos + size], "big")

    def usage(self, pos: int, path: str, ident: int, skipped: bool) -> int:
        size = 2
        limits = None
        while pos < len(self.blob):
            token = self.blob[pos]
            if token == 0xFC:
                size = self.byte(pos + 1)
                pos += 2
            elif token in (0xFB, 0xF9):  # bitmask / default value
                pos += 1 + size
            elif token == 0xFA:  # max then min
                limits = self.number(pos + 1 + size, size), self.number(pos + 1, size)
                pos += 1 + 2 * size
            else:
                break
        name = f"{path}{ident:X}"  # a path is empty or ends in ":" or "." (see block)
        self.fields.setdefault(name, Field(name, self.data, size, skipped, limits))
        self.data += size
        return pos


def parse_descriptor(blob: bytes, data_offset: int,
                     start: int = _DESCRIPTOR_START) -> dict[str, Field]:
    """Usage path -> field, from the descriptor bytecode at ``start``.

    Paths are spelled as NUT spells them (``2:4.9.40``, ``2:4.3D[0].B6``,
    ``3:4A``); the first occurrence of a path wins.
    """
    parser = _Parser(blob, data_offset)
    pos = start
    try:
        while pos < len(blob):  # FF at top level closes nothing: carry on
            pos = parser.block(pos, "")
    except _End:
        pass
    return parser.fields


@dataclass(frozen=True, slots=True)
class Layout:
    """The header and field map of one UPS: everything position-dependent."""

    header: Header
    fields: Mapping[str, Field]

    @classmethod
    def from_blob(cls, header: Header, blob: bytes) -> Layout:
        if not header.flags & _FLAG_DESCRIPTOR or header.descriptor_version != 1:
            raise MicrolinkError(f"no usable descriptor (flags {header.flags:02X}, "
                                 f"version {header.descriptor_version})")
        if header.data_start >= len(blob):
            raise MicrolinkError(f"data pointer {header.data_pointer:04X} is past the blob")
        fields = parse_descriptor(blob, header.data_start)
        for f in fields.values():
            if f.offset + f.size > len(blob):
                raise MicrolinkError(f"usage {f.path} lies past the last page")
        return cls(header, fields)

    def field(self, path: str) -> Field | None:
        f = self.fields.get(path)
        return None if f is None or f.skipped else f

    def locate(self, f: Field) -> tuple[int, int]:
        """(page, offset within the page) of a field."""
        return divmod(f.offset, self.header.width)

    def write(self, f: Field, data: bytes) -> bytes:
        """The frame that writes ``data`` (exactly ``f.size`` bytes) to ``f``."""
        if len(data) != f.size:
            raise ValueError(f"{f.path} is {f.size} bytes, not {len(data)}")
        page, offset = self.locate(f)
        if offset + f.size > self.header.width:
            raise ValueError(f"{f.path} straddles two pages and cannot be written")
        return write_frame(page, offset, data)
