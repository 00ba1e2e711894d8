"""What happened: ``/api/v1/history`` (the charts' samples) and ``/api/v1/log`` (the event
log), as JSON or, with ``?format=csv``, as CSV to export.

``/api/v1/log`` without ``range`` answers from the recent entries in memory
(``after=`` an id lets a client ask only for what is new); with ``range``
(hour, day, week, month) from the history file, as far back as it keeps.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from nutpy.frontends.http.api import find_ups, int_param
from nutpy.frontends.http.context import HttpContext
from nutpy.frontends.http.responses import HttpError, json_response
from nutpy.frontends.http.server import Request, Response
from nutpy.history.chronicle import Entry
from nutpy.history.keeper import RANGES, SERIES, History

__all__ = ["entry_json", "get_history", "get_log"]


def entry_json(number: int, entry: Entry) -> dict[str, Any]:
    return {"id": number, "at": entry.at, "ups": entry.ups, "kind": entry.kind.value,
            "message": entry.message, "details": dict(entry.details)}


def _format(request: Request) -> str:
    text = request.param("format") or "json"
    if text not in ("json", "csv"):
        raise HttpError(400, "INVALID-ARGUMENT", "format is json or csv")
    return text


def _span(request: Request, default: str | None) -> float | None:
    text = request.param("range") or default
    if text is None:
        return None
    if text not in RANGES:
        raise HttpError(400, "INVALID-ARGUMENT", f"range is one of {', '.join(RANGES)}")
    return float(RANGES[text])


def _history(ctx: HttpContext) -> History:
    if ctx.history is None:
        raise HttpError(404, "FEATURE-NOT-CONFIGURED",
                        "no history is kept (HISTORY off in nutpy.conf, or its file could "
                        "not be opened: see the log)")
    return ctx.history


def _csv(rows: list[list[Any]], name: str) -> Response:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return Response(200, out.getvalue().encode(), "text/csv; charset=utf-8",
                    [("Content-Disposition", f'attachment; filename="{name}.csv"')])


async def get_history(ctx: HttpContext, request: Request) -> Response:
    """``?ups=`` (required), ``range`` (hour), ``series`` (comma-separated), ``format``."""
    name = request.param("ups")
    if name is None:
        raise HttpError(400, "INVALID-ARGUMENT", "which UPS? (?ups=NAME)")
    ups = find_ups(ctx, name)
    span = _span(request, "hour")
    assert span is not None
    wanted = [s for text in request.query.get("series", []) for s in text.split(",") if s]
    unknown = set(wanted) - set(SERIES)
    if unknown:
        raise HttpError(400, "INVALID-ARGUMENT", f"no history of {', '.join(sorted(unknown))}"
                        f"; kept: {', '.join(SERIES)}")
    fmt = _format(request)
    series = await _history(ctx).series(ups.name, wanted or list(SERIES), span)
    if fmt == "csv":
        return _csv([["time", "variable", "value"],
                     *([f"{t:.0f}", var, "" if v is None else f"{v:g}"]
                       for var, points in series.items() for t, v in points)],
                    f"{ups.name}-history")
    until = ctx.store.wall()
    return json_response({"ups": ups.name, "range": request.param("range") or "hour",
                          "from": until - span, "to": until,
                          "series": {var: [[t, v] for t, v in points]
                                     for var, points in series.items()}})


async def get_log(ctx: HttpContext, request: Request) -> Response:
    """``?ups=``, ``limit``, ``after`` (an id) or ``range``, ``format``."""
    name = request.param("ups")
    if name is not None:
        name = find_ups(ctx, name).name
    limit = int_param(request, "limit", 100, 1, 10_000)
    fmt = _format(request)
    span = _span(request, None)
    after = int_param(request, "after", 0, 0, 2**62)
    if span is None:
        entries = ctx.recorder.recent(name, limit=limit, after=after)
    elif request.param("after") is not None:
        raise HttpError(400, "INVALID-ARGUMENT", "after (an id of the recent entries) "
                        "and range (the history file) do not go together")
    else:
        entries = await _history(ctx).entries(name, span, limit)
    if fmt == "csv":
        return _csv([["id", "time", "ups", "kind", "message"],
                     *([n, f"{e.at:.3f}", e.ups or "", e.kind.value, e.message]
                       for n, e in entries)], "nutpy-events")
    return json_response({"entries": [entry_json(n, e) for n, e in entries]})
