"""apcupsd's status fields from NUT's variables, held to real apcupsd's own answer.

The fixture is what real apcupsd 3.14.14 printed for a simulated Smart-UPS 1500
loaded with the smart-ups-1500 dump; the NUT variables are that dump, as NUT's
apcsmart published them for the same unit.
"""

from __future__ import annotations

import pytest

from nutpy.frontends.nis.status import Daemon, Reading, status_lines, transfer_cause
from nutpy.history.chronicle import PowerStats
from nutpy.protocols import nis
from nutpy.protocols.devfile import dev_variables
from tests.support import FIXTURES

NOW = 1796114401.0  # 2026-12-01 08:40:01 UTC
DAEMON = Daemon("vm", "0.1.0", NOW - 60)
# Lines that name apcupsd or a moment: nutpy's own are checked below.
DAEMON_FIELDS = {"APC", "DATE", "VERSION", "DRIVER", "STARTTIME", "END APC"}
# apcupsd reads the raw registers; NUT's apcsmart does not publish them.
REGISTERS = {"DIPSW", "REG1", "REG2", "REG3"}


def real_apcupsd() -> list[tuple[str, str]]:
    text = (FIXTURES / "apcupsd-smart-ups-1500.status").read_text()
    rows = [line.split(": ", 1) for line in text.splitlines() if not line.startswith("#")]
    return [(key.rstrip(), value) for key, value in rows]


def dump() -> dict[str, str]:
    """The dump as nutpy's apcsmart publishes it once the simulator answers: the
    minimum since the last query (N) is then the line voltage."""
    values = dev_variables((FIXTURES / "smart-ups-1500.dev").read_bytes())
    return {**{key.lower(): value for key, value in values.items()},
            "driver.name": "apcsmart", "input.voltage.minimum": "236.1"}


def reading(values: dict[str, str] | None = None, flags: tuple[str, ...] = ("OL",),
            fresh: bool = True, power: PowerStats | None = None) -> Reading:
    return Reading("su", dump() if values is None else values, flags, fresh, NOW - 1,
                   power or PowerStats())


def fields(lines: list[bytes]) -> dict[str, str]:
    rows = [item.decode("ascii").removesuffix("\n").split(": ", 1) for item in lines]
    return {key.rstrip(): value for key, value in rows}


def test_the_lines_apcupsd_prints_for_the_same_ups(utc: None) -> None:
    ours = fields(status_lines(reading(), DAEMON, NOW))
    theirs = {k: v for k, v in real_apcupsd() if k not in DAEMON_FIELDS | REGISTERS}
    assert {k: v for k, v in ours.items() if k not in DAEMON_FIELDS} == theirs
    assert list(ours) == [k for k, _ in real_apcupsd() if k not in {"APC"} | REGISTERS]


def test_the_codec_rebuilds_apcupsd_s_lines_and_header_byte_for_byte() -> None:
    rows = real_apcupsd()
    lines = [nis.line(key, value) for key, value in rows[1:]]
    text = (FIXTURES / "apcupsd-smart-ups-1500.status").read_text()
    body = "".join(line for line in text.splitlines(True) if not line.startswith("#"))
    assert b"".join(lines) == body.encode("ascii").split(b"\n", 1)[1]
    reply = nis.status_reply(lines)
    assert reply[2:2 + 24] == nis.line(*rows[0])  # APC      : 001,052,1139


def test_the_daemon_s_own_fields(utc: None) -> None:
    ours = fields(status_lines(reading(), DAEMON, NOW))
    assert ours["DATE"] == "2026-12-01 08:40:00 +0000  "  # the driver's last read
    assert ours["STARTTIME"] == "2026-12-01 08:39:01 +0000  "
    assert ours["END APC"] == "2026-12-01 08:40:01 +0000  "
    assert ours["VERSION"] == "3.14.14 (nutpy 0.1.0)"
    assert ours["HOSTNAME"] == "vm" and ours["UPSNAME"] == "su"


