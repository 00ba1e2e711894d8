"""NUT's apcsmart + upsd and nutpy's apcsmart read the same simulated UPS alike.

For each Smart dump in tests/fixtures a simulator is loaded with it; NUT's
real driver and upsd read it, are stopped, then nutpy reads the same pty.
What ``upsc`` shows (``driver.*`` aside) must be identical, except for the
differences listed in ``DIFFERENCES`` with their reasons; what ``upsrw`` and
``upscmd -l`` list must be identical.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import FIXTURES
from tests.support.apcsmart import DUMPS, settled, ups_conf
from tests.support.nut import free_port, nut_tool, nutpy_server, real_upsd, simulator, write_config

# (dump, variable) -> why nutpy differs from NUT there.  Empty: none found.
DIFFERENCES: dict[tuple[str, str], str] = {}


# The simulated battery recharges while below 100 % (about 0.01 %/s), and the two
# servers read it some seconds apart: these may differ by this much, no more.
DRIFT = {"battery.charge": 0.5}


def _same(name: str, nut: str | None, ours: str | None) -> bool:
    if nut == ours:
        return True
    if name not in DRIFT or nut is None or ours is None:
        return False
    return abs(float(nut) - float(ours)) <= DRIFT[name]


def listings(port: int) -> dict[str, str]:
    """What ``upsrw`` (types, enums, lengths) and ``upscmd -l`` list."""
    target = f"su@127.0.0.1:{port}"
    return {tool: subprocess.run([nut_tool(tool), *args, target], capture_output=True,
                                 text=True, timeout=10).stdout
            for tool, args in (("upsrw", []), ("upscmd", ["-l"]))}


def read_with_nut(directory: Path, link: Path) -> tuple[dict[str, str], dict[str, str]]:
    port = free_port()
    write_config(directory, ups_conf=ups_conf(link), upsd_conf=f"LISTEN 127.0.0.1 {port}\n")
    with real_upsd(directory, port, {"su": "apcsmart"}):
        return settled(port), listings(port)


def read_with_nutpy(directory: Path, link: Path) -> tuple[dict[str, str], dict[str, str]]:
    port = free_port()
    write_config(directory, ups_conf=ups_conf(link), upsd_conf=f"LISTEN 127.0.0.1 {port}\n")
    with nutpy_server(directory, port):
        return settled(port), listings(port)


@pytest.fixture(params=DUMPS)
def loaded(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    dump = str(request.param)
    with simulator("smart", tmp_path, "--dump", str(FIXTURES / f"{dump}.dev")) as (link, _):
        yield dump, link


def test_nut_and_nutpy_publish_the_same(loaded: tuple[str, Path], tmp_path: Path) -> None:
    dump, link = loaded
    nut, nut_lists = read_with_nut(tmp_path / "nut", link)
    ours, our_lists = read_with_nutpy(tmp_path / "nutpy", link)
    assert our_lists == nut_lists  # the same RW variables, types, enums and commands
    assert len(nut) >= 8
    differing = {name for name in nut.keys() | ours.keys()
                 if not _same(name, nut.get(name), ours.get(name))}
    listed = {name for (where, name) in DIFFERENCES if where == dump}
    assert differing == listed, {name: (nut.get(name), ours.get(name)) for name in differing}
