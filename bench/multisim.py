"""Many simulated Smart-UPSes on pseudo-terminals, paced like 2400-baud lines.

``python -m bench.multisim DIR COUNT DUMP [BAUD]`` puts COUNT simulators
(each loaded from DUMP) on ptys reachable as ``DIR/ups0.tty`` ...; one process
for all of them, so that 64 UPSes do not cost 64 Python interpreters.  It
writes ``DIR/ready`` once every pty is in place and runs until terminated.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import trio

from nutpy.sim.link import SimLink, pseudo_terminal
from nutpy.sim.smart import SmartUps


async def serve_one(link: SimLink, path: Path, task_status: trio.TaskStatus[None]) -> None:
    async with pseudo_terminal(path) as stream:
        task_status.started()
        await link.serve(stream)


async def main(directory: Path, count: int, dump: Path, baud: int) -> None:
    data = dump.read_bytes()
    async with trio.open_nursery() as nursery:
        for index in range(count):
            link = SimLink(SmartUps.from_dev(data), baud=baud)
            await nursery.start(serve_one, link, directory / f"ups{index}.tty")
        (directory / "ready").touch()


if __name__ == "__main__":
    baud = int(sys.argv[4]) if len(sys.argv) > 4 else 2400
    with contextlib.suppress(KeyboardInterrupt):
        trio.run(main, Path(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3]), baud)