def test_stale_data_is_commlost_and_fsd_is_shutting_down() -> None:
    stale = fields(status_lines(reading(fresh=False), DAEMON, NOW))
    assert stale["STATUS"] == "COMMLOST " and stale["STATFLAG"] == "0x05000108"
    assert stale["LINEV"] == "236.1 Volts"  # the last values stay, marked as apcupsd does
    fsd = fields(status_lines(reading(flags=("FSD", "OB", "LB")), DAEMON, NOW))
    assert fsd["STATUS"] == "SHUTTING DOWN" and fsd["STATFLAG"] == "0x05000250"


def test_a_ups_the_store_no_longer_has_is_commlost_with_no_ups_fields() -> None:
    gone = fields(status_lines(Reading("su", {}, (), False, None, PowerStats()), DAEMON, NOW))
    assert gone["STATUS"] == "COMMLOST " and "LINEV" not in gone and "MODEL" not in gone
    assert gone["MBATTCHG"] == "0 Percent" and gone["NUMXFERS"] == "0"


def test_status_words_in_apcupsd_s_order() -> None:
    flags = ("OB", "LB", "RB", "OVER", "TRIM", "BOOST", "CAL", "OL", "CHRG")
    ours = fields(status_lines(reading(flags=flags), DAEMON, NOW))
    assert ours["STATUS"] == "CAL TRIM BOOST ONLINE ONBATT OVERLOAD LOWBATT REPLACEBATT "


def test_on_battery_counters_and_apcupsd_s_own_statflag_bits(utc: None) -> None:
    power = PowerStats(transfers=2, on_battery_since=NOW - 10, cumulative=30.5,
                       last_to_battery=NOW - 10, last_from_battery=NOW - 100)
    values = {**dump(), "battery.charge.low": "50", "battery.charge": "40.0"}
    ours = fields(status_lines(reading(values, ("OB",), power=power), DAEMON, NOW))
    assert ours["NUMXFERS"] == "2"
    assert ours["XONBATT"] == "2026-12-01 08:39:51 +0000  "
    assert ours["TONBATT"] == "10 Seconds" and ours["CUMONBATT"] == "40 Seconds"
    assert ours["XOFFBATT"] == "2026-12-01 08:38:21 +0000  "
    assert ours["MBATTCHG"] == "50 Percent"
    # on battery 0x10, told "on batteries" 0x20000, fast poll 0x40000, charge below
    # MBATTCHG 0x80000, plugged and battery present
    assert ours["STATFLAG"] == "0x050E0010"


def test_the_first_seconds_of_a_power_failure_are_not_yet_on_batteries() -> None:
    power = PowerStats(transfers=1, on_battery_since=NOW - 3, last_to_battery=NOW - 3)
    ours = fields(status_lines(reading(flags=("OB",), power=power), DAEMON, NOW))
    assert ours["STATFLAG"] == "0x05040010"


def test_registers_when_a_driver_publishes_them() -> None:
    values = {**dump(), "experimental.dip_switch": "0A", "experimental.register.1": "08",
              "experimental.register.2": "20", "experimental.register.3": "ff"}
    ours = fields(status_lines(reading(values), DAEMON, NOW))
    assert (ours["DIPSW"], ours["REG1"], ours["REG2"], ours["REG3"]) == (
        "0x0A", "0x08", "0x20", "0xFF")
    # register 2 bit 5: battery disconnected
    assert ours["STATUS"] == "ONLINE NOBATT " and ours["STATFLAG"] == "0x01000008"


def test_fields_appear_only_when_the_ups_has_the_value() -> None:
    ours = fields(status_lines(reading({"ups.status": "OL", "input.voltage": "230"}),
                               DAEMON, NOW))
    assert ours["LINEV"] == "230.0 Volts"
    for absent in ("MODEL", "BCHARGE", "TIMELEFT", "SENSE", "LASTXFER", "SELFTEST",
                   "STESTI", "FIRMWARE", "OUTCURNT", "CABLE", "DRIVER"):
        assert absent not in ours
    for always in ("MBATTCHG", "MINTIMEL", "MAXTIME", "NUMXFERS", "TONBATT", "CUMONBATT",
                   "XOFFBATT", "STATFLAG"):
        assert always in ours


