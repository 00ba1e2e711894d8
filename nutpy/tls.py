"""The server's TLS context from upsd.conf's ``CERTFILE``, checked before it is needed.

upsd built with OpenSSL exits when its CERTFILE cannot be used; serving
plaintext instead would leave clients that require TLS failing in confusing
ways (or falling back).  So a CERTFILE that is missing, not a regular file
(a directory, ``/dev/zero``), without a certificate or without a key, with
an encrypted key or a key that does not match, is an error on the CERTFILE
line, and ``serve`` does not start.  A passphrase is never asked for: an
encrypted key is refused before OpenSSL could prompt on the terminal, which
would block start-up with nobody to answer.  A CERTFILE others may read is
warned about, as upsd's ``check_perms`` does.
"""

from __future__ import annotations

import os
import ssl
import stat
from pathlib import Path

from nutpy.config import Diagnostic, UpsdConf
from nutpy.config.files import read_regular

__all__ = ["TlsError", "server_context", "tls_problems"]

MAX_CERTFILE = 1024 * 1024  # a PEM chain is a few KiB


class TlsError(Exception):
    """CERTFILE (or CERTPATH) cannot be used; the message says why."""


def _refuse_passphrase() -> bytes:
    raise TlsError("the private key is encrypted, and nutpy never asks for a passphrase "
                   "(decrypt it: openssl pkey -in KEY -out KEY)")


def _check_pem(path: Path) -> None:
    try:
        data = read_regular(path, MAX_CERTFILE)
    except OSError as exc:
        raise TlsError(f"cannot read {path}: {exc.strerror or exc}") from None
    if b"-----BEGIN CERTIFICATE-----" not in data:
        raise TlsError(f"{path} holds no certificate (one PEM file: the certificate "
                       "chain, then the private key)")
    if b"PRIVATE KEY-----" not in data:
        raise TlsError(f"{path} holds no private key (one PEM file: the certificate "
                       "chain, then the private key)")
    if b"ENCRYPTED" in data:
        _refuse_passphrase()


def server_context(conf: UpsdConf) -> ssl.SSLContext | None:
    """The context for STARTTLS, None without CERTFILE; TlsError if it cannot be made."""
    if not conf.certfile:
        return None
    path = Path(conf.certfile)
    _check_pem(path)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        ctx.load_cert_chain(path, password=_refuse_passphrase)
    except ssl.SSLError as exc:
        raise TlsError(f"OpenSSL cannot use {path}: {exc.reason or exc} (is the key the "
                       "certificate's?)") from None
    ctx.minimum_version = (ssl.TLSVersion.TLSv1_2 if conf.disable_weak_ssl
                           else ssl.TLSVersion.MINIMUM_SUPPORTED)
    if conf.certrequest:
        ctx.verify_mode = ssl.CERT_REQUIRED if conf.certrequest >= 2 else ssl.CERT_OPTIONAL
        if conf.certpath:
            if not Path(conf.certpath).is_dir():
                raise TlsError(f"CERTPATH {conf.certpath} is not a directory")
            ctx.load_verify_locations(capath=conf.certpath)
        else:
            ctx.load_default_certs(ssl.Purpose.CLIENT_AUTH)
    return ctx


def tls_problems(conf: UpsdConf, path: str) -> list[Diagnostic]:
    """What ``check-config`` says about CERTFILE (``path``: upsd.conf)."""
    if not conf.certfile:
        return []
    lineno = conf.lines.get("CERTFILE", 0)
    try:
        server_context(conf)
    except TlsError as exc:
        key = "CERTPATH" if str(exc).startswith("CERTPATH") else "CERTFILE"
        return [Diagnostic(path, conf.lines.get(key, lineno), "error",
                           f"{exc}; serve will not start")]
    except OSError as exc:  # load_verify_locations, say
        return [Diagnostic(path, lineno, "error", f"TLS: {exc}; serve will not start")]
    if os.stat(conf.certfile).st_mode & (stat.S_IROTH | stat.S_IXOTH):
        return [Diagnostic(path, lineno, "warning", f"CERTFILE {conf.certfile} is readable "
                           "by everyone and holds the private key (chmod 600)")]
    return []
