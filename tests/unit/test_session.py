"""Protocol semantics through Session.handle, with a fake clock and no sockets."""

from __future__ import annotations

import logging
import re

import pytest
import trio

from nutpy.config import UpsdConf, parse_upsd_users
from nutpy.config.descriptions import Descriptions, parse_cmdvartab
from nutpy.frontends.nut.conversation import Conversation, loggable
from nutpy.frontends.nut.session import ServerContext, Session
from nutpy.frontends.nut.state import ClientState
from nutpy.frontends.nut.tracking import Tracking
from nutpy.protocols.nut import Err, ProtocolError, err_line
from nutpy.store import InstCmd, Request, Result, SetVar, Store
from tests.support.clocks import Clock
from tests.support.users import USERS


@pytest.fixture
def ctx(clock: Clock) -> ServerContext:
    store = Store(clock=clock)
    ups = store.add("Main", "Rack \"A\" #1")
    ups.set("ups.status", "OL", writable=True, string=True, aux=32)
    ups.set("battery.charge", "100")
    ups.set("ups.id", "id", writable=True, string=True, aux=4)
    ups.set("input.sensitivity", "H", writable=True, string=True, aux=1)
    ups.set_enums("input.sensitivity", ["H", "M", "L"])
    ups.set("battery.charge.low", "10", writable=True)
    ups.set_ranges("battery.charge.low", [(5, 50)])
    ups.set("Zeta.var", "z")
    ups.set("alpha.var", 'say "hi" #1')
    ups.add_command("test.battery.start")
    ups.add_command("Beeper.enable")
    ups.mark_fresh(clock.now)
    store.add("nodriver")
    users, _ = parse_upsd_users(USERS, "upsd.users")
    descriptions = parse_cmdvartab(b'VARDESC ups.status "UPS status"\n'
                                   b'CMDDESC test.battery.start "Start a battery test"\n')
    return ServerContext(store, UpsdConf(maxage=15), users, descriptions,
                         Tracking(3600), clock)


def say(session: Session, *lines: str) -> str:
    from nutpy.protocols.tokenizer import Line, Tokenizer

    tok = Tokenizer()
    out = []
    for line in lines:
        for event in tok.feed(line.encode() + b"\n"):
            assert isinstance(event, Line)
            out.append(session.handle(event.words))
    return "".join(out)


def test_echoes_spelling_and_escapes_values(ctx: ServerContext) -> None:
    s = Session(ctx, "127.0.0.1")
    assert say(s, "get var MAIN UPS.Status") == 'VAR MAIN UPS.Status "OL"\n'
    assert say(s, "GET VAR Main alpha.var") == 'VAR Main alpha.var "say \\"hi\\" \\#1"\n'
    assert say(s, "GET UPSDESC main") == 'UPSDESC main "Rack \\"A\\" \\#1"\n'


def test_list_var_sorted_case_insensitively_and_one_string(ctx: ServerContext) -> None:
    reply = say(Session(ctx, "x"), "LIST VAR main")
    names = [line.split()[2] for line in reply.splitlines()[1:-1]]
    assert names == sorted(names, key=str.lower)
    assert names[0] == "alpha.var" and names[-1] == "Zeta.var"
    assert reply.startswith("BEGIN LIST VAR main\n") and reply.endswith("END LIST VAR main\n")
    cmds = say(Session(ctx, "x"), "LIST CMD Main")
    assert cmds == ("BEGIN LIST CMD Main\nCMD Main Beeper.enable\n"
                    "CMD Main test.battery.start\nEND LIST CMD Main\n")


