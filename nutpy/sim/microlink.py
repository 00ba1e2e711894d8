"""A simulated APC Microlink UPS (an SMT1500I-class unit), without I/O.

:class:`MicrolinkSim` is the device end of the wire: :meth:`~MicrolinkSim.feed`
takes what the host sent and returns what the UPS answers; :meth:`~MicrolinkSim.tick`
runs the physics; the other methods are the scripted events (mains failure, low
battery, cable pulled, ...).  Its layout is spec §8 (W=16, 128 pages, the
descriptor and data area of a real SMC1000i header) or, with ``width=32``, the
same data in 32-byte rows.  The layout here is written out by hand rather than
derived with the codec's descriptor parser, so tests of one check the other.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from nutpy.protocols.apcmicrolink.auth import auth_key, master_tail
from nutpy.protocols.apcmicrolink.commands import encode_value
from nutpy.protocols.apcmicrolink.framing import ACK, NAK, frame_ok, record, running_sums
from nutpy.protocols.apcmicrolink.variables import VARIABLES

DESCRIPTOR = bytes.fromhex(
    "F8 02 FE 04 FE 09 40 FC 0E 19 44 FC 20 42 FC 14 1B 1C 03 FC 08 F8 03 4A FC 08 FF"
    " 03 FC 18 FF FE 05 48 03 FC 0E 42 FC 10 FF 82 FC 10 03 FC 04 FE 05 18 FB 00 3F 19"
    " 31 FF FE 07 0D FA 01 18 00 F5 0E FA 00 DC 00 A0 FF 03 FE 07 2B 2A 2C FF 03 FC 0A"
    " FE 3E B9 B8 B7 FC 04 30 03 31 03 82 FC 10 FF 03 FC F0 03 FC F0 03 FC 06 FE 05 74"
    " FF 03 FC 08 FE 05 21 20 F8 02 10 11 12 FF 13 03 24 FF FE 05 9F FC 04 FF 03 FC 0C"
    " FE 05 22 FF FE 0B 3B 03 FF FE 07 25 26 27 49 28 FF FE 06 03 16 25 27 F8 03 17 FF"
    " 03 03 FF 34 F8 02 14 FC 04 FF 03 FC 04 B5 03 FC 06 FE 3E B6 84 FC 04 FF 03 FC 0A"
    " F8 03 26 FC 04 2B FB 00 1F F9 00 01 FF 03 FC 0A 03 FC 20 03 FC 06 0A FC 04 F8 02"
    " 0B FF 03 FC 04 03 FC 70 03 FC 08 FE 08 06 FC 04 05 FC 04 FF FE 08 07 03 FC 0C 09"
    " FF FF FF F6")
DATA_START = 0x400  # blob offset of the data area, for both row widths
DATA_SIZE = 0x400


@dataclass(frozen=True, slots=True)
class SimField:
    path: str
    offset: int  # blob offset
    size: int
    default: bytes


def _f(page: int, off: int, size: int, path: str, default: bytes | str | int) -> SimField:
    """A §8 table row, addressed in 16-byte rows as the spec writes it."""
    if isinstance(default, str):
        raw = default.encode("ascii").ljust(size, b"\0")
    elif isinstance(default, int):
        raw = default.to_bytes(size, "big")
    else:
        raw = default
    return SimField(path, DATA_START + (page - 0x40) * 16 + off, size, raw)


FIELDS: tuple[SimField, ...] = (
    _f(0x40, 0, 14, "2:4.9.40", "AS2101123456  "),
    _f(0x40, 14, 2, "2:4.9.19", 0x1DFE),
    _f(0x41, 0, 32, "2:4.9.44", "Smart-UPS 1500"),
    _f(0x43, 0, 20, "2:4.9.42", "SMT1500I"),
    _f(0x44, 4, 2, "2:4.9.1B", 0x0003),
    _f(0x44, 6, 2, "2:4.9.1C", 0x051D),
    _f(0x45, 0, 8, "3:4A", "UPS 15.0"),
    _f(0x47, 0, 2, "2:4.5.48", 0x2288),
    _f(0x48, 0, 16, "2:4.5.42", "APCRBC7"),
    _f(0x49, 0, 16, "2:4.82", "SIMUPS"),
    _f(0x4A, 4, 2, "2:4.5.18", 0x0008),
    _f(0x4A, 6, 2, "2:4.5.19", 0x26CF),
    _f(0x4A, 8, 2, "2:4.5.31", 0x0096),
    _f(0x4A, 10, 2, "2:4.7.D", 0x0109),
    _f(0x4A, 12, 2, "2:4.7.E", 0x00C3),
    _f(0x4B, 0, 2, "2:4.7.2B", 0x05DC),
    _f(0x4B, 2, 2, "2:4.7.2A", 0x03E8),
    _f(0x4B, 4, 2, "2:4.7.2C", 0x0020),
    _f(0x4C, 0, 2, "2:4.3E.B9", 0x0000),
    _f(0x4C, 2, 2, "2:4.3E.B8", 0x005A),
    _f(0x4C, 4, 4, "2:4.3E.B7", 0x00000008),
    _f(0x4C, 8, 2, "2:4.3E.30", 0x0000),
    _f(0x4C, 12, 2, "2:4.3E.31", 0x0096),
    _f(0x4D, 0, 16, "2:4.3E.82", "Main Outlets"),
    _f(0x6C, 6, 2, "2:4.5.74", 0x0001),
    _f(0x6D, 0, 2, "2:4.5.21", 0x036A),
    _f(0x6D, 2, 2, "2:4.5.20", 0xC800),
    _f(0x6D, 4, 2, "2:10", 0),
    _f(0x6D, 6, 2, "2:11", 0x0004),
    _f(0x6D, 8, 2, "2:12", 0),
    _f(0x6D, 10, 2, "2:4.5.13", 0),
    _f(0x6D, 14, 2, "2:4.5.24", 0x099C),
    _f(0x6E, 0, 4, "2:4.5.9F", 0x0000099C),
    _f(0x6F, 0, 2, "2:4.5.22", 0x0CC0),
    _f(0x6F, 2, 2, "2:4.B.3B", 0),
    _f(0x6F, 6, 2, "2:4.7.25", 0x3980),
    _f(0x6F, 8, 2, "2:4.7.26", 0x002A),
    _f(0x6F, 10, 2, "2:4.7.27", 0x1900),
    _f(0x6F, 12, 2, "2:4.7.49", 0x1400),
    _f(0x6F, 14, 2, "2:4.7.28", 0x1200),
    _f(0x70, 2, 2, "2:4.6.16", 0x0001),
    _f(0x70, 4, 2, "2:4.6.25", 0x39E0),
    _f(0x70, 6, 2, "2:4.6.27", 0x1900),
    _f(0x70, 8, 2, "3:17", 0x3080),
    _f(0x70, 14, 2, "2:4.34", 0),
    _f(0x71, 0, 4, "2:14", 0),
    _f(0x71, 8, 2, "2:4.B5", 0),
    _f(0x72, 0, 2, "2:4.3E.B6", 0x0001),
    _f(0x72, 2, 4, "2:4.3E.84", 0x00000001),
    _f(0x73, 0, 4, "3:26", 0x0001E240),
    _f(0x73, 4, 2, "3:2B", 0x0001),
    _f(0x76, 6, 4, "2:4.A", 0x00000002),
    _f(0x76, 10, 2, "2:B", 0x0008),
    _f(0x7E, 8, 4, "2:4.8.6", 0x5A3C0000),
    _f(0x7E, 12, 4, "2:4.8.5", 0),
    _f(0x7F, 0, 2, "2:4.8.7", 0),
    _f(0x7F, 14, 2, "2:4.8.9", 0),
)
_BY_PATH = {f.path: f for f in FIELDS}
# Filler contents that are not zero (klaasdc's firmware strings and battery-life days).
_FILLER = ((0x458, b"MCU 14.0UBL 01.5MBL 14.0"),
           (0x472, b"".join(n.to_bytes(2, "big") for n in (1095, 183, 14))))
_COMMANDS = ("2:10", "2:12", "2:4.B.3B", "2:14", "2:4.B5")

# Status word bits.
ST_ONLINE, ST_ON_BATTERY, ST_BYPASS, ST_OFF = 1 << 1, 1 << 2, 1 << 3, 1 << 4
ST_INPUT_BAD, ST_TEST = 1 << 6, 1 << 7
# Outlet status bits.
OUT_ON, OUT_OFF, OUT_REBOOT, OUT_SHUTDOWN = 1, 2, 4, 8
OUT_PENDING_ON, OUT_PENDING_OFF = 1 << 8, 1 << 9

RUNTIME_FACTOR = 2460 * 18 / 100  # seconds of runtime per % charge at 1 % load
TEST_DURATION = 10.0
PARTIAL_WRITE_TIMEOUT = 0.2
_INPUT = {"2:4.6.25": 0x39E0, "2:4.6.27": 0x1900}  # 231.5 V, 50 Hz


def header(width: int = 16) -> bytes:
    """Page 0's data: a real SMC1000i header (W=16) or its 32-byte-row twin."""
    count = 0x80 if width == 16 else DATA_START * 2 // width
    pointer = DATA_START // width << 8
    start = bytes((0x0A, width, count, 0x03, 0xED, 0x07, 0x09, 0x00, 0x01, 0x00,
                   pointer >> 8, pointer & 0xFF))
    return start + DESCRIPTOR[:width - 12]


