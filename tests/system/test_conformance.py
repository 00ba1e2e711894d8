"""Differential conformance: the same scripted sessions against NUT's upsd and nutpy.

Debian's upsd 2.8.0 with its dummy-ups driver, and nutpy, serve the same .dev
file with the same upsd.users, each from its own config directory on its own
port.  One script of requests, spread over several connections (some open at
the same time, so NUMLOGINS and LIST CLIENT see each other), is played against
both, request by request, and every reply is compared byte for byte.  The few
replies that may differ are listed in KNOWN_DIFFERENCES with the reason; the
test checks that they really do differ, so the list cannot rot.

After it, the acceptance cases of the protocol spec (section 9) that concern
upsd alone: the CVE-2012-2944 garbage test, ``upsc`` on a bogus variable, and
a UPS whose driver has nothing to read.
"""

from __future__ import annotations

import contextlib
import random
import re
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import FIXTURES
from tests.support.nut import (
    Server,
    free_port,
    nut_tool,
    nutpy_server,
    real_upsd,
    wait_until,
    write_config,
)

REPLY_TIMEOUT = 3.0  # a reply that has not come by then counts as missing
QUIET = 0.4  # how long to listen for a reply that should not come
SET_DELAY = 1.5  # dummy-ups applies SET VAR asynchronously

UPS_CONF = """\
[dummy]
  driver = dummy-ups
  port = smart-ups-1500.dev
  desc = "Crash \\"Dummy\\" \\\\ 1500"
[ghost]
  driver = dummy-ups
  port = missing.dev
"""

USERS = """\
[admin]
  password = mypass
  actions = SET
  actions = FSD
  instcmds = ALL
[reader]
  password = readpass
[monp]
  password = pw
  upsmon primary
[mons]
  password = pw
  upsmon = secondary
[nopass]
  actions = SET FSD
  instcmds = all
[limited]
  password = lim
  actions = set
  instcmds = LOAD.OFF
[other]
  password = "two words"
  instcmds = shutdown.return
"""


# ---- the script ----------------------------------------------------------------

@dataclass(frozen=True)
class Req:
    """Send ``data`` on connection ``conn`` and read ``replies`` replies.

    ``data`` may be split into chunks sent 0.1 s apart; ``{id}`` in it is
    replaced by the last tracking id this server handed out.  With
    ``replies=0`` the step listens for QUIET seconds and records whatever came.
    """

    conn: str
    data: tuple[bytes, ...]
    replies: int = 1

    @property
    def key(self) -> bytes:
        return b"".join(self.data)


@dataclass(frozen=True)
class Close:
    conn: str
    expect_eof: bool = False  # the server must have closed it (after LOGOUT)


@dataclass(frozen=True)
class Sleep:
    seconds: float


Step = Req | Close | Sleep


def req(conn: str, line: str | bytes, replies: int = 1) -> Req:
    data = line.encode("latin-1") if isinstance(line, str) else line
    return Req(conn, (data + b"\n",), replies)


def raw(conn: str, *chunks: bytes, replies: int = 1) -> Req:
    return Req(conn, chunks, replies)


