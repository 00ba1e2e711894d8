"""The API's writes called directly: the order of their checks (as upsd's), the JSON
error of each refusal, what reaches the driver, and what its answer becomes."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import pytest
import trio
import trio.testing

from nutpy.frontends.http.api import fsd, instcmd, set_variable
from nutpy.frontends.http.responses import HttpError
from nutpy.frontends.http.server import Request, Response
from nutpy.store import InstCmd, Origin, Result, SetVar, Store, UpsState
from nutpy.store import Request as DriverRequest
from tests.support.http_requests import (
    JSON,
    basic,
    body_of,
    http_context,
    http_request,
    json_write,
    rack_ups,
    refusal,
)

ALL_COMMANDS = b"[admin]\n  password = pw\n  instcmds = all\n"
Call = Callable[[], Awaitable[Response]]


def _store() -> tuple[Store, UpsState]:
    store = Store()
    ups = rack_ups(store)
    ups.mark_fresh(trio.current_time() + 10**6)
    store.add("cold")  # no driver
    stale = store.add("stale")
    stale.mark_stale()
    return store, ups


async def _answered(ups: UpsState, call: Call,
                    result: Result = Result.SUCCESS) -> tuple[Response, DriverRequest]:
    """The response to ``call()`` while a driver answers its one request with ``result``."""
    send, receive = trio.open_memory_channel[DriverRequest](1)
    ups.attach(send)
    seen: list[DriverRequest] = []

    async def driver() -> None:
        request = await receive.receive()
        seen.append(request)
        assert request.on_result is not None
        request.on_result(result)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(driver)
        response = await call()
        nursery.cancel_scope.cancel()  # a handler that never asked leaves no driver behind
    assert len(seen) == 1, "the request never reached the driver"
    return response, seen[0]


def _origin(request: DriverRequest) -> Origin | None:
    assert isinstance(request, (InstCmd, SetVar))
    return request.origin


async def _refused(call: Call) -> tuple[int, Any]:
    with pytest.raises(HttpError) as raised:
        await call()
    return refusal(raised)


# ---- instant commands ---------------------------------------------------------------


@pytest.mark.parametrize(("body", "param"), [
    ({}, None), ({"param": None}, None), ({"param": "60"}, "60"), ({"param": 60}, "60"),
    ({"param": 1.5}, "1.5"), ({"param": ""}, ""),
])
async def test_an_instant_command_reaches_the_driver_with_its_param_and_origin(
        body: dict[str, Any], param: str | None) -> None:
    store, ups = _store()
    ctx = http_context(store)
    request = json_write(body, peer="::1")
    response, sent = await _answered(
        ups, lambda: instcmd(ctx, request, "main", "TEST.Battery.Start"))
    assert (response.status, body_of(response)) == (200, {"result": "SUCCESS"})
    assert isinstance(sent, InstCmd)
    assert (sent.command, sent.param) == ("test.battery.start", param)
    assert _origin(sent) == Origin("admin", "::1", "http")


@pytest.mark.parametrize(("result", "status"), [
    (Result.SUCCESS, 200), (Result.INVALID, 400), (Result.FAILED, 502), (Result.UNKNOWN, 502),
])
async def test_the_drivers_answer_becomes_the_status(result: Result, status: int) -> None:
    store, ups = _store()
    ctx = http_context(store)
    response, _ = await _answered(
        ups, lambda: instcmd(ctx, json_write({}), "Main", "test.battery.start"), result)
    assert (response.status, body_of(response)) == (status, {"result": result.name})
    response, sent = await _answered(
        ups, lambda: set_variable(ctx, json_write({"value": "200"}), "Main",
                                       "input.transfer.low"), result)
    assert (response.status, body_of(response)) == (status, {"result": result.name})
    assert isinstance(sent, SetVar)


@pytest.mark.parametrize(("timeout", "said"), [(5, "5"), (2.5, "2.5"), (15.0, "15")])
async def test_a_driver_that_does_not_answer_in_time_leaves_it_pending(
        autojump_clock: trio.testing.MockClock, timeout: float, said: str) -> None:
    store, ups = _store()
    send, receive = trio.open_memory_channel[DriverRequest](2)
    ups.attach(send)
    ctx = http_context(store, command_timeout=timeout)
    start = trio.current_time()
    response = await instcmd(ctx, json_write({}), "Main", "test.battery.start")
    assert trio.current_time() - start == pytest.approx(timeout)
    assert (response.status, body_of(response)) == (504, {
        "result": "PENDING", "message": f"the driver did not answer within {said} s"})
    response = await set_variable(ctx, json_write({"value": "x"}), "Main", "ups.id")
    assert response.status == 504
    assert trio.current_time() - start == pytest.approx(2 * timeout)
    reached = [receive.receive_nowait(), receive.receive_nowait()]  # both did reach it
    assert [type(request) for request in reached] == [InstCmd, SetVar]


async def test_a_driver_that_cannot_take_the_request_is_503() -> None:
    store, ups = _store()
    ctx = http_context(store)
    cmd = partial(instcmd, ctx, json_write({}), "Main", "test.battery.start")
    setting = partial(set_variable, ctx, json_write({"value": "x"}), "Main", "ups.id")
    assert await _refused(cmd) == (503, {"error": "INSTCMD-FAILED",
                                         "message": "Main: the driver is not running"})
    assert await _refused(setting) == (503, {"error": "SET-FAILED",
                                             "message": "Main: the driver is not running"})
    send, _receive = trio.open_memory_channel[DriverRequest](0)  # nobody reads: full
    ups.attach(send)
    assert await _refused(cmd) == (503, {"error": "INSTCMD-FAILED",
                                         "message": "Main: the driver is busy"})
    assert await _refused(setting) == (503, {"error": "SET-FAILED",
                                             "message": "Main: the driver is busy"})


UNREADABLE = {"error": "USERNAME-REQUIRED",
              "message": "HTTP Basic credentials from upsd.users are needed"}
WRONG_TYPE = {"error": "INVALID-ARGUMENT",
              "message": "a write needs a JSON body (Content-Type: application/json)"}


@pytest.mark.parametrize(("request_", "ups", "command", "status", "body"), [
    # the body is looked at before the credentials...
    (http_request("POST", body=b"{}"), "Main", "load.off", 415, WRONG_TYPE),
    (json_write({"param": True}, None), "Main", "load.off", 400,
     {"error": "INVALID-ARGUMENT", "message": "'param' must be a string or a number"}),
    (json_write({}, None), "Main", "load.off", 401, UNREADABLE),
    # ...the credentials before the UPS...
    (json_write({}, ("admin", "no")), "nosuch", "load.off", 401,
     {"error": "ACCESS-DENIED", "message": "wrong user name or password"}),
    (json_write({}), "nosuch", "load.off", 404,
     {"error": "UNKNOWN-UPS", "message": "no UPS called 'nosuch'"}),
    (json_write({}), "COLD", "load.off", 503,
     {"error": "DRIVER-NOT-CONNECTED", "message": "cold: driver not connected"}),
    (json_write({}), "stale", "load.off", 503,
     {"error": "DATA-STALE", "message": "stale: data stale"}),
    # ...the command before the right to run it
    (json_write({}, ("sec", "sp")), "main", "NoSuch.Cmd", 404,
     {"error": "CMD-NOT-SUPPORTED", "message": "Main has no command 'NoSuch.Cmd'"}),
    (json_write({}), "Main", "LOAD.OFF", 403,
     {"error": "ACCESS-DENIED", "message": "admin may not run load.off"}),
    (json_write({}, ("mon", "mp")), "Main", "test.battery.start", 403,
     {"error": "ACCESS-DENIED", "message": "mon may not run test.battery.start"}),
])
async def test_an_instant_command_is_checked_in_upsds_order(
        request_: Request, ups: str, command: str, status: int, body: dict[str, str]) -> None:
    store, _ = _store()
    ctx = http_context(store)
    assert await _refused(lambda: instcmd(ctx, request_, ups, command)) == (status, body)


async def test_a_user_with_every_command_may_run_any() -> None:
    store, ups = _store()
    ctx = http_context(store, users=ALL_COMMANDS)
    response, sent = await _answered(
        ups, lambda: instcmd(ctx, json_write({}), "Main", "load.off"))
    assert response.status == 200 and isinstance(sent, InstCmd) and sent.command == "load.off"


# ---- the JSON body --------------------------------------------------------------------


@pytest.mark.parametrize("content_type", [
    "application/json", "application/json; charset=utf-8", "Application/JSON",
    "  application/json  ", "application/json ;charset=UTF-8",
])
async def test_a_json_body_is_known_by_its_media_type_alone(content_type: str) -> None:
    store, ups = _store()
    ctx = http_context(store)
    request = http_request("POST", body=b"{}", headers={
        "Content-Type": content_type, "Authorization": basic("admin", "pw")})
    response = await fsd(ctx, request, "Main")
    assert (response.status, body_of(response)) == (200, {"result": "SUCCESS", "fsd": True})
    assert ups.fsd


@pytest.mark.parametrize("content_type", [
    None, "", "text/plain", "application/x-www-form-urlencoded", "application/jsonx",
    "application/json-seq", "text/json", "application",
])
async def test_any_other_media_type_is_415(content_type: str | None) -> None:
    store, ups = _store()
    ctx = http_context(store)
    headers = {"Authorization": basic("admin", "pw")}
    if content_type is not None:
        headers["Content-Type"] = content_type
    request = http_request("POST", body=b"{}", headers=headers)
    assert await _refused(lambda: fsd(ctx, request, "Main")) == (415, WRONG_TYPE)
    assert not ups.fsd


@pytest.mark.parametrize(("raw", "message"), [
    (b"not json", "the body is not JSON: Expecting value: line 1 column 1 (char 0)"),
    (b'{"value": 1', "the body is not JSON: Expecting ',' delimiter: line 1 column 12 "
                     "(char 11)"),
    (b"\xff{}", "the body is not JSON: 'utf-8' codec can't decode byte 0xff in position "
                "0: invalid start byte"),
    (b'{"value": NaN}', "the body is not JSON: NaN is not a JSON value"),
    (b'{"value": -Infinity}', "the body is not JSON: -Infinity is not a JSON value"),
    (b'{"value": 1e400}', "the body is not JSON: 1e400 is beyond the range of a double"),
    (b"[1]", "the body must be a JSON object"),
    (b"null", "the body must be a JSON object"),
    (b'"text"', "the body must be a JSON object"),
])
async def test_a_body_that_is_not_a_json_object_is_400(raw: bytes, message: str) -> None:
    store, ups = _store()
    ctx = http_context(store)
    request = http_request("POST", body=raw, headers={**JSON,
                                                      "Authorization": basic("admin", "pw")})
    for call in (lambda: fsd(ctx, request, "Main"),
                 lambda: instcmd(ctx, request, "Main", "test.battery.start"),
                 lambda: set_variable(ctx, request, "Main", "ups.id")):
        assert await _refused(call) == (400, {"error": "INVALID-ARGUMENT",
                                              "message": message})
    assert not ups.fsd


# ---- settings -------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "sent"), [("200", "200"), (200, "200"), ("", ""),
                                             (204.0, "204.0")])
async def test_a_setting_reaches_the_driver_under_the_variables_own_name(
        value: object, sent: str) -> None:
    store, ups = _store()
    ctx = http_context(store)
    ups.set("input.transfer.low", "208", writable=True)
    ups.set_enums("input.transfer.low", [])
    response, request = await _answered(
        ups, lambda: set_variable(ctx, json_write({"value": value}, peer="127.0.0.9"),
                                       "MAIN", "Input.Transfer.LOW"))
    assert (response.status, body_of(response)) == (200, {"result": "SUCCESS"})
    assert isinstance(request, SetVar)
    assert (request.variable, request.value) == ("input.transfer.low", sent)
    assert _origin(request) == Origin("admin", "127.0.0.9", "http")


async def test_a_string_fills_its_length_exactly() -> None:
    store, ups = _store()
    ctx = http_context(store)
    response, request = await _answered(
        ups, lambda: set_variable(ctx, json_write({"value": "12345678"}), "Main",
                                       "ups.id"))
    assert response.status == 200 and isinstance(request, SetVar)
    assert (request.variable, request.value) == ("ups.id", "12345678")


NOT_A_VALUE = {"error": "INVALID-ARGUMENT", "message": "'value' must be a string or a number"}


@pytest.mark.parametrize(("request_", "ups", "variable", "status", "body"), [
    (http_request("POST", body=b'{"value": "1"}'), "Main", "ups.id", 415, WRONG_TYPE),
    (json_write({}, None), "Main", "ups.id", 400, NOT_A_VALUE),
    (json_write({"value": None}, None), "Main", "ups.id", 400, NOT_A_VALUE),
    (json_write({"value": False}, None), "Main", "ups.id", 400, NOT_A_VALUE),
    (json_write({"value": [1]}, None), "Main", "ups.id", 400, NOT_A_VALUE),
    (json_write({"value": {"a": 1}}, None), "Main", "ups.id", 400, NOT_A_VALUE),
    (json_write({"value": "1"}, None), "Main", "ups.id", 401, UNREADABLE),
    (json_write({"value": "1"}), "nosuch", "ups.id", 404,
     {"error": "UNKNOWN-UPS", "message": "no UPS called 'nosuch'"}),
    (json_write({"value": "1"}, ("sec", "sp")), "cold", "ups.id", 503,
     {"error": "DRIVER-NOT-CONNECTED", "message": "cold: driver not connected"}),
    # the right before the variable
    (json_write({"value": "1"}, ("sec", "sp")), "Main", "no.such", 403,
     {"error": "ACCESS-DENIED", "message": "sec may not set variables"}),
    (json_write({"value": "1"}, ("mon", "mp")), "Main", "ups.id", 403,
     {"error": "ACCESS-DENIED", "message": "mon may not set variables"}),
    (json_write({"value": "1"}), "Main", "No.Such", 404,
     {"error": "VAR-NOT-SUPPORTED", "message": "Main has no variable 'No.Such'"}),
    (json_write({"value": "5"}), "Main", "BATTERY.charge", 409,
     {"error": "READONLY", "message": "battery.charge does not take '5'"}),
    (json_write({"value": "123456789"}), "Main", "ups.id", 400,
     {"error": "TOO-LONG", "message": "ups.id does not take '123456789'"}),
    (json_write({"value": 199}), "Main", "input.transfer.low", 400,
     {"error": "INVALID-VALUE", "message": "input.transfer.low does not take '199'"}),
])
async def test_a_setting_is_checked_in_upsds_order(
        request_: Request, ups: str, variable: str, status: int, body: dict[str, str]) -> None:
    store, _ = _store()
    ctx = http_context(store)
    assert await _refused(lambda: set_variable(ctx, request_, ups, variable)) == (status, body)


# ---- FSD ------------------------------------------------------------------------------


@pytest.mark.parametrize(("auth", "name"), [(("admin", "pw"), "Main"), (("mon", "mp"), "main"),
                                            (("admin", "pw"), "cold")])
async def test_fsd_by_a_user_with_the_right_even_on_a_ups_without_data(
        auth: tuple[str, str], name: str) -> None:
    store, _ = _store()
    ctx = http_context(store)
    request = http_request("POST", body=b"", headers={**JSON, "Authorization": basic(*auth)})
    response = await fsd(ctx, request, name)
    assert (response.status, json.loads(response.body)) == (200, {"result": "SUCCESS",
                                                                   "fsd": True})
    ups = store.get(name)
    assert ups is not None and ups.fsd


@pytest.mark.parametrize(("request_", "ups", "status", "body"), [
    (http_request("POST"), "Main", 415, WRONG_TYPE),
    (json_write({}, None), "Main", 401, UNREADABLE),
    (json_write({}), "nosuch", 404, {"error": "UNKNOWN-UPS",
                                     "message": "no UPS called 'nosuch'"}),
    (json_write({}, ("sec", "sp")), "Main", 403,
     {"error": "ACCESS-DENIED", "message": "sec may not set FSD"}),
])
async def test_fsd_refused(request_: Request, ups: str, status: int,
                           body: dict[str, str]) -> None:
    store, main = _store()
    ctx = http_context(store)
    assert await _refused(lambda: fsd(ctx, request_, ups)) == (status, body)
    assert not main.fsd
