"""``/api/v1/history`` and ``/api/v1/log`` over a real history file: the exact JSON
and CSV a client gets, each parameter's default and both sides of each limit."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from nutpy.config.descriptions import Descriptions
from nutpy.frontends.http.context import HttpContext
from nutpy.frontends.http.past import get_history, get_log
from nutpy.frontends.http.responses import HttpError
from nutpy.frontends.http.server import Request, Response
from nutpy.history.chronicle import Entry, Kind
from nutpy.history.database import Sample
from nutpy.history.recorder import Recorder
from nutpy.store import Store
from tests.support.http_history import WALL, get, history_context

Handler = Callable[[HttpContext, Request], Awaitable[Response]]

SAMPLES: list[Sample] = [
    ("Main", "battery.charge", WALL - 100, 100.0),
    ("Main", "battery.charge", WALL - 97, 99.0),  # one 7.2 s slice of the hour with the above
    ("Main", "battery.charge", WALL - 50, None),  # the data went stale: a gap
    ("Main", "battery.charge", WALL - 20, 98.0),
    ("Main", "ups.load", WALL - 30, 12.5),
    ("Main", "input.voltage", WALL - 4000, 230.0),  # over an hour ago
    ("Other", "battery.charge", WALL - 40, 55.0),
]
ALL_SERIES = ["battery.charge", "battery.runtime", "ups.load", "input.voltage",
              "output.voltage", "ups.temperature"]


async def answer(handler: Handler, ctx: HttpContext, request: Request) -> Response:
    """The response, a refusal's too (the server turns HttpError into it)."""
    try:
        return await handler(ctx, request)
    except HttpError as refusal:
        return refusal.response


def body(response: Response) -> Any:
    assert response.content_type == "application/json"
    return json.loads(response.body)


def error(response: Response) -> tuple[int, str, str]:
    data = body(response)
    return response.status, data["error"], data["message"]


# ---- /api/v1/history ------------------------------------------------------------------


async def test_the_last_hour_of_every_series_by_default(tmp_path: Path) -> None:
    with history_context(tmp_path, SAMPLES) as ctx:
        reply = await answer(get_history, ctx, get(ups="main"))  # names fold case
    assert reply.status == 200
    data = body(reply)
    assert data == {
        "ups": "Main", "range": "hour", "from": WALL - 3600, "to": WALL,
        "series": {"battery.charge": [[WALL - 98.5, 99.5], [WALL - 50, None],
                                      [WALL - 20, 98.0]],
                   "battery.runtime": [], "ups.load": [[WALL - 30, 12.5]],
                   "input.voltage": [], "output.voltage": [], "ups.temperature": []}}
    assert list(data["series"]) == ALL_SERIES


@pytest.mark.parametrize(("range_", "span", "charge", "voltage"), [
    ("hour", 3600, [[WALL - 98.5, 99.5], [WALL - 50, None], [WALL - 20, 98.0]], []),
    ("day", 86400, [[WALL - 98.5, 99.5], [WALL - 50, None], [WALL - 20, 98.0]],
     [[WALL - 4000, 230.0]]),
    # Beyond a day: the five-minute means (the gap is left out of the mean).
    ("week", 604800, [[WALL - 300, 99.0]], [[WALL - 4200, 230.0]]),
    ("month", 2592000, [[WALL - 300, 99.0]], [[WALL - 4200, 230.0]]),
])
async def test_each_range_reads_back_that_far_raw_or_rolled_up(
        tmp_path: Path, range_: str, span: int, charge: list[list[float | None]],
        voltage: list[list[float]]) -> None:
    with history_context(tmp_path, SAMPLES, rolled_up=True) as ctx:
        reply = await answer(get_history, ctx, get(
            ups="Main", range=range_, series=["battery.charge,,input.voltage,", "ups.load"]))
    assert reply.status == 200
    data = body(reply)
    assert (data["range"], data["from"], data["to"]) == (range_, WALL - span, WALL)
    assert list(data["series"]) == ["battery.charge", "input.voltage", "ups.load"]
    assert data["series"]["battery.charge"] == charge
    assert data["series"]["input.voltage"] == voltage


async def test_history_as_csv(tmp_path: Path) -> None:
    with history_context(tmp_path, SAMPLES) as ctx:
        reply = await answer(get_history, ctx, get(ups="main", format="csv"))
    assert reply.status == 200
    assert reply.content_type == "text/csv; charset=utf-8"
    assert reply.headers == [("Content-Disposition", 'attachment; filename="Main-history.csv"')]
    assert reply.body == (b"time,variable,value\n"
                          b"1799999902,battery.charge,99.5\n"  # 1799999901.5, rounded half-even
                          b"1799999950,battery.charge,\n"
                          b"1799999980,battery.charge,98\n"
                          b"1799999970,ups.load,12.5\n")


