"""The Microlink descriptor parser at the edges of the blob, and what Layout refuses.

Blobs are built by hand: 12 bytes where page 0 would be, then the descriptor
bytecode (``parse_descriptor`` starts at offset 12, as on a real unit).
"""

from __future__ import annotations

import pytest

from nutpy.protocols.apcmicrolink.framing import MicrolinkError
from nutpy.protocols.apcmicrolink.layout import Field, Header, Layout, parse_descriptor

H = bytes.fromhex


def _page0(width: int, data_pointer: int) -> bytes:
    """Page 0 with the descriptor flag set, descriptor version 1, and a data pointer."""
    return bytes([1, width, 2, 0, 1, 1, 0x08, 0, 1, 0]) + data_pointer.to_bytes(2, "big")


def test_a_descriptor_may_end_with_the_blob_after_a_usage_or_its_limits() -> None:
    # 40, then 41 FC 01 FA 64 0A (max 0x64, min 0x0A): the blob ends on the min byte.
    fields = parse_descriptor(bytes(12) + H("4041FC01FA640A"), 100)
    assert fields == {"40": Field("40", 100, 2),
                      "41": Field("41", 102, 1, limits=(0x0A, 0x64))}
    assert parse_descriptor(bytes(12) + H("40"), 7) == {"40": Field("40", 7, 2)}


def test_limits_that_run_past_the_blob_are_refused_as_such() -> None:
    with pytest.raises(MicrolinkError) as refused:
        parse_descriptor(bytes(12) + H("41FC01FA64"), 100)  # the min byte is missing
    assert str(refused.value) == "descriptor runs past the end of the blob"


def test_a_usage_ending_on_the_last_byte_of_the_blob_fits_one_past_it_does_not() -> None:
    code = H("40FFF6")  # one 2-byte usage
    blob = bytes(12) + code + bytes(32 - 12 - len(code))  # two 16-byte pages
    fits = Layout.from_blob(Header.parse(_page0(16, 0x010E)), blob)  # page 1, offset 14
    assert fits.fields["40"] == Field("40", 30, 2)
    with pytest.raises(MicrolinkError) as refused:
        Layout.from_blob(Header.parse(_page0(16, 0x010F)), blob)  # 31 + 2 > 32
    assert str(refused.value) == "usage 40 lies past the last page"


def test_a_skipped_usage_takes_data_space_but_is_no_field() -> None:
    code = H("F54041FFF6")  # F5: 40 is skipped, 41 follows it in the data area
    blob = bytes(12) + code + bytes(64)
    lay = Layout.from_blob(Header.parse(_page0(16, 0x0100 | 40)), blob)
    assert lay.fields["40"] == Field("40", 56, 2, skipped=True)
    assert lay.field("40") is None
    assert lay.field("41") == Field("41", 58, 2)
    assert lay.field("42") is None


def test_f4_opens_a_block_that_adds_nothing_to_the_path() -> None:
    # F8 02 { F4 { 40 } 41 } F6: both usages are in namespace 2.
    fields = parse_descriptor(bytes(12) + H("F802F440FF41FFF6"), 0)
    assert fields == {"2:40": Field("2:40", 0, 2), "2:41": Field("2:41", 2, 2)}


def test_a_collection_at_the_top_level_names_its_usages_without_a_namespace() -> None:
    fields = parse_descriptor(bytes(12) + H("FE3EB6FFFD3D01B6FFF6"), 0)
    assert list(fields) == ["3E.B6", "3D[0].B6"]


@pytest.mark.parametrize("code", ["F8", "FE", "FD3D"])
def test_a_token_whose_argument_is_past_the_blob_is_refused(code: str) -> None:
    with pytest.raises(MicrolinkError) as refused:
        parse_descriptor(bytes(12) + H(code), 0)
    assert str(refused.value) == "descriptor runs past the end of the blob"


def test_a_collection_repeated_no_times_takes_no_field_and_no_data() -> None:
    # 40, FD 3D 00 { B6 84 }, 41: the body is read past, not taken as 40's neighbours.
    fields = parse_descriptor(bytes(12) + H("40FD3D00B684FF41FFF6"), 0)
    assert fields == {"40": Field("40", 0, 2), "41": Field("41", 2, 2)}


def test_page_0_shorter_than_12_bytes_is_refused_with_its_length() -> None:
    with pytest.raises(MicrolinkError) as refused:
        Header.parse(bytes(11))
    assert str(refused.value) == "page 0 is 11 bytes, need 12"


@pytest.mark.parametrize(("code", "message"), [
    ("4000", "invalid descriptor token 00 at 13"),
    ("40E0", "invalid descriptor token E0 at 13"),
])
def test_a_token_no_descriptor_uses_is_refused_with_its_place(code: str, message: str) -> None:
    with pytest.raises(MicrolinkError) as refused:
        parse_descriptor(bytes(12) + H(code), 0)
    assert str(refused.value) == message


def test_the_last_usage_token_below_e0_is_a_usage() -> None:
    assert list(parse_descriptor(bytes(12) + H("DFFFF6"), 0)) == ["DF"]


def test_a_collection_repeated_no_times_inside_a_namespace_leaves_the_namespace_open() -> None:
    # F8 02 { 40 FD 3D 00 { FE 10 { B6 } } 41 } F6: the empty collection's body holds a
    # block of its own; 41 is still in namespace 2, right after 40 in the data.
    fields = parse_descriptor(bytes(12) + H("F80240FD3D00FE10B6FFFF41FFF6"), 0)
    assert fields == {"2:40": Field("2:40", 0, 2), "2:41": Field("2:41", 2, 2)}
