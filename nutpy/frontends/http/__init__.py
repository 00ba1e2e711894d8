"""The HTTP front end: Prometheus metrics, the JSON API with pushed events, the dashboard.

``HTTP_LISTEN`` in nutpy.conf opens it (port 9199 by default); with CERTFILE
in upsd.conf it serves HTTPS.  h11 parses HTTP (:mod:`.server`); the table
below says what answers where.
"""

from __future__ import annotations

import json
import ssl

import trio

from nutpy.frontends.http import api, dashboard, past
from nutpy.frontends.http.context import HttpContext
from nutpy.frontends.http.events import events
from nutpy.frontends.http.metrics import Metrics
from nutpy.frontends.http.openapi import document
from nutpy.frontends.http.routes import Route, Router, wrap
from nutpy.frontends.http.server import Request, Response, serve_http
from nutpy.listening import ConnectionLimit

__all__ = ["DEFAULT_MAXCONN", "HttpContext", "router", "serve"]

DEFAULT_MAXCONN = 256


async def _openapi(ctx: HttpContext, request: Request) -> Response:
    return Response(200, json.dumps(document()).encode())


def router(ctx: HttpContext) -> Router:
    metrics = wrap(Metrics(ctx.store, ctx.descriptions).scrape)
    return Router(ctx, [
        Route("GET", "/metrics", metrics),
        Route("GET", "/ups_metrics", metrics),
        Route("GET", "/api/v1/ups", api.list_ups),
        Route("GET", "/api/v1/ups/{name}", api.get_ups),
        Route("POST", "/api/v1/ups/{name}/commands/{command}", api.instcmd),
        Route("PUT", "/api/v1/ups/{name}/variables/{variable}", api.set_variable),
        Route("POST", "/api/v1/ups/{name}/fsd", api.fsd),
        Route("GET", "/api/v1/log", past.get_log),
        Route("GET", "/api/v1/history", past.get_history),
        Route("GET", "/api/v1/events", events),
        Route("GET", "/api/v1/openapi.json", _openapi),
        Route("GET", "/", dashboard.page),
        Route("GET", "/ups/{name}", dashboard.page),
        Route("GET", "/static/{file}", dashboard.asset),
    ])


async def serve(ctx: HttpContext, listeners: list[trio.SocketListener],
                tls: ssl.SSLContext | None, maxconn: int = DEFAULT_MAXCONN) -> None:
    """Serve HTTP on ``listeners`` until cancelled."""
    def count(change: int) -> None:
        ctx.store.connections["http"] += change

    await serve_http(router(ctx), listeners, tls=tls,
                     limit=ConnectionLimit(maxconn, "HTTP connection limit"),
                     on_connection=count)