async def test_history_csv_of_one_series_of_another_ups(tmp_path: Path) -> None:
    with history_context(tmp_path, SAMPLES) as ctx:
        reply = await answer(get_history, ctx, get(ups="Other", series="battery.charge",
                                                   format="csv", range="day"))
    assert reply.headers == [("Content-Disposition", 'attachment; filename="Other-history.csv"')]
    assert reply.body == b"time,variable,value\n1799999960,battery.charge,55\n"


@pytest.mark.parametrize(("query", "status", "code", "message"), [
    ({}, 400, "INVALID-ARGUMENT", "which UPS? (?ups=NAME)"),
    ({"ups": "nosuch"}, 404, "UNKNOWN-UPS", "no UPS called 'nosuch'"),
    ({"ups": "Main", "range": "year"}, 400, "INVALID-ARGUMENT",
     "range is one of hour, day, week, month"),
    ({"ups": "Main", "range": "Hour"}, 400, "INVALID-ARGUMENT",
     "range is one of hour, day, week, month"),
    ({"ups": "Main", "series": ["ups.status,battery.charge", "ups.model"]}, 400,
     "INVALID-ARGUMENT", "no history of ups.model, ups.status; kept: battery.charge, "
     "battery.runtime, ups.load, input.voltage, output.voltage, ups.temperature"),
    ({"ups": "Main", "format": "xml"}, 400, "INVALID-ARGUMENT", "format is json or csv"),
    ({"ups": "Main", "format": "CSV"}, 400, "INVALID-ARGUMENT", "format is json or csv"),
])
async def test_bad_history_questions_get_a_json_error(
        tmp_path: Path, query: dict[str, str | list[str]], status: int, code: str,
        message: str) -> None:
    with history_context(tmp_path, SAMPLES) as ctx:
        reply = await answer(get_history, ctx, get(**query))
    assert error(reply) == (status, code, message)


NO_HISTORY = ("no history is kept (HISTORY off in nutpy.conf, or its file could not be "
              "opened: see the log)")


async def test_without_a_history_file_history_is_not_configured() -> None:
    store = Store(wall=lambda: WALL)
    store.add("Main")
    ctx = HttpContext(store, {}, Descriptions(), Recorder(store))
    for handler, request in [(get_history, get(ups="Main")),
                             (get_history, get(ups="Main", format="csv")),
                             (get_log, get(range="hour"))]:
        reply = await answer(handler, ctx, request)
        assert error(reply) == (404, "FEATURE-NOT-CONFIGURED", NO_HISTORY)
    # The recent log is in memory: it needs no file.
    reply = await answer(get_log, ctx, get())
    assert (reply.status, body(reply)) == (200, {"entries": []})


# ---- /api/v1/log ----------------------------------------------------------------------

RECENT = [Entry(WALL - 10.25, None, Kind.SERVER_START, "nutpy started"),
          Entry(WALL - 5.5, "Main", Kind.POWER_FAILURE, "on battery, input 0 V",
                {"input.voltage": "0"}),
          Entry(WALL - 1, "Other", Kind.COMM_LOST, "communication lost")]
RECENT_JSON: list[dict[str, Any]] = [
    {"id": 1, "at": WALL - 10.25, "ups": None, "kind": "server-start",
     "message": "nutpy started", "details": {}},
    {"id": 2, "at": WALL - 5.5, "ups": "Main", "kind": "power-failure",
     "message": "on battery, input 0 V", "details": {"input.voltage": "0"}},
    {"id": 3, "at": WALL - 1, "ups": "Other", "kind": "comm-lost",
     "message": "communication lost", "details": {}}]


async def _log(tmp_path: Path, entries: list[Entry], **query: str) -> Response:
    """The answer to ``/api/v1/log?<query>`` with ``entries`` in the recorder's memory."""
    with history_context(tmp_path, [], KEPT) as ctx:
        for entry in entries:
            ctx.recorder.add(entry)
        return await answer(get_log, ctx, get(**query))


