"""NUT apcsmart's tables, whole, against the spec they were copied from.

Each table here is written out from /work/shared/spec/apc-smart.md (§2.1 the
queries and their NUT variables, §5.1 what NUT never probes, §6.1 step 3 the
compatibility table, §6.3 the firmware model tables), which took them from
NUT's drivers/apcsmart.h and apcsmart.c.  A fixture-driven test checks only
the entries its dump uses; these check every entry.
"""

from __future__ import annotations

import pytest

from nutpy.protocols.apcsmart.capabilities import discover, legacy_lookup, parse_cmdset
from nutpy.protocols.apcsmart.firmware import model_from_firmware
from nutpy.protocols.apcsmart.variables import (
    POLL_ORDER,
    QUERY_BYTES,
    Outcome,
    decode,
    is_polled,
    spec_named,
)

# §2.1: query -> (a reply of its format, the NUT variable and value, polled "P").
QUERIES: dict[bytes, tuple[bytes, str, str, bool]] = {
    b"\x01": (b"SMART-UPS 1000", "ups.model", "SMART-UPS 1000", False),
    b"L": (b"235.3", "input.voltage", "235.3", True),
    b"M": (b"237.9", "input.voltage.maximum", "237.9", True),
    b"N": (b"234.0", "input.voltage.minimum", "234.0", True),
    b"O": (b"235.3", "output.voltage", "235.3", True),
    b"F": (b"50.00", "input.frequency", "50.00", True),
    b"P": (b"012.4", "ups.load", "012.4", True),
    b"f": (b"100.0", "battery.charge", "100.0", True),
    b"B": (b"27.87", "battery.voltage", "27.87", True),
    b"g": (b"024", "battery.voltage.nominal", "024", False),
    b"j": (b"0105:", "battery.runtime", "6300", True),
    b"C": (b"032.8", "ups.temperature", "032.8", True),
    b"G": (b"O", "input.transfer.reason", "no transfers yet since turnon", True),
    b"X": (b"NO", "ups.test.result", "NO", True),
    b"9": (b"FF", "input.quality", "FF", True),
    b"n": (b"QS9931125245", "ups.serial", "QS9931125245", False),
    b"m": (b"07/31/99", "ups.mfr.date", "07/31/99", False),
    b"b": (b"60.11.I", "ups.firmware", "60.11.I", False),
    b"V": (b"IWI", "ups.firmware", "IWI", False),
    b"v": (b"4Kx", "ups.firmware.aux", "4Kx", False),
    b"c": (b"UPS_IDEN", "ups.id", "UPS_IDEN", False),
    b"x": (b"07/31/99", "battery.date", "07/31/99", False),
    b"u": (b"253", "input.transfer.high", "253", False),
    b"l": (b"196", "input.transfer.low", "196", False),
    b"o": (b"230", "output.voltage.nominal", "230", False),
    b"e": (b"00", "battery.charge.restart", "00", False),
    b"s": (b"H", "input.sensitivity", "H", False),
    b"p": (b"020", "ups.delay.shutdown", "020", False),
    b"r": (b"000", "ups.delay.start", "000", False),
    b"q": (b"02", "battery.runtime.low", "120", False),
    b"k": (b"0", "battery.alarm.threshold", "0", False),
    b"E": (b"336", "ups.test.interval", "1209600", False),
    b">": (b"000", "battery.packs", "000", False),
    b"<": (b"000", "battery.packs.bad", "000", False),
    b"h": (b"042.4", "ambient.humidity", "042.4", True),
    b"t": (b"025.1", "ambient.temperature", "025.1", True),
    b"i": (b"10", "ups.contacts", "10", True),
    b"T": (b"123.4", "device.uptime", "442800", True),
    b"H": (b"45.0", "ambient.1.humidity", "45.0", True),
    b"{": (b"60.0", "ambient.1.humidity.high", "60.0", True),
    b"}": (b"10.0", "ambient.1.humidity.low", "10.0", True),
    b"[": (b"40.0", "ambient.1.temperature.high", "40.0", True),
    b"]": (b"05.0", "ambient.1.temperature.low", "05.0", True),
    b"/": (b"001.2", "output.current", "001.2", True),
    b"\x0c": (b"en", "ups.display.language", "en", False),
}


