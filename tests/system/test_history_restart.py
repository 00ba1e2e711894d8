"""The history file of ``nutpy serve``: it survives a restart, and a corrupt one is moved
aside without keeping the server from starting."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.support import FIXTURES
from tests.support.nut import free_port, nutpy_server, sim_control, wait_until, write_config


def _config(tmp_path: Path) -> tuple[Path, int, str]:
    port, http_port = free_port(), free_port()
    confdir = write_config(
        tmp_path, upsd_conf=f"LISTEN 127.0.0.1 {port}\n",
        ups_conf=("pollinterval = 1\n[su]\n  driver = apcsmart\n"
                  f'  port = "sim:smart?dump={FIXTURES}/smart-ups-1500.dev&control=su.sock"\n'))
    (confdir / "nutpy.conf").write_text(f"HTTP_LISTEN 127.0.0.1 {http_port}\n"
                                        "HISTORY history/h.sqlite\nHISTORY_DAYS 7\n")
    return confdir, port, f"http://127.0.0.1:{http_port}"


def _kinds(base: str) -> list[str]:
    entries = httpx.get(f"{base}/api/v1/log?range=week&ups=su").json()["entries"]
    return [e["kind"] for e in entries]


def test_samples_and_events_survive_a_restart(tmp_path: Path) -> None:
    confdir, port, base = _config(tmp_path)
    with nutpy_server(confdir, port):
        assert wait_until(lambda: httpx.get(f"{base}/api/v1/ups/su").json()["availability"]
                          == "OK", timeout=20)
        sim_control(confdir / "su.sock", "mains fail")
        assert wait_until(lambda: "power-failure" in _kinds(base), timeout=30)
        sim_control(confdir / "su.sock", "mains restore")
        assert wait_until(lambda: "power-restored" in _kinds(base), timeout=30)
        before = httpx.get(f"{base}/api/v1/history?ups=su&range=hour").json()["series"]
        assert before["battery.charge"] and before["input.voltage"]
    with nutpy_server(confdir, port):
        kinds = _kinds(base)
        assert kinds[:1] == ["server-start"] and "server-stop" in kinds
        assert kinds.index("power-failure") < kinds.index("power-restored") < \
            kinds.index("server-stop")
        after = httpx.get(f"{base}/api/v1/history?ups=su&range=hour").json()["series"]
        first = after["input.voltage"][0]
        assert first == before["input.voltage"][0]  # the same samples, served again
        csv = httpx.get(f"{base}/api/v1/history?ups=su&range=day&format=csv")
        assert csv.headers["content-type"].startswith("text/csv")
        assert csv.text.splitlines()[0] == "time,variable,value"
        log_csv = httpx.get(f"{base}/api/v1/log?range=day&format=csv").text
        assert "power-failure" in log_csv
        recent = httpx.get(f"{base}/api/v1/log?ups=su").json()["entries"]
        assert "power-failure" in [e["kind"] for e in recent]  # memory was preloaded


def test_a_corrupt_history_is_moved_aside(tmp_path: Path) -> None:
    confdir, port, base = _config(tmp_path)
    (confdir / "history").mkdir()
    (confdir / "history" / "h.sqlite").write_bytes(b"\x00garbage" * 4096)
    with nutpy_server(confdir, port) as server:
        assert wait_until(lambda: httpx.get(f"{base}/api/v1/ups/su").json()["availability"]
                          == "OK", timeout=20)
        assert httpx.get(f"{base}/api/v1/history?ups=su").status_code == 200
        moved = [p.name for p in (confdir / "history").iterdir() if ".corrupt-" in p.name]
        assert len(moved) == 1
        assert "was not a usable database: moved aside" in server.log_text()
