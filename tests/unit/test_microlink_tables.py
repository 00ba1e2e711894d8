"""NUT apcmicrolink's label tables, whole, against NUT's own.

The tables are copied from NUT's drivers/apcmicrolink-maps.c (2026: outlet
status and its change cause, output voltage setting, display language,
battery test interval, battery lifetime, transfer reason) and, for the maps
it shares with the other APC drivers (test and calibration results, input
quality, efficiency, countdowns), from /work/shared/spec/apc-microlink.md §5.
The fixture-driven tests check the labels its dump happens to set; these
check every bit and every value.
"""

from __future__ import annotations

import pytest

from nutpy.protocols.apcmicrolink.variables import VARIABLES, VarSpec, format_value

OUTLET_STATUS = {0: "StateOn", 1: "StateOff", 2: "ProcessReboot", 3: "ProcessShutdown",
                 4: "ProcessSleep", 7: "PendingLoadShed", 8: "PendingOnDelay",
                 9: "PendingOffDelay", 10: "PendingOnACPresence", 11: "PendingOnMinRuntime",
                 12: "MemberGroupProcess1", 13: "MemberGroupProcess2", 14: "LowRuntime"}
OUTLET_CAUSE = {0: "SystemInitialization", 1: "UPSStatusChange", 2: "LocalUserCommand",
                3: "USBPortCommand", 4: "SmartSlot1Command", 5: "LoadShedCommand",
                6: "RJ45PortCommand", 7: "ACInputBad", 8: "UnknownCommand",
                9: "ConfigurationChange", 10: "SmartSlot2Command",
                11: "InternalNetwork1Command", 12: "InternalNetwork2Command",
                13: "LowRuntimeSet", 14: "LowRuntimeClear", 15: "ScheduledCommand",
                16: "LoadRebootCommand", 17: "InputContactCommand"}
VOLTAGE_SETTING = {0: "VAC100", 1: "VAC120", 2: "VAC200", 3: "VAC208", 4: "VAC220",
                   5: "VAC230", 6: "VAC240", 7: "VAC220_380", 8: "VAC230_400",
                   9: "VAC240_415", 10: "VAC277_480", 11: "VAC110", 12: "VAC127",
                   13: "VACAuto120_208or240", 14: "VAC120_208", 15: "VAC120_240",
                   16: "VAC100_200", 17: "VAC254_440", 18: "VAC115", 19: "VAC125"}
LANGUAGE = {0: "en", 1: "fr", 2: "it", 3: "de", 4: "es", 5: "pt", 6: "ja", 7: "ru"}
TEST_INTERVAL = {0: "Never", 1: "OnStartUpOnly", 2: "OnStartUpPlus7", 3: "OnStartUpPlus14",
                 4: "OnStartUp7Since", 5: "OnStartUp14Since"}
LIFETIME = {0: "LifeTimeStatusOK", 1: "LifeTimeNearEnd", 2: "LifeTimeExceeded",
            3: "LifeTimeNearEndAcknowledged", 4: "LifeTimeExceededAcknowledged",
            5: "MeasuredLifeTimeNearEnd", 6: "MeasuredLifeTimeNearEndAcknowledged"}
TRANSFER_REASON = [
    "SystemInitialization", "HighInputVoltage", "LowInputVoltage", "DistortedInput",
    "RapidChangeOfInputVoltage", "HighInputFrequency", "LowInputFrequency",
    "FreqAndOrPhaseDifference", "AcceptableInput", "AutomaticTest", "TestEnded",
    "LocalUICommand", "ProtocolCommand", "LowBatteryVoltage", "GeneralError",
    "PowerSystemError", "BatterySystemError", "ErrorCleared", "AutomaticRestart",
    "DistortedInverterOutput", "InverterOutputAcceptable", "EPOInterface",
    "InputPhaseDeltaOutOfRange", "InputNeutralNotConnected", "ATSTransfer",
    "ConfigurationChange", "AlertAsserted", "AlertCleared", "PlugRatingExceeded",
    "OutletGroupStateChange", "FailureBypassExpired", "InternalCommand", "USBCommand",
    "SmartSlot1Command", "InternalNetwork1Command", "FollowingSystemController"]
# Spec §5 (apc_common's maps): bit -> label.
TEST_RESULT = {0: "Pending", 1: "InProgress", 2: "Passed", 3: "Failed", 4: "Refused",
               5: "Aborted", 7: "LocalUser", 8: "Internal", 9: "InvalidState",
               10: "InternalFault", 11: "StateOfChargeNotAcceptable"}
CAL_RESULT = {0: "Pending", 1: "InProgress", 2: "Passed", 3: "Failed", 4: "Refused",
              5: "Aborted", 9: "InvalidState", 10: "InternalFault",
              11: "StateOfChargeNotAcceptable", 12: "LoadChange", 13: "ACInputNotAcceptable",
              14: "LoadTooLow", 15: "OverChargeInProgress"}
