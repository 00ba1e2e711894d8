"""``/metrics``: the exact Prometheus exposition a scrape gets from a store, every UPS
in one scrape or one with ``?ups=`` (nut_exporter's shape), and the format chosen
by the Accept header."""

from __future__ import annotations

import pytest

from nutpy.config.descriptions import parse_cmdvartab
from nutpy.frontends.http.metrics import Metrics
from nutpy.frontends.http.responses import HttpError
from nutpy.frontends.http.server import Request, Response
from nutpy.store import Store
from tests.support.clocks import Clock

WALL = 1_800_000_123.5
TEXT_FORMAT = "text/plain; version=0.0.4; charset=utf-8"
DESCRIPTIONS = parse_cmdvartab(b'VARDESC battery.charge "Battery charge (percent)"\n'
                               b'VARDESC ups.status "UPS status"\n')


def _store() -> Store:
    """Four UPSes, the unserved first (a skipped UPS must not end the scrape)."""
    clock = Clock()  # at 100.0
    store = Store(clock=clock, wall=lambda: WALL)
    store.add("down")  # no driver
    main = store.add("Main")
    main.set("ups.status", "OL")
    main.mark_fresh(95.0)
    main.set("ups.status", "OL CHRG ALARM")  # a flag outside nut_exporter's list too
    main.set("ups.test.result", "Done and passed")  # a string: not exported
    main.set("battery.charge", "100")
    main.set("battery.voltage", " 27.30 ")
    main.set("ups.beeper.status", "enabled")
    main.set("outlet.1.switchable", "no")  # not one of nut_exporter's boolean words
    main.set("ups.start.battery", "disabled")
    main.set("outlet.group.count", "2")
    main.set("device.model", "Smart-UPS 1500")
    main.set("device.mfr", "American Power Conversion")
    main.set("device.serial", "AS0123456789")
    main.set("device.type", "ups")
    main.login(1, "127.0.0.1")
    main.login(2, "::1")
    main.stats.errors = 3
    main.stats.recoveries = 1
    main.stats.poll_seconds = 0.25
    lost = store.add("lost")  # the driver runs but cannot read the UPS
    lost.mark_fresh(90.0)
    lost.set("battery.charge", "40")
    lost.mark_stale()
    spare = store.add("Spare")
    spare.set("ups.status", "OFF")  # "off" is a boolean word: not for the status gauge
    spare.set("battery.charge", "80")
    spare.mark_fresh(99.0)
    store.connections["nut"] = 2
    store.connections["http"] = 1
    return store


def _get(query: dict[str, str] | None = None, accept: str | None = None) -> Request:
    headers = {} if accept is None else {"accept": accept}
    return Request("GET", "/metrics", {k: [v] for k, v in (query or {}).items()}, headers, b"",
                   "127.0.0.1", False)


async def _scrape(store: Store, query: dict[str, str] | None = None,
                  accept: str | None = None) -> Response:
    return await Metrics(store, DESCRIPTIONS).scrape(_get(query, accept))


def _without_process(text: str) -> str:
    """The exposition without prometheus_client's process_* metrics (they vary)."""
    assert "\nprocess_cpu_seconds_total " in text
    return "".join(line for line in text.splitlines(keepends=True)
                   if not line.startswith(("# HELP process_", "# TYPE process_", "process_")))


def _flags(label: str, set_: list[str]) -> str:
    default = ["OL", "OB", "LB", "HB", "RB", "CHRG", "DISCHRG", "BYPASS", "CAL", "OFF", "OVER",
               "TRIM", "BOOST", "FSD", "SD"]
    return "".join(f'network_ups_tools_ups_status{{flag="{flag}"{label}}} '
                   f'{1.0 if flag in set_ else 0.0}\n'
                   for flag in dict.fromkeys([*set_, *default]))


