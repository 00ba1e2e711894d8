"""Reading NUT's configuration files: ``ups.conf``, ``upsd.conf``, ``upsd.users``.

Parsing is pure: each ``parse_*`` function takes the file's bytes and its name
and returns the parsed settings plus a list of :class:`Diagnostic`.  Only
:func:`load` touches the file system.  Problems never raise; they become
diagnostics naming file and line, so ``check-config`` and ``serve`` report the
same things.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from nutpy.protocols.tokenizer import Line, ParseError, Tokenizer

DEFAULT_PORT = 3493
DEFAULT_MAXAGE = 15
DEFAULT_TRACKINGDELAY = 3600

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Diagnostic:
    path: str
    lineno: int  # 0 when the problem concerns the whole file
    severity: Severity
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.lineno}" if self.lineno else self.path
        return f"{where}: {self.severity}: {self.message}"


@dataclass
class UpsConfig:
    name: str
    lineno: int
    driver: str = ""
    port: str = ""
    desc: str | None = None
    options: dict[str, str | None] = field(default_factory=dict)
    keys: dict[str, int] = field(default_factory=dict)  # every key given -> its line


@dataclass
class UpsConf:
    ups: list[UpsConfig] = field(default_factory=list)
    globals: dict[str, str | None] = field(default_factory=dict)

    def find(self, name: str) -> UpsConfig | None:
        folded = name.lower()
        return next((u for u in self.ups if u.name.lower() == folded), None)


@dataclass(frozen=True, slots=True)
class Listen:
    address: str
    port: int = DEFAULT_PORT


@dataclass
class UpsdConf:
    listen: list[Listen] = field(default_factory=list)
    maxage: int = DEFAULT_MAXAGE
    maxconn: int | None = None
    trackingdelay: int = DEFAULT_TRACKINGDELAY
    statepath: str | None = None
    datapath: str | None = None
    certfile: str | None = None
    certpath: str | None = None
    certrequest: int = 0
    disable_weak_ssl: bool = False
    allow_no_device: bool = False
    allow_not_all_listeners: bool = False
    debug_min: int = 0

    @property
    def listeners(self) -> list[Listen]:
        """What to bind: the configured LISTENs, or upsd's loopback default."""
        return self.listen or [Listen("::1"), Listen("127.0.0.1")]


@dataclass
class User:
    name: str
    password: str | None = None
    actions: set[str] = field(default_factory=set)  # upper-case
    instcmds: set[str] = field(default_factory=set)  # lower-case, or "all"
    upsmon: str | None = None  # "primary" or "secondary"

    def may(self, action: str) -> bool:
        """Whether the user holds an action right (SET, FSD, LOGIN, MASTER...)."""
        action = action.upper()
        if action in self.actions:
            return True
        if self.upsmon == "primary":
            return action in ("LOGIN", "MASTER", "PRIMARY", "FSD")
        if self.upsmon == "secondary":
            return action == "LOGIN"
        return False

    def may_run(self, command: str) -> bool:
        return "all" in self.instcmds or command.lower() in self.instcmds


@dataclass
class Config:
    directory: Path
    ups: UpsConf
    upsd: UpsdConf
    users: dict[str, User]
    diagnostics: list[Diagnostic]
    fatal: str | None = None  # why serving is impossible (upsd would exit)
    unreadable: list[str] = field(default_factory=list)  # files that failed to read (errors)


