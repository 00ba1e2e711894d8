"""APC Microlink codec on literal bytes.

Frames and numbers come from spec/apc-microlink.md: the worked checksum
example (klaasdc's PowerChute "outlet off" capture), the §8 page 0 (a real
SMC1000i header), the authentication worked example and NUT's own writes.
"""

from __future__ import annotations

import pytest

from nutpy.protocols.apcmicrolink import auth, commands, framing, variables
from nutpy.protocols.apcmicrolink.commands import Setting
from nutpy.protocols.apcmicrolink.framing import FrameAssembler, MicrolinkError, Record
from nutpy.protocols.apcmicrolink.layout import Header, Layout, parse_descriptor
from nutpy.protocols.apcmicrolink.variables import Kind, VarSpec
from nutpy.sim.microlink import DESCRIPTOR, header, initial_blob
from tests.support.expected import COMMAND_FRAMES, EXPECTED

H = bytes.fromhex

SMC1000I_PAGE0 = H("000A108003ED0709000100400 0F802FE042104".replace(" ", ""))


def layout(width: int = 16) -> Layout:
    blob = bytes(initial_blob(width))
    return Layout.from_blob(Header.parse(header(width)), blob)


# ---- checksum -----------------------------------------------------------------


def test_worked_checksum_example() -> None:
    data = H("7108024104")
    sums = [framing.running_sums(data[:i + 1]) for i in range(len(data))]
    assert sums == [(113, 113), (121, 234), (123, 102), (188, 35), (192, 227)]
    assert framing.check_bytes(data) == H("5BE3")
    assert framing.frame(data) == H("71080241045BE3")


def test_captured_frames() -> None:
    assert framing.frame_ok(SMC1000I_PAGE0)
    assert framing.record(0, header(16)) == SMC1000I_PAGE0
    assert framing.write_frame(0x6D, 4, H("0401")) == H("6D0402040145 42".replace(" ", ""))
    assert framing.write_frame(0x7E, 0x0C, H("0000EF27")) == H("7E0C040000EF2781D8")
    assert not framing.frame_ok(H("71080241045BE4"))
    assert not framing.frame_ok(H("5BE3"))


def test_check_bytes_are_ff_never_zero() -> None:
    # c0 = c1 = 0 would give 0x00 with a naive negation; here it is 0xFF.
    assert framing.check_bytes(b"") == H("FFFF")
    assert framing.check_bytes(H("FF")) == H("FFFF")
    for n in range(256):
        assert 0 not in framing.check_bytes(bytes((n, 0x10, n ^ 0x55)))


# ---- receiving ------------------------------------------------------------------


def test_assembler_learns_width_from_page_zero() -> None:
    asm = FrameAssembler()
    rec = framing.record(0x41, bytes(16))
    assert asm.feed(rec) == []  # width unknown: only page 0 counts
    assert asm.feed(SMC1000I_PAGE0) == [Record(0, header(16))]
    assert asm.width == 16
    assert asm.feed(rec) == [Record(0x41, bytes(16))]


def test_assembler_chunks_strays_and_corruption() -> None:
    asm = FrameAssembler(width=16, count=0x80)
    good = [framing.record(p, bytes(range(p, p + 16))) for p in (0x40, 0x41, 0x42)]
    bad = bytearray(good[1])
    bad[5] ^= 0x04
    stream = b"\xFE\xFE\x13" + good[0] + b"\x99" + bytes(bad) + b"\x00\xFD" + good[2]
    out: list[Record] = []
    for i in range(0, len(stream), 3):  # arbitrary chunking
        out += asm.feed(stream[i:i + 3])
    assert [r.page for r in out] == [0x40, 0x42]
    assert out[1].data == bytes(range(0x42, 0x52))
    assert asm.skipped > 0


def test_assembler_rejects_pages_beyond_count_and_bounds_buffer() -> None:
    asm = FrameAssembler(width=16, count=0x80)
    assert asm.feed(framing.record(0x90, bytes(16))) == []
    asm.feed(bytes(1000))
    assert len(asm._buf) < 19  # at most one partial record of 16 + 3 bytes is held
    asm.clear()
    assert asm.feed(framing.record(0x7F, bytes(16))) == [Record(0x7F, bytes(16))]


# ---- header and descriptor -------------------------------------------------------


