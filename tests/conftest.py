"""Fixtures every test folder may use, and the markers the folders imply.

The folders say what a test needs: ``unit/`` pure code only, ``trio/``
in-process trio (memory streams, the mock clock), ``system/`` NUT's real
programs and nutpy as a process.  Everything under ``system/`` is marked
``system``, so ``pytest -m 'not system'`` runs the fast suite.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from tests.support.clocks import Clock

# Hypothesis's 200 ms deadline per example measures the machine, not the code:
# on two cores shared with system tests it fails for nothing.
settings.register_profile("nutpy", deadline=None)
settings.load_profile("nutpy")

SYSTEM = Path(__file__).parent / "system"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if SYSTEM in item.path.parents:
            item.add_marker(pytest.mark.system)


@pytest.fixture
def clock() -> Clock:
    """A clock at 100.0 that moves only when a test sets ``clock.now``."""
    return Clock()


@pytest.fixture
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Local time is UTC for the test (apcupsd's dates are local time)."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()
