"""The tokenizer against NUT parseconf's observable rules (spec §1)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from nutpy.protocols.tokenizer import (
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
    assert words(long_word + b"\n") == [["x" * 512]]
    many = b" ".join(b"w%d" % i for i in range(1000)) + b"\n"
    result = words(many)[0]
    assert len(result) == 32
    assert result[-1] == f"w{32 - 1}"


def test_plain_lines_end_at_each_lf() -> None:
    assert words(b"GET VAR XX\nXX\n\nVER\n") == [["GET", "VAR", "XX"], ["XX"], [], ["VER"]]


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
            assert len(event.words) <= 32
            assert all(len(w) <= 512 for w in event.words)
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
    long_word = b"x" * (512 + 10)
    [line] = Tokenizer().feed(long_word + b" " + b"w " * (32 + 5) + b"\n")
    assert isinstance(line, Line)
    assert len(line.words) == 32 and len(line.words[0]) == 512


# ---- NUT's own limits and line numbers, as literal facts (docs/testing.md) ----
# NUT's parseconf: words of at most 512 characters, at most 32 words a line
# (spec: nut-network-protocol.md §1 "Each word is truncated to 512 chars and
# words after the 32nd are dropped").

def test_the_limits_are_nuts_512_characters_and_32_words() -> None:
    for data in (b"x" * 513 + b"\n", b'"' + b"x" * 513 + b'"\n', b"x\\" + b"y" * 600 + b"\n"):
        [line] = Tokenizer().feed(data)
        assert isinstance(line, Line) and len(line.words[0]) == 512
    assert words(b"x" * 512 + b"\n") == [["x" * 512]]
    for separator in (b" ", b"\t\r"):
        many = separator.join(b"w%d" % i for i in range(33)) + b"\n"
        assert words(many)[0][-1] == "w31" and len(words(many)[0]) == 32
    assert len(words(b" ".join([b"w"] * 32) + b"\n")[0]) == 32
    quoted = b" ".join(b'"w%d"' % i for i in range(40)) + b"\n"  # the state machine's path
    assert words(quoted) == [[f"w{i}" for i in range(32)]]


def test_line_numbers_after_a_quoted_value_over_several_lines() -> None:
    events = tokenize_text(b'desc = "one\ntwo\nthree"\ndriver = x\n"a\\\nb" #\nc\n')
    assert [(e.words, e.lineno) for e in events if isinstance(e, Line)] == [
        (["desc", "=", "onetwothree"], 3), (["driver", "=", "x"], 4), (["ab"], 6),
        (["c"], 7)]
    errors = tokenize_text(b'a = "x\ny # z"\nb = 1\n')
    assert errors == [ParseError(QUOTE_HASH_ERROR, 2), Line(["b", "=", "1"], 3)]


def test_an_open_quote_says_where_it_began() -> None:
    tok = Tokenizer()
    tok.feed(b'a\nb "x\ny')
    assert tok.open_quote == 2 and tok.pending
    tok.feed(b"\\")
    assert tok.open_quote == 2  # an escape inside the quote is still inside it
    tok.feed(b'z"')
    assert tok.open_quote is None and tok.pending
    assert tok.finish() == [Line(["b", "xyz"], 3)]
    assert not tok.pending and tok.open_quote is None


def test_a_parse_error_forgets_the_words_before_it() -> None:
    tok = Tokenizer()
    assert tok.feed(b'SET VAR "a#b"\nVER\n', stop_on_error=True) == [
        ParseError(QUOTE_HASH_ERROR, 1)]
    assert not tok.pending
    assert tok.feed(b"HELP\n") == [Line(["HELP"], 1)]
    # In a file the rest of the physical line is skipped (an empty line), then
    # parsing goes on.
    assert Tokenizer().feed(b'a "b#c" d\ne\n') == [ParseError(QUOTE_HASH_ERROR, 1),
                                                    Line([], 1), Line(["e"], 2)]
    assert tokenize_text(b'a "b#c" d\ne\n') == [ParseError(QUOTE_HASH_ERROR, 1),
                                                Line(["e"], 2)]


def test_finish_ends_whatever_word_is_open() -> None:
    for data, expected in ((b"a b", ["a", "b"]), (b'a "b c', ["a", "b c"]),
                           (b"a b\\", ["a", "b"]), (b'a "b\\', ["a", "b"]),
                           (b"a # c", ["a"]), (b"a =", ["a", "="]),
                           # an open word that is still empty counts too
                           (b'a "', ["a", ""]), (b"a \\", ["a", ""]),
                           (b"a \x01", ["a", ""]), (b"a \x01\\", ["a", ""])):
        tok = Tokenizer()
        assert tok.feed(data) == []
        assert tok.finish() == [Line(expected, 1)], data
    tok = Tokenizer()
    assert tok.feed(b"   ") == [] and tok.finish() == []
    assert tok.feed(b"x\n") == [Line(["x"], 1)]


def test_equals_ends_a_bare_word_and_stands_alone_in_every_state() -> None:
    assert words(b"a=b=c\n") == [["a", "=", "b", "=", "c"]]
    assert words(b'"a=b" = "="\n') == [["a=b", "=", "="]]
    assert words(b"a\\=b\n") == [["a=b"]]
    assert words(b"==\n") == [["=", "="]]
    # After "=" the next byte starts afresh: a comment, a blank, a quote.
    assert words(b"a=#b\n") == [["a", "="]]
    assert words(b"a= b\n") == [["a", "=", "b"]]
    assert words(b'a="b c"\n') == [["a", "=", "b c"]]


def test_control_bytes_are_dropped_in_every_state() -> None:
    assert words(b'"a\x01\xffb" c\\\x02d \x7f\n') == [["ab", "cd", "\x7f"]]
    assert words(b"\x1f\x20\x7e\x80\n") == [["", "~"]]  # a dropped byte opens a word
    assert words(b'"\\\x01x"\n') == [["x"]]


def test_a_line_forgotten_mid_word_leaves_nothing_behind() -> None:
    for partial in (b"GET VAR ma", b'GET "ma', b"GET \\"):
        tok = Tokenizer()
        assert tok.feed(partial) == [] and tok.pending
        tok.reset_line()  # as after STARTTLS: what was read in the clear is dropped
        assert not tok.pending and tok.open_quote is None
        assert tok.feed(b'"a b" c') == []  # not a plain line: the state machine's path
        assert tok.feed(b"d\n") == [Line(["a b", "cd"], 1)]