def _anonymous() -> list[Step]:
    """Connection ``a``: no credentials; every read-only verb and the tokenizer."""
    lines: list[str | bytes] = [
        "VER", "NETVER", "PROTVER", "HELP", "ver",
        "Help", "VER now", "NETVER 1.3", "PROTVER x y",
        "HELP me", "", "# a comment only", " \t \v\f ",
        "BOGUS", "GETVAR dummy ups.status",
        # GET
        "GET", "GET VAR", "GET VAR dummy", "GET BOGUS dummy ups.status",
        "GET BOGUS",
        "GET VAR dummy ups.status", "get var Dummy UPS.Status",
        "GET VAR DUMMY ups.serial", "GET VAR dummy ups.status extra words",
        "GET VAR dummy ups.bogus.value", "GET VAR nosuch ups.status",
        "GET VAR ghost ups.status", "GET VAR dummy server.info",
        "GET VAR nosuch SERVER.VERSION", "GET VAR dummy server.bogus",
        "GET VAR dummy driver.version", "GET VAR dummy driver.name",
        "GET VAR dummy driver.parameter.synchronous",
        "GET TYPE dummy ups.load", "GET TYPE Dummy Input.Quality",
        "GET TYPE dummy driver.name", "GET TYPE dummy ups.firmware",
        "GET TYPE dummy ups.bogus", "GET TYPE nosuch ups.load",
        "GET TYPE ghost ups.load",
        "GET DESC dummy ups.status", "GET DESC DUMMY no.such.variable",
        "GET DESC ghost ups.status", "GET DESC dummy",
        "GET CMDDESC dummy load.off", "GET CMDDESC dummy LOAD.OFF",
        "GET CMDDESC dummy b'load.off'", "GET CMDDESC nosuch load.off",
        "GET UPSDESC dummy", "GET UPSDESC GHOST", "GET UPSDESC nosuch",
        "GET UPSDESC",
        "GET NUMLOGINS dummy", "GET NUMLOGINS ghost",
        "GET NUMLOGINS nosuch", "GET NUMLOGINS", "GET NUMATTACH dummy",
        "GET TRACKING", "GET TRACKING 01234567-89AB-4CDE-8F01-23456789ABCD",
        # LIST
        "LIST", "LIST UPS", "list ups extra", "LIST VAR",
        "LIST VAR dummy", "LIST VAR nosuch", "LIST VAR ghost",
        "LIST RW dummy", "LIST RW DUMMY", "LIST CMD dummy",
        "list cmd DuMmY", "LIST CMD ghost",
        "LIST ENUM dummy ups.status", "LIST ENUM dummy",
        "LIST ENUM dummy ups.bogus", "LIST RANGE Dummy Ups.Load",
        "LIST RANGE nosuch ups.load",
        "LIST CLIENT dummy", "LIST CLIENT ghost", "LIST CLIENT",
        "LIST CLIENTS dummy", "LIST CLIENT nosuch", "LIST BOGUS dummy",
        # STARTTLS (no certificate on either side)
        "STARTTLS", "starttls now",
        # the tokenizer: quotes, escapes, comments, '=', control bytes
        'GET VAR "dummy" "ups.status"', '"GET" "VAR" dummy ups."status"',
        r"GET VAR du\mmy ups\.status", r'GET VAR dummy "ups\.st\"atus"',
        "GET VAR dummy ups.status # and a comment",
        "GET VAR dummy ups.status#comment",
        "GET VAR dummy ups.status=x", "GET=VAR dummy ups.status",
        "GET VAR dummy=ups.status", "USERNAME a=b",
        b"GET VAR dummy ups.st\x01atus\x7f", b"G\xc3\xa9T VAR dummy ups.status",
        b"GET\tVAR\x0bdummy\x0cups.status\r",
        "GET DESC dummy " + "x" * 300,
        "GET VAR dummy ups.status " + " ".join(f"w{i}" for i in range(40)),
        "VER " + " ".join(f"w{i}" for i in range(40)),
        'GET VAR dummy ""', '"" VER', "=", '""',
        'GET DESC dummy "a b"', r'GET DESC dummy "a\"b"', r'GET DESC dummy "a\#b"',
        r'GET DESC dummy a\"b', 'GET VAR dummy "ups.st"atus',
        b'GET VAR dummy "ups.st\xe9atus"', "GET UPSDESC Dummy",
        "LIST ENUM dummy ups.status extra", "LIST RANGE dummy",
    ]
    steps: list[Step] = [req("a", line) for line in lines]
    steps += [
        # pipelined in one write, then a request split over three writes
        raw("a", b"VER\nNETVER\nGET VAR dummy ups.model\nLIST CMD dummy\n", replies=4),
        raw("a", b"GET VA", b"R dummy ups.mo", b"del\n"),
        # backslash-LF continues a line; CRLF ends one
        raw("a", b"GET VAR dummy \\\nups.status\n"),
        raw("a", b"GET VAR dummy ups.mfr\r\nNETVER\r\n", replies=2),
        # an unescaped '#' inside quotes: no reply, the rest of that read is lost
        raw("a", b'GET VAR dummy "ups#status"\nVER\n', replies=0),
        req("a", "GET VAR dummy ups.status"),
        raw("a", b'NETVER\nGET VAR dummy "a#b"\nNETVER\n'),
        raw("a", b'GET VAR dummy "ups#', b'status"\nNETVER\n', replies=2),
        # upsd reads 512 bytes at a time: only that much is lost to a parse error
        raw("a", b'GET VAR dummy "a#b"\n' + b"NETVER\n" * 90, replies=20),
        # an LF inside quotes does not end the request
        raw("a", b'GET VAR dummy "ups.status\nVER\n', replies=0),
        raw("a", b'"\n'),
        # 24 NULs (CVE-2012-2944), and NULs around a request
        raw("a", b"\0" * 24 + b"\n"),
        raw("a", b"\0\0NETVER\0\n"),
        # more backslash continuations, and an escaped LF across two writes
        raw("a", b'GET VAR dummy "ups.\\\nstatus"\n'),
        raw("a", b"GET VAR dummy ups.st\\", b"atus\n"),
        raw("a", b"\\\n", b"NETVER\n"),
        # a reply line longer than 511 bytes (the 600-byte word is cut to 512)
        raw("a", b"GET DESC dummy " + b"y" * 600 + b"\n", replies=0),
        req("a", "LOGOUT now"),
        req("a", "LOGOUT"),
        Close("a", expect_eof=True),
    ]
    return steps


