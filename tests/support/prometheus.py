"""A real Prometheus server (Debian's ``prometheus``) scraping a target, on loopback."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.support.nut import free_port, wait_until

PROMETHEUS = "/usr/bin/prometheus"
PROMTOOL = "/usr/bin/promtool"


@dataclass
class Prometheus:
    url: str
    log: Path

    def query(self, expr: str) -> list[dict[str, Any]]:
        """The instant vector ``expr`` evaluates to now."""
        reply = httpx.get(f"{self.url}/api/v1/query", params={"query": expr}, timeout=5)
        reply.raise_for_status()
        data = reply.json()["data"]
        assert data["resultType"] == "vector"
        return list(data["result"])

    def value(self, expr: str) -> float | None:
        """The one sample ``expr`` selects, or None when it selects nothing."""
        result = self.query(expr)
        assert len(result) <= 1, result
        return float(result[0]["value"][1]) if result else None


@contextlib.contextmanager
def prometheus(directory: Path, target: str, *, interval: float = 1.0,
               path: str = "/metrics") -> Iterator[Prometheus]:
    """Prometheus scraping ``target`` (host:port) every ``interval`` seconds."""
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "prometheus.yml"
    config.write_text(
        "global:\n"
        f"  scrape_interval: {interval:g}s\n"
        f"  scrape_timeout: {interval:g}s\n"
        "scrape_configs:\n"
        "  - job_name: nutpy\n"
        f"    metrics_path: {path}\n"
        "    static_configs:\n"
        f"      - targets: ['{target}']\n")
    port = free_port()
    log = directory / "prometheus.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={directory / 'data'}",
             f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
            stdout=out, stderr=subprocess.STDOUT)
    server = Prometheus(f"http://127.0.0.1:{port}", log)
    try:
        def scraping() -> bool:
            try:
                return server.value('up{job="nutpy"}') == 1.0
            except httpx.HTTPError:
                return False

        assert wait_until(scraping, timeout=30, interval=0.2), log.read_text()
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def promtool_check(exposition: bytes) -> subprocess.CompletedProcess[str]:
    """``promtool check metrics`` on an exposition: its lint problems, if any."""
    return subprocess.run([PROMTOOL, "check", "metrics"], input=exposition.decode(),
                          capture_output=True, text=True, timeout=30)
