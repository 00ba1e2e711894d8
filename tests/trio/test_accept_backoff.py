"""Out of descriptors: the accept loop backs off and says so once per episode.

trio's own accept loop logs every failed accept, ten a second for as long
as descriptors last.  A listener whose ``accept`` fails with EMFILE for
ten (mock-clock) seconds shows nutpy's: one WARNING when it starts, one
when accepting works again, and a wait that grows to a second meanwhile.
"""

from __future__ import annotations

import errno
import logging

import pytest
import trio
import trio.testing

from nutpy.listening import serve_connections

OUTAGE = 10.0


class ExhaustedListener(trio.abc.Listener[trio.SocketStream]):
    """Fails like a process at RLIMIT_NOFILE until ``until``, then accepts one stream."""

    def __init__(self, until: float, stream: trio.SocketStream) -> None:
        self.until = until
        self.stream: trio.SocketStream | None = stream
        self.attempts = 0

    async def accept(self) -> trio.SocketStream:
        await trio.lowlevel.checkpoint()
        self.attempts += 1
        if trio.current_time() < self.until:
            raise OSError(errno.EMFILE, "Too many open files")
        if self.stream is None:
            await trio.sleep_forever()
        stream, self.stream = self.stream, None
        assert stream is not None
        return stream

    async def aclose(self) -> None:
        await trio.lowlevel.checkpoint()


async def test_emfile_is_waited_out_and_logged_once(
        autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture) -> None:
    log = logging.getLogger("test.accept")
    served = trio.Event()
    a, b = trio.socket.socketpair()
    listener = ExhaustedListener(trio.current_time() + OUTAGE, trio.SocketStream(a))

    async def handler(stream: trio.SocketStream) -> None:
        await stream.aclose()
        served.set()

    with caplog.at_level(logging.DEBUG, logger="test.accept"), b:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(lambda: serve_connections(
                handler, [listener], log=log))  # type: ignore[list-item]
            await served.wait()
            nursery.cancel_scope.cancel()
    lines = [r.getMessage() for r in caplog.records if r.name == "test.accept"]
    assert lines[0] == "cannot accept connections: Too many open files; waiting for capacity"
    assert lines[1].startswith("accepting connections again after 1")
    assert len(lines) == 2
    # Waits of 0.1, 0.2, 0.4, 0.8, then 1 s: about 14 tries in 10 s, not trio's 100.
    assert listener.attempts <= OUTAGE + 5


@pytest.fixture
def autojump_clock() -> trio.testing.MockClock:
    return trio.testing.MockClock(autojump_threshold=0)