def _credentials() -> list[Step]:
    """Connection ``b``: USERNAME/PASSWORD handling and ACCESS-DENIED for nobody."""
    lines = [
        "LOGIN dummy", "LOGIN", "PRIMARY dummy", "MASTER dummy", "FSD dummy", "FSD",
        "SET VAR dummy ups.load 5", "SET", "INSTCMD dummy load.off",
        "INSTCMD nosuch bogus", "SET TRACKING ON",
        "USERNAME", "USERNAME a b", "USERNAME nobody", "USERNAME admin",
        "LOGIN dummy", "LOGIN", "SET TRACKING ON",
        "PASSWORD", "PASSWORD p q", "PASSWORD wrong", "PASSWORD mypass",
        "LOGIN dummy", "LOGIN nosuch", "LOGIN", "LOGIN a b", "PRIMARY dummy",
        "MASTER dummy", "FSD dummy", "SET VAR dummy ups.load 5",
        "INSTCMD dummy load.off", "INSTCMD dummy bogus.command",
        "INSTCMD ghost load.off", "INSTCMD nosuch load.off",
        "SET VAR nosuch ups.load 5", "SET VAR ghost ups.load 5",
        "SET TRACKING ON", "GET TRACKING", "SET TRACKING maybe", "SET TRACKING",
        "GET TRACKING", "GET TRACKING 01234567-89AB-4CDE-8F01-23456789ABCD",
        "GET TRACKING not-an-id", "SET TRACKING off", "GET TRACKING",
        "SET BOGUS x", "SET VAR",
        "LOGOUT",
    ]
    return [*(req("b", line) for line in lines), Close("b", expect_eof=True),
            raw("z", b"NETVER\nLOGOUT\nNETVER\n", replies=3), Close("z")]


