"""Which handler answers which method and path.

Paths are matched segment by segment; ``{name}`` captures one segment
(percent-decoded, so a UPS name may hold any character).  A path that
exists with another method gets 405 and ``Allow``; an unknown path 404.
``HEAD`` is answered wherever ``GET`` is.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from nutpy.frontends.http.context import HttpContext
from nutpy.frontends.http.responses import HttpError, problem
from nutpy.frontends.http.server import Request, Response

__all__ = ["Route", "Router"]

RouteHandler = Callable[..., Awaitable[Response]]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: str
    handler: RouteHandler

    def match(self, path: str) -> dict[str, str] | None:
        want = self.pattern.strip("/").split("/")
        got = path.strip("/").split("/")
        if len(want) != len(got):
            return None
        captured: dict[str, str] = {}
        for pattern, segment in zip(want, got, strict=True):
            if pattern.startswith("{") and pattern.endswith("}"):
                if not segment:
                    return None
                captured[pattern[1:-1]] = segment
            elif pattern != segment:
                return None
        return captured


class Router:
    def __init__(self, ctx: HttpContext, routes: list[Route]) -> None:
        self.ctx = ctx
        self.routes = routes

    async def __call__(self, request: Request) -> Response:
        method = "GET" if request.method == "HEAD" else request.method
        allowed: list[str] = []
        for route in self.routes:
            params = route.match(request.path)
            if params is None:
                continue
            if route.method != method:
                allowed.append(route.method)
                continue
            try:
                return await route.handler(self.ctx, request, **params)
            except HttpError as exc:
                return exc.response
        if allowed:
            return problem(405, "INVALID-ARGUMENT", f"{request.path} takes "
                           f"{', '.join(sorted(set(allowed)))}",
                           [("Allow", ", ".join(sorted({*allowed, "HEAD"} if "GET" in allowed
                                                       else set(allowed))))])
        return problem(404, "NOT-FOUND", f"nothing at {request.path}")


def wrap(handler: Callable[[Request], Awaitable[Response]]) -> RouteHandler:
    """A handler that needs only the request (the metrics), as a route handler."""
    async def route(ctx: HttpContext, request: Request, **params: Any) -> Response:
        return await handler(request)

    return route
