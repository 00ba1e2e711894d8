"""The wire formats, without I/O: bytes or lines in, events or values out.

Every module here is pure (no trio, no sockets, no clocks: time is passed
in), so tests drive it with literal bytes.  The NUT word syntax
(:mod:`~nutpy.protocols.tokenizer`) is shared by the network protocol and
the config files; the APC codecs by the drivers and the simulators.
"""
