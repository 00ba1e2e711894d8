"""Hostile HTTP clients against ``nutpy serve`` as a process: none may slow a NUT client.

Each load runs on the HTTP port while a well-behaved NUT client measures its
``GET VAR`` round trips on the NUT port (:mod:`tests.support.probe`): the
slowest must stay under the same 50 ms bound the NUT front end's own hostile
tests hold.  The HTTP port must answer a normal request afterwards, and the
log must show no traceback.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import random
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from nutpy.cli import raise_fd_limit
from tests.support import FIXTURES
from tests.support.nut import Server, free_port, nutpy_server, wait_until, write_config
from tests.support.probe import LATENCY_BOUND, Probe

IDLE = 1000  # idle HTTP connections
SLOW = 100  # slowloris clients
FUZZ = 3000  # fuzzed requests
STREAMS = 50  # event streams that never read


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[Server, int]]:
    if raise_fd_limit() < IDLE + 300:
        pytest.fail("the test needs more than 1,300 open files")
    port, http_port = free_port(), free_port()
    confdir = write_config(
        tmp_path, ups_conf="[dummy]\n  driver = dummy-ups\n  port = ups.dev\n",
        upsd_conf=f"LISTEN 127.0.0.1 {port}\n",
        files={"ups.dev": (FIXTURES / "smart-ups-1500.dev").read_bytes(),
               "nutpy.conf": f"HTTP_LISTEN 127.0.0.1 {http_port}\nHTTP_MAXCONN 2000\n"
                             .encode()})
    with nutpy_server(confdir, port) as running:
        assert wait_until(lambda: _http_ok(http_port), timeout=10), running.log_text()
        yield running, http_port
        assert _http_ok(http_port)  # still serving
        text = running.log_text()
        assert "Traceback" not in text and " ERROR:" not in text, text[-3000:]


def _http_ok(port: int) -> bool:
    with contextlib.suppress(httpx.HTTPError):
        return httpx.get(f"http://127.0.0.1:{port}/api/v1/ups", timeout=5).status_code == 200
    return False


Stop = Any  # a multiprocessing Event: is_set(), wait(timeout)


def _under_load(nut_port: int, load: Callable[[Stop], None], processes: int = 1) -> float:
    """The slowest of the probe's round trips while ``load`` runs in ``processes``.

    The load runs in processes of its own: sharing the test's interpreter (and
    its GIL) with the probe, it would slow the probe, not the server.
    """
    fork = multiprocessing.get_context("fork")
    probe = Probe(nut_port)
    probe.worst(20)  # warm up
    stop = fork.Event()
    workers = [fork.Process(target=load, args=(stop,), daemon=True) for _ in range(processes)]
    for worker in workers:
        worker.start()
    try:
        worst = probe.worst()
    finally:
        stop.set()
        for worker in workers:
            worker.join(30)
            if worker.is_alive():
                worker.kill()
                worker.join()
        probe.close()
    return worst


def _connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=5)


def _fuzz_request(rng: random.Random) -> bytes:
    """Random bytes, or a real request with some of it mangled."""
    real = [b"GET /api/v1/ups HTTP/1.1\r\nHost: x\r\n\r\n",
            b"POST /api/v1/ups/dummy/fsd HTTP/1.1\r\nHost: x\r\nContent-Type: "
            b"application/json\r\nContent-Length: 2\r\n\r\n{}",
            b"GET /api/v1/events?ups=dummy HTTP/1.1\r\nHost: x\r\n\r\n",
            b"GET /metrics?ups=%ff%00 HTTP/1.0\r\n\r\n",
            b"PUT /api/v1/ups/dummy/variables/ups.id HTTP/1.1\r\nHost: x\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n5\r\n{\"va\r\n0\r\n\r\n"]
    if rng.random() < 0.3:
        return rng.randbytes(rng.randrange(1, 2000))
    data = bytearray(rng.choice(real))
    for _ in range(rng.randrange(1, 6)):
        i = rng.randrange(len(data))
        action = rng.randrange(3)
        if action == 0:
            data[i] = rng.randrange(256)
        elif action == 1:
            del data[i]
        else:
            data[i:i] = rng.randbytes(rng.randrange(1, 50))
    return bytes(data)


def test_fuzzed_requests(server: tuple[Server, int]) -> None:
    running, http_port = server
    answers = multiprocessing.get_context("fork").SimpleQueue()

    def fuzz(stop: Stop) -> None:
        rng = random.Random(7)
        for _ in range(FUZZ):
            if stop.is_set():
                return
            with contextlib.suppress(OSError), _connect(http_port) as sock:
                sock.settimeout(3)
                sock.sendall(_fuzz_request(rng))
                sock.shutdown(socket.SHUT_WR)
                answers.put(sock.recv(12))

    worst = _under_load(running.port, fuzz)
    assert worst < LATENCY_BOUND, f"slowest GET VAR took {worst * 1000:.1f} ms"
    answered = []
    while not answers.empty():
        answered.append(answers.get())
    assert answered and all(r == b"" or r.startswith(b"HTTP/1.") for r in answered)


def test_slowloris_idle_and_oversized_heads(server: tuple[Server, int]) -> None:
    running, http_port = server
    idle = [_connect(http_port) for _ in range(IDLE)]
    slow = [_connect(http_port) for _ in range(SLOW)]

    def slowloris(stop: Stop) -> None:
        head = b"GET /api/v1/ups HTTP/1.1\r\nHost: x\r\n" + b"X-Slow: a\r\n" * 100
        for i in range(len(head)):
            for sock in slow:
                with contextlib.suppress(OSError):
                    sock.sendall(head[i:i + 1])
            if stop.wait(0.5):
                return

    def oversized(stop: Stop) -> None:
        big = b"GET /api/v1/ups HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 1_000_000 + b"\r\n\r\n"
        while not stop.is_set():
            with contextlib.suppress(OSError), _connect(http_port) as sock:
                sock.sendall(big)
                sock.recv(100)

    try:
        for load, threads in ((slowloris, 1), (oversized, 2)):
            worst = _under_load(running.port, load, threads)
            assert worst < LATENCY_BOUND, f"{load.__name__}: slowest GET VAR took " \
                f"{worst * 1000:.1f} ms"
        idle[-1].sendall(b"GET /api/v1/ups HTTP/1.1\r\nHost: x\r\n\r\n")
        assert idle[-1].recv(20).startswith(b"HTTP/1.1 200")  # all 1,000 are served
    finally:
        for sock in idle + slow:
            sock.close()


def test_event_streams_that_never_read(server: tuple[Server, int], tmp_path: Path) -> None:
    running, http_port = server
    streams = []
    for _ in range(STREAMS):
        sock = _connect(http_port)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.sendall(b"GET /api/v1/events HTTP/1.1\r\nHost: x\r\n\r\n")
        streams.append(sock)
    control = httpx.Client(base_url=f"http://127.0.0.1:{http_port}")

    def churn(stop: Stop) -> None:  # dummy-ups changes: events for every stream
        dev = running.confdir / "ups.dev"
        original = dev.read_bytes()
        i = 0
        while not stop.wait(0.05):
            i += 1
            dev.write_bytes(original.replace(b"battery.charge: ", b"battery.charge: 1" if i % 2
                                             else b"battery.charge: "))

    try:
        worst = _under_load(running.port, churn)
        assert worst < LATENCY_BOUND, f"slowest GET VAR took {worst * 1000:.1f} ms"
        assert control.get("/api/v1/ups").status_code == 200
    finally:
        control.close()
        for sock in streams:
            sock.close()
