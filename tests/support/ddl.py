"""The APC Smart dumps of NUT's device-dump library, and many simulators in one process.

``tests/fixtures/ddl/`` holds every APC apcsmart dump of networkupstools/nut-ddl
(each file says where it came from).  Rehearsing a power cut on all of them
through NUT's own drivers needs a pty per dump: :func:`simulators` runs them
all in one child process (``python -m tests.support.ddl DIR NAME=DUMP ...``)
instead of one ``nutpy simulate`` each.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from functools import partial
from pathlib import Path

from tests.support import FIXTURES, REPO
from tests.support.nut import accepts_connections, wait_until

DUMPS = sorted((FIXTURES / "ddl").glob("*.dev"))
# Before a rehearsal: on line, charged, lightly loaded (some dumps were taken
# on battery or with a runtime already at the low-battery threshold).
REHEARSAL_PREP = ["mains restore", "battery charge 100", "load 10"]


def paths(directory: Path, name: str) -> tuple[Path, Path]:
    """(pty link, control socket) of simulator ``name``."""
    return directory / f"{name}.tty", directory / f"{name}.ctl"


@contextlib.contextmanager
def simulators(directory: Path, dumps: dict[str, Path]) -> Iterator[dict[str, tuple[Path, Path]]]:
    """A Smart simulator on a pty per dump, all in one process, until the block ends."""
    directory.mkdir(parents=True, exist_ok=True)
    log = directory / "simulators.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.support.ddl", str(directory),
             *(f"{name}={dump}" for name, dump in dumps.items())],
            cwd=REPO, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    found = {name: paths(directory, name) for name in dumps}
    try:
        ready = all(wait_until(partial(_up, *found[name]), timeout=30) for name in dumps)
        if not ready:
            raise RuntimeError(f"simulators did not start: {log.read_text()}")
        yield found
    finally:
        proc.terminate()
        proc.wait(10)


def _up(link: Path, control: Path) -> bool:
    return link.exists() and accepts_connections(control)


async def _serve_all(directory: Path, dumps: dict[str, Path]) -> None:
    import trio

    from nutpy.sim.link import SimLink, serve_pty
    from nutpy.sim.smart import SmartUps

    async with trio.open_nursery() as nursery:
        for name, dump in dumps.items():
            link, control = paths(directory, name)
            engine = SmartUps.from_dev(dump.read_bytes())
            nursery.start_soon(serve_pty, SimLink(engine), link, control)


if __name__ == "__main__":
    import trio

    where = Path(sys.argv[1])
    specs = dict(arg.split("=", 1) for arg in sys.argv[2:])
    trio.run(_serve_all, where, {name: Path(dump) for name, dump in specs.items()})