INPUT_QUALITY = {0: "Acceptable", 1: "PendingAcceptable", 2: "VoltageTooLow",
                 3: "VoltageTooHigh", 4: "Distorted", 5: "BOOST", 6: "TRIM",
                 7: "FrequencyTooLow", 8: "FrequencyTooHigh", 9: "FreqAndPhaseNotLocked",
                 10: "PhaseDeltaOutOfRange", 11: "NeutralNotConnected", 12: "NotAcceptable",
                 13: "PlugRatingExceeded", 14: "PhaseBotAcceptable", 15: "PoweringLoad"}
EFFICIENCY = {-1: "NotAvailable", -2: "LoadTooLow", -3: "OutputOff", -4: "OnBattery",
              -5: "InBypass", -6: "BatteryCharging", -7: "PoorACInput",
              -8: "BatteryDisconnected"}


def spec(name: str) -> VarSpec:
    return next(s for s in VARIABLES if s.name == name)


@pytest.mark.parametrize(("name", "table"), [
    ("outlet.group.0.status", OUTLET_STATUS), ("outlet.group.{n}.status", OUTLET_STATUS),
    ("experimental.outlet.group.0.status.cause", OUTLET_CAUSE),
    ("experimental.outlet.group.{n}.status.cause", OUTLET_CAUSE),
    ("experimental.output.voltage.setting", VOLTAGE_SETTING),
    ("battery.lifetime.status", LIFETIME), ("ups.test.result", TEST_RESULT),
    ("experimental.battery.test.result", TEST_RESULT),
    ("experimental.ups.calibration.result", CAL_RESULT), ("input.quality", INPUT_QUALITY)])
def test_every_bit_of_a_bit_field_has_nuts_label(name: str, table: dict[int, str]) -> None:
    field = spec(name)
    for bit in range(32):
        shown = format_value(field, (1 << bit).to_bytes(4, "big"))
        assert shown == table.get(bit, f"0x{1 << bit:08X}"), (name, bit)
    every = sum(1 << bit for bit in table)
    assert format_value(field, every.to_bytes(4, "big")) == " ".join(
        table[bit] for bit in sorted(table))


@pytest.mark.parametrize(("name", "table"), [
    ("ups.display.language", LANGUAGE), ("ups.test.interval", TEST_INTERVAL)])
def test_every_value_of_a_single_bit_enum_has_nuts_label(name: str,
                                                          table: dict[int, str]) -> None:
    field = spec(name)
    for bit in range(15):
        assert format_value(field, (1 << bit).to_bytes(2, "big")) == \
            table.get(bit, str(1 << bit)), (name, bit)


def test_every_transfer_reason_and_the_results_with_nothing_set() -> None:
    field = spec("input.transfer.reason")
    for value, reason in enumerate(TRANSFER_REASON):
        assert format_value(field, value.to_bytes(2, "big")) == reason
    assert format_value(field, (36).to_bytes(2, "big")) == "36"
    assert format_value(field, b"\xff\xff") == "-1"
    for name in ("ups.test.result", "experimental.battery.test.result",
                 "experimental.ups.calibration.result"):
        assert format_value(spec(name), b"\0\0") == "None"
    assert format_value(spec("input.quality"), b"\0\0") == "0x0000"


def test_efficiency_countdowns_and_transfer_delay_special_values() -> None:
    efficiency = spec("ups.efficiency")
    for value, label in EFFICIENCY.items():
        assert format_value(efficiency, value.to_bytes(2, "big", signed=True)) == label
    assert format_value(efficiency, (96 << 7).to_bytes(2, "big")) == "96"
    for name in ("outlet.group.{n}.timer.shutdown", "outlet.group.{n}.timer.reboot",
                 "outlet.group.{n}.timer.start"):
        assert format_value(spec(name), b"\xff\xff") == "NotActive"
        assert format_value(spec(name), b"\0\0") == "CountdownExpired"
        assert format_value(spec(name), b"\0\x05") == "5"
    for name in ("outlet.group.0.delay.shutdown", "outlet.group.0.delay.reboot",
                 "outlet.group.0.delay.start", "outlet.group.{n}.delay.shutdown",
                 "outlet.group.{n}.delay.reboot", "outlet.group.{n}.delay.start"):
        assert format_value(spec(name), b"\xff\xff") == "Disabled"
        assert format_value(spec(name), b"\0\x5a") == "90"
    delay = spec("input.transfer.delay")
    assert format_value(delay, b"\0\0") == "NoDelay"
    assert format_value(delay, b"\0\x02") == "2"
