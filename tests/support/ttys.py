"""Serial devices that are not UPSes, on ptys, each in its own process.

``python -m tests.support.ttys KIND LINK`` makes a pty, links LINK to it,
prints ``ready`` and serves until killed:

* ``echo``: sends back every byte (a loopback plug, a modem with echo on);
* ``console``: echoes, then prompts ``login: `` (a getty on a console cable);
* ``exclusive``: nothing on the line, but the port is held with TIOCEXCL,
  as a program that wants it for itself does.
"""

from __future__ import annotations

import fcntl
import os
import sys
import termios
import time
import tty
from pathlib import Path

KINDS = ("echo", "console", "exclusive")


def main(kind: str, link: Path) -> None:
    master, slave = os.openpty()
    tty.setraw(slave)
    if kind == "exclusive":
        fcntl.ioctl(slave, termios.TIOCEXCL)
    link.symlink_to(os.ttyname(slave))
    print("ready", flush=True)
    try:
        while True:
            if kind == "exclusive":
                time.sleep(1)
                continue
            data = os.read(master, 4096)
            os.write(master, data + (b"\r\nlogin: " if kind == "console" else b""))
    finally:
        link.unlink()


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in KINDS:
        sys.exit(f"usage: python -m tests.support.ttys {{{','.join(KINDS)}}} LINK")
    main(sys.argv[1], Path(sys.argv[2]))
