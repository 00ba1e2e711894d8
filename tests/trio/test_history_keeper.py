"""The keeper on a live loop: what it samples, the gaps, and a disk that fills up.

Real time, with the spacing shortened: the keeper writes from a worker
thread, and on trio's mock clock virtual time would fly while the thread
works.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from pathlib import Path

import pytest
import trio
import trio.testing

from nutpy.history import keeper
from nutpy.history.chronicle import Entry, Kind
from nutpy.history.keeper import History
from nutpy.store import Store

SPACING = 0.1


@pytest.fixture(autouse=True)
def fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keeper, "RAW_SPACING", SPACING)
    monkeypatch.setattr(keeper, "RETRY_AFTER", 5 * SPACING)


async def _keeper(tmp_path: Path, store: Store) -> History:
    return await History.open(store, tmp_path / "h.sqlite", keep_days=30)


def _fresh_store() -> Store:
    # Whole seconds of wall time count as samples: let the wall clock run 100 times faster.
    store = Store(wall=lambda: 1_800_000_000 + trio.current_time() * 100)
    store.add("u").mark_fresh(trio.current_time())
    return store


async def test_it_samples_at_most_every_spacing_and_marks_gaps(tmp_path: Path) -> None:
    store = _fresh_store()
    ups = store.get("u")
    assert ups is not None
    history = await _keeper(tmp_path, store)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(history.run)
        await trio.testing.wait_all_tasks_blocked()
        for i in range(100):  # a value that changes ten times per spacing
            ups.set("input.voltage", str(220 + i))
            ups.set("ups.model", f"model {i}")  # not a charted series
            ups.mark_fresh(trio.current_time())
            await trio.sleep(SPACING / 10)
        ups.mark_stale()
        await trio.sleep(SPACING * 3)
        points = await history.series("u", ["input.voltage", "ups.model"], 3600)
        nursery.cancel_scope.cancel()
    values = [v for _, v in points["input.voltage"]]
    assert 5 <= len(values) <= 15, values  # ~10 spacings of changes, and the gap
    # The last values read (downsampled: a mean of some), then the gap.
    assert values[-1] is None and values[-2] is not None and 310 <= values[-2] <= 319
    numbers = [v for v in values if v is not None]
    assert numbers == sorted(numbers)
    assert points["ups.model"] == []


async def test_entries_are_written_with_their_numbers(tmp_path: Path) -> None:
    store = _fresh_store()
    history = await _keeper(tmp_path, store)
    entry = Entry(store.wall(), "u", Kind.POWER_FAILURE, "Power failure")
    async with trio.open_nursery() as nursery:
        nursery.start_soon(history.run)
        history.add_entry(41, entry)
        await trio.sleep(SPACING * 3)
        assert await history.entries("u", 600, 10) == [(41, entry)]
        nursery.cancel_scope.cancel()


def _fill_up(connection: sqlite3.Connection) -> None:
    """The disk is full: no page may be added, and no room is left in the pages there are."""
    connection.execute("PRAGMA journal_mode = DELETE")  # WAL frames would not count
    pages = connection.execute("PRAGMA page_count").fetchone()[0]
    connection.execute(f"PRAGMA max_page_count = {pages + 4}")
    with contextlib.suppress(sqlite3.OperationalError):
        for i in range(100_000):
            with connection:
                connection.execute("INSERT INTO events (t, kind, message, details) "
                                   "VALUES (?, 'fsd', 'x', '{}')", (float(i),))


async def test_a_full_disk_pauses_history_with_one_warning(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    store = _fresh_store()
    ups = store.get("u")
    assert ups is not None
    history = await _keeper(tmp_path, store)
    _fill_up(history.db.connection)
    caplog.set_level(logging.INFO, logger="nutpy.history")
    async with trio.open_nursery() as nursery:
        nursery.start_soon(history.run)
        for i in range(50):  # many spacings and retries of changes and entries, all refused
            ups.set("battery.charge", str(i))
            history.add_entry(i + 1, Entry(store.wall(), "u", Kind.COMMAND, "x" * 500))
            await trio.sleep(SPACING / 2)
        assert history.failing is not None and "full" in history.failing
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1 and "history paused" in warnings[0].getMessage()
        history.db.connection.execute("PRAGMA max_page_count = 1000000")  # room again
        with trio.fail_after(5):
            while history.failing is not None:
                ups.set("battery.charge", str(trio.current_time()))
                await trio.sleep(SPACING / 2)
        assert any("writing again" in r.getMessage() for r in caplog.records)
        await trio.sleep(SPACING * 3)
        assert (await history.series("u", ["battery.charge"], 3600))["battery.charge"]
        nursery.cancel_scope.cancel()
