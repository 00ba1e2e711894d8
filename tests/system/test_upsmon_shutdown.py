"""A whole power cut, with Debian's real upsmon on three hosts: one primary, two secondaries.

Every scenario runs twice at the same time, on two identical simulated
Smart-UPSes: once with nutpy, once with NUT's own upsd + apcsmart (the
reference).  Each prints its timeline, asserts what upsmon must have done,
and checks that the two timelines agree.  The Microlink driver, which NUT
2.8.0 does not have, runs the full sequence and the pulled cable alone, and
nutpy alone runs the line noise on mains (30 s here; ``make soak`` runs it
for 10 minutes with ``NUTPY_NOISE_SECONDS=600``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.support.nut import wait_until
from tests.support.upsmon import (
    DEADTIME,
    GRACE,
    HOSTSYNC,
    POLLFREQ,
    SECONDARIES,
    NoiseReport,
    Rig,
)

SERVERS = ("nutpy", "nut")
ALL_HOSTS = ["primary", *SECONDARIES]
SLACK = 1.0  # seconds of scheduling and polling jitter allowed in time bounds
RETURN_DELAY = 2  # Smart ``r``: the output comes back this long after it may
# NUT's apcsmart notices a silent UPS some polls later than nutpy does, so the
# two servers' "stale" moments (and what follows) may differ by this much.
STALE_DIFFERENCE = 6.0

Scenario = Callable[[Rig], None]


def run_both(tmp_path: Path, scenario: Scenario, servers: tuple[str, ...] = SERVERS,
             model: str = "smart", *, debug: bool = False) -> dict[str, Rig]:
    """Run ``scenario`` on a rig per server, side by side; print each timeline."""
    def one(server: str) -> Rig:
        with Rig(tmp_path / server, server, model, debug=debug) as rig:
            if model == "smart":
                rig.sim(f"set r {RETURN_DELAY:03d}")
            try:
                scenario(rig)
            finally:
                rig.collect()
                print(rig.timeline.render(f"{server} ({model})"))
        return rig

    with ThreadPoolExecutor(len(servers)) as pool:
        futures = {server: pool.submit(one, server) for server in servers}
        return {server: future.result() for server, future in futures.items()}


def hosts_saw(rig: Rig, text: str, names: list[str] | None = None) -> bool:
    """Whether every host's upsmon has logged ``text`` (as upsmon words it)."""
    return all(text in (rig.host(name).directory / "upsmon.log").read_text(errors="replace")
               for name in names or ALL_HOSTS)


def on_battery(rig: Rig) -> None:
    rig.sim("mains fail")
    assert rig.wait_status("OB"), rig.logs()
    assert wait_until(lambda: hosts_saw(rig, "on battery"), timeout=10), rig.logs()


def shutdown_order(rig: Rig) -> list[str]:
    """The hosts in the order they shut down, secondaries' names folded together."""
    order = rig.timeline.order([f"{name} shutdown" for name in ALL_HOSTS])
    return ["secondary" if label.startswith("secondary") else "primary" for label in order]


def assert_secondaries_first(rig: Rig, secondaries: tuple[str, ...] = SECONDARIES) -> None:
    """The sequence upsmon promises: FSD, the secondaries go, then the primary."""
    times = {name: rig.host(name).shut_down_at() for name in ["primary", *secondaries]}
    assert all(times.values()), (times, rig.logs())
    fsd = rig.saw_status("FSD")
    assert fsd is not None, rig.logs()
    primary = times.pop("primary")
    assert primary is not None
    for name, when in times.items():
        assert when is not None and fsd - SLACK <= when <= primary, (name, times, primary)
    assert rig.host("primary").powerdown_flag.exists()


def assert_power_cycled(rig: Rig, *, returns_on: str) -> None:
    """Output off no sooner than the grace delay after killpower; then on again."""
    killed = rig.timeline.first("killpower")
    off = rig.timeline.first("output off")
    assert killed is not None and off is not None, rig.logs()
    assert off - killed >= GRACE - SLACK, (killed, off)
    back = rig.timeline.first(returns_on)
    on = rig.timeline.first("output on")
    assert back is not None and on is not None and on >= max(back, off), rig.logs()


def drain(rig: Rig) -> None:
    """On battery, the battery runs low: everybody shuts down."""
    rig.sim("battery low")
    assert rig.wait_shutdowns(ALL_HOSTS, timeout=HOSTSYNC + 20), rig.logs()


def final_stage_and_return(rig: Rig) -> None:
    """The primary's killpower; the output goes off; the mains come back."""
    done = rig.final_stage()
    assert done is not None and done.returncode == 0, (done, rig.logs())
    assert wait_until(lambda: rig.timeline.first("output off") is not None,
                      timeout=GRACE + 10), rig.logs()
    rig.sim("mains restore")
    assert wait_until(lambda: rig.timeline.first("output on") is not None,
                      timeout=RETURN_DELAY + 10), rig.logs()


