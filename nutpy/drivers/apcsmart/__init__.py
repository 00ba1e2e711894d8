"""NUT's ``apcsmart`` driver: APC Smart (UPS-Link) over a serial line.

:mod:`~nutpy.protocols.apcsmart.codec` is the pure protocol layer (bytes in,
values out); the driver task that polls the line builds on it.
"""
