"""A power cut rehearsed on every APC Smart dump of NUT's library, as clients see it.

NUT's own apcsmart driver and upsd (Debian's) read each dump's simulator on
a pty; nutpy serves the same dumps as ``sim:smart`` ports.  Through both
servers every UPS must show OL, then OB after ``mains fail``, then OB LB
after ``battery low``.  All 26 run at once: one process for the NUT
simulators, one apcsmart per UPS, one upsd, one nutpy.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from tests.support.ddl import DUMPS, REHEARSAL_PREP, simulators
from tests.support.nut import (
    Server,
    accepts_connections,
    free_port,
    nutpy_server,
    real_upsd,
    sim_control,
    talk,
    wait_until,
    write_config,
)

NAMES = {f"u{n:02d}": dump for n, dump in enumerate(DUMPS)}
STATUS = re.compile(rb'VAR (\S+) ups.status "([^"]*)"')
STEPS: list[tuple[list[str], set[str]]] = [
    (REHEARSAL_PREP, {"OL"}), (["mains fail"], {"OB"}), (["battery low"], {"OB", "LB"})]


def _flags(port: int) -> dict[str, set[str]]:
    asked = b"".join(f"GET VAR {name} ups.status\n".encode() for name in NAMES)
    seen = {m.group(1).decode(): set(m.group(2).decode().split())
            for m in STATUS.finditer(talk(port, asked, timeout=10))}
    return {name: seen.get(name, set()) for name in NAMES}


def _rehearse(server: Server, control: Callable[[str, str], None]) -> None:
    for lines, expected in STEPS:
        for name in NAMES:
            for line in lines:
                control(name, line)

        def shown(want: set[str] = expected) -> bool:
            return all(want <= flags and not ({"OL", "OB", "LB"} - want) & flags
                       for flags in _flags(server.port).values())

        assert wait_until(shown, timeout=60, interval=0.5), (lines, {
            name: flags for name, flags in _flags(server.port).items()
            if not expected <= flags}, server.log_text()[-3000:])


def test_every_dump_through_nut_apcsmart_and_upsd(tmp_path: Path) -> None:
    with simulators(tmp_path / "sims", NAMES) as sims:
        port = free_port()
        confdir = write_config(tmp_path / "nut", upsd_conf=f"LISTEN 127.0.0.1 {port}\n",
                               ups_conf="pollinterval = 1\n" + "".join(
                                   f"[{name}]\ndriver = apcsmart\nport = {sims[name][0]}\n"
                                   for name in NAMES))
        with real_upsd(confdir, port, dict.fromkeys(NAMES, "apcsmart")) as server:
            _rehearse(server, lambda name, line: _answered(sims[name][1], line))


def test_every_dump_through_nutpy(tmp_path: Path) -> None:
    port = free_port()
    confdir = write_config(tmp_path / "conf", upsd_conf=f"LISTEN 127.0.0.1 {port}\n",
                           ups_conf="pollinterval = 1\n" + "".join(
                               f'[{name}]\ndriver = apcsmart\n'
                               f'port = "sim:smart?dump={dump}&control={name}.ctl"\n'
                               for name, dump in NAMES.items()))
    with nutpy_server(confdir, port) as server:
        # Each simulator's control socket opens when its driver opens the port.
        assert wait_until(lambda: all(accepts_connections(confdir / f"{name}.ctl")
                                      for name in NAMES), timeout=30)
        _rehearse(server, lambda name, line: _answered(confdir / f"{name}.ctl", line))


def _answered(control: Path, line: str) -> None:
    assert sim_control(control, line) == ["OK"], (control, line)
