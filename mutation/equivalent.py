"""Surviving mutants that no test can kill, because they change nothing observable.

Each entry is a mutant's name (``mutmut show NAME`` shows its change) and
why the mutated code behaves as the original does.  ``make mutate`` counts
them apart and names an entry that is no longer a survivor (the code moved).
"""

from __future__ import annotations

_TOK = "nutpy.protocols.tokenizer.xǁTokenizerǁ"

_STATE = "nutpy.frontends.nut.state.xǁClientStateǁ"
_CONV = "nutpy.frontends.nut.conversation.xǁConversationǁ"
_REPLIES = "nutpy.frontends.nut.replies.xǁReplyCacheǁ"
_HANDLERS = "nutpy.frontends.nut.handlers."
_UPS = "nutpy.store.state.xǁUpsStateǁ"
_STORE = "nutpy.store.state.xǁStoreǁ"
_WAKES = ("wait_available wakes for more events than this UPS's AvailabilityChanged: it "
          "reads availability() again after each and waits on, and availability() turns "
          "OK only by mark_fresh or a MAXAGE change, each published as that event (the "
          "latter by watch_ages, which serve runs; killpower's own store keeps MAXAGE)")
_SWEEP = ("watch_ages judges each UPS at the store's clock read again at once instead of "
          "at the sweep's one reading: the same time under the mock clock, a few "
          "microseconds later under trio's real one, as if the sweep had woken that much "
          "later (its deadline is computed afterwards either way)")
_FLAG = ("starts as None, not False: it is only ever read for its truth (if s.tls, "
         "'ON' if s.tracking ...)")
_ACTION = ("the action's name in lower case: User.may upper-cases it, as upsd compares "
           "action names without regard to case")
_POPITEM = "popitem(last=None) for last=False: popitem reads it for its truth"
_CODEC_CASE = "the codec name in upper case: Python's codec names are case-insensitive"
_BIG = ("to_bytes/from_bytes without 'big': big-endian is their default since Python "
        "3.11, which nutpy requires")
_SET_BY_START = "set by start() before anything reads it (a probe's contract: start first)"
_SPLIT = "nutpy.protocols.apcsmart.framing.xǁSplitterǁ"
_SVARS = "nutpy.protocols.apcsmart.variables."
_MLCMD = "nutpy.protocols.apcmicrolink.commands."
_MLVARS = "nutpy.protocols.apcmicrolink.variables."
_UNSIGNED_NONE = ("signed=None for signed=False: int.from_bytes reads it for its truth "
                  "only")
_NIS = "nutpy.protocols.nis."
_METRICS = "nutpy.frontends.http.metrics.xǁ"
_SSE = "nutpy.frontends.http.events."
_BATCHED = ("no context or filter for the events batched after the first: only a Resync "
            "reads them, and a Resync always comes first (the subscription hands it out "
            "before anything queued, and nothing is published while the batch is made)")
_UNLABELLED = ("the UPS name given to a family without labels (a one-UPS scrape): "
               "prometheus_client's add_metric zips label names with values, so "
               "the extra value is dropped and the sample is the same")
_SPROBE = "nutpy.protocols.identify.smart.xǁSmartProbeǁ"
_MLPROBE = "nutpy.protocols.identify.microlink.xǁMicrolinkProbeǁ"
_FINDINGS = "nutpy.protocols.identify.findings.xǁProbeǁ"
_MLSESS = "nutpy.protocols.apcmicrolink.session.xǁSessionǁ"
_BY_START = "set by start() before anything reads it (the caller's contract: start first)"
_SSESS = "nutpy.protocols.apcsmart.session.xǁSessionǁ"
_SCMD = "nutpy.protocols.apcsmart.commands."
_NAME_CASE = ("the command's name in upper case: instcmd_steps lower-cases it, as NUT "
              "compares command names without regard to case")
_CONFIRM = "nutpy.protocols.apcsmart.confirm.xǁStatusGuardǁ"
_HTTP_API = "nutpy.frontends.http.api."
_HTTP_AUTH = "nutpy.frontends.http.auth."
_HEADER_CASE = ("the header's name in upper case: Request.header lower-cases the name it "
                "looks up, as the server stores every header name in lower case")
