"""Microlink authentication: the slave password a host writes, and the proof it gets back.

Both are running sums keyed by page 0 and the serial number (the spec's K).
"""

from __future__ import annotations

from nutpy.protocols.apcmicrolink.framing import running_sums

__all__ = ["MASTER_PASSWORD", "SERIAL", "SLAVE_PASSWORD", "auth_key", "master_tail",
           "slave_password"]

MASTER_PASSWORD = "2:4.8.6"
SLAVE_PASSWORD = "2:4.8.5"
SERIAL = "2:4.9.40"


def auth_key(header: bytes, serial: bytes) -> tuple[int, int]:
    """K: the running sums over header bytes 0-7 and the serial usage,
    seeded with the series id low byte, then its high byte."""
    return running_sums(header[:8] + serial, header[4], header[3])


def slave_password(key: tuple[int, int], master: bytes, r: bytes = b"\0\0") -> bytes:
    """What the host writes: two free bytes, then F(K; master[0], master[1])."""
    return r[:2] + bytes(running_sums(master[:2], *key))


def master_tail(key: tuple[int, int], r: bytes) -> bytes:
    """The last two master bytes a UPS sets after accepting slave ``r + ...``."""
    return bytes(running_sums(r[:2], *key))
