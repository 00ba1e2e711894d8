"""Every value the config files reach a parser with is checked, never raised.

A sweep over the parsers the config feeds (port URLs, simulator options,
host names, numbers, paths): each bad value is one ``file:line: error``
from :func:`nutpy.wiring.check`, which ``check-config`` prints and
``serve`` logs, and nothing raises.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from nutpy import config
from nutpy.wiring import check

GOOD = "[good]\ndriver = dummy-ups\nport = u.dev\n"
HUGE = "9" * 400
LONG_LABEL = "a" * 64

# (file, content, the line it is on, words the error must contain)
UPS_CONF = {
    "socket-port-not-a-number": ('port = "socket://host:abc"', "port"),
    "socket-port-out-of-range": ('port = "socket://host:99999"', "port"),
    "socket-port-zero": ('port = "socket://host:0"', "port"),
    "socket-ipv6-unclosed": ('port = "socket://[::1:3000"', "socket://"),
    "socket-host-unencodable": (f'port = "socket://{LONG_LABEL}.example:3000"', "host name"),
    "socket-host-empty-label": ('port = "socket://a..b:3000"', "host name"),
    "socket-with-a-path": ('port = "socket://host:3000/x"', "path"),
    "sim-unknown": ("port = sim:nosuch", "no simulator"),
    "sim-rows": ('port = "sim:microlink?rows=9"', "rows"),
    "sim-unknown-option": ('port = "sim:smart?colour=red"', "colour"),
    "sim-option-twice": ('port = "sim:smart?control=a&control=b"', "twice"),
    "sim-missing-dump": ('port = "sim:smart?dump=missing.dev"', "missing.dev"),
    "sim-dump-is-a-directory": ('port = "sim:smart?dump=."', "cannot read dump"),
    "sim-dump-is-a-fifo": ('port = "sim:smart?dump=fifo.dev"', "FIFO"),
    "sim-control-too-long": (f'port = "sim:smart?control={"c" * 120}"', "Unix socket"),
    "sim-control-empty": ('port = "sim:smart?control="', "control"),
}
NUMBERS = {
    "pollinterval-huge": (f"pollinterval = {HUGE}", "pollinterval"),
    "pollinterval-day": ("pollinterval = 86400", "pollinterval"),
    "maxretry-huge": (f"maxretry = {HUGE}", "maxretry"),
    "retrydelay-huge": (f"retrydelay = {HUGE}", "retrydelay"),
    "sdorder-huge": (f"sdorder = -{HUGE}", "sdorder"),
    "debug-min-huge": (f"debug_min = {HUGE}", "debug_min"),
}
UPSD_CONF = {
    "listen-unencodable": (f"LISTEN {LONG_LABEL}.example 3493", "host name"),
    "listen-empty-label": ("LISTEN a..b", "host name"),
    "listen-unicode-invalid": ("LISTEN \u200b", "host name"),
    "maxage-huge": (f"MAXAGE {HUGE}", "MAXAGE"),
    "maxage-zero": ("MAXAGE 0", "MAXAGE"),
    "maxconn-huge": (f"MAXCONN {HUGE}", "MAXCONN"),
    "trackingdelay-huge": (f"TRACKINGDELAY {HUGE}", "TRACKINGDELAY"),
    "debug-min-huge": (f"DEBUG_MIN {HUGE}", "DEBUG_MIN"),
}
NUTPY_CONF = {
    "http-listen-unencodable": (f"HTTP_LISTEN {LONG_LABEL}.example", "host name"),
    "nis-listen-unencodable": (f"NIS_LISTEN good {LONG_LABEL}.example", "host name"),
}


def _write(directory: Path, ups_conf: str = GOOD, upsd_conf: str = "",
           nutpy_conf: str | None = None) -> None:
    (directory / "ups.conf").write_text(ups_conf)
    (directory / "upsd.conf").write_text(upsd_conf)
    (directory / "upsd.users").write_text("")
    (directory / "upsd.users").chmod(0o600)
    (directory / "u.dev").write_text("ups.status: OL\n")
    os.mkfifo(directory / "fifo.dev")  # reading it would hang check-config
    if nutpy_conf is not None:
        (directory / "nutpy.conf").write_text(nutpy_conf)


def _errors(directory: Path) -> list[str]:
    return [str(d) for d in check(config.load(directory)) if d.severity == "error"]


@pytest.mark.parametrize("case", sorted(UPS_CONF))
def test_bad_port_is_an_error_on_its_line(tmp_path: Path, case: str) -> None:
    line, words = UPS_CONF[case]
    driver = "apcmicrolink" if "microlink" in line else "apcsmart"
    _write(tmp_path, GOOD + f"[bad]\ndriver = {driver}\n{line}\n")
    errors = _errors(tmp_path)
    assert len(errors) == 1, errors
    assert errors[0].startswith(f"{tmp_path}/ups.conf:6: error: [bad] ")
    assert words in errors[0]


@pytest.mark.parametrize("case", sorted(NUMBERS))
@pytest.mark.parametrize("where", ["global", "ups"])
def test_absurd_numbers_in_ups_conf_are_errors(tmp_path: Path, case: str, where: str) -> None:
    line, key = NUMBERS[case]
    if where == "global":
        _write(tmp_path, f"{line}\n{GOOD}")
        lineno = 1
    else:
        _write(tmp_path, f"{GOOD}{line}\n")
        lineno = 4
    errors = _errors(tmp_path)
    assert errors == [errors[0]] and errors[0].startswith(
        f"{tmp_path}/ups.conf:{lineno}: error: '{key}' must be from "), errors
    assert len(errors[0]) < 200  # a number 400 digits long is not printed whole


def test_a_poll_interval_in_bounds_is_used(tmp_path: Path) -> None:
    _write(tmp_path, f"pollinterval = 3600\n{GOOD}")
    assert _errors(tmp_path) == []


# (file, its first line, a bad line after it) for the directive files
DIRECTIVES = [("upsd.conf", "LISTEN 127.0.0.1 3493", case) for case in sorted(UPSD_CONF)] + [
    ("nutpy.conf", "ANNOUNCE off", case) for case in sorted(NUTPY_CONF)]


@pytest.mark.parametrize(("name", "first", "case"), DIRECTIVES)
def test_bad_directive_values_are_errors_on_their_line(tmp_path: Path, name: str, first: str,
                                                       case: str) -> None:
    line, words = (UPSD_CONF if name == "upsd.conf" else NUTPY_CONF)[case]
    text = f"{first}\n{line}\n"
    if name == "upsd.conf":
        _write(tmp_path, upsd_conf=text)
    else:
        _write(tmp_path, nutpy_conf=text)
    errors = _errors(tmp_path)
    assert len(errors) == 1, errors
    assert errors[0].startswith(f"{tmp_path}/{name}:2: error: ")
    assert words in errors[0]


def test_a_duplicate_listen_is_an_error_naming_the_first(tmp_path: Path) -> None:
    _write(tmp_path, upsd_conf="LISTEN 127.0.0.1 3493\nLISTEN ::1\nLISTEN 127.0.0.1\n")
    cfg = config.load(tmp_path)
    assert _errors(tmp_path) == [
        f"{tmp_path}/upsd.conf:3: error: LISTEN 127.0.0.1 port 3493 is given twice "
        "(first on line 1); this one is ignored"]
    assert [(item.address, item.lineno) for item in cfg.upsd.listeners] == [
        ("127.0.0.1", 1), ("::1", 2)]


def test_every_good_kind_of_port_passes(tmp_path: Path) -> None:
    (tmp_path / "smart.dev").write_text("ups.status: OL\nups.model: Smart-UPS 1500\n")
    _write(tmp_path, GOOD + "".join(
        f"[u{n}]\ndriver = apcsmart\nport = \"{port}\"\n" for n, port in enumerate([
            "/dev/ttyS0", "socket://localhost:3000", "socket://[::1]:3000",
            "socket://ünï.example:3000", "sim:smart", "sim:smart?dump=smart.dev&control=s.ctl",
        ])) + '[m]\ndriver = apcmicrolink\nport = "sim:microlink?rows=32"\n')
    assert _errors(tmp_path) == []
