"""The event log in apcupsd's words (src/action.c), as its ``events`` answer holds them."""

from __future__ import annotations

import pytest

from nutpy.frontends.nis.events import event_lines
from nutpy.history.chronicle import Chronicle, Entry, Kind, PowerStats
from nutpy.store import Availability

T = 1796114401.0  # 2026-12-01 08:40:01 UTC
pytestmark = pytest.mark.usefixtures("utc")


def messages(entries: list[Entry], power: PowerStats, now: float) -> list[str]:
    return [line.decode("ascii") for line in event_lines(entries, power, now, "0.1.0")]


def outage(seconds: float, now: float) -> tuple[list[Entry], PowerStats]:
    """What the chronicle writes for an outage of ``seconds`` (on line again at the end)."""
    chronicle = Chronicle()
    entries = [chronicle.server(True, T - 60),
               *chronicle.observe_availability("su", Availability.OK, T - 59),
               *chronicle.observe_flags("su", ("OL",), T - 59),
               *chronicle.observe_flags("su", ("OB",), T)]
    if seconds < now - T:
        entries += chronicle.observe_flags("su", ("OL",), T + seconds)
    return entries, chronicle.power("su")


def test_a_power_failure_then_on_batteries_after_six_seconds_then_mains_back() -> None:
    entries, power = outage(14, T + 20)
    assert messages(entries, power, T + 20) == [
        "2026-12-01 08:39:01 +0000  nutpy 0.1.0 startup succeeded\n",
        "2026-12-01 08:40:01 +0000  Power failure.\n",
        "2026-12-01 08:40:07 +0000  Running on UPS batteries.\n",
        "2026-12-01 08:40:15 +0000  Mains returned. No longer on UPS batteries.\n",
        "2026-12-01 08:40:15 +0000  Power is back. UPS running on mains.\n",
    ]


def test_still_on_battery() -> None:
    entries, power = outage(1000, T + 5)
    assert [m[27:] for m in messages(entries, power, T + 5)][1:] == ["Power failure.\n"]
    assert [m[27:] for m in messages(entries, power, T + 7)][1:] == [
        "Power failure.\n", "Running on UPS batteries.\n"]


def test_a_short_outage_is_never_on_batteries() -> None:
    entries, power = outage(3, T + 30)
    assert [m[27:] for m in messages(entries, power, T + 30)][1:] == [
        "Power failure.\n", "Power is back. UPS running on mains.\n"]


def test_an_outage_whose_start_is_older_than_the_entries_at_hand() -> None:
    end = Entry(T, "su", Kind.POWER_RESTORED, "Power restored after 1 min 0 s on battery",
                {"seconds": "60"})
    assert [m[27:] for m in messages([end], PowerStats(), T)] == [
        "Mains returned. No longer on UPS batteries.\n",
        "Power is back. UPS running on mains.\n"]


@pytest.mark.parametrize(("entry", "words"), [
    (Entry(T, "su", Kind.LOW_BATTERY, "Low battery"), "Battery power exhausted."),
    (Entry(T, "su", Kind.REPLACE_BATTERY, "x"), "UPS battery must be replaced."),
    (Entry(T, "su", Kind.FSD, "x"), "Remote shutdown requested."),
    (Entry(T, "su", Kind.COMM_LOST, "x"), "Communications with UPS lost."),
    (Entry(T, "su", Kind.COMM_RESTORED, "x"), "Communications with UPS restored."),
    (Entry(T, "su", Kind.SELF_TEST, "x", {"result": "OK"}),
     "UPS Self Test completed: Battery OK"),
    (Entry(T, "su", Kind.SELF_TEST, "x", {"result": "BT"}),
     "UPS Self Test completed: Test failed -- insufficient battery capacity"),
    (Entry(T, "su", Kind.SELF_TEST, "x", {"result": "NG"}),
     "UPS Self Test completed: Test failed -- battery overloaded"),
    (Entry(T, "su", Kind.SELF_TEST, "x", {"result": "NO"}),
     "UPS Self Test completed: No test results available"),
    (Entry(T, "su", Kind.SELF_TEST, "x", {"result": "Passed"}),
     "UPS Self Test completed: No test results available"),
    (Entry(T, "su", Kind.SELF_TEST, "x"), "UPS Self Test completed: No test results available"),
    (Entry(T, None, Kind.SERVER_STOP, "Server stopped"), "nutpy shutdown succeeded"),
    (Entry(T, "su", Kind.OVERLOAD, "Overload: the UPS output is overloaded."),
     "Overload: the UPS output is overloaded."),  # already a sentence: no second dot
    (Entry(T, "su", Kind.COMMAND, "Command beeper.off by admin from ::1: done"),
     "Command beeper.off by admin from ::1: done."),
])
def test_apcupsd_s_words_or_the_chronicle_s_own(entry: Entry, words: str) -> None:
    assert messages([entry], PowerStats(), T) == [f"2026-12-01 08:40:01 +0000  {words}\n"]


def test_the_last_fifty_lines_oldest_first() -> None:
    entries = [Entry(T + i, "su", Kind.COMM_LOST if i % 2 else Kind.COMM_RESTORED, "x")
               for i in range(80)]
    lines = messages(entries, PowerStats(), T + 100)
    assert len(lines) == 50  # apcupsd sends the last 50 lines of its events file
    assert lines[0].startswith("2026-12-01 08:40:31") and lines[-1].startswith(
        "2026-12-01 08:41:20")


def test_a_long_message_fits_one_record() -> None:
    entry = Entry(T, "su", Kind.COMMAND, "Command " + "x" * 400)
    (line,) = event_lines([entry], PowerStats(), T, "0.1.0")
    assert len(line) == 255 and line.endswith(b"x\n")


def test_on_batteries_from_exactly_six_seconds() -> None:
    for seconds, confirmed in ((6.0, True), (5.9, False)):
        entries, power = outage(seconds, T + 30)
        texts = [m[27:] for m in messages(entries, power, T + 30)][1:]
        assert ("Running on UPS batteries.\n" in texts) is confirmed, seconds
        assert ("Mains returned. No longer on UPS batteries.\n" in texts) is confirmed
    entries, power = outage(1000, T + 6)
    assert messages(entries, power, T + 6)[-1][27:] == "Running on UPS batteries.\n"
    assert messages(entries, power, T + 5.9)[-1][27:] == "Power failure.\n"


def test_lines_of_one_moment_keep_their_order() -> None:
    entries = [Entry(T, "su", Kind.COMM_RESTORED, "x"), Entry(T, "su", Kind.COMM_LOST, "x"),
               Entry(T - 1, "su", Kind.FSD, "x")]
    assert [m[27:] for m in messages(entries, PowerStats(), T)] == [
        "Remote shutdown requested.\n", "Communications with UPS restored.\n",
        "Communications with UPS lost.\n"]
