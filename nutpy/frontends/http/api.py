"""The JSON API under ``/api/v1/``: the UPSes as the store has them, and writes back.

Reads need no credentials, as in upsd.  Writes (an instant command, a
variable, FSD) need HTTP Basic credentials of upsd.users and the same right
the NUT protocol asks for, checked in upsd's order, and they wait for the
driver's answer: the reply says SUCCESS, FAILED, INVALID or UNKNOWN as
``GET TRACKING`` would, or PENDING when the driver did not answer in time.

A write must come as ``Content-Type: application/json``: a cross-site HTML
form cannot send that without the browser asking first (CORS), and this
server never says yes, so another web page cannot make a visitor's browser
switch a UPS off.
"""

from __future__ import annotations

import json
import math
from typing import Any, NoReturn

from nutpy.frontends.http.auth import require_user
from nutpy.frontends.http.context import HttpContext
from nutpy.frontends.http.responses import HttpError, json_response
from nutpy.frontends.http.server import Request, Response
from nutpy.store import (
    Availability,
    InstCmd,
    Origin,
    Refusal,
    RequestRefused,
    Result,
    SetVar,
    UpsState,
    Variable,
)
from nutpy.store import (
    Request as DriverRequest,
)

__all__ = ["find_ups", "fsd", "get_ups", "get_ups_data", "instcmd", "int_param", "list_ups",
           "set_variable", "ups_summary", "variable_json"]

NO_DESCRIPTION = "Description unavailable"  # what upsd says too
_STATUS = {Result.SUCCESS: 200, Result.INVALID: 400, Result.FAILED: 502, Result.UNKNOWN: 502}


def variable_json(ctx: HttpContext, var: Variable, shown: str) -> dict[str, Any]:
    """One variable as ``GET TYPE``, ``LIST ENUM``, ``LIST RANGE`` and ``GET DESC`` see it."""
    data: dict[str, Any] = {
        "value": shown,
        "type": "string" if var.string else "number",
        "writable": var.writable,
        "description": ctx.descriptions.variable(var.name) or NO_DESCRIPTION,
    }
    if var.string:
        data["max_length"] = var.aux
    if var.enums:
        data["enum"] = list(var.enums)
    if var.ranges:
        data["range"] = [[lo, hi] for lo, hi in var.ranges]
    return data


def ups_summary(ctx: HttpContext, ups: UpsState) -> dict[str, Any]:
    """What a list of UPSes shows of each: identity, status and freshness."""
    availability = ups.availability()
    age = ups.age()
    store = ctx.store
    return {
        "name": ups.name,
        "description": ups.desc,
        "availability": availability.value,
        "stale": availability is not Availability.OK,
        "status": list(ups.flags()),
        "fsd": ups.fsd,
        "age": round(age, 3) if age is not None else None,
        "last_update": round(store.wall() - age, 3) if age is not None else None,
        "status_changed": ups.status_changed,
        "clients": len(ups.logins),
    }


def find_ups(ctx: HttpContext, name: str) -> UpsState:
    ups = ctx.store.get(name)
    if ups is None:
        raise HttpError(404, "UNKNOWN-UPS", f"no UPS called {name!r}")
    return ups


def _available(ctx: HttpContext, name: str) -> UpsState:
    """The UPS, if its driver can be asked something now (upsd's check before a write)."""
    ups = find_ups(ctx, name)
    availability = ups.availability()
    if availability is not Availability.OK:
        raise HttpError(503, availability.value,
                        f"{ups.name}: {availability.value.lower().replace('-', ' ')}")
    return ups


async def list_ups(ctx: HttpContext, request: Request) -> Response:
    return json_response({"ups": [ups_summary(ctx, ups) for ups in ctx.store]})


async def get_ups(ctx: HttpContext, request: Request, name: str) -> Response:
    return json_response(get_ups_data(ctx, find_ups(ctx, name)))


