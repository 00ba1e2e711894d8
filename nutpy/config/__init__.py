"""Reading the config files: NUT's ``ups.conf``, ``upsd.conf``, ``upsd.users``, and ``nutpy.conf``.

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

from nutpy.config.files import default_confdir, default_statepath, read_config_file
from nutpy.config.nutpy_conf import NutpyConf, parse_nutpy_conf
from nutpy.config.syntax import BOOLS, Diagnostic, Severity, Sink, host_problem
from nutpy.config.ups_conf import UpsConf, UpsConfig, parse_ups_conf
from nutpy.config.upsd_conf import (
    DEFAULT_MAXAGE,
    DEFAULT_PORT,
    DEFAULT_TRACKINGDELAY,
    Listen,
    UpsdConf,
    parse_upsd_conf,
)
from nutpy.config.upsd_users import User, parse_upsd_users

__all__ = [
    "DEFAULT_MAXAGE", "DEFAULT_PORT", "DEFAULT_TRACKINGDELAY", "Config", "Diagnostic",
    "Listen", "NutpyConf", "Severity", "UpsConf", "UpsConfig", "UpsdConf", "User",
    "default_confdir", "default_statepath", "host_problem", "load", "parse_ups_conf",
    "parse_upsd_conf", "parse_upsd_users",
]


@dataclass
class Config:
    directory: Path
    ups: UpsConf
    upsd: UpsdConf
    users: dict[str, User]
    diagnostics: list[Diagnostic]
    fatal: str | None = None  # why serving is impossible (upsd would exit)
    unreadable: list[str] = field(default_factory=list)  # files that failed to read (errors)
    nutpy: NutpyConf = field(default_factory=NutpyConf)


def _cross_check(cfg: Config, path: Path) -> None:
    """What no single file can tell: a NIS_LISTEN for a UPS ups.conf does not have."""
    for nis in cfg.nutpy.nis_listen:
        if cfg.ups.find(nis.ups) is None:
            cfg.diagnostics.append(Diagnostic(
                str(path), nis.listen.lineno, "error",
                f"NIS_LISTEN names UPS '{nis.ups}', which ups.conf does not define"))


def load(directory: Path) -> Config:
    """Read the config files from ``directory``; never raises for bad content."""
    diagnostics: list[Diagnostic] = []
    unreadable: list[str] = []

    def read(path: Path, sink: Sink, missing: Severity | None) -> bytes | None:
        data = read_config_file(path, sink, missing)
        if data is None and any(d.severity == "error" for d in sink.items):
            unreadable.append(str(path))
        return data

    upsd_path = directory / "upsd.conf"
    sink = Sink(str(upsd_path))
    data = read(upsd_path, sink, "warning")
    upsd, items = parse_upsd_conf(data, str(upsd_path)) if data is not None else (UpsdConf(), [])
    diagnostics += sink.items + items

    ups_path = directory / "ups.conf"
    sink = Sink(str(ups_path))
    data = read(ups_path, sink, "error")
    ups, items = parse_ups_conf(data, str(ups_path)) if data is not None else (UpsConf(), [])
    diagnostics += sink.items + items
    env_allow = os.environ.get("ALLOW_NO_DEVICE")
    if env_allow is not None:
        upsd.allow_no_device = BOOLS.get(env_allow.lower(), False)
    fatal = None
    if data is None:
        fatal = f"{ups_path}: cannot read it, so there is nothing to serve"
    elif not ups.ups and not upsd.allow_no_device:
        message = "no UPS defined (set ALLOW_NO_DEVICE in upsd.conf to serve none)"
        fatal = f"{ups_path}: {message}"
        diagnostics.append(Diagnostic(str(ups_path), 0, "error", message))
    if str(upsd_path) in unreadable:  # upsd exits too: LISTEN, TLS and MAXCONN are unknown
        fatal = f"{upsd_path}: cannot read it, so where and how to listen is unknown"

    users_path = directory / "upsd.users"
    sink = Sink(str(users_path))
    data = read(users_path, sink, "warning")
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

    nutpy_path = directory / "nutpy.conf"
    sink = Sink(str(nutpy_path))
    data = read(nutpy_path, sink, None)
    own, items = parse_nutpy_conf(data, str(nutpy_path)) if data is not None \
        else (NutpyConf(), [])
    diagnostics += sink.items + items
    cfg = Config(directory, ups, upsd, users, diagnostics, fatal, unreadable, own)
    _cross_check(cfg, nutpy_path)
    return cfg
