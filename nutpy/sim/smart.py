"""A simulated APC Smart-UPS: the engine behind ``sim:smart`` and the pty simulator.

:class:`SmartUps` is pure: :meth:`~SmartUps.feed` takes the bytes a host sent
and the current time and returns the reply bytes; :meth:`~SmartUps.tick`
advances the physics (battery discharge and charge, timers) and returns the
alert bytes the UPS sends on its own.  Scripted events (mains failure, low
battery, a pulled cable...) are plain method calls.

Its data comes from a NUT device dump (NUT variable values turned back into
raw Smart replies by the codec) or from a built-in Smart-UPS 1000, 230 V.
Replies are kept as the raw strings they were loaded as until the physics
changes them, so a freshly loaded unit answers exactly what the dump says.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from nutpy.protocols.apcsmart.capabilities import firmware_locale, parse_caps
from nutpy.protocols.apcsmart.framing import DUMB_MODE, ESCAPE, SMART_MODE, STATUS
from nutpy.protocols.apcsmart.status import (
    BOOST,
    CAL,
    LB,
    OB,
    OL,
    OVER,
    RB,
    TRIM,
    Alert,
    parse_register,
    status_bits,
    status_tokens,
)
from nutpy.protocols.apcsmart.variables import STRING_LENGTH, encode, encode_all
from nutpy.protocols.devfile import dev_variables
from nutpy.sim.control import number

# Section 7: a Smart-UPS 1000, 230 V (real SU1000 readings).
DEFAULT_REPLIES: dict[bytes, str] = {
    b"\x01": "SMART-UPS 1000", b"b": "60.11.I", b"V": "IWI", b"n": "QS9931125245",
    b"m": "07/31/99", b"x": "07/31/99", b"c": "UPS_IDEN", b"Q": "08", b"9": "FF",
    b"L": "235.3", b"M": "237.9", b"N": "234.0", b"O": "235.3", b"F": "50.00",
    b"P": "012.4", b"f": "100.0", b"B": "27.87", b"g": "024", b"j": "0105:",
    b"C": "032.8", b"G": "O", b"X": "NO", b"u": "253", b"l": "196", b"o": "230",
    b"e": "00", b"s": "H", b"p": "020", b"r": "000", b"q": "02", b"k": "0",
    b"E": "336", b">": "000", b"~": "00", b"'": "00", b"8": "00", b"7": "00",
    b"d": "010.7", b"y": "(C) APCC",
}
DEFAULT_COMMANDS = (b"\x01\x0e\x1a')+-789>@ABCDEFGKLMNOPQRSUVWXYZabcdefgjklmnopqrsuxyz~"
                    b"\x7f")
ALERT_LIST = b"!$%+?=#|"
# Section 5.2: the EEPROM choices of a real Smart-UPS 420.
DEFAULT_CAPS = (
    "#uD43127130133136uA43108110112114uI43253257261265lD43106103100097"
    "lA43092090088086lI43208204200196e44200155090oD13115oA13100oI13230"
    "s441HMLLq44202050710p443020180300600k4410TLNr443000060180300E443336168ON OFF")

# Items a host may change with "-" (enums) or "-" plus 8 bytes (strings).
EEPROM_ENUMS = b"uleosqpkrE"
EEPROM_STRINGS = b"cx"
# Bytes that are actions, not queries: always in a dump's command list.
ACTIONS = b"\x0e\x1a\x7f+-@ADKRSUWYZaz"
REGISTERS = b"~'87"

SEQUENCE_TIMEOUT = 10.0  # between the bytes of @nnn and -string (hosts pace 0.05-2 s)
PRESS_MIN = 1.0  # second press of K/Z/^N accepted from here...
PRESS_MAX = 10.0  # ...to here after the first
EEPROM_ALERT_DELAY = 5.0  # "|" after a write
TEST_DURATION = 8.0  # W/U: on battery this long
RESULT_LIFETIME = 300.0  # X keeps a self-test result this long, then NO
LINE_FAIL_REPEAT = 30.0  # "!" again every 30 s on battery until low battery
CALIBRATION_END = 25.0  # % charge
MIN_LOAD = 5.0  # % load used for runtime, so an idle unit does not last forever
RECHARGE_RATE = 100.0 / 10800  # % per second on line: empty to full in 3 h
STEP = 1.0  # physics integration step, seconds
WAKE_UNIT = 360.0  # @nnn: nnn x 6 min

_REG3_LB_OFF, _REG3_SLEEP, _REG3_S = 0x01, 0x08, 0x10
_REG1_IN_BYPASS = 0x08


@dataclass
class _Shutdown:
    kind: str  # "S", "@", "K", "Z", "LB"
    off_at: float
    wake_delay: float | None  # None: stays off


def _show_byte(byte: int) -> str:
    if byte == 0x7F:
        return "DEL"
    if byte < 0x20:
        return "^" + chr(byte + 0x40)
    if byte > 0x7E:
        return f"0x{byte:02X}"
    return chr(byte)


LOWEST_TRANSFER = 80.0  # volts: a low transfer point for dumps that have none


def _number(text: str | None, default: float) -> float:
    try:
        return float(text.rstrip(":")) if text else default
    except ValueError:
        return default


def _raw(command: str) -> bytes:
    try:
        return command.encode("latin-1")
    except UnicodeError:
        raise ValueError(f"{command!r} is not a Smart command byte") from None


def _reply(text: str) -> str:
    """A reply the wire can carry: one line of Latin-1 (ValueError otherwise)."""
    try:
        text.encode("latin-1")
    except UnicodeError:
        raise ValueError(f"{text[:20]!r}: a reply is Latin-1 text") from None
    if "\r" in text or "\n" in text:
        raise ValueError("a reply is one line")
    return text


class SmartUps:
    """One simulated Smart-UPS, as seen from its serial port."""

    def __init__(self, replies: dict[bytes, str] | None = None, *,
                 commands: bytes = DEFAULT_COMMANDS, caps: str = DEFAULT_CAPS) -> None:
        self.replies = dict(DEFAULT_REPLIES if replies is None else replies)
        self.commands = commands
        self.caps = caps
        self._factory = dict(self.replies)
        status = parse_register(self.replies.get(b"Q", "08").encode("ascii")) or 0
        self._base_status = status & (TRIM | BOOST | OVER | RB)
        self.smart = False
        self.plugged = True
        self.output_on = status != 0
        self.mains = not status & OB
        self._mains_voltage = self.replies.get(b"L", "230.0")
        self._on_battery = not self.mains
        self._low = bool(status & LB)
        self._low_latched = self._low  # "%" sent, "+" not yet
        self._charge = _number(self.replies.get(b"f"), 100.0)
        load = _number(self.replies.get(b"P"), 0.0)
        runtime = _number(self.replies.get(b"j"), 105.0)
        self._capacity = runtime * max(load, MIN_LOAD) / max(self._charge, 1.0)
        self._full_volts = (_number(self.replies.get(b"B"), 27.6)
                            / (0.85 + 0.15 * self._charge / 100))
        self._reg1 = 0
        self._reg3 = 0
        self._test: str | None = None  # "W", "U" or "D" while one runs
        self._shutdown: _Shutdown | None = None
        self._return_at: float | None = None
        self._seq: tuple[bytes, bytearray, float] | None = None
        self._press: tuple[int, float] | None = None
        self._last_query: bytes | None = None
        # Where ``-`` stands in each EEPROM item's list: a list may name one value
        # twice (``s`` is ``HMLL``), so the value alone does not say.
        self._positions: dict[bytes, int] = {}
        self._timers: dict[str, tuple[float, Callable[[], None]]] = {}
        self._outbox = bytearray()
        self._time: float | None = None
        self._next_line_fail: float | None = None
        # M and N: extremes of L since each was last queried, as raw replies.
        self._extremes = {cmd: self.replies[cmd] for cmd in (b"M", b"N") if cmd in self.replies}
        self.last_command = ""

    @classmethod
    def from_dev(cls, data: bytes) -> SmartUps:
        """A unit answering what NUT's apcsmart reported in a ``.dev`` dump."""
        replies = encode_all(dev_variables(data))
        replies.setdefault(b"Q", "08")
        for register in REGISTERS:
            replies.setdefault(bytes((register,)), "00")
        present = set(replies) | {bytes((b,)) for b in ACTIONS}
        commands = bytes(sorted(b for cmd in present for b in cmd))
        return cls(replies, commands=commands)

    # ---- the wire --------------------------------------------------------

    def feed(self, data: bytes, now: float) -> bytes:
        """Bytes from the host in, reply bytes (and any due alerts first) out."""
        self._advance(now)
        out = bytearray(self._take_alerts())
        for byte in data:
            reply = self._byte(byte, now)
            if reply is not None and self._listening():
                out += reply.encode("latin-1") + b"\r\n"
        return bytes(out) if self.plugged else b""

    def tick(self, now: float) -> bytes:
        """Advance to ``now``; the alert bytes the UPS sends meanwhile."""
        self._advance(now)
        return self._take_alerts()

    def _take_alerts(self) -> bytes:
        alerts = bytes(self._outbox) if self.plugged else b""
        self._outbox.clear()
        return alerts

    def _awake(self) -> bool:
        """The electronics run: output on, or mains present."""
        return self.output_on or self.mains

    def _listening(self) -> bool:
        return self.plugged and self._awake()

    def _byte(self, byte: int, now: float) -> str | None:
        if not self._listening():
            return None
        self.last_command = _show_byte(byte)
        cmd = bytes((byte,))
        if not self.smart:
            if cmd == SMART_MODE:
                self.smart = True
                return "SM"
            return None
        if self._seq is not None:
            kind, buf, deadline = self._seq
            if now <= deadline:
                return self._sequence_byte(kind, buf, byte, now)
            self._seq = None
        press, self._press = self._press, None
        if byte in b"KZ\x0e" and cmd in self.commands:
            return self._double_press(byte, press, now)
        return self._command(cmd, now)

    def _command(self, cmd: bytes, now: float) -> str | None:
        if cmd == SMART_MODE:
            return "SM"
        if cmd == DUMB_MODE:
            self.smart = False
            return "BYE"
        if cmd == ESCAPE or cmd not in self.commands:
            return "NA"
        if cmd in (b"-", b"+"):
            return self._next_value(cmd, now)
        action = self._actions().get(cmd)
        if action is not None:
            return action(now)
        self._last_query = cmd
        return self._query(cmd)

    def _actions(self) -> dict[bytes, Callable[[float], str | None]]:
        return {b"@": self._at_start, b"S": self._soft_shutdown, b"W": self._self_test,
                b"U": self._failure_test, b"A": lambda now: "OK", b"D": self._calibrate,
                b"\x7f": self._abort, b"z": self._factory_reset, b"^": self._bypass,
                b"\x1a": lambda now: self.caps,
                b"a": lambda now: f"3.{ALERT_LIST.decode()}.{self.commands.decode('latin-1')}"}

    def _query(self, cmd: bytes) -> str:
        if cmd == STATUS:
            return f"{self.status():02X}"
        if cmd in self._extremes:
            value = self._extremes[cmd]
            self._extremes[cmd] = self.replies.get(b"L", value)
            return value
        if cmd in (b"O", b"P") and cmd in self.replies:
            if not self.output_on:
                return "000.0"
            if cmd == b"O" and self._on_battery:
                return self._volts(_number(self.replies.get(b"o"), 230.0))
        if cmd == b"~":
            return f"{_number_hex(self.replies.get(b'~')) | self._reg1:02X}"
        if cmd == b"8":
            return f"{_number_hex(self.replies.get(b'8')) | self._reg3:02X}"
        return self.replies.get(cmd, "NA")

    @staticmethod
    def _volts(value: float) -> str:
        return f"{value:05.1f}"

    # ---- multi-byte sequences, double presses, EEPROM --------------------

    def _sequence_byte(self, kind: bytes, buf: bytearray, byte: int, now: float) -> str | None:
        buf.append(byte)
        if kind == b"@":
            if not chr(byte).isdigit():
                self._seq = None
                return "NO"
            if len(buf) < 3:
                self._seq = (kind, buf, now + SEQUENCE_TIMEOUT)
                return None
            self._seq = None
            wake = int(buf) * WAKE_UNIT
            self._schedule_shutdown("@", now, wake)
            return "OK"
        if len(buf) < STRING_LENGTH:
            self._seq = (kind, buf, now + SEQUENCE_TIMEOUT)
            return None
        self._seq = None
        value = bytes(buf).rstrip(b"\r\x00").decode("latin-1")
        if not value:
            return "NO"  # an empty reply line would break both drivers
        assert self._last_query is not None
        self.replies[self._last_query] = value
        self._timers["eeprom"] = (now + EEPROM_ALERT_DELAY, self._eeprom_written)
        return "OK"

    def _eeprom_written(self) -> None:
        self._alert(Alert.EEPROM_CHANGED)

    def _next_value(self, cmd: bytes, now: float) -> str | None:
        item = self._last_query
        if item is not None and item[0] in EEPROM_STRINGS and cmd == b"-":
            self._seq = (b"-", bytearray(), now + SEQUENCE_TIMEOUT)
            return None
        if item is None or item[0] not in EEPROM_ENUMS:
            return "NO"
        choices = self.choices(item)
        if not choices:
            return "NO"
        current = self.replies.get(item)
        position = self._positions.get(item)
        if position is None or position >= len(choices) or choices[position] != current:
            position = choices.index(current) if current in choices else None
        step = 1 if cmd == b"-" else -1
        position = 0 if position is None else (position + step) % len(choices)
        self._positions[item] = position
        self.replies[item] = choices[position]
        self._timers["eeprom"] = (now + EEPROM_ALERT_DELAY, self._eeprom_written)
        return "OK"

    def locale(self) -> str:
        firmware = self.replies.get(b"b") or self.replies.get(b"V") or "I"
        return firmware_locale(firmware)

    def choices(self, item: bytes) -> list[str]:
        """The EEPROM values ``-`` cycles through for ``item``, for this unit's locale."""
        entries = parse_caps(self.caps.encode("ascii")) or []
        return [value for entry in entries if entry.cmd == item
                and entry.locale in (self.locale(), "4") for value in entry.values]

    def _factory_reset(self, now: float) -> str:
        for item in EEPROM_ENUMS:
            key = bytes((item,))
            if key in self._factory:
                self.replies[key] = self._factory[key]
        return "CLEAR"

    def _double_press(self, byte: int, press: tuple[int, float] | None, now: float) -> str | None:
        if press is None or press[0] != byte or not PRESS_MIN <= now - press[1] <= PRESS_MAX:
            self._press = (byte, now)
            return None
        if byte == ord("K"):
            self._schedule_shutdown("K", now, None)
            return "OK"
        if byte == ord("Z"):
            self._shutdown = _Shutdown("Z", now, None)
            self._turn_off(self._shutdown)
            return None
        if self._on_battery:
            return "NA"
        self._shutdown = None
        self._turn_on()
        return None

    # ---- actions ------------------------------------------------------------

    def _at_start(self, now: float) -> str | None:
        if not self.output_on:
            return "NA"
        self._seq = (b"@", bytearray(), now + SEQUENCE_TIMEOUT)
        return None

    def _soft_shutdown(self, now: float) -> str:
        if not self._on_battery:
            return "NA"
        self._schedule_shutdown("S", now, 0.0)
        return "OK"

    def _schedule_shutdown(self, kind: str, now: float, wake: float | None) -> None:
        delay = 0.0 if kind == "Z" else _number(self.replies.get(b"p"), 20.0)
        self._shutdown = _Shutdown(kind, now + delay, wake)

    def _abort(self, now: float) -> str:
        if self._shutdown is not None and self.output_on:
            self._shutdown = None
        return "OK"

    def _self_test(self, now: float) -> str:
        if self._test == "W":
            self._end_test()
            return "OK"
        return self._start_test("W", now)

    def _failure_test(self, now: float) -> str:
        if self._test is not None:
            return "OK"
        return self._start_test("U", now)

    def _start_test(self, kind: str, now: float) -> str:
        if not self.mains or not self.output_on or self._test is not None:
            return "NA"
        self._test = kind
        self.replies[b"G"] = "S"
        self._timers["test"] = (now + TEST_DURATION, self._end_test)
        self._check()
        return "OK"

    def _end_test(self) -> None:
        if self._test == "W":
            self.replies[b"X"] = "OK"
            self._timers["result"] = (self._now() + RESULT_LIFETIME, self._forget_result)
        self._test = None
        self._timers.pop("test", None)
        self._check()

    def _forget_result(self) -> None:
        self.replies[b"X"] = "NO"

    def _calibrate(self, now: float) -> str:
        if self._test == "D":
            self._test = None
            self._check()
            return "OK"
        if self._test is not None or not self.mains or self._charge < 100.0:
            return "NO"
        self._test = "D"
        self.replies[b"G"] = "S"
        self._check()
        return "OK"

    def _bypass(self, now: float) -> str:
        self._reg1 ^= _REG1_IN_BYPASS
        return "BYP" if self._reg1 & _REG1_IN_BYPASS else "INV"

    # ---- physics ---------------------------------------------------------------

    def status(self) -> int:
        """The Q register as the UPS would answer it now."""
        if not self.output_on:
            return 0
        bits = self._base_status & (RB | OVER)
        if self._on_battery:
            bits |= OB
        else:
            bits |= OL | (self._base_status & (TRIM | BOOST))
        if self._test == "D":
            bits |= CAL
        if self._low:
            bits |= LB
        return bits

    def runtime_minutes(self) -> float:
        load = _number(self.replies.get(b"P"), 0.0)
        return self._capacity * self._charge / max(load, MIN_LOAD)

    def _now(self) -> float:
        return self._time if self._time is not None else 0.0

    def _advance(self, now: float) -> None:
        """Integrate in steps of at most STEP s, stopping at every timer on the way."""
        if self._time is None:
            self._time = now
        while self._time < now:
            deadlines = [when for when, _ in self._timers.values()]
            if self._shutdown is not None and self.output_on:
                deadlines.append(self._shutdown.off_at)
            if self._return_at is not None:
                deadlines.append(self._return_at)
            target = min([now, self._time + STEP, *(d for d in deadlines if d > self._time)])
            self._integrate(target - self._time)
            self._time = target
            self._fire_timers()
            self._check()
        self._fire_timers()
        self._check()

    def _integrate(self, seconds: float) -> None:
        if not self.output_on:
            if self.mains:
                self._set_charge(self._charge + RECHARGE_RATE * seconds)
            return
        if self._on_battery:
            load = max(_number(self.replies.get(b"P"), 0.0), MIN_LOAD)
            self._set_charge(self._charge - load / (self._capacity * 60) * seconds)
        elif self._charge < 100.0:
            self._set_charge(self._charge + RECHARGE_RATE * seconds)

    def _set_charge(self, charge: float) -> None:
        charge = min(max(charge, 0.0), 100.0)
        if charge == self._charge:
            return
        self._charge = charge
        self._publish_battery()

    def _publish_battery(self) -> None:
        self.replies[b"f"] = f"{self._charge:05.1f}"
        self.replies[b"j"] = f"{round(self.runtime_minutes()):04d}:"
        self.replies[b"B"] = f"{self._full_volts * (0.85 + 0.15 * self._charge / 100):05.2f}"

    def _fire_timers(self) -> None:
        now = self._now()
        for key, (when, action) in sorted(self._timers.items(), key=lambda kv: kv[1][0]):
            if when <= now and self._timers.get(key) == (when, action):
                del self._timers[key]
                action()
        shutdown = self._shutdown
        if shutdown is not None and shutdown.off_at <= now and self.output_on:
            self._turn_off(shutdown)

    def _turn_off(self, shutdown: _Shutdown) -> None:
        self.output_on = False
        self._test = None
        self._timers.pop("test", None)
        self._reg3 |= {"S": _REG3_S, "@": _REG3_SLEEP, "LB": _REG3_LB_OFF}.get(shutdown.kind, 0)
        self._return_at = None
        if not self.mains:
            self.smart = False  # the electronics lose power: dumb when they wake

    def _turn_on(self) -> None:
        self.output_on = True
        self._shutdown = None
        self._return_at = None
        self._reg3 &= ~(_REG3_S | _REG3_SLEEP | _REG3_LB_OFF)
        self._on_battery = not self.mains
        self._low = False

    def _check(self) -> None:
        """Follow the state: transfers, low battery, calibration end, return from shutdown."""
        now = self._now()
        if not self.output_on:
            self._check_return(now)
            return
        if self._test == "D" and self._charge <= CALIBRATION_END:
            self._test = None
        on_battery = not self.mains or self._test is not None
        if on_battery and not self._on_battery:
            self._alert(Alert.LINE_FAIL)
            self._next_line_fail = now + LINE_FAIL_REPEAT
        elif self._on_battery and not on_battery:
            self._alert(Alert.LINE_RESTORED)
            self._next_line_fail = None
        self._on_battery = on_battery
        # LB shows in Q only on battery; "+" comes once the charge has recovered.
        threshold = _number(self.replies.get(b"q"), 2.0)
        low = on_battery and self.runtime_minutes() <= threshold
        if low and not self._low:
            self._alert(Alert.LOW_BATTERY)
            self._low_latched = True
        self._low = low
        if self._low_latched and not on_battery and self.runtime_minutes() > threshold:
            self._alert(Alert.LOW_BATTERY_CLEARED)
            self._low_latched = False
        if (not self.mains and not low and self._next_line_fail is not None
                and now >= self._next_line_fail):
            self._alert(Alert.LINE_FAIL)
            self._next_line_fail = now + LINE_FAIL_REPEAT
        if on_battery and self._charge <= 0.0:
            self._shutdown = _Shutdown("LB", now, 0.0)
            self._turn_off(self._shutdown)

    def _check_return(self, now: float) -> None:
        shutdown = self._shutdown
        if shutdown is None or shutdown.wake_delay is None or not self.mains:
            self._return_at = None
            return
        if self._return_at is None:
            self._return_at = now + shutdown.wake_delay + _number(self.replies.get(b"r"), 0.0)
        restart = _number(self.replies.get(b"e"), 0.0)
        if now >= self._return_at and self._charge >= restart:
            self._turn_on()

    def _alert(self, alert: Alert) -> None:
        if self._listening():
            self._outbox.append(alert.value)

    # ---- scripted events --------------------------------------------------------

    def mains_fail(self) -> None:
        """Utility power goes away (input voltage 0): the UPS transfers to battery."""
        self._set_line(0.0, "L")

    def mains_restore(self) -> None:
        """Utility power comes back at the voltage it had before it failed."""
        self.replies[b"L"] = self._mains_voltage
        self.mains = True
        self._track_voltage()
        self._check()

    def _set_line(self, volts: float, reason: str | None = None) -> None:
        # A dump without transfer points (no l/u, or 000) still loses the mains
        # at 0 V: below every unit's low transfer point.
        low = _number(self.replies.get(b"l"), 0.0) or LOWEST_TRANSFER
        high = _number(self.replies.get(b"u"), 0.0) or 1000.0
        mains = low <= volts <= high
        if self.mains and not mains:
            self._mains_voltage = self.replies.get(b"L", self._mains_voltage)
            self.replies[b"G"] = reason or ("H" if volts > high else "L")
        self.replies[b"L"] = self._volts(volts)
        self.mains = mains
        self._track_voltage()
        self._check()

    def _track_voltage(self) -> None:
        line = self.replies.get(b"L", "000.0")
        volts = _number(line, 0.0)
        if b"M" in self._extremes and volts > _number(self._extremes[b"M"], 0.0):
            self._extremes[b"M"] = line
        if b"N" in self._extremes and volts < _number(self._extremes[b"N"], 0.0):
            self._extremes[b"N"] = line

    def battery_charge(self, percent: float) -> None:
        self._set_charge(percent)
        self._publish_battery()
        self._check()

    def battery_low(self) -> None:
        """Drain the battery to just below the low-battery runtime (``q``)."""
        low_minutes = _number(self.replies.get(b"q"), 2.0)
        load = max(_number(self.replies.get(b"P"), 0.0), MIN_LOAD)
        self.battery_charge(max(0.1, (low_minutes - 0.5) * load / self._capacity))

    def load(self, percent: float) -> None:
        self.replies[b"P"] = f"{percent:05.1f}"
        self._publish_battery()
        self._check()

    def unplug(self) -> None:
        """The cable is pulled: nothing is answered, alerts are lost."""
        self.plugged = False

    def plug(self) -> None:
        self.plugged = True

    def set(self, var: str, value: str) -> None:
        """Change a NUT variable (``battery.charge``) or a raw reply (``f``)."""
        if len(var) == 1:
            self.replies[_raw(var)] = _reply(value)
            return
        special: dict[str, tuple[Callable[[float], None], float, float]] = {
            "battery.charge": (self.battery_charge, 0, 100), "ups.load": (self.load, 0, 200),
            "input.voltage": (self._set_line, 0, 999)}
        if var in special:
            apply, low, high = special[var]
            apply(number(value, low, high, var))
            return
        if var == "ups.status":
            self._base_status = status_bits(value.split()) & (
                TRIM | BOOST | OVER | RB)
            return
        encoded = encode(var, value)
        if encoded is None:
            raise ValueError(f"{var} = {value[:20]!r} has no Smart-UPS form")
        self.replies[encoded[0]] = _reply(encoded[1])
        if var == "battery.runtime":
            load = max(_number(self.replies.get(b"P"), 0.0), MIN_LOAD)
            self._capacity = int(value) / 60 * load / max(self._charge, 1.0)

    def show(self) -> list[str]:
        """The simulator's state as ``key: value`` lines, for people."""
        mode = ("unplugged" if not self.plugged else "asleep" if not self._awake()
                else "smart" if self.smart else "dumb")
        pending = self._shutdown.kind if self._shutdown and self.output_on else "none"
        return [
            f"mode: {mode}",
            f"output: {'on' if self.output_on else 'off'}",
            f"mains: {'present' if self.mains else 'absent'}",
            f"power: {'battery' if self._on_battery and self.output_on else 'line'}",
            f"status: {self.status():02X} ({' '.join(status_tokens(self.status()))})",
            f"battery.charge: {self._charge:.1f}",
            f"battery.runtime: {round(self.runtime_minutes() * 60)}",
            f"ups.load: {self.replies.get(b'P', 'NA')}",
            f"test: {self._test or 'none'}",
            f"pending shutdown: {pending}",
            f"last command: {self.last_command or 'none'}",
        ]


def _number_hex(text: str | None) -> int:
    try:
        return int(text, 16) if text else 0
    except ValueError:
        return 0
