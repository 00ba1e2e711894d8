"""APC Smart (UPS-Link), the text protocol of serial Smart-UPS units.

One idea per module, each depending only on those above it:

* :mod:`.status`: the ``Q`` register, NUT's status words, the alert bytes;
* :mod:`.framing`: command bytes, timeouts, alerts told apart from reply lines;
* :mod:`.variables`: NUT's variable table, replies decoded and encoded;
* :mod:`.commands`: instant commands, writes and killpower as timed steps;
* :mod:`.capabilities`: ``a``, ``^Z`` and the firmware tables;
* :mod:`.events`: what the session tells its caller;
* :mod:`.session`: the whole conversation as a state machine (sans I/O).
"""

__all__: list[str] = []
