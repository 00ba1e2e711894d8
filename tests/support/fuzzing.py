"""Hostile request generators and a reply checker, shared by the fuzz tests.

Three kinds of input, from one seeded ``random.Random`` so a failure can be
replayed: random bytes (biased towards the bytes the tokenizer treats
specially), near-valid requests built from the protocol's grammar and then
mutated, and mutated sessions of real clients (the request lines upsc, upsmon,
upscmd, upsrw, upslog, PyNUTClient, aionut and nut2 send, per the protocol
notes, section 5).  ``check_reply`` says what is wrong with a reply, if
anything, so a fuzz test can assert more than "nothing raised".
"""

from __future__ import annotations

import random
import re

from nutpy.protocols.nut import HELP_TEXT, Err

# Bytes the tokenizer treats specially, plus bytes it drops.
SPECIAL = b'\n\r\t\v\f "\\#=\x00\x01\x1b\x7f\x80\xff'
VERBS = ["VER", "NETVER", "PROTVER", "HELP", "STARTTLS", "GET", "LIST", "SET",
         "INSTCMD", "USERNAME", "PASSWORD", "LOGIN", "LOGOUT", "PRIMARY", "MASTER",
         "FSD", "BOGUS", ""]
SUBCOMMANDS = ["VAR", "TYPE", "DESC", "CMDDESC", "UPSDESC", "NUMLOGINS", "TRACKING",
               "UPS", "RW", "CMD", "ENUM", "RANGE", "CLIENT", "CLIENTS", "NUMATTACH"]
VARIABLES = ["ups.status", "battery.charge", "ups.id", "input.sensitivity",
             "battery.charge.low", "server.info", "server.version", "no.such",
             "test.battery.start", "load.off", "b'load.off'", "ups.mode.buzzwords"]
WORDS = ["ON", "OFF", "maybe", "10", "-1", "99999999999999999999", "", "x" * 600,
         "01234567-89AB-4CDE-8F01-23456789ABCD", "a b", 'say "hi"', "#", "=", "\\"]


def client_sessions(ups: str, user: str, password: str) -> list[list[str]]:
    """What real clients send, as request lines."""
    login = [f"USERNAME {user}", f"PASSWORD {password}"]
    return [
        ["STARTTLS", f"LIST VAR {ups}", "LOGOUT"],  # upsc ups@host
        ["STARTTLS", f"GET VAR {ups} ups.status", "LOGOUT"],  # upsc ups@host var
        ["STARTTLS", "LIST UPS", "LOGOUT"],  # upsc -l / -L
        ["STARTTLS", f"LIST CLIENT {ups}", "LOGOUT"],  # upsc -c
        ["STARTTLS", f"LIST CMD {ups}", f"GET CMDDESC {ups} test.battery.start",
         "LOGOUT"],  # upscmd -l
        ["STARTTLS", *login, "SET TRACKING ON", f"INSTCMD {ups} test.battery.start",
         "GET TRACKING 01234567-89AB-4CDE-8F01-23456789ABCD", "LOGOUT"],  # upscmd -w
        ["STARTTLS", f"LIST RW {ups}", f"GET DESC {ups} ups.id", f"GET TYPE {ups} ups.id",
         f"GET VAR {ups} ups.id", f"LIST ENUM {ups} input.sensitivity",
         f"LIST RANGE {ups} battery.charge.low", "LOGOUT"],  # upsrw
        [*login, "SET TRACKING ON", f'SET VAR {ups} ups.id "a\\"b"', "LOGOUT"],  # upsrw -s
        ["STARTTLS", "LIST UPS", *(f"GET VAR {ups} {v}" for v in (
            "battery.charge", "input.voltage", "ups.load", "ups.status",
            "ups.temperature", "input.frequency"))],  # upslog
        ["STARTTLS", *login, f"LOGIN {ups}", f"PRIMARY {ups}", f"MASTER {ups}",
         f"GET VAR {ups} ups.status", f"GET VAR {ups} ups.mode.buzzwords",
         f"GET VAR {ups} experimental.ups.mode.buzzwords", f"FSD {ups}",
         f"GET NUMLOGINS {ups}", "LOGOUT"],  # upsmon primary
        [*login, "LIST UPS", f"LIST VAR {ups}", f"LIST CMD {ups}",
         f"GET CMDDESC {ups} b'load.off'", f"SET VAR {ups} ups.id value",
         f"PRIMARY {ups}", f"MASTER {ups}", f"FSD {ups}", f"LIST CLIENTS {ups}",
         "LOGOUT"],  # PyNUTClient 2.8.0
        ["STARTTLS", "PROTVER", f"USERNAME {user}", f'PASSWORD "{password}"',
         "SET TRACKING OFF", "LIST CLIENT", "LIST UPS", f"LIST CLIENT {ups}"],  # PyNUT HEAD
        [*login, "LIST UPS", f"GET UPSDESC {ups}", f"LIST VAR {ups}", f"LIST CMD {ups}",
         f"INSTCMD {ups} beeper.enable 1"],  # aionut (Home Assistant)
        [*login, f"MASTER {ups}", f"FSD {ups}", "LOGOUT"],  # nut2 fsd()
    ]