def initial_blob(width: int = 16) -> bytearray:
    """The whole memory of the simulated UPS at power-up."""
    blob = bytearray(DATA_START + DATA_SIZE)
    body = header(width)[:12] + DESCRIPTOR
    blob[:len(body)] = body
    blob[len(body):DATA_START] = b"\xF7" * (DATA_START - len(body))
    for offset, data in _FILLER:
        blob[offset:offset + len(data)] = data
    for f in FIELDS:
        blob[f.offset:f.offset + f.size] = f.default
    return blob


class MicrolinkSim:
    """The UPS end of a Microlink line, driven by ``feed`` and ``tick``."""

    def __init__(self, *, width: int = 16, idle_timeout: float = 0.75,
                 auth_required: bool = True, seed: int = 0) -> None:
        if width not in (16, 32):
            raise ValueError("width must be 16 or 32")
        self.width = width
        self.idle_timeout = idle_timeout
        self.mem = initial_blob(width)
        if not auth_required:
            self.mem[6] &= ~0x01
        self.count = len(self.mem) // width
        self.data_page = DATA_START // width
        self._rng = random.Random(seed)
        # Link state.
        self.monitoring = False  # authenticated
        self._cursor = 0
        self._restart = False  # the next request gets page 0
        self._last: bytes = b""
        self._naks = 0
        self._last_rx: float | None = None
        self._write = bytearray()
        self._write_at = 0.0
        self.plugged = True
        self.last_command = "none"
        self.beeper_muted = False
        self.panel_tests = 0
        # Physics.
        self.mains = True
        self.charge = 100.0
        self.load_pct = 18.0
        self.output_on = True
        self.low_battery = False
        self.bypass = False
        self._test_until: float | None = None
        self._off_at: float | None = None  # pending off (shutdown or off-delay)
        self._on_at: float | None = None  # pending on
        self._return_on_mains = False
        self._last_tick: float | None = None
        self._pinned: dict[str, bytes] = {}  # set() values that physics must not touch
        self._update()

    # ---- memory helpers ---------------------------------------------------

    def read(self, path: str) -> int:
        f = _BY_PATH[path]
        return int.from_bytes(self.mem[f.offset:f.offset + f.size], "big", signed=False)

    def _put(self, path: str, value: int) -> None:
        f = _BY_PATH[path]
        self.mem[f.offset:f.offset + f.size] = (value & ((1 << 8 * f.size) - 1)).to_bytes(
            f.size, "big")

    def _signed(self, path: str) -> int:
        f = _BY_PATH[path]
        return int.from_bytes(self.mem[f.offset:f.offset + f.size], "big", signed=True)

    def page(self, n: int) -> bytes:
        return bytes(self.mem[n * self.width:(n + 1) * self.width])

    def _send(self, n: int) -> bytes:
        self._last = record(n, self.page(n))
        return self._last

    # ---- the wire ---------------------------------------------------------

    def feed(self, data: bytes, now: float) -> bytes:
        """Bytes from the host in, the UPS's answer out (one record a request)."""
        if not self.plugged or not data:
            return b""
        if self._last_rx is not None and now - self._last_rx > self.idle_timeout:
            self._lose_session()
        self._last_rx = now
        if self._write and now - self._write_at > PARTIAL_WRITE_TIMEOUT:
            self._write.clear()
        out = bytearray()
        for byte in data:
            if self._write:
                out += self._write_byte(byte)
            elif byte == ACK:
                out += self._on_next()
            elif byte == NAK:
                out += self._on_nak()
            elif byte < self.count:  # a page id starts a write frame
                self._write.append(byte)
                self._write_at = now
            # F7 and other bytes: ignored (F7 also ends any partial write, above)
        return bytes(out)

    def _on_next(self) -> bytes:
        self._naks = 0
        if self._restart:
            return self._on_nak()
        if not self.monitoring and self._cursor >= self.count - 1:
            if self.mem[6] & 0x01:
                return b""  # the sweep is over: silence until authenticated
            self.monitoring = True  # a unit without authentication just carries on
        if not self.monitoring:
            self._cursor += 1
        else:
            self._cursor += 1
            if not self.data_page <= self._cursor < self.count:
                self._cursor = self.data_page
        return self._send(self._cursor)

    def _on_nak(self) -> bytes:
        if self.monitoring and not self._restart:
            self._naks += 1
            if self._naks < 4:
                return self._last
            self._lose_session()
        self._restart = False
        self._naks = 0
        self._cursor = 0
        return self._send(0)

    def _lose_session(self) -> None:
        """Idle too long or too many NAKs: back to set-up, with a new master password."""
        if self.monitoring:
            self._put("2:4.8.9", 0)
            self._put("2:4.8.6", self._rng.randrange(1 << 16) << 16)
        self.monitoring = False
        self._restart = True

    def _write_byte(self, byte: int) -> bytes:
        w = self._write
        w.append(byte)
        if len(w) == 2 and w[1] >= self.width:
            w.clear()  # an offset past the row: not a write we could apply
        elif len(w) == 3 and (w[2] == 0 or w[1] + w[2] > self.width):
            w.clear()  # crosses into the next page: dropped
        elif len(w) >= 3 and len(w) == w[2] + 5:
            frame = bytes(w)
            w.clear()
            if frame_ok(frame):
                return self._apply_write(frame[0], frame[1], frame[3:-2])
        return b""

    def _apply_write(self, page: int, offset: int, data: bytes) -> bytes:
        start = page * self.width + offset
        slave = _BY_PATH["2:4.8.5"]
        if start == slave.offset and len(data) == slave.size:
            self._authenticate(data)
        elif self.monitoring:
            self.mem[start:start + len(data)] = data
            self.last_command = self._describe(start, data)
            echo = self._send(page)
            self._run_commands(start, len(data))
            return echo
        return self._send(page)  # before authentication: echoed, not applied

    def _authenticate(self, slave: bytes) -> None:
        f = _BY_PATH["2:4.8.5"]
        self.mem[f.offset:f.offset + f.size] = slave
        key = self._key()
        master = self.mem[_BY_PATH["2:4.8.6"].offset:][:2]
        if slave[2:4] != bytes(running_sums(master, *key)):
            self.last_command = f"2:4.8.5 <- {slave.hex()} (wrong slave password)"
            return
        new = bytes((self._rng.randrange(256), self._rng.randrange(256)))
        self._put("2:4.8.6", int.from_bytes(new + master_tail(key, slave[:2]), "big"))
        self._put("2:4.8.9", 1)
        self.monitoring = True
        self._naks = 0
        self.last_command = f"2:4.8.5 <- {slave.hex()} (authenticated)"

    def _key(self) -> tuple[int, int]:
        serial = _BY_PATH["2:4.9.40"]
        return auth_key(bytes(self.mem[:8]), bytes(self.mem[serial.offset:][:serial.size]))

    def _describe(self, start: int, data: bytes) -> str:
        """A write as 'path <- hex', with the command spelled out for command words."""
        names = [f.path for f in FIELDS if start <= f.offset < start + len(data)]
        text = f"{', '.join(names) or hex(start)} <- {data.hex()}"
        if names and names[0] in _COMMANDS:
            text += f" ({describe_command(names[0], int.from_bytes(data, 'big'))})"
        return text

    # ---- commands -----------------------------------------------------------

    def _run_commands(self, start: int, size: int) -> None:
        """Act on command words the write touched, then clear them."""
        for path in _COMMANDS:
            f = _BY_PATH[path]
            if start <= f.offset < start + size:
                value = self.read(path)
                self._put(path, 0)
                self._command(path, value)
        self._update()

    def _command(self, path: str, value: int) -> None:
        now = self._last_tick or 0.0
        if path == "2:10":
            if value & 1:
                if self.mains and self.output_on:
                    self._test_until = now + TEST_DURATION
                    self._put("2:11", 0x0002)
                else:
                    self._put("2:11", 0x0010)  # Refused
            elif value & 2 and self._test_until is not None:
                self._test_until = None
                self._put("2:11", 0x0020)  # Aborted
        elif path == "2:12":
            if value & 1:
                self._put("2:4.5.13", 0x0002)
            elif value & 2:
                self._put("2:4.5.13", 0x0020)
        elif path == "2:4.B.3B":
            if value & 1:
                self.panel_tests += 1
            if value & 4:
                self.beeper_muted = True
            if value & 8:
                self.beeper_muted = False
        elif path == "2:14":
            if value & (1 << 4):
                self.bypass = True
            if value & (1 << 5):
                self.bypass = False
        elif path == "2:4.B5" and value & (1 << 8):  # only the main group exists
            self._outlet(value, now)

    def _outlet(self, value: int, now: float) -> None:
        off_delay = max(self._signed("2:4.3E.B8"), 0) if value & 0x80 else 0
        on_delay = max(self._signed("2:4.3E.B9"), 0) if value & 0x40 else 0
        if value & 1:  # cancel
            self._off_at = self._on_at = None
            self._return_on_mains = False
        if value & 2:  # on
            self._off_at = None
            self._on_at = now + on_delay
        if value & 4:  # off, staying off
            self._on_at = None
            self._return_on_mains = False
            self._off_at = now + off_delay
        if value & 8:  # shutdown: off, back on when mains is present
            self._on_at = None
            self._return_on_mains = True
            self._off_at = now + off_delay
        if value & 16:  # reboot
            self._off_at = now + off_delay
            self._on_at = self._off_at + max(self._signed("2:4.3E.B7"), 0)
        self._tick_outlet(now)

    # ---- physics ------------------------------------------------------------

    def tick(self, now: float) -> None:
        dt = 0.0 if self._last_tick is None else max(now - self._last_tick, 0.0)
        self._last_tick = now
        if self.output_on and not self.mains:
            self.charge = max(self.charge - dt * self.load_pct / RUNTIME_FACTOR, 0.0)
            if self.charge == 0.0:
                self.output_on = False
        elif self.mains:
            self.charge = min(self.charge + dt * 0.05, 100.0)
        if self._test_until is not None and now >= self._test_until:
            self._test_until = None
            self._put("2:11", 0x0004)
        self._tick_outlet(now)
        self._update()

    def _tick_outlet(self, now: float) -> None:
        if self._off_at is not None and now >= self._off_at:
            self._off_at = None
            self.output_on = False
        if self._on_at is not None and now >= self._on_at and self._off_at is None:
            self._on_at = None
            self.output_on = True
        if self._return_on_mains and not self.output_on and self._off_at is None \
                and self.mains:
            self._return_on_mains = False
            self.output_on = True

    def runtime(self) -> int:
        return int(self.charge * RUNTIME_FACTOR / max(self.load_pct, 1.0))

    def _update(self) -> None:
        """Recompute every measured value from the physical state."""
        on_battery = not self.mains and self.output_on
        threshold = self.read("2:4.5.31")
        lb = not self.mains and (self.low_battery or self.runtime() < threshold)
        word = 0
        if not self.output_on:
            word |= ST_OFF
        elif self.bypass:
            word |= ST_BYPASS
        elif on_battery:
            word |= ST_ON_BATTERY
        else:
            word |= ST_ONLINE
        if not self.mains:
            word |= ST_INPUT_BAD
        if self._test_until is not None:
            word |= ST_TEST
        self._put("2:4.A", word)
        self._put("2:B", 8 if self.mains else 2)
        self._put("2:4.8.7", 0b10 if lb else 0)
        self._put("2:4.6.16", 0x0001 if self.mains else 0x1000)
        for path, value in _INPUT.items():
            self._put(path, value if self.mains else 0)
        self._put("2:4.5.20", round(self.charge * 512))
        self._put("2:4.5.9F", self.runtime())
        self._put("2:4.5.24", min(self.runtime(), 0xFFFF))
        load = self.load_pct if self.output_on else 0.0
        self._put("2:4.7.28", round(load * 256))
        self._put("2:4.7.49", round(load * 256 * 10 / 9))
        self._put("2:4.7.26", round(load * 10 / 9 * 15 / 230 * 32))  # 1500 VA at 230 V
        self._put("2:4.7.25", 230 << 6 if self.output_on else 0)
        self._put("2:4.7.27", 50 << 7 if self.output_on else 0)
        status = OUT_ON if self.output_on else OUT_OFF
        if self._off_at is not None:  # e.g. 0x0208 while a shutdown counts down
            status = OUT_PENDING_OFF | (OUT_SHUTDOWN if self._return_on_mains else OUT_ON)
        if self._on_at is not None and self.output_on is False:
            status |= OUT_PENDING_ON
        self._put("2:4.3E.B6", status)
        for path, raw in self._pinned.items():
            f = _BY_PATH[path]
            self.mem[f.offset:f.offset + f.size] = raw

    # ---- scripted events ----------------------------------------------------

    def mains_fail(self) -> None:
        self.mains = False
        self._update()

    def mains_restore(self) -> None:
        self.mains = True
        self.low_battery = False
        if self._return_on_mains and self._off_at is None and not self.output_on:
            self._return_on_mains = False
            self.output_on = True
        self._update()

    def battery_charge(self, pct: float) -> None:
        self.charge = min(max(pct, 0.0), 100.0)
        self._update()

    def battery_low(self) -> None:
        """Force low battery (until mains returns) and drop the charge to 10 %."""
        self.low_battery = True
        self.charge = min(self.charge, 10.0)
        self._update()

    def load(self, pct: float) -> None:
        self.load_pct = min(max(pct, 0.0), 150.0)
        self._update()

    def unplug(self) -> None:
        """Cable pulled: nothing is heard or answered."""
        self.plugged = False

    def plug(self) -> None:
        self.plugged = True

    def set(self, var: str, value: str) -> None:
        """Pin a NUT variable ('input.voltage', '240') or a usage path to raw hex
        ('2:4.A', '00000044'); physics no longer changes it.  ValueError says
        why a variable or value cannot be set."""
        if var in _BY_PATH:
            try:
                path, raw = var, bytes.fromhex(value)
            except ValueError:
                raise ValueError(f"{var} takes raw hex, not {value[:20]!r}") from None
            if len(raw) != _BY_PATH[var].size:
                raise ValueError(f"{var} is {_BY_PATH[var].size} bytes")
        else:
            spec = next((s for s in VARIABLES if s.name == var and s.path in _BY_PATH), None)
            if spec is None:
                derived = " (it is made from 2:4.A: use mains fail/restore or set 2:4.A " \
                    "to hex)" if var == "ups.status" else ""
                raise ValueError(f"no variable {var[:40]} to set{derived}")
            try:
                path, raw = spec.path, encode_value(spec, _BY_PATH[spec.path].size, value)
            except (ValueError, OverflowError, UnicodeError) as exc:
                shown = str(exc) if len(str(exc)) <= 60 else "out of range"
                raise ValueError(f"{var} cannot be {value[:20]!r}: {shown}") from None
        self._pinned[path] = raw
        self._update()

    def show(self) -> list[str]:
        return [
            f"link: {'plugged' if self.plugged else 'unplugged'}, "
            f"{'authenticated' if self.monitoring else 'set-up'}",
            f"width: {self.width}",
            f"mains: {'present' if self.mains else 'failed'}",
            f"output: {'on' if self.output_on else 'off'}",
            f"status word: 0x{self.read('2:4.A'):08X}",
            f"outlet status: 0x{self.read('2:4.3E.B6'):04X}",
            f"battery charge: {self.charge:.1f}",
            f"battery runtime: {self.runtime()}",
            f"low battery: {'yes' if self.read('2:4.8.7') & 2 else 'no'}",
            f"load: {self.load_pct:g}",
            f"beeper: {'muted' if self.beeper_muted else 'enabled'}",
            f"last command: {self.last_command}",
        ]


def describe_command(path: str, value: int) -> str:
    """Human text for a command word, for show()."""
    if path in ("2:10", "2:12"):
        what = "battery test" if path == "2:10" else "calibration"
        return f"{what} {'start' if value & 1 else 'stop' if value & 2 else 'none'}"
    if path == "2:4.B.3B":
        return "panel test" if value & 1 else "mute" if value & 4 else "ui command"
    if path == "2:14":
        return "bypass start" if value & 0x10 else "bypass stop" if value & 0x20 else "ups command"
    names = ("cancel", "on", "off", "shutdown", "reboot", "cold-boot", "on-delay", "off-delay",
             "MOG", "SOG0", "SOG1", "SOG2", "usb", "local", "rj45")
    return " ".join(n for i, n in enumerate(names) if value & (1 << i)) or "none"
