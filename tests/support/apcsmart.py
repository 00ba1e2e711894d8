"""Reading a simulated Smart-UPS through ``upsc``, for the differential tests."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from tests.support.nut import nut_tool, wait_until

# The Smart dumps in tests/fixtures.
DUMPS = ["smart-ups-1500", "smart-ups-1250", "smart-ups-sc1500", "smart-ups-rt-3000-xl",
         "matrix-ups-3000"]
SETTLE = 2.5  # two polls at pollinterval 1: M and N have been reset by a query


def upsc(port: int) -> dict[str, str]:
    out = subprocess.run([nut_tool("upsc"), f"su@127.0.0.1:{port}"],
                         capture_output=True, text=True, timeout=10).stdout
    return dict(line.split(": ", 1) for line in out.splitlines() if ": " in line)


def settled(port: int) -> dict[str, str]:
    assert wait_until(lambda: "ups.status" in upsc(port), timeout=20)
    time.sleep(SETTLE)
    return {k: v for k, v in upsc(port).items() if not k.startswith("driver.")}


def ups_conf(link: Path) -> str:
    return f"pollinterval = 1\n[su]\ndriver = apcsmart\nport = {link}\n"
