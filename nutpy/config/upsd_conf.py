"""``upsd.conf``: where to listen, MAXAGE and the other settings of upsd."""

from __future__ import annotations

from dataclasses import dataclass, field

from nutpy.config.syntax import Diagnostic, Directive, Sink, host_problem, lines

__all__ = ["DEFAULT_MAXAGE", "DEFAULT_PORT", "DEFAULT_TRACKINGDELAY", "Listen", "UpsdConf",
           "add_listen", "parse_listen", "parse_upsd_conf"]

DEFAULT_PORT = 3493
DEFAULT_MAXAGE = 15
DEFAULT_TRACKINGDELAY = 3600


@dataclass(frozen=True, slots=True)
class Listen:
    address: str
    port: int = DEFAULT_PORT
    lineno: int = field(default=0, compare=False)  # where it was given (0: a default)


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
    lines: dict[str, int] = field(default_factory=dict)  # directive -> line it was last set on

    @property
    def listeners(self) -> list[Listen]:
        """What to bind: the configured LISTENs, or upsd's loopback default."""
        return self.listen or [Listen("::1"), Listen("127.0.0.1")]


_CERTREQUEST = {"NO": 0, "REQUEST": 1, "REQUIRE": 2, "0": 0, "1": 1, "2": 2}
# The numbers' bounds: upsd takes any int; beyond these a value is a typo (a
# MAXAGE of a million years would never turn data stale).
_NUMBERS = {"MAXAGE": (1, 86400), "MAXCONN": (1, 1_000_000),
            "TRACKINGDELAY": (0, 86400), "DEBUG_MIN": (0, 100)}
_IGNORED_UPSD = {"ACL", "ACCEPT", "REJECT"}
_NSS_ONLY = {"CERTIDENT"}



def parse_listen(key: str, args: list[str], lineno: int, sink: Sink,
                 default_port: int) -> Listen | None:
    """``KEY address [port]`` (LISTEN, HTTP_LISTEN, and NIS_LISTEN after its UPS)."""
    if not 1 <= len(args) <= 2:
        sink.error(lineno, f"{key} needs an address and optionally a port")
        return None
    address = args[0]
    problem = None if address == "*" else host_problem(address)
    if problem is not None:
        sink.error(lineno, f"{key} {problem}")
        return None
    if len(args) == 1:
        return Listen(address, default_port, lineno)
    port = args[1]
    if not (port.isdigit() and len(port) <= 5 and 0 < int(port) < 65536):
        sink.error(lineno, f"bad port {port[:20]!r}")
        return None
    return Listen(address, int(port), lineno)


def add_listen(listens: list[Listen], listen: Listen, key: str, sink: Sink) -> None:
    """Append ``listen`` unless the same address and port is there already."""
    first = next((item for item in listens if item == listen), None)
    if first is None:
        listens.append(listen)
        return
    sink.error(listen.lineno, f"{key} {listen.address} port {listen.port} is given twice "
               f"(first on line {first.lineno}); this one is ignored")


def parse_upsd_conf(data: bytes, path: str) -> tuple[UpsdConf, list[Diagnostic]]:
    sink = Sink(path)
    conf = UpsdConf()
    for line in lines(data, sink):
        d = Directive(line.words[0], line.words[1:], line.lineno, sink)
        key = d.key
        if key == "LISTEN":
            listen = parse_listen(d.key, d.args, d.lineno, d.sink, DEFAULT_PORT)
            if listen is not None:
                add_listen(conf.listen, listen, key, sink)
        elif key in ("MAXAGE", "MAXCONN", "TRACKINGDELAY") or key.upper() == "DEBUG_MIN":
            value = d.number(*_NUMBERS[key.upper()])
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
            continue
        conf.lines[key.upper()] = d.lineno
    return conf, sink.items