def test_header_fields() -> None:
    h = Header.parse(header(16))
    assert (h.version, h.width, h.count, h.series_id, h.series_version) == (
        0x0A, 16, 0x80, 0x03ED, 7)
    assert h.auth_required and h.descriptor_version == 1
    assert (h.data_start, h.data_page) == (0x400, 0x40)
    h32 = Header.parse(header(32))
    assert (h32.width, h32.count, h32.data_start, h32.data_page) == (32, 0x40, 0x400, 0x20)
    with pytest.raises(MicrolinkError):
        Header.parse(b"\x0A\x10")


# (path, page in 16-byte rows, offset, size) from the spec §8 table.
SPEC_TABLE = [
    ("2:4.9.40", 0x40, 0, 14), ("2:4.9.19", 0x40, 14, 2), ("2:4.9.44", 0x41, 0, 32),
    ("2:4.9.42", 0x43, 0, 20), ("2:4.9.1B", 0x44, 4, 2), ("2:4.9.1C", 0x44, 6, 2),
    ("3:4A", 0x45, 0, 8), ("2:4.5.48", 0x47, 0, 2), ("2:4.5.42", 0x48, 0, 16),
    ("2:4.82", 0x49, 0, 16), ("2:4.5.18", 0x4A, 4, 2), ("2:4.5.19", 0x4A, 6, 2),
    ("2:4.5.31", 0x4A, 8, 2), ("2:4.7.D", 0x4A, 10, 2), ("2:4.7.E", 0x4A, 12, 2),
    ("2:4.7.2B", 0x4B, 0, 2), ("2:4.7.2A", 0x4B, 2, 2), ("2:4.7.2C", 0x4B, 4, 2),
    ("2:4.3E.B9", 0x4C, 0, 2), ("2:4.3E.B8", 0x4C, 2, 2), ("2:4.3E.B7", 0x4C, 4, 4),
    ("2:4.3E.30", 0x4C, 8, 2), ("2:4.3E.31", 0x4C, 12, 2), ("2:4.3E.82", 0x4D, 0, 16),
    ("2:4.5.74", 0x6C, 6, 2), ("2:4.5.21", 0x6D, 0, 2), ("2:4.5.20", 0x6D, 2, 2),
    ("2:10", 0x6D, 4, 2), ("2:11", 0x6D, 6, 2), ("2:12", 0x6D, 8, 2),
    ("2:4.5.13", 0x6D, 10, 2), ("2:4.5.24", 0x6D, 14, 2), ("2:4.5.9F", 0x6E, 0, 4),
    ("2:4.5.22", 0x6F, 0, 2), ("2:4.B.3B", 0x6F, 2, 2), ("2:4.7.25", 0x6F, 6, 2),
    ("2:4.7.26", 0x6F, 8, 2), ("2:4.7.27", 0x6F, 10, 2), ("2:4.7.49", 0x6F, 12, 2),
    ("2:4.7.28", 0x6F, 14, 2), ("2:4.6.16", 0x70, 2, 2), ("2:4.6.25", 0x70, 4, 2),
    ("2:4.6.27", 0x70, 6, 2), ("3:17", 0x70, 8, 2), ("2:4.34", 0x70, 14, 2),
    ("2:14", 0x71, 0, 4), ("2:4.B5", 0x71, 8, 2), ("2:4.3E.B6", 0x72, 0, 2),
    ("2:4.3E.84", 0x72, 2, 4), ("3:26", 0x73, 0, 4), ("3:2B", 0x73, 4, 2),
    ("2:4.A", 0x76, 6, 4), ("2:B", 0x76, 10, 2), ("2:4.8.6", 0x7E, 8, 4),
    ("2:4.8.5", 0x7E, 12, 4), ("2:4.8.7", 0x7F, 0, 2), ("2:4.8.9", 0x7F, 14, 2),
]


@pytest.mark.parametrize("width", [16, 32])
def test_descriptor_parse_matches_spec_table(width: int) -> None:
    assert len(DESCRIPTOR) == 247
    lay = layout(width)
    for path, page, offset, size in SPEC_TABLE:
        f = lay.fields[path]
        assert (f.offset, f.size) == (0x400 + (page - 0x40) * 16 + offset, size), path
        assert lay.locate(f) == divmod(f.offset, width)
    end = max(f.offset + f.size for f in lay.fields.values())
    assert end == 0x800  # the data area fills pages 0x40..0x7F exactly
    assert lay.locate(lay.fields["2:4.8.5"]) == ((0x7E, 12) if width == 16 else (0x3F, 12))