def test_type_enum_range(ctx: ServerContext) -> None:
    s = Session(ctx, "x")
    assert say(s, "GET TYPE Main input.sensitivity") == \
        "TYPE Main input.sensitivity RW ENUM STRING:1\n"
    assert say(s, "GET TYPE Main battery.charge.low") == \
        "TYPE Main battery.charge.low RW RANGE NUMBER\n"
    assert say(s, "GET TYPE Main battery.charge") == "TYPE Main battery.charge NUMBER\n"
    assert say(s, "LIST ENUM Main input.sensitivity") == (
        "BEGIN LIST ENUM Main input.sensitivity\n"
        'ENUM Main input.sensitivity "H"\nENUM Main input.sensitivity "M"\n'
        'ENUM Main input.sensitivity "L"\nEND LIST ENUM Main input.sensitivity\n')
    assert say(s, "LIST RANGE Main battery.charge.low") == (
        "BEGIN LIST RANGE Main battery.charge.low\n"
        'RANGE Main battery.charge.low "5" "50"\nEND LIST RANGE Main battery.charge.low\n')


def test_availability_driver_not_connected_and_stale(ctx: ServerContext,
                                                     clock: Clock) -> None:
    s = Session(ctx, "x")
    assert say(s, "GET VAR nodriver ups.status") == "ERR DRIVER-NOT-CONNECTED\n"
    assert say(s, "LIST UPS").count("UPS nodriver") == 1
    clock.now += 15
    assert say(s, "GET VAR main ups.status") == 'VAR main ups.status "OL"\n'
    clock.now += 1
    assert say(s, "GET VAR main ups.status") == "ERR DATA-STALE\n"
    assert say(s, "GET UPSDESC main").startswith("UPSDESC")  # no availability check
    ups = ctx.store.get("main")
    assert ups is not None
    ups.mark_fresh(clock.now)
    assert say(s, "GET VAR main ups.status") == 'VAR main ups.status "OL"\n'
    ups.mark_stale()
    assert say(s, "LIST VAR main") == "ERR DATA-STALE\n"


def test_server_vars_work_for_any_ups_name(ctx: ServerContext) -> None:
    reply = say(Session(ctx, "x"), "GET VAR nosuch server.version", "GET VAR x server.nope")
    assert reply.startswith("VAR nosuch server.version \"2.8")
    assert reply.endswith("ERR VAR-NOT-SUPPORTED\n")


def test_login_numlogins_and_disconnect(ctx: ServerContext) -> None:
    a, b = Session(ctx, "10.0.0.1"), Session(ctx, "10.0.0.2")
    assert say(a, "LOGIN main") == "ERR USERNAME-REQUIRED\n"
    assert say(a, "USERNAME mon", "LOGIN main") == "OK\nERR PASSWORD-REQUIRED\n"
    assert say(a, "PASSWORD mp", "LOGIN main", "LOGIN main") == \
        "OK\nOK\nERR ALREADY-LOGGED-IN\n"
    assert say(b, "USERNAME sec", "PASSWORD sp", "LOGIN MAIN", "PRIMARY main") == \
        "OK\nOK\nOK\nERR ACCESS-DENIED\n"
    assert say(a, "GET NUMLOGINS main") == "NUMLOGINS main 2\n"
    assert say(a, "LIST CLIENT main") == ("BEGIN LIST CLIENT main\nCLIENT Main 10.0.0.2\n"
                                          "CLIENT Main 10.0.0.1\nEND LIST CLIENT main\n")
    b.close()  # a secondary that just goes away is counted out
    assert say(a, "GET NUMLOGINS main") == "NUMLOGINS main 1\n"


def test_wrong_password_grants_nothing(ctx: ServerContext) -> None:
    s = Session(ctx, "x")
    assert say(s, "USERNAME mon", "PASSWORD mP", "LOGIN main", "PRIMARY main",
               "MASTER main", "FSD main") == "OK\nOK\n" + "ERR ACCESS-DENIED\n" * 4
    assert ctx.store.get("main").fsd is False  # type: ignore[union-attr]


def test_fsd_latch_prefixes_status(ctx: ServerContext) -> None:
    s = Session(ctx, "x")
    assert say(s, "USERNAME mon", "PASSWORD mp", "PRIMARY main", "MASTER main",
               "FSD main") == "OK\nOK\nOK PRIMARY-GRANTED\nOK MASTER-GRANTED\nOK FSD-SET\n"
    assert say(s, "GET VAR main ups.status") == 'VAR main ups.status "FSD OL"\n'
    assert 'VAR main ups.status "FSD OL"' in say(s, "LIST VAR main")
    assert 'RW main ups.status "OL"' in say(s, "LIST RW main")