class _Sink:
    """Collects diagnostics for one file."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.items: list[Diagnostic] = []

    def error(self, lineno: int, message: str) -> None:
        self.items.append(Diagnostic(self.path, lineno, "error", message))

    def warning(self, lineno: int, message: str) -> None:
        self.items.append(Diagnostic(self.path, lineno, "warning", message))


def _lines(data: bytes, sink: _Sink) -> list[Line]:
    """The file's non-empty lines; parse errors become diagnostics.

    A quote that is never closed would swallow the rest of the file into one
    word (parseconf keeps that last line); it is reported and dropped instead.
    """
    tok = Tokenizer()
    events = tok.feed(data)
    opened = tok.open_quote
    events += tok.finish()
    if opened is not None and events and isinstance(events[-1], Line):
        events.pop()
        last = data.count(b"\n") + (not data.endswith(b"\n"))
        sink.error(opened, "parse error: the quote opened on this line is never closed "
                   f"(it runs to line {last}, the end of the file); line ignored")
    lines = []
    for event in events:
        if isinstance(event, ParseError):
            sink.error(event.lineno, f"parse error: {event.message}")
        elif event.words:
            lines.append(event)
    return lines


def _section(word: str) -> str | None:
    if len(word) >= 2 and word.startswith("[") and word.endswith("]"):
        return word[1:-1]
    return None


def _key_value(words: list[str]) -> tuple[str, str | None] | None:
    """``key = value``, ``key value`` or a bare flag ``key``; None if malformed."""
    if len(words) == 1:
        return words[0], None
    if len(words) == 3 and words[1] == "=":
        return words[0], words[2]
    if len(words) == 2 and words[1] != "=":
        return words[0], words[1]
    return None


_UPS_GLOBALS = {
    "chroot", "driverpath", "maxstartdelay", "maxretry", "retrydelay",
    "pollinterval", "statepath", "user", "group", "synchronous",
    "nowait", "debug_min", "upsdrvctl_debug_min", "upsdrvsvcctl",
}
# Per-UPS keys NUT's driver core takes for every driver (drivers/main.c), and
# those of the drivers nutpy has (NUT's addvar() calls).  NUT's driver refuses
# to start on any other key; nutpy warns and ignores it.
_UPS_CORE_KEYS = {
    "driver", "port", "desc", "sdorder", "nolock", "ignorelb", "allow_killpower",
    "maxstartdelay", "maxretry", "retrydelay", "sddelay", "pollinterval",
    "synchronous", "user", "group", "debug_min", "sdcommands",
}
_DRIVER_KEYS = {
    "apcsmart": {"cable", "sdtype", "advorder", "cshdelay", "ttymode", "awd"},
    "apcmicrolink": {"baudrate", "cmdsrc", "showinternals", "showunmapped"},
    "dummy-ups": {"mode", "authconf", "repeater_disable_strict_start"},
}
# Settings that must be whole numbers (at least the minimum given).
_UPS_NUMBERS = {"pollinterval": 1, "maxretry": 0, "retrydelay": 0, "maxstartdelay": 0,
                "sddelay": 0, "debug_min": 0}


def _number_problem(key: str, value: str | None) -> str | None:
    """What is wrong with a numeric ups.conf setting, or None."""
    if key == "sdorder":
        text = (value or "").removeprefix("-")
        return None if text.isdigit() else f"'sdorder' needs a whole number, not {value!r}"
    minimum = _UPS_NUMBERS.get(key)
    if minimum is None:
        return None
    if value is None or not value.isdigit():
        return f"'{key}' needs a number, not {value!r}"
    if int(value) < minimum:
        return f"'{key}' must be at least {minimum}, not {value}"
    return None


def _unknown_keys(ups: UpsConfig, sink: _Sink) -> None:
    known = _DRIVER_KEYS.get(ups.driver)
    if known is None:
        return  # an unknown driver is reported on its own
    for key, lineno in ups.keys.items():
        if key in _UPS_CORE_KEYS or key in known or key.startswith(("override.", "default.")):
            continue
        sink.warning(lineno, f"unknown setting '{key}' for driver {ups.driver} in "
                     f"[{ups.name}]: ignored (NUT's driver would refuse to start)")


def parse_ups_conf(data: bytes, path: str) -> tuple[UpsConf, list[Diagnostic]]:
    sink = _Sink(path)
    conf = UpsConf()
    current: UpsConfig | None = None
    duplicate = False
    for line in _lines(data, sink):
        words = line.words
        name = _section(words[0])
        if name is not None:
            if len(words) > 1:
                sink.error(line.lineno, f"unexpected words after [{name}]")
            if not name:
                sink.error(line.lineno, "empty UPS name")
                current, duplicate = None, True
                continue
            other = conf.find(name)
            duplicate = other is not None
            if other is not None:
                sink.error(line.lineno, f"duplicate UPS [{name}] (first defined "
                           f"on line {other.lineno}); this one is ignored")
            current = UpsConfig(name=name, lineno=line.lineno)
            if not duplicate:
                conf.ups.append(current)
            continue
        kv = _key_value(words)
        if kv is None:
            sink.error(line.lineno, "expected 'key = value' or a flag: "
                       + " ".join(words))
            continue
        key, value = kv
        problem = _number_problem(key, value)
        if problem is not None:
            sink.error(line.lineno, problem)
        if current is None:
            if key not in _UPS_GLOBALS:
                sink.warning(line.lineno, f"unknown global setting '{key}'")
            if problem is None:
                conf.globals[key] = value
            continue
        if duplicate:
            continue
        current.keys.setdefault(key, line.lineno)
        if key in ("driver", "port", "desc"):
            if value is None:
                sink.error(line.lineno, f"'{key}' needs a value")
                continue
            setattr(current, key, value)
        elif problem is None:
            current.options[key] = value
    for ups in conf.ups:
        for key in ("driver", "port"):
            if not getattr(ups, key):
                sink.error(ups.lineno, f"UPS [{ups.name}] has no '{key}'; "
                           "it is ignored")
        _unknown_keys(ups, sink)
    conf.ups = [u for u in conf.ups if u.driver and u.port]
    return conf, sink.items


_BOOLS = {"true": True, "on": True, "yes": True, "1": True,
          "false": False, "off": False, "no": False, "0": False}
_CERTREQUEST = {"NO": 0, "REQUEST": 1, "REQUIRE": 2, "0": 0, "1": 1, "2": 2}
_IGNORED_UPSD = {"ACL", "ACCEPT", "REJECT"}
_NSS_ONLY = {"CERTIDENT"}


@dataclass
class _Directive:
    """One upsd.conf line, with typed accessors that report their own errors."""

    key: str
    args: list[str]
    lineno: int
    sink: _Sink

    def number(self) -> int | None:
        """upsd's rule: the value must start with a digit (atoi reads the rest)."""
        if len(self.args) != 1 or not self.args[0][:1].isdigit():
            self.sink.error(self.lineno, f"{self.key} needs one number")
            return None
        text = self.args[0]
        digits = text[:len(text) - len(text.lstrip("0123456789"))]
        return int(digits)

    def boolean(self) -> bool | None:
        if not self.args:
            return True
        value = _BOOLS.get(self.args[0].lower()) if len(self.args) == 1 else None
        if value is None:
            self.sink.error(self.lineno,
                            f"{self.key} needs true/false, yes/no, on/off or 1/0")
        return value

    def text(self) -> str | None:
        if len(self.args) != 1:
            self.sink.error(self.lineno, f"{self.key} needs one value")
            return None
        return self.args[0]

    def listen(self) -> Listen | None:
        if not 1 <= len(self.args) <= 2:
            self.sink.error(self.lineno, "LISTEN needs an address and optionally a port")
            return None
        if len(self.args) == 1:
            return Listen(self.args[0])
        port = self.args[1]
        if not port.isdigit() or not 0 < int(port) < 65536:
            self.sink.error(self.lineno, f"bad port {port!r}")
            return None
        return Listen(self.args[0], int(port))


