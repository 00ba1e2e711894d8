"""The APC Smart codec on literal bytes: splitting, decoding, capabilities, commands."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nutpy.protocols.apcsmart.capabilities import (
    OLD_PROBE,
    CapEntry,
    Legacy,
    caps_enums,
    discover,
    firmware_locale,
    legacy_lookup,
    parse_caps,
    parse_cmdset,
)
from nutpy.protocols.apcsmart.commands import (
    AT_RECOVERY,
    ENUM_STEP,
    NASTY,
    Expect,
    NastyGuard,
    Step,
    UnknownCommand,
    at_steps,
    instcmd_steps,
    killpower_plan,
    needs_at_recovery,
    string_write_steps,
)
from nutpy.protocols.apcsmart.confirm import CLAIMS
from nutpy.protocols.apcsmart.firmware import model_from_firmware
from nutpy.protocols.apcsmart.framing import AlertEvent, Overflow, ReadMode, ReplyLine, Splitter
from nutpy.protocols.apcsmart.status import (
    ALERT_MEANINGS,
    CAL,
    LB,
    OB,
    OL,
    OVER,
    RB,
    TRIM,
    Alert,
    parse_register,
    parse_status,
    status_bits,
    status_tokens,
)
from nutpy.protocols.apcsmart.variables import (
    GARBLED,
    NOT_AVAILABLE,
    POLL_ORDER,
    QUERY_BYTES,
    Outcome,
    decode,
    decode_dual,
    encode,
    encode_all,
    specs_for,
)

# Section 5.2: the real SU420 capture, and its section 5.1 command list.
SU420_CAPS = (
    b"#uD43127130133136uA43108110112114uI43253257261265lD43106103100097"
    b"lA43092090088086lI43208204200196e44200155090oD13115oA13100oI13230"
    b"s441HMLLq44202050710p443020180300600k4410TLNr443000060180300E443336168ON OFF")
SU420_CMDSET = (b"3.!$%+?=#|.\x01\x0e\x1a')+-89@ABDEFGKLMNOPQRSUVWXYZabcdefgjklmnopqrsuxyz~")

# Valid replies (section 7) for the queries whose format leaves no room for
# a stray byte to make another valid value.
STRUCTURED = {
    b"Q": b"08", b"9": b"FF", b"L": b"235.3", b"M": b"237.9", b"N": b"234.0",
    b"O": b"235.3", b"F": b"50.00", b"P": b"012.4", b"f": b"100.0", b"B": b"27.87",
    b"g": b"024", b"j": b"0105:", b"C": b"032.8", b"G": b"O", b"X": b"NO", b"u": b"253",
    b"l": b"196", b"o": b"230", b"e": b"00", b"s": b"H", b"p": b"020", b"r": b"000",
    b"q": b"02", b"k": b"0", b"E": b"336", b">": b"000", b"T": b"123.4",
}


def values(cmd: bytes, line: bytes) -> dict[str, str]:
    reading = decode(cmd, line)
    assert reading.outcome is Outcome.VALUE, (cmd, line, reading)
    return reading.values


# ---- splitter -----------------------------------------------------------------


def test_splitter_reply_lines_drop_cr() -> None:
    s = Splitter()
    assert s.feed(b"235.3\r\n") == [ReplyLine(b"235.3")]
    assert s.feed(b"SM\n") == [ReplyLine(b"SM")]


def test_splitter_alert_before_and_inside_a_line_marks_the_line() -> None:
    s = Splitter()
    assert s.feed(b"!1") == [AlertEvent(Alert.LINE_FAIL)]
    assert s.pending == b"1"
    assert s.feed(b"%0\r\n$") == [AlertEvent(Alert.LOW_BATTERY),
                                  ReplyLine(b"10", interrupted=True),
                                  AlertEvent(Alert.LINE_RESTORED)]
    assert s.feed(b"08\r\n") == [ReplyLine(b"08", interrupted=True)]  # $ came before it
    assert s.feed(b"08\r\n") == [ReplyLine(b"08")]
    s.feed(b"!")
    s.clear()  # a new command: the alert was before it
    assert s.feed(b"08\r\n") == [ReplyLine(b"08")]


def test_splitter_every_alert_byte() -> None:
    events = Splitter().feed(b"!$%+#?=&|*")
    assert [e.alert for e in events if isinstance(e, AlertEvent)] == list(Alert)


def test_splitter_caps_mode_keeps_hash_for_one_line() -> None:
    s = Splitter()
    s.expect(ReadMode.CAPS)
    assert s.feed(b"#uI43253257261265|\r\n#") == [
        AlertEvent(Alert.EEPROM_CHANGED), ReplyLine(b"#uI43253257261265", interrupted=True),
        AlertEvent(Alert.REPLACE_BATTERY)]


def test_splitter_raw_mode_for_the_command_list() -> None:
    s = Splitter()
    s.expect(ReadMode.RAW)
    assert s.feed(SU420_CMDSET + b"\r\n!") == [ReplyLine(SU420_CMDSET),
                                              AlertEvent(Alert.LINE_FAIL)]


def test_splitter_overflow_and_clear() -> None:
    s = Splitter()
    assert s.feed(b"x" * 600 + b"\n") == [Overflow()]
    assert s.feed(b"OK\n") == [ReplyLine(b"OK")]
    s.feed(b"garbage")
    s.clear()
    assert s.feed(b"\n") == [ReplyLine(b"")]


# ---- decoding -----------------------------------------------------------------


def test_raw_values_pass_through() -> None:
    assert values(b"L", b"235.3") == {"input.voltage": "235.3"}
    assert values(b"P", b"012.4") == {"ups.load": "012.4"}
    assert values(b"p", b"020") == {"ups.delay.shutdown": "020"}
    assert values(b"\x01", b"SMART-UPS 1000") == {"ups.model": "SMART-UPS 1000"}
    assert values(b"c", b"UPS_IDEN") == {"ups.id": "UPS_IDEN"}
    assert values(b"9", b"FF") == {"input.quality": "FF"}
    assert values(b"/", b"09.31") == {"output.current": "09.31"}
    assert values(b"C", b"-05.0") == {"ups.temperature": "-05.0"}


def test_minutes_and_hours_become_seconds() -> None:
    assert values(b"j", b"0105:") == {"battery.runtime": "6300"}
    assert values(b"j", b"0105") == {"battery.runtime": "6300"}
    assert values(b"q", b"02") == {"battery.runtime.low": "120"}
    assert values(b"E", b"336") == {"ups.test.interval": "1209600"}
    assert values(b"E", b"ON ") == {"ups.test.interval": "0"}
    assert values(b"E", b"OFF") == {"ups.test.interval": "0"}


def test_transfer_reason_letters() -> None:
    assert values(b"G", b"O") == {"input.transfer.reason": "no transfers yet since turnon"}
    assert values(b"G", b"S") == {
        "input.transfer.reason": "simulated power failure or UPS test"}
    assert values(b"G", b"Z") == {"input.transfer.reason": "Z"}
    assert decode(b"G", b"NA").outcome is Outcome.NA


def test_na_and_garbled() -> None:
    assert decode(b"L", b"NA") == NOT_AVAILABLE
    for cmd, line in [(b"L", b""), (b"L", b"23x.5"), (b"j", b"01:05"), (b"Q", b"SM"),
                      (b"E", b"33 6"), (b"c", b"TOOLONGID"), (b"\x01", b"bad\x07model"),
                      (b"w", b"123"), (b"H", b""), (b"[", b"")]:
        assert decode(cmd, line) == GARBLED, (cmd, line)


def test_t_is_temperature_or_uptime() -> None:
    assert values(b"T", b"23.45") == {"ambient.1.temperature": "23.45"}
    assert values(b"T", b"123.4") == {"device.uptime": str(123 * 3600)}
    assert decode(b"T", b"23.45,24.00").outcome is Outcome.BAD


def test_packed_values() -> None:
    assert values(b"H", b"NO,NO") == {"ambient.1.humidity": "NO", "ambient.2.humidity": "NO"}
    assert values(b"[", b"40.0,,35") == {
        "ambient.1.temperature.high": "40.0", "ambient.2.temperature.high": "N/A",
        "ambient.3.temperature.high": "35"}
    assert len(values(b"}", b"1,2,3,4,5")) == 4  # NUT's apcsmart reads at most four packs


def test_poll_and_probe_lists_are_queries() -> None:
    assert set(POLL_ORDER) - {ord("Q")} <= {q[0] for q in QUERY_BYTES}
    assert {bytes((b,)) for b in OLD_PROBE} <= QUERY_BYTES


def test_firmware_b_needs_three_parts() -> None:
    assert values(b"b", b"60.11.I") == {"ups.firmware": "60.11.I"}
    assert decode(b"b", b"6011I").outcome is Outcome.BAD
    assert values(b"V", b"IWI") == {"ups.firmware": "IWI"}


def test_frequency_renamed_with_dual_byte_frequency() -> None:
    assert decode(b"F", b"50.00", output_frequency=True).values == {
        "output.frequency": "50.00"}
    assert decode_dual(b"\x9f\xd4", b"01.2").values == {"battery.current": "01.2"}
    assert decode_dual(b"\x9f\xd3", b"NA").outcome is Outcome.NA
    assert decode_dual(b"\x9f\xd3", b"x").outcome is Outcome.BAD
    assert decode_dual(b"\x9f\x00", b"1").outcome is Outcome.BAD


def test_encode_inverts_decode() -> None:
    assert encode("battery.runtime", "6300") == (b"j", "0105:")
    assert encode("battery.runtime.low", "120") == (b"q", "02")
    assert encode("ups.test.interval", "1209600") == (b"E", "336")
    assert encode("ups.test.interval", "0") == (b"E", "OFF")
    assert encode("device.uptime", "7200") == (b"T", "002.0")
    assert encode("input.transfer.reason", "high utility voltage") == (b"G", "H")
    assert encode("input.transfer.reason", "S") == (b"G", "S")
    assert encode("ups.firmware", "601.3.I") == (b"b", "601.3.I")
    assert encode("ups.firmware", "IWI") == (b"V", "IWI")
    assert encode("ups.status", "OL TRIM") == (b"Q", "0A")
    assert encode("output.frequency", "50.00") == (b"F", "50.00")
    assert encode("ambient.2.humidity", "45.0") == (b"H", "45.0")
    assert encode("battery.runtime", "61") is None
    assert encode("ups.test.interval", "soon") is None
    assert encode("device.mfr", "APC") is None


def test_encode_all_packs_ambient_values() -> None:
    raw = encode_all({"ambient.1.humidity": "40.0", "ambient.3.humidity": "N/A",
                            "ups.mfr": "APC", "ups.load": "004.5"})
    assert raw == {b"H": "40.0,,", b"P": "004.5"}


# ---- status --------------------------------------------------------------------


@pytest.mark.parametrize(("reply", "tokens"), [
    (b"08", ["OL"]), (b"10", ["OB"]), (b"50", ["OB", "LB"]), (b"0A", ["TRIM", "OL"]),
    (b"0C", ["BOOST", "OL"]), (b"00", ["OFF"]), (b"11", ["CAL", "OB"]),
    (b"FF", ["CAL", "TRIM", "BOOST", "OL", "OB", "OVER", "LB", "RB"]), (b"88", ["OL", "RB"]),
])
def test_status_register(reply: bytes, tokens: list[str]) -> None:
    status = parse_register(reply)
    assert status is not None
    assert status_tokens(status) == tokens
    assert status_bits(tokens) == status


def test_status_register_rejects_garbage() -> None:
    for line in (b"SM", b"8", b"008", b"0G", b""):
        assert parse_register(line) is None


def test_a_q_reply_that_contradicts_itself_is_no_status() -> None:
    """On line and on battery, trim and boost, either on battery: one noise byte
    away from 08 or 10, never a status (though a register)."""
    for reply in (b"18", b"FF", b"06", b"12", b"14", b"0E", b"1A", b"58"):
        assert parse_register(reply) is not None and parse_status(reply) is None, reply
    for reply in (b"08", b"10", b"50", b"0A", b"0C", b"00", b"11", b"88", b"02", b"28"):
        assert parse_status(reply) == int(reply, 16)
    assert parse_status(b"0G") is None


@pytest.mark.parametrize(("alert", "bears_out", "does_not"), [
    (Alert.LINE_FAIL, [OB, OB | LB, OB | CAL], [OL, OL | OB, 0]),
    (Alert.LINE_RESTORED, [OL, OL | TRIM], [OB, 0]),
    (Alert.LOW_BATTERY, [OB | LB], [OL | LB, LB, OB]),  # low battery only on battery
    (Alert.LOW_BATTERY_CLEARED, [OB, OL], [OB | LB]),
    (Alert.REPLACE_BATTERY, [OL | RB], [OL]),
    (Alert.ABNORMAL, [OL | OVER], [OL]),
    (Alert.ABNORMAL_CLEARED, [OL], [OL | OVER]),
])
def test_each_status_alert_claims_what_nuts_handler_flips(alert: Alert, bears_out: list[int],
                                                         does_not: list[int]) -> None:
    assert all(CLAIMS[alert].borne_out(status) for status in bears_out)
    assert not any(CLAIMS[alert].borne_out(status) for status in does_not)


def test_alerts_that_claim_no_status() -> None:
    assert {Alert.MEASURE_UPS_ALARM, Alert.EEPROM_CHANGED, Alert.TURNING_OFF}.isdisjoint(CLAIMS)
    assert ALERT_MEANINGS[Alert.LINE_FAIL] == "line fail, on battery"


# ---- capabilities --------------------------------------------------------------


def test_cmdset_of_a_real_su420() -> None:
    cmdset = parse_cmdset(SU420_CMDSET)
    assert cmdset is not None
    assert cmdset.version == 3
    assert cmdset.alerts == b"!$%+?=#|"
    assert cmdset.commands.startswith(b"\x01\x0e\x1a')")
    found = discover(cmdset.commands)
    assert found.queries == b"\x019BEFGLMNOPVXbcefgjklmnopqrsux"
    assert found.instcmds == ("load.on", "shutdown.return", "test.panel.start",
                              "calibrate.start", "calibrate.stop", "shutdown.stayoff",
                              "test.failure.start", "test.battery.start",
                              "test.battery.stop", "load.off")
    assert found.unrecognized == b"d"
    assert found.caps


def test_cmdset_dual_byte_section_and_rejects() -> None:
    cmdset = parse_cmdset(b"3.!$.QLF.\x9f:\xd3\xd4")
    assert cmdset is not None
    assert cmdset.dual == (b"\x9f\xd3", b"\x9f\xd4")
    for line in (b"NA", b"", b"3.abc", b"x.!.Q", b"3.!.Q.a.b"):
        assert parse_cmdset(line) is None


def test_caps_of_a_real_su420() -> None:
    entries = parse_caps(SU420_CAPS)
    assert entries is not None
    assert len(SU420_CAPS) == 206
    assert entries[2] == CapEntry(b"u", "I", ("253", "257", "261", "265"))
    assert entries[-1] == CapEntry(b"E", "4", ("336", "168", "ON ", "OFF"))
    present = {"input.transfer.high", "input.transfer.low", "battery.runtime.low",
               "ups.test.interval", "output.voltage.nominal", "ups.delay.shutdown"}
    enums = caps_enums(entries, firmware_locale("60.11.I"), present)
    assert enums == {
        "input.transfer.high": ["253", "257", "261", "265"],
        "input.transfer.low": ["208", "204", "200", "196"],
        "output.voltage.nominal": ["230"],
        "battery.runtime.low": ["120", "300", "420", "600"],
        "ups.delay.shutdown": ["020", "180", "300", "600"],
        "ups.test.interval": ["1209600", "604800", "0"],  # "ON " and OFF: one 0
    }


def test_caps_matrix_overflow_and_short_counts() -> None:
    assert parse_caps(b"##uI23253261##lI13208") == [
        CapEntry(b"u", "I", ("253", "261")), CapEntry(b"l", "I", ("208",))]
    assert parse_caps(b"#uI43253") is None
    assert parse_caps(b"#uI13253lI", tolerate_overflow=True) == [
        CapEntry(b"u", "I", ("253",))]
    assert parse_caps(b"#u4 3") == [CapEntry(b"u", "4", ())]
    assert parse_caps(b"NA") is None
    assert parse_caps(b"#uI1\x013") is None


def test_caps_running_past_their_end() -> None:
    assert parse_caps(b"#uI") is None  # an entry's 4 bytes do not fit
    assert parse_caps(b"#uI", tolerate_overflow=True) == []
    assert parse_caps(b"#uI43253") is None  # its values do not fit
    assert parse_caps(b"#uI43253", tolerate_overflow=True) == []
    assert parse_caps(b"#u41 ") == [CapEntry(b"u", "4", ("",))]  # a width below '0' is 0
    assert parse_caps(b"##uI13253##") is None  # a Matrix unit's ## with nothing after


def test_caps_are_printable_ascii_after_a_hash() -> None:
    assert parse_caps(b"#k411~") == [CapEntry(b"k", "4", ("~",))]  # '~' is the last printable
    assert parse_caps(b"#k411 ") == [CapEntry(b"k", "4", (" ",))]
    assert parse_caps(b"k411~") is None  # no '#': not a capability string
    for bad in (b"\x1f", b"\x7f", b"\x80", b"\xff"):
        assert parse_caps(b"#k411" + bad) is None, bad


def test_caps_ignore_packed_and_foreign_locales() -> None:
    entries = [CapEntry(b"H", "4", ("1",)), CapEntry(b"u", "D", ("127",))]
    assert caps_enums(entries, "I", {"ambient.0.humidity", "input.transfer.high"}) == {}


# ---- firmware -------------------------------------------------------------------


def test_legacy_compatibility_table() -> None:
    assert legacy_lookup("8QD") == Legacy(
        "Smart-UPS", b"@79ABCDEFGKLMNOPQRSUVWXYZcefgjklmnopqrsuxz")
    matrix = legacy_lookup("0XI")
    assert matrix is not None and matrix.model == "Matrix-UPS"
    assert legacy_lookup("1F") == Legacy("Smart-UPS", b"@789ABCFGKLMNOPQRSUVWXYZ")
    assert legacy_lookup("IWI") is None


# ---- instant commands -------------------------------------------------------------


def test_double_press_commands() -> None:
    assert instcmd_steps("shutdown.stayoff") == [
        Step(b"K", Expect.SILENCE, 0.2, 1.3),
        Step(b"K", Expect.OK, 1.5, 0.0, star_ok=True)]
    off = instcmd_steps("load.off")
    assert off == [Step(b"Z", Expect.SILENCE, 0.2, 1.3),
                   Step(b"Z", Expect.OK_OR_SILENCE, 1.5, 0.0, star_ok=True)]
    assert off[1].accepts(b"*")
    assert off[1].accepts(None) and off[1].accepts(b"OK") and not off[1].accepts(b"NA")
    on = instcmd_steps("LOAD.ON")
    assert [s.send for s in on] == [b"\x0e", b"\x0e"] and on[1].expect is Expect.NOTHING


def test_shutdown_return_variants() -> None:
    assert instcmd_steps("shutdown.return") == [Step(b"S", Expect.OK, 1.5, star_ok=True)]
    at = instcmd_steps("shutdown.return", "at:1")
    assert b"".join(s.send for s in at) == b"@001"
    assert at[0] == Step(b"@", Expect.SILENCE, 0.2)
    assert at[1] == Step(b"0", Expect.NOTHING, 0.0, 0.05)
    assert at[-1].expect is Expect.OK and at[-1].star_ok
    assert b"".join(s.send for s in instcmd_steps("shutdown.return", "AT:12")) == b"@12"
    assert b"".join(s.send for s in at_steps("123")) == b"@123"
    cs = instcmd_steps("shutdown.return", "cs", status=OL)
    assert cs == [Step(b"U", Expect.ANY, 1.5, 3.5), Step(b"S", Expect.OK, 1.5, star_ok=True)]
    assert cs[0].accepts(None)  # U's answer is eaten, or its silence
    assert [s.send for s in instcmd_steps("shutdown.return", "CS", status=OB)] == [
        b"S"]
    assert AT_RECOVERY.send == b"Y"
    assert needs_at_recovery(instcmd_steps("shutdown.return", "at:12"))
    assert not needs_at_recovery(instcmd_steps("shutdown.return", "at:1"))
    assert not needs_at_recovery(instcmd_steps("shutdown.return", "cs",
                                                           status=OL))
    with pytest.raises(UnknownCommand):
        instcmd_steps("shutdown.return", "at:1234")


def test_calibration_depends_on_the_status() -> None:
    assert instcmd_steps("calibrate.start", status=OL) == [
        Step(b"D", Expect.NOT_REFUSED, 3.0)]
    assert instcmd_steps("calibrate.start", status=OB | CAL) == []
    assert instcmd_steps("calibrate.stop", status=OL) == []
    assert [s.send for s in instcmd_steps("calibrate.stop", status=0x11)] == [b"D"]
    with pytest.raises(UnknownCommand):
        instcmd_steps("calibrate.start")


@pytest.mark.parametrize(("name", "byte"), [
    ("test.battery.start", b"W"), ("test.battery.stop", b"W"), ("test.panel.start", b"A"),
    ("test.failure.start", b"U"), ("bypass.start", b"^"), ("bypass.stop", b"^")])
def test_simple_commands(name: str, byte: bytes) -> None:
    assert instcmd_steps(name) == [Step(byte, Expect.OK, 3.0)]


def test_unknown_commands_and_parameters() -> None:
    with pytest.raises(UnknownCommand, match=re.escape("unknown command beeper.toggle")):
        instcmd_steps("beeper.toggle")
    with pytest.raises(UnknownCommand, match=re.escape("load.off takes no parameter")):
        instcmd_steps("load.off", "now")
    with pytest.raises(UnknownCommand, match=re.escape("calibrate.stop needs the status register")):
        instcmd_steps("calibrate.stop")
    with pytest.raises(UnknownCommand, match=re.escape("shutdown.return: bad parameter 'at:x'")):
        instcmd_steps("shutdown.return", "at:x")


def test_step_accepts() -> None:
    silence = Step(b"K", Expect.SILENCE, 0.2)
    assert silence.accepts(None) and not silence.accepts(b"NA")
    ok = Step(b"S", Expect.OK, 1.5, star_ok=True)
    assert ok.accepts(b"OK") and ok.accepts(b"*") and not ok.accepts(None)
    assert not Step(b"W", Expect.OK).accepts(b"*")
    refused = Step(b"D", Expect.NOT_REFUSED)
    assert refused.accepts(b"OK") and not refused.accepts(b"NO") and not refused.accepts(None)
    assert not refused.accepts(b"NA") and refused.accepts(b"na")
    assert Step(b"U", Expect.ANY).accepts(None)


def test_string_write_steps() -> None:
    steps = string_write_steps("adler")
    assert b"".join(s.send for s in steps) == b"-adler\r\r\r"
    assert steps[1] == Step(b"a", Expect.NOTHING, 0.0, 0.05)
    assert len(string_write_steps(" ~")) == 9  # the first and last printable characters
    assert steps[0] == Step(b"-", Expect.SILENCE, 0.2)
    assert all(s.delay_after == 0.05 for s in steps[1:-1])
    assert steps[-1] == Step(b"\r", Expect.OK, 3.0)
    assert len(string_write_steps("12345678")) == 9
    for bad in ("123456789", "tab\there", "\x7f", "\x1f"):
        with pytest.raises(ValueError, match="not an 8-character printable value"):
            string_write_steps(bad)
    assert Step(b"-", Expect.OK, 3.0) == ENUM_STEP


def test_nasty_commands_need_a_second_try_3_to_15_s_later() -> None:
    guard = NastyGuard()
    assert not guard.allow(100.0)
    assert not guard.allow(101.0)
    assert guard.allow(105.0)
    assert guard.allow(108.0) and guard.allow(123.0)  # exactly 3 s, exactly 15 s: NUT's window
    assert not guard.allow(125.99) and not guard.allow(141.01)
    assert not guard.allow(121.0)
    assert guard.allow(136.0)
    assert "load.off" in NASTY


# ---- killpower: NUT apcsmart's upsdrv_shutdown, as a table ----------------------
# From NUT's drivers/apcsmart.c (upsdrv_shutdown_simple and _advanced): sdtype
# 0 (the default) sends @awd on line and S otherwise; 1 sends S on battery and
# @awd if S fails (or at once on line); 2 is Z Z, 3 is K K, 4 the CS hack (U,
# then S, on line; S alone otherwise), 5 @awd.  advorder, unless it starts
# with N, is tried digit by digit: 0 S, 1 @awd, 2 K K, 3 Z Z, 4 CS.

def _plan(status: int, **options: str) -> list[tuple[bytes, bool]]:
    """Each method's bytes on the wire, and whether the output comes back by itself."""
    return [(b"".join(step.send for step in method.steps), method.returns)
            for method in killpower_plan(status, **options)]


