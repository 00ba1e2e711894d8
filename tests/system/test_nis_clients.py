"""apcupsd's real clients read nutpy's apcupsd port unchanged.

* ``apcaccess`` 3.14.14 (Debian's, unpacked): the whole status, ``-u`` (units
  stripped) and ``-p`` (one field);
* ``aioapcaccess`` (PyPI), called as Home Assistant's apcupsd integration
  calls it, over IPv4 and IPv6;
* NUT's own ``apcupsd-ups`` driver (Debian's nut-server) reading nutpy's NIS
  port into a real ``upsd``: ``upsc`` through NUT shows nutpy's values.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import aioapcaccess
import pytest

from tests.support import FIXTURES
from tests.support.apcsmart import ups_conf, upsc
from tests.support.apcupsd import apcaccess, request, status
from tests.support.nut import (
    free_port,
    nutpy_server,
    real_upsd,
    simulator,
    wait_for_port,
    wait_until,
    write_config,
)

MOMENTS = {"DATE", "END APC"}  # may tick between two requests


@dataclass
class Served:
    nut_port: int
    nis_port: int


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    directory = tmp_path_factory.mktemp("clients")
    dump = str(FIXTURES / "smart-ups-1500.dev")
    with simulator("smart", directory / "sim", "--dump", dump) as (link, _):
        port, nis_port = free_port(), free_port()
        nis = f"NIS_LISTEN su 127.0.0.1 {nis_port}\nNIS_LISTEN su ::1 {nis_port}\n"
        write_config(directory / "conf", ups_conf=ups_conf(link),
                     upsd_conf=f"LISTEN 127.0.0.1 {port}\n", files={"nutpy.conf": nis.encode()})
        with nutpy_server(directory / "conf", port) as server:
            wait_for_port(nis_port, proc=server.procs[0])
            wait_for_port(nis_port, host="::1", proc=server.procs[0])
            assert wait_until(lambda: status(nis_port)["STATUS"] == "ONLINE ", timeout=20)
            yield Served(port, nis_port)


def _without_moments(fields: dict[str, str]) -> dict[str, str]:
    return {key: value for key, value in fields.items() if key not in MOMENTS}


def test_apcaccess_prints_the_whole_status(served: Served) -> None:
    done = apcaccess(served.nis_port)
    assert done.returncode == 0, done.stderr
    rows = [line.split(": ", 1) for line in done.stdout.splitlines()]
    printed = {key.rstrip(): value for key, value in rows}
    assert _without_moments(printed) == _without_moments(status(served.nis_port))
    assert printed["MODEL"] == "Smart-UPS 1500" and printed["LINEV"] == "236.1 Volts"


def test_apcaccess_strips_the_units(served: Served) -> None:
    done = apcaccess(served.nis_port, "-u")
    assert done.returncode == 0, done.stderr
    printed = {key.rstrip(): value for key, value in
               (line.split(": ", 1) for line in done.stdout.splitlines())}
    assert printed["LINEV"] == "236.1" and printed["TIMELEFT"] == "62.0"
    assert printed["BCHARGE"] == "100.0" and printed["ITEMP"] == "31.0"
    assert printed["LINEFREQ"] == "50.0" and printed["DSHUTD"] == "90"
    assert printed["MODEL"] == "Smart-UPS 1500"  # no unit: as it was


def test_apcaccess_prints_one_field(served: Served) -> None:
    assert apcaccess(served.nis_port, "-p", "LINEV").stdout == "236.1 Volts\n"
    assert apcaccess(served.nis_port, "-u", "-p", "BCHARGE").stdout == "100.0\n"
    assert apcaccess(served.nis_port, "-p", "STATUS").stdout == "ONLINE \n"
    missing = apcaccess(served.nis_port, "-p", "NOSUCHFIELD")
    assert missing.returncode == 2 and missing.stdout == ""


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_aioapcaccess_as_home_assistant_uses_it(served: Served, host: str) -> None:
    parsed = asyncio.run(aioapcaccess.request_status(host, served.nis_port))
    ours = {key: value.strip() for key, value in status(served.nis_port, host).items()}
    assert _without_moments(parsed) == _without_moments(ours)
    # Home Assistant reads each sensor's number and unit through split_unit.
    assert aioapcaccess.split_unit(parsed["LINEV"]) == ("236.1", "Volts")
    assert aioapcaccess.split_unit(parsed["TIMELEFT"]) == ("62.0", "Minutes")
    assert aioapcaccess.split_unit(parsed["ITEMP"]) == ("31.0", "C")
    assert parsed["STATUS"] == "ONLINE" and parsed["SERIALNO"] == "AS0537230534("


def test_every_record_is_shorter_than_256_bytes_without_a_nul(served: Served) -> None:
    for command in (b"status", b"events"):
        for item in request(served.nis_port, command):
            assert len(item) < 256 and b"\0" not in item and item.endswith(b"\n")


# NUT variable -> how apcupsd-ups writes what nutpy's NIS port says (its table).
BRIDGED = ["ups.model", "ups.serial", "ups.mfr.date", "ups.firmware", "battery.date",
           "ups.status"]
BRIDGED_NUMBERS = ["input.voltage", "input.voltage.maximum", "output.voltage",
                   "ups.load", "battery.charge", "battery.voltage", "battery.runtime",
                   "battery.runtime.low", "input.transfer.low", "input.transfer.high",
                   "input.frequency", "ups.temperature", "ups.delay.shutdown",
                   "ups.delay.start", "battery.voltage.nominal", "output.voltage.nominal"]


def test_nut_s_apcupsd_ups_driver_bridges_nutpy_into_a_real_upsd(
        served: Served, tmp_path: Path) -> None:
    port = free_port()
    directory = write_config(
        tmp_path, ups_conf=f"[su]\ndriver = apcupsd-ups\nport = 127.0.0.1:{served.nis_port}\n",
        upsd_conf=f"LISTEN 127.0.0.1 {port}\n")
    with real_upsd(directory, port, {"su": "apcupsd-ups"}) as upsd:
        assert wait_until(lambda: "ups.status" in upsc(port), timeout=30), upsd.log_text()
        through_nut, direct = upsc(port), upsc(served.nut_port)
    for name in BRIDGED:
        assert through_nut[name] == direct[name], name
    for name in BRIDGED_NUMBERS:
        assert float(through_nut[name]) == float(direct[name]), name
    assert through_nut["ups.id"] == "su"  # UPSNAME: NUT's name for it
    assert through_nut["battery.charge.low"] == "0"  # MBATTCHG: no charge threshold