def test_descriptor_collections_skip_and_namespaces() -> None:
    # FE 04 { 3E { B6 } FD 3D 02 { B6 84 FC 04 } } F8 03 { F5 11 17 FB 00 0F } F6
    code = H("FE04FE3EB6FFFD3D02B684FC04FFFFF803F51117FB000FFFF6")
    blob = bytes(12) + code + bytes(100)
    fields = parse_descriptor(blob, 64)
    got = {p: (f.offset, f.size, f.skipped) for p, f in fields.items()}
    assert got == {
        "4.3E.B6": (64, 2, False),
        "4.3D[0].B6": (66, 2, False), "4.3D[0].84": (68, 4, False),
        "4.3D[1].B6": (72, 2, False), "4.3D[1].84": (74, 4, False),
        "3:11": (78, 2, True), "3:17": (80, 2, False),
    }


def test_descriptor_invalid_token_rejected() -> None:
    blob = bytes(12) + H("F802FE0400") + bytes(20)
    with pytest.raises(MicrolinkError):
        parse_descriptor(blob, 20)
    h = Header.parse(header(16)[:6] + b"\x01" + header(16)[7:])  # descriptor flag clear
    with pytest.raises(MicrolinkError):
        Layout.from_blob(h, bytes(initial_blob(16)))


# ---- authentication ---------------------------------------------------------------


def test_authentication_worked_example() -> None:
    hdr = header(16)
    serial = b"AS2101123456  "
    # The spec writes these sums in hex.
    assert framing.running_sums(hdr[:8], hdr[4], hdr[3]) == (0x89, 0x24)
    key = auth.auth_key(hdr, serial)
    assert key == (0x59, 0x83)
    slave = auth.slave_password(key, H("5A3C0000"))
    assert slave == H("0000EF27")
    lay = layout(16)
    assert lay.write(lay.fields["2:4.8.5"], slave) == H("7E0C040000EF2781D8")
    assert auth.master_tail(key, H("0000")) == H("5936")
    assert auth.master_tail(key, H("0101")) == H("5B39")
    # Only the slave password's two free bytes count: the whole password gives the same tail,
    # and a longer r still makes a 4-byte password.
    assert auth.master_tail(key, H("0101EF27")) == H("5B39")
    assert auth.slave_password(key, H("5A3C0000"), H("000000")) == H("0000EF27")


# ---- values -------------------------------------------------------------------------



@pytest.mark.parametrize("width", [16, 32])
def test_decode_every_variable_of_the_spec_table(width: int) -> None:
    assert variables.decode_values(layout(width), bytes(initial_blob(width))) == EXPECTED


def test_status_word_and_gap_tokens() -> None:
    lay = layout()
    blob = bytearray(initial_blob())

    def put(path: str, value: int) -> None:
        f = lay.fields[path]
        blob[f.offset:f.offset + f.size] = value.to_bytes(f.size, "big")

    put("2:4.A", 0x44)
    values = variables.decode_values(lay, bytes(blob))
    assert values["ups.status"] == "OB DISCHRG"
    assert values["ups.alarm"] == "Input not acceptable"
    put("2:4.8.7", 2)
    put("2:4.34", 4)
    put("2:4.6.16", 1 << 6)
    put("2:4.5.13", 2)
    put("2:4.A", (1 << 1) | (1 << 7) | (1 << 13) | (1 << 21) | (1 << 5))
    put("2:4.5.20", 50 << 9)
    values = variables.decode_values(lay, bytes(blob))
    assert values["ups.status"] == "OL TEST OVER HE TRIM CAL LB RB CHRG"
    assert values["ups.alarm"] == "General fault"


def test_format_value_kinds() -> None:
    eff = VarSpec("3:17", "ups.efficiency", Kind.FIXED_MAP, signed=True, bp=7,
                  labels={-3: "OutputOff"})
    assert variables.format_value(eff, H("FFFD")) == "OutputOff"
    assert variables.format_value(eff, H("FF80")) == "-1"
    bits = VarSpec("x", "x", Kind.BITS, labels={1: "A", 4: "C"})
    assert variables.format_value(bits, H("0005")) == "A C"
    assert variables.format_value(bits, H("0002")) == "0x0002"
    enum_ = VarSpec("x", "x", Kind.ENUM, signed=True, labels={-1: "Disabled"})
    assert variables.format_value(enum_, H("FFFF")) == "Disabled"
    assert variables.format_value(enum_, H("0010")) == "16"
    text = VarSpec("x", "x", Kind.STRING)
    assert variables.format_value(text, b"AB\x01C  \0\0") == "ABC"
    assert variables.format_value(text, b"\0\0") is None


