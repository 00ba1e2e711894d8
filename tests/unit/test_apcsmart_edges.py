"""The APC Smart codec at its edges: NUT's line buffer to the byte, alerts that
touch no status bit, the dual-byte section's leftovers, non-ASCII values, the
fourth packed sensor.  Numbers are NUT's, written out (not the module's names)."""

from __future__ import annotations

import pytest

from nutpy.protocols.apcsmart.capabilities import legacy_lookup, parse_cmdset
from nutpy.protocols.apcsmart.confirm import CLAIMS
from nutpy.protocols.apcsmart.framing import Overflow, ReplyLine, Splitter
from nutpy.protocols.apcsmart.status import Alert
from nutpy.protocols.apcsmart.variables import (
    Conv,
    Outcome,
    Reading,
    convert,
    decode_dual,
    encode,
    encode_all,
    spec_named,
)


def test_a_reply_of_511_bytes_fits_nut_s_buffer_and_512_overflows() -> None:
    # NUT's apcsmart reads into a 512-byte buffer, one byte kept for the terminator.
    assert Splitter().feed(b"7" * 511 + b"\r\n") == [ReplyLine(b"7" * 511)]
    assert Splitter().feed(b"7" * 512 + b"\r\n") == [Overflow()]
    # The bytes after an overflow's LF start a fresh line.
    splitter = Splitter()
    assert splitter.feed(b"7" * 512 + b"\n" + b"OK\n") == [Overflow(), ReplyLine(b"OK")]


@pytest.mark.parametrize("alert", [Alert.MEASURE_UPS_ALARM, Alert.EEPROM_CHANGED,
                                   Alert.TURNING_OFF])
def test_alerts_with_no_status_effect_leave_every_bit(alert: Alert) -> None:
    # '&', '|' and '*' are logged or acted on by NUT, but claim no status bit.
    assert alert not in CLAIMS


def test_the_dual_byte_section_ignores_bytes_before_a_prefix_and_a_prefix_with_none_after() -> None:
    cmdset = parse_cmdset(b"3.!$%+.ABCQ.x\x9f:\xd3\xa0:")
    assert cmdset is not None
    assert cmdset.dual == (b"\x9f\xd3",)
    stray = parse_cmdset(b"3.!$%+.ABCQ.xy")
    assert stray is not None and stray.dual == ()


def test_non_ascii_noise_as_a_firmware_answer_is_no_known_firmware() -> None:
    assert legacy_lookup("\u00e95") is None
    assert legacy_lookup("\u00ff\u00fe") is None


def test_a_transfer_reason_is_read_from_its_first_letter_as_nut_does() -> None:
    # NUT's convert_data switches on the reply's first character only.
    assert convert(Conv.REASON, "Hx") == "high utility voltage"
    assert convert(Conv.REASON, "L") == "low utility voltage"
    assert convert(Conv.REASON, "Z") == "Z"


def test_a_dual_byte_reply_is_a_value() -> None:
    assert decode_dual(b"\x9f\xd3", b"50.0") == Reading(Outcome.VALUE,
                                                        {"input.frequency": "50.0"})


def test_a_non_ascii_string_value_still_has_its_smart_form() -> None:
    # A dump's ups.id may hold any character: it is sent as it is, not refused.
    assert encode("ups.id", "caf\u00e9") == (b"c", "caf\u00e9")


def test_the_fourth_packed_sensor_is_encoded_and_a_fifth_left_out() -> None:
    raw = encode_all({"ambient.4.humidity": "44.0", "ambient.1.humidity": "41.0"})
    assert raw == {b"H": "41.0,,,44.0"}
    assert encode_all({"ambient.5.humidity": "45.0"}) == {}


def test_a_packed_row_names_one_sensor_unless_told_more() -> None:
    spec = spec_named("ambient.1.humidity")
    assert spec is not None
    assert spec.names() == ["ambient.1.humidity"]
    assert spec.names(3) == ["ambient.1.humidity", "ambient.2.humidity", "ambient.3.humidity"]
