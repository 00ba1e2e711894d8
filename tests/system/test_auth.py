"""Authentication and rights, against Debian's upsd, and passwords kept out of logs.

Every kind of upsd.users right (upsmon primary/master/secondary/slave, each
``actions`` value, ``instcmds`` lists and ALL, a user without a password) is
tried with the right password and with near misses, on every privileged verb.
The replies must match a table of NUT's rules written out here, and Debian's
upsd must give the very same replies, so the table is NUT's and not ours.
"""

from __future__ import annotations

import signal
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import FIXTURES
from tests.support.nut import Server, free_port, nutpy_server, real_upsd, wait_until, write_config

UPS = "dummy"
UPS_CONF = f"[{UPS}]\n  driver = dummy-ups\n  port = ups.dev\n"
READY = b'VAR dummy ups.status "OL"\n'


@dataclass(frozen=True)
class Account:
    name: str
    password: str | None
    lines: str  # the rest of its upsd.users section
    rights: frozenset[str]  # what NUT grants: LOGIN MASTER FSD SET, and "load.off"


ACCOUNTS = [
    Account("prim", "p1", "upsmon primary", frozenset({"LOGIN", "MASTER", "FSD"})),
    Account("mast", "p2", "upsmon = master", frozenset({"LOGIN", "MASTER", "FSD"})),
    Account("sec", "p3", "upsmon secondary", frozenset({"LOGIN"})),
    Account("slave", "p4", "upsmon slave", frozenset({"LOGIN"})),
    Account("fsdonly", "p5", "actions = FSD", frozenset({"FSD"})),
    Account("setonly", "p6", "actions = set", frozenset({"SET"})),
    Account("loginonly", "p7", "actions = LOGIN", frozenset({"LOGIN"})),
    Account("masteract", "p8", "actions = MASTER", frozenset({"MASTER"})),
    Account("mixed", "p9", "actions = SET\n  actions = fsd\n  instcmds = LOAD.OFF",
            frozenset({"SET", "FSD", "load.off"})),
    Account("cmds", "pa", "instcmds = load.off shutdown.return", frozenset({"load.off"})),
    Account("cmdsall", "pb", "instcmds = ALL", frozenset({"load.off"})),
    Account("cmdsother", "pc", "instcmds = shutdown.return", frozenset()),
    Account("nopass", None, "actions = SET FSD LOGIN MASTER\n  instcmds = all", frozenset()),
]
USERS = "".join(f"[{a.name}]\n" + (f"  password = {a.password}\n" if a.password else "")
                + f"  {a.lines}\n" for a in ACCOUNTS)


def _tries(account: Account) -> list[str]:
    """The right password and near misses: case, prefix, suffix, empty."""
    right = account.password or "p0"
    return [right, right.upper(), right[:-1], right + "x", '""']


REQUESTS = [  # (request, reply when granted, the right it needs)
    (f"LOGIN {UPS}", "OK", "LOGIN"),
    (f"PRIMARY {UPS}", "OK PRIMARY-GRANTED", "MASTER"),
    (f"MASTER {UPS}", "OK MASTER-GRANTED", "MASTER"),
    (f"FSD {UPS}", "OK FSD-SET", "FSD"),
    (f'SET VAR {UPS} ups.mfr "American Power Conversion"', "OK", "SET"),
    (f"INSTCMD {UPS} load.off", "OK", "load.off"),
]


def _expected(account: Account, password: str) -> list[str]:
    """NUT's rules: a user without a password, or a wrong one, is granted nothing."""
    authentic = account.password is not None and password == account.password
    replies = ["OK", "OK"]  # USERNAME and PASSWORD are never checked on their own
    for _, granted, right in REQUESTS:
        replies.append(granted if authentic and right in account.rights
                       else "ERR ACCESS-DENIED")
    replies.append("ERR CMD-NOT-SUPPORTED")  # checked before the rights
    return replies


def _session(port: int, lines: list[str]) -> list[str]:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall("".join(line + "\n" for line in lines).encode())
        data = b""
        while data.count(b"\n") < len(lines):
            chunk = sock.recv(4096)
            assert chunk, data
            data += chunk
    return data.decode().splitlines()


