"""The dashboard: one HTML page for every view, and the files it loads, from ``static/``.

The page is the same at ``/`` (every UPS at a glance) and at ``/ups/<name>``
(one UPS); its script (``static/dashboard.js``) reads the path, draws the view
from the event stream and the JSON API, and moves between views without a
reload.  Everything it loads ships in this package, so it asks no other host:
many UPS hosts have no internet.

The page is built from untrusted text (a UPS's variables, its description):
the script only ever puts values into the page as text, never as markup, and
the ``Content-Security-Policy`` below lets the page run no script but these
files, inline or injected, so a value that slips through still cannot run.

Caching: every file has an ``ETag`` (a hash of its bytes) and
``Cache-Control: no-cache``: the browser keeps it, asks each time whether it
changed and gets a bodiless 304 when not, and after an upgrade it has the new
file at once (no stale script against a newer API).
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from importlib import resources

from nutpy.frontends.http.context import HttpContext
from nutpy.frontends.http.responses import HttpError
from nutpy.frontends.http.server import Request, Response

__all__ = ["CONTENT_TYPES", "POLICY", "asset", "page"]

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".txt": "text/plain; charset=utf-8",
}
POLICY = ("default-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; "
          "frame-ancestors 'none'")
_PAGE_HEADERS = [("Content-Security-Policy", POLICY), ("Referrer-Policy", "no-referrer"),
                 ("X-Frame-Options", "DENY")]
_PAGE = "index.html"


@dataclass(frozen=True)
class _File:
    body: bytes
    content_type: str
    etag: str


@functools.cache
def _files() -> dict[str, _File]:
    """The servable files of ``static/``, by name (read once: they ship with nutpy)."""
    found: dict[str, _File] = {}
    for item in (resources.files("nutpy.frontends.http") / "static").iterdir():
        suffix = "." + item.name.rpartition(".")[2]
        if item.is_file() and suffix in CONTENT_TYPES:
            body = item.read_bytes()
            found[item.name] = _File(body, CONTENT_TYPES[suffix],
                                     f'"{hashlib.sha256(body).hexdigest()[:20]}"')
    return found


def _unchanged(request: Request, etag: str) -> bool:
    wanted = request.header("if-none-match")
    if wanted is None:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in wanted.split(",")}
    return etag in tags or "*" in tags


def _send(request: Request, file: _File, status: int = 200,
          headers: list[tuple[str, str]] | None = None) -> Response:
    extra = [("ETag", file.etag), ("Cache-Control", "no-cache"), *(headers or [])]
    if status == 200 and _unchanged(request, file.etag):
        return Response(304, b"", file.content_type, extra)
    return Response(status, file.body, file.content_type, extra)


async def page(ctx: HttpContext, request: Request, name: str | None = None) -> Response:
    """The dashboard (404 for a UPS the server does not have: the page says so too)."""
    status = 200 if name is None or ctx.store.get(name) is not None else 404
    return _send(request, _files()[_PAGE], status, _PAGE_HEADERS)


async def asset(ctx: HttpContext, request: Request, file: str) -> Response:
    found = _files().get(file)
    if found is None or file == _PAGE:
        raise HttpError(404, "NOT-FOUND", f"no file {file!r} in the dashboard")
    return _send(request, found)
