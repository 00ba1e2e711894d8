"""The simulated Smart-UPS engine, and the round trip dump -> engine -> codec -> values."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nutpy.protocols.apcsmart.capabilities import (
    caps_enums,
    discover,
    firmware_locale,
    parse_caps,
    parse_cmdset,
)
from nutpy.protocols.apcsmart.framing import AlertEvent, ReadMode, ReplyLine, Splitter
from nutpy.protocols.apcsmart.status import Alert, parse_register, status_tokens
from nutpy.protocols.apcsmart.variables import TRANSFER_REASONS, Outcome, decode, encode
from nutpy.protocols.devfile import dev_variables
from nutpy.sim.control import random_garbage
from nutpy.sim.smart import DEFAULT_CAPS, SmartUps
from tests.support import FIXTURES

ALERT_CHARS = set("!$%+#?=&|*")
DUMPS = ["smart-ups-1500.dev", "smart-ups-1250.dev", "smart-ups-sc1500.dev",
         "smart-ups-rt-3000-xl.dev", "matrix-ups-3000.dev"]


def smart(now: float = 0.0) -> SmartUps:
    ups = SmartUps()
    assert ups.feed(b"Y", now) == b"SM\r\n"
    return ups


def ask(ups: SmartUps, cmd: bytes, now: float) -> bytes:
    """The reply line to one query; fails on alerts or extra lines."""
    reply = ups.feed(cmd, now)
    assert reply.endswith(b"\r\n") and reply.count(b"\n") == 1, reply
    return reply[:-2]


# ---- modes and framing -----------------------------------------------------------


def test_dumb_until_y_and_back_with_r() -> None:
    ups = SmartUps()
    assert ups.feed(b"B", 0.0) == b""
    assert ups.feed(b"Y", 0.0) == b"SM\r\n"
    assert ups.feed(b"Y", 0.0) == b"SM\r\n"
    assert ask(ups, b"B", 0.1) == b"27.87"
    assert ups.feed(b"R", 0.2) == b"BYE\r\n"
    assert ups.feed(b"Q", 0.3) == b""


def test_default_unit_replies() -> None:
    ups = smart()
    assert ask(ups, b"\x01", 0.0) == b"SMART-UPS 1000"
    assert ask(ups, b"Q", 0.0) == b"08"
    assert ask(ups, b"j", 0.0) == b"0105:"
    assert ask(ups, b"E", 0.0) == b"336"
    assert ask(ups, b"a", 0.0) == (
        b"3.!$%+?=#|.\x01\x0e\x1a')+-789>@ABCDEFGKLMNOPQRSUVWXYZabcdefgjklmnopqrsuxyz~\x7f")
    assert ask(ups, b"\x1a", 0.0) == DEFAULT_CAPS.encode()
    assert len(DEFAULT_CAPS) == 206


def test_unknown_and_unlisted_commands_answer_na() -> None:
    ups = smart()
    for cmd in (b"\x1b", b"^", b"w", b"\x00", b"v"):
        assert ask(ups, cmd, 0.0) == b"NA"


def test_several_commands_in_one_feed() -> None:
    ups = smart()
    assert ups.feed(b"QPf", 0.0) == b"08\r\n012.4\r\n100.0\r\n"


def test_input_extremes_reset_on_query() -> None:
    ups = smart()
    assert ask(ups, b"M", 0.0) == b"237.9"
    assert ask(ups, b"M", 0.0) == b"235.3"
    assert ask(ups, b"N", 0.0) == b"234.0"
    ups.set("input.voltage", "240.0")
    ups.set("input.voltage", "220.0")
    assert (ask(ups, b"M", 0.0), ask(ups, b"N", 0.0)) == (b"240.0", b"220.0")


# ---- power events -----------------------------------------------------------------------


def test_mains_failure_and_return() -> None:
    ups = smart()
    ups.mains_fail()
    assert ups.tick(1.0) == b"!"
    assert ask(ups, b"Q", 1.0) == b"10"
    assert ask(ups, b"G", 1.0) == b"L"
    assert ask(ups, b"L", 1.0) == b"000.0"
    assert ask(ups, b"O", 1.0) == b"230.0"
    assert ups.tick(20.0) == b""
    assert ups.tick(31.5) == b"!"  # repeated every 30 s until low battery
    assert float(ask(ups, b"f", 31.5)) < 100.0
    assert int(ask(ups, b"j", 31.5)[:-1]) < 105
    ups.mains_restore()
    assert ups.tick(32.0) == b"$"
    assert ask(ups, b"Q", 32.0) == b"08"
    assert ask(ups, b"L", 32.0) == b"235.3"


def test_alerts_come_before_the_reply_never_inside_it() -> None:
    ups = smart()
    ups.mains_fail()
    assert ups.feed(b"Q", 1.0) == b"!10\r\n"


def test_voltage_outside_the_transfer_points() -> None:
    ups = smart()
    ups.set("input.voltage", "270.0")
    assert ups.tick(1.0) == b"!"
    assert ask(ups, b"G", 1.0) == b"H"
    ups.mains_restore()
    assert ups.tick(2.0) == b"$"
    assert ask(ups, b"L", 2.0) == b"235.3"


def test_discharge_to_low_battery_and_recovery() -> None:
    ups = smart()
    ups.battery_charge(5.0)
    ups.mains_fail()
    assert ups.tick(1.0) == b"!"
    out = ups.tick(250.0)
    assert out.startswith(b"!") and out.endswith(b"%")
    assert ask(ups, b"Q", 250.0) == b"50"
    assert int(ask(ups, b"j", 250.0)[:-1]) <= 2
    ups.mains_restore()
    assert ups.tick(251.0) == b"$"
    assert ask(ups, b"Q", 251.0) == b"08"
    assert ups.tick(2000.0) == b"+"


def test_battery_low_event_and_exhaustion() -> None:
    ups = smart()
    ups.set("r", "180")
    ups.mains_fail()
    ups.battery_low()
    assert ups.tick(1.0) == b"!%"
    assert ups.tick(500.0) == b""  # empty: the output went off, the UPS is silent
    assert ups.feed(b"Y", 500.0) == b""
    assert "output: off" in ups.show()
    ups.mains_restore()
    assert ups.feed(b"Q", 501.0) == b""  # awake again, but dumb
    assert ups.feed(b"Y8", 501.0) == b"SM\r\n01\r\n"  # reg 3: off after LB shutdown
    ups.tick(600.0)
    assert ask(ups, b"Q", 600.0) == b"00"
    ups.tick(700.0)
    assert ask(ups, b"Q", 700.0) == b"08"  # r = 180 s after the power came back


def test_load_changes_runtime() -> None:
    ups = smart()
    ups.load(50.0)
    assert ask(ups, b"P", 0.0) == b"050.0"
    assert ask(ups, b"j", 0.0) == b"0026:"


# ---- tests and calibration -------------------------------------------------------------------


def test_self_test() -> None:
    ups = smart()
    assert ups.feed(b"W", 0.0) == b"OK\r\n"
    assert ups.tick(0.5) == b"!"
    assert ask(ups, b"Q", 0.5) == b"10"
    assert ask(ups, b"G", 0.5) == b"S"
    assert ups.tick(9.0) == b"$"
    assert ask(ups, b"X", 9.0) == b"OK"
    ups.tick(400.0)
    assert ask(ups, b"X", 400.0) == b"NO"


def test_self_test_toggle_and_failure_test() -> None:
    ups = smart()
    assert ups.feed(b"W", 0.0) == b"OK\r\n"
    assert ups.feed(b"W", 2.0) == b"!OK\r\n"
    assert ups.tick(2.1) == b"$"
    assert ups.feed(b"U", 3.0) == b"OK\r\n"
    assert ups.feed(b"U", 4.0) == b"!OK\r\n"
    assert ups.tick(12.0) == b"$"
    assert ask(ups, b"X", 12.0) == b"OK"  # from W; U leaves X alone
    ups.mains_fail()
    assert ups.feed(b"W", 13.0) == b"!NA\r\n"


def test_calibration() -> None:
    ups = smart()
    ups.battery_charge(90.0)
    assert ask(ups, b"D", 0.0) == b"NO"
    ups.battery_charge(100.0)
    assert ask(ups, b"D", 0.0) == b"OK"
    assert ups.feed(b"Q", 1.0) == b"!11\r\n"
    assert ups.feed(b"D", 2.0) == b"OK\r\n"
    assert ups.tick(3.0) == b"$"
    ups.load(100.0)
    ups.tick(4.0)
    ups.battery_charge(100.0)
    assert ask(ups, b"D", 5.0) == b"OK"
    assert ups.tick(6.0) == b"!"
    assert ups.tick(800.0) == b"$"  # ends at 25 %, then recharges
    assert 25.0 <= float(ask(ups, b"f", 800.0)) <= 28.0


def test_panel_test_and_bypass_listing() -> None:
    ups = smart()
    assert ask(ups, b"A", 0.0) == b"OK"
    matrix = SmartUps(commands=b"^Q~")
    matrix.feed(b"Y", 0.0)
    assert ask(matrix, b"^", 0.0) == b"BYP"
    assert ask(matrix, b"~", 0.0) == b"08"
    assert ask(matrix, b"^", 0.0) == b"INV"


# ---- shutdowns -----------------------------------------------------------------------


def test_s_only_on_battery_then_return_with_power() -> None:
    ups = smart()
    ups.set("ups.delay.start", "060")
    assert ask(ups, b"S", 0.0) == b"NA"
    ups.mains_fail()
    assert ups.feed(b"S", 1.0) == b"!OK\r\n"
    ups.tick(20.0)
    assert ask(ups, b"Q", 20.0) == b"10"
    assert ups.tick(21.5) == b""
    assert ups.feed(b"Y", 22.0) == b""  # silent: output off, no mains
    ups.mains_restore()
    assert ups.feed(b"YQ8", 23.0) == b"SM\r\n00\r\n10\r\n"  # reg 3: shut down by S
    ups.tick(81.0)
    assert ups.feed(b"Q", 81.0) == b"00\r\n"
    ups.tick(82.5)
    assert ups.feed(b"Q", 82.5) == b"08\r\n"  # r = 60 s after the power came back


def test_s_waits_for_the_return_charge() -> None:
    ups = smart()
    ups.set("e", "50")
    ups.battery_charge(20.0)
    ups.mains_fail()
    ups.feed(b"S", 0.0)
    ups.tick(30.0)
    ups.mains_restore()
    ups.feed(b"Y", 31.0)
    assert ask(ups, b"Q", 100.0) == b"00"
    ups.tick(4000.0)
    assert ask(ups, b"Q", 4000.0) == b"08"


def test_at_shutdown_on_line() -> None:
    ups = smart()
    assert ups.feed(b"@", 0.0) == b""
    assert ups.feed(b"0", 0.05) == b""
    assert ups.feed(b"0", 0.10) == b""
    assert ups.feed(b"1", 0.15) == b"OK\r\n"
    ups.tick(19.0)
    assert ask(ups, b"Q", 19.0) == b"08"
    ups.tick(20.2)
    assert [ask(ups, c, 20.2) for c in (b"Q", b"8", b"O", b"P")] == [
        b"00", b"08", b"000.0", b"000.0"]
    assert ask(ups, b"@", 21.0) == b"NA"  # asleep
    ups.tick(20.2 + 359.0)
    assert ask(ups, b"Q", 379.0) == b"00"
    ups.tick(381.0)
    assert ask(ups, b"Q", 381.0) == b"08"


def test_at_sequence_errors_and_timeout() -> None:
    ups = smart()
    ups.feed(b"@", 0.0)
    assert ups.feed(b"Y", 0.5) == b"NO\r\n"
    ups.feed(b"@", 1.0)
    ups.feed(b"0", 3.0)
    assert ups.feed(b"Q", 20.0) == b"08\r\n"  # the sequence timed out: Q is a query
    ups.feed(b"@", 30.0)
    ups.feed(b"00", 32.0)  # apcupsd: two digits, a read, then the third
    assert ups.feed(b"0", 36.0) == b"OK\r\n"


def test_k_needs_two_presses_and_stays_off() -> None:
    ups = smart()
    assert ups.feed(b"K", 0.0) == b""
    assert ups.feed(b"K", 0.5) == b""  # too soon: counts as a new first press
    assert ups.feed(b"K", 2.0) == b"OK\r\n"
    ups.tick(30.0)
    assert ask(ups, b"Q", 30.0) == b"00"
    ups.tick(5000.0)
    assert ask(ups, b"Q", 5000.0) == b"00"
    assert ups.feed(b"\x0e", 5001.0) == b""
    assert ups.feed(b"\x0e", 5002.5) == b""
    assert ask(ups, b"Q", 5003.0) == b"08"


def test_press_window_expires_and_other_bytes_cancel() -> None:
    ups = smart()
    ups.feed(b"K", 0.0)
    assert ups.feed(b"K", 11.0) == b""
    ups.feed(b"Q", 12.0)
    assert ups.feed(b"K", 12.5) == b""
    assert ask(ups, b"Q", 30.0) == b"08"


def test_z_turns_off_at_once_and_load_on_needs_line() -> None:
    ups = smart()
    ups.feed(b"Z", 0.0)
    assert ups.feed(b"Z", 1.5) == b""
    assert ask(ups, b"Q", 1.6) == b"00"
    ups2 = smart()
    ups2.mains_fail()
    assert ups2.feed(b"\x0e", 0.0) == b"!"
    assert ups2.feed(b"\x0e", 1.5) == b"NA\r\n"


def test_del_cancels_a_pending_shutdown() -> None:
    ups = smart()
    ups.mains_fail()
    ups.feed(b"S", 0.0)
    assert ask(ups, b"\x7f", 5.0) == b"OK"
    ups.tick(60.0)
    assert ask(ups, b"Q", 60.0) == b"10"


# ---- EEPROM --------------------------------------------------------------------------


def test_enum_cycling() -> None:
    ups = smart()
    assert ask(ups, b"u", 0.0) == b"253"
    assert ask(ups, b"-", 0.1) == b"OK"
    assert ask(ups, b"u", 0.2) == b"257"
    ups.feed(b"-", 0.3)
    ups.feed(b"-", 0.4)
    ups.feed(b"-", 0.5)
    assert ask(ups, b"u", 0.6) == b"253"
    assert ask(ups, b"+", 0.7) == b"OK"
    assert ask(ups, b"u", 0.8) == b"265"
    assert ups.tick(5.8) == b"|"
    assert ask(ups, b"L", 6.0) == b"235.3"
    assert ask(ups, b"-", 6.1) == b"NO"
    assert ups.choices(b"q") == ["02", "05", "07", "10"]
    assert ask(ups, b"z", 7.0) == b"CLEAR"
    assert ask(ups, b"u", 7.1) == b"253"


def test_enum_value_outside_the_caps_goes_to_the_first() -> None:
    ups = smart()
    ups.set("u", "264")
    ups.feed(b"u-", 0.0)
    assert ask(ups, b"u", 0.1) == b"253"
    rt = SmartUps.from_dev((FIXTURES / "smart-ups-rt-3000-xl.dev").read_bytes())
    rt.feed(b"Y", 0.0)
    assert rt.locale() == "W"
    assert ask(rt, b"u", 0.0) == b"NA"
    assert ask(rt, b"-", 0.0) == b"NO"


def test_string_write_like_nut_and_apcupsd() -> None:
    ups = smart()
    assert ask(ups, b"c", 0.0) == b"UPS_IDEN"
    assert ups.feed(b"-", 0.1) == b""
    for i, byte in enumerate(b"adler\r\r"):
        assert ups.feed(bytes((byte,)), 0.2 + i * 0.05) == b""
    assert ups.feed(b"\r", 0.6) == b"OK\r\n"
    assert ask(ups, b"c", 0.7) == b"adler"
    assert ups.tick(5.7) == b"|"
    ups.feed(b"x-", 10.0)
    for i, byte in enumerate(b"01/02/0 "):  # apcupsd: spaces, 1 s apart
        ups.feed(bytes((byte,)), 11.0 + i)
    assert ask(ups, b"x", 20.0) == b"01/02/0 "
    ups.feed(b"c-", 21.0)
    assert ups.feed(b"\r" * 8, 21.5) == b"NO\r\n"
    assert ask(ups, b"c", 22.0) == b"adler"


# ---- cable, noise, scripting ------------------------------------------------------------


def test_unplugged_answers_nothing_and_loses_alerts() -> None:
    ups = smart()
    ups.unplug()
    ups.mains_fail()
    assert ups.feed(b"Q", 1.0) == b""
    assert ups.tick(2.0) == b""
    assert "mode: unplugged" in ups.show()
    ups.plug()
    assert ups.feed(b"Q", 3.0) == b"10\r\n"


def test_random_garbage() -> None:
    noise = random_garbage(64, random.Random(1))
    assert len(noise) == 64
    assert noise == random_garbage(64, random.Random(1))


def test_set_and_show() -> None:
    ups = smart()
    ups.set("battery.charge", "50")
    assert ask(ups, b"f", 0.0) == b"050.0"
    ups.set("ups.test.interval", "604800")
    assert ask(ups, b"E", 0.0) == b"168"
    ups.set("X", "BT")
    assert ask(ups, b"X", 0.0) == b"BT"
    ups.set("ups.status", "OL RB")
    assert ask(ups, b"Q", 0.0) == b"88"
    ups.set("battery.runtime", "600")
    assert ask(ups, b"j", 0.0) == b"0010:"
    with pytest.raises(ValueError):
        ups.set("battery.runtime", "soon")
    lines = ups.show()
    assert "output: on" in lines
    assert "last command: j" in lines
    assert "status: 88 (OL RB)" in lines
    assert all(": " in line for line in lines)


# ---- round trip: dump -> engine -> codec -> the dump's values -----------------------------


def nut_walk(ups: SmartUps, now: float = 0.0) -> tuple[dict[str, str], bytes]:
    """Discover and read a unit as NUT's apcsmart does, through the splitter and codec.

    Returns what would be published, and the queries whose replies were rejected.
    """
    splitter = Splitter()

    def read(cmd: bytes, mode: ReadMode = ReadMode.ALERTS) -> bytes:
        splitter.expect(mode)
        events = splitter.feed(ups.feed(cmd, now))
        lines = [e.data for e in events if isinstance(e, ReplyLine)]
        assert len(lines) == 1, (cmd, events)
        return lines[0]

    assert read(b"Y") == b"SM"
    cmdset = parse_cmdset(read(b"a", ReadMode.RAW))
    assert cmdset is not None
    found = discover(cmdset.commands)
    published: dict[str, str] = {}
    rejected = bytearray()
    for cmd in found.queries:
        reading = decode(bytes((cmd,)), read(bytes((cmd,))))
        if reading.outcome is Outcome.BAD:
            rejected.append(cmd)
        for name, value in reading.values.items():
            published.setdefault(name, value)  # b before V: the first row wins
    firmware = read(b"b")
    if decode(b"b", firmware).outcome is Outcome.VALUE:
        published["ups.firmware"] = firmware.decode()
    status = parse_register(read(b"Q"))
    assert status is not None
    published["ups.status"] = " ".join(status_tokens(status))
    if found.caps:
        entries = parse_caps(read(b"\x1a", ReadMode.CAPS))
        assert entries is not None
        locale = firmware_locale(published.get("ups.firmware", ""))
        for name, enum in caps_enums(entries, locale, published).items():
            published[f"{name}/enum"] = " ".join(enum)
    return published, bytes(rejected)


@pytest.mark.parametrize("dump", DUMPS)
def test_round_trip_of_a_device_dump(dump: str) -> None:
    variables = dev_variables((FIXTURES / dump).read_bytes())
    published, rejected = nut_walk(SmartUps.from_dev((FIXTURES / dump).read_bytes()))
    assert rejected == (b"n" if dump.startswith("matrix") else b"")
    mapped = {name: value for name, value in variables.items()
              if encode(name, value) is not None}
    assert len(mapped) >= 5
    for name, value in mapped.items():
        if set(value) & ALERT_CHARS:
            # The Matrix dump's serial is "********": '*' is an alert byte,
            # so no such reply survives the line (NUT itself drops it).
            assert published.get(name) != value
            continue
        if name == "input.transfer.reason":
            # NUT 2.2 published the bare letter; newer versions the text.
            value = TRANSFER_REASONS.get(value, value)
        assert published.get(name) == value, name


def test_round_trip_of_the_default_unit() -> None:
    published, rejected = nut_walk(SmartUps())
    assert rejected == b""
    assert published["battery.runtime"] == "6300"
    assert published["battery.runtime.low"] == "120"
    assert published["ups.test.interval"] == "1209600"
    assert published["ups.status"] == "OL"
    assert published["ups.firmware"] == "60.11.I"
    assert published["input.transfer.high/enum"] == "253 257 261 265"
    assert published["input.transfer.low/enum"] == "208 204 200 196"
    assert published["ups.model"] == "SMART-UPS 1000"
    assert published["input.transfer.reason"] == "no transfers yet since turnon"
    assert "ups.firmware.aux" not in published


def test_dump_loader_skips_driver_lines_and_comments() -> None:
    variables = dev_variables(b"# c\ndriver.name: apcsmart\nups.id: a b\nTIMER 5\n")
    assert variables == {"ups.id": "a b"}


def test_engine_alert_bytes_decode_through_the_splitter() -> None:
    ups = smart()
    ups.mains_fail()
    ups.battery_low()
    events = Splitter().feed(ups.feed(b"Q", 1.0))
    assert events == [AlertEvent(Alert.LINE_FAIL), AlertEvent(Alert.LOW_BATTERY),
                      ReplyLine(b"50", interrupted=True)]


def test_show_names_control_bytes() -> None:
    ups = smart()
    ups.feed(b"\x01", 0.0)
    assert "last command: ^A" in ups.show()
    ups.feed(b"\x7f", 0.0)
    assert "last command: DEL" in ups.show()
    ups.feed(b"\x9f", 0.0)
    assert "last command: 0x9F" in ups.show()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.binary(max_size=24), st.floats(0.0, 30.0)), max_size=12))
def test_engine_survives_any_bytes(chunks: list[tuple[bytes, float]]) -> None:
    ups = smart()
    now = 0.0
    for data, delay in chunks:
        now += delay
        out = ups.feed(data, now) + ups.tick(now)
        for event in Splitter().feed(out):
            if isinstance(event, ReplyLine):
                assert event.data  # never an empty reply line
    assert all(": " in line for line in ups.show())
