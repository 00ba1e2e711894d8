"""The driver contract, and the supervisor that keeps each driver running.

A driver is built from a :class:`DriverSetup` and is an object with
``async run(ups, requests)``: it publishes into ``ups`` (a
:class:`~nutpy.store.UpsState`) and executes the client requests that arrive
on ``requests``.  It never learns that a network exists, nor what is at the
other end of its line: it calls ``setup.open_line(baudrate)`` and gets a trio
``Stream`` (a serial port, a TCP connection to ser2net or a simulator; the
wiring decides).  If it raises, the supervisor logs the failure once, marks
the UPS disconnected and starts it again with back-off.

Serial drivers keep their port with :func:`keep_port` and report freshness
through :class:`LinkHealth`: a port that cannot be opened, disappears or
goes quiet makes the UPS ``DATA-STALE`` (never disconnected: what was read
stays, marked stale), is tried again every poll interval, and is logged
once, not on every attempt.
"""

from __future__ import annotations

import errno
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn, Protocol

import trio

from nutpy import __version__
from nutpy.config import UpsConfig
from nutpy.store import Request, Result, UpsState

log = logging.getLogger("nutpy.driver")

DEFAULT_POLLINTERVAL = 2.0
REQUEST_QUEUE = 16
_BACKOFF_START = 1.0
_BACKOFF_MAX = 30.0
REPORT_EVERY = 600.0  # seconds between "still failing" lines for one outage
WARNINGS_PER_REPORT = 5  # most WARNINGs one UPS logs in REPORT_EVERY (a flapping line)
# A port that cannot be opened or fails under the driver: an unplugged USB
# adapter gives ENOENT, ENXIO, EIO or end of file; ser2net a refused, timed
# out or broken connection.
PORT_ERRORS: tuple[type[Exception], ...] = (OSError, trio.BrokenResourceError)

OpenLine = Callable[[int], AbstractAsyncContextManager[trio.abc.Stream]]
"""Opens the UPS's line at a baud rate, for as long as the ``async with`` lasts."""


def _no_line(baudrate: int) -> AbstractAsyncContextManager[trio.abc.Stream]:
    raise OSError(errno.ENODEV, "this driver has no serial line")


@dataclass(frozen=True)
class DriverSetup:
    """What a driver is built from: its ups.conf section and what surrounds it."""

    section: UpsConfig
    confdir: Path
    globals: Mapping[str, str | None]
    open_line: OpenLine = _no_line


class Driver(Protocol):
    async def run(self, ups: UpsState,
                  requests: trio.MemoryReceiveChannel[Request]) -> None: ...


DriverFactory = Callable[[DriverSetup], Driver]


class DriverConfigError(Exception):
    """The ups.conf section cannot work with this driver (bad port, say)."""


def publish_driver_info(ups: UpsState, name: str, parameters: dict[str, str]) -> None:
    """``driver.*`` and ``device.type``, as NUT's driver core publishes them."""
    ups.set("driver.name", name)
    for key, value in parameters.items():
        ups.set(f"driver.parameter.{key}", value)
    ups.set("driver.version", __version__)
    ups.set("driver.version.internal", __version__)
    ups.set("device.type", "ups")


def mirror_device_info(ups: UpsState) -> None:
    """Copy ups.mfr/model/serial to device.*, as NUT's driver core does."""
    for suffix in ("mfr", "model", "serial"):
        var = ups.get(f"ups.{suffix}")
        if var is not None:
            ups.set(f"device.{suffix}", var.value)


def poll_interval(section: UpsConfig, globals_: Mapping[str, str | None]) -> float:
    raw = section.options.get("pollinterval") or globals_.get("pollinterval")
    return float(raw) if raw and raw.isdigit() and int(raw) > 0 else DEFAULT_POLLINTERVAL


async def supervise(driver: Driver, ups: UpsState) -> None:
    """Run ``driver`` for ``ups`` forever, restarting it after failures."""
    delay = _BACKOFF_START
    last_error = ""
    while True:
        send, receive = trio.open_memory_channel[Request](REQUEST_QUEUE)
        ups.attach(send)
        started = trio.current_time()
        try:
            async with send, receive:
                await driver.run(ups, receive)
        except Exception as exc:  # a driver bug must not take the server down
            message = f"{type(exc).__name__}: {exc}"
            if message != last_error:
                log.error("[%s] driver failed: %s; restarting", ups.name, message)
                last_error = message
        finally:
            ups.disconnect()
        if trio.current_time() - started > _BACKOFF_MAX:
            delay = _BACKOFF_START
        await trio.sleep(delay)
        delay = min(delay * 2, _BACKOFF_MAX)


