"""The event log's reading of the feed: what a power cut, a stale line or a command becomes."""

from __future__ import annotations

from nutpy.history.chronicle import Chronicle, Entry, Kind, describe_duration
from nutpy.store import (
    Availability,
    AvailabilityChanged,
    CommandFinished,
    FsdSet,
    InstCmd,
    Killpower,
    Origin,
    Result,
    SetVar,
    StatusChanged,
    UpsRemoved,
    VariableChanged,
)

OK, STALE, GONE = (Availability.OK, Availability.DATA_STALE,
                   Availability.DRIVER_NOT_CONNECTED)


def kinds(entries: list[Entry]) -> list[Kind]:
    return [e.kind for e in entries]


def test_a_power_cut_and_its_duration() -> None:
    c = Chronicle()
    assert c.feed(StatusChanged("u", 10.0, (), ("OL",))) == []
    failure = c.feed(StatusChanged("u", 100.0, ("OL",), ("OB", "DISCHRG")))
    assert failure == [Entry(100.0, "u", Kind.POWER_FAILURE,
                             "Power failure: the UPS is running on battery")]
    assert c.power("u").on_battery_for(160.0) == 60.0
    low = c.feed(StatusChanged("u", 200.0, ("OB",), ("OB", "LB")))
    assert kinds(low) == [Kind.LOW_BATTERY]
    restored = c.feed(StatusChanged("u", 225.0, ("OB", "LB"), ("OL", "CHRG")))
    assert restored == [
        Entry(225.0, "u", Kind.POWER_RESTORED, "Power restored after 2 min 5 s on battery",
              {"seconds": "125"}),
        Entry(225.0, "u", Kind.LOW_BATTERY_CLEARED, "Battery no longer low")]
    stats = c.power("U")  # names fold case, as UPS names do
    assert (stats.transfers, stats.last_to_battery, stats.last_from_battery) == (1, 100.0, 225.0)
    assert stats.total(1000.0) == 125.0 and stats.on_battery_for(1000.0) == 0.0


def test_a_lost_driver_is_not_a_power_event() -> None:
    c = Chronicle()
    c.feed(StatusChanged("u", 1.0, (), ("OB",)))
    assert c.feed(StatusChanged("u", 2.0, ("OB",), ())) == []  # driver gone: nothing known
    assert c.feed(StatusChanged("u", 3.0, (), ("OB",))) == []  # back, still on battery
    assert c.power("u").transfers == 1


def test_communication_lost_and_restored_but_not_the_first_contact() -> None:
    c = Chronicle()
    assert c.feed(AvailabilityChanged("u", 1.0, GONE, OK)) == []
    lost = c.feed(AvailabilityChanged("u", 5.0, OK, STALE))
    assert lost == [Entry(5.0, "u", Kind.COMM_LOST,
                          "Communication with the UPS lost (data stale)",
                          {"availability": "DATA-STALE"})]
    assert c.feed(AvailabilityChanged("u", 6.0, STALE, GONE)) == []  # still lost
    assert kinds(c.feed(AvailabilityChanged("u", 9.0, GONE, OK))) == [Kind.COMM_RESTORED]


def test_fsd_self_test_and_other_flags() -> None:
    c = Chronicle()
    assert kinds(c.feed(FsdSet("u", 1.0))) == [Kind.FSD]
    assert c.feed(VariableChanged("u", 1.0, "ups.test.result", None, "NO")) == []  # at start
    test = c.feed(VariableChanged("u", 2.0, "ups.test.result", "NO", "Passed"))
    assert test == [Entry(2.0, "u", Kind.SELF_TEST, "Self-test result: Passed",
                          {"result": "Passed"})]
    assert c.feed(VariableChanged("u", 3.0, "battery.charge", "99", "100")) == []
    assert kinds(c.feed(StatusChanged("u", 4.0, (), ("OL", "RB", "OVER")))) == [
        Kind.REPLACE_BATTERY, Kind.OVERLOAD]


