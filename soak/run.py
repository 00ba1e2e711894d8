"""Soak: many clients polling nutpy while the UPS loses mains and its cable.

``nutpy serve`` reads a simulated Smart-UPS (``nutpy simulate smart`` on a
pseudo-terminal, through the ``apcsmart`` driver).  Clients poll it the way
upsmon and upsc do; every ``--mains-period`` the mains fail and come back
halfway through; every ``--unplug-period`` the serial cable is pulled for
``--unplug-for`` seconds.  The simulator's own state (its ``show`` command,
sampled twice a second) is the truth every answer is checked against.

An answer is *wrong* when, with the simulator steady for the allowance
before the request and until its reply:

* the UPS was unplugged, yet a value was served (it must be DATA-STALE);
* it was plugged in, yet ``ups.status`` differed from the simulator's
  status words, or ``battery.charge`` from its charge (by more than 1);
* it was plugged in for longer than ``--replug-allow``, yet DATA-STALE came;
* it was any other error, or malformed.

Also counted: clients' connection failures and timeouts, and ERROR or
Traceback lines in the server's log.  The server's resident memory is
sampled; its slope after warm-up is reported.  Exit status 1 if anything is
wrong, an error happened, or the slope exceeds ``--max-slope``.

Run from the repository root: ``python -m soak.run`` (or ``make soak``);
``SOAK_SECONDS`` (default 1800) and the other ``SOAK_*`` variables override
the defaults of the options of the same name.
"""

from __future__ import annotations

import argparse
import bisect
import os
import random
import re
import socket
import statistics
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import trio

from nutpy.cli import raise_fd_limit
from tests.support import FIXTURES
from tests.support.nut import free_port, nutpy_server, rss_kib, simulator, wait_until, write_config

UPS = "soak"
USER, PASSWORD = "monuser", "soakpass"
REPLY_TIMEOUT = 10.0
TRUTH_EVERY = 0.5
RSS_EVERY = 5.0


@dataclass(frozen=True, slots=True)
class Truth:
    """The simulator at one instant."""

    t: float
    unplugged: bool
    status: str
    charge: float


@dataclass(frozen=True, slots=True)
class Answer:
    """One value a client was given, with when it asked and when it heard."""

    sent: float
    received: float
    variable: str  # ups.status or battery.charge
    reply: str  # the value, or "ERR CODE"


@dataclass
class Tally:
    answers: list[Answer] = field(default_factory=list)
    truth: list[Truth] = field(default_factory=list)
    events: list[tuple[float, str]] = field(default_factory=list)
    rss: list[tuple[float, int]] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    client_errors: list[str] = field(default_factory=list)
    requests: int = 0


# ---- talking to the simulator --------------------------------------------------------

async def control(path: Path, command: str) -> list[str]:
    """One command on the simulator's control socket; its answer lines."""
    stream = await trio.open_unix_socket(str(path))
    async with stream:
        await stream.send_all(command.encode() + b"\n")
        data = b""
        while not (data.endswith(b"OK\n") or b"ERR" in data):
            chunk = await stream.receive_some(4096)
            if not chunk:
                break
            data += chunk
    return data.decode().splitlines()


def parse_show(t: float, lines: list[str]) -> Truth:
    fields = dict(line.split(": ", 1) for line in lines if ": " in line)
    match = re.search(r"\((.*)\)", fields["status"])
    return Truth(t, fields["mode"] == "unplugged", match.group(1) if match else "",
                 float(fields["battery.charge"]))


async def sample_truth(ctl: Path, tally: Tally) -> None:
    while True:
        tally.truth.append(parse_show(trio.current_time(), await control(ctl, "show")))
        await trio.sleep(TRUTH_EVERY)


async def events(ctl: Path, args: argparse.Namespace, tally: Tally, start: float) -> None:
    """Mains fail at every period and return halfway; the cable goes and comes back."""
    timeline: list[tuple[float, str]] = []
    t = args.mains_period / 4
    while t < args.seconds:
        timeline += [(t, "mains fail"), (t + args.mains_period / 2, "mains restore")]
        t += args.mains_period
    t = args.unplug_period / 2
    while t < args.seconds:
        timeline += [(t, "unplug"), (t + args.unplug_for, "plug")]
        t += args.unplug_period
    for at, command in sorted(timeline):
        await trio.sleep_until(start + at)
        await control(ctl, command)
        tally.events.append((trio.current_time(), command))
        if command == "mains restore":  # keep a long soak from draining the battery flat
            await control(ctl, "battery charge 100")


# ---- clients -----------------------------------------------------------------------------

