"""The history file: samples and the event log in SQLite, and nothing but SQL.

Blocking by nature; :mod:`~nutpy.history.keeper` calls it from a worker
thread, one call at a time, so the event loop never waits on the disk.

Two tables of samples keep a year of a UPS well under 50 MB:

* ``samples``: what was read, at most one row per series every
  ``RAW_SPACING`` seconds, kept ``RAW_DAYS``; the hour and day views come
  from it;
* ``rollup``: five-minute min/mean/max of the same series, kept for
  ``HISTORY_DAYS``; the week and month views come from it.

A NULL value is a gap: the data went stale there, and a chart breaks its
line rather than draw across the outage.  Times are Unix seconds.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from nutpy.history.chronicle import Entry, Kind

__all__ = ["RAW_DAYS", "RAW_SPACING", "ROLLUP", "Database", "Point", "Sample", "downsample",
           "open_database"]

RAW_SPACING = 10.0  # seconds between two samples of one series
RAW_DAYS = 2
ROLLUP = 300  # seconds per rollup bucket
SCHEMA_VERSION = 1

Sample = tuple[str, str, float, float | None]  # ups, series, time, value (None: a gap)
Point = tuple[float, float | None]  # time, value

_SCHEMA = """
CREATE TABLE IF NOT EXISTS series (
    id INTEGER PRIMARY KEY, ups TEXT NOT NULL COLLATE NOCASE, name TEXT NOT NULL,
    UNIQUE (ups, name));
CREATE TABLE IF NOT EXISTS samples (
    series INTEGER NOT NULL, t INTEGER NOT NULL, value REAL,
    PRIMARY KEY (series, t)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rollup (
    series INTEGER NOT NULL, t INTEGER NOT NULL, low REAL, mean REAL, high REAL,
    PRIMARY KEY (series, t)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY, t REAL NOT NULL, ups TEXT COLLATE NOCASE, kind TEXT NOT NULL,
    message TEXT NOT NULL, details TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS events_by_time ON events (t);
"""


class Corrupt(Exception):
    """The file is not a usable history database."""


@dataclass
class Database:
    connection: sqlite3.Connection
    path: Path

    # ---- writing -------------------------------------------------------------

    def _series_id(self, ups: str, name: str) -> int:
        row = self.connection.execute(
            "SELECT id FROM series WHERE ups = ? AND name = ?", (ups, name)).fetchone()
        if row is not None:
            return int(row[0])
        cursor = self.connection.execute("INSERT INTO series (ups, name) VALUES (?, ?)",
                                         (ups, name))
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def write(self, samples: Sequence[Sample], entries: Sequence[tuple[int, Entry]]) -> None:
        """Store a batch in one transaction (sqlite3.OperationalError when the disk is full)."""
        with self.connection:
            self.connection.executemany(
                "INSERT OR REPLACE INTO samples (series, t, value) VALUES (?, ?, ?)",
                [(self._series_id(ups, name), round(t), value)
                 for ups, name, t, value in samples])
            self.connection.executemany(
                "INSERT OR REPLACE INTO events (id, t, ups, kind, message, details) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [(number, e.at, e.ups, e.kind.value, e.message, json.dumps(dict(e.details)))
                 for number, e in entries])

    def maintain(self, now: float, keep_days: int) -> None:
        """Roll finished buckets of raw samples up, and drop what is too old."""
        with self.connection:
            done = (int(now) // ROLLUP) * ROLLUP
            self.connection.execute(
                "INSERT OR REPLACE INTO rollup (series, t, low, mean, high) "
                "SELECT series, (t / ?) * ?, MIN(value), AVG(value), MAX(value) FROM samples "
                "WHERE t >= ? AND t < ? GROUP BY series, t / ?",
                (ROLLUP, ROLLUP, done - 2 * 3600, done, ROLLUP))
            self.connection.execute("DELETE FROM samples WHERE t < ?",
                                    (now - RAW_DAYS * 86400,))
            horizon = now - keep_days * 86400
            self.connection.execute("DELETE FROM rollup WHERE t < ?", (horizon,))
            self.connection.execute("DELETE FROM events WHERE t < ?", (horizon,))

    # ---- reading -------------------------------------------------------------

    def points(self, ups: str, name: str, since: float, until: float,
               rolled: bool) -> list[Point]:
        """A series between two times, raw or as five-minute means."""
        table, column = ("rollup", "mean") if rolled else ("samples", "value")
        rows = self.connection.execute(
            f"SELECT t, {column} FROM {table} JOIN series ON series.id = {table}.series "
            "WHERE series.ups = ? AND series.name = ? AND t >= ? AND t <= ? ORDER BY t",
            (ups, name, since, until)).fetchall()
        return [(float(t), None if v is None else float(v)) for t, v in rows]

    def entries(self, ups: str | None, since: float, limit: int) -> list[tuple[int, Entry]]:
        """Event-log entries from ``since`` on, oldest first, at most ``limit`` (the latest)."""
        where, args = "WHERE t >= ?", [since]
        if ups is not None:
            where += " AND (ups = ? OR ups IS NULL)"
            args.append(ups)  # type: ignore[arg-type]
        rows = self.connection.execute(
            f"SELECT id, t, ups, kind, message, details FROM events {where} "
            "ORDER BY id DESC LIMIT ?", (*args, limit)).fetchall()
        known = {kind.value: kind for kind in Kind}
        return [(int(n), Entry(float(t), u, known[k], m, json.loads(d)))
                for n, t, u, k, m, d in reversed(rows) if k in known]

    def close(self) -> None:
        self.connection.close()


def _connect(path: Path) -> sqlite3.Connection:
    # One connection, used by one worker thread at a time (the keeper's limiter).
    connection = sqlite3.connect(path, timeout=5, check_same_thread=False)
    try:
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = NORMAL")
        if connection.execute("PRAGMA quick_check").fetchone()[0] != "ok":
            raise Corrupt("quick_check failed")
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        if version not in (0, SCHEMA_VERSION):
            raise Corrupt(f"schema version {version}, expected {SCHEMA_VERSION}")
        connection.executescript(_SCHEMA)
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    except (sqlite3.DatabaseError, Corrupt):
        connection.close()
        raise
    return connection


def open_database(path: Path) -> tuple[Database, Path | None]:
    """The history at ``path``, created if need be.

    A file that is not a usable database is moved aside (to
    ``<path>.corrupt-<time>``) and a new one started; the second value says
    where it went (None if nothing was moved).  OSError when the directory
    cannot hold the file at all.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        return Database(_connect(path), path), None
    except (sqlite3.DatabaseError, Corrupt):
        aside = path.with_name(f"{path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}")
        os.replace(path, aside)
        for suffix in ("-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.replace(f"{path}{suffix}", f"{aside}{suffix}")
        return Database(_connect(path), path), aside


def downsample(points: Iterable[Point], buckets: int, since: float,
               until: float) -> Iterator[Point]:
    """About ``buckets`` points: the mean (in time and value) of each equal slice of
    time, in order.  Gaps are never averaged away: a gap ends the points before
    it in its slice and is kept, so even a short outage still breaks the line."""
    width = max((until - since) / buckets, 1e-9)
    current: int | None = None
    times, total, count = 0.0, 0.0, 0
    for t, value in points:
        index = int((t - since) // width)
        if count and (index != current or value is None):
            yield (times / count, total / count)
            times, total, count = 0.0, 0.0, 0
        current = index
        if value is None:
            yield (t, None)
        else:
            times, total, count = times + t, total + value, count + 1
    if count:
        yield (times / count, total / count)
