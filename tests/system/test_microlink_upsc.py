"""nutpy's apcmicrolink driver on its built-in simulator, read by NUT's real clients."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from tests.support.expected import EXPECTED
from tests.support.nut import (
    free_port,
    nut_tool,
    nutpy_server,
    sim_control,
    sim_show,
    wait_until,
    write_config,
)

USERS = "[admin]\npassword = pw\ninstcmds = ALL\nactions = SET\n"


def upsc(target: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([nut_tool("upsc"), target], capture_output=True, text=True,
                          timeout=10)


def upsc_values(target: str) -> dict[str, str]:
    return dict(line.split(": ", 1) for line in upsc(target).stdout.splitlines())


def test_upsc_sees_every_variable_for_16_and_32_byte_rows(tmp_path: Path) -> None:
    port = free_port()
    write_config(tmp_path, ups_conf="[ml16]\ndriver = apcmicrolink\nport = sim:microlink\n"
                 "[ml32]\ndriver = apcmicrolink\nport = \"sim:microlink?rows=32\"\n",
                 upsd_conf=f"LISTEN 127.0.0.1 {port}\n", users=USERS)
    with nutpy_server(tmp_path, port):
        for name, sim_port in (("ml16", "sim:microlink"), ("ml32", "sim:microlink?rows=32")):
            target = f"{name}@127.0.0.1:{port}"
            assert wait_until(lambda t=target: "ups.status" in upsc_values(t), timeout=10)
            values = upsc_values(target)
            assert values.pop("driver.version")
            assert values.pop("driver.version.internal")
            assert values == EXPECTED | {
                "driver.name": "apcmicrolink", "device.type": "ups",
                "driver.parameter.port": sim_port}, name
        commands = subprocess.run([nut_tool("upscmd"), "-l", f"ml16@127.0.0.1:{port}"],
                                  capture_output=True, text=True, timeout=10).stdout
        assert "shutdown.return - " in commands and "beeper.mute - " in commands
        rw = subprocess.run([nut_tool("upsrw"), f"ml16@127.0.0.1:{port}"],
                            capture_output=True, text=True, timeout=10).stdout
        assert "[ups.id]" in rw and "Type: STRING" in rw and "Maximum length: 16" in rw
        assert "Option: \"OnStartUpPlus14\" SELECTED" in rw


def test_unplug_plug_and_commands_through_real_clients(tmp_path: Path) -> None:
    port = free_port()
    write_config(tmp_path, ups_conf="[ml]\ndriver = apcmicrolink\n"
                 "port = \"sim:microlink?control=ml.ctl\"\n",
                 upsd_conf=f"LISTEN 127.0.0.1 {port}\nMAXAGE 15\n", users=USERS)
    target = f"ml@127.0.0.1:{port}"
    control = tmp_path / "ml.ctl"
    with nutpy_server(tmp_path, port):
        assert wait_until(lambda: upsc_values(target).get("ups.status") == "OL", timeout=10)

        done = subprocess.run([nut_tool("upscmd"), "-u", "admin", "-p", "pw", "-w", target,
                               "shutdown.return"], capture_output=True, text=True, timeout=15)
        assert done.returncode == 0 and "SUCCESS" in done.stderr, done.stdout + done.stderr
        assert sim_show(control)["last command"] == (
            "2:4.B5 <- 4188 (shutdown off-delay MOG rj45)")
        done = subprocess.run([nut_tool("upsrw"), "-s", "ups.id=RACK1", "-u", "admin",
                               "-p", "pw", "-w", target], capture_output=True, text=True,
                              timeout=15)
        assert done.returncode == 0 and "SUCCESS" in done.stderr, done.stdout + done.stderr
        assert wait_until(lambda: upsc_values(target).get("ups.id") == "RACK1", timeout=5)

        assert sim_control(control, "unplug") == ["OK"]
        unplugged = time.monotonic()
        assert wait_until(lambda: "Data stale" in upsc(target).stderr, timeout=15)
        assert time.monotonic() - unplugged < 15
        time.sleep(max(0.0, unplugged + 5 - time.monotonic()))
        assert "Data stale" in upsc(target).stderr
        assert sim_control(control, "plug") == ["OK"]
        assert wait_until(lambda: upsc(target).returncode == 0, timeout=2, interval=0.05)
        assert upsc_values(target)["ups.serial"] == "AS2101123456"
