"""Broken cables, for both serial drivers: the UPS goes stale, nothing wrong is
served as fresh, it comes back by itself, and nobody else notices.

Each test runs two UPSes in one store on trio's virtual clock: the one under
test (apcsmart or apcmicrolink) behind a simulated USB-serial adapter whose
device node can vanish, and a second one (apcsmart on ``sim:smart``) that
must not be held up.  A poller reads the first UPS as a client would, at
every change and every 50 ms, and checks every value it is served as fresh
against what the simulated UPS really is.  Each fault lasts 60 retry
intervals; the log must tell of it once.

The pty version of the port faults, through a real server and Debian's
``upsc``, is in tests/system/test_serial_faults_upsc.py.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import math
import os
import random
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import trio
import trio.testing

from nutpy import ports
from nutpy.config import UpsConfig
from nutpy.ports import PortSpec, open_port
from nutpy.sim.link import SimLink
from nutpy.store import Availability, Link, Request, Store, UpsState
from nutpy.wiring import make_driver
from tests.support.aio import next_change
from tests.support.faults import KINDS, Kind

MAXAGE = 15.0
INTERVAL = 2.0
OUTAGE = 61.5 * INTERVAL
POLL_EVERY = 0.05
NODE = "/dev/ttyUSB-test"  # never opened: a DeviceNode stands in for it

OK, STALE = Availability.OK, Availability.DATA_STALE


FAULTS = ["garbage", "truncated replies", "stops answering", "node vanishes",
          "absent at start"]


def _eio() -> OSError:
    return OSError(errno.EIO, os.strerror(errno.EIO))


class DeviceNode:
    """A USB-serial adapter's device node with a simulated UPS behind it.

    It stands in for ``open_port`` on one path: opening it while it is absent
    fails with ENOENT; when it vanishes, the open port's reads and writes fail
    with EIO, as on Linux when the adapter is pulled.  The UPS behind it keeps
    its state meanwhile.  While ``garbling``, every chunk the driver receives
    has a burst of noise inside it.
    """

    def __init__(self, link: SimLink, nursery: trio.Nursery, *, present: bool,
                 noise: bytes) -> None:
        self.link = link
        self.nursery = nursery
        self.present = present
        self.noise = noise
        self.garbling = False
        self.rng = random.Random(7)
        self._open: list[trio.CancelScope] = []

    def vanish(self) -> None:
        self.present = False
        for scope in self._open:
            scope.cancel()

    def appear(self) -> None:
        self.present = True

    @contextlib.asynccontextmanager
    async def open(self) -> AsyncIterator[trio.abc.Stream]:
        if not self.present:
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), NODE)
        host, far = trio.testing.memory_stream_pair()
        scope = trio.CancelScope()
        self._open.append(scope)
        self.nursery.start_soon(self._serve, far, scope)
        try:
            yield _Adapter(host, self)
        finally:
            scope.cancel()
            self._open.remove(scope)
            await host.aclose()

    async def _serve(self, far: trio.abc.Stream, scope: trio.CancelScope) -> None:
        with scope:
            await self.link.serve(far)
        await far.aclose()  # the driver's end reads end-of-file, turned into EIO

    def garble(self, data: bytes) -> bytes:
        """``data`` with noise strictly inside it (before its last byte)."""
        burst = bytes(self.rng.choice(self.noise) for _ in range(self.rng.randint(1, 6)))
        cut = self.rng.randrange(len(data))
        return data[:cut] + burst + data[cut:]


class _Adapter(trio.abc.Stream):
    """The driver's end of a DeviceNode."""

    def __init__(self, inner: trio.abc.Stream, node: DeviceNode) -> None:
        self.inner = inner
        self.node = node

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        try:
            await self.inner.send_all(data)
        except trio.BrokenResourceError as exc:
            raise _eio() from exc

    async def wait_send_all_might_not_block(self) -> None:
        await self.inner.wait_send_all_might_not_block()

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        data = bytes(await self.inner.receive_some(max_bytes))
        if not data:
            raise _eio()
        return self.node.garble(data) if self.node.garbling else data

    async def aclose(self) -> None:
        await self.inner.aclose()


@dataclass
class Rig:
    kind: Kind
    store: Store
    ups: UpsState  # the one on the device node
    other: UpsState  # the bystander
    link: SimLink
    node: DeviceNode
    truth: dict[str, str]
    requests: list[trio.MemorySendChannel[Request]] = field(default_factory=list)
    fresh_reads: int = 0  # times the poller was served fresh data (and checked it)
    other_age: float = 0.0  # the oldest the bystander's data ever was

    def availability(self, ups: UpsState | None = None) -> Availability:
        return (ups or self.ups).availability()

    async def until(self, predicate: Callable[[], bool], timeout: float) -> float:
        """Wait until ``predicate()``; returns how long it took."""
        start = trio.current_time()
        with trio.fail_after(timeout):
            while not predicate():
                with trio.move_on_after(POLL_EVERY):  # availability also ages with time
                    await next_change(self.store)
        return trio.current_time() - start

    async def watch(self) -> None:
        """The fast poller: whatever is served as fresh must be the truth."""
        while True:
            with trio.move_on_after(POLL_EVERY):
                await next_change(self.store)
            if self.availability() is OK:
                served = {name: _value(self.ups, name) for name in self.truth}
                assert served == self.truth, trio.current_time()
                self.fresh_reads += 1
            assert self.availability(self.other) is OK
            assert self.other.last_update is not None
            self.other_age = max(self.other_age, trio.current_time() - self.other.last_update)

    def control(self, command: str) -> None:
        assert self.link.control(command) == ["OK"], command

    def fault(self, fault: str, on: bool) -> None:
        if fault == "garbage":
            self.node.garbling = on
        elif fault == "truncated replies":
            self.control("truncate 1000000" if on else "truncate 0")
        elif fault == "stops answering":
            self.control("unplug" if on else "plug")
        elif on:
            self.node.vanish()
        else:
            self.node.appear()

    def change_the_ups(self) -> None:
        """Change what the UPS would say (while nobody can hear it)."""
        self.truth = dict(self.kind.after)
        self.control("mains fail")
        self.control("load 40")