EVERY = (
    '# HELP network_ups_tools_battery_charge Battery charge (percent) (battery.charge)\n'
    '# TYPE network_ups_tools_battery_charge gauge\n'
    'network_ups_tools_battery_charge{ups="Main"} 100.0\n'
    'network_ups_tools_battery_charge{ups="Spare"} 80.0\n'
    '# HELP network_ups_tools_battery_voltage Description unavailable (battery.voltage)\n'
    '# TYPE network_ups_tools_battery_voltage gauge\n'
    'network_ups_tools_battery_voltage{ups="Main"} 27.3\n'
    '# HELP network_ups_tools_ups_beeper_status Description unavailable (ups.beeper.status)\n'
    '# TYPE network_ups_tools_ups_beeper_status gauge\n'
    'network_ups_tools_ups_beeper_status{ups="Main"} 1.0\n'
    '# HELP network_ups_tools_ups_start_battery Description unavailable (ups.start.battery)\n'
    '# TYPE network_ups_tools_ups_start_battery gauge\n'
    'network_ups_tools_ups_start_battery{ups="Main"} 0.0\n'
    '# HELP network_ups_tools_outlet_group_count_value Description unavailable '
    '(outlet.group.count)\n'
    '# TYPE network_ups_tools_outlet_group_count_value gauge\n'
    'network_ups_tools_outlet_group_count_value{ups="Main"} 2.0\n'
    '# HELP network_ups_tools_ups_status UPS status (ups.status)\n'
    '# TYPE network_ups_tools_ups_status gauge\n'
    + _flags(',ups="Main"', ["OL", "CHRG", "ALARM"])
    + _flags(',ups="Spare"', ["OFF"])
    + '# HELP network_ups_tools_device_info UPS Device information\n'
    '# TYPE network_ups_tools_device_info gauge\n'
    'network_ups_tools_device_info{contact="",description="",location="",macaddr="",'
    'mfr="American Power Conversion",model="Smart-UPS 1500",part="",serial="AS0123456789",'
    'type="ups",ups="Main"} 1.0\n'
    'network_ups_tools_device_info{contact="",description="",location="",macaddr="",mfr="",'
    'model="",part="",serial="",type="",ups="Spare"} 1.0\n'
    '# HELP nutpy_ups_data_age_seconds Seconds since the driver last read the UPS\n'
    '# TYPE nutpy_ups_data_age_seconds gauge\n'
    'nutpy_ups_data_age_seconds{ups="Main"} 5.0\n'
    'nutpy_ups_data_age_seconds{ups="lost"} 10.0\n'
    'nutpy_ups_data_age_seconds{ups="Spare"} 1.0\n'
    "# HELP nutpy_ups_stale 1 when the UPS's data is not served as fresh (DATA-STALE or "
    'DRIVER-NOT-CONNECTED)\n'
    '# TYPE nutpy_ups_stale gauge\n'
    'nutpy_ups_stale{ups="down"} 1.0\n'
    'nutpy_ups_stale{ups="Main"} 0.0\n'
    'nutpy_ups_stale{ups="lost"} 1.0\n'
    'nutpy_ups_stale{ups="Spare"} 0.0\n'
    '# HELP nutpy_ups_driver_connected 1 when the driver runs and holds its port\n'
    '# TYPE nutpy_ups_driver_connected gauge\n'
    'nutpy_ups_driver_connected{ups="down"} 0.0\n'
    'nutpy_ups_driver_connected{ups="Main"} 1.0\n'
    'nutpy_ups_driver_connected{ups="lost"} 1.0\n'
    'nutpy_ups_driver_connected{ups="Spare"} 1.0\n'
    '# HELP nutpy_ups_clients NUT clients logged in to the UPS (NUMLOGINS)\n'
    '# TYPE nutpy_ups_clients gauge\n'
    'nutpy_ups_clients{ups="down"} 0.0\n'
    'nutpy_ups_clients{ups="Main"} 2.0\n'
    'nutpy_ups_clients{ups="lost"} 0.0\n'
    'nutpy_ups_clients{ups="Spare"} 0.0\n'
    '# HELP nutpy_ups_status_change_timestamp_seconds When the status flags last changed '
    '(Unix time)\n'
    '# TYPE nutpy_ups_status_change_timestamp_seconds gauge\n'
    'nutpy_ups_status_change_timestamp_seconds{ups="Main"} 1.8000001235e+09\n'
    'nutpy_ups_status_change_timestamp_seconds{ups="Spare"} 1.8000001235e+09\n'
    "# HELP nutpy_ups_poll_duration_seconds How long the driver's last full poll took\n"
    '# TYPE nutpy_ups_poll_duration_seconds gauge\n'
    'nutpy_ups_poll_duration_seconds{ups="Main"} 0.25\n'
    '# HELP nutpy_ups_link_errors_total Failed attempts to read the UPS (a lost port, '
    'no answer, garbled replies)\n'
    '# TYPE nutpy_ups_link_errors_total counter\n'
    'nutpy_ups_link_errors_total{ups="down"} 0.0\n'
    'nutpy_ups_link_errors_total{ups="Main"} 3.0\n'
    'nutpy_ups_link_errors_total{ups="lost"} 0.0\n'
    'nutpy_ups_link_errors_total{ups="Spare"} 0.0\n'
    '# HELP nutpy_ups_link_recoveries_total Times the UPS answered again after an outage\n'
    '# TYPE nutpy_ups_link_recoveries_total counter\n'
    'nutpy_ups_link_recoveries_total{ups="down"} 0.0\n'
    'nutpy_ups_link_recoveries_total{ups="Main"} 1.0\n'
    'nutpy_ups_link_recoveries_total{ups="lost"} 0.0\n'
    'nutpy_ups_link_recoveries_total{ups="Spare"} 0.0\n'
    '# HELP nutpy_connections Open client connections, by front end\n'
    '# TYPE nutpy_connections gauge\n'
    'nutpy_connections{frontend="http"} 1.0\n'
    'nutpy_connections{frontend="nut"} 2.0\n')


