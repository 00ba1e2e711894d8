"""What the HTTP front end costs, and what it costs the NUT clients (measurements 8-11).

8. ``/metrics`` scrape latency, p50/p99, for 1 and 64 UPSes (dummy-ups from
   the same dump), one scrape after another on a kept-alive connection.
9. Event latency: ``mains fail`` at a simulator on a pty until the ``status``
   event reaches an open ``/api/v1/events`` stream, p50/p99.
10. ``GET VAR`` p99 of 10 NUT clients (each every 10 ms) while a real
    Prometheus scrapes every second and 50 event streams are open, against
    the same load without them.
11. The same with a real browser (headless chromium) showing the dashboard.

NUT has no HTTP side to hold these against: 8 and 9 are absolute, with the
issue's targets; 10 and 11 are nutpy against itself, the ratio being the cost.
"""

from __future__ import annotations

import contextlib
import json
import statistics
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from bench import servers
from bench.loadgen import LoadGen
from bench.measures import GET, Recorder, _say
from bench.servers import UPS, Control, Running
from tests.support.browser import chromium
from tests.support.nut import free_port, wait_until
from tests.support.prometheus import prometheus

STREAMS = 50
PROBE_CLIENTS, PROBE_INTERVAL_MS = 10, 10.0


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


@contextlib.contextmanager
def _served(workdir: Path, ups_conf: str, name: str) -> Iterator[tuple[Running, str]]:
    """``nutpy serve`` with an HTTP port: the server and its base URL."""
    http_port = free_port()
    confdir = workdir / name
    confdir.mkdir(parents=True, exist_ok=True)
    (confdir / "nutpy.conf").write_text(f"HTTP_LISTEN 127.0.0.1 {http_port}\n"
                                        "HISTORY off\n")
    with servers.nutpy(workdir, ups_conf, name=name) as server:
        yield server, f"http://127.0.0.1:{http_port}"


def _dummies(directory: Path, count: int) -> str:
    port = servers.dummy_conf(directory)
    return "".join(f"[{UPS}{'' if i == 0 else i}]\n\tdriver = dummy-ups\n\tport = {port}\n"
                   for i in range(count))


# ---- 8 --------------------------------------------------------------------------------

def scrape_latency(rec: Recorder, workdir: Path, scrapes: int) -> None:
    for count in (1, 64):
        with _served(workdir / f"scrape{count}", _dummies(workdir / f"scrape{count}" /
                                                          f"nutpy{count}", count),
                     f"nutpy{count}") as (_, base), httpx.Client(base_url=base) as client:
            def all_fresh(client: httpx.Client = client, count: int = count) -> bool:
                listed = client.get("/api/v1/ups").json()["ups"]
                return len(listed) == count and all(u["availability"] == "OK"
                                                    for u in listed)

            assert wait_until(all_fresh, 30)
            size = len(client.get("/metrics").content)
            times = []
            for _ in range(scrapes):
                began = time.perf_counter()
                reply = client.get("/metrics")
                times.append((time.perf_counter() - began) * 1000)
                reply.raise_for_status()
        rec.add(f"scrape{count}.p50", "nutpy", statistics.median(times))
        rec.add(f"scrape{count}.p99", "nutpy", _p99(times))
        _say(f"scrape, {count} UPS: p50 {statistics.median(times):.2f} ms, "
             f"p99 {_p99(times):.2f} ms ({size:,} bytes)")


# ---- 9 --------------------------------------------------------------------------------

