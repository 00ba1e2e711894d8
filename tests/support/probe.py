"""A well-behaved NUT client that times ``GET VAR`` round trips while others misbehave.

The requirement it measures: no hostile load, on any port, delays another
client's ``GET VAR`` by more than :data:`LATENCY_BOUND`.  Its defaults fit
the ``dummy`` UPS of the hostile tests (dummy-ups on the Smart-UPS 1500 dump).
"""

from __future__ import annotations

import socket
import time

GET = b"GET VAR dummy ups.status\n"
ANSWER = b'VAR dummy ups.status "OL"\n'
LATENCY_BOUND = 0.050  # the requirement: no hostile load delays a GET VAR by more
PROBES = 200  # GET VARs measured under each load (the largest must stay under the bound)


class Probe:
    """A well-behaved client on its own connection, timing ``GET VAR`` round trips."""

    def __init__(self, port: int, request: bytes = GET, answer: bytes = ANSWER) -> None:
        self.request, self.answer = request, answer
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def round_trip(self) -> float:
        start = time.perf_counter()
        self.sock.sendall(self.request)
        reply = b""
        while not reply.endswith(b"\n"):
            chunk = self.sock.recv(4096)
            assert chunk, "the server closed the probe connection"
            reply += chunk
        elapsed = time.perf_counter() - start
        assert reply == self.answer
        return elapsed

    def worst(self, count: int = PROBES, pause: float = 0.01) -> float:
        """The largest of ``count`` round trips, ``pause`` apart."""
        worst = 0.0
        for _ in range(count):
            worst = max(worst, self.round_trip())
            time.sleep(pause)
        return worst

    def close(self) -> None:
        self.sock.close()
