"""Microlink values from hand-made layouts: each number format at its edges, the
derived variables, the status word and the outlet groups.

Each layout places its usages one after another at the start of the blob, so a
test says only which paths the unit has and the bytes they hold.
"""

from __future__ import annotations

import pytest

from nutpy.protocols.apcmicrolink.layout import Field, Header, Layout
from nutpy.protocols.apcmicrolink.variables import (
    Kind,
    VarSpec,
    bound_variables,
    decode_values,
    format_value,
    outlet_group_count,
    status_flags,
)

H = bytes.fromhex
PAGE0 = bytes([1, 16, 8, 0, 1, 1, 0x08, 0, 1, 0, 0, 0])


def unit(values: dict[str, bytes]) -> tuple[Layout, bytes]:
    """A layout with these usages (path -> raw bytes), and its blob."""
    fields, blob = {}, b""
    for path, raw in values.items():
        fields[path] = Field(path, len(blob), len(raw))
        blob += raw
    return Layout(Header.parse(PAGE0), fields), blob


@pytest.mark.parametrize(("raw", "bp", "signed", "text"), [
    (H("0003"), 1, False, "1.5"),  # one binary place
    (H("0002"), 1, False, "1"),  # 1.000000: zeros and the point go
    (H("0140"), 6, False, "5"),
    (H("0150"), 6, False, "5.25"),
    (H("0A00"), 8, False, "10"),  # trailing zeros of an integer part stay
    (H("FFFF"), 8, True, "-0.003906"),
    (H("FFFF"), 21, True, "0"),  # -0.0000005 rounds to -0.000000: printed as 0
    (H("FFFF"), 0, True, "-1"),
])
def test_fixed_point_as_nut_prints_it(raw: bytes, bp: int, signed: bool, text: str) -> None:
    assert format_value(VarSpec("p", "v", Kind.FIXED, signed=signed, bp=bp), raw) == text


def test_strings_keep_printable_ascii_only_and_dates_count_unsigned_days() -> None:
    assert format_value(VarSpec("p", "v", Kind.STRING), b"AS\x7f12\x00  ") == "AS12"
    assert format_value(VarSpec("p", "v", Kind.STRING), b"\x00\x00") is None
    # 0x8000 days is 32768 after 2000-01-01 (read as signed, it would be before).
    assert format_value(VarSpec("p", "v", Kind.DATE), H("8000")) == "2089-09-18"
    assert format_value(VarSpec("p", "v", Kind.FIXED_MAP, labels={-1: "off"}),
                        H("FFFF")) == "65535"  # unsigned unless the spec says signed


def test_switched_outlet_groups_are_numbered_from_their_index_plus_one() -> None:
    layout, _ = unit({"2:4.3D[0].2D": H("0000"), "2:4.3D[1].2D": H("0000"),
                      "2:4.3D[3].2D": H("0000")})
    names = sorted(n for n in bound_variables(layout) if n.endswith("timer.shutdown"))
    assert names == ["outlet.group.1.timer.shutdown", "outlet.group.2.timer.shutdown",
                     "outlet.group.4.timer.shutdown"]


@pytest.mark.parametrize(("switched", "count"), [(0, 1), (1, 2), (3, 4), (4, 5), (5, 5)])
def test_outlet_groups_are_the_main_one_and_up_to_four_switched(switched: int,
                                                                 count: int) -> None:
    layout, _ = unit({"2:4.3E.B6": H("0000"),
                      **{f"2:4.3D[{i}].B6": H("0000") for i in range(switched)}})
    assert outlet_group_count(layout) == count
    assert outlet_group_count(unit({"2:4.3D[0].B6": H("0000")})[0]) == 0  # no main group


def test_two_alarms_are_joined_by_one_blank() -> None:
    layout, blob = unit({"2:4.A": (1 << 1 | 1 << 5 | 1 << 6).to_bytes(4, "big")})
    values = decode_values(layout, blob)
    assert values["ups.alarm"] == "General fault Input not acceptable"
    assert values["ups.status"] == "OL"
    assert values["experimental.device.status"] == "OL"


def test_power_in_watts_needs_both_the_percentage_and_the_nominal() -> None:
    both = decode_values(*unit({"2:4.7.28": H("3200"), "2:4.7.2A": H("0258")}))
    assert both["ups.realpower"] == "300"  # 50 % of 600 W
    assert "ups.realpower" not in decode_values(*unit({"2:4.7.28": H("3200")}))
    assert "ups.realpower" not in decode_values(*unit({"2:4.7.2A": H("0258")}))


def test_the_status_word_gives_tokens_alarms_and_the_device_status() -> None:
    layout, blob = unit({"2:4.A": (1 << 2).to_bytes(4, "big"), "2:4.6.16": H("0001")})
    assert status_flags(layout, blob) == (("OB", "DISCHRG"), (), "OB")
    # Without the word: no tokens, no device status; quality bit 0 is neither BOOST
    # nor TRIM (they are bits 5 and 6).
    assert status_flags(*unit({"2:4.6.16": H("0001")})) == ((), (), "")
    assert status_flags(*unit({"2:4.6.16": H("0020")})) == (("BOOST",), (), "")
    assert status_flags(*unit({"2:4.A": H("00000000")})) == ((), (), "0x00000000")


@pytest.mark.parametrize(("error", "replace"), [(0, False), (1, True), (2, False), (4, True),
                                                (8, False)])
def test_replace_battery_from_bits_0_and_2_of_the_battery_error_word(error: int,
                                                                      replace: bool) -> None:
    layout, blob = unit({"2:4.A": (1 << 1).to_bytes(4, "big"), "2:4.34": H(f"{error:04X}")})
    assert ("RB" in status_flags(layout, blob)[0]) is replace
