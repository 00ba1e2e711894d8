"""Hostile clients on the apcupsd port never slow a NUT client.

While fuzzed records, lengths that lie, partial records, a million-byte
record, clients that never read and idle ones (more than the port's
connection limit) hit nutpy's NIS port, a well-behaved NUT client's
``GET VAR`` round trips must stay under 50 ms, every answer the NIS port gives
must be well framed, and the port must answer ``status`` again afterwards.
"""

from __future__ import annotations

import contextlib
import random
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from nutpy.frontends.nis.server import MAX_CONNECTIONS
from tests.support import FIXTURES
from tests.support.apcupsd import status
from tests.support.nut import (
    Server,
    free_port,
    nutpy_server,
    wait_for_port,
    wait_until,
    write_config,
)
from tests.support.probe import LATENCY_BOUND, Probe

# After the parallel run, on its own: it times every GET VAR against LATENCY_BOUND.
pytestmark = pytest.mark.alone

FUZZ_THREADS = 8
HELD = 10  # of each kind of stalling client in the fuzz round (under the limit together)
IDLE = 500  # well over MAX_CONNECTIONS


@dataclass
class Rig:
    server: Server
    nis_port: int


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    directory = tmp_path_factory.mktemp("nis-hostile")
    port, nis_port = free_port(), free_port()
    write_config(directory, ups_conf="[dummy]\n  driver = dummy-ups\n  port = ups.dev\n",
                 upsd_conf=f"LISTEN 127.0.0.1 {port}\n",
                 files={"ups.dev": (FIXTURES / "smart-ups-1500.dev").read_bytes(),
                        "nutpy.conf": f"NIS_LISTEN dummy 127.0.0.1 {nis_port}\n".encode()})
    with nutpy_server(directory, port) as server:
        wait_for_port(nis_port, proc=server.procs[0])
        assert wait_until(lambda: status(nis_port)["STATUS"] == "ONLINE ", timeout=20)
        yield Rig(server, nis_port)
        text = server.log_text()
        assert "Traceback" not in text and " ERROR:" not in text, text[-3000:]


def well_framed(data: bytes) -> str | None:
    """What is wrong with what the NIS port sent, if anything (it may stop mid-reply
    only if it closed: the caller knows)."""
    while len(data) >= 2:
        length = int.from_bytes(data[:2], "big")
        body, data = data[2:2 + length], data[2 + length:]
        if length and len(body) < length:
            return None  # cut short by our own close
        if length >= 256:
            return f"a record of {length} bytes"
        if b"\0" in body[:-1] or (body.endswith(b"\0") and body not in (
                b"Invalid command\n\0", b"Not available\n\0")):
            return f"a NUL inside {body!r}"
    return None


def _fuzz_input(rng: random.Random) -> bytes:
    kind = rng.randrange(6)
    if kind == 0:  # a length that lies: more announced than sent
        return rng.randrange(1, 257).to_bytes(2, "big") + rng.randbytes(rng.randrange(1, 5))
    if kind == 1:  # a million bytes behind the largest length
        return b"\xff\xff" + rng.randbytes(1_000_000)
    if kind == 2:  # requests, valid and not, pipelined
        return b"".join(len(r).to_bytes(2, "big") + r for r in rng.choices(
            [b"status", b"events", b"statu", b"x" * 256, rng.randbytes(9)], k=20))
    if kind == 3:  # half a length
        return rng.randbytes(1)
    return rng.randbytes(rng.randrange(2, 600))  # noise


@dataclass
class Load:
    stop: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)
    held: list[socket.socket] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    connections: int = 0

    def start(self, target: object, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)  # type: ignore[arg-type]
        self.threads.append(thread)
        thread.start()

    def end(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(20)
        for sock in self.held:
            sock.close()


def _fuzzer(load: Load, port: int, seed: int) -> None:
    rng = random.Random(seed)
    while not load.stop.is_set():
        data = _fuzz_input(rng)
        with contextlib.suppress(OSError), \
                socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.settimeout(0.3)
            with contextlib.suppress(OSError):
                sock.sendall(data)
            received = b""
            with contextlib.suppress(OSError):
                while chunk := sock.recv(65536):
                    received += chunk
            if (wrong := well_framed(received)) is not None:
                load.problems.append(f"{data[:40]!r}: {wrong}")
            load.connections += 1


def _knocker(load: Load, port: int) -> None:
    """Connect again and again to a full port: each is closed at once, unserved."""
    while not load.stop.is_set():
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.settimeout(2)
            try:
                answer = sock.recv(10)
            except ConnectionResetError:
                answer = b""
            if answer:
                load.problems.append(f"served beyond the limit: {answer!r}")
            load.connections += 1


def test_fuzz_and_stalling_clients_do_not_delay_get_var(rig: Rig) -> None:
    load = Load()
    port = rig.nis_port
    for i in range(HELD):
        lying = socket.create_connection(("127.0.0.1", port), timeout=5)
        lying.sendall(b"\x00\xc8sta")  # 200 bytes announced, 3 sent, then silence
        greedy = socket.create_connection(("127.0.0.1", port), timeout=5)
        greedy.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        greedy.settimeout(0.5)
        with contextlib.suppress(TimeoutError):  # asks for ever, never reads
            greedy.sendall(b"\x00\x06status" * 20_000)
        load.held += [lying, greedy, socket.create_connection(("127.0.0.1", port))]
        assert i < MAX_CONNECTIONS
    for seed in range(FUZZ_THREADS):
        load.start(_fuzzer, load, port, seed)
    probe = Probe(rig.server.port)
    try:
        worst = probe.worst()
    finally:
        load.end()
        probe.close()
    assert load.connections > 50, load.connections
    assert not load.problems, load.problems[:5]
    assert worst < LATENCY_BOUND, f"slowest GET VAR took {worst * 1000:.1f} ms"
    assert status(port)["STATUS"] == "ONLINE "


def test_idle_clients_beyond_the_connection_limit_do_not_delay_get_var(rig: Rig) -> None:
    probe = Probe(rig.server.port)
    idle: list[socket.socket] = []
    try:
        for _ in range(IDLE):
            idle.append(socket.create_connection(("127.0.0.1", rig.nis_port), timeout=5))
        refused = 0
        for sock in idle[MAX_CONNECTIONS + 10:]:  # past the limit: closed at once
            sock.settimeout(2)
            try:
                refused += sock.recv(10) == b""
            except ConnectionResetError:
                refused += 1
        load = Load()
        load.start(_knocker, load, rig.nis_port)  # more keep coming while the port is full
        try:
            worst = probe.worst()
        finally:
            load.end()
        assert load.connections > 50, load.connections
    finally:
        for sock in idle:
            sock.close()
        probe.close()
    assert refused == IDLE - MAX_CONNECTIONS - 10
    assert not load.problems, load.problems[:3]
    assert worst < LATENCY_BOUND, f"slowest GET VAR took {worst * 1000:.1f} ms"
    assert wait_until(lambda: _online(rig.nis_port), timeout=10)  # once the slots free up


def _online(port: int) -> bool:
    with contextlib.suppress(OSError, AssertionError):
        return status(port)["STATUS"] == "ONLINE "
    return False
