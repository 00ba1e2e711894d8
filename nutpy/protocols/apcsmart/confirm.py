"""Which status the Smart session may publish: an alert is a hint, not a fact.

UPS-Link has no checksum.  A noise byte equal to an alert character (``!``
on battery, ``%`` low battery) would fake a status until the next poll if it
were believed, and one noise byte in a ``Q`` reply fakes one as well (``08``
read as ``48``: on line, battery low).  upsmon shuts its host down at the
first ``OB LB`` it is served.  So a change of the status flags is published
only when two witnesses agree:

* an alert, and the ``Q`` asked after it bearing it out (``!``: OB set and
  OL clear in the register), which costs one round trip (about 25 ms at
  2400 baud); or
* two ``Q`` readings in a row, for a change no alert announced (TRIM, or a
  noise-changed digit: the second reading does not repeat it).

The first reading of a session has nothing to agree with, so it is read
twice.  A reading that contradicts itself (``18``: on line and on battery)
never gets here: :func:`~nutpy.protocols.apcsmart.status.parse_status`
refuses it.

Low battery has a second witness besides ``Q``'s LB bit: after a ``%`` on
battery, the UPS's own rule for it, its runtime (``j``) at or under its
low-battery warning time (``q``), read in the polls that follow.
"""

from __future__ import annotations

from dataclasses import dataclass

from nutpy.protocols.apcsmart.status import BOOST, CAL, LB, OB, OL, OVER, RB, TRIM, Alert

__all__ = ["CLAIMS", "Claim", "Reading", "StatusGuard"]


@dataclass(frozen=True, slots=True)
class Claim:
    """What an alert says about the register: bits now set, bits now clear."""

    sets: int
    clears: int
    allows: int = 0  # bits that may change along with it (no TRIM on battery)
    requires: int = 0  # bits the register must also show (low battery only on battery)

    def borne_out(self, status: int) -> bool:
        wanted = self.sets | self.requires
        return status & wanted == wanted and not status & self.clears

    @property
    def bits(self) -> int:
        return self.sets | self.clears | self.allows


CLAIMS: dict[Alert, Claim] = {
    Alert.LINE_FAIL: Claim(OB, OL, allows=TRIM | BOOST),
    Alert.LINE_RESTORED: Claim(OL, OB, allows=LB | CAL),
    Alert.LOW_BATTERY: Claim(LB, 0, requires=OB),
    Alert.LOW_BATTERY_CLEARED: Claim(0, LB),
    Alert.REPLACE_BATTERY: Claim(RB, 0),
    Alert.ABNORMAL: Claim(OVER, 0),
    Alert.ABNORMAL_CLEARED: Claim(0, OVER),
}


@dataclass(frozen=True, slots=True)
class Reading:
    """What one ``Q`` reading did: ask again?  What did it leave unconfirmed?"""

    again: bool
    not_borne_out: tuple[Alert, ...] = ()  # alerts it was asked for
    not_repeated: int | None = None  # the reading before it, a change it did not repeat


class StatusGuard:
    """The confirmed register, and the alerts and the reading awaiting a second witness.

    The session calls :meth:`alert` for each alert byte, :meth:`asking` as it
    sends ``Q``, :meth:`reading` with each ``Q`` reply that parsed, and
    :meth:`battery` after each poll; it publishes :attr:`status`.
    """

    def __init__(self) -> None:
        self.confirmed: int | None = None  # the register as two witnesses agree it is
        self._heard: list[Alert] = []  # alerts since the last Q was sent
        self._asked: list[Alert] = []  # alerts the Q under way (or the next) may bear out
        self._candidate: int | None = None  # the last reading, if it was not confirmed
        self._low_hint = False  # a % on battery that Q's LB bit did not bear out
        self._low_by_runtime = False

    @property
    def wanted(self) -> bool:
        """Whether alerts came that no ``Q`` has been sent for yet: ask now."""
        return bool(self._heard)

    @property
    def status(self) -> int | None:
        """The register to publish (None: none confirmed yet)."""
        if self.confirmed is None:
            return None
        return self.confirmed | (LB if self._low_by_runtime else 0)

    def alert(self, alert: Alert) -> bool:
        """An alert byte: True if it claims a change, to be put to ``Q``."""
        claim = CLAIMS.get(alert)
        if claim is None or (self.confirmed is not None and claim.borne_out(self.confirmed)):
            return False
        self._heard.append(alert)
        return True

    def asking(self) -> None:
        """A ``Q`` is sent: it bears out (or not) the alerts heard before it."""
        self._asked += self._heard
        self._heard.clear()

    def reading(self, register: int) -> Reading:
        """A ``Q`` reply that parsed.  (A garbled one is no reading: the alerts it
        was asked for wait for the next ``Q``.)"""
        alerts, self._asked = self._asked, []
        confirmed, candidate = self.confirmed, self._candidate
        unexplained = 0
        if register in (confirmed, candidate):  # no change, or its second witness
            self._confirm(register)
        elif confirmed is None:
            self._candidate = register
            return Reading(True, not_repeated=candidate)
        else:
            changed = register ^ confirmed
            explained = 0
            for alert in alerts:
                claim = CLAIMS[alert]
                if claim.borne_out(register):
                    explained |= claim.bits & changed
            unexplained = changed & ~explained
            self._confirm(confirmed ^ explained)
            self._candidate = register if unexplained else None
        if Alert.LOW_BATTERY in alerts and register & OB and not register & LB:
            self._low_hint = True  # the runtime may bear it out: see battery()
        return Reading(bool(unexplained), tuple(
            a for a in alerts if not CLAIMS[a].borne_out(register)
            and not (a is Alert.LOW_BATTERY and self._low_hint)),
            None if candidate == register else candidate)

    def battery(self, runtime: float | None, low: float | None) -> None:
        """The latest runtime and low-battery warning time (seconds), after a poll."""
        status = self.confirmed or 0
        self._low_by_runtime = (self._low_hint and bool(status & OB) and runtime is not None
                                and low is not None and runtime <= low)

    def _confirm(self, register: int) -> None:
        self.confirmed, self._candidate = register, None
        if not register & OB:
            self._low_hint = self._low_by_runtime = False
