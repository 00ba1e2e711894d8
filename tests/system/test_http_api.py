"""The JSON API of ``nutpy serve`` as a process, driven with httpx: a command and a
setting reach the simulated UPS, and the event stream pushes the power cut."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support import FIXTURES
from tests.support.nut import (
    Server,
    free_port,
    nutpy_server,
    sim_control,
    sim_show,
    wait_until,
    write_config,
)

USERS = "[admin]\n  password = pw\n  actions = SET\n  instcmds = test.battery.start\n"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str, Path]]:
    directory = tmp_path_factory.mktemp("nutpy")
    port, http_port = free_port(), free_port()
    confdir = write_config(
        directory, users=USERS, upsd_conf=f"LISTEN 127.0.0.1 {port}\n",
        ups_conf=("pollinterval = 1\n[su]\n  driver = apcsmart\n"
                  f'  port = "sim:smart?dump={FIXTURES}/smart-ups-1500.dev&control=su.sock"\n'))
    (confdir / "nutpy.conf").write_text(f"HTTP_LISTEN 127.0.0.1 {http_port}\n")
    with nutpy_server(confdir, port) as server:
        base = f"http://127.0.0.1:{http_port}"
        assert wait_until(lambda: httpx.get(f"{base}/api/v1/ups/su").json()[
            "availability"] == "OK", timeout=20)
        yield server, base, confdir / "su.sock"


def test_a_self_test_through_the_api_reaches_the_ups(
        served: tuple[Server, str, Path]) -> None:
    _, base, control = served
    with httpx.Client(base_url=base, auth=("admin", "pw")) as client:
        reply = client.post("/api/v1/ups/su/commands/test.battery.start", json={})
        assert (reply.status_code, reply.json()) == (200, {"result": "SUCCESS"})
        assert sim_show(control)["test"] == "W"  # APC Smart's self-test is running
        reply = client.put("/api/v1/ups/su/variables/input.transfer.low",
                           json={"value": "204"})
        assert (reply.status_code, reply.json()) == (200, {"result": "SUCCESS"})
        assert wait_until(lambda: client.get("/api/v1/ups/su").json()["variables"][
            "input.transfer.low"]["value"] == "204", timeout=5)
        assert wait_until(lambda: sim_show(control)["test"] == "none", timeout=30)
        log = client.get("/api/v1/log?ups=su").json()["entries"]
        assert [e["message"] for e in log if e["kind"] in ("command", "setting")] == [
            "Command test.battery.start by admin from 127.0.0.1: done",
            "Setting input.transfer.low = 204 by admin from 127.0.0.1: done"]


def test_the_event_stream_pushes_a_power_cut_at_once(served: tuple[Server, str, Path]) -> None:
    _, base, control = served
    assert wait_until(lambda: httpx.get(f"{base}/api/v1/ups/su").json()["status"] == ["OL"],
                      timeout=30)
    seen: list[tuple[str, dict[str, object]]] = []
    kind = ""
    with httpx.Client(base_url=base, timeout=10) as client, \
            client.stream("GET", "/api/v1/events?ups=su&type=status,log") as stream:
        cut = 0.0
        for line in stream.iter_lines():
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                seen.append((kind, json.loads(line[6:])))
                if kind == "snapshot":
                    cut = time.monotonic()
                    assert sim_control(control, "mains fail") == ["OK"]
                elif kind == "status":
                    took = time.monotonic() - cut
                if kind == "log" and seen[-1][1]["kind"] == "power-failure":
                    break
    sim_control(control, "mains restore")
    status = [data for kind, data in seen if kind == "status"]
    assert status[0]["old"] == ["OL"] and "OB" in status[0]["new"]  # type: ignore[operator]
    assert took < 1.0, took  # an alert byte, not the next poll (the bench measures it)
