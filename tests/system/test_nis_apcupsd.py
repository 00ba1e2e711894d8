"""Real apcupsd and nutpy answer apcupsd's protocol alike for the same Smart-UPS.

For each Smart dump in tests/fixtures two identical simulators run on ptys:
real apcupsd 3.14.14 (Debian's, unpacked) reads one, nutpy's apcsmart the
other.  ``status`` must agree on every field that describes the UPS; the
fields that name the daemon or a moment are in :data:`EXCLUDED` with the
reason, and the fields one side has and the other lacks in
:func:`differences`.  Both then go through ``mains fail`` and ``mains
restore``: both say ``ONBATT``, then ``ONLINE``, count the transfer, and
their ``events`` lists hold the same lines.  On one dump the cable is
pulled too (COMMLOST), and odd requests get the same bytes from both.

apcupsd's own thresholds (BATTERYLEVEL, MINUTES, TIMEOUT) are set to what
nutpy reports for the UPS (``battery.charge.low``, ``battery.runtime.low``,
none), so MBATTCHG, MINTIMEL and MAXTIME are compared too; apcupsd's
UPSNAME is set to the NUT name, which nutpy reports, and its POLLTIME to
nutpy's pollinterval (1 s).
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest

from nutpy.protocols.devfile import dev_variables
from tests.support import FIXTURES
from tests.support.apcsmart import DUMPS, ups_conf
from tests.support.apcupsd import events, real_apcupsd, status
from tests.support.nut import (
    Server,
    free_port,
    nutpy_server,
    sim_control,
    simulator,
    wait_for_port,
    wait_until,
    write_config,
)

EXCLUDED = {
    "APC": "its byte count covers the excluded lines (the header is checked in unit tests)",
    "DATE": "the moment of each daemon's last poll",
    "VERSION": "names the daemon (nutpy: 3.14.14 (nutpy VERSION))",
    "DRIVER": "names the daemon's driver (nutpy: nutpy apcsmart)",
    "STARTTIME": "when each daemon started",
    "END APC": "the moment of the answer",
}
REGISTERS = {"DIPSW", "REG1", "REG2", "REG3"}  # the raw replies to 7 ~ ' 8
# Values that move on their own (the battery charges or discharges, seconds
# pass) and are read at slightly different moments: how far apart they may be.
DRIFT = {"BCHARGE": 1.0, "TIMELEFT": 1.0, "BATTV": 0.2, "TONBATT": 2.0, "CUMONBATT": 2.0}
DATES = {"XONBATT", "XOFFBATT"}  # compared to within 2 s
DAEMON_EVENTS = ("startup succeeded", "shutdown succeeded", "User logins prohibited",
                 "Allowing logins")  # apcupsd's own doings, and nutpy's start
SETTLE = 30.0


def variables(dump: str) -> dict[str, str]:
    return dev_variables((FIXTURES / f"{dump}.dev").read_bytes())


def differences(dump: str) -> set[str]:
    """Fields only one side prints, and why.

    * DIPSW, REG1-REG3: apcupsd reads the raw registers; NUT's apcsmart does not
      publish them, nor does nutpy's yet (the Smart driver would have to).
    * OUTCURNT: apcupsd's Smart driver never asks ``/``; nutpy reports the
      ``output.current`` NUT's apcsmart reads, where the unit has it.
    * SERIALNO of the Matrix-UPS: apcupsd reads ``n``; nutpy's apcsmart, like
      NUT 2.8's (test_apcsmart_differential), publishes no ``ups.serial`` for it.
    """
    found = set(REGISTERS)
    if "output.current" in variables(dump):
        found.add("OUTCURNT")
    if dump == "matrix-ups-3000":
        found.add("SERIALNO")
    return found


def thresholds(dump: str) -> dict[str, str]:
    """apcupsd.conf's thresholds for what nutpy reports of this UPS."""
    values = variables(dump)
    low = values.get("battery.runtime.low")
    return {"BATTERYLEVEL": values.get("battery.charge.low", "0"),
            "MINUTES": str(int(low) // 60 if low else 0), "TIMEOUT": "0", "UPSNAME": "su",
            "POLLTIME": "1"}  # as nutpy's pollinterval: MINLINEV/MAXLINEV span one poll


def _close(key: str, theirs: str, ours: str) -> bool:
    if key in DATES:
        with contextlib.suppress(ValueError):
            def parse(text: str) -> datetime:
                return datetime.strptime(text.strip(), "%Y-%m-%d %H:%M:%S %z")
            return abs((parse(theirs) - parse(ours)).total_seconds()) <= 2
        return False
    if key not in DRIFT:
        return False
    try:
        return abs(float(theirs.split()[0]) - float(ours.split()[0])) <= DRIFT[key]
    except ValueError:
        return False


def compare(theirs: dict[str, str], ours: dict[str, str]) -> dict[str, tuple[str | None,
                                                                          str | None]]:
    """The fields that differ (EXCLUDED aside): {key: (apcupsd's, nutpy's)}."""
    return {key: (theirs.get(key), ours.get(key))
            for key in theirs.keys() | ours.keys()
            if key not in EXCLUDED and theirs.get(key) != ours.get(key)
            and not (key in theirs and key in ours and _close(key, theirs[key], ours[key]))}


def ups_events(port: int) -> list[str]:
    return [line for line in events(port) if not any(d in line for d in DAEMON_EVENTS)]


@dataclass
class Pair:
    apcupsd: Server
    nutpy: Server
    nis_port: int  # nutpy's
    controls: tuple[Path, Path]  # the simulators' control sockets (apcupsd's, nutpy's)

    def both(self, command: str) -> None:
        for control in self.controls:
            sim_control(control, command)

    def statuses(self) -> tuple[dict[str, str], dict[str, str]]:
        return status(self.apcupsd.port), status(self.nis_port)

    def agree(self, expected: set[str], also: Callable[[dict[str, str], dict[str, str]],
                                                       bool] = lambda t, o: True) -> None:
        """Wait until the two agree but for ``expected`` (and ``also`` holds)."""
        def settled() -> bool:
            theirs, ours = self.statuses()
            return set(compare(theirs, ours)) == expected and also(theirs, ours)
        wait_until(settled, timeout=SETTLE, interval=0.5)
        theirs, ours = self.statuses()
        differing = compare(theirs, ours)
        assert set(differing) == expected, differing
        assert also(theirs, ours), (theirs, ours)


@contextlib.contextmanager
def pair(tmp_path: Path, dump: str) -> Iterator[Pair]:
    """apcupsd and nutpy, each on its own simulator loaded with ``dump``."""
    data = str(FIXTURES / f"{dump}.dev")
    with simulator("smart", tmp_path / "sim-apcupsd", "--dump", data) as (link_a, ctl_a), \
            simulator("smart", tmp_path / "sim-nutpy", "--dump", data) as (link_b, ctl_b):
        port, nis_port = free_port(), free_port()
        directory = write_config(tmp_path / "nutpy", ups_conf=ups_conf(link_b),
                                 upsd_conf=f"LISTEN 127.0.0.1 {port}\n",
                                 files={"nutpy.conf": f"NIS_LISTEN su 127.0.0.1 {nis_port}\n"
                                        .encode()})
        with real_apcupsd(tmp_path / "apcupsd", link_a, free_port(),
                          thresholds(dump)) as apcupsd, \
                nutpy_server(directory, port) as nutpy:
            wait_for_port(nis_port, proc=nutpy.procs[0])  # bound just after the NUT port
            yield Pair(apcupsd, nutpy, nis_port, (ctl_a, ctl_b))


def _says(word: str) -> Callable[[dict[str, str], dict[str, str]], bool]:
    return lambda theirs, ours: theirs.get("STATUS") == ours.get("STATUS") == word


@pytest.mark.parametrize("dump", DUMPS)
def test_status_and_events_through_a_power_failure(dump: str, tmp_path: Path) -> None:
    expected = differences(dump)
    with pair(tmp_path, dump) as both:
        both.agree(expected, _says("ONLINE "))
        theirs, ours = both.statuses()
        assert len(theirs) >= 25 and ours["UPSNAME"] == "su" and ours["NUMXFERS"] == "0"
        both.both("battery charge 100")  # a full battery: no shutdown is due on battery
        if "input.transfer.low" not in variables(dump):
            # Without a low transfer point the simulator takes 0 V for good mains;
            # give it one (its l is not in the unit's command list: no driver sees it).
            both.both("set l 160")
        both.both("mains fail")
        both.agree(expected, lambda t, o: _says("ONBATT ")(t, o)
                   and int(o["STATFLAG"], 16) & 0x20000 != 0)  # told "on batteries"
        theirs, ours = both.statuses()
        assert ours["NUMXFERS"] == "1" and ours["LINEV"] == "0.0 Volts"
        assert ups_events(both.apcupsd.port) == ups_events(both.nis_port) == [
            "Power failure.", "Running on UPS batteries."]
        both.both("mains restore")
        both.agree(expected, _says("ONLINE "))
        assert ups_events(both.apcupsd.port) == ups_events(both.nis_port) == [
            "Power failure.", "Running on UPS batteries.",
            "Mains returned. No longer on UPS batteries.",
            "Power is back. UPS running on mains."]
        assert both.statuses()[1]["XOFFBATT"] != "N/A"


def test_a_pulled_cable_is_commlost_on_both(tmp_path: Path) -> None:
    dump = "smart-ups-1500"
    with pair(tmp_path, dump) as both:
        both.agree(differences(dump), _says("ONLINE "))
        both.both("unplug")  # apcupsd declares it after 20 s, nutpy after MAXAGE
        assert wait_until(lambda: {s["STATUS"] for s in both.statuses()} == {"COMMLOST "},
                          timeout=60, interval=1), both.statuses()
        theirs, ours = both.statuses()
        assert int(theirs["STATFLAG"], 16) & 0x100 and int(ours["STATFLAG"], 16) & 0x100
        lost = ["Communications with UPS lost."]
        assert ups_events(both.apcupsd.port) == ups_events(both.nis_port) == lost
        both.both("plug")
        both.agree(differences(dump), _says("ONLINE "))
        assert wait_until(lambda: ups_events(both.apcupsd.port) == ups_events(
            both.nis_port) == [*lost, "Communications with UPS restored."], timeout=20)


# ---- the framing, byte for byte -----------------------------------------------------

ODD_REQUESTS = {
    "unknown": b"\x00\x03foo",
    "status-and-more": b"\x00\x07statusX",  # 3.14.14 compares the length too
    "upper-case": b"\x00\x06STATUS",
    "with-its-nul": b"\x00\x07status\x00",
    "three-invalid": b"\x00\x02xx\x00\x01y\x00\x03zzz",  # answered, connection kept
    "longest-record": b"\x01\x00" + b"s" * 256,
    "zero-record": b"\x00\x00",  # closed without a word
    "257-bytes": b"\x01\x01" + b"s" * 257,
    "65535-announced": b"\xff\xff",
    "a-million-bytes": b"\xff\xff" + b"x" * 1_000_000,
}


def _exchange(port: int, data: bytes) -> tuple[bytes, bool]:
    """What the server answers to ``data`` and whether it then closed (within 1 s)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        with contextlib.suppress(ConnectionResetError, BrokenPipeError):
            sock.sendall(data)
        sock.settimeout(1.0)
        received = b""
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                return received, False
            except ConnectionResetError:
                return received, True
            if not chunk:
                return received, True
            received += chunk
        return received, False


@pytest.fixture(scope="module")
def framing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    with pair(tmp_path_factory.mktemp("framing"), "smart-ups-1500") as both:
        both.agree(differences("smart-ups-1500"), _says("ONLINE "))
        yield both


@pytest.mark.parametrize("case", sorted(ODD_REQUESTS))
def test_odd_requests_get_apcupsd_s_bytes(framing: Pair, case: str) -> None:
    theirs = _exchange(framing.apcupsd.port, ODD_REQUESTS[case])
    ours = _exchange(framing.nis_port, ODD_REQUESTS[case])
    assert ours == theirs


def test_status_after_an_invalid_request_on_one_connection(framing: Pair) -> None:
    request = b"\x00\x03bad\x00\x06status"
    for port in (framing.apcupsd.port, framing.nis_port):
        received, closed = _exchange(port, request)
        assert received.startswith(b"\x00\x11Invalid command\n\x00\x00\x00\x00\x18APC ")
        assert received.endswith(b"\n\x00\x00") and not closed