def _rights() -> list[Step]:
    """Good passwords without the right, the user without a password, ACLs."""
    steps: list[Step] = []
    for conn, user, password in (("r", "reader", "readpass"), ("n", "nopass", "x"),
                                 ("w", "admin", "MYPASS"), ("u", "ADMIN", "mypass")):
        steps += [req(conn, f"USERNAME {user}"), req(conn, f"PASSWORD {password}")]
        steps += [req(conn, line) for line in (
            "LOGIN dummy", "PRIMARY dummy", "MASTER dummy", "FSD dummy",
            "SET VAR dummy ups.id x", "INSTCMD dummy load.off")]
        steps.append(Close(conn))
    # instcmds ACLs are case-insensitive; admin may SET but not LOGIN
    steps += [
        req("l", "USERNAME limited"), req("l", "PASSWORD lim"),
        req("l", "INSTCMD dummy load.off"), req("l", "INSTCMD dummy Load.Off"),
        req("l", "FSD dummy"), req("l", "LOGIN dummy"),
        req("l", "SET VAR dummy driver.name x"), Close("l"),
        req("o", "USERNAME other"), req("o", 'PASSWORD "two words"'),
        req("o", "INSTCMD dummy load.off"), req("o", "SET VAR dummy ups.id x"),
        req("o", "PRIMARY dummy"), req("o", "INSTCMD dummy shutdown.return"), Close("o"),
    ]
    return steps


def _logins() -> list[Step]:
    """upsmon users LOGIN; NUMLOGINS and LIST CLIENT count them; closing counts out."""
    steps: list[Step] = []
    steps += [req("p", line) for line in (
        "USERNAME monp", "PASSWORD pw", "LOGIN dummy", "LOGIN dummy", "LOGIN ghost",
        "PRIMARY dummy", "MASTER DUMMY", "primary nosuch", "PRIMARY", "PRIMARY ghost",
        "SET VAR dummy ups.id x", "INSTCMD dummy load.off")]
    steps += [req("s", line) for line in (
        "USERNAME mons", "PASSWORD pw", "LOGIN DUMMY", "PRIMARY dummy", "MASTER dummy",
        "FSD dummy")]
    steps += [req("g", "USERNAME mons"), req("g", "PASSWORD pw"), req("g", "LOGIN ghost")]
    steps += [req("q", line) for line in (
        "GET NUMLOGINS dummy", "GET NUMLOGINS DUMMY", "GET NUMLOGINS ghost",
        "LIST CLIENT dummy", "LIST CLIENT DUMMY", "LIST CLIENT ghost")]
    steps += [Close("s"), Close("g"), Sleep(0.5)]
    steps += [req("q", line) for line in (
        "GET NUMLOGINS dummy", "LIST CLIENT dummy", "LIST CLIENT ghost")]
    return steps