@pytest.mark.parametrize(("query", "ids"), [
    ({}, [1, 2, 3]),
    ({"format": "json"}, [1, 2, 3]),
    ({"ups": "MAIN"}, [1, 2]),  # that UPS's and the server's own
    ({"ups": "other"}, [1, 3]),
    ({"limit": "1"}, [3]),
    ({"limit": "2"}, [2, 3]),
    ({"limit": "10000"}, [1, 2, 3]),
    ({"after": "0"}, [1, 2, 3]),
    ({"after": "1"}, [2, 3]),
    ({"after": "2", "ups": "Main"}, []),
    ({"after": "4611686018427387904"}, []),
])
async def test_the_recent_log_from_memory(tmp_path: Path, query: dict[str, str],
                                          ids: list[int]) -> None:
    reply = await _log(tmp_path, RECENT, **query)
    assert reply.status == 200
    assert body(reply) == {"entries": [e for e in RECENT_JSON if e["id"] in ids]}


async def test_the_recent_log_gives_the_latest_100_by_default(tmp_path: Path) -> None:
    entries = [Entry(WALL - 200 + i, "Main", Kind.OVERLOAD, f"overload {i}") for i in range(101)]
    reply = await _log(tmp_path, entries)
    assert [e["id"] for e in body(reply)["entries"]] == list(range(2, 102))


async def test_the_log_as_csv(tmp_path: Path) -> None:
    reply = await _log(tmp_path, RECENT, format="csv")
    assert reply.status == 200
    assert reply.content_type == "text/csv; charset=utf-8"
    assert reply.headers == [("Content-Disposition", 'attachment; filename="nutpy-events.csv"')]
    assert reply.body == (b"id,time,ups,kind,message\n"
                          b"1,1799999989.750,,server-start,nutpy started\n"
                          b'2,1799999994.500,Main,power-failure,"on battery, input 0 V"\n'
                          b"3,1799999999.000,Other,comm-lost,communication lost\n")


@pytest.mark.parametrize(("query", "status", "code", "message"), [
    ({"ups": "nosuch"}, 404, "UNKNOWN-UPS", "no UPS called 'nosuch'"),
    ({"limit": "0"}, 400, "INVALID-ARGUMENT", "limit must be a number from 1 to 10000"),
    ({"limit": "10001"}, 400, "INVALID-ARGUMENT", "limit must be a number from 1 to 10000"),
    ({"after": "4611686018427387905"}, 400, "INVALID-ARGUMENT",
     "after must be a number from 0 to 4611686018427387904"),
    ({"format": "html"}, 400, "INVALID-ARGUMENT", "format is json or csv"),
    ({"range": "year"}, 400, "INVALID-ARGUMENT", "range is one of hour, day, week, month"),
])
async def test_bad_log_questions_get_a_json_error(tmp_path: Path, query: dict[str, str],
                                                  status: int, code: str, message: str) -> None:
    assert error(await _log(tmp_path, RECENT, **query)) == (status, code, message)


# Entries of the history file (from before a restart, say), apart from those in memory.
KEPT = [(7, Entry(WALL - 86401, None, Kind.SERVER_START, "nutpy started")),
        (8, Entry(WALL - 3601, "Other", Kind.COMM_LOST, "communication lost")),
        (9, Entry(WALL - 3599, "Main", Kind.POWER_RESTORED, "on line after 60 s",
                  {"seconds": "60"}))]
KEPT_JSON: dict[int, dict[str, Any]] = {
    7: {"id": 7, "at": WALL - 86401, "ups": None, "kind": "server-start",
        "message": "nutpy started", "details": {}},
    8: {"id": 8, "at": WALL - 3601, "ups": "Other", "kind": "comm-lost",
        "message": "communication lost", "details": {}},
    9: {"id": 9, "at": WALL - 3599, "ups": "Main", "kind": "power-restored",
        "message": "on line after 60 s", "details": {"seconds": "60"}}}


@pytest.mark.parametrize(("query", "ids"), [
    ({"range": "hour"}, [9]),
    ({"range": "day"}, [8, 9]),
    ({"range": "week"}, [7, 8, 9]),
    ({"range": "month"}, [7, 8, 9]),
    ({"range": "week", "ups": "main"}, [7, 9]),
    ({"range": "week", "limit": "2"}, [8, 9]),
])
async def test_a_range_reads_the_log_from_the_history_file(
        tmp_path: Path, query: dict[str, str], ids: list[int]) -> None:
    reply = await _log(tmp_path, RECENT, **query)
    assert reply.status == 200
    assert body(reply) == {"entries": [KEPT_JSON[n] for n in ids]}


async def test_a_range_of_the_log_as_csv(tmp_path: Path) -> None:
    reply = await _log(tmp_path, RECENT, range="day", format="csv")
    assert reply.headers == [("Content-Disposition", 'attachment; filename="nutpy-events.csv"')]
    assert reply.body == (b"id,time,ups,kind,message\n"
                          b"8,1799996399.000,Other,comm-lost,communication lost\n"
                          b"9,1799996401.000,Main,power-restored,on line after 60 s\n")
