"""Fuzzing the NUT front end in-process (no sockets).

100,000 seeded hostile inputs (tests/support/fuzzing.py) go through the
listener's own :class:`~nutpy.frontends.nut.conversation.Conversation` (the
tokenizer and ``Session.handle``, as every connection runs them) in TCP-sized
chunks.
Beyond "nothing raises", every reply must be well-formed, nobody who does not
hold a right may use it, and after each input the same connection still
answers a well-formed request correctly.  Hypothesis adds properties of the
tokenizer and of authentication.
"""

from __future__ import annotations

import secrets

import trio
from hypothesis import given, settings
from hypothesis import strategies as st

from nutpy.config import UpsdConf, parse_upsd_users
from nutpy.config.descriptions import Descriptions
from nutpy.frontends.nut.conversation import Conversation
from nutpy.frontends.nut.session import ServerContext, Session
from nutpy.frontends.nut.tracking import Tracking
from nutpy.protocols.tokenizer import Tokenizer
from nutpy.store import InstCmd, Request, SetVar, Store, UpsState
from tests.support.clocks import Clock
from tests.support.fuzzing import Generator, check_reply, split_replies

INPUTS = 100_000
SEED = 6
UPS = "main"
# The fuzzer knows the passwords of "reader" (no rights at all) and "limited"
# (SET, and one instant command); never those of "admin" or "mon".
ADMIN_PASSWORD = secrets.token_hex(16)
MON_PASSWORD = secrets.token_hex(16)
USERS = f"""
[admin]
  password = {ADMIN_PASSWORD}
  actions = SET FSD
  instcmds = ALL
[mon]
  password = {MON_PASSWORD}
  upsmon primary
[reader]
  password = readpass
[limited]
  password = lim
  actions = SET
  instcmds = test.battery.start
""".encode()
KNOWN = {"reader": "readpass", "limited": "lim"}
PROBE = b"GET VAR main ups.status\n"
PROBE_REPLY = 'VAR main ups.status "OL"\n'
RESYNC = b'x"\n'  # ends a line whatever state the tokenizer is in (quote, escape, comment)
GRANTS = ("OK PRIMARY-GRANTED", "OK MASTER-GRANTED", "OK FSD-SET")


def _context() -> tuple[ServerContext, UpsState]:
    clock = Clock()
    store = Store(clock=clock, maxage=10**9)
    ups = store.add(UPS, 'Rack "A" #1')
    ups.set("ups.status", "OL", writable=True, string=True, aux=32)
    ups.set("battery.charge", "100")
    ups.set("ups.id", "id", writable=True, string=True, aux=8)
    ups.set("input.sensitivity", "H", writable=True, string=True, aux=1)
    ups.set_enums("input.sensitivity", ["H", "M", "L"])
    ups.set("battery.charge.low", "10", writable=True)
    ups.set_ranges("battery.charge.low", [(5, 50)])
    ups.add_command("test.battery.start")
    ups.add_command("load.off")
    ups.mark_fresh(clock.now)
    users, _ = parse_upsd_users(USERS, "upsd.users")
    ctx = ServerContext(store, UpsdConf(maxage=10**9), users, Descriptions(),
                        Tracking(3600), clock)
    return ctx, ups


def _serve(conversation: Conversation, chunks: list[bytes]) -> list[str]:
    """What a connection sends back for these reads (until it would close or start TLS)."""
    sent = ""
    session = conversation.session
    for chunk in chunks:
        sent += "".join(conversation.receive(chunk))
        if session.closing or session.start_tls:
            break
    replies, rest = split_replies(sent)  # the batches, cut back into replies
    assert rest == "", rest
    return replies


def _allowed(request: Request) -> bool:
    """What "limited", the only user with rights whose password is known, may do."""
    return isinstance(request, SetVar) or (
        isinstance(request, InstCmd) and request.command == "test.battery.start")


async def test_100k_hostile_inputs_through_tokenizer_and_dispatcher() -> None:
    ctx, ups = _context()
    send, receive = trio.open_memory_channel[Request](INPUTS)
    ups.attach(send)
    gen = Generator(SEED, UPS, KNOWN)
    problems: list[str] = []
    submitted = 0
    for n in range(INPUTS):
        data = gen.input()
        session = Session(ctx, "127.0.0.1")
        conversation = Conversation(session)
        replies = _serve(conversation, gen.chunks(data))
        if not session.closing:  # the same connection still works
            replies += _serve(conversation, [RESYNC])
            probe = _serve(conversation, [PROBE])
            if probe != [PROBE_REPLY]:
                problems.append(f"input {n} {data!r}: probe answered {probe!r}")
        session.close()
        for reply in replies:
            wrong = check_reply(reply)
            if wrong is None and reply.startswith(GRANTS):
                wrong = "granted a right nobody known holds"
            if wrong:
                problems.append(f"input {n} {data!r}: {wrong}: {reply!r}")
        while True:
            try:
                request = receive.receive_nowait()
            except trio.WouldBlock:
                break
            submitted += 1
            if not _allowed(request):
                problems.append(f"input {n} {data!r}: reached the driver: {request}")
        if len(problems) > 20:
            break
    assert not problems, "\n".join(problems[:20])
    assert not ups.fsd and not ups.logins and not ctx.sessions
    assert ups.flags() == ("OL",)
    assert submitted > 0  # the fuzzer did find what "limited" may do


# ---- properties ----------------------------------------------------------------------

@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600), st.lists(st.integers(1, 600), max_size=20))
def test_chunking_never_changes_the_lines(data: bytes, cuts: list[int]) -> None:
    """A request split across reads anywhere is the same request (no parse errors)."""
    whole = Tokenizer().feed(data)
    tok = Tokenizer()
    pieces: list[object] = []
    pos = 0
    for cut in sorted(cuts):
        pieces += tok.feed(data[pos:cut])
        pos = max(pos, cut)
    pieces += tok.feed(data[pos:])
    assert pieces == whole


_ASCII_WORD = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7F), max_size=20)


@settings(max_examples=500, deadline=None)
@given(st.lists(_ASCII_WORD, max_size=33))
def test_any_words_get_a_well_formed_reply(words: list[str]) -> None:
    ctx, _ = _context()
    session = Session(ctx, "127.0.0.1")
    reply = session.handle(words)
    assert check_reply(reply) is None, reply


PRIVILEGED = [f"LOGIN {UPS}", f"PRIMARY {UPS}", f"MASTER {UPS}", f"FSD {UPS}",
              f"SET VAR {UPS} ups.id x", f"INSTCMD {UPS} load.off",
              f"INSTCMD {UPS} test.battery.start"]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["admin", "mon"]), _ASCII_WORD)
def test_a_wrong_password_grants_nothing(user: str, password: str) -> None:
    ctx, ups = _context()
    right = {"admin": ADMIN_PASSWORD, "mon": MON_PASSWORD}[user]
    if password == right:
        return
    session = Session(ctx, "127.0.0.1")
    assert session.handle(["USERNAME", user]) == "OK\n"
    assert session.handle(["PASSWORD", password]) == "OK\n"
    for request in PRIVILEGED:
        assert session.handle(request.split()) == "ERR ACCESS-DENIED\n", request
    assert not ups.fsd and not ups.logins
