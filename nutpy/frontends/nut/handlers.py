"""One function per protocol verb.

Each takes the session and the words after the verb, and returns the reply
text or raises :class:`ProtocolError`.  The order of checks follows upsd's
exactly, because clients (and test suites) see which error comes first.
Replies echo the UPS and variable names as the client spelled them.
"""

from __future__ import annotations

from collections.abc import Callable

from nutpy.frontends.nut.state import ClientState
from nutpy.protocols.nut import (
    HELP_TEXT,
    NO_DESCRIPTION,
    PROTOCOL_VERSION,
    SERVER_INFO,
    SERVER_VERSION,
    Err,
    ProtocolError,
    escape,
    listing,
)
from nutpy.store import InstCmd, Request, Result, ResultCallback, SetVar, UpsState, Variable

Handler = Callable[[ClientState, list[str]], str]


def _exactly(args: list[str], count: int) -> None:
    if len(args) != count:
        raise ProtocolError(Err.INVALID_ARGUMENT)


def _at_least(args: list[str], count: int) -> None:
    if len(args) < count:
        raise ProtocolError(Err.INVALID_ARGUMENT)


# ---- simple verbs -----------------------------------------------------------

def ver(s: ClientState, args: list[str]) -> str:
    _exactly(args, 0)
    return SERVER_INFO + "\n"


def netver(s: ClientState, args: list[str]) -> str:
    _exactly(args, 0)
    return PROTOCOL_VERSION + "\n"


def help_(s: ClientState, args: list[str]) -> str:
    _exactly(args, 0)
    return HELP_TEXT + "\n"


def starttls(s: ClientState, args: list[str]) -> str:
    if s.tls:
        raise ProtocolError(Err.ALREADY_SSL_MODE)
    if not s.ctx.tls_available:
        raise ProtocolError(Err.FEATURE_NOT_CONFIGURED)
    s.start_tls = True
    return "OK STARTTLS\n"


def username(s: ClientState, args: list[str]) -> str:
    _exactly(args, 1)
    if s.username is not None:
        raise ProtocolError(Err.ALREADY_SET_USERNAME)
    s.username = args[0]
    return "OK\n"


def password(s: ClientState, args: list[str]) -> str:
    _exactly(args, 1)
    if s.password is not None:
        raise ProtocolError(Err.ALREADY_SET_PASSWORD)
    s.password = args[0]
    return "OK\n"


def login(s: ClientState, args: list[str]) -> str:
    _exactly(args, 1)
    if s.login_ups is not None:
        raise ProtocolError(Err.ALREADY_LOGGED_IN)
    ups = s.ups(args[0])
    s.require_action("LOGIN")
    ups.login(s.id, s.address)
    s.login_ups = ups
    return "OK\n"


def logout(s: ClientState, args: list[str]) -> str:
    _exactly(args, 0)
    s.closing = True
    return "OK Goodbye\n"


def _primary(s: ClientState, args: list[str]) -> None:
    _exactly(args, 1)
    s.ups(args[0])
    s.require_action("PRIMARY", "MASTER")


def primary(s: ClientState, args: list[str]) -> str:
    _primary(s, args)
    return "OK PRIMARY-GRANTED\n"


def master(s: ClientState, args: list[str]) -> str:
    _primary(s, args)
    return "OK MASTER-GRANTED\n"


def fsd(s: ClientState, args: list[str]) -> str:
    _exactly(args, 1)
    ups = s.ups(args[0])
    s.require_action("FSD")
    ups.set_fsd()
    return "OK FSD-SET\n"


# ---- GET --------------------------------------------------------------------

def _variable(ups: UpsState, name: str) -> Variable:
    var = ups.get(name)
    if var is None:
        raise ProtocolError(Err.VAR_NOT_SUPPORTED)
    return var


def _get_server_var(name: str, var: str) -> str:
    lowered = var.lower()
    if lowered == "server.info":
        return f'VAR {name} server.info "{SERVER_INFO}"\n'
    if lowered == "server.version":
        return f'VAR {name} server.version "{SERVER_VERSION}"\n'
    raise ProtocolError(Err.VAR_NOT_SUPPORTED)


