"""apcupsd's real programs and a plain NIS client, for the apcupsd front end's tests.

Debian's apcupsd conflicts with nut-client, so ``make test`` unpacks the
package (and libusb-0.1, which apcupsd needs) into ``.cache/apcupsd`` instead
of installing it; the programs run from there with LD_LIBRARY_PATH.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

from tests.support import REPO
from tests.support.nut import Server, wait_for_port
from tests.support.nut import _stop as stop

UNPACKED = REPO / ".cache" / "apcupsd"


def program(name: str) -> Path:
    """``apcupsd``, ``apcaccess``... from the unpacked package."""
    path = UNPACKED / "sbin" / name
    if not path.exists():
        raise RuntimeError(f"{path} is missing: run `make test`, which unpacks Debian's "
                           "apcupsd there (it is never installed: it conflicts with "
                           "nut-client)")
    return path


def environment() -> dict[str, str]:
    libraries = [str(UNPACKED / d) for d in ("lib/x86_64-linux-gnu", "usr/lib/x86_64-linux-gnu",
                                             "lib", "usr/lib")]
    return {**os.environ, "LD_LIBRARY_PATH": ":".join(libraries)}


def apcaccess(port: int, *args: str, host: str = "127.0.0.1") -> subprocess.CompletedProcess[str]:
    """apcaccess 3.14.14 against ``host:port`` (it speaks IPv4 only)."""
    return subprocess.run([str(program("apcaccess")), *args, "-h", f"{host}:{port}"],
                          capture_output=True, text=True, timeout=30, env=environment())


@contextlib.contextmanager
def real_apcupsd(directory: Path, device: Path, port: int,
                 settings: dict[str, str] | None = None) -> Iterator[Server]:
    """apcupsd reading an APC Smart unit on ``device``, its NIS on 127.0.0.1:``port``."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "scripts").mkdir(exist_ok=True)
    conf = {"UPSCABLE": "smart", "UPSTYPE": "apcsmart", "DEVICE": str(device),
            "LOCKFILE": str(directory), "SCRIPTDIR": str(directory / "scripts"),
            "PWRFAILDIR": str(directory), "NOLOGINDIR": str(directory),
            "NETSERVER": "on", "NISIP": "127.0.0.1", "NISPORT": str(port),
            "EVENTSFILE": str(directory / "events"), "STATFILE": str(directory / "status"),
            **(settings or {})}
    path = directory / "apcupsd.conf"
    path.write_text("## apcupsd.conf v1.1 ##\n"
                    + "".join(f"{key} {value}\n" for key, value in conf.items()))
    log = directory / "apcupsd.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [str(program("apcupsd")), "-b", "-f", str(path), "-P", str(directory / "pid")],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=environment())
    server = Server(port, directory, [proc], [log])
    try:
        wait_for_port(port, proc=proc)
        yield server
    finally:
        stop(proc)


# ---- a plain client ---------------------------------------------------------------------

def records(sock: socket.socket) -> list[bytes]:
    """Read records up to the 0 record (AssertionError if the server closes first)."""
    found: list[bytes] = []
    while True:
        length = int.from_bytes(_exactly(sock, 2), "big")
        if length == 0:
            return found
        found.append(_exactly(sock, length))


def _exactly(sock: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        assert chunk, f"closed after {data!r}"
        data += chunk
    return data


def request(port: int, command: bytes, host: str = "127.0.0.1") -> list[bytes]:
    """One request on a fresh connection; the records of the answer."""
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(len(command).to_bytes(2, "big") + command)
        return records(sock)


def fields(lines: list[bytes]) -> dict[str, str]:
    """``status`` records as ``{KEY: value}``, in order (the value as sent, line end cut)."""
    out: dict[str, str] = {}
    for item in lines:
        key, _, value = item.decode("ascii").partition(": ")
        out[key.rstrip()] = value.removesuffix("\n")
    return out


def status(port: int, host: str = "127.0.0.1") -> dict[str, str]:
    return fields(request(port, b"status", host))


def events(port: int) -> list[str]:
    """The messages of ``events``, dates cut off."""
    return [item.decode("ascii").rstrip("\n").split("  ", 1)[1]
            for item in request(port, b"events")]
