"""Whose credentials the HTTP front end takes, and from where."""

from __future__ import annotations

import base64

import pytest

from nutpy.config import parse_upsd_users
from nutpy.config.descriptions import Descriptions
from nutpy.frontends.http.auth import is_loopback, require_user
from nutpy.frontends.http.context import HttpContext
from nutpy.frontends.http.responses import HttpError
from nutpy.frontends.http.server import Request
from nutpy.history.recorder import Recorder
from nutpy.store import Store


def _ctx(allow_plain: bool = False) -> HttpContext:
    users, _ = parse_upsd_users(b"[admin]\n  password = pw\n", "upsd.users")
    store = Store()
    return HttpContext(store, users, Descriptions(), Recorder(store), allow_plain)


def _request(peer: str, tls: bool, authorization: str | None) -> Request:
    headers = {} if authorization is None else {"authorization": authorization}
    return Request("POST", "/", {}, headers, b"", peer, tls)


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_loopback_addresses() -> None:
    assert all(map(is_loopback, ["127.0.0.1", "127.3.4.5", "::1", "local"]))
    assert not any(map(is_loopback, ["10.0.0.1", "::ffff:10.0.0.1", "fe80::1", "unknown"]))


@pytest.mark.parametrize(("peer", "tls", "allow_plain", "taken"), [
    ("127.0.0.1", False, False, True),
    ("::1", False, False, True),
    ("192.168.1.20", True, False, True),  # HTTPS
    ("192.168.1.20", False, False, False),  # plain HTTP over the network
    ("192.168.1.20", False, True, True),  # ...unless the admin says so
])
def test_credentials_cross_the_network_only_under_tls(peer: str, tls: bool,
                                                      allow_plain: bool, taken: bool) -> None:
    request = _request(peer, tls, basic("admin", "pw"))
    if taken:
        assert require_user(_ctx(allow_plain), request).name == "admin"
        return
    with pytest.raises(HttpError) as refused:
        require_user(_ctx(allow_plain), request)
    response = refused.value.response
    assert response.status == 403 and b"INSECURE-TRANSPORT" in response.body
    assert all(name.lower() != "www-authenticate" for name, _ in response.headers)


@pytest.mark.parametrize("header", [None, "Bearer abc", "Basic !!!", basic("admin", "no"),
                                    "Basic " + base64.b64encode(b"no-colon").decode()])
def test_missing_or_wrong_credentials_are_401_with_a_challenge(header: str | None) -> None:
    with pytest.raises(HttpError) as refused:
        require_user(_ctx(), _request("127.0.0.1", False, header))
    response = refused.value.response
    assert response.status == 401
    assert ("WWW-Authenticate", 'Basic realm="nutpy", charset="UTF-8"') in response.headers
