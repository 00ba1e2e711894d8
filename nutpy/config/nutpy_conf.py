"""``nutpy.conf``: what nutpy does beyond upsd, in upsd.conf's syntax.

NUT never reads this file, so a NUT config directory stays NUT's.  Every
directive is optional; without the file nutpy is exactly a NUT server.

* ``HTTP_LISTEN <address> [<port>]`` (repeatable; port 9199, the Prometheus
  NUT exporter's): metrics, the JSON API, events and the dashboard.  Without
  it no HTTP port is opened.
* ``HTTP_MAXCONN <n>``: at most this many HTTP connections at once (256).
* ``HTTP_ALLOW_PLAIN_AUTH on``: take credentials over plain HTTP from other
  hosts too (by default only over HTTPS, or from loopback).
* ``NIS_LISTEN <ups> <address> [<port>]`` (repeatable; port 3551): apcupsd's
  network protocol for one UPS, as apcupsd serves one UPS per daemon.
* ``ANNOUNCE on|off``: DNS-SD over mDNS; default on when a listener is not
  on loopback.
* ``HISTORY <path>|off``: the SQLite history; default ``nutpy-history.sqlite``
  in the state directory.  ``HISTORY_DAYS <n>``: how long it is kept (30).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from nutpy.config.syntax import Diagnostic, Directive, Sink, lines
from nutpy.config.upsd_conf import Listen, add_listen, parse_listen

__all__ = ["DEFAULT_HISTORY_DAYS", "DEFAULT_HTTP_MAXCONN", "DEFAULT_HTTP_PORT",
           "DEFAULT_NIS_PORT", "HISTORY_FILE", "MAX_HISTORY_DAYS", "NisListen", "NutpyConf",
           "parse_nutpy_conf"]

DEFAULT_HTTP_PORT = 9199
DEFAULT_NIS_PORT = 3551
DEFAULT_HISTORY_DAYS = 30
DEFAULT_HTTP_MAXCONN = 256
MAX_HTTP_MAXCONN = 1_000_000
MAX_HISTORY_DAYS = 3660  # ten years: more is a typo
HISTORY_FILE = "nutpy-history.sqlite"


@dataclass(frozen=True, slots=True)
class NisListen:
    ups: str
    listen: Listen


@dataclass
class NutpyConf:
    http_listen: list[Listen] = field(default_factory=list)
    http_maxconn: int = DEFAULT_HTTP_MAXCONN
    http_allow_plain_auth: bool = False
    nis_listen: list[NisListen] = field(default_factory=list)
    announce: bool | None = None  # None: on when a LISTEN is not loopback
    history: str | None = None  # a path, "off", or None for the default
    history_days: int = DEFAULT_HISTORY_DAYS

    def history_path(self, statepath: Path, confdir: Path) -> Path | None:
        """Where the history lives (a relative path is in the config directory);
        None when it is off."""
        if self.history is None:
            return statepath / HISTORY_FILE
        if self.history.lower() == "off":
            return None
        return confdir / self.history


def parse_nutpy_conf(data: bytes, path: str) -> tuple[NutpyConf, list[Diagnostic]]:
    sink = Sink(path)
    conf = NutpyConf()
    for line in lines(data, sink):
        d = Directive(line.words[0], line.words[1:], line.lineno, sink)
        key = d.key.upper()
        if key == "HTTP_LISTEN":
            listen = parse_listen(key, d.args, d.lineno, sink, DEFAULT_HTTP_PORT)
            if listen is not None:
                add_listen(conf.http_listen, listen, key, sink)
        elif key == "HTTP_MAXCONN":
            number = d.number(1, MAX_HTTP_MAXCONN)
            if number is not None:
                conf.http_maxconn = number
        elif key == "HTTP_ALLOW_PLAIN_AUTH":
            flag = d.boolean()
            if flag is not None:
                conf.http_allow_plain_auth = flag
        elif key == "NIS_LISTEN":
            if not 2 <= len(d.args) <= 3:
                sink.error(d.lineno, "NIS_LISTEN needs a UPS, an address and optionally "
                           "a port")
                continue
            listen = parse_listen(key, d.args[1:], d.lineno, sink, DEFAULT_NIS_PORT)
            if listen is not None:
                conf.nis_listen.append(NisListen(d.args[0], listen))
        elif key == "ANNOUNCE":
            conf.announce = d.boolean()
        elif key == "HISTORY":
            text = d.text()
            if text == "":
                sink.error(d.lineno, "HISTORY needs a path or off")
            elif text is not None:
                conf.history = text
        elif key == "HISTORY_DAYS":
            days = d.number(1, MAX_HISTORY_DAYS)
            if days is not None:
                conf.history_days = days
        else:
            sink.warning(d.lineno, f"unknown directive '{d.key}' ignored")
    return conf, sink.items