def _admin() -> list[Step]:
    """SET VAR checks and effects, TRACKING, INSTCMD, and the FSD latch."""
    steps: list[Step] = [req("d", line) for line in (
        "USERNAME admin", "PASSWORD mypass", "LOGIN dummy", "PRIMARY dummy",
        "MASTER dummy", "SET VAR dummy ups.load", "SET VAR dummy",
        "SET VAR dummy ups.bogus 1", "SET VAR dummy driver.name x",
        "SET VAR dummy device.model x", "SET VAR dummy input.sensitivity LL",
        "SET VAR dummy ups.firmware 01234567890123456",
        'SET VAR dummy ups.model "Quoted \\"model\\" a\\#b \\\\c"',
        "SET VAR dummy ups.temperature 42", "SET VAR Dummy UPS.STATUS \"OB LB\"",
        'SET VAR dummy ups.mfr ""', "SET VAR dummy ups.test.result ok extra words",
        "SET VAR dummy input.sensitivity L", "SET VAR dummy ups.firmware 0123456789abcdef",
        "SET VAR dummy ups.load abc", "SET VAR dummy ups.delay.start \"\"")]
    steps.append(Sleep(SET_DELAY))
    steps += [req("d", line) for line in (
        "GET VAR dummy UPS.MODEL", "GET VAR dummy ups.temperature",
        "GET VAR dummy ups.status", "GET VAR dummy ups.mfr", "GET VAR dummy device.mfr",
        "GET VAR dummy ups.test.result", "GET VAR dummy input.sensitivity",
        "GET VAR dummy ups.firmware", "GET VAR dummy ups.load",
        "GET TYPE dummy ups.delay.start",
        "GET TYPE dummy ups.model", 'SET VAR dummy ups.model "Smart-UPS 1500"',
        "SET TRACKING On", "SET VAR dummy ups.id nutpy")]
    steps.append(Sleep(SET_DELAY))
    steps += [req("d", line) for line in (
        "GET TRACKING {id}", "GET VAR dummy ups.id", "LIST RW dummy",
        "INSTCMD dummy load.off")]
    steps.append(Sleep(SET_DELAY))
    steps += [req("d", line) for line in (
        "GET TRACKING {id}", "INSTCMD dummy LOAD.OFF 10", "INSTCMD dummy load.off a b c",
        'INSTCMD dummy load.off "a b"',
        "INSTCMD dummy", "INSTCMD", "INSTCMD dummy shutdown.return",
        "SET VAR dummy ups.status OB")]
    steps.append(Sleep(SET_DELAY))
    steps += [req("d", line) for line in (
        "GET TRACKING {id}", "SET TRACKING OFF", "GET TRACKING {id}",
        "GET TRACKING", "SET VAR dummy ups.status OL")]
    steps.append(Sleep(SET_DELAY))
    steps += [req("d", line) for line in (
        "FSD", "FSD dummy ghost", "FSD nosuch", "GET VAR dummy ups.status",
        "FSD ghost", "FSD dummy", "FSD Dummy",
        "GET VAR dummy ups.status", "GET VAR DUMMY UPS.STATUS", "LIST VAR Dummy",
        "LIST RW dummy", "GET VAR ghost ups.status")]
    # other connections see the latch too
    steps += [req("q", "GET VAR dummy ups.status"), req("p", "GET VAR dummy ups.status"),
              req("p", "FSD dummy"), req("q", "LIST CLIENT dummy"), req("d", "LOGOUT"),
              Close("d", expect_eof=True), req("p", "LOGOUT"), Close("p", expect_eof=True),
              req("q", "GET NUMLOGINS dummy"), req("q", "LOGOUT"),
              Close("q", expect_eof=True)]
    return steps


# What the script must cover (checked, so that edits cannot drop one unnoticed).
VERBS = (b"VER", b"NETVER", b"PROTVER", b"HELP", b"STARTTLS", b"USERNAME", b"PASSWORD",
         b"LOGIN", b"LOGOUT", b"PRIMARY", b"MASTER", b"FSD", b"SET", b"INSTCMD")
SUBCOMMANDS = {
    b"GET": (b"VAR", b"TYPE", b"DESC", b"CMDDESC", b"UPSDESC", b"NUMLOGINS", b"TRACKING"),
    b"LIST": (b"UPS", b"VAR", b"RW", b"CMD", b"ENUM", b"RANGE", b"CLIENT"),
    b"SET": (b"VAR", b"TRACKING"),
}

SCRIPT: list[Step] = [*_anonymous(), *_credentials(), *_rights(), *_logins(), *_admin()]


# ---- differences that are expected, with the reason ---------------------------------

Normaliser = Callable[[bytes], bytes]


def _version(reply: bytes) -> bytes:
    reply = re.sub(rb"upsd \S+ - https?://", b"upsd <VERSION> - <SCHEME>://", reply)
    return re.sub(rb'server.version "[^"]*"', b'server.version "<VERSION>"', reply)


def _driver_version(reply: bytes) -> bytes:
    return re.sub(rb'(driver\.version(?:\.internal)? )"[^"]*"', rb'\1"<VERSION>"', reply)


def _help(reply: bytes) -> bytes:
    return reply.replace(b" PROTVER", b"")


def _cut_at_511(reply: bytes) -> bytes:
    return reply[:511]


def _until_goodbye(reply: bytes) -> bytes:
    head, goodbye, _ = reply.partition(b"OK Goodbye\n")
    return head + goodbye