# ---- 1. mains fail, battery runs low: the whole sequence ---------------------------


def full_sequence(rig: Rig) -> None:
    on_battery(rig)
    drain(rig)
    final_stage_and_return(rig)


def test_low_battery_shuts_everything_down_in_order(tmp_path: Path) -> None:
    rigs = run_both(tmp_path, full_sequence)
    for rig in rigs.values():
        assert_secondaries_first(rig)
        assert_power_cycled(rig, returns_on="mains restore")
    assert shutdown_order(rigs["nutpy"]) == shutdown_order(rigs["nut"]) == [
        "secondary", "secondary", "primary"]


def test_low_battery_sequence_with_microlink(tmp_path: Path) -> None:
    rig = run_both(tmp_path, full_sequence, ("nutpy",), "microlink")["nutpy"]
    assert_secondaries_first(rig)
    assert_power_cycled(rig, returns_on="mains restore")


# ---- 2. the mains come back in time -------------------------------------------------


def brief_outage(rig: Rig) -> None:
    on_battery(rig)
    rig.sim("mains restore")
    assert rig.wait_status("OL"), rig.logs()
    assert wait_until(lambda: hosts_saw(rig, "on line power"), timeout=10), rig.logs()
    wait_until(lambda: False, timeout=2 * POLLFREQ + 1)  # time for a wrong move
    assert all(host.running() for host in rig.hosts), rig.logs()


def test_short_outage_shuts_nothing_down(tmp_path: Path) -> None:
    rigs = run_both(tmp_path, brief_outage)
    for rig in rigs.values():
        assert all(host.shut_down_at() is None for host in rig.hosts), rig.logs()
        assert rig.saw_status("FSD") is None
        assert not rig.host("primary").powerdown_flag.exists()


# ---- 3. the serial cable is pulled while on battery ----------------------------------


def cable_pulled(rig: Rig) -> None:
    on_battery(rig)
    rig.sim("unplug")
    assert rig.wait_status("DATA-STALE", timeout=20), rig.logs()
    assert rig.wait_shutdowns(ALL_HOSTS, timeout=DEADTIME + 20), rig.logs()


def assert_stale_then_critical(rig: Rig) -> None:
    """Nobody moves before the data is stale; all go DEADTIME after the last good poll."""
    unplugged = rig.timeline.first("unplug")
    stale = rig.saw_status("DATA-STALE")
    assert unplugged is not None and stale is not None
    for host in rig.hosts:
        when = host.shut_down_at()
        assert when is not None and when > stale, (host.name, rig.logs())
        assert when - unplugged >= DEADTIME - SLACK, (host.name, when - unplugged)
    assert hosts_saw(rig, "Communications with UPS ups@")


def test_pulled_cable_goes_stale_then_critical_after_deadtime(tmp_path: Path) -> None:
    rigs = run_both(tmp_path, cable_pulled)
    for rig in rigs.values():
        assert_stale_then_critical(rig)
    # Both reach "critical" through DEADTIME: compare how long after the pull.
    delays = {name: max(h.shut_down_at() or 0 for h in rig.hosts)
              - (rig.timeline.first("unplug") or 0) for name, rig in rigs.items()}
    print("last shutdown after the pull:", {k: f"{v:.1f} s" for k, v in delays.items()})
    assert abs(delays["nutpy"] - delays["nut"]) <= STALE_DIFFERENCE, delays


def test_pulled_cable_with_microlink(tmp_path: Path) -> None:
    rig = run_both(tmp_path, cable_pulled, ("nutpy",), "microlink")["nutpy"]
    assert_stale_then_critical(rig)


# ---- 4. a secondary that never lets go --------------------------------------------


def hung_secondary(rig: Rig) -> None:
    rig.freeze("secondary2")
    others = ["primary", "secondary1"]
    rig.sim("mains fail")
    assert rig.wait_status("OB"), rig.logs()
    assert wait_until(lambda: hosts_saw(rig, "on battery", others), timeout=10), rig.logs()
    rig.sim("battery low")
    assert rig.wait_shutdowns(others, timeout=HOSTSYNC + 20), rig.logs()


def test_primary_goes_ahead_after_hostsync(tmp_path: Path) -> None:
    rigs = run_both(tmp_path, hung_secondary)
    for rig in rigs.values():
        assert_secondaries_first(rig, ("secondary1",))
        assert rig.host("secondary2").shut_down_at() is None
        fsd, primary = rig.saw_status("FSD"), rig.host("primary").shut_down_at()
        assert fsd is not None and primary is not None
        assert primary - fsd >= HOSTSYNC - SLACK, (fsd, primary)
    assert shutdown_order(rigs["nutpy"]) == shutdown_order(rigs["nut"]) == [
        "secondary", "primary"]


