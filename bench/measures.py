"""The measurements.  Each one records samples as (metric, server, value).

Metric keys are the ones :mod:`bench.report` turns into table rows.  A
measurement that is repeated records once per repetition; the report takes
the median.  Free-form observations (what the generator used, what a server
failed to do) go to :meth:`Recorder.note`.
"""

from __future__ import annotations

import contextlib
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bench import servers
from bench.loadgen import LoadGen, RunResult
from bench.procs import started, usage
from bench.servers import UPS, Control, Running
from tests.support.nut import free_port, wait_until

GET = f"GET VAR {UPS} ups.status"
LIST = f"LIST VAR {UPS}"
LIST_END = f"END LIST VAR {UPS}"
BAUD = 2400
BITS_PER_BYTE = 10
KIB = 1024.0
MB = 1e6


@dataclass
class Recorder:
    samples: dict[tuple[str, str], list[float]] = field(
        default_factory=lambda: defaultdict(list))
    notes: list[str] = field(default_factory=list)
    generator_cpu: list[float] = field(default_factory=list)  # CPU s per wall s

    def add(self, key: str, server: str, value: float) -> None:
        self.samples[(key, server)].append(value)

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)
        print(f"    note: {text}", flush=True)

    def median(self, key: str, server: str) -> float | None:
        values = self.samples.get((key, server))
        return statistics.median(values) if values else None

    def load(self, key: str, server: str, result: RunResult, what: str) -> None:
        """Record the generator's CPU, and say so if the server lost requests."""
        self.generator_cpu.append(result.generator_cpu)
        if result.errors or result.lost:
            self.note(f"{server}, {what}: {result.errors} ERR replies, "
                      f"{result.lost} connections refused or closed")


def _say(text: str) -> None:
    print(f"  {text}", flush=True)


# ---- 1. upsc --------------------------------------------------------------------

def upsc_wall(rec: Recorder, pair: dict[str, Running], runs: int) -> None:
    """Median wall time of the real client, alternating servers run by run."""
    times: dict[str, list[float]] = {name: [] for name in pair}
    for name in pair:
        servers.run_upsc(pair[name].port)  # warm the page cache and the server
    for _ in range(runs):
        for name, server in pair.items():
            times[name].append(servers.run_upsc(server.port))
    for name, values in times.items():
        rec.add("upsc", name, statistics.median(values) * 1000)
    _say("upsc: " + ", ".join(f"{n} {statistics.median(v) * 1000:.1f} ms"
                              for n, v in times.items()))


# ---- 2. LIST VAR latency ----------------------------------------------------------

LIST_LOADS = ((1, 10.0), (100, 100.0))  # clients, ms between one client's requests


def list_latency(rec: Recorder, lg: LoadGen, pair: dict[str, Running],
                 seconds: float) -> None:
    for clients, interval in LIST_LOADS:
        for name, server in pair.items():
            result = lg.run(server.port, clients, seconds, LIST, LIST_END,
                            interval_ms=interval)
            rec.load(f"list{clients}", name, result, f"LIST VAR, {clients} clients")
            rec.add(f"list{clients}.p50", name, result.p50_ms)
            rec.add(f"list{clients}.p99", name, result.p99_ms)
            _say(f"LIST VAR {clients:>4} clients {name:5}: p50 {result.p50_ms:.2f} ms, "
                 f"p99 {result.p99_ms:.2f} ms ({result.requests} requests)")


# ---- 3. GET VAR throughput --------------------------------------------------------

GET_CLIENTS = (1, 100, 1000)


def get_throughput(rec: Recorder, lg: LoadGen, pair: dict[str, Running],
                   seconds: float) -> None:
    for clients in GET_CLIENTS:
        for name, server in pair.items():
            result = lg.run(server.port, clients, seconds, GET, "")
            rec.load(f"get{clients}", name, result, f"GET VAR, {clients} clients")
            rec.add(f"get{clients}.rate", name, result.rate)
            _say(f"GET VAR {clients:>4} clients {name:5}: {result.rate:,.0f}/s "
                 f"(generator {result.generator_cpu:.0%} of a core)")