_NEWER_VERSION = ("nutpy presents itself as NUT 2.8.5; Debian's upsd is 2.8.0, "
                  "which also still sent http://")
_DRIVER_VERSION = "the driver's own version: dummy-ups 2.8.0 / 0.15 against nutpy's"

# request -> (why it differs, a normaliser under which both replies are equal,
# or None when they cannot be made equal)
KNOWN_DIFFERENCES: dict[bytes, tuple[str, Normaliser | None]] = {
    b"VER\n": (_NEWER_VERSION, _version),
    b"ver\n": (_NEWER_VERSION, _version),
    b"GET VAR dummy server.info\n": (_NEWER_VERSION, _version),
    b"GET VAR nosuch SERVER.VERSION\n": (_NEWER_VERSION, _version),
    b"VER\nNETVER\nGET VAR dummy ups.model\nLIST CMD dummy\n": (_NEWER_VERSION, _version),
    b"HELP\n": ("HELP lists PROTVER since NUT 2.8.3", _help),
    b"Help\n": ("HELP lists PROTVER since NUT 2.8.3", _help),
    b"GET VAR dummy driver.version\n": (_DRIVER_VERSION, _driver_version),
    b"LIST VAR dummy\n": (_DRIVER_VERSION, _driver_version),
    b"LIST VAR Dummy\n": (_DRIVER_VERSION, _driver_version),
    b"GET DESC dummy " + b"y" * 600 + b"\n": (
        "upsd formats replies into a 512-byte buffer: a longer line is cut to 511 bytes "
        "and loses its LF, leaving the client waiting; nutpy sends the whole line",
        _cut_at_511),
    b"NETVER\nLOGOUT\nNETVER\n": (
        "upsd closes a LOGOUT connection only in its next loop and still answers requests "
        "pipelined after LOGOUT (which even cancel the close); nutpy closes right after "
        "OK Goodbye", _until_goodbye),
    b"GET VAR dummy UPS.MODEL\n": (
        "NUT's drivers send SETINFO values to upsd unescaped (2.8.0 and HEAD alike), so "
        'upsd cuts a value SET with a \\" in it short; nutpy has no driver socket', None),
}

_UUID = re.compile(rb"\b[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}\b")
_ISSUED = re.compile(rb"OK TRACKING (" + _UUID.pattern[2:-2] + rb")\n")


def normalise(reply: bytes) -> bytes:
    """Tracking ids are random: compare them as a placeholder."""
    return _UUID.sub(b"<UUID>", reply)


# ---- playing the script --------------------------------------------------------

def _split_reply(buf: bytes) -> int | None:
    """Length of the first complete reply in ``buf`` (a line, or a whole LIST)."""
    end = buf.find(b"\n")
    if end < 0:
        return None
    if not buf.startswith(b"BEGIN LIST"):
        return end + 1
    pos = end + 1
    while True:
        end = buf.find(b"\n", pos)
        if end < 0:
            return None
        if buf.startswith(b"END LIST", pos):
            return end + 1
        pos = end + 1


# Connections that come from another loopback address, so LIST CLIENT's order shows.
SOURCE_ADDRESS = {"s": "127.0.0.2", "g": "127.0.0.3"}


