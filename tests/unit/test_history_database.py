"""The history file itself: samples, rollups, retention, size, and a corrupt file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from nutpy.history.chronicle import Entry, Kind
from nutpy.history.database import RAW_SPACING, ROLLUP, downsample, open_database

DAY = 86400.0
NOW = 1_800_000_000.0


def test_samples_and_entries_come_back(tmp_path: Path) -> None:
    db, aside = open_database(tmp_path / "h.sqlite")
    assert aside is None
    db.write([("u", "battery.charge", NOW - 20, 100.0), ("U", "battery.charge", NOW - 10, None),
              ("u", "ups.load", NOW - 10, 12.5)],
             [(7, Entry(NOW - 5, "u", Kind.POWER_FAILURE, "Power failure", {"a": "b"})),
              (8, Entry(NOW - 4, None, Kind.SERVER_STOP, "Server stopped"))])
    assert db.points("U", "battery.charge", NOW - 60, NOW, rolled=False) == [
        (NOW - 20, 100.0), (NOW - 10, None)]  # UPS names fold case
    assert db.entries("u", NOW - 60, 10) == [
        (7, Entry(NOW - 5, "u", Kind.POWER_FAILURE, "Power failure", {"a": "b"})),
        (8, Entry(NOW - 4, None, Kind.SERVER_STOP, "Server stopped"))]
    assert db.entries("other", NOW - 60, 10) == [(8, Entry(NOW - 4, None, Kind.SERVER_STOP,
                                                           "Server stopped"))]
    assert [n for n, _ in db.entries(None, NOW - 60, 1)] == [8]  # the latest of them
    db.close()
    again, _ = open_database(tmp_path / "h.sqlite")  # it survives a restart
    assert len(again.points("u", "ups.load", NOW - 60, NOW, rolled=False)) == 1
    mode = again.connection.execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_rollups_keep_the_long_views_and_old_data_goes(tmp_path: Path) -> None:
    db, _ = open_database(tmp_path / "h.sqlite")
    start = (NOW // ROLLUP) * ROLLUP - ROLLUP
    db.write([("u", "input.voltage", start + i * RAW_SPACING, 220.0 + i)
              for i in range(int(ROLLUP / RAW_SPACING))], [])
    db.write([("u", "input.voltage", NOW - 40 * DAY, 1.0)],
             [(1, Entry(NOW - 40 * DAY, "u", Kind.FSD, "old"))])
    db.maintain(NOW, keep_days=30)
    [(t, mean)] = db.points("u", "input.voltage", NOW - DAY, NOW, rolled=True)
    assert t == start and mean == 220.0 + (ROLLUP / RAW_SPACING - 1) / 2
    assert db.points("u", "input.voltage", 0, NOW, rolled=False)[0][0] == start  # raw: 2 days
    assert db.entries(None, 0, 10) == []  # older than HISTORY_DAYS


def test_downsampling_keeps_means_and_gaps() -> None:
    points = [(0.0, 1.0), (1.0, 3.0), (5.0, None), (6.0, None), (9.0, 10.0)]
    assert list(downsample(points, 2, 0.0, 10.0)) == [(0.5, 2.0), (5.0, None), (6.0, None),
                                                      (9.0, 10.0)]
    assert list(downsample(points, 10, 0.0, 10.0)) == points


def test_a_corrupt_file_is_moved_aside_and_a_new_one_started(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite"
    path.write_bytes(b"this is not a database" * 1000)
    db, aside = open_database(path)
    assert aside is not None and aside.read_bytes().startswith(b"this is not a database")
    assert aside.name.startswith("h.sqlite.corrupt-")
    db.write([("u", "ups.load", NOW, 1.0)], [])
    assert db.points("u", "ups.load", 0, NOW, rolled=False) == [(NOW, 1.0)]


def test_a_year_of_one_ups_stays_under_50_mb(tmp_path: Path) -> None:
    """The worst case: every series changing all the time, kept 366 days."""
    path = tmp_path / "h.sqlite"
    db, _ = open_database(path)
    series = ["battery.charge", "battery.runtime", "ups.load", "input.voltage",
              "output.voltage", "ups.temperature"]
    ids = {name: db._series_id("u", name) for name in series}
    with db.connection:  # a year of rollups, straight in: maintain() makes the same rows
        db.connection.executemany(
            "INSERT INTO rollup (series, t, low, mean, high) VALUES (?, ?, ?, ?, ?)",
            ((ids[name], int(NOW - 366 * DAY) + i * ROLLUP, 229.5, 230.25, 231.125)
             for name in series for i in range(int(366 * DAY / ROLLUP))))
    db.write([("u", name, NOW - 2 * DAY + i * RAW_SPACING, 230.0 + i % 7)
              for name in series for i in range(int(2 * DAY / RAW_SPACING))], [])
    db.write([], [(i, Entry(NOW - i, "u", Kind.COMMAND, "Command x by admin from 10.0.0.2: done",
                            {"command": "x", "user": "admin"})) for i in range(20_000)])
    db.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    size = path.stat().st_size
    print(f"a year of one UPS: {size / 1e6:.1f} MB")
    assert size < 50 * 1024 * 1024, size
    assert sqlite3.connect(path).execute("SELECT COUNT(*) FROM rollup").fetchone()[0] == \
        len(series) * int(366 * DAY / ROLLUP)
