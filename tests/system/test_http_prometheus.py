"""A real Prometheus scrapes nutpy: nut_exporter's dashboard finds its metrics for every
UPS, a power cut shows as flag="OB" within a scrape interval, and promtool finds
nothing to lint."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support import FIXTURES
from tests.support.nut import Server, free_port, nutpy_server, sim_control, wait_until, write_config
from tests.support.prometheus import Prometheus, prometheus, promtool_check

INTERVAL = 1.0
# What nut_exporter's published Grafana dashboard (dashboard/dashboard.json) queries.
DASHBOARD = ["battery_charge", "battery_runtime", "battery_voltage", "battery_voltage_high",
             "battery_voltage_low", "device_info", "input_voltage", "ups_load", "ups_status"]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, int, Path]]:
    directory = tmp_path_factory.mktemp("nutpy")
    port, http_port = free_port(), free_port()
    confdir = write_config(
        directory,
        ups_conf=("pollinterval = 1\n"
                  "[smart]\n  driver = apcsmart\n"
                  f'  port = "sim:smart?dump={FIXTURES}/smart-ups-1500.dev&control=smart.sock"\n'
                  "[smt]\n  driver = apcmicrolink\n  port = \"sim:microlink?control=smt.sock\"\n"),
        upsd_conf=f"LISTEN 127.0.0.1 {port}\n")
    (confdir / "nutpy.conf").write_text(f"HTTP_LISTEN 127.0.0.1 {http_port}\n")
    with nutpy_server(confdir, port) as server:
        base = f"http://127.0.0.1:{http_port}"
        assert wait_until(lambda: all(
            u["availability"] == "OK" for u in httpx.get(f"{base}/api/v1/ups").json()["ups"]),
            timeout=20)
        yield server, http_port, confdir


@pytest.fixture(scope="module")
def scraper(served: tuple[Server, int, Path],
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    _, http_port, _ = served
    with prometheus(tmp_path_factory.mktemp("prometheus"), f"127.0.0.1:{http_port}",
                    interval=INTERVAL) as server:
        yield server


@pytest.mark.parametrize("path", ["/metrics", "/ups_metrics", "/ups_metrics?ups=smt"])
def test_promtool_finds_nothing_to_lint(served: tuple[Server, int, Path], path: str) -> None:
    _, http_port, _ = served
    exposition = httpx.get(f"http://127.0.0.1:{http_port}{path}").content
    checked = promtool_check(exposition)
    assert (checked.returncode, checked.stdout, checked.stderr) == (0, "", "")


def test_every_dashboard_metric_for_every_ups(served: tuple[Server, int, Path],
                                              scraper: Prometheus) -> None:
    _, http_port, _ = served
    for ups in ("smart", "smt"):
        variables = httpx.get(f"http://127.0.0.1:{http_port}/api/v1/ups/{ups}").json()[
            "variables"]
        for metric in DASHBOARD:
            found = scraper.query(f'network_ups_tools_{metric}{{ups="{ups}"}}')
            variable = {"battery_voltage_high": "battery.voltage.high",
                        "battery_voltage_low": "battery.voltage.low"}.get(metric)
            if variable is not None:
                # Neither APC driver of NUT publishes these (the dashboard's two
                # threshold lines stay empty with nut_exporter too): here, too,
                # a metric exists exactly when its variable does.
                assert bool(found) == (variable in variables), (ups, metric)
                continue
            assert found, (ups, metric)
        flags = {r["metric"]["flag"]: float(r["value"][1]) for r in scraper.query(
            f'network_ups_tools_ups_status{{ups="{ups}"}}')}
        assert flags["OL"] == 1.0 and flags["OB"] == 0.0 and flags["LB"] == 0.0
        info = scraper.query(f'network_ups_tools_device_info{{ups="{ups}"}}')
        assert info[0]["metric"]["mfr"] == "APC" and info[0]["metric"]["model"]


def test_a_power_cut_shows_within_one_scrape_interval(served: tuple[Server, int, Path],
                                                      scraper: Prometheus) -> None:
    _, _, confdir = served
    expr = 'network_ups_tools_ups_status{ups="smart",flag="OB"}'
    assert scraper.value(expr) == 0.0
    cut = time.monotonic()
    assert sim_control(confdir / "smart.sock", "mains fail") == ["OK"]
    try:
        assert wait_until(lambda: scraper.value(expr) == 1.0, timeout=10, interval=0.05)
        seen = time.monotonic() - cut
        # One interval for the next scrape, plus the query's own time.
        assert seen <= INTERVAL + 0.5, seen
        assert scraper.value('network_ups_tools_ups_status{ups="smart",flag="OL"}') == 0.0
    finally:
        sim_control(confdir / "smart.sock", "mains restore")
