"""Surviving mutants that no test can kill, because they change nothing observable.

Each entry is a mutant's name (``mutmut show NAME`` shows its change) and
why the mutated code behaves as the original does.  ``make mutate`` counts
them apart and names an entry that is no longer a survivor (the code moved).
"""

from __future__ import annotations

_TOK = "nutpy.protocols.tokenizer.xǁTokenizerǁ"

EQUIVALENT: dict[str, str] = {
    # ---- tokenizer -------------------------------------------------------------
    f"{_TOK}__init____mutmut_8": "_quote_lineno starts as None, not 0: it is only read "
        "while a quote is open, and opening one sets it",
    f"{_TOK}__init____mutmut_9": "_quote_lineno starts as 1, not 0: as above",
    f"{_TOK}feed__mutmut_18": "after a parse error in a file the partial word becomes "
        "None, not []: the COMMENT state that follows never touches it, and the LF "
        "that ends it resets it",
    f"{_TOK}_plain_lines__mutmut_1": "start = None, not 0: str.find and slicing read "
        "None as the start, and 'if start' is false for both",
    f"{_TOK}_plain_lines__mutmut_7": "rfind for find: a chunk of several lines then "
        "ends at the last LF, holds an LF, is not a plain line, and the state machine "
        "(which gives the same events) takes it",
    f"{_TOK}_plain_lines__mutmut_9": "'> 0' for '>= 0': a chunk starting with an empty "
        "line goes to the state machine, which gives the same events",
    f"{_TOK}_plain_lines__mutmut_10": "'>= 1' for '>= 0': as above",
    f"{_TOK}_plain_lines__mutmut_18": "decode('ASCII') for decode('ascii'): codec names "
        "are case-insensitive",
    f"{_TOK}_plain_lines__mutmut_31": "'if start or True': data[0:] is data",
    f"{_TOK}_step__mutmut_9": "the state after '#' in quotes becomes None, not "
        "WORD_START: feed() sets COMMENT (files) or resets the line (requests) "
        "right after the error, before another byte is read",
}
