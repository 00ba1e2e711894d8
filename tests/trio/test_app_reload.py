"""A reload reads and checks the files in a worker thread: the event loop runs meanwhile.

SIGHUP with a 10 MB upsd.conf used to stall every client for seconds while
the loop tokenized it.  Here the file reading is slowed down on purpose and
a task keeps ticking on the loop: the reload may finish only once the loop
has been seen running while the files were being read.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
import trio

from nutpy import app, config
from tests.support.nut import free_port, write_config

TICKS_NEEDED = 5
PATIENCE = 3.0  # seconds the slowed read waits for the loop to tick


async def test_sighup_reads_the_config_off_the_event_loop(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_config(tmp_path, ups_conf="[u]\ndriver = dummy-ups\nport = u.dev\n",
                 upsd_conf=f"LISTEN 127.0.0.1 {free_port()}\n",
                 files={"u.dev": b"ups.status: OL\n"})
    ticks = 0
    seen: list[int] = []
    real_load = config.load

    def slow_load(directory: Path) -> config.Config:
        """Wait for the loop to tick TICKS_NEEDED times (it cannot while blocked)."""
        start = ticks
        deadline = time.monotonic() + PATIENCE
        while ticks < start + TICKS_NEEDED and time.monotonic() < deadline:
            time.sleep(0.005)
        seen.append(ticks - start)
        return real_load(directory)

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await trio.sleep(0.01)
            ticks += 1

    async with trio.open_nursery() as nursery:
        await nursery.start(app.serve, tmp_path)
        monkeypatch.setattr(config, "load", slow_load)  # what app reads through
        nursery.start_soon(ticker)
        os.kill(os.getpid(), signal.SIGHUP)
        with trio.fail_after(PATIENCE + 5):
            while not seen:
                await trio.sleep(0.01)
        nursery.cancel_scope.cancel()
    assert seen[0] >= TICKS_NEEDED  # the loop ran while the files were read