def _ready(port: int) -> bool:
    try:
        return _session(port, [f"GET VAR {UPS} ups.status"]) == [READY.decode().strip()]
    except OSError:
        return False


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Server]]:
    dev = {"ups.dev": (FIXTURES / "smart-ups-1500.dev").read_bytes()}
    real_port, our_port = free_port(), free_port()
    real_dir = write_config(tmp_path_factory.mktemp("upsd"), ups_conf=UPS_CONF,
                            upsd_conf=f"LISTEN 127.0.0.1 {real_port}\n", users=USERS,
                            files=dev)
    our_dir = write_config(tmp_path_factory.mktemp("nutpy"), ups_conf=UPS_CONF,
                           upsd_conf=f"LISTEN 127.0.0.1 {our_port}\n", users=USERS,
                           files=dev)
    with real_upsd(real_dir, real_port, {UPS: "dummy-ups"}) as upsd, \
            nutpy_server(our_dir, our_port) as nutpy:
        assert wait_until(lambda: _ready(real_port), timeout=20), upsd.log_text()
        assert wait_until(lambda: _ready(our_port), timeout=20), nutpy.log_text()
        yield upsd, nutpy


@pytest.mark.parametrize("account", ACCOUNTS, ids=lambda a: a.name)
def test_rights_as_nut_grants_them(servers: tuple[Server, Server],
                                   account: Account) -> None:
    upsd, nutpy = servers
    for password in _tries(account):
        lines = [f"USERNAME {account.name}", f"PASSWORD {password}",
                 *(request for request, _, _ in REQUESTS),
                 f"INSTCMD {UPS} shutdown.return"]
        expected = _expected(account, password)
        assert _session(upsd.port, lines) == expected, ("upsd", password)
        assert _session(nutpy.port, lines) == expected, ("nutpy", password)


# ---- passwords never reach the log ---------------------------------------------------

SECRETS = ["Adm1n-S3cret", "m0n pa55 phrase", "Typo-hunter2", "Unterminated-S3cret",
           "Wr0ng-Guess", "Split-Acr0ss-Reads", "Hash#In-Quotes", "Extra-W0rd"]


def test_passwords_are_never_logged_even_at_full_debug(tmp_path: Path) -> None:
    port = free_port()
    users = (f"[admin]\n  password = {SECRETS[0]}\n  actions = SET FSD\n"
             f'[mon]\n  password = "{SECRETS[1]}"\n  upsmon primary\n'
             f"[typo]\n  passwd = {SECRETS[2]}\n"  # an unknown key, reported
             f'[broken]\n  password = "{SECRETS[3]}\n')  # a quote never closed
    write_config(tmp_path, ups_conf=UPS_CONF, upsd_conf=f"LISTEN 127.0.0.1 {port}\n",
                 users=users, files={"ups.dev": b"ups.status: OL\n"})
    with nutpy_server(tmp_path, port, args=("-D", "-D", "-D", "-D")) as server:
        assert _session(port, ["USERNAME admin", f"PASSWORD {SECRETS[0]}", f"FSD {UPS}"]) \
            == ["OK", "OK", "OK FSD-SET"]
        assert _session(port, ["USERNAME mon", f'password "{SECRETS[1]}"',
                               f"PRIMARY {UPS}"]) == ["OK", "OK", "OK PRIMARY-GRANTED"]
        assert _session(port, ["USERNAME admin", f"PASSWORD {SECRETS[4]}", f"FSD {UPS}"]) \
            == ["OK", "OK", "ERR ACCESS-DENIED"]
        assert _session(port, [f"PASSWORD {SECRETS[7]} more"]) == ["ERR INVALID-ARGUMENT"]
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(f"USERNAME admin\nPASSWORD {SECRETS[5][:5]}".encode())
            time.sleep(0.2)  # the rest in another read
            sock.sendall(f'{SECRETS[5][5:]}\nPASSWORD "{SECRETS[6]}"\nNETVER\n'.encode())
            data = b""
            while data.count(b"\n") < 2:
                data += sock.recv(100)
            assert data == b"OK\nOK\n"  # the # in quotes dropped the rest of that read
        server.signal(signal.SIGHUP)  # a reload reports upsd.users' problems again
        assert wait_until(lambda: "configuration reloaded" in server.log_text(), timeout=5)
        log = server.log_text()
    leaked = [s for s in SECRETS if any(part in log for part in s.split())]
    assert not leaked, leaked
    assert "upsd.users:10: error: parse error: the quote opened" in log
    assert "USERNAME admin" in log and "PASSWORD ****" in log  # requests are logged