class Generator:
    """Seeded hostile inputs for a server with UPS ``ups`` and the given users."""

    def __init__(self, seed: int, ups: str, users: dict[str, str]) -> None:
        self.rng = random.Random(seed)
        self.ups = ups
        self.users = users
        self.sessions = [session for user, password in users.items()
                         for session in client_sessions(ups, user, password)]

    def _word(self) -> str:
        rng = self.rng
        pick = rng.random()
        if pick < 0.3:
            return rng.choice(VARIABLES)
        if pick < 0.5:
            name = rng.choice([self.ups, "nosuch", *self.users])
            return name.upper() if rng.random() < 0.2 else name
        if pick < 0.6:
            return rng.choice(list(self.users.values()))
        if pick < 0.8:
            return rng.choice(WORDS)
        return "".join(chr(rng.randrange(0x20, 0x7F)) for _ in range(rng.randrange(12)))

    def _quoted(self, word: str) -> str:
        if self.rng.random() < 0.2 or not word or " " in word or '"' in word:
            return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return word

    def near_valid(self) -> bytes:
        """A request from the grammar, then perhaps a few mutations."""
        rng = self.rng
        words = [rng.choice(VERBS)]
        if words[0] in ("GET", "LIST", "SET") or rng.random() < 0.1:
            words.append(rng.choice(SUBCOMMANDS))
        words += [self._word() for _ in range(rng.choice([0, 1, 1, 2, 2, 3, 4, 40]))]
        if rng.random() < 0.3:
            words = [w.lower() if rng.random() < 0.5 else w for w in words]
        line = (" ".join(self._quoted(w) for w in words) + "\n").encode()
        return self.mutate(line, rng.choice([0, 0, 1, 2, 5]))

    def random_bytes(self) -> bytes:
        rng = self.rng
        size = rng.choice([0, 1, 2, 8, 30, 100, 600])
        if rng.random() < 0.5:
            return rng.randbytes(size)
        return bytes(rng.choice(SPECIAL) if rng.random() < 0.3 else rng.randrange(0x20, 0x7F)
                     for _ in range(size))

    def client_session(self) -> bytes:
        """A real client's whole session, mutated at the line or byte level."""
        rng = self.rng
        lines = list(rng.choice(self.sessions))
        for _ in range(rng.choice([0, 1, 2])):
            i = rng.randrange(len(lines))
            op = rng.random()
            if op < 0.3:
                del lines[i]
            elif op < 0.6:
                lines.insert(i, lines[rng.randrange(len(lines))])
            else:
                j = rng.randrange(len(lines))
                lines[i], lines[j] = lines[j], lines[i]
        data = "".join(line + rng.choice(["\n", "\n", "\n", "\r\n"]) for line in lines)
        return self.mutate(data.encode(), rng.choice([0, 1, 1, 3, 10]))

    def mutate(self, data: bytes, count: int) -> bytes:
        rng = self.rng
        buf = bytearray(data)
        for _ in range(count):
            pos = rng.randrange(len(buf) + 1)
            op = rng.randrange(5)
            byte = rng.choice(SPECIAL) if rng.random() < 0.5 else rng.randrange(256)
            if op == 0 and pos < len(buf):
                buf[pos] = byte
            elif op == 1:
                buf.insert(pos, byte)
            elif op == 2 and pos < len(buf):
                del buf[pos]
            elif op == 3:
                buf[pos:pos] = buf[pos:pos + rng.randrange(1, 40)] * rng.randrange(1, 4)
            else:
                del buf[pos:]
        return bytes(buf)

    def input(self) -> bytes:
        pick = self.rng.random()
        if pick < 0.3:
            return self.random_bytes()
        if pick < 0.7:
            return self.near_valid()
        return self.client_session()

    def chunks(self, data: bytes) -> list[bytes]:
        """``data`` cut as TCP might deliver it (upsd reads at most 512 bytes)."""
        out, pos = [], 0
        while pos < len(data):
            size = self.rng.choice([1, 3, 17, 512])
            out.append(data[pos:pos + size])
            pos += size
        return out


