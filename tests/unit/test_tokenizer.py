"""The tokenizer against NUT parseconf's observable rules (spec §1)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from nutpy.protocols.tokenizer import (
    MAX_WORD_LENGTH,
    MAX_WORDS,
    QUOTE_HASH_ERROR,
    Line,
    ParseError,
    Tokenizer,
    tokenize_text,
)


def words(data: bytes) -> list[list[str]]:
    return [e.words for e in Tokenizer().feed(data) if isinstance(e, Line)]


def test_lf_ends_a_request_and_cr_space_tab_separate() -> None:
    assert words(b"GET VAR ups ups.status\r\n") == [["GET", "VAR", "ups", "ups.status"]]
    assert words(b"a\tb\x0bc\x0cd\n") == [["a", "b", "c", "d"]]


def test_quotes_keep_spaces_and_backslash_escapes() -> None:
    assert words(b'SET VAR u v "a b \\" \\\\ c"\n') == [["SET", "VAR", "u", "v", 'a b " \\ c']]


def test_lf_inside_quotes_is_dropped_and_does_not_end_the_request() -> None:
    assert words(b'A "x\ny" B\n') == [["A", "xy", "B"]]


def test_unbalanced_quote_swallows_following_lines() -> None:
    tok = Tokenizer()
    assert tok.feed(b'GET "oops\nVER\n') == []
    assert tok.pending


def test_backslash_outside_quotes_is_literal_and_backslash_lf_continues() -> None:
    assert words(b"a\\ b c\\\nd\n") == [["a b", "cd"]]


def test_comment_and_hash_in_quotes() -> None:
    assert words(b"VER # a comment\n") == [["VER"]]
    assert words(b"VER# no space\n") == [["VER"]]
    events = Tokenizer().feed(b'SET "a#b"\nVER\n', stop_on_error=True)
    assert events == [ParseError(QUOTE_HASH_ERROR, 1)]


def test_parse_error_in_a_file_skips_only_that_line() -> None:
    events = tokenize_text(b'desc = "a # b"\ndriver = x\n')
    assert isinstance(events[0], ParseError)
    assert events[0].lineno == 1
    assert events[1] == Line(["driver", "=", "x"], 2)


def test_equals_is_always_its_own_word() -> None:
    assert words(b"USERNAME a=b\n") == [["USERNAME", "a", "=", "b"]]
    assert words(b"key=value\n") == [["key", "=", "value"]]
    assert words(b"=x\n") == [["=", "x"]]


def test_control_and_high_bytes_are_dropped_but_del_is_kept() -> None:
    assert words(b"V\x01E\x80R\xff\n") == [["VER"]]
    assert words(b"a\x7fb\n") == [["a\x7fb"]]


def test_nul_line_is_one_empty_word_and_empty_line_no_words() -> None:
    assert words(b"\x00" * 24 + b"\n") == [[""]]
    assert words(b"\n") == [[]]


def test_word_and_word_count_limits_truncate_silently() -> None:
    long_word = b"x" * 10_000
    assert words(long_word + b"\n") == [["x" * MAX_WORD_LENGTH]]
    many = b" ".join(b"w%d" % i for i in range(1000)) + b"\n"
    result = words(many)[0]
    assert len(result) == MAX_WORDS
    assert result[-1] == f"w{MAX_WORDS - 1}"


def test_incremental_feeding_matches_whole_feeding() -> None:
    data = b'LIST VAR "my ups"\nGET VAR a\\ b c # x\nHELP\n'
    tok = Tokenizer()
    split = [e for i in range(len(data)) for e in tok.feed(data[i:i + 1])]
    assert split == Tokenizer().feed(data)


def test_line_numbers_count_continued_lines() -> None:
    # As in parseconf, "\\<LF>" at a word start opens an (empty) word.
    events = tokenize_text(b"a\n\nb \\\n c\nd\n")
    assert [(e.words, e.lineno) for e in events if isinstance(e, Line)] == [
        (["a"], 1), (["b", "", "c"], 4), (["d"], 5)]


def test_last_line_without_lf_counts_in_files() -> None:
    assert tokenize_text(b"a = b") == [Line(["a", "=", "b"], 1)]


@settings(max_examples=300)
@given(st.binary(max_size=2000))
def test_any_bytes_tokenize_without_error(data: bytes) -> None:
    for event in Tokenizer().feed(data, stop_on_error=True):
        if isinstance(event, Line):
            assert len(event.words) <= MAX_WORDS
            assert all(len(w) <= MAX_WORD_LENGTH for w in event.words)
            assert all(0x20 <= ord(c) <= 0x7F for w in event.words for c in w)


@given(st.lists(st.one_of(
    st.sampled_from([b"GET", b"VAR", b"ups", b"ups.status", b" ", b"\t", b"\r", b"\n",
                     b'"', b"\\", b"#", b"=", b"\x00", b"\x7f", b"\xe9", b"x" * 600]),
    st.binary(max_size=8)), max_size=60))
@settings(max_examples=400)
def test_whole_plain_lines_tokenize_as_byte_by_byte(parts: list[bytes]) -> None:
    # Fed at once, plain lines take the fast path; fed a byte at a time no
    # line is ever whole in one call, so every byte goes through the state
    # machine.  Both must give the same events.
    data = b"".join(parts) + b"\n" + b"a " * 40 + b"\n"
    whole, single = Tokenizer(), Tokenizer()
    one_by_one = [e for i in range(len(data)) for e in single.feed(data[i:i + 1])]
    assert whole.feed(data) == one_by_one
    assert whole.pending == single.pending


def test_plain_lines_keep_the_word_limits() -> None:
    long_word = b"x" * (MAX_WORD_LENGTH + 10)
    [line] = Tokenizer().feed(long_word + b" " + b"w " * (MAX_WORDS + 5) + b"\n")
    assert isinstance(line, Line)
    assert len(line.words) == MAX_WORDS and len(line.words[0]) == MAX_WORD_LENGTH
