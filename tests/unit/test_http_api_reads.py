"""The API's read side called directly: every field of a UPS as a client gets it,
and the query-number check on both sides of its bounds."""

from __future__ import annotations

from typing import Any

import pytest

from nutpy.config.descriptions import parse_cmdvartab
from nutpy.frontends.http.api import (
    find_ups,
    get_ups,
    get_ups_data,
    int_param,
    list_ups,
    ups_summary,
    variable_json,
)
from nutpy.frontends.http.context import HttpContext
from nutpy.frontends.http.responses import HttpError
from nutpy.store import Store, UpsState, Variable
from tests.support.clocks import Clock
from tests.support.http_requests import body_of, http_context, http_request, refusal

WALL = 1_700_000_000.0
DESCRIPTIONS = parse_cmdvartab(b'VARDESC battery.charge "Battery charge (percent)"\n'
                               b'CMDDESC load.off "Turn off the load immediately"\n')


def _store(clock: Clock) -> Store:
    return Store(clock=clock, wall=lambda: WALL + clock.now)


def _main(store: Store, clock: Clock) -> UpsState:
    """A UPS read 1.2345678 s ago (clock 100), its flags changed at wall 1700000050."""
    ups = store.add("Main", "The rack")
    clock.now = 50.0
    ups.set("ups.status", "OL CHRG")
    clock.now = 100.0
    ups.mark_fresh(98.7654322)
    return ups


def _ctx(store: Store) -> HttpContext:
    return http_context(store, descriptions=DESCRIPTIONS)


def test_a_fresh_ups_summary_holds_its_age_to_the_millisecond(clock: Clock) -> None:
    store = _store(clock)
    ups = _main(store, clock)
    ups.login(7, "10.0.0.7")
    ups.login(3, "10.0.0.3")
    assert ups_summary(_ctx(store), ups) == {
        "name": "Main", "description": "The rack", "availability": "OK", "stale": False,
        "status": ["OL", "CHRG"], "fsd": False, "age": 1.235,
        "last_update": 1_700_000_098.765, "status_changed": 1_700_000_050.0, "clients": 2}


def test_an_unread_ups_summary_has_no_age(clock: Clock) -> None:
    store = _store(clock)
    ups = store.add("cold")
    assert ups_summary(_ctx(store), ups) == {
        "name": "cold", "description": None, "availability": "DRIVER-NOT-CONNECTED",
        "stale": True, "status": [], "fsd": False, "age": None, "last_update": None,
        "status_changed": None, "clients": 0}
    ups.mark_stale()
    summary = ups_summary(_ctx(store), ups)
    assert (summary["availability"], summary["stale"]) == ("DATA-STALE", True)


def test_fsd_shows_in_the_summary_flags(clock: Clock) -> None:
    store = _store(clock)
    ups = _main(store, clock)
    ups.set_fsd()
    summary = ups_summary(_ctx(store), ups)
    assert (summary["status"], summary["fsd"]) == (["FSD", "OL", "CHRG"], True)


@pytest.mark.parametrize(("var", "expected"), [
    (Variable("battery.charge", "100"),
     {"value": "100", "type": "number", "writable": False,
      "description": "Battery charge (percent)"}),
    (Variable("ups.id", "RACK", writable=True, string=True, aux=8),
     {"value": "RACK", "type": "string", "writable": True, "max_length": 8,
      "description": "Description unavailable"}),
    (Variable("input.transfer.low", "208", writable=True, enums=["196", "208"]),
     {"value": "208", "type": "number", "writable": True, "enum": ["196", "208"],
      "description": "Description unavailable"}),
    (Variable("ups.delay.shutdown", "20", writable=True, ranges=[(0, 600), (900, 990)]),
     {"value": "20", "type": "number", "writable": True, "range": [[0, 600], [900, 990]],
      "description": "Description unavailable"}),
])
def test_a_variable_as_get_type_list_enum_list_range_and_get_desc_see_it(
        var: Variable, expected: dict[str, Any]) -> None:
    assert variable_json(_ctx(Store()), var, var.value) == expected


