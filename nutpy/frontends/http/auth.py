"""Who is asking: HTTP Basic credentials checked against upsd.users.

Rights are NUT's own (:class:`~nutpy.config.User`): a user who may not run a
command over the NUT protocol may not run it here.  Credentials are only
taken over HTTPS or from a loopback peer, unless ``HTTP_ALLOW_PLAIN_AUTH``
says otherwise: over plain HTTP from another host they would cross the
network readable.  Without TLS the server never asks a remote browser for a
password (no ``WWW-Authenticate`` challenge), so nobody is led to type one.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress

from nutpy.config import User
from nutpy.config.upsd_users import authenticate
from nutpy.frontends.http.context import HttpContext
from nutpy.frontends.http.responses import HttpError
from nutpy.frontends.http.server import Request

__all__ = ["is_loopback", "require_user"]

_CHALLENGE = [("WWW-Authenticate", 'Basic realm="nutpy", charset="UTF-8"')]


def is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return address == "local"  # a Unix socket


def _basic(header: str) -> tuple[str, str] | None:
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    name, colon, password = decoded.partition(":")
    return (name, password) if colon else None


def require_user(ctx: HttpContext, request: Request) -> User:
    """The authenticated user, or HttpError 401 / 403 saying why not."""
    if not request.tls and not is_loopback(request.peer) and not ctx.allow_plain_auth:
        raise HttpError(403, "INSECURE-TRANSPORT",
                        "credentials are not taken over plain HTTP from another host: "
                        "set CERTFILE in upsd.conf to serve HTTPS (or HTTP_ALLOW_PLAIN_AUTH "
                        "on in nutpy.conf)")
    header = request.header("authorization")
    pair = _basic(header) if header is not None else None
    if pair is None:
        raise HttpError(401, "USERNAME-REQUIRED", "HTTP Basic credentials from upsd.users "
                        "are needed", _CHALLENGE)
    user = authenticate(ctx.users, *pair)
    if user is None:
        raise HttpError(401, "ACCESS-DENIED", "wrong user name or password", _CHALLENGE)
    return user