def _value(ups: UpsState, name: str) -> str | None:
    var = ups.get(name)
    return var.value if var else None


@contextlib.asynccontextmanager
async def rig(kind: Kind, monkeypatch: pytest.MonkeyPatch, *, present: bool
              ) -> AsyncIterator[Rig]:
    store = Store()
    ups, other = store.add("ups"), store.add("other")
    link = SimLink(kind.engine(), seed=1)
    options: dict[str, str | None] = {"pollinterval": f"{INTERVAL:g}"}
    async with trio.open_nursery() as nursery:
        node = DeviceNode(link, nursery, present=present, noise=kind.noise)

        def opener(spec: PortSpec, baudrate: int, confdir: Path
                   ) -> contextlib.AbstractAsyncContextManager[trio.abc.Stream]:
            return node.open() if spec.target == NODE else open_port(spec, baudrate, confdir)

        monkeypatch.setattr(ports, "open_port", opener)
        r = Rig(kind, store, ups, other, link, node, dict(kind.before))
        for state, section in ((ups, UpsConfig("ups", 1, kind.driver, NODE, options=options)),
                               (other, UpsConfig("other", 2, "apcsmart", "sim:smart",
                                                 options=options))):
            send, receive = trio.open_memory_channel[Request](16)
            r.requests.append(send)
            nursery.start_soon(make_driver(section, Path("."), {}).run, state, receive)
        await r.until(lambda: r.availability(other) is OK, timeout=10)
        nursery.start_soon(r.watch)
        yield r
        nursery.cancel_scope.cancel()


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("kind", KINDS)
async def test_fault_goes_stale_serves_nothing_wrong_and_recovers(
        kind: str, fault: str, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture, autojump_clock: trio.testing.MockClock) -> None:
    caplog.set_level(logging.DEBUG, "nutpy.driver")
    async with rig(KINDS[kind], monkeypatch, present=fault != "absent at start") as r:
        if fault != "absent at start":
            await r.until(lambda: r.availability() is OK, timeout=10)
            r.fault(fault, True)
        took = await r.until(lambda: r.availability() is STALE, timeout=MAXAGE + 1)
        assert took <= MAXAGE
        r.change_the_ups()
        await trio.sleep(OUTAGE)
        assert r.availability() is STALE
        r.fault(fault, False)
        took = await r.until(lambda: r.availability() is OK, timeout=10)
        assert took <= 2 * INTERVAL
        fresh_before = r.fresh_reads
        await trio.sleep(3 * INTERVAL)
        assert r.fresh_reads > fresh_before  # and the poller checked every one of them
        assert r.other_age <= INTERVAL + 0.1  # the bystander never missed a poll

    lines = [rec for rec in caplog.records if rec.getMessage().startswith("[ups] ")]
    warnings = [rec.getMessage() for rec in lines if rec.levelno >= logging.WARNING]
    assert len(warnings) == 1, warnings
    assert "data stale" in warnings[0]
    assert len([rec for rec in lines if "answering again" in rec.getMessage()]) == 1


@pytest.mark.parametrize("kind", KINDS)
async def test_one_cut_reply_is_not_an_outage(kind: str, monkeypatch: pytest.MonkeyPatch,
                                              caplog: pytest.LogCaptureFixture,
                                              autojump_clock: trio.testing.MockClock) -> None:
    """A reply cut short is a garbled answer, not a silent UPS: asked again, not stale."""
    async with rig(KINDS[kind], monkeypatch, present=True) as r:
        await r.until(lambda: r.availability() is OK, timeout=10)
        r.control("truncate 1")
        since = trio.current_time()
        with trio.move_on_after(3 * INTERVAL):
            await r.until(lambda: r.ups.link is Link.STALE, timeout=math.inf)
        assert r.ups.link is not Link.STALE
        assert r.ups.last_update is not None and r.ups.last_update > since + INTERVAL
    assert not [rec for rec in caplog.records if rec.levelno >= logging.WARNING]


async def test_a_connection_that_never_comes_is_given_up(
        monkeypatch: pytest.MonkeyPatch, autojump_clock: trio.testing.MockClock) -> None:
    """socket:// to a host that drops the SYN: an error after CONNECT_TIMEOUT, not
    a wait of minutes that would hold up the retries."""
    async def black_hole(host: str, port: int) -> trio.SocketStream:
        await trio.sleep_forever()
        raise AssertionError("unreachable")

    monkeypatch.setattr(trio, "open_tcp_stream", black_hole)
    start = trio.current_time()
    with pytest.raises(TimeoutError):
        async with open_port(PortSpec("tcp", "127.0.0.1", 9), 2400, Path(".")):
            pass
    assert trio.current_time() - start == ports.CONNECT_TIMEOUT
