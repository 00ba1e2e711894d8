"""A CERTFILE that cannot be used stops start-up, as in upsd; it never serves plaintext.

Each unusable CERTFILE is one error on its upsd.conf line, the same from
``check-config`` and ``serve``, and ``serve`` exits.  ``serve`` runs here
on a terminal of its own, so a passphrase prompt would block it (and the
test would time out) instead of quietly failing for want of a terminal.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import socket
import ssl
import subprocess
import termios
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.nut import (
    free_port,
    make_certificate,
    nut_env,
    nutpy_command,
    nutpy_server,
    wait_until,
    write_config,
)

GOOD_UPS = "[good]\ndriver = dummy-ups\nport = u.dev\n"
DIAGNOSTIC = re.compile(r"(/\S+): (error|warning): (.*)$")


def _split(certfile: Path) -> tuple[bytes, bytes]:
    """(certificate, key) of a make_certificate CERTFILE."""
    data = certfile.read_bytes()
    at = data.index(b"-----BEGIN PRIVATE KEY-----")
    return data[:at], data[at:]


def _missing(directory: Path, certfile: Path) -> Path:
    return directory / "nothing-here.pem"


def _a_directory(directory: Path, certfile: Path) -> Path:
    (directory / "pem.d").mkdir()
    return directory / "pem.d"


def _cert_without_key(directory: Path, certfile: Path) -> Path:
    path = directory / "cert-only.pem"
    path.write_bytes(_split(certfile)[0])
    return path


def _key_without_cert(directory: Path, certfile: Path) -> Path:
    path = directory / "key-only.pem"
    path.write_bytes(_split(certfile)[1])
    return path


def _encrypted_key(directory: Path, certfile: Path) -> Path:
    cert, key = _split(certfile)
    (directory / "plain.key").write_bytes(key)
    openssl = shutil.which("openssl")
    assert openssl is not None
    encrypted = subprocess.run(
        [openssl, "pkey", "-in", str(directory / "plain.key"), "-aes256",
         "-passout", "pass:secret"], check=True, capture_output=True, timeout=20).stdout
    path = directory / "encrypted.pem"
    path.write_bytes(cert + encrypted)
    return path


def _mismatched_key(directory: Path, certfile: Path) -> Path:
    other, _ = make_certificate(directory / "other")
    path = directory / "mismatch.pem"
    path.write_bytes(_split(certfile)[0] + _split(other)[1])
    return path


def _dev_zero(directory: Path, certfile: Path) -> Path:
    return Path("/dev/zero")


UNUSABLE: dict[str, tuple[Callable[[Path, Path], Path], str]] = {
    "missing": (_missing, "No such file"),
    "directory": (_a_directory, "it is a directory"),
    "cert-without-key": (_cert_without_key, "holds no private key"),
    "key-without-cert": (_key_without_cert, "holds no certificate"),
    "encrypted-key": (_encrypted_key, "never asks for a passphrase"),
    "mismatched-key": (_mismatched_key, "OpenSSL cannot use"),
    "dev-zero": (_dev_zero, "it is a character device"),
}


def _on_a_terminal(command: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run ``command`` with a pty as its controlling terminal; (exit code, output).

    OpenSSL's passphrase prompt opens /dev/tty: with a terminal there, a
    prompt would wait for ever, and the time-out below fails the test.
    """
    controller, terminal = os.openpty()

    def take_terminal() -> None:
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    try:
        proc = subprocess.run(command, stdin=terminal, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, env=env, timeout=30,
                              preexec_fn=take_terminal)
    finally:
        os.close(terminal)
        os.close(controller)
    return proc.returncode, proc.stdout.decode(errors="replace")


def _diagnostics(text: str) -> list[str]:
    found = (DIAGNOSTIC.search(line) for line in text.splitlines())
    return sorted(m.group(0) for m in found if m)


@pytest.mark.parametrize("case", sorted(UNUSABLE))
def test_unusable_certfile_is_an_error_and_serve_refuses_to_start(tmp_path: Path,
                                                                  case: str) -> None:
    good, _ = make_certificate(tmp_path / "certs")
    make, words = UNUSABLE[case]
    certfile = make(tmp_path, good)
    confdir = tmp_path / "conf"
    write_config(confdir, ups_conf=GOOD_UPS, files={"u.dev": b"ups.status: OL\n"},
                 upsd_conf=f"LISTEN 127.0.0.1 {free_port()}\nCERTFILE {certfile}\n")
    checked = subprocess.run(nutpy_command("check-config", "-c", str(confdir)),
                             capture_output=True, text=True, timeout=20)
    problems = _diagnostics(checked.stdout)
    assert checked.returncode == 1
    assert len(problems) == 1 and problems[0].startswith(f"{confdir}/upsd.conf:2: error: ")
    assert words in problems[0], problems
    code, output = _on_a_terminal(nutpy_command("serve", "-c", str(confdir)), nut_env(confdir))
    assert code == 1, output
    assert _diagnostics(output) == problems
    assert "cannot start: CERTFILE" in output
    assert "listening on" not in output  # never a plaintext server in its place


def test_world_readable_certfile_is_warned_about_and_served(tmp_path: Path) -> None:
    certfile, cert = make_certificate(tmp_path / "certs")
    certfile.chmod(0o644)
    port = free_port()
    confdir = write_config(tmp_path / "conf", ups_conf=GOOD_UPS,
                           files={"u.dev": b"ups.status: OL\n"},
                           upsd_conf=f"LISTEN 127.0.0.1 {port}\nCERTFILE {certfile}\n")
    warning = (f"{confdir}/upsd.conf:2: warning: CERTFILE {certfile} is readable by "
               "everyone and holds the private key (chmod 600)")
    checked = subprocess.run(nutpy_command("check-config", "-c", str(confdir)),
                             capture_output=True, text=True, timeout=20)
    assert checked.returncode == 0 and _diagnostics(checked.stdout) == [warning]
    with nutpy_server(confdir, port) as server:
        assert wait_until(lambda: warning in server.log_text())
        assert wait_until(lambda: _status_over_tls(port, cert) == b'VAR good ups.status "OL"\n')


def _status_over_tls(port: int, cert: Path) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        raw.sendall(b"STARTTLS\n")
        assert raw.recv(100) == b"OK STARTTLS\n"
        context = ssl.create_default_context(cafile=str(cert))
        with context.wrap_socket(raw, server_hostname="localhost") as tls:
            tls.sendall(b"GET VAR good ups.status\n")
            return tls.recv(100)