# ---- 4. 10,000 idle connections -------------------------------------------------------

def _server_usage(server: Running) -> tuple[int, int]:
    """(RSS, descriptors) of the process that holds the clients."""
    pid = server.pids["nutpy" if server.name == "nutpy" else "upsd"]
    u = usage(pid)
    return u.rss_bytes, u.fds


def idle_connections(rec: Recorder, lg: LoadGen, server: Running, count: int,
                     seconds: float, workdir: Path) -> None:
    """Hold ``count`` idle clients; memory each, and an active client's p99."""
    lg.run(server.port, 10, 1.0, GET, "", warmup=0.2)  # the server has served before
    time.sleep(0.5)
    rss0, fds0 = _server_usage(server)
    with lg.hold(server.port, count, workdir / f"hold-{server.name}.log",
                 timeout=max(120.0, seconds * 3)) as ready:
        held = int(ready["held"])
        time.sleep(1.0)
        rss1, fds1 = _server_usage(server)
        result = lg.run(server.port, 1, seconds, GET, "", interval_ms=5.0)
        rss2, _ = _server_usage(server)
    rec.add("idle.held", server.name, held)
    if held < count:
        rec.note(f"{server.name} answered only {held} of {count} connections "
                 f"({ready.get('failed')} failed, {ready.get('pending')} unanswered "
                 f"after {ready.get('connect_s')} s)")
    per_conn = (max(rss1, rss2) - rss0) / max(held, 1) / KIB
    rec.add("idle.per_conn", server.name, per_conn)
    rec.add("idle.active_p99", server.name, result.p99_ms)
    rec.add("idle.connect_s", server.name, float(ready["connect_s"]))
    rec.load("idle", server.name, result, "active client among idle ones")
    _say(f"{count} idle, {server.name:5}: held {held} ({fds1 - fds0} more fds), "
         f"{per_conn:.1f} KiB each, active GET p99 {result.p99_ms:.2f} ms, "
         f"took {ready['connect_s']} s to connect")


# ---- 5 and 6. apcsmart on simulators: idle cost and power-cut latency ------------

@contextlib.contextmanager
def apcsmart_pair(workdir: Path, pollinterval: int = 2, baud: int | None = None) -> Iterator[
        tuple[dict[str, Running], dict[str, servers.Simulator]]]:
    """NUT's apcsmart + upsd and nutpy, each on its own identical simulator
    (paced like a serial line at ``baud``, if given)."""
    pace = ("--baud", str(baud)) if baud else ()
    with contextlib.ExitStack() as stack:
        sims = {name: stack.enter_context(servers.simulator(workdir / "sims", name, *pace))
                for name in servers.SERVERS}
        nut = stack.enter_context(servers.upsd(
            workdir / "apc", "apcsmart", str(sims["upsd"].link),
            extra=f"pollinterval = {pollinterval}\n"))
        ours = stack.enter_context(servers.nutpy(
            workdir / "apc",
            f"pollinterval = {pollinterval}\n[{UPS}]\n\tdriver = apcsmart\n"
            f"\tport = {sims['nutpy'].link}\n"))
        yield {"nutpy": ours, "upsd": nut}, sims


def idle_cost(rec: Recorder, pair: dict[str, Running], seconds: float) -> None:
    """CPU per minute and RSS of each server while it only polls its UPS."""
    before = {n: {role: usage(pid) for role, pid in s.pids.items()} for n, s in pair.items()}
    time.sleep(seconds)
    after = {n: {role: usage(pid) for role, pid in s.pids.items()} for n, s in pair.items()}
    for name in pair:
        cpu = {role: after[name][role].cpu_since(before[name][role]) * 60 / seconds
               for role in after[name]}
        rss = {role: after[name][role].rss_bytes / MB for role in after[name]}
        rec.add("idlecpu.cpu", name, sum(cpu.values()))
        rec.add("idlecpu.rss", name, sum(rss.values()))
        detail = ", ".join(f"{role} {cpu[role]:.3f} CPU s/min, {rss[role]:.1f} MB"
                           for role in cpu)
        if len(cpu) > 1:
            rec.note(f"idle cost of {name} by process: {detail}")
        _say(f"idle {name:5}: {detail}")


