"""Whose credentials the HTTP front end takes, and from where."""

from __future__ import annotations

import base64

import pytest

from nutpy.frontends.http.auth import is_loopback, require_user
from nutpy.frontends.http.responses import HttpError
from nutpy.frontends.http.server import Request
from tests.support.http_requests import basic, http_context, http_request, refusal

CHALLENGE = ("WWW-Authenticate", 'Basic realm="nutpy", charset="UTF-8"')
USERS = b"[admin]\n  password = pw\n[colon]\n  password = p:w\n"


def _request(peer: str, tls: bool, authorization: str | None) -> Request:
    headers = {} if authorization is None else {"Authorization": authorization}
    return http_request("POST", headers=headers, peer=peer, tls=tls)


def _encoded(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def test_loopback_addresses() -> None:
    assert all(map(is_loopback, ["127.0.0.1", "127.3.4.5", "::1", "local"]))
    assert not any(map(is_loopback, ["10.0.0.1", "::ffff:10.0.0.1", "fe80::1", "unknown"]))


@pytest.mark.parametrize(("peer", "tls", "allow_plain", "taken"), [
    ("127.0.0.1", False, False, True),
    ("::1", False, False, True),
    ("local", False, False, True),  # a Unix socket
    ("192.168.1.20", True, False, True),  # HTTPS
    ("192.168.1.20", False, False, False),  # plain HTTP over the network
    ("192.168.1.20", False, True, True),  # ...unless the admin says so
])
def test_credentials_cross_the_network_only_under_tls(peer: str, tls: bool,
                                                      allow_plain: bool, taken: bool) -> None:
    request = _request(peer, tls, basic("admin", "pw"))
    ctx = http_context(users=USERS, allow_plain=allow_plain)
    if taken:
        assert require_user(ctx, request).name == "admin"
        return
    with pytest.raises(HttpError) as refused:
        require_user(ctx, request)
    assert refusal(refused) == (403, {
        "error": "INSECURE-TRANSPORT",
        "message": "credentials are not taken over plain HTTP from another host: set "
                   "CERTFILE in upsd.conf to serve HTTPS (or HTTP_ALLOW_PLAIN_AUTH on in "
                   "nutpy.conf)"})
    assert refused.value.response.headers == []  # no challenge: nobody is asked to type one


@pytest.mark.parametrize("header", [
    None, "Bearer abc", "Basic !!!", "Basic", "",
    "Basic " + _encoded(b"no-colon"),
    "Basic " + _encoded(b"admin:\xffpw"),  # not UTF-8
    "Basic YWRt!aW46cHc=",  # admin:pw with a stray character: strict base64 refuses it
    "Basic YWRtaW46cHc",  # admin:pw without its padding
    "Basicx " + _encoded(b"admin:pw"),
    "Digest " + _encoded(b"admin:pw"),
])
def test_missing_or_unreadable_credentials_are_401_username_required(
        header: str | None) -> None:
    with pytest.raises(HttpError) as refused:
        require_user(http_context(users=USERS), _request("127.0.0.1", False, header))
    assert refusal(refused) == (401, {
        "error": "USERNAME-REQUIRED",
        "message": "HTTP Basic credentials from upsd.users are needed"})
    assert refused.value.response.headers == [CHALLENGE]


@pytest.mark.parametrize("pair", [("admin", "no"), ("admin", ""), ("nobody", "pw"),
                                  ("colon", "p"), ("admin", "pw "), ("Admin", "pw")])
def test_wrong_credentials_are_401_access_denied(pair: tuple[str, str]) -> None:
    with pytest.raises(HttpError) as refused:
        require_user(http_context(users=USERS), _request("::1", False, basic(*pair)))
    assert refusal(refused) == (401, {"error": "ACCESS-DENIED",
                                      "message": "wrong user name or password"})
    assert refused.value.response.headers == [CHALLENGE]


@pytest.mark.parametrize(("header", "user"), [
    ("basic " + _encoded(b"admin:pw"), "admin"),  # the scheme is case-insensitive
    ("BASIC " + _encoded(b"admin:pw"), "admin"),
    ("  Basic " + _encoded(b"admin:pw") + "  ", "admin"),  # blanks around the header
    ("Basic    " + _encoded(b"admin:pw"), "admin"),  # several blanks after the scheme
    ("Basic " + _encoded(b"colon:p:w"), "colon"),  # the password may hold a colon
])
def test_well_formed_credentials_are_taken(header: str, user: str) -> None:
    assert require_user(http_context(users=USERS), _request("127.0.0.1", False, header)).name \
        == user