def parse_upsd_conf(data: bytes, path: str) -> tuple[UpsdConf, list[Diagnostic]]:
    sink = _Sink(path)
    conf = UpsdConf()
    for line in _lines(data, sink):
        d = _Directive(line.words[0], line.words[1:], line.lineno, sink)
        key = d.key
        if key == "LISTEN":
            listen = d.listen()
            if listen is not None:
                conf.listen.append(listen)
        elif key in ("MAXAGE", "MAXCONN", "TRACKINGDELAY") or key.upper() == "DEBUG_MIN":
            value = d.number()
            if value is not None:
                setattr(conf, key.lower(), value)
        elif key in ("STATEPATH", "DATAPATH", "CERTFILE", "CERTPATH"):
            setattr(conf, key.lower(), d.text())
        elif key == "CERTREQUEST":
            text = d.text()
            level = _CERTREQUEST.get(text.upper()) if text is not None else None
            if level is None:
                sink.error(d.lineno, "CERTREQUEST needs NO, REQUEST or REQUIRE")
            else:
                conf.certrequest = level
        elif key in ("DISABLE_WEAK_SSL", "ALLOW_NO_DEVICE", "ALLOW_NOT_ALL_LISTENERS"):
            flag = d.boolean()
            if flag is not None:
                setattr(conf, key.lower(), flag)
        elif key in _IGNORED_UPSD:
            sink.warning(d.lineno, f"{key} is obsolete and ignored "
                         "(use upsd.users and firewall rules)")
        elif key in _NSS_ONLY:
            sink.warning(d.lineno, f"{key} is for NSS builds of upsd; nutpy uses "
                         "CERTFILE (PEM) and ignores it")
        else:
            sink.warning(d.lineno, f"unknown directive '{key}' ignored")
    return conf, sink.items