class Client:
    """A line-oriented NUT client on one connection."""

    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self.buffer = b""

    async def line(self) -> str:
        with trio.fail_after(REPLY_TIMEOUT):
            while b"\n" not in self.buffer:
                chunk = await self.stream.receive_some(65536)
                if not chunk:
                    raise EOFError("server closed the connection")
                self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line.decode("ascii")

    async def ask(self, request: str, tally: Tally) -> tuple[float, float, str]:
        sent = trio.current_time()
        await self.stream.send_all(request.encode() + b"\n")
        reply = await self.line()
        received = trio.current_time()
        tally.requests += 1
        tally.latencies.append(received - sent)
        return sent, received, reply


def value_of(reply: str, variable: str) -> str:
    """``VAR soak v "x"`` -> ``x``; errors stay as they are; anything else is kept whole."""
    prefix = f"VAR {UPS} {variable} "
    if reply.startswith(prefix) and reply.endswith('"'):
        return reply[len(prefix) + 1:-1]
    return reply if reply.startswith("ERR ") else f"MALFORMED {reply}"


async def poller(port: int, index: int, args: argparse.Namespace, tally: Tally) -> None:
    """upsmon-like: one connection, LOGIN for some, then ups.status (and charge) polls."""
    rng = random.Random(index)
    while True:
        try:
            async with await trio.open_tcp_stream("127.0.0.1", port) as stream:
                client = Client(stream)
                if index % 5 == 0:
                    for request in (f"USERNAME {USER}", f"PASSWORD {PASSWORD}",
                                    f"LOGIN {UPS}"):
                        *_, reply = await client.ask(request, tally)
                        if reply != "OK":
                            tally.client_errors.append(f"{request.split()[0]}: {reply}")
                polls = 0
                while True:
                    await trio.sleep(args.poll * rng.uniform(0.8, 1.2))
                    polls += 1
                    for variable in (["ups.status", "battery.charge"] if polls % 5 == 0
                                     else ["ups.status"]):
                        sent, received, reply = await client.ask(
                            f"GET VAR {UPS} {variable}", tally)
                        tally.answers.append(Answer(sent, received, variable,
                                                    value_of(reply, variable)))
        except (OSError, EOFError, trio.TooSlowError, trio.BrokenResourceError) as exc:
            tally.client_errors.append(f"poller {index}: {type(exc).__name__}: {exc}")
            await trio.sleep(1)


async def churner(port: int, index: int, args: argparse.Namespace, tally: Tally) -> None:
    """upsc-like: a new connection each time, LIST VAR, LOGOUT."""
    rng = random.Random(-index)
    while True:
        await trio.sleep(args.poll * 5 * rng.uniform(0.8, 1.2))
        try:
            async with await trio.open_tcp_stream("127.0.0.1", port) as stream:
                client = Client(stream)
                sent, _, first = await client.ask(f"LIST VAR {UPS}", tally)
                values: dict[str, str] = {}
                if first == f"BEGIN LIST VAR {UPS}":
                    while (line := await client.line()) != f"END LIST VAR {UPS}":
                        name = line.split(" ", 3)[2]
                        values[name] = value_of(line, name)
                received = trio.current_time()
                for variable in ("ups.status", "battery.charge"):
                    reply = values.get(variable, first if first.startswith("ERR ")
                                       else f"MALFORMED missing {variable}")
                    tally.answers.append(Answer(sent, received, variable, reply))
                _, _, bye = await client.ask("LOGOUT", tally)
                if bye != "OK Goodbye":
                    tally.client_errors.append(f"LOGOUT: {bye}")
        except (OSError, EOFError, trio.TooSlowError, trio.BrokenResourceError) as exc:
            tally.client_errors.append(f"churner {index}: {type(exc).__name__}: {exc}")


async def sample_rss(pid: int, tally: Tally) -> None:
    while True:
        tally.rss.append((trio.current_time(), rss_kib(pid)))
        await trio.sleep(RSS_EVERY)


async def soak(port: int, pid: int, ctl: Path, args: argparse.Namespace,
               tally: Tally) -> None:
    async with trio.open_nursery() as nursery:
        nursery.start_soon(sample_truth, ctl, tally)
        pollers = args.clients * 4 // 5
        for i in range(pollers):
            nursery.start_soon(poller, port, i, args, tally)
        for i in range(args.clients - pollers):
            nursery.start_soon(churner, port, i, args, tally)
        nursery.start_soon(sample_rss, pid, tally)
        start = trio.current_time()
        nursery.start_soon(events, ctl, args, tally, start)
        await trio.sleep(args.seconds)
        nursery.cancel_scope.cancel()


# ---- judging -------------------------------------------------------------------------------

