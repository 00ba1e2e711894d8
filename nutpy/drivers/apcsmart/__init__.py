"""NUT's ``apcsmart`` driver: APC Smart (UPS-Link) over a serial line.

:mod:`nutpy.protocols.apcsmart` holds the protocol and the whole conversation
(:mod:`~nutpy.protocols.apcsmart.session`); :mod:`.driver` is its trio shell.
"""