def test_commands_and_settings_say_who_from_where() -> None:
    c = Chronicle()
    origin = Origin("admin", "10.0.0.2", "nut")
    command = c.feed(CommandFinished("u", 1.0, InstCmd("load.off", None, origin=origin),
                                     Result.SUCCESS))
    assert command == [Entry(1.0, "u", Kind.COMMAND,
                             "Command load.off by admin from 10.0.0.2: done",
                             {"command": "load.off", "param": "", "user": "admin",
                              "address": "10.0.0.2", "result": "SUCCESS"})]
    setting = c.feed(CommandFinished("u", 2.0, SetVar("input.transfer.low", "200"),
                                     Result.FAILED))
    assert setting[0].message == "Setting input.transfer.low = 200: failed"
    assert setting[0].details["user"] == ""


def test_durations_read_naturally() -> None:
    assert describe_duration(5) == "5 s"
    assert describe_duration(125.4) == "2 min 5 s"
    assert describe_duration(3600) == "1 h 0 min 0 s"


def test_killpower_anonymous_clients_parameters_and_the_server() -> None:
    c = Chronicle()
    anonymous = Origin(None, "127.0.0.1", "http")
    entry, = c.feed(CommandFinished("u", 1.0, InstCmd("shutdown.return", "at:5",
                                                      origin=anonymous), Result.INVALID))
    assert entry.message == ("Command shutdown.return at:5 by an anonymous client from "
                             "127.0.0.1: invalid")
    assert entry.details == {"command": "shutdown.return", "param": "at:5", "user": "",
                             "address": "127.0.0.1", "result": "INVALID"}
    kill, = c.feed(CommandFinished("u", 2.0, Killpower(origin=Origin("root", "local",
                                                                     "control")),
                                   Result.SUCCESS))
    assert kill == Entry(2.0, "u", Kind.KILLPOWER, "Killpower by root from local: done",
                         {"user": "root", "address": "local", "result": "SUCCESS"})
    unknown, = c.feed(CommandFinished("u", 3.0, Killpower(), Result.UNKNOWN))
    assert (unknown.message, unknown.details) == (
        "Killpower: unknown", {"user": "", "address": "", "result": "UNKNOWN"})
    assert c.server(True, 5.0) == Entry(5.0, None, Kind.SERVER_START, "Server started")
    assert c.server(False, 6.0) == Entry(6.0, None, Kind.SERVER_STOP, "Server stopped")


def test_what_is_no_news() -> None:
    c = Chronicle()
    c.feed(StatusChanged("u", 1.0, (), ("OL", "RB", "OVER")))
    assert c.feed(StatusChanged("u", 2.0, ("OL", "RB", "OVER"), ("OL",))) == []  # cleared
    assert c.feed(VariableChanged("u", 3.0, "UPS.Test.Result", "NO", "")) == []  # emptied
    assert kinds(c.feed(VariableChanged("u", 3.0, "UPS.Test.Result", "NO", "OK"))) == [
        Kind.SELF_TEST]
    assert c.feed(FsdSet("u", 4.0))[0].message == \
        "Forced shutdown (FSD): clients are shutting down"
    gone = c.feed(AvailabilityChanged("u", 5.0, GONE, OK))
    assert gone == []
    lost, = c.feed(AvailabilityChanged("u", 6.0, OK, GONE))
    assert (lost.message, lost.details) == (
        "Communication with the UPS lost (driver not connected)",
        {"availability": "DRIVER-NOT-CONNECTED"})


def test_a_removed_ups_is_forgotten() -> None:
    c = Chronicle()
    c.feed(StatusChanged("u", 1.0, (), ("OB",)))
    assert c.power("u").transfers == 1
    assert c.feed(UpsRemoved("U", 2.0)) == []
    assert c.power("u").transfers == 0 and c.power("u").on_battery_since is None
    assert kinds(c.feed(StatusChanged("u", 3.0, (), ("OB",)))) == [Kind.POWER_FAILURE]


def test_durations_at_the_unit_boundaries() -> None:
    assert describe_duration(0) == "0 s"
    assert describe_duration(59.4) == "59 s"
    assert describe_duration(59.6) == "1 min 0 s"
    assert describe_duration(3599) == "59 min 59 s"
    assert describe_duration(3661) == "1 h 1 min 1 s"
    assert describe_duration(7200) == "2 h 0 min 0 s"