S, AT, KK, ZZ = (b"S", True), (b"@000", True), (b"KK", False), (b"ZZ", False)


Plan = list[tuple[bytes, bool]]


@pytest.mark.parametrize(("sdtype", "on_line", "on_battery", "neither"), [
    (None, [AT], [S], [S]), ("0", [AT], [S], [S]), ("1", [AT], [S, AT], [AT]),
    ("2", [ZZ], [ZZ], [ZZ]), ("3", [KK], [KK], [KK]), ("4", [(b"US", True)], [S], [S]),
    ("5", [AT], [AT], [AT])])
def test_killpower_plan_for_each_sdtype(sdtype: str | None, on_line: Plan, on_battery: Plan,
                                        neither: Plan) -> None:
    options = {} if sdtype is None else {"sdtype": sdtype}
    assert _plan(OL, **options) == on_line
    assert _plan(OB | LB, **options) == on_battery
    assert _plan(0, **options) == neither  # the register says neither OL nor OB


def test_killpower_plan_of_advorder_and_awd() -> None:
    assert _plan(OL, advorder="01234") == [S, AT, KK, ZZ, (b"US", True)]
    assert _plan(OB, advorder="43210", sdtype="5") == [S, ZZ, KK, AT, S]  # advorder wins
    assert _plan(OL, advorder="1", awd="7") == [(b"@007", True)]
    assert _plan(OL, advorder="1", awd="12") == [(b"@12", True)]  # 2 digits stay 2
    assert _plan(OL, advorder="N", sdtype="2") == [ZZ]  # N: the simple sdtype instead
    assert _plan(OL, advorder="n1") == [AT]
    assert _plan(OL, advorder="") == [AT]
    assert [m.name for m in killpower_plan(OL, advorder="01234", awd="5")] == [
        "soft hibernate (S)", "hard hibernate (@5)", "delayed poweroff (K K)",
        "instant poweroff (Z Z)", "forced on-battery soft hibernate (U, S)"]
    # sdtype 1 on battery: S, then @awd (the forced CS hack would send the same S).
    assert [m.name for m in killpower_plan(OB, sdtype="1")] == [
        "soft hibernate (S)", "hard hibernate (@000)"]
    for bad, message in [({"sdtype": "6"}, "sdtype '6': 0 to 5 only"),
                         ({"sdtype": "x"}, "sdtype 'x': 0 to 5 only"),
                         ({"advorder": "015"}, "advorder '015': digits 0-4 only"),
                         ({"advorder": "0a"}, "advorder '0a': digits 0-4 only"),
                         ({"awd": "1234"}, "awd '1234': up to 3 digits"),
                         ({"awd": "1a"}, "awd '1a': up to 3 digits"),
                         ({"awd": ""}, "awd '': up to 3 digits")]:
        with pytest.raises(ValueError) as refused:
            killpower_plan(OL, **bad)
        assert str(refused.value) == message
    assert _plan(OL, awd="123") == [(b"@123", True)]