def _steady(truth: list[Truth], times: list[float], start: float, end: float,
            key: Callable[[Truth], object]) -> bool:
    """Whether ``key`` of the simulator stayed the same from ``start`` to ``end``:
    the samples from the last one before ``start`` to the first one after ``end``
    all agree (a change between two samples is caught by the later one)."""
    first = bisect.bisect_right(times, start) - 1
    last = bisect.bisect_left(times, end)
    if first < 0 or last >= len(times):
        return False
    return len({key(s) for s in truth[first:last + 1]}) == 1


def judge(answer: Answer, truth: list[Truth], times: list[float], plugs: list[float],
          args: argparse.Namespace) -> str | None:
    """Why ``answer`` is wrong, or None."""
    reply = answer.reply
    if reply.startswith("MALFORMED") or (reply.startswith("ERR ")
                                         and reply != "ERR DATA-STALE"):
        return "bad reply"
    at = truth[max(bisect.bisect_right(times, answer.received) - 1, 0)]
    if _steady(truth, times, answer.sent - args.stale_allow, answer.received,
               lambda s: s.unplugged) and at.unplugged:
        return None if reply == "ERR DATA-STALE" else "a value served while unplugged"
    if not _steady(truth, times, answer.sent - args.status_allow, answer.received,
                   lambda s: s.unplugged) or at.unplugged:
        return None  # the cable just moved: either answer is honest
    if reply == "ERR DATA-STALE":
        last_plug = plugs[bisect.bisect_right(plugs, answer.sent) - 1] \
            if bisect.bisect_right(plugs, answer.sent) else None
        if last_plug is not None and answer.sent - last_plug <= args.replug_allow:
            return None
        return "DATA-STALE while plugged in"
    if answer.variable == "ups.status":
        if _steady(truth, times, answer.sent - args.status_allow, answer.received,
                   lambda s: s.status) and reply != at.status:
            return f"status {reply!r}, simulator {at.status!r}"
        return None
    first = max(bisect.bisect_right(times, answer.sent - args.status_allow) - 1, 0)
    window = [s.charge for s in truth[first:bisect.bisect_left(times, answer.received) + 1]]
    try:
        charge = float(reply)
    except ValueError:
        return f"charge {reply!r} is not a number"
    if not min(window) - 1 <= charge <= max(window) + 1:
        return f"charge {charge}, simulator {min(window)}..{max(window)}"
    return None


def lags(tally: Tally) -> dict[str, list[float]]:
    """Per event kind: how long until a client first saw its effect.

    A mains event while the cable is out can only be seen once it is back, so
    its lag is counted from the replug.
    """
    wanted: dict[str, Callable[[Answer], bool]] = {
        "mains fail": lambda a: a.variable == "ups.status" and "OB" in a.reply.split(),
        "mains restore": lambda a: a.variable == "ups.status" and "OL" in a.reply.split(),
        "unplug": lambda a: a.reply == "ERR DATA-STALE",
        "plug": lambda a: not a.reply.startswith("ERR"),
    }
    ordered = sorted(tally.answers, key=lambda a: a.sent)
    sent = [a.sent for a in ordered]
    out: dict[str, list[float]] = {kind: [] for kind in wanted}
    out_since: float | None = None
    for at, kind in tally.events:
        if kind == "unplug":
            out_since = at
        elif kind == "plug":
            out_since = None
        since = at
        if kind.startswith("mains") and out_since is not None:
            since = next((t for t, k in tally.events if k == "plug" and t > at), at)
        seen = next((a for a in ordered[bisect.bisect_left(sent, since):]
                     if wanted[kind](a)), None)
        if seen is not None:
            out[kind].append(seen.received - since)
    return out


def slope_kib_per_min(samples: list[tuple[float, int]]) -> float:
    if len(samples) < 3:
        return 0.0
    xs = [t for t, _ in samples]
    ys = [float(v) for _, v in samples]
    return statistics.linear_regression(xs, ys).slope * 60


