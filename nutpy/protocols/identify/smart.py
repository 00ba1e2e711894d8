"""Is an APC Smart-UPS on the line?  ``Y`` -> ``SM``, then model, serial, firmware.

At 2400 baud a Smart-UPS in dumb mode (as after power-up) answers nothing
but ``Y``; ``SM`` is the sure sign.  Then only read-only queries: ``^A``
(model), ``n`` (serial), ``b`` (firmware; ``V`` on units without ``b``).
At the end ``R`` puts the UPS back in dumb mode, as NUT's ``apcsmart`` does
when it exits (``upsdrv_cleanup`` sends ``R`` and reads the ``BYE``), so the
next program finds it as after power-up.  ``Y`` is tried three times, as a
unit may drop the first byte after the port opens.
"""

from __future__ import annotations

from nutpy.protocols.identify.codecs import (
    DUMB_MODE,
    FIRMWARE_NEW,
    FIRMWARE_OLD,
    MODEL,
    SERIAL,
    SMART_MODE,
    SMART_MODE_TIMEOUT,
    Outcome,
    ReplyLine,
    Splitter,
    decode,
    model_from_firmware,
)
from nutpy.protocols.identify.findings import Identity, Probe

MODE_TRIES = 3
QUERY_TIMEOUT = 1.5  # a real unit answers within 100 ms; NUT waits 3 s
QUERIES = (MODEL, SERIAL, FIRMWARE_NEW)
_NAMES = {MODEL: "model (^A)", SERIAL: "serial number (n)"}  # firmware: b, then V


class SmartProbe(Probe):
    protocol = "APC Smart"
    baudrate = 2400

    def __init__(self) -> None:
        super().__init__()
        self._splitter = Splitter()
        self._pending = b""
        self._deadline = 0.0
        self._tries = 0
        self._asked: list[bytes] = []
        self._values: dict[str, str] = {}
        self._unanswered: list[str] = []

    def start(self, now: float) -> bytes:
        self._tries = 1
        return self._ask(SMART_MODE, now, SMART_MODE_TIMEOUT)

    def next_deadline(self) -> float | None:
        return None if self.finding is not None else self._deadline

    def receive_data(self, data: bytes, now: float) -> bytes:
        self._hear(data)
        out = b""
        for event in self._splitter.feed(data):  # alerts are dropped, as NUT's plain reads do
            if isinstance(event, ReplyLine) and self.finding is None:
                out += self._on_line(event.data, now)
        return out

    def handle_timeout(self, now: float) -> bytes:
        if self.finding is not None or now < self._deadline:
            return b""
        if self._pending == SMART_MODE:
            if self._tries < MODE_TRIES:
                self._tries += 1
                return self._ask(SMART_MODE, now, SMART_MODE_TIMEOUT)
            self.finding = self._no_ups()
            return b""
        if self._pending == DUMB_MODE:
            self._finish()
            return b""
        self._missed(self._pending)
        return self._next_query(now)

    def _ask(self, cmd: bytes, now: float, timeout: float) -> bytes:
        self._pending = cmd
        self._deadline = now + timeout
        self._splitter.clear()
        return self._send(cmd)

    def _on_line(self, line: bytes, now: float) -> bytes:
        if self._pending == SMART_MODE:
            if line != b"SM":
                return b""  # not a Smart-UPS's answer: wait out the try
            return self._next_query(now)
        if self._pending == DUMB_MODE:
            self._finish()
            return b""
        reading = decode(self._pending, line)
        if reading.outcome is Outcome.VALUE:
            self._values.update(reading.values)
        else:
            self._missed(self._pending)
        return self._next_query(now)

    def _missed(self, cmd: bytes) -> None:
        if cmd in _NAMES:
            self._unanswered.append(_NAMES[cmd])

    def _next_query(self, now: float) -> bytes:
        wanted = [*QUERIES]
        if FIRMWARE_NEW in self._asked and "ups.firmware" not in self._values:
            wanted.append(FIRMWARE_OLD)
        for cmd in wanted:
            if cmd not in self._asked:
                self._asked.append(cmd)
                return self._ask(cmd, now, QUERY_TIMEOUT)
        return self._ask(DUMB_MODE, now, SMART_MODE_TIMEOUT)

    def _finish(self) -> None:
        firmware = self._values.get("ups.firmware")
        model = self._values.get("ups.model")
        if model is None and firmware is not None:
            model = model_from_firmware(firmware)
        if firmware is None:
            self._unanswered.append("firmware (b, V)")
        self.finding = Identity("apcsmart", self.protocol, self.baudrate, model,
                                self._values.get("ups.serial"), firmware,
                                unanswered=tuple(self._unanswered))