def event_latency(rec: Recorder, workdir: Path, cuts: int) -> None:
    with servers.simulator(workdir / "sse-sim", "sse") as sim, _served(
            workdir / "sse", f"pollinterval = 2\n[{UPS}]\n\tdriver = apcsmart\n"
            f"\tport = {sim.link}\n", "nutpy-sse") as (_, base):
        seen: list[float] = []
        ready = threading.Event()
        arrived = threading.Condition()

        def listen() -> None:
            with httpx.Client(base_url=base, timeout=None) as client, client.stream(
                    "GET", f"/api/v1/events?ups={UPS}&type=status") as stream:
                kind = ""
                for line in stream.iter_lines():
                    if line.startswith("event: "):
                        kind = line[7:]
                        ready.set()
                    elif line.startswith("data: ") and kind == "status" and \
                            "OB" in json.loads(line[6:])["new"]:
                        with arrived:
                            seen.append(time.perf_counter())
                            arrived.notify_all()
                    if len(seen) >= cuts:
                        return

        thread = threading.Thread(target=listen, daemon=True)
        thread.start()
        ready.wait(30)
        control = Control(sim.control)
        latencies = []
        try:
            for i in range(cuts):
                time.sleep(0.3 + (i % 7) * 0.13)  # no phase lock with the poll
                began = time.perf_counter()
                control.send("mains fail")
                with arrived:
                    arrived.wait_for(lambda i=i: len(seen) > i, 10)  # type: ignore[misc]
                control.answer()
                if len(seen) > i:
                    latencies.append((seen[i] - began) * 1000)
                control.send("mains restore")
                control.answer()
                time.sleep(0.5)
        finally:
            control.close()
        thread.join(5)
    if not latencies:
        rec.note("event latency: no status event arrived")
        return
    rec.add("sse.p50", "nutpy", statistics.median(latencies))
    rec.add("sse.p99", "nutpy", _p99(latencies))
    _say(f"event latency: {len(latencies)} cuts, p50 {statistics.median(latencies):.1f} ms, "
         f"p99 {_p99(latencies):.1f} ms")


# ---- 10 and 11 ------------------------------------------------------------------------

def _streams(base: str, count: int, stop: threading.Event) -> list[threading.Thread]:
    def read() -> None:
        with contextlib.suppress(httpx.HTTPError), httpx.Client(
                base_url=base, timeout=None) as client, client.stream(
                "GET", "/api/v1/events") as stream:
            for _ in stream.iter_bytes():
                if stop.is_set():
                    return

    threads = [threading.Thread(target=read, daemon=True) for _ in range(count)]
    for thread in threads:
        thread.start()
    return threads


def _get_p99(lg: LoadGen, server: Running, seconds: float) -> float:
    result = lg.run(server.port, PROBE_CLIENTS, seconds, GET, "",
                    interval_ms=PROBE_INTERVAL_MS)
    return result.p99_ms


@contextlib.contextmanager
def _browser(url: str, workdir: Path) -> Iterator[None]:
    with chromium(workdir / "chromium") as driver:
        driver.get(url)
        yield


def nut_clients_under_http(rec: Recorder, lg: LoadGen, workdir: Path,
                           seconds: float) -> None:
    with servers.simulator(workdir / "load-sim", "load") as sim, _served(
            workdir / "load", f"pollinterval = 2\n[{UPS}]\n\tdriver = apcsmart\n"
            f"\tport = {sim.link}\n", "nutpy-load") as (server, base):
        time.sleep(5.0)  # past discovery
        quiet = [_get_p99(lg, server, seconds) for _ in range(2)]
        stop = threading.Event()
        threads = _streams(base, STREAMS, stop)
        with prometheus(workdir / "prometheus", base.removeprefix("http://"), interval=1.0):
            busy = [_get_p99(lg, server, seconds) for _ in range(2)]
        stop.set()
        for thread in threads:
            thread.join(5)
        with _browser(base + "/", workdir):
            time.sleep(3.0)  # the page loaded and listening
            browsing = [_get_p99(lg, server, seconds) for _ in range(2)]
    base_p99 = statistics.median(quiet)
    rec.add("http.quiet.p99", "nutpy", base_p99)
    rec.add("http.loaded.ratio", "nutpy", statistics.median(busy) / base_p99)
    rec.add("http.browser.ratio", "nutpy", statistics.median(browsing) / base_p99)
    _say(f"GET VAR p99: {base_p99:.2f} ms alone, {statistics.median(busy):.2f} ms with "
         f"Prometheus and {STREAMS} streams, {statistics.median(browsing):.2f} ms with "
         "the dashboard open")
