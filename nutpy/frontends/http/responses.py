"""JSON bodies and the error shape every endpoint uses: ``{"error": CODE, "message": text}``.

Where the NUT protocol has an error code for the same refusal, ``error`` is
that code (``UNKNOWN-UPS``, ``ACCESS-DENIED``, ``DATA-STALE``...), so a
client can treat both front ends alike.
"""

from __future__ import annotations

import json
from typing import Any

from nutpy.frontends.http.server import Response

__all__ = ["HttpError", "json_response", "problem"]


def json_response(data: Any, status: int = 200,
                  headers: list[tuple[str, str]] | None = None) -> Response:
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(status, body, "application/json", headers or [])


def problem(status: int, code: str, message: str,
            headers: list[tuple[str, str]] | None = None) -> Response:
    return json_response({"error": code, "message": message}, status, headers)


class HttpError(Exception):
    """Raised inside a handler to answer with :func:`problem`."""

    def __init__(self, status: int, code: str, message: str,
                 headers: list[tuple[str, str]] | None = None) -> None:
        super().__init__(message)
        self.response = problem(status, code, message, headers)
