"""``ups.conf``: the UPSes, their drivers and ports, and the drivers' global settings."""

from __future__ import annotations

from dataclasses import dataclass, field

from nutpy.config.syntax import Diagnostic, Sink, key_value, lines, number_problem, section

__all__ = ["UpsConf", "UpsConfig", "parse_ups_conf"]


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
# Settings that must be whole numbers, and their bounds.  NUT takes any int;
# past these a value is a typo (a poll interval of a day leaves the UPS stale
# between polls, one hundreds of digits long is never reached).
_UPS_NUMBERS = {"pollinterval": (1, 3600), "maxretry": (0, 1000), "retrydelay": (0, 3600),
                "maxstartdelay": (0, 3600), "sddelay": (0, 3600), "debug_min": (0, 100),
                "sdorder": (-1000, 1000)}
_SYNCHRONOUS = ("yes", "no", "auto")


def _number_problem(key: str, value: str | None) -> str | None:
    """What is wrong with a numeric (or otherwise restricted) ups.conf setting, or None."""
    if key == "synchronous":
        return None if (value or "").lower() in _SYNCHRONOUS else (
            f"'synchronous' needs yes, no or auto, not {value!r}")
    bounds = _UPS_NUMBERS.get(key)
    if bounds is None:
        return None
    low, high = bounds
    digits = (value or "").removeprefix("-") if low < 0 else (value or "")
    if not digits.isdigit():
        kind = "a whole number" if low < 0 else "a number"
        shown = value if value is None or len(value) <= 20 else value[:12] + "..."
        return f"'{key}' needs {kind}, not {shown!r}"
    problem = number_problem(value or "", low, high)
    return None if problem is None else f"'{key}' {problem}"


def _unknown_keys(ups: UpsConfig, sink: Sink) -> None:
    known = _DRIVER_KEYS.get(ups.driver)
    if known is None:
        return  # an unknown driver is reported on its own
    for key, lineno in ups.keys.items():
        if key in _UPS_CORE_KEYS or key in known or key.startswith(("override.", "default.")):
            continue
        sink.warning(lineno, f"unknown setting '{key}' for driver {ups.driver} in "
                     f"[{ups.name}]: ignored (NUT's driver would refuse to start)")


def parse_ups_conf(data: bytes, path: str) -> tuple[UpsConf, list[Diagnostic]]:
    sink = Sink(path)
    conf = UpsConf()
    current: UpsConfig | None = None
    duplicate = False
    for line in lines(data, sink):
        words = line.words
        name = section(words[0])
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
        kv = key_value(words)
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