@pytest.mark.parametrize(("name", "value", "field", "shown"), [
    ("input.sensitivity", "L", "SENSE", "Low"),
    ("input.sensitivity", "A", "SENSE", "Auto Adjust"),
    ("input.sensitivity", "Z", "SENSE", "Unknown"),
    ("input.sensitivity", "High", "SENSE", "High"),  # apcupsd reads the first letter
    ("battery.alarm.threshold", "T0", "ALARMDEL", "30 Seconds"),
    ("ups.test.result", "OKAY", "SELFTEST", "OK"),  # the first two letters
    ("ups.temperature", "-5.5", "ITEMP", "-5.5 C"),  # atof keeps the sign
    ("battery.alarm.threshold", "T", "ALARMDEL", "30 Seconds"),
    ("battery.alarm.threshold", "N", "ALARMDEL", "No alarm"),
    ("battery.alarm.threshold", "L", "ALARMDEL", "Low Battery"),
    ("battery.alarm.threshold", "Y", "ALARMDEL", "Always"),
    ("ups.test.result", "OK", "SELFTEST", "OK"),
    ("ups.test.result", "BT", "SELFTEST", "BT"),
    ("ups.test.result", "NG", "SELFTEST", "NG"),
    ("ups.test.result", "XX", "SELFTEST", "NO"),
    ("ups.test.interval", "604800", "STESTI", "168"),
    ("ups.test.interval", "0", "STESTI", "OFF"),
    ("output.current", "09.31", "OUTCURNT", "9.31 Amps"),
    ("ups.delay.shutdown", "090", "DSHUTD", "90 Seconds"),
    ("input.transfer.low", "196.7", "LOTRANS", "196.0 Volts"),  # (int)atof, then ".0"
    ("battery.runtime", "6480", "TIMELEFT", "108.0 Minutes"),
])
def test_formats_and_words(name: str, value: str, field: str, shown: str) -> None:
    ours = fields(status_lines(reading({**dump(), name: value}), DAEMON, NOW))
    assert ours[field] == shown


def test_a_value_that_is_not_a_number_is_left_out() -> None:
    ours = fields(status_lines(reading({**dump(), "input.voltage": "N/A"}), DAEMON, NOW))
    assert "LINEV" not in ours


@pytest.mark.parametrize(("reason", "cause"), [
    ("no transfers yet since turnon", "No transfers since turnon"),
    ("O", "No transfers since turnon"),
    ("simulated power failure or UPS test", "Automatic or explicit self test"),
    ("low utility voltage", "Low line voltage"),
    ("high utility voltage", "High line voltage"),
    ("unacceptable utility voltage rate of change", "Unacceptable line voltage changes"),
    ("line voltage notch or spike", "Line voltage notch or spike"),
    ("K", "Forced by software"),
    ("something new", "UNKNOWN EVENT"),
    ("N", None),  # apcupsd's "not available": no LASTXFER line
    (None, None),
])
def test_last_transfer_causes(reason: str | None, cause: str | None) -> None:
    assert transfer_cause(reason) == cause


def _statflag(values: dict[str, str], power: PowerStats, flags: tuple[str, ...] = ("OB",),
              fresh: bool = True) -> int:
    ours = fields(status_lines(reading(values, flags, fresh=fresh, power=power), DAEMON, NOW))
    return int(ours["STATFLAG"], 16)


