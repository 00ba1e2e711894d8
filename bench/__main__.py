"""``python -m bench [--quick]``: run every measurement, print and save the table.

See :mod:`bench` for what is measured and how.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import os
import signal
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from bench import frontends, measures, report, servers
from bench.loadgen import LoadGen, build
from bench.measures import Recorder
from bench.procs import raise_nofile_limit

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
IDLE_CLIENTS = 10_000
MANY_UPS = 64


@dataclass(frozen=True)
class Plan:
    name: str
    reps: int  # repetitions of measurements 1-4
    upsc_runs: int
    seconds: float  # per load-generator run
    idle_seconds: float  # active client among the idle ones
    idle_cost_seconds: float
    cuts: int
    many_seconds: float
    scrapes: int
    http_seconds: float


FULL = Plan("full", reps=3, upsc_runs=30, seconds=5.0, idle_seconds=10.0,
            idle_cost_seconds=60.0, cuts=30, many_seconds=60.0, scrapes=500,
            http_seconds=10.0)
QUICK = Plan("quick (BENCH_QUICK=1)", reps=1, upsc_runs=10, seconds=2.0,
             idle_seconds=4.0, idle_cost_seconds=15.0, cuts=8, many_seconds=20.0,
             scrapes=100, http_seconds=3.0)


def cpu_busy(seconds: float) -> float:
    """Fraction of all cores busy over ``seconds`` (everything on the machine)."""
    def sample() -> tuple[int, int]:
        with open("/proc/stat") as f:
            values = [int(v) for v in f.readline().split()[1:]]
        idle = values[3] + values[4]
        return sum(values) - idle, sum(values)
    busy0, total0 = sample()
    time.sleep(seconds)
    busy1, total1 = sample()
    return (busy1 - busy0) / max(total1 - total0, 1)


def _stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(f"stopped by signal {signum}")


def run(plan: Plan, workdir: Path, only: set[int]) -> tuple[Recorder, list[str]]:
    rec = Recorder()
    lg = LoadGen(build(workdir))
    generator: list[str] = []
    list_text = ""
    for rep in range(plan.reps):
        print(f"repetition {rep + 1} of {plan.reps}", flush=True)
        if only & {1, 2, 3}:
            with servers.dummy_pair(workdir / f"rep{rep}") as both:
                # alternate which server goes first, so neither always runs warm
                pair = dict(sorted(both.items(), reverse=bool(rep % 2)))
                list_text = list_text or measures.list_reply(pair["upsd"].port)
                if 1 in only:
                    measures.upsc_wall(rec, pair, plan.upsc_runs)
                if 2 in only:
                    measures.list_latency(rec, lg, pair, plan.seconds)
                if 3 in only:
                    measures.get_throughput(rec, lg, pair, plan.seconds)
            if only & {2, 3}:  # the generator against a trivial server, under
                # the same machine load as the servers just measured
                measures.headroom(rec, lg, workdir, list_text, plan.seconds)
        if 4 in only:
            with servers.dummy_pair(workdir / f"idle{rep}") as fresh:
                for name in sorted(fresh, reverse=bool(rep % 2)):
                    measures.idle_connections(rec, lg, fresh[name], IDLE_CLIENTS,
                                              plan.idle_seconds, workdir)
    if only & {2, 3}:
        for key, label in (("headroom.GET VAR.100", "GET VAR, 100 clients"),
                           ("headroom.GET VAR.1000", "GET VAR, 1,000 clients"),
                           ("headroom.LIST VAR.100", "LIST VAR, 100 clients (closed loop)")):
            rate = rec.median(key, "echo")
            if rate is not None:
                generator.append(f"{label}: {rate:,.0f} round trips/s against the trivial "
                                 "server")
    for clients in (100, 1000):
        echo = rec.median(f"headroom.GET VAR.{clients}", "echo")
        for name in servers.SERVERS:
            rate = rec.median(f"get{clients}.rate", name)
            if echo and rate and rate >= 0.8 * echo:
                rec.note(f"{name}'s GET VAR rate with {clients} clients is "
                         f"{rate / echo:.0%} of what the generator reaches against a "
                         "trivial C server: there the machine (generator and server "
                         "sharing its cores), not the server, is the limit, and the "
                         "server is at least this fast")
    if rec.generator_cpu:
        generator.append(f"generator CPU during the server measurements: at most "
                         f"{max(rec.generator_cpu):.0%} of one core")
    if only & {5, 6}:
        print("apcsmart on simulators", flush=True)
        with measures.apcsmart_pair(workdir / "apcsmart") as (pair, sims):
            time.sleep(5.0)  # both drivers past discovery and into steady polling
            if 5 in only:
                measures.idle_cost(rec, pair, plan.idle_cost_seconds)
            if 6 in only:
                measures.power_cuts(rec, pair, sims, plan.cuts)
        if 6 in only:  # the same on simulators as slow as a real 2400-baud line
            with measures.apcsmart_pair(workdir / "apcsmart2400", baud=2400) as (pair, sims):
                time.sleep(8.0)  # discovery takes longer at 2400 baud
                measures.power_cuts(rec, pair, sims, plan.cuts, key="cut2400")
    if 7 in only:
        print(f"{MANY_UPS} UPSes at 2400 baud", flush=True)
        measures.many_ups(rec, workdir / "many", MANY_UPS, plan.many_seconds)
    if 8 in only:
        print("HTTP: scrape latency", flush=True)
        frontends.scrape_latency(rec, workdir / "http", plan.scrapes)
    if 9 in only:
        print("HTTP: event latency", flush=True)
        frontends.event_latency(rec, workdir / "http", plan.cuts)
    if 10 in only:
        print("HTTP: NUT clients under scrapes, event streams and the dashboard", flush=True)
        frontends.nut_clients_under_http(rec, lg, workdir / "http", plan.http_seconds)
    return rec, generator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true",
                        help="short runs, one repetition (also BENCH_QUICK=1)")
    parser.add_argument("--only", default="1,2,3,4,5,6,7,8,9,10",
                        help="comma-separated measurement numbers (default: all)")
    parser.add_argument("--doc", type=Path, default=DOC,
                        help="where to write the results (default docs/benchmarks.md)")
    parser.add_argument("--no-doc", action="store_true", help="print only")
    parser.add_argument("--keep", type=Path, help="work in this directory and keep it")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick or os.environ.get("BENCH_QUICK") == "1" else FULL
    only = {int(n) for n in args.only.split(",") if n.strip()}
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    raise_nofile_limit()
    background = cpu_busy(2.0)
    load_before = os.getloadavg()
    date = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    print(f"nutpy bench, {plan.name}; machine {background:.0%} busy before starting",
          flush=True)
    with contextlib.ExitStack() as stack:
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            workdir = args.keep
        else:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(
                prefix="nutpy-bench-")))
        rec, generator = run(plan, workdir, only)
    load_after = os.getloadavg()
    load = (f"{background:.0%} of all cores busy just before it started; load average "
            f"{load_before[0]:.2f} at the start, {load_after[0]:.2f} at the end "
            f"({os.cpu_count()} cores)")
    text, verdicts = report.table(rec)
    print()
    print(text)
    print()
    print("\n".join(verdicts))
    if not args.no_doc:
        report.write(args.doc, report.section(
            rec, date=date, machine_lines=report.machine(measures.nut_version()),
            mode=plan.name, reps=plan.reps, load=load, generator=generator))
        print(f"\nwritten to {args.doc}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