class _Conn:
    def __init__(self, port: int, source: str = "127.0.0.1") -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=REPLY_TIMEOUT,
                                             source_address=(source, 0))
        self.buf = b""
        self.eof = False

    def _recv(self, deadline: float) -> bool:
        """Wait for more bytes until ``deadline``; False on timeout or EOF."""
        if self.eof:
            return False
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        self.sock.settimeout(remaining)
        try:
            chunk = self.sock.recv(65536)
        except TimeoutError:
            return False
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            self.eof = True
            return False
        self.buf += chunk
        return True

    def replies(self, count: int) -> bytes:
        if count == 0:
            deadline = time.monotonic() + QUIET
            while self._recv(deadline):
                pass
        else:
            deadline = time.monotonic() + REPLY_TIMEOUT
            taken = 0
            got = 0
            while got < count:
                size = _split_reply(self.buf[taken:])
                if size is None:
                    if not self._recv(deadline):
                        break
                    continue
                taken += size
                got += 1
            if got == count:
                out, self.buf = self.buf[:taken], self.buf[taken:]
                return out
        out, self.buf = self.buf, b""
        return out + (b"<EOF>" if self.eof else b"")

    def close(self, expect_eof: bool) -> bytes:
        """Anything still unread, and whether the server had closed the connection."""
        rest = b""
        if expect_eof:
            deadline = time.monotonic() + REPLY_TIMEOUT
            while self._recv(deadline):
                pass
            rest = self.buf + (b"<EOF>" if self.eof else b"<still open>")
        self.sock.close()
        return rest


def play(port: int, script: list[Step]) -> list[bytes]:
    """The raw reply to each step of ``script`` (b"" for a silent Sleep)."""
    conns: dict[str, _Conn] = {}
    results: list[bytes] = []
    last_id = b"NO-ID-YET"
    try:
        for step in script:
            if isinstance(step, Sleep):
                time.sleep(step.seconds)
                results.append(b"")
            elif isinstance(step, Close):
                conn = conns.pop(step.conn)
                results.append(conn.close(step.expect_eof))
            else:
                if step.conn not in conns:
                    conns[step.conn] = _Conn(port, SOURCE_ADDRESS.get(step.conn,
                                                                      "127.0.0.1"))
                conn = conns[step.conn]
                for i, chunk in enumerate(step.data):
                    if i:
                        time.sleep(0.1)
                    conn.sock.sendall(chunk.replace(b"{id}", last_id))
                reply = conn.replies(step.replies)
                issued = _ISSUED.search(reply)
                if issued:
                    last_id = issued.group(1)
                results.append(reply)
    finally:
        for conn in conns.values():
            conn.sock.close()
    return results


# ---- the servers -----------------------------------------------------------------

@dataclass
class Pair:
    upsd: Server
    nutpy: Server


def _config(directory: Path, port: int) -> Path:
    return write_config(directory, ups_conf=UPS_CONF,
                        upsd_conf=f"LISTEN 127.0.0.1 {port}\n", users=USERS,
                        files={"smart-ups-1500.dev":
                               (FIXTURES / "smart-ups-1500.dev").read_bytes()})


def _status(port: int) -> bytes:
    with contextlib.suppress(OSError), \
            socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
        sock.sendall(b"GET VAR dummy ups.status\n")
        return sock.recv(4096)
    return b""


@pytest.fixture(scope="module")
def servers() -> Iterator[Pair]:
    with tempfile.TemporaryDirectory(prefix="nut-upsd-") as real_dir, \
            tempfile.TemporaryDirectory(prefix="nutpy-") as nutpy_dir:
        real_port, nutpy_port = free_port(), free_port()
        with real_upsd(_config(Path(real_dir), real_port), real_port,
                       {"dummy": "dummy-ups", "ghost": "dummy-ups"}) as upsd, \
                nutpy_server(_config(Path(nutpy_dir), nutpy_port), nutpy_port) as nutpy:
            ready = b'VAR dummy ups.status "OL"\n'
            assert wait_until(lambda: _status(real_port) == ready, timeout=20), \
                upsd.log_text()
            assert wait_until(lambda: _status(nutpy_port) == ready, timeout=20), \
                nutpy.log_text()
            yield Pair(upsd, nutpy)


def _show(step: Step) -> str:
    if isinstance(step, Req):
        return f"[{step.conn}] {step.key!r}"
    return repr(step)