def test_every_query_is_in_the_table_and_nothing_else() -> None:
    assert set(QUERY_BYTES) == set(QUERIES)


@pytest.mark.parametrize("cmd", sorted(QUERIES))
def test_each_query_gives_its_nut_variable(cmd: bytes) -> None:
    reply, name, value, polled = QUERIES[cmd]
    reading = decode(cmd, reply)
    assert reading.outcome is Outcome.VALUE and reading.values == {name: value}
    assert is_polled(cmd) is polled
    assert decode(cmd, b"NA").outcome is Outcome.NA


def test_the_poll_order_of_nut() -> None:
    # §6.1 step 6: Q C P X L F 9 G M N O f B j, then i / h t T H { } [ ] if present.
    assert POLL_ORDER == b"QCPXLF9GMNOfBji/htTH{}[]"
    assert {bytes((b,)) for b in POLL_ORDER[1:]} == {c for c, row in QUERIES.items() if row[3]}


@pytest.mark.parametrize(("reason", "text"), [
    (b"R", "unacceptable utility voltage rate of change"), (b"H", "high utility voltage"),
    (b"L", "low utility voltage"), (b"T", "line voltage notch or spike"),
    (b"O", "no transfers yet since turnon"), (b"S", "simulated power failure or UPS test"),
    (b"K", "K")])  # anything else is passed through
def test_every_transfer_reason(reason: bytes, text: str) -> None:
    assert decode(b"G", reason).values == {"input.transfer.reason": text}


def test_the_variables_nut_names_find_their_rows() -> None:
    for cmd, (_, name, _, _) in QUERIES.items():
        spec = spec_named(name)
        assert spec is not None and (spec.cmd == cmd or name == "ups.firmware"), name
    assert spec_named("ambient.3.temperature.low") is spec_named("ambient.1.temperature.low")
    assert spec_named("ambient.3.humidity") is not None
    assert spec_named("ambient.humidity.x") is None
    assert spec_named("ambient.1.humidit") is None
    assert spec_named("ups.firmware") is not None and spec_named("ups.firmware").cmd == b"b"  # type: ignore[union-attr]


def test_what_nut_never_probes() -> None:
    # §5.1: the command list is walked in order, skipping ^Z DEL ~ ' ) - + 8 Q R Y a y z.
    skipped = b"\x1a\x7f~')-+8QRYayz"
    found = discover(skipped + b"Lf")
    assert found.queries == b"Lf" and found.instcmds == () and found.unrecognized == b""
    assert found.caps  # ^Z is not probed, but its presence means the caps are read
    assert discover(b"LLfL").queries == b"Lf"  # each once, in order
    assert discover(b"WDW").instcmds == ("test.battery.start", "test.battery.stop",
                                         "calibrate.start", "calibrate.stop")
    assert discover(b"d0").unrecognized == b"d0"
    assert not discover(b"L").caps


# §6.1 step 3: the firmware answers NUT knows by name.
COMPAT = {
    "0XI": "Matrix-UPS", "0XM": "Matrix-UPS", "0ZI": "Matrix-UPS", "5UI": "Matrix-UPS",
    "5ZM": "Matrix-UPS", "6QD": "Smart-UPS", "6QI": "Smart-UPS", "6TD": "Smart-UPS",
    "6TI": "Smart-UPS", "7QD": "Smart-UPS", "7QI": "Smart-UPS", "7TD": "Smart-UPS",
    "7TI": "Smart-UPS", "8QD": "Smart-UPS", "8QI": "Smart-UPS", "8TD": "Smart-UPS",
    "8TI": "Smart-UPS", "6JI": "Smart-UPS", "7II": "Smart-UPS", "9II": "Smart-UPS",
    "9GI": "Smart-UPS", "8II": "Smart-UPS", "8GI": "Smart-UPS", "5.4.D": "Matrix-UPS",
}