def report(tally: Tally, log: str, args: argparse.Namespace) -> int:
    truth = tally.truth
    times = [s.t for s in truth]
    plugs = [t for t, kind in tally.events if kind == "plug"]
    first_good = next((a.sent for a in sorted(tally.answers, key=lambda a: a.sent)
                       if not a.reply.startswith("ERR")), float("inf"))
    wrong: dict[str, int] = {}
    examples: list[str] = []
    judged = 0
    for answer in tally.answers:
        if answer.sent < first_good or answer.received >= times[-1]:
            continue  # before the driver first connected, or after the last sample
        judged += 1
        why = judge(answer, truth, times, plugs, args)
        if why is not None:
            kind = why.split(",")[0].split(" ")[0] if why.startswith(("status", "charge")) \
                else why
            wrong[kind] = wrong.get(kind, 0) + 1
            if len(examples) < 10:
                examples.append(f"  {why} (asked {answer.sent - times[0]:.1f} s in, "
                                f"{answer.variable})")
    errors = [line for line in log.splitlines()
              if " ERROR:" in line or " CRITICAL:" in line or "Traceback" in line]
    warmup = tally.rss[0][0] + max(30.0, args.seconds * 0.2) if tally.rss else 0.0
    steady = [s for s in tally.rss if s[0] >= warmup]
    slope = slope_kib_per_min(steady)
    rss = [v for _, v in tally.rss]
    lat = sorted(tally.latencies)
    print(f"soak: {args.seconds:g} s, {args.clients} clients, "
          f"{tally.requests} requests ({tally.requests / args.seconds:.0f}/s), "
          f"{len(tally.events)} simulator events")
    for kind, values in lags(tally).items():
        shown = f"max {max(values):.2f} s, mean {statistics.fmean(values):.2f} s" \
            if values else "never seen"
        print(f"  {kind:>13}: seen by clients after {shown}")
    if lat:
        print(f"  latency (client side): median {lat[len(lat) // 2] * 1000:.1f} ms, "
              f"p99 {lat[int(len(lat) * 0.99)] * 1000:.1f} ms, max {lat[-1] * 1000:.1f} ms")
    print(f"  answers judged: {judged}; wrong: {sum(wrong.values())} {wrong or ''}")
    print("\n".join(examples))
    print(f"  client errors: {len(tally.client_errors)} "
          f"{tally.client_errors[:5] if tally.client_errors else ''}")
    print(f"  server log: {len(errors)} error lines "
          f"{errors[:5] if errors else ''}; "
          f"{sum(' WARNING:' in line for line in log.splitlines())} warnings")
    if rss:
        print(f"  RSS: start {rss[0]} KiB, end {rss[-1]} KiB, max {max(rss)} KiB; "
              f"slope after warm-up {slope:+.1f} KiB/min over {len(steady)} samples")
    failed = bool(wrong) or bool(errors) or bool(tally.client_errors) \
        or slope > args.max_slope or judged == 0
    print("soak: FAILED" if failed else "soak: passed")
    return 1 if failed else 0


# ---- set-up ---------------------------------------------------------------------------------

def _env(name: str, default: float) -> float:
    return float(os.environ.get(f"SOAK_{name.upper()}", default))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="soak", description=__doc__.split("\n\n")[0])
    for name, default, text in (
            ("seconds", 1800, "how long to run"),
            ("clients", 500, "clients: 4/5 poll on one connection, 1/5 reconnect each time"),
            ("poll", 2.0, "seconds between a client's polls"),
            ("mains_period", 60, "mains fail every this many seconds (back halfway)"),
            ("unplug_period", 300, "the cable is pulled every this many seconds"),
            ("unplug_for", 30, "...for this long"),
            ("status_allow", 5.0, "seconds a status change may take to be served"),
            ("stale_allow", 10.0, "seconds an unplugged UPS may take to go DATA-STALE"),
            ("replug_allow", 15.0, "seconds a replugged UPS may stay DATA-STALE"),
            ("max_slope", 256.0, "largest RSS slope (KiB/min) that counts as flat")):
        kind = int if isinstance(default, int) else float
        p.add_argument(f"--{name.replace('_', '-')}", type=kind,
                       default=kind(_env(name, default)), help=f"{text} ({default})")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    raise_fd_limit()
    tally = Tally()
    with tempfile.TemporaryDirectory(prefix="nutpy-soak-") as tmp:
        directory = Path(tmp)
        with simulator("smart", directory, "--dump",
                       str(FIXTURES / "smart-ups-1500.dev")) as (link, ctl):
            port = free_port()
            write_config(directory / "conf",
                         ups_conf=f'[{UPS}]\n  driver = apcsmart\n  port = "{link}"\n',
                         upsd_conf=f"LISTEN 127.0.0.1 {port}\n",
                         users=f"[{USER}]\n  password = {PASSWORD}\n  upsmon secondary\n")
            with nutpy_server(directory / "conf", port) as server:
                if not wait_until(lambda: _serving(port), timeout=30):
                    print(server.log_text())
                    return 1
                trio.run(soak, port, server.procs[0].pid, ctl, args, tally)
                log = server.log_text()
    return report(tally, log, args)


def _serving(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
            sock.sendall(f"GET VAR {UPS} ups.status\n".encode())
            return sock.recv(100).startswith(b"VAR ")
    except OSError:
        return False


if __name__ == "__main__":
    sys.exit(main())
