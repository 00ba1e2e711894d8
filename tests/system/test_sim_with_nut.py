"""NUT's own apcsmart driver and upsd accept nutpy's simulated Smart-UPS."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.support import FIXTURES
from tests.support.nut import (
    free_port,
    nut_tool,
    real_upsd,
    sim_control,
    sim_show,
    simulator,
    wait_until,
    write_config,
)


def upsc(port: int, var: str = "") -> str:
    args = [nut_tool("upsc"), f"su@127.0.0.1:{port}", *([var] if var else [])]
    return subprocess.run(args, capture_output=True, text=True, timeout=10).stdout


def test_nut_apcsmart_reads_the_simulator_and_commands_arrive(tmp_path: Path) -> None:
    port = free_port()
    with simulator("smart", tmp_path, "--dump", str(FIXTURES / "smart-ups-1500.dev")) \
            as (link, control):
        write_config(tmp_path, ups_conf=f"[su]\ndriver = apcsmart\nport = {link}\n",
                     upsd_conf=f"LISTEN 127.0.0.1 {port}\n",
                     users="[admin]\npassword = pw\ninstcmds = ALL\n")
        with real_upsd(tmp_path, port, {"su": "apcsmart"}):
            assert wait_until(lambda: upsc(port, "ups.status").strip() == "OL", timeout=30)
            values = dict(line.split(": ", 1) for line in upsc(port).splitlines())
            assert values["ups.model"] == "Smart-UPS 1500"
            assert values["ups.firmware"] == "601.3.I"
            assert values["input.voltage"] == "236.1"
            assert values["battery.charge"] == "100.0"
            assert values["battery.runtime"] == "3720"

            assert sim_control(control, "mains fail") == ["OK"]
            assert wait_until(lambda: "OB" in upsc(port, "ups.status"), timeout=10)
            sim_control(control, "mains restore")
            assert wait_until(lambda: upsc(port, "ups.status").strip() == "OL", timeout=10)

            done = subprocess.run([nut_tool("upscmd"), "-u", "admin", "-p", "pw",
                                   f"su@127.0.0.1:{port}", "test.battery.start"],
                                  capture_output=True, text=True, timeout=10)
            assert done.returncode == 0, done.stderr
            assert wait_until(lambda: sim_show(control)["last command"] == "W", timeout=10)