def test_statflag_thresholds_on_battery_at_their_boundaries() -> None:
    # apcupsd's own bits (include/defines.h): ONBATT_MSG 0x20000 once on battery for
    # ONBATTDELAY (6 s), FASTPOLL 0x40000, SHUT_LOAD 0x80000 at or below BATTERYLEVEL,
    # SHUT_LTIME 0x200000 at or below MINUTES; PLUGGED 0x1000000, BATTPRESENT 0x4000000.
    base = {"battery.charge.low": "20", "battery.runtime.low": "300"}
    just = PowerStats(transfers=1, on_battery_since=NOW - 6, last_to_battery=NOW - 6)
    early = PowerStats(transfers=1, on_battery_since=NOW - 5.9, last_to_battery=NOW - 5.9)
    ok = {**base, "battery.charge": "20.1", "battery.runtime": "360"}
    assert _statflag(ok, early) == 0x05040010
    assert _statflag(ok, just) == 0x05060010
    at_low = {**base, "battery.charge": "20", "battery.runtime": "300"}
    assert _statflag(at_low, just) == 0x052E0010
    assert _statflag(at_low, early) == 0x05040010  # not yet told: no shutdown bits
    runtime_only = {**base, "battery.charge": "50", "battery.runtime": "300"}
    assert _statflag(runtime_only, just) == 0x05260010  # 5.0 min <= MINUTES 5
    just_above = {**base, "battery.charge": "50", "battery.runtime": "301"}
    assert _statflag(just_above, just) == 0x05060010
    assert _statflag({"battery.charge": "0", "battery.runtime": "0"}, just) == 0x052E0010
    assert _statflag({}, just) == 0x05060010  # nothing to compare: no shutdown bits
    # With no thresholds published, they are 0: half a percent, half a minute is above.
    assert _statflag({"battery.charge": "0.5", "battery.runtime": "3600"}, just) == 0x05060010
    assert _statflag({"battery.charge": "50", "battery.runtime": "30"}, just) == 0x05060010
    assert _statflag({}, PowerStats(), flags=("OL",)) == 0x05000008
    assert _statflag({}, PowerStats(), flags=("OL", "FSD"), fresh=False) == 0x05000308


def test_the_counters_and_dates_of_a_ups_that_never_left_the_mains(utc: None) -> None:
    ours = fields(status_lines(Reading("su", {"driver.name": "apcmicrolink"}, ("OL",), True,
                                       None, PowerStats(cumulative=59.9)), DAEMON, NOW))
    assert ours["DATE"] == ours["END APC"] == "2026-12-01 08:40:01 +0000  "  # never polled
    assert ours["CABLE"] == "Custom Cable Smart" and ours["DRIVER"] == "nutpy apcmicrolink"
    assert "XONBATT" not in ours and ours["XOFFBATT"] == "N/A"
    assert ours["TONBATT"] == "0 Seconds" and ours["CUMONBATT"] == "59 Seconds"
    assert ours["MAXTIME"] == "0 Seconds" and ours["MINTIMEL"] == "0 Minutes"
    assert ours["UPSMODE"] == "" and ours["SHARE"] == ""
    other = fields(status_lines(Reading("su", {"driver.name": "dummy-ups"}, ("OL",), True,
                                        None, PowerStats()), DAEMON, NOW))
    assert "CABLE" not in other and other["DRIVER"] == "nutpy dummy-ups"


def test_thresholds_and_registers_as_apcupsd_prints_them() -> None:
    ours = fields(status_lines(reading({"battery.charge.low": "10.9",
                                        "battery.runtime.low": "179",
                                        "experimental.register.1": "zz",
                                        "ups.test.interval": "1209600",
                                        "battery.runtime": "90"}), DAEMON, NOW))
    assert ours["MBATTCHG"] == "10 Percent" and ours["MINTIMEL"] == "2 Minutes"
    assert ours["DLOWBATT"] == "2 Minutes" and ours["TIMELEFT"] == "1.5 Minutes"
    assert "REG1" not in ours  # not hex: no line
    assert ours["STESTI"] == "336"


def test_register_2_without_bit_5_has_a_battery() -> None:
    ours = fields(status_lines(reading({**dump(), "experimental.register.2": "DF"}),
                               DAEMON, NOW))
    assert ours["STATUS"] == "ONLINE " and ours["STATFLAG"] == "0x05000008"


def test_a_last_transfer_to_battery_without_a_counted_transfer_has_no_date() -> None:
    power = PowerStats(transfers=0, last_to_battery=NOW - 10)
    ours = fields(status_lines(reading(power=power), DAEMON, NOW))
    assert "XONBATT" not in ours
