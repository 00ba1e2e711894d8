"""LinkHealth: a failing UPS is stale at once and logged once, not on every retry."""

from __future__ import annotations

import logging

import pytest

from nutpy.drivers.base import REPORT_EVERY, LinkHealth
from nutpy.store import Availability, Store

log = logging.getLogger("test.health")


def lines(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [rec.getMessage() for rec in caplog.records if rec.levelno == level]


def test_stale_at_once_fresh_again() -> None:
    ups = Store().add("u")
    health = LinkHealth("u", log)
    health.lost(ups, "/dev/ttyS0: [Errno 2] No such file or directory", now=0.0)
    assert ups.availability(0.0) is Availability.DATA_STALE  # not DRIVER-NOT-CONNECTED
    health.fresh(ups, now=5.0)
    assert ups.availability(5.0) is Availability.OK
    assert health.down_since is None


def test_an_hour_out_is_a_handful_of_lines(caplog: pytest.LogCaptureFixture) -> None:
    """A retry every 2 s for an hour: NUT would log 1800 lines; this logs 7."""
    caplog.set_level(logging.DEBUG, "test.health")
    ups = Store().add("u")
    health = LinkHealth("u", log)
    for step in range(1800):
        health.lost(ups, f"/dev/ttyS0: attempt {step}", now=step * 2.0)
    health.fresh(ups, now=3600.0)
    warnings = lines(caplog, logging.WARNING)
    assert warnings[0] == "[u] /dev/ttyS0: attempt 0; data stale until it answers again"
    assert warnings[1:] == [f"[u] still failing after {t} s (attempts: {t // 2 + 1}): "
                            f"/dev/ttyS0: attempt {t // 2}"
                            for t in range(600, 3600, int(REPORT_EVERY))]
    assert lines(caplog, logging.INFO) == ["[u] answering again after 3600 s "
                                           "(failed attempts: 1800)"]
    assert len(lines(caplog, logging.DEBUG)) == 1800 - len(warnings)


def test_a_flapping_line_is_summed_up(caplog: pytest.LogCaptureFixture) -> None:
    """Down for 3 s every 10 s for 30 minutes: 180 outages, 15 warnings."""
    caplog.set_level(logging.INFO, "test.health")
    ups = Store().add("u")
    health = LinkHealth("u", log)
    for cycle in range(180):
        start = cycle * 10.0
        health.lost(ups, "no reply to Q", now=start)
        health.lost(ups, "no SM in reply to Y", now=start + 2)
        health.fresh(ups, now=start + 3)
    first = "[u] no reply to Q; data stale until it answers again"
    burst = [first + " (55 short outages not logged before this one)"] + [first] * 4
    assert lines(caplog, logging.WARNING) == [first] * 5 + burst + burst
    assert lines(caplog, logging.INFO) == [
        "[u] answering again after 3 s (failed attempts: 2)"] * 15


def test_an_outage_muted_at_first_is_named_later(caplog: pytest.LogCaptureFixture) -> None:
    """An outage that starts once the warnings are spent is logged when they allow."""
    caplog.set_level(logging.INFO, "test.health")
    ups = Store().add("u")
    health = LinkHealth("u", log)
    for t in range(5):
        health.lost(ups, "no reply to Q", now=float(t))
        health.fresh(ups, now=t + 0.5)
    for t in range(10, 1300, 2):  # a long outage, starting with no warning left
        health.lost(ups, "end of file on the port", now=float(t))
    health.fresh(ups, now=1300.0)
    assert lines(caplog, logging.WARNING) == [
        "[u] no reply to Q; data stale until it answers again"] * 5 + [
        "[u] still failing after 590 s (attempts: 296): end of file on the port",
        "[u] still failing after 1190 s (attempts: 596): end of file on the port"]
    assert lines(caplog, logging.INFO)[5:] == [
        "[u] answering again after 1290 s (failed attempts: 645)"]