def get_ups_data(ctx: HttpContext, ups: UpsState) -> dict[str, Any]:
    """Everything about one UPS: its summary, variables, commands, clients, link."""
    data = ups_summary(ctx, ups)
    data["clients"] = [{"address": address} for address in reversed(ups.logins.values())]
    data["numlogins"] = len(ups.logins)
    data["variables"] = {
        var.name: variable_json(ctx, var, ups.shown(var))
        for var in sorted(ups.variables.values(), key=lambda v: v.name.lower())}
    data["commands"] = [
        {"name": command, "description": ctx.descriptions.command(command) or NO_DESCRIPTION}
        for command in sorted(ups.commands.values(), key=str.lower)]
    data["link"] = {"errors": ups.stats.errors, "recoveries": ups.stats.recoveries,
                    "poll_seconds": ups.stats.poll_seconds}
    return data


def int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    text = request.param(name)
    if text is None:
        return default
    if not text.isascii() or not text.isdigit() or not low <= int(text) <= high:
        raise HttpError(400, "INVALID-ARGUMENT", f"{name} must be a number from {low} to "
                        f"{high}")
    return int(text)


# ---- writes ---------------------------------------------------------------------------


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is beyond the range of a double")
    return value


def _no_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON value")


def _json_body(request: Request) -> dict[str, Any]:
    content_type = (request.header("content-type") or "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise HttpError(415, "INVALID-ARGUMENT",
                        "a write needs a JSON body (Content-Type: application/json)")
    try:
        # Python's parser takes NaN and Infinity, and reads 1e400 as inf: none is a
        # value a UPS could be set to, nor RFC 8259 JSON.
        body = json.loads(request.body or b"{}", parse_float=_finite,
                          parse_constant=_no_constant)
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError and the two above
        raise HttpError(400, "INVALID-ARGUMENT", f"the body is not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise HttpError(400, "INVALID-ARGUMENT", "the body must be a JSON object")
    return body


def _string_field(body: dict[str, Any], name: str, required: bool) -> str | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise HttpError(400, "INVALID-ARGUMENT", f"'{name}' must be a string or a number")
    return str(value)


async def instcmd(ctx: HttpContext, request: Request, name: str, command: str) -> Response:
    body = _json_body(request)
    param = _string_field(body, "param", required=False)
    user = require_user(ctx, request)
    ups = _available(ctx, name)
    canonical = ups.commands.get(command.lower())
    if canonical is None:
        raise HttpError(404, "CMD-NOT-SUPPORTED", f"{ups.name} has no command {command!r}")
    if not user.may_run(canonical):
        raise HttpError(403, "ACCESS-DENIED", f"{user.name} may not run {canonical}")
    origin = Origin(user.name, request.peer, "http")
    return await _submit(ctx, ups, InstCmd(canonical, param, origin=origin), "INSTCMD-FAILED")


async def set_variable(ctx: HttpContext, request: Request, name: str,
                       variable: str) -> Response:
    body = _json_body(request)
    value = _string_field(body, "value", required=True)
    assert value is not None
    user = require_user(ctx, request)
    ups = _available(ctx, name)
    if not user.may("SET"):
        raise HttpError(403, "ACCESS-DENIED", f"{user.name} may not set variables")
    var = ups.get(variable)
    if var is None:
        raise HttpError(404, "VAR-NOT-SUPPORTED", f"{ups.name} has no variable {variable!r}")
    refusal = var.refusal(value)
    if refusal is not None:
        raise HttpError(409 if refusal is Refusal.READONLY else 400, refusal.value,
                        f"{var.name} does not take {value!r}")
    origin = Origin(user.name, request.peer, "http")
    return await _submit(ctx, ups, SetVar(var.name, value, origin=origin), "SET-FAILED")


async def fsd(ctx: HttpContext, request: Request, name: str) -> Response:
    _json_body(request)
    user = require_user(ctx, request)
    ups = find_ups(ctx, name)
    if not user.may("FSD"):
        raise HttpError(403, "ACCESS-DENIED", f"{user.name} may not set FSD")
    ups.set_fsd()
    return json_response({"result": "SUCCESS", "fsd": True})


async def _submit(ctx: HttpContext, ups: UpsState, request: DriverRequest,
                  failed: str) -> Response:
    try:
        result = await ups.execute(request, ctx.command_timeout)
    except RequestRefused as exc:
        raise HttpError(503, failed, f"{ups.name}: {exc}") from exc
    if result is None:
        return json_response({"result": "PENDING", "message": "the driver did not answer "
                              f"within {ctx.command_timeout:g} s"}, 504)
    return json_response({"result": result.name}, _STATUS[result])
