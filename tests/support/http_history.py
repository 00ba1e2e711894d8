"""An HTTP context with a real history behind it: a Store, a Recorder and a
History on a temporary SQLite file, for calling the handlers of
``nutpy.frontends.http.past`` directly (no sockets).

The wall clock stands at :data:`WALL`, so every time a test writes is a
literal offset from it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from nutpy.config.descriptions import Descriptions
from nutpy.frontends.http.context import HttpContext
from nutpy.frontends.http.server import Request
from nutpy.history.chronicle import Entry
from nutpy.history.database import Database, Sample, open_database
from nutpy.history.keeper import History
from nutpy.history.recorder import Recorder
from nutpy.store import Store

WALL = 1_800_000_000.0  # a multiple of the five-minute rollup bucket


def get(**query: str | list[str]) -> Request:
    """A GET with ``query`` (a list for a repeated parameter)."""
    values = {k: v if isinstance(v, list) else [v] for k, v in query.items()}
    return Request("GET", "/", values, {}, b"", "127.0.0.1", False)


@contextmanager
def history_context(path: Path, samples: Sequence[Sample] = (),
                    entries: Sequence[tuple[int, Entry]] = (), *, rolled_up: bool = False,
                    upses: Sequence[str] = ("Main", "Other")) -> Iterator[HttpContext]:
    """A context whose history file (under ``path``) holds ``samples`` and ``entries``;
    ``rolled_up``: the keeper's hourly maintenance ran at WALL, so the week and month
    views (five-minute means) have them too."""
    store = Store(wall=lambda: WALL)
    for name in upses:
        store.add(name)
    db: Database
    db, _ = open_database(path / "history.sqlite")
    try:
        db.write(samples, entries)
        if rolled_up:
            db.maintain(WALL, 30)
        yield HttpContext(store, {}, Descriptions(), Recorder(store),
                          history=History(store, db, keep_days=30))
    finally:
        db.close()
