"""Broken cables on the real wire: ptys from ``nutpy simulate``, a real nutpy
server, Debian's ``upsc``.

One server, three UPSes: ``smart`` (apcsmart) and ``ml`` (apcmicrolink) on
pty links that do not exist yet when it starts, and ``steady`` (apcsmart on
``sim:smart``), the bystander.  The simulators appear, are killed and their
device nodes removed (a USB adapter pulled), and are started again on the
same paths.  A client polls all three all along: nothing it is served as
fresh may be wrong, and ``steady`` must answer promptly throughout.
"""

from __future__ import annotations

import contextlib
import re
import socket
import statistics
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.faults import KINDS
from tests.support.nut import (
    free_port,
    nut_tool,
    nutpy_server,
    sim_control,
    simulator,
    wait_until,
    write_config,
)

INTERVAL = 2.0
MAXAGE = 5
MODELS = {"smart": "apcsmart", "ml": "apcmicrolink"}  # UPS name -> driver
SIMS = {"smart": "smart", "ml": "microlink"}  # UPS name -> nutpy simulate model
CHECKED = ("ups.status", "ups.load")
STALE = "ERR DATA-STALE"
_VAR = re.compile(r'VAR \S+ \S+ "(.*)"')


@dataclass
class Sample:
    at: float  # time.time() when the answer came
    ups: str
    var: str
    answer: str  # the value, or the ERR line