def test_same_replies_as_upsd(servers: Pair) -> None:
    requests = [s for s in SCRIPT if isinstance(s, Req)]
    assert len(requests) >= 80
    sent = {tuple(r.key.upper().split()[:2]) for r in requests}
    for verb in VERBS:
        assert any(words[:1] == (verb,) for words in sent), verb
    for head, subs in SUBCOMMANDS.items():
        for sub in subs:
            assert (head, sub) in sent, (head, sub)
    with ThreadPoolExecutor(2) as pool:
        real_run = pool.submit(play, servers.upsd.port, SCRIPT)
        nutpy_run = pool.submit(play, servers.nutpy.port, SCRIPT)
        real, ours = real_run.result(), nutpy_run.result()

    problems: list[str] = []
    used: set[bytes] = set()
    for step, theirs, mine in zip(SCRIPT, real, ours, strict=True):
        key = step.key if isinstance(step, Req) else None
        a, b = normalise(theirs), normalise(mine)
        if key is not None and key in KNOWN_DIFFERENCES:
            used.add(key)
            reason, normaliser = KNOWN_DIFFERENCES[key]
            if a == b:
                problems.append(f"{_show(step)}: listed as different ({reason}) but "
                                f"both replied {theirs!r}")
            elif normaliser is not None and normaliser(a) != normaliser(b):
                problems.append(f"{_show(step)}: differs beyond '{reason}':\n"
                                f"    upsd:  {theirs!r}\n    nutpy: {mine!r}")
        elif a != b:
            problems.append(f"{_show(step)}:\n    upsd:  {theirs!r}\n    nutpy: {mine!r}")
    unused = set(KNOWN_DIFFERENCES) - used
    assert not unused, f"KNOWN_DIFFERENCES lists requests the script never sends: {unused}"
    assert not problems, f"{len(problems)} replies differ:\n" + "\n".join(problems)


# ---- spec section 9: the acceptance cases that concern upsd -------------------------

def _upsc(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([nut_tool("upsc"), *args], capture_output=True, text=True,
                          timeout=15)


def _roundtrip(port: int, data: bytes, replies: int = 1) -> bytes:
    conn = _Conn(port)
    try:
        conn.sock.sendall(data)
        return conn.replies(replies)
    finally:
        conn.close(expect_eof=False)


@pytest.mark.parametrize("which", ["nutpy", "upsd"])
def test_cve_2012_2944_nuls_and_random_bytes(servers: Pair, which: str) -> None:
    server: Server = getattr(servers, which)
    assert _roundtrip(server.port, b"\0" * 24 + b"\n") == b"ERR UNKNOWN-COMMAND\n"
    garbage = random.Random(2944).randbytes(32 * 1024)
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(garbage)
        sock.shutdown(socket.SHUT_WR)
        deadline = time.monotonic() + 5
        with contextlib.suppress(OSError):
            while time.monotonic() < deadline and sock.recv(65536):
                pass
    assert server.procs[-1].poll() is None, server.log_text()
    assert _roundtrip(server.port, b"VER\n").startswith(b"Network UPS Tools upsd ")


@pytest.mark.parametrize("which", ["nutpy", "upsd"])
def test_upsc_bogus_variable(servers: Pair, which: str) -> None:
    port = getattr(servers, which).port
    out = _upsc(f"dummy@127.0.0.1:{port}", "ups.bogus.value")
    assert out.returncode != 0
    assert "Variable not supported by UPS" in out.stderr
    out = _upsc(f"dummy@127.0.0.1:{port}", "device.model")
    assert (out.returncode, out.stdout) == (0, "Smart-UPS 1500\n")


@pytest.mark.parametrize("which", ["nutpy", "upsd"])
def test_upsc_ups_without_data_is_listed_but_not_connected(servers: Pair,
                                                            which: str) -> None:
    port = getattr(servers, which).port
    out = _upsc(f"ghost@127.0.0.1:{port}")
    assert out.returncode != 0
    assert "Driver not connected" in out.stderr
    out = _upsc("-l", f"127.0.0.1:{port}")
    assert (out.returncode, out.stdout) == (0, "dummy\nghost\n")