# ---- noise ---------------------------------------------------------------------------

_ALL_QUERIES = sorted(QUERY_BYTES)
_PRINTABLE = frozenset(range(0x20, 0x7F))


@given(st.binary(max_size=300), st.sampled_from(list(ReadMode)))
def test_noise_never_raises_and_values_are_clean(noise: bytes, mode: ReadMode) -> None:
    splitter = Splitter()
    splitter.expect(mode)
    for event in splitter.feed(noise):
        if not isinstance(event, ReplyLine):
            continue
        assert b"\r" not in event.data and b"\n" not in event.data
        parse_cmdset(event.data)
        parse_caps(event.data)
        parse_register(event.data)
        for cmd in _ALL_QUERIES:
            reading = decode(cmd, event.data)
            if reading.outcome is Outcome.VALUE:
                spec = next(s for s in specs_for(cmd) if s.pattern.fullmatch(event.data))
                assert all(set(v.encode()) <= _PRINTABLE for v in reading.values.values())
                assert spec.name.split(".")[0] in {k.split(".")[0] for k in reading.values}
            else:
                assert not reading.values


@given(st.sampled_from(sorted(STRUCTURED)), st.data())
def test_a_stray_byte_never_yields_a_wrong_value(cmd: bytes, data: st.DataObject) -> None:
    good = STRUCTURED[cmd]
    position = data.draw(st.integers(0, len(good)))
    stray = data.draw(st.integers(0, 255).filter(lambda b: b not in b"0123456789.-\n"))
    line = good[:position] + bytes((stray,)) + good[position:] + b"\r\n"
    replies = [e for e in Splitter().feed(line) if isinstance(e, ReplyLine)]
    assert len(replies) == 1
    reading = decode(cmd, replies[0].data)
    assert reading.outcome is Outcome.BAD or reading == decode(cmd, good)