def test_admin_with_set_fsd_cannot_login(ctx: ServerContext) -> None:
    s = Session(ctx, "x")
    assert say(s, "USERNAME admin", "PASSWORD pw", "LOGIN main", "FSD main") == \
        "OK\nOK\nERR ACCESS-DENIED\nOK FSD-SET\n"


def admin_with_driver(ctx: ServerContext
                      ) -> tuple[Session, trio.MemoryReceiveChannel[Request]]:
    """An admin session, and what reaches the driver of UPS ``main``."""
    ups = ctx.store.get("main")
    assert ups is not None
    send, receive = trio.open_memory_channel[Request](10)
    ups.attach(send)
    s = Session(ctx, "x")
    say(s, "USERNAME admin", "PASSWORD pw")
    return s, receive


async def test_set_var_checks_and_reaches_driver(ctx: ServerContext) -> None:
    s, receive = admin_with_driver(ctx)
    assert say(s, "SET VAR main battery.charge 5") == "ERR READONLY\n"
    assert say(s, "SET VAR main nosuch.var 5") == "ERR VAR-NOT-SUPPORTED\n"
    assert say(s, "SET VAR main ups.id toolong") == "ERR TOO-LONG\n"
    assert say(s, "SET VAR main input.sensitivity h") == "ERR INVALID-VALUE\n"
    assert say(s, "SET VAR main battery.charge.low 51") == "ERR INVALID-VALUE\n"
    assert say(s, "SET VAR main battery.charge.low 50abc") == "OK\n"
    assert say(s, "SET VAR main input.sensitivity L") == "OK\n"
    assert say(s, "SET VAR nodriver x y") == "ERR DRIVER-NOT-CONNECTED\n"
    first, second = receive.receive_nowait(), receive.receive_nowait()
    assert isinstance(first, SetVar) and first.value == "50abc"
    assert isinstance(second, SetVar) and second.variable == "input.sensitivity"


async def test_instcmd_acl_and_tracking(ctx: ServerContext) -> None:
    s, receive = admin_with_driver(ctx)
    assert say(s, "INSTCMD main load.off") == "ERR CMD-NOT-SUPPORTED\n"
    assert say(s, "INSTCMD main beeper.enable") == "ERR ACCESS-DENIED\n"
    assert say(s, "GET TRACKING") == "OFF\n"
    assert say(s, "GET TRACKING 123") == "ERR FEATURE-NOT-CONFIGURED\n"
    assert say(s, "SET TRACKING maybe") == "ERR INVALID-ARGUMENT\n"
    assert say(s, "SET TRACKING on", "GET TRACKING") == "OK\nON\n"
    reply = say(s, "INSTCMD main TEST.battery.start 10")
    match = re.fullmatch(r"OK TRACKING ([0-9A-F-]{36})\n", reply)
    assert match is not None
    ident = match.group(1)
    assert say(s, f"GET TRACKING {ident}") == "PENDING\n"
    request = receive.receive_nowait()
    assert isinstance(request, InstCmd)
    assert (request.command, request.param) == ("test.battery.start", "10")
    assert request.on_result is not None
    request.on_result(Result.SUCCESS)
    assert say(s, f"GET TRACKING {ident}") == "SUCCESS\n"
    reply = say(s, "SET VAR main ups.id ab")
    ident = reply.split()[-1]
    set_request = receive.receive_nowait()
    assert set_request.on_result is not None
    set_request.on_result(Result.FAILED)
    assert say(s, f"GET TRACKING {ident}") == "ERR FAILED\n"
    assert say(s, "GET TRACKING 00000000-0000-0000-0000-000000000000") == "ERR UNKNOWN\n"


def test_driver_queue_full_or_gone_fails_the_request(ctx: ServerContext) -> None:
    s = Session(ctx, "x")
    say(s, "USERNAME admin", "PASSWORD pw")
    assert say(s, "INSTCMD main test.battery.start") == "ERR INSTCMD-FAILED\n"
    assert say(s, "SET VAR main ups.id ab") == "ERR SET-FAILED\n"