def _get_var(s: ClientState, name: str, var: str) -> str:
    if var[:7].lower() == "server.":
        return _get_server_var(name, var)
    ups = s.available_ups(name)
    value = ups.shown(_variable(ups, var))
    return f'VAR {name} {var} "{escape(value)}"\n'


def _get_type(s: ClientState, name: str, var: str) -> str:
    v = _variable(s.available_ups(name), var)
    words = [f"TYPE {name} {var}"]
    if v.writable:
        words.append("RW")
    if v.enums:
        words.append("ENUM")
    if v.ranges:
        words.append("RANGE")
    words.append(f"STRING:{v.aux}" if v.string else "NUMBER")
    return " ".join(words) + "\n"


def _get_desc(s: ClientState, name: str, var: str) -> str:
    s.available_ups(name)
    text = s.ctx.descriptions.variable(var) or NO_DESCRIPTION
    return f'DESC {name} {var} "{text}"\n'


def _get_cmddesc(s: ClientState, name: str, cmd: str) -> str:
    s.available_ups(name)
    text = s.ctx.descriptions.command(cmd) or NO_DESCRIPTION
    return f'CMDDESC {name} {cmd} "{text}"\n'


_GET3 = {"VAR": _get_var, "TYPE": _get_type, "DESC": _get_desc,
         "CMDDESC": _get_cmddesc}


def get(s: ClientState, args: list[str]) -> str:
    _at_least(args, 1)
    sub = args[0].upper()
    if sub == "TRACKING":
        if len(args) < 2:
            return "ON\n" if s.tracking else "OFF\n"
        if not s.tracking:
            raise ProtocolError(Err.FEATURE_NOT_CONFIGURED)
        return s.ctx.tracking.answer(args[1], s.ctx.clock()) + "\n"
    _at_least(args, 2)
    if sub == "NUMLOGINS":
        ups = s.available_ups(args[1])
        return f"NUMLOGINS {args[1]} {len(ups.logins)}\n"
    if sub == "UPSDESC":
        ups = s.ups(args[1])
        desc = escape(ups.desc) if ups.desc is not None else "Unavailable"
        return f'UPSDESC {args[1]} "{desc}"\n'
    _at_least(args, 3)
    getter = _GET3.get(sub)
    if getter is None:
        raise ProtocolError(Err.INVALID_ARGUMENT)
    return getter(s, args[1], args[2])


# ---- LIST -------------------------------------------------------------------

def _sorted_vars(ups: UpsState) -> list[Variable]:
    return sorted(ups.variables.values(), key=lambda v: v.name.lower())


def _list_ups(s: ClientState) -> str:
    lines = [f'UPS {u.name} "{escape(u.desc) if u.desc is not None else NO_DESCRIPTION}"'
             for u in s.ctx.store]
    return listing("UPS", "", lines)


def _list_var(s: ClientState, name: str) -> str:
    ups = s.available_ups(name)
    lines = [f'VAR {name} {v.name} "{escape(ups.shown(v))}"'
             for v in _sorted_vars(ups)]
    return listing("VAR", name, lines)


def _list_rw(s: ClientState, name: str) -> str:
    ups = s.available_ups(name)
    lines = [f'RW {name} {v.name} "{escape(v.value)}"'
             for v in _sorted_vars(ups) if v.writable]
    return listing("RW", name, lines)


def _list_cmd(s: ClientState, name: str) -> str:
    ups = s.available_ups(name)
    lines = [f"CMD {name} {c}" for c in sorted(ups.commands.values(), key=str.lower)]
    return listing("CMD", name, lines)


def _list_client(s: ClientState, name: str) -> str:
    ups = s.ups(name)
    lines = [f"CLIENT {ups.name} {addr}" for addr in reversed(ups.logins.values())]
    return listing("CLIENT", name, lines)


def _list_enum(s: ClientState, name: str, var: str) -> str:
    v = _variable(s.available_ups(name), var)
    lines = [f'ENUM {name} {var} "{escape(e)}"' for e in v.enums]
    return listing("ENUM", f"{name} {var}", lines)