@dataclass
class Poller:
    """A fast client: GET VAR on every UPS, one after the other, all the time."""

    port: int
    # What each checked variable may truthfully be (a set while it changes).
    truth: dict[str, dict[str, set[str]]]
    samples: list[Sample] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)  # steady's GET VAR round trips
    wrong: list[Sample] = field(default_factory=list)
    failure: BaseException | None = None
    _stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=5) as sock, \
                    sock.makefile("rb") as replies:
                while not self._stop.is_set():
                    self._ask(sock, replies)
                    time.sleep(0.01)
        except BaseException as exc:  # reported by the test thread
            self.failure = exc

    def _ask(self, sock: socket.socket, replies: object) -> None:
        def get(ups: str, var: str) -> str:
            sock.sendall(f"GET VAR {ups} {var}\n".encode())
            line = replies.readline().decode().rstrip("\n")  # type: ignore[attr-defined]
            match = _VAR.fullmatch(line)
            return match.group(1) if match else line

        sent = time.monotonic()
        assert get("steady", "ups.status") == "OL"
        self.latencies.append(time.monotonic() - sent)
        for ups in MODELS:
            for var in CHECKED:
                sample = Sample(0.0, ups, var, get(ups, var))
                sample.at = time.time()
                self.samples.append(sample)
                if not sample.answer.startswith("ERR") and \
                        sample.answer not in self.truth[ups][var]:
                    self.wrong.append(sample)

    def first(self, ups: str, after: float, fresh: bool) -> Sample | None:
        """The first answer for ``ups`` after ``after``: fresh, or DATA-STALE."""
        return next((s for s in list(self.samples) if s.ups == ups and s.at > after
                     and (s.answer != STALE if fresh else s.answer == STALE)), None)

    def served(self, ups: str, var: str) -> str | None:
        last = next((s for s in reversed(list(self.samples))
                     if s.ups == ups and s.var == var), None)
        return last.answer if last else None

    @contextlib.contextmanager
    def running(self) -> Iterator[Poller]:
        thread = threading.Thread(target=self.run, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            thread.join(10)
        assert self.failure is None, repr(self.failure)


def upsc(target: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([nut_tool("upsc"), target], capture_output=True, text=True,
                          timeout=10)


def check_upsc_while_stale(port: int) -> None:
    """Debian's upsc: the UPSes under test are stale, the bystander answers."""
    for ups in MODELS:
        out = upsc(f"{ups}@127.0.0.1:{port}")
        assert out.returncode != 0 and "Error: Data stale" in out.stderr, out
    out = upsc(f"steady@127.0.0.1:{port}")
    assert out.returncode == 0 and "ups.status: OL" in out.stdout, out


def factory_truth() -> dict[str, dict[str, set[str]]]:
    """What a freshly started simulator shows."""
    return {ups: {var: {KINDS[MODELS[ups]].before[var]} for var in CHECKED} for ups in MODELS}


def test_ports_missing_at_start_and_pulled_then_back(tmp_path: Path) -> None:
    port = free_port()
    links = {ups: tmp_path / f"{model}.tty" for ups, model in SIMS.items()}
    ups_conf = "".join(f"[{ups}]\ndriver = {MODELS[ups]}\nport = {links[ups]}\n"
                       f"pollinterval = {INTERVAL:g}\n" for ups in MODELS)
    ups_conf += f"[steady]\ndriver = apcsmart\nport = sim:smart\npollinterval = {INTERVAL:g}\n"
    write_config(tmp_path, ups_conf=ups_conf,
                 upsd_conf=f"LISTEN 127.0.0.1 {port}\nMAXAGE {MAXAGE}\n")
    stale_after: list[float] = []
    back_after: list[float] = []

    def wait_stale(since: float) -> None:
        for ups in MODELS:
            assert wait_until(lambda u=ups: poller.first(u, since, fresh=False), MAXAGE + 1)
            sample = poller.first(ups, since, fresh=False)
            assert sample is not None
            stale_after.append(sample.at - since)

    def wait_back(appeared: dict[str, float]) -> None:
        for ups, since in appeared.items():
            assert wait_until(lambda u=ups, t=since: poller.first(u, t, fresh=True),
                              2 * INTERVAL + 2)
            sample = poller.first(ups, since, fresh=True)
            assert sample is not None
            back_after.append(sample.at - since)

    @contextlib.contextmanager
    def simulators() -> Iterator[dict[str, Path]]:
        with simulator("smart", tmp_path) as (_, smart), \
                simulator("microlink", tmp_path) as (_, ml):
            yield {"smart": smart, "ml": ml}

    started = time.time()
    with nutpy_server(tmp_path, port) as server:
        assert wait_until(lambda: upsc(f"steady@127.0.0.1:{port}").returncode == 0, 10)
        poller = Poller(port, factory_truth())
        with poller.running():
            # 1. The device nodes are not there yet: stale (not "driver not connected").
            wait_stale(started)
            check_upsc_while_stale(port)
            time.sleep(1.5 * INTERVAL)  # a retry or two fails meanwhile
            with simulators() as controls:
                appeared = {ups: links[ups].lstat().st_mtime for ups in MODELS}
                wait_back(appeared)
                # A change the server must follow: while it does, either value is true.
                for ups, control in controls.items():
                    kind = KINDS[MODELS[ups]]
                    after = kind.after["ups.load"]
                    poller.truth[ups]["ups.load"] = {kind.before["ups.load"], after}
                    assert sim_control(control, "load 40") == ["OK"]
                    assert wait_until(lambda u=ups, a=after: poller.served(u, "ups.load") == a,
                                      2 * INTERVAL + 1)
                    poller.truth[ups]["ups.load"] = {after}
                # 2. The adapters are pulled: simulators killed, device nodes gone.
                pulled = time.time()
            for link in links.values():
                link.unlink(missing_ok=True)
            wait_stale(pulled)
            # The simulators come back with their factory state: the old load is
            # wrong from now on.
            poller.truth = factory_truth()
            check_upsc_while_stale(port)
            time.sleep(1.5 * INTERVAL)  # a retry or two fails meanwhile
            with simulators():
                wait_back({ups: links[ups].lstat().st_mtime for ups in MODELS})
                time.sleep(1)
                log = server.log_text()  # before the simulators stop again

    assert poller.wrong == []
    assert not any(s.answer.startswith("ERR") and s.answer != STALE for s in poller.samples)
    assert max(stale_after) < MAXAGE
    assert max(back_after) <= 2 * INTERVAL
    latency = sorted(poller.latencies)
    assert len(latency) > 100
    assert statistics.median(latency) < 0.05 and latency[-1] < 1.0, latency[-5:]
    # Two outages per UPS: one warning and one recovery line each, whatever
    # the number of attempts.
    for ups in MODELS:
        assert len(re.findall(rf" WARNING: \[{ups}\] ", log)) == 2, log
        assert len(re.findall(rf" INFO: \[{ups}\] answering again", log)) == 2, log
    assert " ERROR: " not in log
    print(f"stale after {[round(t, 2) for t in stale_after]} s, "
          f"back after {[round(t, 2) for t in back_after]} s, bystander GET VAR "
          f"median {statistics.median(latency) * 1000:.1f} ms, "
          f"max {latency[-1] * 1000:.1f} ms over {len(latency)}")