async def test_one_scrape_holds_every_ups_each_labelled() -> None:
    reply = await _scrape(_store())
    assert (reply.status, reply.content_type) == (200, TEXT_FORMAT)
    assert _without_process(reply.body.decode()) == EVERY


async def test_one_ups_as_nut_exporter_shows_it_without_the_ups_label() -> None:
    reply = await _scrape(_store(), {"ups": "main"})  # names fold case
    assert (reply.status, reply.content_type) == (200, TEXT_FORMAT)
    assert _without_process(reply.body.decode()) == (
        '# HELP network_ups_tools_battery_charge Battery charge (percent) (battery.charge)\n'
        '# TYPE network_ups_tools_battery_charge gauge\n'
        'network_ups_tools_battery_charge 100.0\n'
        '# HELP network_ups_tools_battery_voltage Description unavailable (battery.voltage)\n'
        '# TYPE network_ups_tools_battery_voltage gauge\n'
        'network_ups_tools_battery_voltage 27.3\n'
        '# HELP network_ups_tools_ups_beeper_status Description unavailable '
        '(ups.beeper.status)\n'
        '# TYPE network_ups_tools_ups_beeper_status gauge\n'
        'network_ups_tools_ups_beeper_status 1.0\n'
        '# HELP network_ups_tools_ups_start_battery Description unavailable '
        '(ups.start.battery)\n'
        '# TYPE network_ups_tools_ups_start_battery gauge\n'
        'network_ups_tools_ups_start_battery 0.0\n'
        '# HELP network_ups_tools_outlet_group_count_value Description unavailable '
        '(outlet.group.count)\n'
        '# TYPE network_ups_tools_outlet_group_count_value gauge\n'
        'network_ups_tools_outlet_group_count_value 2.0\n'
        '# HELP network_ups_tools_ups_status UPS status (ups.status)\n'
        '# TYPE network_ups_tools_ups_status gauge\n'
        + _flags("", ["OL", "CHRG", "ALARM"])
        + '# HELP network_ups_tools_device_info UPS Device information\n'
        '# TYPE network_ups_tools_device_info gauge\n'
        'network_ups_tools_device_info{contact="",description="",location="",macaddr="",'
        'mfr="American Power Conversion",model="Smart-UPS 1500",part="",'
        'serial="AS0123456789",type="ups"} 1.0\n'
        '# HELP nutpy_ups_data_age_seconds Seconds since the driver last read the UPS\n'
        '# TYPE nutpy_ups_data_age_seconds gauge\n'
        'nutpy_ups_data_age_seconds 5.0\n'
        "# HELP nutpy_ups_stale 1 when the UPS's data is not served as fresh (DATA-STALE or "
        'DRIVER-NOT-CONNECTED)\n'
        '# TYPE nutpy_ups_stale gauge\n'
        'nutpy_ups_stale 0.0\n'
        '# HELP nutpy_ups_driver_connected 1 when the driver runs and holds its port\n'
        '# TYPE nutpy_ups_driver_connected gauge\n'
        'nutpy_ups_driver_connected 1.0\n'
        '# HELP nutpy_ups_clients NUT clients logged in to the UPS (NUMLOGINS)\n'
        '# TYPE nutpy_ups_clients gauge\n'
        'nutpy_ups_clients 2.0\n'
        '# HELP nutpy_ups_status_change_timestamp_seconds When the status flags last '
        'changed (Unix time)\n'
        '# TYPE nutpy_ups_status_change_timestamp_seconds gauge\n'
        'nutpy_ups_status_change_timestamp_seconds 1.8000001235e+09\n'
        "# HELP nutpy_ups_poll_duration_seconds How long the driver's last full poll took\n"
        '# TYPE nutpy_ups_poll_duration_seconds gauge\n'
        'nutpy_ups_poll_duration_seconds 0.25\n'
        '# HELP nutpy_ups_link_errors_total Failed attempts to read the UPS (a lost port, '
        'no answer, garbled replies)\n'
        '# TYPE nutpy_ups_link_errors_total counter\n'
        'nutpy_ups_link_errors_total 3.0\n'
        '# HELP nutpy_ups_link_recoveries_total Times the UPS answered again after an '
        'outage\n'
        '# TYPE nutpy_ups_link_recoveries_total counter\n'
        'nutpy_ups_link_recoveries_total 1.0\n'
        '# HELP nutpy_connections Open client connections, by front end\n'
        '# TYPE nutpy_connections gauge\n'
        'nutpy_connections{frontend="http"} 1.0\n'
        'nutpy_connections{frontend="nut"} 2.0\n')