def _status(sock: socket.socket) -> str:
    sock.sendall(GET.encode() + b"\n")
    data = b""
    while not data.endswith(b"\n"):
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("server closed the connection")
        data += chunk
    return data.decode()


def _wait_status(sock: socket.socket, want_ob: bool, timeout: float,
                 poll: float) -> float | None:
    """Poll until ``OB`` is (or is no longer) in ups.status; the time it was seen."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        reply = _status(sock)
        words = reply.split('"')[1].split() if '"' in reply else []
        seen = time.perf_counter()
        if ("OB" in words) == want_ob:
            return seen
        time.sleep(poll)
    return None


def _cuts(server: Running, sim: servers.Simulator, cuts: int, poll: float,
          out: list[float], errors: list[str], seed: int) -> None:
    rng = random.Random(seed)
    control = Control(sim.control)
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for _ in range(cuts):
                time.sleep(rng.uniform(0.2, 1.2))  # no phase lock with the poll
                began = time.perf_counter()
                control.send("mains fail")
                seen = _wait_status(sock, True, 10.0, poll)
                control.answer()
                if seen is None:
                    errors.append(f"{server.name}: no OB within 10 s of mains fail")
                else:
                    out.append((seen - began) * 1000)
                control.send("mains restore")
                control.answer()
                if _wait_status(sock, False, 10.0, 0.01) is None:
                    errors.append(f"{server.name}: still OB 10 s after mains restore")
    except (OSError, ConnectionError) as exc:
        errors.append(f"{server.name}: {exc}")
    finally:
        control.close()


def power_cuts(rec: Recorder, pair: dict[str, Running],
               sims: dict[str, servers.Simulator], cuts: int, poll: float = 0.001,
               key: str = "cut") -> None:
    """``mains fail`` at the simulator until OB in GET VAR, both servers at once."""
    results: dict[str, list[float]] = {name: [] for name in pair}
    errors: list[str] = []
    threads = [threading.Thread(target=_cuts, args=(pair[n], sims[n], cuts, poll,
                                                     results[n], errors, i))
               for i, n in enumerate(pair)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for error in errors:
        rec.note(error)
    for name, values in results.items():
        if not values:
            continue
        values.sort()
        p99 = values[min(len(values) - 1, round(0.99 * (len(values) - 1)))]
        rec.add(f"{key}.p50", name, statistics.median(values))
        rec.add(f"{key}.p99", name, p99)
        rec.add(f"{key}.count", name, len(values))
        _say(f"power cut ({key}) {name:5}: {len(values)} cuts, "
             f"p50 {statistics.median(values):.1f} ms, p99 {p99:.1f} ms, "
             f"max {values[-1]:.1f} ms")


# ---- 7. 64 UPSes in one process ------------------------------------------------------

def many_ups(rec: Recorder, workdir: Path, count: int, seconds: float) -> None:
    """``count`` apcsmart UPSes on 2400-baud simulators: poll cycle vs line time."""
    simdir = workdir / "multisim"
    simdir.mkdir(parents=True, exist_ok=True)
    args = [sys.executable, "-m", "bench.multisim", str(simdir), str(count),
            str(servers.DUMP), str(BAUD)]
    with started(args, simdir / "multisim.log") as sim:
        if not wait_until(lambda: (simdir / "ready").exists(), 60):
            raise RuntimeError("bench.multisim did not start")
        ups_conf = "pollinterval = 2\n" + "".join(
            f"[{UPS}{i}]\n\tdriver = apcsmart\n\tport = {simdir / f'ups{i}.tty'}\n"
            for i in range(count))
        with servers.nutpy(workdir / "many", f"[{UPS}]\n\tdriver = dummy-ups\n"
                           f"\tport = {servers.dummy_conf(workdir / 'many' / 'nutpy')}\n"
                           + ups_conf, debug=True) as server:
            log = workdir / "many" / "nutpy" / "nutpy.log"
            # every UPS through discovery, then the measured window
            wait_until(lambda: log.read_text().count("APC Smart-UPS on") >= count, 120, 0.5)
            mark = len(log.read_text())
            before = usage(server.pids["nutpy"])
            time.sleep(seconds)
            cpu = usage(server.pids["nutpy"]).cpu_since(before) / seconds
            text = log.read_text()[mark:]
        sim_cpu = usage(sim.pid).cpu_seconds if sim.poll() is None else float("nan")
    ratios: list[float] = []
    per_ups: dict[str, int] = defaultdict(int)
    for line in text.splitlines():
        if "poll cycle" not in line:
            continue
        # "... [ups12] poll cycle 612.3 ms, 118 bytes sent, 140 received"
        name = line.split("[", 1)[1].split("]", 1)[0]
        words = line.split("poll cycle ", 1)[1].replace(",", "").split()
        took_ms, sent, received = float(words[0]), int(words[2]), int(words[5])
        bound_ms = (sent + received) * BITS_PER_BYTE / BAUD * 1000
        ratios.append(took_ms / bound_ms)
        per_ups[name] += 1
    if len(per_ups) < count:
        rec.note(f"64 UPSes: only {len(per_ups)} of {count} logged a poll cycle")
    if not ratios:
        raise RuntimeError("no poll cycle was logged")
    ratios.sort()
    rec.add("ups64.median", "nutpy", statistics.median(ratios))
    rec.add("ups64.p99", "nutpy", ratios[round(0.99 * (len(ratios) - 1))])
    rec.add("ups64.max", "nutpy", ratios[-1])
    rec.add("ups64.cpu", "nutpy", cpu * 100)
    rec.note(f"64 UPSes: {len(ratios)} poll cycles from {len(per_ups)} UPSes in {seconds:g} s; "
             f"nutpy used {cpu:.0%} of a core (the simulators' process {sim_cpu:.0f} CPU s "
             "in all, not counted)")
    _say(f"{count} UPSes: {len(ratios)} cycles, cycle/line time median "
         f"{statistics.median(ratios):.3f}, max {ratios[-1]:.3f}, nutpy CPU {cpu:.0%}")


# ---- the generator's headroom ---------------------------------------------------------

def headroom(rec: Recorder, lg: LoadGen, workdir: Path, list_reply: str,
             seconds: float) -> None:
    """The same loads against a trivial C server: what the generator alone can do."""
    port = free_port()
    get_reply = 'VAR ups ups.status "OL"'
    for label, reply, request, end, clients in (
            ("GET VAR", get_reply, GET, "", 100), ("GET VAR", get_reply, GET, "", 1000),
            ("LIST VAR", list_reply.rstrip("\n"), LIST, LIST_END, 100)):
        with lg.echo(port, reply, workdir / "echo.log"):
            wait_until(lambda p=port: servers.ask(p, "x") != "", 5)
            result = lg.run(port, clients, seconds, request, end)
        rec.add(f"headroom.{label}.{clients}", "echo", result.rate)
        _say(f"generator vs trivial server, {label} closed loop, {clients} clients: "
             f"{result.rate:,.0f}/s, generator {result.generator_cpu:.0%} of a core")
        port = free_port()


def list_reply(port: int) -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(LIST.encode() + b"\n")
        data = b""
        while not data.endswith(LIST_END.encode() + b"\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    return data.decode()


def nut_version() -> str:
    done = subprocess.run([str(servers.NUT_LIBEXEC / "upsd"), "-V"], capture_output=True,
                          text=True)
    return (done.stdout + done.stderr).strip().splitlines()[0]