@given(st.sampled_from([b"c", b"x", b"n", b"m", b"\x01", b"V", b"v", b"b"]),
       st.binary(min_size=1, max_size=4), st.integers(0, 8))
def test_control_bytes_garble_text_replies(cmd: bytes, junk: bytes, position: int) -> None:
    if all(0x20 <= b <= 0x7E for b in junk):
        junk = b"\x00" + junk
    line = b"UPS_ID"[:position] + junk + b"UPS_ID"[position:]
    if all(0x20 <= b <= 0x7E for b in line):
        return
    assert decode(cmd, line).outcome is Outcome.BAD


def test_the_model_a_firmware_answer_names() -> None:
    """NUT apcsmart's tables: the SKU of ``b``, the first letter of ``V``."""
    assert model_from_firmware("60.11.I") == "Smart-UPS 1000"
    assert model_from_firmware("112.13.I") == "Smart-UPS 5000"
    assert model_from_firmware("IWI") == "Smart-UPS 1000"
    assert model_from_firmware("OWD") == "Smart-UPS 3000"
    assert model_from_firmware("0ZI") == "Matrix-UPS 3000"
    assert model_from_firmware("601.3.I") is None  # an SKU the table does not know
    assert model_from_firmware("??") is None
    assert model_from_firmware("60.11") is None