async def test_an_unknown_ups_is_404() -> None:
    with pytest.raises(HttpError) as refused:
        await _scrape(_store(), {"ups": "nosuch"})
    response = refused.value.response
    assert (response.status, response.body) == (
        404, b'{"error":"UNKNOWN-UPS","message":"no UPS called \'nosuch\'"}')


async def test_openmetrics_when_the_scraper_asks_for_it() -> None:
    reply = await _scrape(_store(), {"ups": "Main"},
                          accept="application/openmetrics-text;version=1.0.0,text/plain;q=0.5")
    assert reply.status == 200
    assert reply.content_type.startswith("application/openmetrics-text; version=1.0.0")
    text = reply.body.decode()
    assert "\nnutpy_ups_link_errors_total 3.0\n" in text
    assert text.endswith("# EOF\n")


@pytest.mark.parametrize(("value", "exported"), [
    ("20", 20.0), ("+1.5", 1.5), ("-2.5E-1", -0.25), (".5", 0.5), ("1.", 1.0), ("1e3", 1000.0),
    ("  7\t", 7.0),
    *((word, 1.0) for word in ["enable", "Enabled", "ON", "true", "active", "Activated"]),
    *((word, 0.0) for word in ["disable", "DISABLED", "off", "False", "inactive",
                                "deactivated"]),
    *((text, None) for text in ["", ".", "1.2.3", "0x10", "1e", "e5", "nan", "inf", "1 2",
                                "yes", "no", "enabledx", "xon", "on off"]),
])
async def test_which_values_are_numbers_as_nut_exporter_reads_them(
        value: str, exported: float | None) -> None:
    store = Store(clock=Clock())
    ups = store.add("u")
    ups.set("ups.delay.shutdown", value)
    ups.mark_fresh(100.0)
    samples = [line for line in (await _scrape(store, {"ups": "u"})).body.decode().splitlines()
               if line.startswith("network_ups_tools_ups_delay_shutdown")]
    assert samples == ([] if exported is None
                       else [f"network_ups_tools_ups_delay_shutdown {exported}"])