# ---- writes -------------------------------------------------------------------------


def test_setting_frames() -> None:
    lay = layout()
    assert commands.encode_setting(lay, "battery.date", "2025-01-01") == framing.frame(
        H("47000223AC"))
    assert commands.encode_setting(lay, "ups.test.interval", "Never") == framing.frame(
        H("4A04020001"))
    assert commands.encode_setting(lay, "ups.id", "RACK1") == framing.frame(
        H("490010") + b"RACK1".ljust(16, b"\0"))
    assert commands.encode_setting(lay, "input.transfer.high", "270") == framing.frame(
        H("4A0A02010E"))
    assert commands.encode_setting(lay, "outlet.group.0.delay.shutdown", "Disabled") == \
        framing.frame(H("4C0202FFFF"))
    assert commands.encode_setting(lay, "ups.display.language", "de") == framing.frame(
        H("73040200 08".replace(" ", "")))
    with pytest.raises(KeyError):
        commands.encode_setting(lay, "battery.charge", "50")  # read-only
    assert commands.encode_setting(lay, "ups.id", "X" * 16) == framing.frame(
        H("490010") + b"X" * 16)  # exactly the usage's 16 bytes: no NUL needed
    with pytest.raises(ValueError, match=r"^longer than 16 characters$"):
        commands.encode_setting(lay, "ups.id", "X" * 17)
    with pytest.raises(ValueError):
        commands.encode_setting(lay, "input.transfer.high", "70000")


def test_settings_describe_every_writable_variable() -> None:
    lay = layout()
    # 2:4.7.D / E carry FA limits in the §8 descriptor: max 0118 min 00F5, max 00DC min 00A0.
    assert lay.fields["2:4.7.D"].limits == (245, 280)
    assert lay.fields["2:4.7.E"].limits == (160, 220)
    found = commands.settings(lay)
    voltages = found.pop("experimental.output.voltage.setting")
    assert voltages.enums[:3] == ("VAC100", "VAC120", "VAC200") and len(voltages.enums) == 20
    assert found == {
        "ups.id": Setting(16),
        "ups.test.interval": Setting(None, enums=(
            "Never", "OnStartUpOnly", "OnStartUpPlus7", "OnStartUpPlus14",
            "OnStartUp7Since", "OnStartUp14Since")),
        "battery.date": Setting(None),
        "input.transfer.high": Setting(None, ranges=((245, 280),)),
        "input.transfer.low": Setting(None, ranges=((160, 220),)),
        "ups.display.language": Setting(None, enums=(
            "en", "fr", "it", "de", "es", "pt", "ja", "ru")),
        "outlet.group.0.delay.shutdown": Setting(None),
        "outlet.group.0.delay.reboot": Setting(None),
        "outlet.group.0.delay.start": Setting(None),
        "outlet.group.0.minimumreturnruntime": Setting(None),
        "outlet.group.0.lowruntimewarning": Setting(None),
        "outlet.group.0.name": Setting(16),
    }


def test_countdown_settings_are_numbers_with_a_special_value() -> None:
    lay = layout()
    spec, _ = variables.bound_variables(lay)["outlet.group.0.delay.shutdown"]
    assert variables.format_value(spec, H("FFFF")) == "Disabled"
    assert variables.format_value(spec, H("0078")) == "120"
    assert commands.encode_setting(lay, "outlet.group.0.delay.shutdown", "120") == framing.frame(
        H("4C02020078"))




@pytest.mark.parametrize("name", sorted(COMMAND_FRAMES))
def test_command_frames(name: str) -> None:
    assert commands.encode_command(layout(), name) == framing.frame(COMMAND_FRAMES[name])


def test_command_spec_examples_and_sources() -> None:
    lay = layout()
    assert commands.encode_command(lay, "test.battery.start") == H("6D04020401 4542".replace(
        " ", ""))
    assert commands.encode_command(lay, "outlet.group.0.load.off") == H("71080241045BE3")
    assert commands.encode_command(lay, "test.battery.start", "usb") == framing.frame(
        H("6D04020101"))
    assert commands.encode_command(lay, "load.off", "usb") == framing.frame(H("7108021104"))
    with pytest.raises(ValueError):
        commands.encode_command(lay, "load.off", "serial")
    for bad in ("outlet.group.1.load.off", "outlet.group.x.load.off", "load.explode",
                "shutdown.now"):
        with pytest.raises(KeyError):
            commands.encode_command(lay, bad)
    assert set(commands.available_commands(lay)) == set(COMMAND_FRAMES) | {
        f"outlet.group.0.{op}" for op in commands.OUTLET_OPS}