def test_one_ups_with_everything_upsd_would_list(clock: Clock) -> None:
    store = _store(clock)
    ups = _main(store, clock)
    ups.set("battery.charge", "100")
    ups.set("Ambient.Temperature", "21")
    ups.set("device.model", "Smart-UPS 1500")
    ups.set("driver.parameter.pollinterval", "2")
    ups.set("driver.parameter.poll_freq", "30")  # '_' before letters, as strcasecmp has it
    for command in ("test.battery.start", "Load.Off", "beeper.enable", "outlets.off",
                    "outlet_1.off"):
        ups.add_command(command)
    ups.login(7, "10.0.0.7")
    ups.login(3, "10.0.0.3")
    ups.stats.errors, ups.stats.recoveries, ups.stats.poll_seconds = 4, 2, 0.25
    ups.set_fsd()
    data = get_ups_data(_ctx(store), ups)
    number = {"type": "number", "writable": False, "description": "Description unavailable"}
    assert data == {
        "name": "Main", "description": "The rack", "availability": "OK", "stale": False,
        "status": ["FSD", "OL", "CHRG"], "fsd": True, "age": 1.235,
        "last_update": 1_700_000_098.765, "status_changed": 1_700_000_100.0,
        "clients": [{"address": "10.0.0.3"}, {"address": "10.0.0.7"}],  # newest first
        "numlogins": 2,
        "variables": {
            "Ambient.Temperature": {"value": "21", **number},
            "battery.charge": {**number, "value": "100",
                               "description": "Battery charge (percent)"},
            "device.model": {"value": "Smart-UPS 1500", **number},
            "driver.parameter.poll_freq": {"value": "30", **number},
            "driver.parameter.pollinterval": {"value": "2", **number},
            "ups.status": {"value": "FSD OL CHRG", **number},
        },
        "commands": [
            {"name": "beeper.enable", "description": "Description unavailable"},
            {"name": "Load.Off", "description": "Turn off the load immediately"},
            {"name": "outlet_1.off", "description": "Description unavailable"},
            {"name": "outlets.off", "description": "Description unavailable"},
            {"name": "test.battery.start", "description": "Description unavailable"},
        ],
        "link": {"errors": 4, "recoveries": 2, "poll_seconds": 0.25},
    }
    assert list(data["variables"]) == [
        "Ambient.Temperature", "battery.charge", "device.model", "driver.parameter.poll_freq",
        "driver.parameter.pollinterval", "ups.status"]


async def test_the_list_and_one_ups_as_responses(clock: Clock) -> None:
    store = _store(clock)
    ups = _main(store, clock)
    store.add("cold")
    ctx = _ctx(store)
    listing = await list_ups(ctx, http_request())
    assert listing.status == 200
    assert [u["name"] for u in body_of(listing)["ups"]] == ["Main", "cold"]
    assert body_of(listing)["ups"][0] == ups_summary(ctx, ups)
    one = await get_ups(ctx, http_request(), "MAIN")
    assert (one.status, body_of(one)) == (200, get_ups_data(ctx, ups))
    assert find_ups(ctx, "main") is ups


def test_an_unknown_ups_is_404() -> None:
    with pytest.raises(HttpError) as raised:
        find_ups(http_context(), "nosuch")
    assert refusal(raised) == (404, {"error": "UNKNOWN-UPS",
                                     "message": "no UPS called 'nosuch'"})


@pytest.mark.parametrize(("query", "value"), [
    ({}, 7), ({"limit": []}, 7), ({"limit": ["5"]}, 5), ({"limit": ["10"]}, 10),
    ({"limit": ["6", "99"]}, 6), ({"limit": ["007"]}, 7), ({"other": ["9"]}, 7),
])
def test_a_number_in_the_query_within_its_bounds(query: dict[str, list[str]],
                                                 value: int) -> None:
    assert int_param(http_request(query=query), "limit", 7, 5, 10) == value


@pytest.mark.parametrize("text", ["4", "11", "0", "-5", "", "abc", "5.0", " 6", "²",
                                  "\u0666", "1e1"])
def test_a_number_in_the_query_out_of_bounds_or_not_a_number(text: str) -> None:
    with pytest.raises(HttpError) as raised:
        int_param(http_request(query={"limit": [text]}), "limit", 7, 5, 10)
    assert refusal(raised) == (400, {"error": "INVALID-ARGUMENT",
                                     "message": "limit must be a number from 5 to 10"})