def parse_upsd_users(data: bytes, path: str) -> tuple[dict[str, User], list[Diagnostic]]:
    sink = _Sink(path)
    users: dict[str, User] = {}
    current: User | None = None
    for line in _lines(data, sink):
        words = line.words
        name = _section(words[0])
        if name is not None:
            if name in users:
                sink.warning(line.lineno, f"duplicate user [{name}] ignored")
                current = None
            else:
                current = users[name] = User(name)
            continue
        if current is None:
            if users or not words:
                continue
            sink.error(line.lineno, f"'{words[0]}' outside any [user] section")
            continue
        key = words[0].lower()
        args = words[2:] if len(words) > 1 and words[1] == "=" else words[1:]
        if not args:
            sink.error(line.lineno, f"'{words[0]}' needs a value")
        elif key == "password":
            if current.password is None:
                current.password = args[0]
        elif key == "actions":
            current.actions.update(a.upper() for a in args)
        elif key == "instcmds":
            current.instcmds.update(a.lower() for a in args)
        elif key == "upsmon":
            role = {"primary": "primary", "master": "primary",
                    "secondary": "secondary", "slave": "secondary"}.get(args[0].lower())
            if role is None:
                sink.error(line.lineno, f"upsmon needs primary or secondary, "
                           f"not {args[0]!r}")
            else:
                current.upsmon = role
        elif key == "allowfrom":
            sink.warning(line.lineno, "allowfrom is obsolete and ignored")
        else:
            sink.warning(line.lineno, f"unknown setting '{words[0]}' ignored")
    for user in users.values():
        if user.password is None:
            sink.warning(0, f"user [{user.name}] has no password and can never log in")
    return users, sink.items


def default_confdir() -> Path:
    return Path(os.environ.get("NUT_CONFPATH") or "/etc/nut")


def default_statepath() -> Path:
    """Where NUT keeps its sockets and state (Debian's default: /run/nut)."""
    return Path(os.environ.get("NUT_STATEPATH") or "/run/nut")


_FILE_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"),
               (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
               (stat.S_ISBLK, "a block device"))


def _read_regular(path: Path) -> bytes:
    """The bytes of a regular file; OSError (with strerror) for anything else.

    Opened non-blocking and checked before reading, so a FIFO or a device in
    place of a config file is refused instead of hanging start-up or a reload.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = next((name for test, name in _FILE_KINDS if test(mode)), "not a file")
            raise OSError(0, f"it is {kind}, not a regular file")
        os.set_blocking(fd, True)
        with os.fdopen(fd, "rb") as f:
            fd = -1
            return f.read()
    finally:
        if fd >= 0:
            os.close(fd)


def _read(path: Path, sink: _Sink, required: bool) -> bytes | None:
    """The file's bytes, or None with a diagnostic saying why not."""
    try:
        return _read_regular(path)
    except FileNotFoundError:
        if path.is_symlink():
            sink.error(0, f"cannot read: dangling symbolic link to {os.readlink(path)}")
        elif required:
            sink.error(0, "file not found")
        else:
            sink.warning(0, "file not found")
    except OSError as exc:
        sink.error(0, f"cannot read: {exc.strerror or exc}")
    return None


def load(directory: Path) -> Config:
    """Read the three files from ``directory``; never raises for bad content."""
    diagnostics: list[Diagnostic] = []
    unreadable: list[str] = []

    def read(path: Path, sink: _Sink, required: bool) -> bytes | None:
        data = _read(path, sink, required)
        if data is None and any(d.severity == "error" for d in sink.items):
            unreadable.append(str(path))
        return data

    upsd_path = directory / "upsd.conf"
    sink = _Sink(str(upsd_path))
    data = read(upsd_path, sink, required=False)
    upsd, items = parse_upsd_conf(data, str(upsd_path)) if data is not None else (UpsdConf(), [])
    diagnostics += sink.items + items

    ups_path = directory / "ups.conf"
    sink = _Sink(str(ups_path))
    data = read(ups_path, sink, required=True)
    ups, items = parse_ups_conf(data, str(ups_path)) if data is not None else (UpsConf(), [])
    diagnostics += sink.items + items
    env_allow = os.environ.get("ALLOW_NO_DEVICE")
    if env_allow is not None:
        upsd.allow_no_device = _BOOLS.get(env_allow.lower(), False)
    fatal = None
    if data is None:
        fatal = f"{ups_path}: cannot read it, so there is nothing to serve"
    elif not ups.ups and not upsd.allow_no_device:
        message = "no UPS defined (set ALLOW_NO_DEVICE in upsd.conf to serve none)"
        fatal = f"{ups_path}: {message}"
        diagnostics.append(Diagnostic(str(ups_path), 0, "error", message))

    users_path = directory / "upsd.users"
    sink = _Sink(str(users_path))
    data = read(users_path, sink, required=False)
    users, items = parse_upsd_users(data, str(users_path)) if data is not None else ({}, [])
    diagnostics += sink.items + items
    if data is not None:
        try:
            mode = users_path.stat().st_mode
        except OSError:
            mode = 0
        if mode & stat.S_IROTH:
            diagnostics.append(Diagnostic(str(users_path), 0, "warning",
                                          "readable by everyone; it holds passwords "
                                          "(chmod 640)"))
    return Config(directory, ups, upsd, users, diagnostics, fatal, unreadable)