def test_switched_groups_get_their_target_bits() -> None:
    # A 4-byte outlet command and a main group plus two switched groups.
    code = H("F802FE04B5FC04FE3EB6FFFD3D02B6FFFFFFF6")
    hdr = H("0A1004000000090001000200")
    blob = hdr + code + bytes(64 - len(hdr) - len(code))
    lay = Layout.from_blob(Header.parse(hdr + code[:4]), blob)
    assert variables.outlet_group_count(lay) == 3
    f = lay.fields["2:4.B5"]
    assert (f.offset, f.size) == (32, 4)
    assert commands.encode_command(lay, "load.off") == framing.frame(H("02000400004704"))
    assert commands.encode_command(lay, "outlet.group.2.load.on") == framing.frame(
        H("02000400004402"))
    values = variables.decode_values(lay, blob)
    assert values["outlet.group.count"] == "3"
    assert values["outlet.group.2.status"] == "0x0000"


# ---- the edges of the codec (docs/testing.md) -----------------------------------


def _page0(width: int) -> bytes:
    return framing.record(0, bytes((0x0A, width)) + bytes(width - 2))


def test_assembler_takes_row_widths_of_4_to_64_only() -> None:
    for width, taken in ((3, False), (4, True), (64, True), (65, False)):
        asm = FrameAssembler()
        got = asm.feed(_page0(width))
        assert (got == [Record(0, bytes((0x0A, width)) + bytes(width - 2))]) is taken, width
        assert asm.width == (width if taken else None)


def test_assembler_drops_echoed_polls_and_waits_for_a_whole_record() -> None:
    asm = FrameAssembler(width=16, count=0x80)
    rec = framing.record(0x41, bytes(range(16)))
    assert asm.feed(b"\xfe\xfe" + rec[:10]) == []
    assert asm.skipped == 2
    assert asm.feed(rec[10:]) == [Record(0x41, bytes(range(16)))]
    assert asm.feed(b"\x00") == [] and asm.feed(b"\x00" * 2) == []
    asm.clear()
    assert asm.skipped == 2 + 3  # what was still buffered counts as skipped
    assert FrameAssembler().feed(b"\x00\x0a") == []  # page 0, its width not yet read


def test_descriptor_limits_defaults_and_ignored_tokens() -> None:
    # F7 is skipped; 30 with FA (max 0x64, min 0x0A); 31 with a default (F9) and a
    # bitmask (FB) of its 4 bytes (FC 04); an FF at the top level closes nothing.
    code = H("FF FE04 F7 30FA0064000A 31FC04F900000001FB0000FFFF FF F6".replace(" ", ""))
    fields = parse_descriptor(bytes(12) + code + bytes(8), 100)
    assert {p: (f.offset, f.size, f.limits) for p, f in fields.items()} == {
        "4.30": (100, 2, (10, 100)), "4.31": (102, 4, None)}
    for truncated in ("FE", "F8", "FD3D", "30FA00"):
        with pytest.raises(MicrolinkError):
            parse_descriptor(bytes(12) + H(truncated), 100)


def test_a_layout_refuses_a_blob_it_cannot_hold() -> None:
    hdr = Header.parse(header(16))
    blob = bytes(initial_blob(16))
    with pytest.raises(MicrolinkError, match="past the blob"):
        Layout.from_blob(hdr, blob[:hdr.data_start])
    with pytest.raises(MicrolinkError, match="past the last page"):
        Layout.from_blob(hdr, blob[:0x7F * 16])
    lay = layout()
    serial = lay.fields["2:4.9.40"]
    with pytest.raises(ValueError, match="14 bytes, not 2"):
        lay.write(serial, b"ab")
    model = lay.fields["2:4.9.44"]  # 32 bytes over two 16-byte pages
    with pytest.raises(ValueError, match="straddles"):
        lay.write(model, bytes(32))
    assert lay.field("3:11") is None  # no such usage


# ---- writes at their edges ------------------------------------------------------


def _outlet_command_without_groups() -> Layout:
    """A layout with the outlet command usage (2:4.B5) but no outlet group."""
    code = H("F802FE04B5FFF6")
    hdr = H("0A1004000000090001000200")
    blob = hdr + code + bytes(64 - len(hdr) - len(code))
    return Layout.from_blob(Header.parse(hdr + code[:4]), blob)