class LinkHealth:
    """Whether one UPS answers, and what the log says about it.

    :meth:`lost` marks the data stale at once; :meth:`fresh` marks a good
    read.  NUT logs every failed attempt, every few seconds while a cable is
    out; here an outage is logged once: its first failure at WARNING with
    the reason, later attempts at DEBUG, "still failing" at WARNING every
    ``report_every`` seconds while it lasts, and the recovery at INFO.  A
    flapping line cannot flood either: a UPS gets at most
    ``warnings_per_report`` WARNINGs per ``report_every`` seconds; outages
    beyond that are counted and named in the next one.  Time is passed in.
    """

    def __init__(self, name: str, logger: logging.Logger,
                 report_every: float = REPORT_EVERY,
                 warnings_per_report: int = WARNINGS_PER_REPORT) -> None:
        self.name = name
        self.log = logger
        self.report_every = report_every
        self.warnings_per_report = warnings_per_report
        self.down_since: float | None = None  # None: the UPS answers
        self.attempts = 0  # failed attempts in this outage
        self._reported = False  # this outage has been logged
        self._next_report = 0.0  # this outage is not logged again before then
        self._warned: deque[float] = deque()  # WARNINGs in the last report_every
        self._muted = 0  # outages that came and went unlogged since the last WARNING

    def lost(self, ups: UpsState, reason: str, now: float) -> None:
        """An attempt to read the UPS failed (port gone, no answer, garbled)."""
        ups.mark_stale()
        ups.stats.errors += 1
        if self.down_since is None:
            self.down_since, self.attempts, self._reported = now, 0, False
            self._next_report = now
        self.attempts += 1
        while self._warned and self._warned[0] <= now - self.report_every:
            self._warned.popleft()
        if now < self._next_report or len(self._warned) >= self.warnings_per_report:
            self.log.debug("[%s] %s", self.name, reason)
            return
        if self.attempts == 1:
            text = f"{reason}; data stale until it answers again"
        else:
            text = (f"still failing after {now - self.down_since:.0f} s "
                    f"(attempts: {self.attempts}): {reason}")
        if self._muted:
            text += f" ({self._muted} short outages not logged before this one)"
        self.log.warning("[%s] %s", self.name, text)
        self._warned.append(now)
        self._next_report = now + self.report_every
        self._reported, self._muted = True, 0

    def fresh(self, ups: UpsState, now: float) -> None:
        """The UPS was read successfully."""
        ups.mark_fresh(now)
        if self.down_since is None:
            return
        ups.stats.recoveries += 1
        if self._reported:
            self.log.info("[%s] answering again after %.0f s (failed attempts: %d)",
                          self.name, now - self.down_since, self.attempts)
        else:
            self._muted += 1
        self.down_since = None


Serve = Callable[[trio.abc.Stream, UpsState, trio.MemoryReceiveChannel[Request]],
                 Awaitable[None]]


async def keep_port(open_line: OpenLine, port: str, baudrate: int, *,
                    ups: UpsState, requests: trio.MemoryReceiveChannel[Request],
                    serve: Serve, health: LinkHealth, interval: float,
                    lost: tuple[type[Exception], ...] = ()) -> NoReturn:
    """Open the port and ``serve`` the UPS on it, forever.

    When the port cannot be opened, fails or ends under ``serve``, or
    ``serve`` raises one of ``lost``, the UPS goes stale (its data kept),
    requests fail at once, and the port is opened again ``interval`` seconds
    later: a device node that comes back is in use again within one interval.
    """
    while True:
        try:
            async with open_line(baudrate) as stream:
                await serve(stream, ups, requests)
        except* (*PORT_ERRORS, *lost) as group:
            health.lost(ups, f"{port}: {_reason(_first_leaf(group))}", trio.current_time())
        await reject_for(interval, requests)


def _reason(exc: BaseException) -> str:
    """What went wrong, for the log (the port is named already)."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror  # without the file name str() would repeat
    return str(exc) or type(exc).__name__


def _first_leaf(exc: BaseException) -> BaseException:
    """The first exception inside nested exception groups (for the log)."""
    while isinstance(exc, BaseExceptionGroup):
        exc = exc.exceptions[0]
    return exc


async def reject_for(seconds: float, requests: trio.MemoryReceiveChannel[Request]) -> None:
    """Wait, failing every request meanwhile: a command must not run late."""
    with trio.move_on_after(max(seconds, 0.0)):
        async for request in requests:
            if request.on_result is not None:
                request.on_result(Result.FAILED)
        await trio.sleep_forever()  # no more requests can come: still wait
