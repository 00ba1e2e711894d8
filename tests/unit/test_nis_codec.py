"""apcupsd's NIS framing, driven with literal bytes (facts: apcupsd 3.14.14's
apclibnis.c and apcnis.c, and the real daemon's answers in test_nis_apcupsd)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nutpy.protocols import nis
from nutpy.protocols.nis import Command, Hangup, Request, RequestReader


def test_a_record_is_a_big_endian_length_then_the_bytes() -> None:
    assert nis.record(b"status") == b"\x00\x06status"
    assert nis.record(b"") == nis.END == b"\x00\x00"


def test_invalid_command_keeps_its_nul_and_ends_with_the_0_record() -> None:
    assert nis.INVALID_COMMAND == b"\x00\x11Invalid command\n\x00\x00\x00"
    assert nis.NOT_AVAILABLE == b"\x00\x0fNot available\n\x00\x00\x00"


@pytest.mark.parametrize(("body", "command"), [
    (b"status", Command.STATUS), (b"events", Command.EVENTS),
    (b"statusX", Command.INVALID),  # apcupsd 3.14.14 checks the length too
    (b"STATUS", Command.INVALID), (b"stat", Command.INVALID), (b"status\0", Command.INVALID),
    (b"x" * 256, Command.INVALID),  # the longest record apcupsd reads
])
def test_requests_are_exactly_status_or_events(body: bytes, command: Command) -> None:
    assert RequestReader().feed(nis.record(body)) == [Request(command)]


def test_requests_arriving_a_byte_at_a_time() -> None:
    reader = RequestReader()
    data = nis.record(b"status") + nis.record(b"events")
    events = []
    for i in range(len(data)):
        events += reader.feed(data[i:i + 1])
        assert reader.partial == (i not in (7, 15))
    assert events == [Request(Command.STATUS), Request(Command.EVENTS)]


def test_pipelined_requests_come_out_in_order() -> None:
    data = nis.record(b"bogus") + nis.record(b"status") * 2
    assert RequestReader().feed(data) == [Request(Command.INVALID),
                                          *[Request(Command.STATUS)] * 2]


@pytest.mark.parametrize("length", [257, 1000, 0xFFFF])
def test_a_record_longer_than_apcupsd_reads_hangs_up_at_once(length: int) -> None:
    reader = RequestReader()
    events = reader.feed(length.to_bytes(2, "big"))
    assert len(events) == 1 and isinstance(events[0], Hangup)
    assert str(length) in events[0].why
    assert reader.feed(b"x" * 1_000_000 + nis.record(b"status")) == []  # nothing after it
    assert not reader.partial


def test_a_0_record_ends_the_conversation() -> None:
    reader = RequestReader()
    events = reader.feed(nis.record(b"status") + nis.END + nis.record(b"status"))
    assert events[0] == Request(Command.STATUS)
    assert isinstance(events[1], Hangup) and len(events) == 2


@given(st.lists(st.binary(max_size=600), max_size=20))
def test_any_bytes_hold_at_most_one_record(chunks: list[bytes]) -> None:
    reader = RequestReader()
    for chunk in chunks:
        for event in reader.feed(chunk):
            assert isinstance(event, Request | Hangup)
        assert len(reader._buffer) < 2 + 256


def test_a_line_pads_the_key_to_nine_columns() -> None:
    assert nis.line("LINEV", "236.1 Volts") == b"LINEV    : 236.1 Volts\n"
    assert nis.line("CUMONBATT", "0 Seconds") == b"CUMONBATT: 0 Seconds\n"
    assert nis.line("UPSMODE", "") == b"UPSMODE  : \n"


def test_a_line_never_holds_a_nul_a_line_end_or_256_bytes() -> None:
    text = nis.line("SERIALNO", "a\0b\nc\r\xe9" + "x" * 400)
    assert text.startswith(b"SERIALNO : a?b?c??xx") and text.endswith(b"x\n")
    assert len(text) == 255 and text.count(b"\n") == 1 and b"\0" not in text


def test_the_status_header_counts_the_records_and_their_bytes() -> None:
    lines = [nis.line("DATE", "now"), nis.line("END APC", "later")]
    reply = nis.status_reply(lines)
    header = b"APC      : 001,002,0032\n"
    assert sum(map(len, lines)) == 32
    assert reply == (nis.record(header) + nis.record(lines[0]) + nis.record(lines[1])
                     + nis.END)


def test_events_are_one_record_a_line_or_not_available() -> None:
    lines = [nis.event_line("2026-12-01 08:40:01 +0000  ", "Power failure.")]
    assert nis.events_reply(lines) == (
        b"\x00\x2a2026-12-01 08:40:01 +0000  Power failure.\n\x00\x00")  # as apcupsd
    assert nis.events_reply([]) == nis.END  # an empty log, as an empty events file
    assert nis.events_reply(None) == nis.NOT_AVAILABLE


def test_event_lines_are_cut_below_256_bytes() -> None:
    line = nis.event_line("2026-12-01 08:40:01 +0000  ", "y" * 300)
    assert len(line) == 255 and line.endswith(b"y\n")


@pytest.mark.usefixtures("utc")
def test_dates_are_local_time_with_the_offset_and_two_spaces() -> None:
    assert nis.format_date(1796114401.0) == "2026-12-01 08:40:01 +0000  "


def test_why_a_reader_hung_up_is_said_exactly() -> None:
    assert RequestReader().feed(b"\x00\x00") == [Hangup("a 0 record: no more requests")]
    assert RequestReader().feed(b"\x01\x01") == [Hangup("a record of 257 bytes (at most 256)")]
    reader = RequestReader()
    assert reader.feed(b"\x01\x00" + b"s" * 256) == [Request(Command.INVALID)]  # 256 is read


def test_a_record_holds_65535_bytes_and_no_more() -> None:
    assert nis.record(b"x" * 65535)[:3] == b"\xff\xffx"
    with pytest.raises(ValueError, match=r"^a record holds at most 65535 bytes, not 65536$"):
        nis.record(b"x" * 65536)
