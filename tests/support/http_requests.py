"""HTTP front-end requests and contexts built by hand, for calling handlers directly.

A handler takes an :class:`HttpContext` and a :class:`Request` and gives a
Response or raises :class:`HttpError`; these build both without a socket,
and read back what a client would see: the status, the JSON body, the headers.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from nutpy.config import parse_upsd_users
from nutpy.config.descriptions import Descriptions
from nutpy.frontends.http.context import HttpContext
from nutpy.frontends.http.responses import HttpError
from nutpy.frontends.http.server import Request, Response
from nutpy.history.recorder import Recorder
from nutpy.store import Store, UpsState
from tests.support.users import USERS

JSON = {"content-type": "application/json"}


def http_context(store: Store | None = None, *, users: bytes = USERS,
                 descriptions: Descriptions | None = None, allow_plain: bool = False,
                 command_timeout: float = 5) -> HttpContext:
    store = Store() if store is None else store
    parsed, diagnostics = parse_upsd_users(users, "upsd.users")
    assert not diagnostics
    return HttpContext(store, parsed, descriptions or Descriptions(), Recorder(store),
                       allow_plain, command_timeout)


def rack_ups(store: Store) -> UpsState:
    """The UPS the HTTP tests ask about: a read-only number, a number chosen from a
    list, a string of at most 8 characters, two commands (no driver attached yet)."""
    ups = store.add("Main", "The rack")
    ups.set("ups.status", "OL")
    ups.set("battery.charge", "100")
    ups.set("input.transfer.low", "208", writable=True)
    ups.set_enums("input.transfer.low", ["196", "200", "204", "208"])
    ups.set("ups.id", "RACK", writable=True, string=True, aux=8)
    ups.add_command("test.battery.start")
    ups.add_command("load.off")
    return ups


def basic(user: str, password: str) -> str:
    """An ``Authorization`` header's value for HTTP Basic."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def http_request(method: str = "GET", path: str = "/", *,
                 headers: dict[str, str] | None = None,
                 query: dict[str, list[str]] | None = None, body: bytes = b"",
                 peer: str = "127.0.0.1", tls: bool = False) -> Request:
    """A request as the server hands it over (header names in lower case)."""
    lowered = {name.lower(): value for name, value in (headers or {}).items()}
    return Request(method, path, query or {}, lowered, body, peer, tls)


def json_write(data: object, auth: tuple[str, str] | None = ("admin", "pw"), *,
               peer: str = "127.0.0.1") -> Request:
    """A POST with a JSON body, as the API's writes want it."""
    headers = dict(JSON)
    if auth is not None:
        headers["authorization"] = basic(*auth)
    return http_request("POST", body=json.dumps(data).encode(), headers=headers, peer=peer)


def body_of(response: Response) -> Any:
    assert response.content_type == "application/json"
    return json.loads(response.body)


def refusal(raised: pytest.ExceptionInfo[HttpError]) -> tuple[int, Any]:
    """The status and JSON body a client gets for a raised HttpError."""
    response = raised.value.response
    return response.status, body_of(response)