# ---- 5. the server restarts in the middle of the outage --------------------------------


def restart_mid_outage(rig: Rig) -> None:
    on_battery(rig)
    rig.stop_server()
    rig.start_server()
    assert wait_until(lambda: rig.numlogins() == len(rig.hosts), timeout=30), rig.logs()
    rig.timeline.add("all hosts logged in again")
    assert rig.wait_status("OB")
    drain(rig)
    final_stage_and_return(rig)


def test_server_restart_mid_outage(tmp_path: Path) -> None:
    rigs = run_both(tmp_path, restart_mid_outage)
    for rig in rigs.values():
        again = rig.timeline.first("all hosts logged in again")
        restarted = rig.timeline.order(["server stopped", "all hosts logged in again"])
        assert again is not None and restarted[0] == "server stopped"
        # After the restart the UPS is still seen on battery, never on line.
        after = [label for when, label in rig.timeline.events
                 if when > again and label.startswith("status ")]
        assert "status OL" not in after and any("OB" in label for label in after)
        assert_secondaries_first(rig)
        assert_power_cycled(rig, returns_on="mains restore")
    assert shutdown_order(rigs["nutpy"]) == shutdown_order(rigs["nut"])


# ---- 6. upsmon -c fsd on the primary, on mains --------------------------------------


def forced_on_mains(rig: Rig) -> None:
    rig.timeline.add("upsmon -c fsd")
    forced = rig.upsmon(rig.host("primary"), "-c", "fsd")
    assert forced.returncode == 0, forced
    assert rig.wait_shutdowns(ALL_HOSTS, timeout=HOSTSYNC + 20), rig.logs()
    done = rig.final_stage()
    assert done is not None
    said = " | ".join((done.stdout + done.stderr).strip().splitlines())
    rig.timeline.add(f"killpower said: {said}")
    wait_until(lambda: rig.timeline.first("output on") is not None,
               timeout=GRACE + RETURN_DELAY + 10)


def test_forced_shutdown_on_mains(tmp_path: Path) -> None:
    rigs = run_both(tmp_path, forced_on_mains)
    for rig in rigs.values():
        assert rig.saw_status("OB") is None  # the mains never failed
        assert_secondaries_first(rig)
    assert shutdown_order(rigs["nutpy"]) == shutdown_order(rigs["nut"])
    # nutpy reads Q properly, sees "on line" and sends @000: the output goes
    # off after the grace delay and comes back, as the mains are there.
    assert_power_cycled(rigs["nutpy"], returns_on="killpower")
    # NUT 2.8.0's apcsmart -k reads one character of "08", assumes on
    # battery and sends S, which a unit on line refuses: the power stays on.
    assert rigs["nut"].timeline.first("output off") is None
    said = [label for _, label in rigs["nut"].timeline.events
            if label.startswith("killpower said")]
    assert said and "status read failed" in said[0]


# ---- 7. line noise on mains for a while, then a real outage (issue #19) ---------------

NOISE_SECONDS = float(os.environ.get("NUTPY_NOISE_SECONDS", "30"))
NOISE_PERCENT = 1.0


def test_line_noise_on_mains_shuts_nothing_down_and_an_outage_still_does(
        tmp_path: Path) -> None:
    """1 % of the byte times of the line from the UPS hit by noise (``garble``):
    noise alert characters among them, and replies with bytes changed.  Nobody
    is told of a power cut, a fast client is served only the truth; then the
    mains fail for real, the noise still on, and everybody goes down in order.
    Killpower's last step runs on a clean line: its one confirmation read is
    not retried (NUT's is not either), so noise can fail it."""
    reports: list[NoiseReport] = []

    def noisy_mains_then_outage(rig: Rig) -> None:
        reports.append(rig.noise(NOISE_SECONDS, NOISE_PERCENT))
        print(reports[-1].render())
        on_battery(rig)
        drain(rig)
        rig.sim("garble 0")
        final_stage_and_return(rig)

    rig = run_both(tmp_path, noisy_mains_then_outage, ("nutpy",), debug=True)["nutpy"]
    (report,) = reports
    assert report.truth == "OL" and report.problems() == [], report.render()
    assert sum(report.served.values()) > NOISE_SECONDS * 100, report.render()
    assert report.driver["garbled replies"] > 0, report.render()  # the noise got through
    assert_secondaries_first(rig)
    assert_power_cycled(rig, returns_on="mains restore")


@pytest.fixture(autouse=True)
def _needs_root() -> None:
    if os.geteuid() != 0:
        pytest.fail("these tests give each upsmon its own /run/nut in a mount "
                    "namespace, which needs root (as NUT's own upsmon does)")