def test_argument_counts_and_unknowns(ctx: ServerContext) -> None:
    s = Session(ctx, "x")
    assert say(s, "VER x", "HELP x", "LOGOUT x", "USERNAME", "PASSWORD a b") == \
        "ERR INVALID-ARGUMENT\n" * 5
    assert say(s, "FROB", "", "LIST", "LIST FOO bar baz", "GET NUMATTACH main",
               "LIST CLIENT") == ("ERR UNKNOWN-COMMAND\n" * 2 + "ERR INVALID-ARGUMENT\n" * 4)
    assert say(s, "GET VAR nosuch ups.status", "LIST VAR nosuch", "FSD x") == \
        "ERR UNKNOWN-UPS\nERR UNKNOWN-UPS\nERR USERNAME-REQUIRED\n"
    assert say(s, "USERNAME a", "USERNAME b", "PASSWORD a", "PASSWORD b") == \
        "OK\nERR ALREADY-SET-USERNAME\nOK\nERR ALREADY-SET-PASSWORD\n"


def test_descriptions_and_starttls_without_certificate(ctx: ServerContext) -> None:
    s = Session(ctx, "x")
    assert say(s, "GET DESC main ups.status") == 'DESC main ups.status "UPS status"\n'
    assert say(s, "GET DESC main no.such") == 'DESC main no.such "Description unavailable"\n'
    assert say(s, "GET CMDDESC main b'test.battery.start'") == \
        "CMDDESC main b'test.battery.start' \"Description unavailable\"\n"
    assert say(s, "STARTTLS") == "ERR FEATURE-NOT-CONFIGURED\n"
    ctx.tls_available = True
    assert say(s, "STARTTLS") == "OK STARTTLS\n" and s.start_tls
    s.tls = True
    assert say(s, "STARTTLS") == "ERR ALREADY-SSL-MODE\n"


def test_logout_closes(ctx: ServerContext) -> None:
    s = Session(ctx, "x")
    assert say(s, "LOGOUT") == "OK Goodbye\n"
    assert s.closing


def test_tracking_purges_after_delay() -> None:
    tracking = Tracking(10)
    ident = tracking.add(0.0)
    assert tracking.answer(ident, 5.0) == "PENDING"
    assert tracking.answer(ident, 11.0) == "ERR UNKNOWN"
    assert len(tracking) == 0


def test_descriptions_fallback() -> None:
    assert Descriptions().variable("ups.status") is None
    table = parse_cmdvartab(b'VARDESC ups.load "Load"\n')
    assert table.variable("upstream.UPS.LOAD") == "Load"


