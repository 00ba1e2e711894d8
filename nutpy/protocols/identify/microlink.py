"""Is an APC Microlink UPS on the line?  ``FD`` -> page 0, then the descriptor.

At 9600 baud a Microlink unit answers ``FD`` with page 0 and each ``FE``
with the next page, before any authentication; model, serial and firmware
are in those pages, located through the descriptor.  This drives the
driver's own :class:`Session` through that sweep and stops where the session
would first write (the slave password): a probe sends nothing but ``FD`` and
``FE``, and a guard makes sure of it.  Left alone, the UPS drops back to its
set-up state after about 0.73 s, as after any host that goes away.
"""

from __future__ import annotations

from nutpy.protocols.identify.codecs import ACK, NAK, MicrolinkError, NoResponse, Session
from nutpy.protocols.identify.findings import Identity, Probe, Unreadable

# The whole descriptor read: 128 pages of 20 bytes each way at 9600 baud take
# about 2.7 s; a page lost to noise costs a second sweep.
READ_LIMIT = 8.0
_QUERIES = (bytes((NAK,)), bytes((ACK,)))


class MicrolinkProbe(Probe):
    protocol = "APC Microlink"
    baudrate = 9600

    def __init__(self) -> None:
        super().__init__()
        self._session = Session()
        self._give_up = 0.0

    def start(self, now: float) -> bytes:
        self._give_up = now + READ_LIMIT
        return self._guarded(self._session.start(now))

    def next_deadline(self) -> float | None:
        if self.finding is not None:
            return None
        deadline = self._session.next_deadline()
        return self._give_up if deadline is None else min(deadline, self._give_up)

    def receive_data(self, data: bytes, now: float) -> bytes:
        self._hear(data)
        if self.finding is not None:
            return b""
        try:
            self._session.receive_data(data, now)
        except MicrolinkError as exc:
            self.finding = Unreadable(self.protocol, self.baudrate, str(exc))
            return b""
        return self._after(now)

    def handle_timeout(self, now: float) -> bytes:
        if self.finding is not None:
            return b""
        session = self._session
        if now >= self._give_up:
            self.finding = self._no_ups() if session.header is None else Unreadable(
                self.protocol, self.baudrate,
                f"page 0 answered, but the pages did not all come in {READ_LIMIT:g} s")
            return b""
        events = session.handle_timeout(now)
        if session.header is None and any(isinstance(e, NoResponse) for e in events):
            self.finding = self._no_ups()
            return b""
        return self._after(now)

    def _after(self, now: float) -> bytes:
        session = self._session
        if session.layout is not None:
            values = session.values()
            if values:
                self.finding = Identity(
                    "apcmicrolink", self.protocol, self.baudrate, values.get("ups.model"),
                    values.get("ups.serial"), values.get("ups.firmware"),
                    values.get("experimental.device.sku"))
                return b""
        return self._guarded(session.data_to_send(now))

    def _guarded(self, data: bytes) -> bytes:
        if data and data not in _QUERIES:
            # Only reachable if the session changed: never write to the UPS.
            self.finding = Unreadable(self.protocol, self.baudrate,
                                      "the session wanted to write before the pages were read")
            return b""
        return self._send(data)