def test_errors_name_what_was_refused() -> None:
    lay = layout()
    with pytest.raises(ValueError, match=r"'serial' \(one of rj45, usb, local, smartslot1, "
                                         r"internal1\)"):
        commands.encode_command(lay, "load.off", "serial")
    for bad in ("outlet.group.1.load.off", "load.explode"):
        with pytest.raises(KeyError) as caught:
            commands.encode_command(lay, bad)
        assert caught.value.args == (bad,)
    with pytest.raises(KeyError) as caught:
        commands.encode_setting(lay, "battery.charge", "50")
    assert caught.value.args == ("battery.charge",)
    with pytest.raises(ValueError, match=r"^70000 does not fit in 2 bytes$"):
        commands.encode_setting(lay, "input.transfer.high", "70000")


def test_outlet_commands_need_an_outlet_group_as_well_as_the_usage() -> None:
    lay = _outlet_command_without_groups()
    assert lay.field("2:4.B5") is not None
    assert commands.available_commands(lay) == []
    with pytest.raises(KeyError) as caught:
        commands.encode_command(lay, "load.off")
    assert caught.value.args == ("load.off",)
    with pytest.raises(KeyError) as caught:
        commands.encode_command(lay, "test.battery.start")  # no 2:10 usage here
    assert caught.value.args == ("test.battery.start",)


def test_a_command_word_wider_than_its_usage_keeps_its_low_bytes() -> None:
    # internal1's outlet bit is 1 << 17: a 2-byte usage keeps MOG (0x0100) | off (0x04).
    assert commands.encode_command(layout(), "outlet.group.0.load.off", "internal1") == \
        framing.frame(H("7108020104"))


def test_a_date_is_unsigned_days_since_2000() -> None:
    lay = layout()
    # Day 32768 needs the top bit of the 2-byte usage: unsigned, it fits.
    assert commands.encode_setting(lay, "battery.date", "2089-09-18") == framing.frame(
        H("4700028000"))
    with pytest.raises(ValueError):
        commands.encode_setting(lay, "battery.date", "1999-12-31")


def test_numbers_written_as_c_literals_and_negative_values() -> None:
    lay = layout()
    assert commands.encode_setting(lay, "ups.test.interval", "0x02") == framing.frame(
        H("4A04020002"))
    # A negative value is written in two's complement, even to an unsigned usage.
    assert commands.encode_setting(lay, "outlet.group.0.delay.shutdown", "-1") == \
        framing.frame(H("4C0202FFFF"))
    # A signed usage holds -32768..32767 only.
    spec = VarSpec("2:4.1", "input.transfer.delay", Kind.FIXED, signed=True, writable=True)
    assert commands.encode_value(spec, 2, "-32768") == H("8000")
    with pytest.raises(ValueError):
        commands.encode_value(spec, 2, "40000")


def test_a_hex_value_is_unsigned() -> None:
    spec = VarSpec("2:4.9.1B", "ups.productid", Kind.HEX)
    assert commands.encode_value(spec, 2, "FFFF") == H("FFFF")
    assert commands.encode_value(spec, 2, "0002") == H("0002")


def test_assembler_skips_exactly_the_bytes_that_start_no_record() -> None:
    page0 = framing.record(0, bytes.fromhex("0A10") + bytes(14))
    asm = FrameAssembler(width=16, count=0x80)
    assert asm.feed(b"\xfe" + page0) == [Record(0, page0[1:-2])]  # one echoed poll
    assert asm.skipped == 1
    unknown = FrameAssembler()
    assert unknown.feed(b"\x07" + page0) == [Record(0, page0[1:-2])]  # one stray byte
    assert unknown.skipped == 1
    # Width 200 is no width (4 to 64): only that record's first byte is dropped at once.
    wide = FrameAssembler()
    assert wide.feed(b"\x00\x00\xc8") == [] and wide.skipped == 1


def test_assembler_takes_pages_below_the_count_only() -> None:
    asm = FrameAssembler(width=16, count=2)
    assert asm.feed(framing.record(1, bytes(16))) == [Record(1, bytes(16))]
    assert asm.feed(framing.record(2, bytes(16))) == []


def test_the_shortest_frame_is_one_byte_and_its_check_bytes() -> None:
    assert framing.frame_ok(framing.frame(b"\x41"))
    assert len(framing.frame(b"\x41")) == 3
    assert not framing.frame_ok(framing.check_bytes(b""))  # check bytes of nothing: no frame
