"""The Smart status guard on its own: which alerts it puts to Q, and what each Q
reading leaves confirmed, unconfirmed or awaiting its second witness."""

from __future__ import annotations

from nutpy.protocols.apcsmart.confirm import Reading, StatusGuard
from nutpy.protocols.apcsmart.status import LB, OB, OL, TRIM, Alert


def _confirmed(register: int) -> StatusGuard:
    """A guard whose first reading was read twice, as a session starts."""
    guard = StatusGuard()
    guard.reading(register)
    guard.reading(register)
    assert guard.status == register
    return guard


def test_only_an_alert_that_claims_a_change_is_put_to_q() -> None:
    guard = _confirmed(OL)
    assert guard.alert(Alert.EEPROM_CHANGED) is False  # claims nothing about the register
    assert guard.alert(Alert.LINE_RESTORED) is False  # already so: nothing to confirm
    assert not guard.wanted
    assert guard.alert(Alert.LINE_FAIL) is True
    assert guard.wanted
    guard.asking()
    assert not guard.wanted  # the Q under way answers for it


def test_the_first_readings_of_a_session_say_what_they_did_not_repeat() -> None:
    guard = StatusGuard()
    assert guard.reading(OL) == Reading(True, (), None)
    assert guard.status is None
    assert guard.reading(OL | TRIM) == Reading(True, (), OL)  # OL was not read twice
    assert guard.status is None
    assert guard.reading(OL | TRIM) == Reading(False, (), None)  # the second witness
    assert guard.status == OL | TRIM


def test_a_change_an_alert_explains_leaves_no_candidate_behind() -> None:
    guard = _confirmed(OL)
    guard.alert(Alert.LINE_FAIL)
    guard.asking()
    assert guard.reading(OB) == Reading(False, (), None)
    assert guard.status == OB
    # A change no alert announced next: its first reading awaits a second, and
    # there is no earlier candidate it failed to repeat.
    assert guard.reading(OB | LB) == Reading(True, (), None)
    assert guard.status == OB
    assert guard.reading(OB | LB) == Reading(False, (), None)
    assert guard.status == OB | LB


def test_an_alert_q_does_not_bear_out_is_named() -> None:
    guard = _confirmed(OL)
    guard.alert(Alert.LINE_FAIL)
    guard.asking()
    assert guard.reading(OL) == Reading(False, (Alert.LINE_FAIL,), None)
    assert guard.status == OL


def test_low_battery_by_runtime_needs_the_battery_itself_confirmed() -> None:
    # A % alert with a Q that shows OB but no LB: the runtime may bear it out,
    # but only once on-battery is itself confirmed.
    guard = _confirmed(OL)
    guard.alert(Alert.LOW_BATTERY)
    guard.asking()
    assert guard.reading(OB) == Reading(True, (), None)  # OB unannounced: not yet confirmed
    assert guard.status == OL
    guard.battery(runtime=60, low=120)
    assert guard.status == OL  # on line as far as anyone knows: no LB from the runtime
    guard.reading(OB)  # the second witness of OB
    guard.battery(runtime=60, low=120)
    assert guard.status == OB | LB
    guard.battery(runtime=121, low=120)
    assert guard.status == OB
