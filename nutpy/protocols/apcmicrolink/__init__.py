"""APC Microlink, the binary protocol of SMT/SMC/SMX units.

One idea per module, each depending only on those above it:

* :mod:`.framing`: records, write frames, the checksum, the assembler;
* :mod:`.layout`: page 0 and the descriptor, as a map of the blob;
* :mod:`.auth`: the slave password and the master password's proof;
* :mod:`.variables`: NUT's variables decoded from the blob, ``ups.status``;
* :mod:`.commands`: settings and instant commands as write frames;
* :mod:`.session`: the host side of the session as a state machine (sans I/O).
"""

__all__: list[str] = []
