"""Surviving mutants that no test can kill, because they change nothing observable.

Each entry is a mutant's name (``mutmut show NAME`` shows its change) and
why the mutated code behaves as the original does.  ``make mutate`` counts
them apart and names an entry that is no longer a survivor (the code moved).
"""

from __future__ import annotations

_TOK = "nutpy.protocols.tokenizer.xǁTokenizerǁ"

_STATE = "nutpy.frontends.nut.state.xǁClientStateǁ"
_CONV = "nutpy.frontends.nut.conversation.xǁConversationǁ"
_HANDLERS = "nutpy.frontends.nut.handlers."
_FLAG = ("starts as None, not False: it is only ever read for its truth (if s.tls, "
         "'ON' if s.tracking ...)")
_ACTION = ("the action's name in lower case: User.may upper-cases it, as upsd compares "
           "action names without regard to case")
_POPITEM = "popitem(last=None) for last=False: popitem reads it for its truth"

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

    # ---- NUT front end ---------------------------------------------------------
    f"{_STATE}__init____mutmut_7": f"tracking {_FLAG}",
    f"{_STATE}__init____mutmut_9": f"tls {_FLAG}",
    f"{_STATE}__init____mutmut_11": f"start_tls {_FLAG}",
    f"{_STATE}__init____mutmut_13": f"closing {_FLAG}",
    f"{_CONV}__init____mutmut_3": "requests starts as None, not 0: receive() sets it to "
        "0 before anything reads it (the listener reads it after each receive)",
    f"{_CONV}__init____mutmut_4": "requests starts as 1, not 0: as above",
    f"{_CONV}receive__mutmut_21": "break for continue after a parse error: with "
        "stop_on_error the tokenizer returns at the error, so it is the last event",
    f"{_HANDLERS}x__list_ups__mutmut_7": "listing('UPS', None): the subject is read for "
        "its truth only, and None is as false as ''",
    f"{_HANDLERS}x__primary__mutmut_13": _ACTION,
    f"{_HANDLERS}x__primary__mutmut_15": _ACTION,
    f"{_HANDLERS}x__set_var__mutmut_14": _ACTION,
    f"{_HANDLERS}x_fsd__mutmut_11": _ACTION,
    f"{_HANDLERS}x_login__mutmut_13": _ACTION,
    "nutpy.frontends.nut.tracking.xǁTrackingǁadd__mutmut_3": _POPITEM,
    "nutpy.frontends.nut.tracking.xǁTrackingǁpurge__mutmut_7": _POPITEM,
    # ---- APC Smart codec --------------------------------------------------------
    "nutpy.protocols.apcsmart.capabilities.x_legacy_lookup__mutmut_7": "encode('ASCII') "
        "for encode('ascii'): codec names are case-insensitive",
    "nutpy.protocols.apcsmart.capabilities.x_legacy_lookup__mutmut_32": "'XX05XX' for "
        "'05' as the Matrix-UPS model letters: no key of NUT's compatibility table "
        "starts with X",
}