def test_the_compatibility_table() -> None:
    for firmware, model in COMPAT.items():
        legacy = legacy_lookup(firmware)
        assert legacy is not None and legacy.model == model, firmware
        assert legacy.commands.startswith(b"@"), firmware
    assert legacy_lookup("8QD").commands == b"@79ABCDEFGKLMNOPQRSUVWXYZcefgjklmnopqrsuxz"  # type: ignore[union-attr]
    hexed = legacy_lookup("3f")  # two hex digits: NUT's "set 1"
    assert hexed is not None and hexed.model == "Smart-UPS"
    assert hexed.commands == b"@789ABCFGKLMNOPQRSUVWXYZ"
    for unknown in ("IWI", "60.11.I", "8QDX", "451.2.I", "", "3g", "\xe91", "8Q\xe9"):
        assert legacy_lookup(unknown) is None, unknown  # latin-1 noise: no match, no error


def test_the_dual_byte_section_of_a() -> None:
    # §5.1: an optional 4th section, "prefix 0x3A subs...", repeated.
    cmdset = parse_cmdset(b"3.!$.QY.\x9f:\xd3\xd4\xa0:\xd1")
    assert cmdset is not None
    assert cmdset.dual == (b"\x9f\xd3", b"\x9f\xd4", b"\xa0\xd1")
    for line, dual in ((b"3.!$.QY.\x9f:\xd3\xa0:", (b"\x9f\xd3",)),  # a prefix, no subs
                       (b"3.!$.QY.\xd3", ()),  # subs without a prefix
                       (b"3.!$.QY", ())):
        parsed = parse_cmdset(line)
        assert parsed is not None and parsed.dual == dual, line


# §6.3: the model letter of V (old firmware) and the SKU of b (new).
OLD = {"0": "Matrix-UPS 3000", "5": "Matrix-UPS 5000", "2": "Smart-UPS 250",
       "3": "Smart-UPS 400", "4": "Smart-UPS 400", "6": "Smart-UPS 600",
       "7": "Smart-UPS 900", "8": "Smart-UPS 1250", "9": "Smart-UPS 2000",
       "A": "Smart-UPS 1400", "B": "Smart-UPS 1000", "C": "Smart-UPS 650",
       "D": "Smart-UPS 420", "E": "Smart-UPS 280", "F": "Smart-UPS 450",
       "G": "Smart-UPS 700", "H": "Smart-UPS 700 XL", "I": "Smart-UPS 1000",
       "J": "Smart-UPS 1000 XL", "K": "Smart-UPS 1400", "L": "Smart-UPS 1400 XL",
       "M": "Smart-UPS 2200", "N": "Smart-UPS 2200 XL", "O": "Smart-UPS 3000",
       "P": "Smart-UPS 5000"}
NEW = {12: "Back-UPS Pro 650", 13: "Back-UPS Pro 1000", 21: "Smart-UPS 420",
       50: "Smart-UPS 700", 52: "Smart-UPS 700", 60: "Smart-UPS 1000",
       62: "Smart-UPS v/s 650", 70: "Smart-UPS 1400", 72: "Smart-UPS 1400",
       90: "Smart-UPS 3000", 112: "Smart-UPS 5000"}


def test_the_firmware_model_tables() -> None:
    for letter, model in OLD.items():
        assert model_from_firmware(f"{letter}WI") == model, letter
        assert model_from_firmware(f"{letter}GD") == model, letter
    for sku, model in NEW.items():
        assert model_from_firmware(f"{sku}.11.I") == model, sku
        assert model_from_firmware(f"{sku}.9.D") == model, sku
    # The real pairs of §6.3 name the same unit both ways.
    for new, old in (("60.11.I", "IWI"), ("90.11.D", "OWD"), ("112.13.I", "PWI"),
                     ("21.6.I", "DWI")):
        assert model_from_firmware(new) == model_from_firmware(old)
    for unknown in ("QWI", "1WI", "99.1.I", "60.11", "60.11.IX", "IW", "IWIX", "I I",
                    "60..I", "x0.1.I", ""):
        assert model_from_firmware(unknown) is None, unknown