# ---- what a reply may look like ----------------------------------------------------

ERR_CODES = {e.value for e in Err} | {"UNKNOWN", "FAILED"}  # the last two: GET TRACKING
_QUOTED = r'"(?:[^"\\]|\\.)*"'  # a value as upsd quotes and escapes it
# Names are echoed as the client spelled them, spaces included, so they are ".+".
_SIMPLE = re.compile(
    r"OK|OK Goodbye|OK STARTTLS|OK TRACKING [0-9A-F-]{36}|OK (?:PRIMARY|MASTER)-GRANTED"
    r"|OK FSD-SET|ON|OFF|PENDING|SUCCESS|1\.3"
    r"|Network UPS Tools upsd \S+ - https://www\.networkupstools\.org/"
    rf"|VAR .+ {_QUOTED}|UPSDESC .+ {_QUOTED}|(?:DESC|CMDDESC) .+ \".*\""
    r"|NUMLOGINS .+ \d+|TYPE .+ (?:STRING:\d+|NUMBER)|" + re.escape(HELP_TEXT))
_LIST_LINE = re.compile(rf"(?:UPS|VAR|RW|ENUM) .+ {_QUOTED}|RANGE .+ \"-?\d+\" \"-?\d+\""
                        r"|CMD .+|CLIENT \S+ \S+")


def split_replies(text: str) -> tuple[list[str], str]:
    """Cut a connection's output into replies (a whole LIST is one); and what is left."""
    replies: list[str] = []
    lines = text.split("\n")
    rest = lines.pop()  # after the last LF: an incomplete line, normally ""
    i = 0
    while i < len(lines):
        if lines[i].startswith("BEGIN LIST "):
            end = f"END LIST {lines[i].removeprefix('BEGIN LIST ')}"
            j = next((k for k in range(i, len(lines)) if lines[k] == end), None)
            if j is None:
                return replies, "\n".join(lines[i:]) + "\n" + rest
        else:
            j = i
        replies.append("\n".join(lines[i:j + 1]) + "\n")
        i = j + 1
    return replies, rest


def check_reply(reply: str) -> str | None:
    """What is wrong with one reply (a line, or a whole LIST), or None if it is fine."""
    if not reply.endswith("\n") or not reply.isascii():
        return "not a whole ASCII line"
    lines = reply[:-1].split("\n")
    first = lines[0]
    if first.startswith("BEGIN LIST "):
        head = first.removeprefix("BEGIN LIST ")
        if lines[-1] != f"END LIST {head}" or len(lines) < 2:
            return "LIST not closed by its END"
        bad = [line for line in lines[1:-1] if not _LIST_LINE.fullmatch(line)]
        return f"bad LIST line {bad[0]!r}" if bad else None
    if len(lines) != 1:
        return "several lines outside a LIST"
    if first.startswith("ERR "):
        return None if first[4:] in ERR_CODES else f"unknown error {first!r}"
    return None if _SIMPLE.fullmatch(first) else f"unexpected reply {first!r}"