_ONE_BYTE = ("every probe sends one byte at a time, so a send never crosses the 256-byte "
             "bound and the bound holds as written")

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
        "0, or cached() to 1 on a hit, before the reactor reads it after each read",
    f"{_CONV}__init____mutmut_4": "requests starts as 1, not 0: as above",
    f"{_CONV}receive__mutmut_24": "break for continue after a parse error: with "
        "stop_on_error the tokenizer returns at the error, so it is the last event",
    f"{_CONV}receive__mutmut_9": "the last request's words start as None, not []: they "
        "are read only when a request was handled, which sets them",
    f"{_CONV}receive__mutmut_59": "rfind for find: a read of one request with blank lines "
        "before it ('\\nGET VAR u v\\n') is kept too; blank lines are no requests, so "
        "those bytes always get that one reply and the kept answer is as exact",
    f"{_REPLIES}__init____mutmut_4": "the count of published events starts as None: the "
        "first look at the cache finds it differs and empties the cache, empty anyway",
    f"{_REPLIES}__init____mutmut_5": "MAXAGE starts as None: as above",
    f"{_HANDLERS}x__list_ups__mutmut_7": "listing('UPS', None): the subject is read for "
        "its truth only, and None is as false as ''",
    f"{_HANDLERS}x__primary__mutmut_13": _ACTION,
    f"{_HANDLERS}x__primary__mutmut_15": _ACTION,
    f"{_HANDLERS}x__set_var__mutmut_14": _ACTION,
    f"{_HANDLERS}x_fsd__mutmut_11": _ACTION,
    f"{_HANDLERS}x_login__mutmut_13": _ACTION,
    "nutpy.frontends.nut.tracking.xǁTrackingǁadd__mutmut_3": _POPITEM,
    "nutpy.frontends.nut.tracking.xǁTrackingǁpurge__mutmut_7": _POPITEM,
    # ---- the store -------------------------------------------------------------
    "nutpy.store.feed.xǁSubscriptionǁ__init____mutmut_6": "_lost starts as None, not 0: it "
        "is read for its truth until the first overflow sets it to a count",
    f"{_UPS}mark_fresh__mutmut_5": "'link is FRESH or ...' differs only on a FRESH link "
        "published OK (a link not FRESH is never published OK), which it re-assesses: "
        "0 s old against a MAXAGE of at least 1 (upsd.conf refuses less), still OK",
    f"{_UPS}flags__mutmut_4": "get('UPS.STATUS'): get lower-cases the name it looks up",
    f"{_UPS}wait_available__mutmut_1": _WAKES,
    f"{_UPS}wait_available__mutmut_3": _WAKES,
    f"{_STORE}watch_ages__mutmut_2": _SWEEP,
    f"{_STORE}watch_ages__mutmut_3": _SWEEP,
    # ---- HTTP front end: the JSON API and its credentials ------------------------------
    f"{_HTTP_AUTH}x__basic__mutmut_17": "decode('UTF-8') for decode('utf-8'): codec names "
        "are case-insensitive",
    f"{_HTTP_AUTH}x_require_user__mutmut_27": _HEADER_CASE,
    f"{_HTTP_API}x__json_body__mutmut_7": _HEADER_CASE,
    f"{_HTTP_API}x__json_body__mutmut_8": "a missing Content-Type read as 'XXXX', not '': "
        "neither is application/json, so both get the same 415",
    f"{_HTTP_API}x_instcmd__mutmut_6": "_string_field(required=None) for False: required "
        "is only read for its truth",
    f"{_HTTP_API}x_fsd__mutmut_15": _ACTION,
    f"{_HTTP_API}x_set_variable__mutmut_27": _ACTION,
    # ---- APC Smart codec --------------------------------------------------------
    "nutpy.protocols.apcsmart.capabilities.x_legacy_lookup__mutmut_7": "encode('ASCII') "
        "for encode('ascii'): codec names are case-insensitive",
    "nutpy.protocols.apcsmart.capabilities.x_legacy_lookup__mutmut_32": "'XX05XX' for "
        "'05' as the Matrix-UPS model letters: no key of NUT's compatibility table "
        "starts with X",
    f"{_SVARS}x_decode__mutmut_13": _CODEC_CASE,
    f"{_SVARS}x_decode__mutmut_40": "convert(None, ...) for a packed field: every packed "
        "row is RAW, and convert passes RAW and None alike through",
    f"{_SVARS}x_decode__mutmut_48": "zip(strict=None): names(len(fields)) always gives "
        "exactly len(fields) names, so strictness never triggers",
    f"{_SVARS}x_decode__mutmut_51": "zip without strict: as above",
    f"{_SVARS}x_decode__mutmut_53": "zip(strict=False): as above",
    f"{_SVARS}x_decode_dual__mutmut_21": _CODEC_CASE,
    f"{_SVARS}x_encode__mutmut_31": _CODEC_CASE,
    f"{_SVARS}x_spec_named__mutmut_3": "the ambient.N. rewrite applied to every name: its "
        "pattern is anchored at '^ambient.', so other names come out unchanged",
    "nutpy.protocols.apcsmart.capabilities.x_parse_caps__mutmut_62": _CODEC_CASE,
    "nutpy.protocols.apcsmart.commands.x_at_steps__mutmut_12": _CODEC_CASE,
    "nutpy.protocols.apcsmart.commands.x_string_write_steps__mutmut_18": _CODEC_CASE,
    f"{_SCMD}x__method__mutmut_42": _NAME_CASE,
    f"{_SCMD}x__method__mutmut_57": _NAME_CASE,
    f"{_SCMD}x__method__mutmut_73": "'CS' for 'cs': _shutdown_return lower-cases its "
        "parameter, as NUT compares it without regard to case",
    f"{_SCMD}x_killpower_plan__mutmut_41": "sdtype 4's method digit '4' changed: _method "
        "gives the CS method for every digit it does not know, '4' among them",
    f"{_SCMD}x_killpower_plan__mutmut_47": "no status for sdtype 0's method: it is digit 0 "
        "or 1 (S or @awd), which never read it (only the CS method does)",
    f"{_CONFIRM}__init____mutmut_5": "the low-battery hint starts as None, not False: it "
        "is only read for its truth",
    f"{_CONFIRM}__init____mutmut_7": "low battery by runtime starts as None: as above",
    f"{_CONFIRM}reading__mutmut_3": "unexplained starts as None, not 0: it is only read "
        "for its truth, and stays so when the reading changed nothing",
    f"{_CONFIRM}battery__mutmut_3": "'confirmed or 1' for 'or 0': 1 is CAL's bit, and only "
        "the OB bit is read from it",
    f"{_CONFIRM}_confirm__mutmut_4": "the low-battery hints reset to None, not False: both "
        "are only read for their truth",
    f"{_SPLIT}__init____mutmut_2": "the first mode None, not ALERTS: _is_alert treats "
        "any mode but RAW and CAPS as ALERTS",
    f"{_SPLIT}__init____mutmut_3": "_overflowed starts as None, not False: read for its "
        "truth only",
    f"{_SPLIT}clear__mutmut_1": "_overflowed reset to None: as above",
    f"{_SPLIT}clear__mutmut_5": "the mode reset to None: as for __init__",

    # ---- APC Microlink codec ------------------------------------------------------
    "nutpy.protocols.apcmicrolink.layout.xǁ_Parserǁnumber__mutmut_9": _BIG,
    "nutpy.protocols.apcmicrolink.layout.xǁ_Parserǁblock__mutmut_59": "no path for the "
        "body of a collection repeated 0 times: the fields it names are thrown away",
    f"{_MLVARS}x__as_int__mutmut_5": _BIG,
    f"{_MLVARS}x_device_status__mutmut_5": _BIG,
    f"{_MLVARS}x__word__mutmut_12": _UNSIGNED_NONE,
    f"{_MLVARS}x_status_tokens__mutmut_53": "a missing calibration word read as 1, not 0: "
        "only its bit 1 (CAL) is read",
    f"{_MLVARS}x_status_tokens__mutmut_70": "a missing signalling word read as 1, not 0: "
        "only its bit 1 (LB) is read",
    f"{_MLVARS}x__fixed_text__mutmut_12": "rstrip('XX0XX') for rstrip('0'): the text is "
        "digits, a sign and a point, so only its zeros are in either set",
    f"{_MLVARS}x__fixed_text__mutmut_13": "rstrip('XX.XX') for rstrip('.'): as above, for "
        "the point",
    f"{_MLVARS}x_format_value__mutmut_28": _UNSIGNED_NONE,
    f"{_MLVARS}x_format_value__mutmut_37": _UNSIGNED_NONE,
    f"{_MLVARS}x_status_tokens__mutmut_11": "a missing status word read as 1, not 0: bit 0 "
        "names no token, alarm or HE",
    f"{_MLVARS}x_status_tokens__mutmut_29": "a missing input-quality word read as 1, not 0: "
        "only its bits 5 (BOOST) and 6 (TRIM) are read",
    "nutpy.protocols.apcmicrolink.layout.xǁHeaderǁparse__mutmut_29": _BIG,
    "nutpy.protocols.apcmicrolink.layout.xǁHeaderǁparse__mutmut_40": _BIG,
    f"{_MLCMD}x__int_bytes__mutmut_5": _BIG,
    f"{_MLCMD}x_encode_command__mutmut_21": _BIG,
    f"{_MLCMD}x_encode_command__mutmut_25": "the mask keeps one bit more (bit 8*size): no "
        "command word has bit 16 or 32 set, and bit 8 (MOG) only goes to the 2- or 4-byte "
        "outlet command",
    f"{_MLCMD}x_encode_value__mutmut_6": _CODEC_CASE,
    f"{_MLCMD}x_encode_value__mutmut_30": "signed=None for False: int.to_bytes reads it "
        "for its truth",
    f"{_MLCMD}x_encode_value__mutmut_38": "signed=None for False: as above",
    f"{_MLCMD}x_encode_value__mutmut_75": "'value <= 0' for '< 0': they differ at 0 only, "
        "whose bytes are the same signed or not",
    f"{_MLCMD}x_encode_value__mutmut_76": "'value < 1' for '< 0': as above",

    # ---- apcupsd's NIS -------------------------------------------------------------
    f"{_NIS}x_record__mutmut_8": _BIG,
    f"{_NIS}xǁRequestReaderǁ__init____mutmut_2": "_done starts as None, not False: read "
        "for its truth only",
    f"{_NIS}xǁRequestReaderǁfeed__mutmut_10": _BIG,
    f"{_NIS}x_line__mutmut_8": _CODEC_CASE,
    f"{_NIS}x_event_line__mutmut_8": _CODEC_CASE,
    "nutpy.frontends.nis.status.x_status_lines__mutmut_27": "the driver looked up as "
        "'XXXX', not '', when there is none: neither is a key of the cable table",

    # ---- HTTP front end: metrics ---------------------------------------------------
    f"{_METRICS}Metricsǁregistry__mutmut_2": "auto_describe=None, not False: the registry "
        "reads it for its truth only",
    f"{_METRICS}Metricsǁregistry__mutmut_3": "auto_describe=True: register() then runs "
        "collect() once, only to check its names against the process collector's (process_*, "
        "never network_ups_tools_* or nutpy_*); every scrape is the same",
    f"{_METRICS}Metricsǁscrape__mutmut_24": "header('ACCEPT'): Request.header looks "
        "names up in lower case",
    f"{_METRICS}Metricsǁscrape__mutmut_25": "'XXXX' for a missing Accept header: "
        "choose_encoder gives the text format for a header naming no type it knows, as for ''",
    f"{_METRICS}_UpsCollectorǁ_own__mutmut_98": _UNLABELLED,
    f"{_METRICS}_UpsCollectorǁ_variables__mutmut_31": _UNLABELLED,
    f"{_SSE}xǁ_Filterǁwants__mutmut_1": "a Resync refused by the filter: the feed never "
        "offers one to it (the subscription makes the Resync itself, past the filter)",
    f"{_SSE}x__from_feed__mutmut_10": _BATCHED,
    f"{_SSE}x__from_feed__mutmut_11": _BATCHED,

    # ---- port identification -------------------------------------------------------
    f"{_SPROBE}__init____mutmut_2": _SET_BY_START,
    f"{_SPROBE}__init____mutmut_3": _SET_BY_START,
    f"{_SPROBE}__init____mutmut_4": _SET_BY_START,
    f"{_SPROBE}__init____mutmut_5": _SET_BY_START,
    f"{_SPROBE}__init____mutmut_6": _SET_BY_START,
    f"{_SPROBE}__init____mutmut_7": _SET_BY_START,
    f"{_MLPROBE}__init____mutmut_2": _SET_BY_START,
    f"{_MLPROBE}__init____mutmut_3": _SET_BY_START,
    f"{_FINDINGS}_send__mutmut_1": "'<=' for '<': at 256 bytes the slice that follows "
        "is empty, so nothing more is kept either way",
    f"{_FINDINGS}_hear__mutmut_1": "'<=' for '<': as above",
    f"{_FINDINGS}_send__mutmut_4": _ONE_BYTE,

    # ---- APC Smart session -----------------------------------------------------------
    f"{_SSESS}__init____mutmut_23": "_unit starts as None: discovery sets it before "
        "anything reads it (requests are taken only once polling starts)",
    f"{_SSESS}__init____mutmut_28": "_interrupted starts as None, not False: every reply "
        "line taken (_take_line) or timeout (handle_timeout) sets it before it is read",
    f"{_SSESS}__init____mutmut_29": "_interrupted starts as True: as above",
    f"{_SSESS}__init____mutmut_35": "_now starts as None: start(now) sets it first",
    f"{_SSESS}__init____mutmut_36": "_now starts as 1.0: as above",
    f"{_SSESS}__init____mutmut_37": "_heard_at starts as None: it is read only while a "
        "line is pending, and the bytes of one set it as they arrive",
    f"{_SSESS}__init____mutmut_38": "_heard_at starts as 1.0: as above",
    f"{_SSESS}__init____mutmut_39": "_script starts as '': start() sets it before anything "
        "reads it (the caller's contract: start first)",
    f"{_SSESS}__init____mutmut_40": "_waiting starts as '': start() runs _resume, which "
        "sets it to None first (the caller's contract: start first)",
    f"{_SSESS}handle_timeout__mutmut_10": "_interrupted cleared to None, not False, at a "
        "timeout: read for its truth only",
    f"{_SSESS}_resume__mutmut_2": "_waiting is '', not None, while the conversation runs: "
        "nothing reads it then, and the conversation ends only through _end, which sets None",
    f"{_SSESS}_run_steps__mutmut_2": "a step that expects nothing starts its reply as '', "
        "not None: Step.accepts returns True for Expect.NOTHING without looking at it",
    f"{_SSESS}_poll_forever__mutmut_15": "the poll counter counts down: -n % 5 is 0 exactly "
        "when n % 5 is, so the sweeps come in the same polls",
    f"{_SSESS}_poll_forever__mutmut_16": "the poll counter counts by 2: 2n % 5 is 0 exactly "
        "when n % 5 is (5 is prime), so the sweeps come in the same polls",
    f"{_SSESS}_poll__mutmut_1": "sweep defaults to False: the only call without it (after "
        "knocking) passes full=True, which reads every query whatever sweep says",
    f"{_SSESS}_poll_one__mutmut_29": "NA's names popped with default None, not set(): every "
        "query polled has its names, set with it in discovery and dropped with it",
    f"{_SSESS}_poll_one__mutmut_31": "NA's names popped without a default: as above",
    f"{_SSESS}_poll_one__mutmut_34": "NA's values popped without a default: each name was "
        "published in discovery, and no two queries publish one name (F is output.frequency "
        "when \\x9f\\xd3 is there; V is dropped when b answers), so it is still there",
    f"{_SSESS}_instcmd__mutmut_15": "status starts as '', not None: instcmd_steps reads it "
        "only for calibrate.* and 'cs', and both read Q into it first",
    f"{_SSESS}_killpower__mutmut_20": "no known shutdown delay taken as 'XXXX', not '': "
        "neither is digits, so both say 'after its delay'",
    f"{_SSESS}_discover__mutmut_14": _CODEC_CASE,
    f"{_SSESS}_discover__mutmut_34": "an unanswered 'a' parsed as b'XXXX', not b'': "
        "parse_cmdset refuses both (no version digit)",
    f"{_SSESS}_instcmd__mutmut_22": "no parameter taken as 'xxxx', not '': neither is 'cs'",
    f"{_SSESS}_instcmd__mutmut_30": "an unanswered Q parsed as b'XXXX', not b'': "
        "parse_register refuses both",
    f"{_SSESS}_killpower__mutmut_5": "as above, for killpower's Q",
    f"{_SSESS}_read_caps__mutmut_14": "an unanswered ^Z parsed as b'XXXX', not b'': "
        "parse_caps refuses both (no '#')",
    f"{_MLSESS}__init____mutmut_20": "_master_stale starts as None, not False: read for its "
        "truth only",
    f"{_MLSESS}__init____mutmut_23": "_not_before starts as None: only read once _next is "
        "set, and start() and _request set both",
    f"{_MLSESS}__init____mutmut_24": "_not_before starts as 1.0: as above",
    f"{_MLSESS}__init____mutmut_28": _BY_START,
    f"{_MLSESS}__init____mutmut_29": _BY_START,
    f"{_MLSESS}__init____mutmut_30": "_key starts as '': page 0 sets it to None (a new "
        "header) before any sweep can reach the echo that reads it",
    f"{_MLSESS}__init____mutmut_31": "_cursor starts as None: page 0 sets it to 0 before "
        "SETUP, the only state whose timeout reads it",
    f"{_MLSESS}__init____mutmut_32": "_cursor starts as 1: as above",
    f"{_MLSESS}__init____mutmut_34": "_naks starts as 1: page 0's FE request resets it to 0 "
        "before any state that reads it (MONITOR) can be reached",
    f"{_MLSESS}__init____mutmut_35": "_held starts as '', not None: only compared with a "
        "Record, which equals neither",
    f"{_MLSESS}_changes_flags__mutmut_1": "'and' for 'or': only called while monitoring, when "
        "the layout is known; an unchanged page then goes the long way to the same False",
    f"{_MLSESS}_changes_flags__mutmut_3": "the shortcut for an unchanged page looks up page "
        "None: the long way gives the same False (the flags of a blob compared with themselves)",
    f"{_MLSESS}data_to_send__mutmut_14": "_next cleared to '', not None, when sent: only read "
        "while no reply is awaited, and every reply or timeout sets it again first (a "
        "descriptor error raised instead leaves the driver's loop, and supervise starts the "
        "driver over with a new Session)",
    f"{_MLSESS}receive_data__mutmut_6": "break for continue: once a record is skipped as a "
        "late duplicate, nothing changes, so every later one is skipped too",
    f"{_MLSESS}receive_data__mutmut_10": "events = for events +=: only one record per call is "
        "taken (each sets _next, so the rest are late duplicates), and events starts empty",
    f"{_MLSESS}_store__mutmut_10": "_master_stale cleared to None, not False: read for its "
        "truth only",
    f"{_MLSESS}_auth_frame__mutmut_2": "an assert's 'and' made 'or': both are set whenever a "
        "sweep ends, so neither form ever fails (it narrows the types)",
    f"{_MLSESS}_auth_frame__mutmut_30": "three master-password bytes, not two: slave_password "
        "uses the first two only",
    f"{_MLSESS}_on_auth_echo__mutmut_2": "an assert's 'and' made 'or': the layout and the key "
        "are both set before the password is sent",
}