def _list_range(s: ClientState, name: str, var: str) -> str:
    v = _variable(s.available_ups(name), var)
    lines = [f'RANGE {name} {var} "{lo}" "{hi}"' for lo, hi in v.ranges]
    return listing("RANGE", f"{name} {var}", lines)


_LIST2 = {"VAR": _list_var, "RW": _list_rw, "CMD": _list_cmd, "CLIENT": _list_client}
_LIST3 = {"ENUM": _list_enum, "RANGE": _list_range}


def list_(s: ClientState, args: list[str]) -> str:
    _at_least(args, 1)
    sub = args[0].upper()
    if sub == "UPS":
        return _list_ups(s)
    _at_least(args, 2)
    if sub in _LIST2:
        return _LIST2[sub](s, args[1])
    _at_least(args, 3)
    if sub in _LIST3:
        return _LIST3[sub](s, args[1], args[2])
    raise ProtocolError(Err.INVALID_ARGUMENT)


# ---- SET and INSTCMD ----------------------------------------------------------

def _check_value(var: Variable, value: str) -> None:
    refusal = var.refusal(value)
    if refusal is not None:
        raise ProtocolError(Err(refusal.value))


def _submit(s: ClientState, ups: UpsState, make: Callable[[ResultCallback | None], Request],
            failed: Err) -> str:
    """Send a request to the driver, with a tracking id if the session wants one."""
    ident = s.ctx.tracking.add(s.ctx.clock()) if s.tracking else None
    tracking = s.ctx.tracking

    def on_result(result: Result) -> None:
        if ident is not None:
            tracking.complete(ident, result)

    if not ups.submit(make(on_result)):
        raise ProtocolError(failed)
    return f"OK TRACKING {ident}\n" if ident else "OK\n"


def _set_var(s: ClientState, args: list[str]) -> str:
    _at_least(args, 4)
    name, var_name, value = args[1], args[2], args[3]
    ups = s.available_ups(name)
    s.require_action("SET")
    var = _variable(ups, var_name)
    _check_value(var, value)
    return _submit(s, ups, lambda done: SetVar(var.name, value, done), Err.SET_FAILED)


def set_(s: ClientState, args: list[str]) -> str:
    _at_least(args, 2)
    sub = args[0].upper()
    if sub == "VAR":
        return _set_var(s, args)
    if sub == "TRACKING":
        mode = args[1].upper()
        if mode not in ("ON", "OFF"):
            raise ProtocolError(Err.INVALID_ARGUMENT)
        s.tracking = mode == "ON"
        return "OK\n"
    raise ProtocolError(Err.INVALID_ARGUMENT)


def instcmd(s: ClientState, args: list[str]) -> str:
    _at_least(args, 2)
    name, command = args[0], args[1]
    param = args[2] if len(args) == 3 else None
    ups = s.available_ups(name)
    canonical = ups.commands.get(command.lower())
    if canonical is None:
        raise ProtocolError(Err.CMD_NOT_SUPPORTED)
    user = s.authenticated_user()
    if user is None or not user.may_run(command):
        raise ProtocolError(Err.ACCESS_DENIED)
    return _submit(s, ups, lambda done: InstCmd(canonical, param, done),
                   Err.INSTCMD_FAILED)


# verb -> (handler, needs USERNAME and PASSWORD first)
VERBS: dict[str, tuple[Handler, bool]] = {
    "VER": (ver, False),
    "NETVER": (netver, False),
    "PROTVER": (netver, False),
    "HELP": (help_, False),
    "STARTTLS": (starttls, False),
    "GET": (get, False),
    "LIST": (list_, False),
    "USERNAME": (username, False),
    "PASSWORD": (password, False),
    "LOGIN": (login, True),
    "LOGOUT": (logout, False),
    "PRIMARY": (primary, True),
    "MASTER": (master, True),
    "FSD": (fsd, True),
    "SET": (set_, True),
    "INSTCMD": (instcmd, True),
}
