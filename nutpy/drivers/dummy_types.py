"""Types that NUT's dummy-ups gives the variables it knows.

dummy-ups marks every variable it publishes writable; the ones it knows as
strings get a maximum length, the ones it knows as numbers get none, and the
ones it does not know at all become strings of up to 32 characters.  These are
facts about dummy-ups's behaviour, kept so ``GET TYPE`` answers the same.
"""

from __future__ import annotations

UNKNOWN_STRING_LENGTH = 32

# variable -> maximum length; None means a number
_STRINGS_32 = "ups.mfr ups.model ups.status ups.serial ups.alarm"
_STRINGS_16 = ("ups.time ups.date ups.mfr.date ups.firmware ups.firmware.aux "
               "ups.id ups.test.result")
_STRINGS_6 = "input.quality"
_STRINGS_1 = "input.transfer.reason input.sensitivity"
_NUMBERS = (
    "ups.load ups.temperature ups.delay.start ups.delay.reboot "
    "ups.delay.shutdown ups.test.interval "
    "input.voltage input.voltage.maximum input.voltage.minimum "
    "input.voltage.nominal input.transfer.low input.transfer.high "
    "input.frequency input.transfer.boost.low input.transfer.boost.high "
    "input.transfer.trim.low input.transfer.trim.high "
    "output.voltage output.frequency output.current "
    "battery.charge battery.charge.low battery.voltage battery.current "
    "battery.runtime battery.runtime.low battery.charge.restart "
    "battery.temperature battery.voltage.nominal "
    "ambient.temperature ambient.temperature.alarm ambient.temperature.high "
    "ambient.temperature.low ambient.humidity ambient.humidity.alarm "
    "ambient.humidity.high ambient.humidity.low"
)

KNOWN: dict[str, int | None] = {
    **{name: None for name in _NUMBERS.split()},
    **{name: 1 for name in _STRINGS_1.split()},
    **{name: 6 for name in _STRINGS_6.split()},
    **{name: 16 for name in _STRINGS_16.split()},
    **{name: 32 for name in _STRINGS_32.split()},
}


def string_length(name: str) -> int | None:
    """Maximum length if dummy-ups treats ``name`` as a string, else None."""
    key = name.lower()
    return KNOWN.get(key, UNKNOWN_STRING_LENGTH)
