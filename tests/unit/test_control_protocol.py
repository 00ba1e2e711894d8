"""The killpower socket's line protocol, on literal lines (its grammar is in
nutpy/protocols/control.py and the README's killpower section)."""

from __future__ import annotations

from nutpy.protocols.control import (
    SOCKET_NAME,
    Answer,
    Reader,
    answer,
    greeting,
    parse_greeting,
    parse_request,
    request,
)


def test_the_greeting_names_the_configuration_served() -> None:
    assert SOCKET_NAME == "nutpy.sock"
    assert greeting("/etc/nut") == b"NUTPY CONFIG /etc/nut\n"
    assert parse_greeting("NUTPY CONFIG /etc/nut") == "/etc/nut"
    assert parse_greeting("NUTPY CONFIG /a dir/with spaces") == "/a dir/with spaces"
    for other in ("NUTPY CONFIG", "nutpy config /etc/nut", "NUTPY  CONFIG /x", "", "OK"):
        assert parse_greeting(other) is None, other


def test_a_request_is_killpower_and_one_ups() -> None:
    assert request("rack") == b"KILLPOWER rack\n"
    assert parse_request("KILLPOWER rack") == "rack"
    assert parse_request("killpower Rack") == "Rack"
    assert parse_request("  KILLPOWER\track ") == "rack"
    for other in ("KILLPOWER", "KILLPOWER a b", "POWER rack", "", "KILLPOWERrack"):
        assert parse_request(other) is None, other


def test_the_answer_is_notes_then_one_verdict() -> None:
    assert answer([], True) == b"OK\n"
    assert answer([], False) == b"FAILED\n"
    assert answer(["on line: S sent", "confirmed"], True) == \
        b"NOTE on line: S sent\nNOTE confirmed\nOK\n"
    assert answer(["tried"], True, "no such UPS") == b"NOTE tried\nERR no such UPS\n"
    assert answer([], False, "") == b"ERR \n"


def test_the_reader_collects_one_answer_at_a_time() -> None:
    reader = Reader()
    lines = answer(["first", "second"], True).decode().splitlines()
    assert [reader.feed(line) for line in lines] == [
        None, None, Answer(True, ["first", "second"])]
    assert reader.feed("FAILED") == Answer(False, [])  # the next answer starts afresh
    assert reader.feed("NOTE x") is None
    assert reader.feed("ERR no driver") == Answer(False, ["x", "no driver"])
    assert reader.feed("OK ") == Answer(False, [])  # only a bare OK confirms
    assert reader.feed("NOTE") == Answer(False, [])  # not a note without its space