def test_passwords_are_compared_in_constant_time(ctx: ServerContext,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Through hmac.compare_digest, for unknown users too (no timing oracle for names)."""
    import hmac

    compared: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr("nutpy.config.upsd_users.hmac.compare_digest", spy)
    for user, password, reply in (("admin", "pw", "OK FSD-SET\n"),
                                  ("admin", "pX", "ERR ACCESS-DENIED\n"),
                                  ("nobody", "pw", "ERR ACCESS-DENIED\n")):
        s = Session(ctx, "x")
        assert say(s, f"USERNAME {user}", f"PASSWORD {password}", "FSD main") == \
            "OK\nOK\n" + reply
    assert compared == [(b"pw", b"pw"), (b"pw", b"pX"), (b"", b"pw")]


# ---- what mutation testing found unpinned (docs/testing.md) -----------------

async def test_a_range_admits_both_ends_and_nothing_past_them(ctx: ServerContext) -> None:
    s, receive = admin_with_driver(ctx)
    ups = ctx.store.get("main")
    assert ups is not None
    ups.set_ranges("battery.charge.low", [(5, 50), (70, 80)])
    replies = {value: say(s, f"SET VAR main battery.charge.low {value}")
               for value in ("4", "5", "50", "51", "69", "70", "80", "81", "+7", "-5")}
    assert replies == {"4": "ERR INVALID-VALUE\n", "5": "OK\n", "50": "OK\n",
                       "51": "ERR INVALID-VALUE\n", "69": "ERR INVALID-VALUE\n",
                       "70": "OK\n", "80": "OK\n", "81": "ERR INVALID-VALUE\n",
                       "+7": "OK\n", "-5": "ERR INVALID-VALUE\n"}
    sent = [receive.receive_nowait() for _ in range(5)]
    assert [r.value for r in sent if isinstance(r, SetVar)] == ["5", "50", "70", "80", "+7"]


async def test_a_string_fits_up_to_its_length(ctx: ServerContext) -> None:
    s, _ = admin_with_driver(ctx)
    assert say(s, "SET VAR main ups.id abcd", "SET VAR main ups.id abcde") == \
        "OK\nERR TOO-LONG\n"
    ups = ctx.store.get("main")
    assert ups is not None
    ups.set("ups.id", "id", aux=0)  # a string nothing fits in: upsd's SET-FAILED
    assert say(s, "SET VAR main ups.id a") == "ERR SET-FAILED\n"


def test_primary_and_master_name_an_unknown_ups_before_checking_rights(
        ctx: ServerContext) -> None:
    for user, password in (("mon", "mp"), ("sec", "sp")):
        s = Session(ctx, "x")
        assert say(s, f"USERNAME {user}", f"PASSWORD {password}", "PRIMARY nosuch",
                   "MASTER nosuch", "FSD nosuch", "LOGIN nosuch") == \
            "OK\nOK\n" + "ERR UNKNOWN-UPS\n" * 4
    s = Session(ctx, "x")
    assert say(s, "USERNAME mon", "PASSWORD mp", "PRIMARY main x", "MASTER") == \
        "OK\nOK\n" + "ERR INVALID-ARGUMENT\n" * 2


def test_help_ver_and_netver_answer_as_upsd(ctx: ServerContext) -> None:
    # The HELP text of NUT 2.8.3 and later (spec: nut-network-protocol.md, replies table).
    s = Session(ctx, "x")
    assert say(s, "HELP") == ("Commands: HELP VER PROTVER GET LIST SET INSTCMD LOGIN LOGOUT "
                              "USERNAME PASSWORD STARTTLS\n")
    assert say(s, "help", "NETVER", "protver") == \
        say(s, "HELP") + "1.3\n1.3\n"
    assert re.fullmatch(r"Network UPS Tools upsd 2\.8\.5-nutpy\S+ - "
                        r"https://www\.networkupstools\.org/\n", say(s, "VER"))


def test_a_backslash_in_a_value_is_escaped(ctx: ServerContext) -> None:
    ups = ctx.store.get("main")
    assert ups is not None
    ups.set("driver.path", "C:\\ups\\\"x\"#")
    assert say(Session(ctx, "x"), "GET VAR main driver.path") == \
        'VAR main driver.path "C:\\\\ups\\\\\\"x\\"\\#"\n'


def test_words_before_a_parse_error_are_not_glued_onto_the_next_request(
        ctx: ServerContext) -> None:
    talk = Conversation(Session(ctx, "x"))
    # upsd drops the rest of the read that held the error (VER here) ...
    assert list(talk.receive(b'GET VAR "main#x" ups.status\nVER\n')) == []
    assert talk.requests == 0
    # ... and the next read starts a fresh request: "HELP", not "GET VAR main HELP".
    assert list(talk.receive(b"HELP\n")) == [say(Session(ctx, "y"), "HELP")]
    assert talk.requests == 1


def test_replies_are_held_up_to_64_kib_then_sent_before_more_is_handled(
        ctx: ServerContext) -> None:
    talk = Conversation(Session(ctx, "x"))
    reply = say(Session(ctx, "y"), "GET VAR main battery.charge")
    count = 65536 // len(reply) + 2  # one more than fits in a 64 KiB batch, and one after
    batches = talk.receive(b"GET VAR main battery.charge\n" * count)
    first = next(batches)
    assert len(first) == (65536 // len(reply) + 1) * len(reply)  # the reply that reaches 64 KiB
    assert len(first) - len(reply) < 65536 <= len(first)
    assert list(batches) == [reply]
    assert talk.requests == count


def test_logout_and_starttls_stop_the_handling_of_a_read(ctx: ServerContext) -> None:
    talk = Conversation(Session(ctx, "x"))
    assert list(talk.receive(b"VER\nLOGOUT\nVER\n")) == \
        [say(Session(ctx, "y"), "VER") + "OK Goodbye\n"]
    ctx.tls_available = True
    talk = Conversation(Session(ctx, "x"))
    assert list(talk.receive(b"STARTTLS\nVER\n")) == ["OK STARTTLS\n"]
    assert list(talk.receive(b"GET VAR ma")) == []  # a partial line read in the clear ...
    assert talk.tokenizer.pending
    talk.tls_started()  # ... is no request under TLS
    assert not talk.tokenizer.pending
    assert list(talk.receive(b"NETVER\n")) == ["1.3\n"]


def test_a_password_never_reaches_the_log() -> None:
    assert loggable(["PASSWORD", "s3cret"]) == "PASSWORD ****"
    assert loggable(["password", "a", "b"]) == "password **** ****"
    assert loggable(["USERNAME", "bob"]) == "USERNAME bob"
    assert loggable([]) == ""


def test_list_ups_names_each_ups_with_its_description(ctx: ServerContext) -> None:
    assert say(Session(ctx, "x"), "LIST UPS") == (
        'BEGIN LIST UPS\nUPS Main "Rack \\"A\\" \\#1"\n'
        'UPS nodriver "Description unavailable"\nEND LIST UPS\n')


def test_every_error_code_is_upsds() -> None:
    # The codes upsd sends (spec: nut-network-protocol.md §2), one for each Err.
    codes = {"ACCESS-DENIED", "UNKNOWN-UPS", "VAR-NOT-SUPPORTED", "CMD-NOT-SUPPORTED",
             "INVALID-ARGUMENT", "INSTCMD-FAILED", "SET-FAILED", "READONLY", "TOO-LONG",
             "INVALID-VALUE", "FEATURE-NOT-SUPPORTED", "FEATURE-NOT-CONFIGURED",
             "ALREADY-SSL-MODE", "DRIVER-NOT-CONNECTED", "DATA-STALE", "ALREADY-LOGGED-IN",
             "ALREADY-SET-USERNAME", "ALREADY-SET-PASSWORD", "USERNAME-REQUIRED",
             "PASSWORD-REQUIRED", "UNKNOWN-COMMAND"}
    assert {code.value for code in Err} == codes
    for code in Err:
        assert err_line(code) == f"ERR {code.value}\n"
        error = ProtocolError(code)
        assert error.code is code and str(error) == code.value


def test_either_primary_or_master_grants_both_verbs(ctx: ServerContext) -> None:
    # upsd's net_primary accepts a user with the PRIMARY or the MASTER action.
    users, _ = parse_upsd_users(b"[p]\n password = p\n actions = PRIMARY\n"
                                b"[m]\n password = m\n actions = MASTER\n"
                                b"[f]\n password = f\n actions = FSD\n", "upsd.users")
    ctx.users = users
    for user in ("p", "m"):
        assert say(Session(ctx, "x"), f"USERNAME {user}", f"PASSWORD {user}", "PRIMARY main",
                   "MASTER main") == "OK\nOK\nOK PRIMARY-GRANTED\nOK MASTER-GRANTED\n"
    assert say(Session(ctx, "x"), "USERNAME f", "PASSWORD f", "PRIMARY main",
               "MASTER main") == "OK\nOK\n" + "ERR ACCESS-DENIED\n" * 2


def test_lists_are_sorted_as_upsd_sorts_them_and_exact(ctx: ServerContext) -> None:
    ups = ctx.store.get("main")
    assert ups is not None
    ups.add_command("Zeta.cmd")
    ups.add_command("alpha.cmd")
    ups.set("x_y", "1")
    ups.set("xay", "2")
    s = Session(ctx, "x")
    assert say(s, "LIST CMD main") == (
        "BEGIN LIST CMD main\nCMD main alpha.cmd\nCMD main Beeper.enable\n"
        "CMD main test.battery.start\nCMD main Zeta.cmd\nEND LIST CMD main\n")
    names = [line.split()[2] for line in say(s, "LIST VAR main").splitlines()[1:-1]]
    assert names.index("x_y") < names.index("xay")  # strcasecmp: '_' sorts before 'a'
    assert say(s, "LIST RW main") == (
        'BEGIN LIST RW main\nRW main battery.charge.low "10"\n'
        'RW main input.sensitivity "H"\nRW main ups.id "id"\n'
        'RW main ups.status "OL"\nEND LIST RW main\n')


def test_get_answers_for_the_server_and_upsdesc_without_a_description(
        ctx: ServerContext) -> None:
    s = Session(ctx, "x")
    info = say(s, "GET VAR anything SERVER.INFO")  # upsd's get_var_server: its own spelling
    assert re.fullmatch(r'VAR anything server\.info "Network UPS Tools upsd '
                        r'2\.8\.5-nutpy\S+ - https://www\.networkupstools\.org/"\n', info)
    assert say(s, "GET UPSDESC nodriver") == 'UPSDESC nodriver "Unavailable"\n'
    assert say(s, "GET FOO main x", "GET VAR main") == "ERR INVALID-ARGUMENT\n" * 2


def test_set_tracking_off_and_unknown_set_subcommands(ctx: ServerContext) -> None:
    s = Session(ctx, "x")
    say(s, "USERNAME a", "PASSWORD b")
    assert say(s, "SET TRACKING ON", "SET TRACKING off", "GET TRACKING") == "OK\nOK\nOFF\n"
    assert say(s, "SET FOO bar", "SET TRACKING") == "ERR INVALID-ARGUMENT\n" * 2


def test_a_session_leaves_the_shared_state_when_it_closes(ctx: ServerContext) -> None:
    ups = ctx.store.get("main")
    assert ups is not None
    s = Session(ctx, "10.0.0.9")
    assert ctx.sessions[s.id] is s
    say(s, "USERNAME mon", "PASSWORD mp", "LOGIN main")
    assert ups.logins == {s.id: "10.0.0.9"}
    s.close()
    s.close()  # the listener may close twice: nothing left to undo
    assert s.id not in ctx.sessions and ups.logins == {} and s.login_ups is None


def test_kick_disconnects_only_the_clients_of_that_ups(ctx: ServerContext) -> None:
    main, other = ctx.store.get("main"), ctx.store.get("nodriver")
    assert main is not None and other is not None
    kicked: list[str] = []
    on_main, without_kill, elsewhere = (Session(ctx, a) for a in ("a", "b", "c"))
    on_main.login_ups = without_kill.login_ups = main
    elsewhere.login_ups = other
    on_main.kill = lambda: kicked.append("a")
    elsewhere.kill = lambda: kicked.append("c")
    Session(ctx, "d").kill = lambda: kicked.append("d")  # logged in nowhere
    ctx.kick(main)
    assert kicked == ["a"]


def test_a_user_is_known_only_with_both_name_and_password(ctx: ServerContext) -> None:
    state = ClientState(ctx, "x")
    state.username = "admin"
    assert state.authenticated_user() is None
    state.username, state.password = None, "pw"
    assert state.authenticated_user() is None
    state.username = "admin"
    user = state.authenticated_user()
    assert user is not None and user.may("SET")


def test_the_log_says_who_sent_what_and_never_a_password(
        ctx: ServerContext, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="nutpy.server")
    talk = Conversation(Session(ctx, "10.1.2.3"))
    assert len(list(talk.receive(b"USERNAME bob\nPASSWORD s3cret\n"))) == 1
    list(talk.receive(b'GET VAR "a#b"\n'))
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (logging.DEBUG, "client 10.1.2.3: USERNAME bob"),
        (logging.DEBUG, "client 10.1.2.3: PASSWORD ****"),
        (logging.INFO, "client 10.1.2.3: parse error: "
                       "Unbalanced word due to unescaped # in quotes")]


def test_batches_are_cut_exactly_when_64_kib_are_held(ctx: ServerContext) -> None:
    ups = ctx.store.get("main")
    assert ups is not None
    ups.set("p64", "x" * 48)  # 'VAR main p64 "x...x"\n': 64 bytes
    ups.set("p63", "x" * 47)  # 63 bytes
    sixty_four, sixty_three = b"GET VAR main p64\n", b"GET VAR main p63\n"
    talk = Conversation(Session(ctx, "x"))
    almost = sixty_three + sixty_four * 1023  # 65535 bytes of replies: not yet 64 KiB
    data = almost + sixty_four + sixty_four * 1024 + almost + sixty_four
    sizes = [len(batch) for batch in talk.receive(data)]
    assert sizes == [65535 + 64, 65536, 65535 + 64]


GET_CHARGE = b"GET VAR Main battery.charge\n"


def test_a_read_that_is_one_get_var_answered_with_a_value_is_kept(ctx: ServerContext) -> None:
    talk = Conversation(Session(ctx, "x"))
    assert talk.cached(GET_CHARGE) is None  # nothing kept yet: the caller must receive()
    assert list(talk.receive(GET_CHARGE)) == ['VAR Main battery.charge "100"\n']
    assert len(ctx.replies) == 1
    other = Conversation(Session(ctx, "y"))  # the cache is the server's, not the connection's
    other.requests = 0
    assert other.cached(GET_CHARGE) == 'VAR Main battery.charge "100"\n'
    assert other.requests == 1  # a request was served: the client is not idle
    assert other.cached(b"get var main battery.charge\n") is None  # other bytes, other entry
    assert list(other.receive(b"get var main battery.charge\n")) == \
        ['VAR main battery.charge "100"\n']  # the reply echoes the client's spelling
    assert len(ctx.replies) == 2


@pytest.mark.parametrize("data", [
    b"GET VAR Main nosuch.var\n",  # an error is not kept: it may end without an event
    b"GET VAR Nobody battery.charge\n",
    b"LIST VAR Main\n",
    b"GET DESC Main ups.status\n",
    b"GET TYPE Main ups.id\n",
    b"GET NUMLOGINS Main\n",
    b"VER\n",
    GET_CHARGE + GET_CHARGE,  # two requests in one read
    GET_CHARGE + b"GET VAR",  # one request and the start of the next
])
def test_only_a_read_of_one_successful_get_var_is_kept(ctx: ServerContext,
                                                        data: bytes) -> None:
    talk = Conversation(Session(ctx, "x"))
    assert list(talk.receive(data))
    assert len(ctx.replies) == 0


def test_a_request_completing_a_partial_line_is_neither_kept_nor_answered_from_the_cache(
        ctx: ServerContext) -> None:
    talk = Conversation(Session(ctx, "x"))
    list(talk.receive(GET_CHARGE))
    assert list(talk.receive(b"GET VAR Main ")) == []
    # The tokenizer holds "GET VAR Main ": these bytes end that line, not a request of
    # their own, whatever the cache holds for them.
    assert talk.cached(GET_CHARGE) is None
    assert list(talk.receive(b"battery.charge\n")) == ['VAR Main battery.charge "100"\n']
    assert len(ctx.replies) == 1  # the read "battery.charge\n" is not kept
    assert ctx.replies.get(GET_CHARGE) == 'VAR Main battery.charge "100"\n'


def test_with_debug_logging_every_request_is_handled_and_logged(
        ctx: ServerContext, caplog: pytest.LogCaptureFixture) -> None:
    talk = Conversation(Session(ctx, "x"))
    list(talk.receive(GET_CHARGE))
    caplog.set_level(logging.DEBUG, logger="nutpy.server")
    assert talk.cached(GET_CHARGE) is None
    assert list(talk.receive(GET_CHARGE)) == ['VAR Main battery.charge "100"\n']
    assert [r.getMessage() for r in caplog.records] == \
        ["client x: GET VAR Main battery.charge"]
