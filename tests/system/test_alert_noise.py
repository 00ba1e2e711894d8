"""Alert characters put on a real pty line: over TCP, nutpy never serves a status the
UPS does not have (issue #19, the system-level slice).

``nutpy simulate smart`` on a pseudo-terminal, ``nutpy serve`` reading it with the
``apcsmart`` driver, a client polling ``GET VAR su ups.status`` as fast as the
server answers, and the simulator's ``inject`` command putting on the line every
byte value, every ordered pair of the ten alert characters, and a few sequences
that end or fill a reply.  The same sweep in process, on a 2400-baud line and a
mock clock, sees every value the driver ever gives ``ups.status``, on mains and
on battery (``tests/trio/test_apcsmart_injected_bytes.py``).
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

from nutpy.protocols.apcsmart.status import Alert
from tests.support import FIXTURES
from tests.support.nut import (
    free_port,
    nutpy_server,
    sim_control,
    simulator,
    wait_until,
    write_config,
)

ALERTS = bytes(alert.value for alert in Alert)
INJECTED = ([bytes((b,)) for b in range(256)] + [bytes((a, b)) for a in ALERTS for b in ALERTS]
            + [b"\r\n", b"08\r\n", b"10\r\n", b"50\r\n"])
SPACING = 0.05  # seconds between injections: many Q round trips on a pty


def poll_status(port: int, stop: threading.Event, replies: list[str]) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        reader = sock.makefile("rb")
        while not stop.is_set():
            sock.sendall(b"GET VAR su ups.status\n")
            replies.append(reader.readline().decode().strip())


def test_injected_alerts_never_serve_a_false_status_over_tcp(tmp_path: Path) -> None:
    with simulator("smart", tmp_path, "--dump", str(FIXTURES / "smart-ups-1500.dev")) as (
            link, control):
        port = free_port()
        confdir = write_config(tmp_path / "conf", ups_conf=f"[su]\n  driver = apcsmart\n"
                               f"  port = {link}\n", upsd_conf=f"LISTEN 127.0.0.1 {port}\n")
        with nutpy_server(confdir, port, args=("-D",)) as server:
            ok = 'VAR su ups.status "OL"'
            assert wait_until(lambda: _status(port) == ok, timeout=20), server.log_text()
            stop = threading.Event()
            replies: list[str] = []
            poller = threading.Thread(target=poll_status, args=(port, stop, replies))
            poller.start()
            try:
                for data in INJECTED:
                    time.sleep(SPACING)
                    assert sim_control(control, f"inject {data.hex(' ')}") == ["OK"]
                time.sleep(3)  # the last ones answered
            finally:
                stop.set()
                poller.join(10)
            log = server.log_text()
    wrong = {reply for reply in replies if reply != ok}
    assert not wrong, wrong
    assert len(replies) > 1000, len(replies)  # polled throughout, fast
    claims = sum(byte in b"!%#?" for data in INJECTED for byte in data)  # OL: $ + = say nothing new
    assert log.count("not confirmed, not published: alert") >= claims * 0.9, log[-3000:]


def _status(port: int) -> str:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
            sock.sendall(b"GET VAR su ups.status\n")
            return sock.makefile("rb").readline().decode().strip()
    except OSError:
        return ""
