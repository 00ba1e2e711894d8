"""NUT's ``dummy-ups`` driver: a UPS whose data comes from a file.

``port`` names a ``.dev`` file (an ``upsc`` dump, read once and re-read when
it changes) or a ``.seq`` file (read step by step, pausing at each
``TIMER n`` and starting over at the end).  A relative name is looked up in
the config directory, ``./name`` in the working directory, as in NUT.
Clients may change any variable with ``SET VAR``; an empty value removes it
(``ups.status`` is emptied instead, as in NUT).
"""

from __future__ import annotations

import logging
from pathlib import Path

import trio

from nutpy.drivers.base import (
    DriverConfigError,
    DriverSetup,
    mirror_device_info,
    poll_interval,
    publish_driver_info,
)
from nutpy.drivers.dummy_types import string_length
from nutpy.protocols.devfile import Assign, parse_steps
from nutpy.store import Killpower, Request, Result, SetVar, UpsState

log = logging.getLogger("nutpy.driver.dummy")


# Set before the file is read, as dummy-ups does.
_INITIAL = (("ups.mfr", "Dummy Manufacturer"), ("ups.model", "Dummy UPS"),
            ("ups.status", "OL"))


def resolve_port(port: str, confdir: Path) -> Path:
    if port.startswith("/") or port.startswith("."):
        return Path(port)
    return confdir / port


class DummyUps:
    def __init__(self, setup: DriverSetup) -> None:
        section = setup.section
        self.path = resolve_port(section.port, setup.confdir)
        mode = section.options.get("mode")
        if mode is None:
            mode = "dummy-loop" if self.path.suffix == ".seq" else "dummy-once"
        if mode not in ("dummy-once", "dummy-loop"):
            raise DriverConfigError(f"mode '{mode}' is not supported "
                                    "(dummy-once or dummy-loop)")
        self.loop = mode == "dummy-loop"
        self.mode = mode
        self.port = section.port
        self.interval = poll_interval(section, setup.globals)

    def apply(self, ups: UpsState, name: str, value: str) -> None:
        """Set one variable the way dummy-ups's setvar does.

        An empty value removes the variable, except ``ups.status``: dummy-ups
        hands that to the driver core's status functions, which always
        publish it (empty, then).
        """
        if not value and name.lower() != "ups.status":
            ups.delete(name)
            return
        length = string_length(name)
        ups.set(name, value, writable=True, string=length is not None, aux=length or 0)

    def _publish_driver_info(self, ups: UpsState) -> None:
        publish_driver_info(ups, "dummy-ups", {
            "mode": self.mode, "pollinterval": f"{self.interval:g}", "port": self.port,
            "synchronous": "auto",  # NUT's driver core default
        })

    def _read(self) -> bytes | None:
        try:
            return self.path.read_bytes()
        except OSError as exc:
            log.warning("[%s] cannot read %s: %s", self.port, self.path, exc.strerror)
            return None

    async def run(self, ups: UpsState,
                  requests: trio.MemoryReceiveChannel[Request]) -> None:
        self._publish_driver_info(ups)
        for name, value in _INITIAL:
            self.apply(ups, name, value)
        ups.add_command("load.off")
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._serve_requests, ups, requests)
            if self.loop:
                await self._run_sequence(ups)
            else:
                await self._run_once(ups)
            nursery.cancel_scope.cancel()

    async def _run_once(self, ups: UpsState) -> None:
        """Read the .dev file, then again whenever it changes."""
        seen: float | None = None
        first = True
        while True:
            try:
                mtime = self.path.stat().st_mtime
            except OSError:
                mtime = None
            if mtime is not None and mtime != seen:
                data = self._read()
                if data is not None:
                    seen = mtime
                    for step in parse_steps(data):
                        if isinstance(step, Assign):
                            self.apply(ups, step.name, step.value)
                    if first:
                        mirror_device_info(ups)
                        first = False
            if seen is not None:
                ups.mark_fresh(trio.current_time())
            await trio.sleep(self.interval)

    async def _run_sequence(self, ups: UpsState) -> None:
        """Play the .seq file step by step, pausing at each TIMER, forever."""
        first = True
        while True:
            data = self._read()
            steps = parse_steps(data) if data is not None else []
            for step in steps:
                if isinstance(step, Assign):
                    self.apply(ups, step.name, step.value)
                    continue
                if first:
                    mirror_device_info(ups)
                    first = False
                await self._wait_fresh(ups, step.seconds)
            if first and data is not None:
                mirror_device_info(ups)
                first = False
            await self._wait_fresh(ups, self.interval)

    async def _wait_fresh(self, ups: UpsState, seconds: float) -> None:
        """Sleep, while telling the store every poll interval that all is well."""
        deadline = trio.current_time() + seconds
        while True:
            ups.mark_fresh(trio.current_time())
            remaining = deadline - trio.current_time()
            if remaining <= 0:
                return
            await trio.sleep(min(remaining, self.interval))

    async def _serve_requests(self, ups: UpsState,
                              requests: trio.MemoryReceiveChannel[Request]) -> None:
        async for request in requests:
            if isinstance(request, SetVar):
                self.apply(ups, request.variable, request.value)
                result = Result.SUCCESS
            else:
                # dummy-ups lists load.off but carries out no command, and
                # has no UPS to turn off.
                if isinstance(request, Killpower):
                    request.notes.append("dummy-ups has no UPS output to turn off")
                result = Result.UNKNOWN
            if request.on_result is not None:
                request.on_result(result)
