"""NUT's ``apcsmart`` driver: an APC Smart-UPS on a serial line.

It does what NUT's apcsmart does on the wire (``Y`` handshake, firmware
look-up, ``a`` and ``^Z`` discovery, ``Q`` plus the polled variables every
``pollinterval``, everything hourly) and publishes the same names and value
formats.  Two things differ on purpose:

* alerts are acted on the moment their byte arrives: ``ups.status`` changes
  and a poll follows at once to confirm it;
* a lost line never ends the driver: the UPS goes ``DATA-STALE`` at the
  first unanswered query (or after a few polls in a row whose replies came
  garbled or cut short), and the driver keeps knocking (``Y``) or re-opening
  the port every poll interval until the UPS answers again.  Nothing
  published is wiped meanwhile, and the log hears of the outage once.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field

import trio

from nutpy.drivers.apcsmart.line import LineLost, SmartLine
from nutpy.drivers.base import (
    DriverConfigError,
    DriverSetup,
    LinkHealth,
    keep_port,
    mirror_device_info,
    poll_interval,
    publish_driver_info,
    reject_for,
)
from nutpy.protocols.apcsmart import codec
from nutpy.protocols.apcsmart.codec import Alert, Outcome, ReadMode
from nutpy.store import InstCmd, Killpower, Request, Result, SetVar, UpsState

log = logging.getLogger("nutpy.driver.apcsmart")
# One debug line per poll cycle: how long it took and how many bytes crossed the
# line, so a cycle can be held against what the baud rate allows (`make bench`).
cycle_log = logging.getLogger("nutpy.driver.apcsmart.cycle")

BAUDRATE = 2400
FULL_SCAN_EVERY = 3600.0  # NUT reads the non-polled variables hourly
RESYNC_PAUSE = 0.25  # after a garbled reply: let the rest of it arrive, then flush
GARBLED_POLLS = 3  # this many garbled polls in a row make the data stale


class UpsSilent(Exception):
    """The UPS does not answer (cable pulled, UPS off, wrong port)."""


@dataclass
class Unit:
    """What discovery learned about the UPS at the other end."""

    queries: list[bytes] = field(default_factory=list)  # every variable query, in order
    names: dict[bytes, set[str]] = field(default_factory=dict)  # query -> names published
    dual: list[bytes] = field(default_factory=list)  # dual-byte queries (SPM)
    output_frequency: bool = False
    instcmds: tuple[str, ...] = ()

    def polled(self) -> list[bytes]:
        """The per-cycle queries after ``Q``, in NUT's order."""
        return [bytes((b,)) for b in codec.POLL_ORDER
                if bytes((b,)) in self.queries and _is_polled(bytes((b,)))]


def _is_polled(cmd: bytes) -> bool:
    return any(spec.polled for spec in codec.specs_for(cmd))


class ApcSmart:
    def __init__(self, setup: DriverSetup) -> None:
        section = setup.section
        self.open_line = setup.open_line
        self.port = section.port
        self.interval = poll_interval(section, setup.globals)
        self.status = 0
        self.unit = Unit()
        self.nasty = codec.NastyGuard()
        self.shutdown_options = {key: section.options.get(key)
                                 for key in ("sdtype", "advorder", "awd")}
        try:
            codec.killpower_plan(codec.OB, **self.shutdown_options)
        except ValueError as exc:
            raise DriverConfigError(str(exc)) from exc
        self.health = LinkHealth(section.name, log)
        self._ups: UpsState | None = None
        self._idle: trio.CancelScope | None = None

    # ---- the outer loop: open, talk, and start again when the port goes ---------

    async def run(self, ups: UpsState,
                  requests: trio.MemoryReceiveChannel[Request]) -> None:
        self._publish_driver_info(ups)
        await keep_port(self.open_line, self.port, BAUDRATE, ups=ups,
                        requests=requests, serve=self.serve, health=self.health,
                        interval=self.interval, lost=(LineLost, UpsSilent))

    async def serve(self, stream: trio.abc.Stream, ups: UpsState,
                    requests: trio.MemoryReceiveChannel[Request]) -> None:
        """Talk to the UPS on an open ``stream`` until the stream goes away."""
        self._ups = ups
        line = SmartLine(stream, self._on_alert)
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(line.read_forever)
                await self._handshake(line, ups)
                await self._discover(line, ups)
                await self._poll_forever(line, ups, requests)
        finally:
            with trio.move_on_after(codec.SMART_MODE_TIMEOUT) as scope:
                scope.shield = True
                await _say_goodbye(stream)

    def _publish_driver_info(self, ups: UpsState) -> None:
        publish_driver_info(ups, "apcsmart", {
            "pollinterval": f"{self.interval:g}", "port": self.port})

    # ---- handshake and discovery --------------------------------------------------

    async def _handshake(self, line: SmartLine, ups: UpsState) -> None:
        for _ in range(codec.SMART_MODE_TRIES):
            if await line.query(codec.SMART_MODE, codec.SMART_MODE_TIMEOUT) == b"SM":
                return
            ups.mark_stale()  # no data for a while yet: say so (logged if all tries fail)
            await line.query(codec.ESCAPE, codec.SMART_MODE_TIMEOUT)  # answer discarded
        raise UpsSilent("no APC Smart protocol UPS answers (no SM to Y)")

    async def _discover(self, line: SmartLine, ups: UpsState) -> None:
        """NUT's getbaseinfo: firmware table, ``a``, probing, ``^Z``.  Another unit
        may answer than before: what the first poll does not show goes."""
        ups.begin_discovery()
        firmware = await line.query(codec.FIRMWARE_OLD)
        if firmware in (None, b"NA"):
            firmware = await line.query(codec.FIRMWARE_NEW)
        fw_text = (firmware or b"").decode("latin-1")
        legacy = codec.legacy_lookup(fw_text)
        cmdset = None
        unit = Unit()
        if legacy is not None:
            ups.set("ups.model", legacy.model)
            commands = legacy.commands
        else:
            cmdset = codec.parse_cmdset(
                await line.query(codec.CMDSET, codec.LONG_TIMEOUT, ReadMode.RAW) or b"")
            commands = cmdset.commands if cmdset is not None else codec.OLD_PROBE
        found = codec.discover(commands)
        unit.instcmds = found.instcmds
        readings: dict[bytes, codec.Reading] = {}
        if cmdset is not None:
            unit.output_frequency = b"\x9f\xd3" in cmdset.dual
            for cmd in cmdset.dual:
                readings[cmd] = codec.decode_dual(cmd, await self._probe(line, cmd))
        for byte in found.queries:
            cmd = bytes((byte,))
            readings[cmd] = codec.decode(cmd, await self._probe(line, cmd),
                                         output_frequency=unit.output_frequency)
        readings = {cmd: r for cmd, r in readings.items() if r.outcome is Outcome.VALUE}
        if codec.FIRMWARE_NEW in readings:
            readings.pop(codec.FIRMWARE_OLD, None)  # b wins over V
        for cmd, reading in readings.items():
            (unit.dual if len(cmd) == 2 else unit.queries).append(cmd)
            unit.names[cmd] = set(reading.values)
            _publish(ups, reading)
            if any(spec.string for spec in codec.specs_for(cmd)):
                for name, value in reading.values.items():
                    ups.set(name, value, writable=True, string=True, aux=codec.STRING_LENGTH)
        if cmdset is None and legacy is None:
            _old_model(ups)
        for name in found.instcmds:
            ups.add_command(name)
        if found.caps and legacy is None:
            await self._read_caps(line, ups, fw_text == codec.QUIRK_FIRMWARE)
        ups.set("ups.mfr", "APC")
        mirror_device_info(ups)
        self.unit = unit
        log.info("[%s] APC Smart-UPS on %s: firmware %s, %d variables, %d commands",
                 ups.name, self.port, fw_text or "unknown", len(unit.queries),
                 len(unit.instcmds))

    async def _probe(self, line: SmartLine, cmd: bytes) -> bytes:
        """One discovery query; a timeout means the UPS went away, unless it still says SM."""
        reply = await line.query(cmd)
        if reply is None:
            if await line.query(codec.SMART_MODE, codec.SMART_MODE_TIMEOUT) != b"SM":
                raise UpsSilent(f"no reply to {cmd!r} during discovery")
            return b""
        return reply

    async def _read_value(self, line: SmartLine, cmd: bytes) -> str | None:
        reading = codec.decode(cmd, await line.query(cmd) or b"")
        return next(iter(reading.values.values()), None)

    async def _read_caps(self, line: SmartLine, ups: UpsState, quirky: bool) -> None:
        reply = await line.query(codec.CAPS, codec.LONG_TIMEOUT, ReadMode.CAPS)
        entries = codec.parse_caps(reply or b"", tolerate_overflow=quirky)
        if entries is None:
            log.warning("[%s] unusable ^Z (capabilities) reply: %r", ups.name, reply)
            return
        firmware = ups.get("ups.firmware")
        locale = codec.firmware_locale(firmware.value if firmware else "")
        present = {var.name for var in ups.variables.values()}
        for name, values in codec.caps_enums(entries, locale, present).items():
            ups.variables[name.lower()].writable = True
            ups.set_enums(name, values)

    # ---- polling ----------------------------------------------------------------------

    async def _poll_forever(self, line: SmartLine, ups: UpsState,
                            requests: trio.MemoryReceiveChannel[Request]) -> None:
        last_full = trio.current_time()
        garbled = 0
        while True:
            full = trio.current_time() - last_full >= FULL_SCAN_EVERY
            try:
                began, sent, received = trio.current_time(), line.bytes_sent, line.bytes_received
                ok = await self._poll(line, ups, full)
                took = trio.current_time() - began
                ups.stats.poll_seconds = took
                cycle_log.debug("[%s] poll cycle %.1f ms, %d bytes sent, %d received",
                                ups.name, took * 1000,
                                line.bytes_sent - sent, line.bytes_received - received)
            except UpsSilent as exc:
                self.health.lost(ups, f"{self.port}: {exc}", trio.current_time())
                await self._wait_for_answer(line, ups, requests)
                ok = await self._poll(line, ups, full=True)
            garbled = 0 if ok else garbled + 1
            if ok:
                self.health.fresh(ups, trio.current_time())
                if full:
                    last_full = trio.current_time()
            elif garbled >= GARBLED_POLLS:
                self.health.lost(ups, f"{self.port}: garbled replies in {garbled} polls "
                                 "in a row", trio.current_time())
            # Until the next poll is due (soon after a garbled one): a request
            # is carried out, then polled for at once to show its effect; an
            # alert also cuts the wait short.
            wait = self.interval if ok else min(self.interval, RESYNC_PAUSE)
            request = await self._next_request(requests, trio.current_time() + wait)
            if request is not None:
                await self._execute(line, ups, request)

    async def _poll(self, line: SmartLine, ups: UpsState, full: bool) -> bool:
        """One scan; False when a reply was garbled (nothing of it published)."""
        reply = await line.query(codec.STATUS)
        if reply is None:
            raise UpsSilent("no reply to Q")
        status = codec.parse_register(reply)
        if status is None:
            await self._resync(line)
            return False
        self.status = status
        self._publish_status()
        clean = True
        queries = [*(self.unit.queries if full else self.unit.polled()), *self.unit.dual]
        for cmd in queries:
            clean &= await self._poll_one(line, ups, cmd)
        return clean

    async def _poll_one(self, line: SmartLine, ups: UpsState, cmd: bytes) -> bool:
        reply = await line.query(cmd)
        if reply is None:
            raise UpsSilent(f"no reply to {cmd!r}")
        if len(cmd) == 2:
            reading = codec.decode_dual(cmd, reply)
        else:
            reading = codec.decode(cmd, reply, output_frequency=self.unit.output_frequency)
        if reading.outcome is Outcome.NA:  # NUT: gone for good
            self.unit.queries = [q for q in self.unit.queries if q != cmd]
            self.unit.dual = [q for q in self.unit.dual if q != cmd]
            for name in self.unit.names.pop(cmd, set()):
                ups.delete(name)
            return True
        if reading.outcome is Outcome.BAD:
            log.debug("[%s] garbled reply to %r: %r", ups.name, cmd, reply)
            await self._resync(line)
            return False
        _publish(ups, reading)
        return True

    async def _resync(self, line: SmartLine) -> None:
        await trio.sleep(RESYNC_PAUSE)
        line.flush()

    async def _wait_for_answer(self, line: SmartLine, ups: UpsState,
                               requests: trio.MemoryReceiveChannel[Request]) -> None:
        """Knock with ``Y`` every poll interval until the UPS says ``SM`` again."""
        while True:
            started = trio.current_time()
            if await line.query(codec.SMART_MODE, codec.SMART_MODE_TIMEOUT) == b"SM":
                return
            self.health.lost(ups, f"{self.port}: no SM in reply to Y", trio.current_time())
            await reject_for(self.interval - (trio.current_time() - started), requests)

    def _publish_status(self) -> None:
        assert self._ups is not None
        self._ups.set("ups.status", " ".join(codec.status_tokens(self.status)))

    def _on_alert(self, alert: Alert) -> None:
        """Called by the reader the moment an alert byte arrives."""
        log.debug("[%s] alert %r: %s", self._ups.name if self._ups else "?",
                  chr(alert.value), codec.ALERT_MEANINGS[alert])
        status = codec.apply_alert(self.status, alert)
        if status != self.status:
            self.status = status
            self._publish_status()
            if self._idle is not None:
                self._idle.cancel()  # poll now to confirm

    async def _next_request(self, requests: trio.MemoryReceiveChannel[Request],
                            deadline: float) -> Request | None:
        """A client request, or None at ``deadline`` or when an alert wants a poll."""
        with trio.move_on_at(deadline) as scope:
            self._idle = scope
            try:
                return await requests.receive()
            finally:
                self._idle = None
        return None

    # ---- instant commands and writes --------------------------------------------------

    async def _execute(self, line: SmartLine, ups: UpsState, request: Request) -> None:
        """Carry out ``request``; its result is reported even if the line goes."""
        result = Result.FAILED
        try:
            if isinstance(request, InstCmd):
                result = await self._instcmd(line, request)
            elif isinstance(request, Killpower):
                result = await self._killpower(line, ups, request.notes)
            else:
                result = await self._setvar(line, ups, request)
        finally:
            if request.on_result is not None:
                request.on_result(result)

    async def _instcmd(self, line: SmartLine, request: InstCmd) -> Result:
        name = request.command.lower()
        if name not in self.unit.instcmds:
            return Result.INVALID if name in _KNOWN_INSTCMDS else Result.UNKNOWN
        if name in codec.NASTY and not self.nasty.allow(trio.current_time()):
            log.warning("%s not sent: NUT's rule wants the same request again "
                        "3 to 15 s later to confirm it", name)
            return Result.FAILED
        status = None
        if name.startswith("calibrate.") or (request.param or "").lower() == "cs":
            status = codec.parse_register(await line.query(codec.STATUS) or b"")
            if status is None:
                return Result.FAILED
        try:
            steps = codec.instcmd_steps(name, request.param, status=status)
        except codec.UnknownCommand:
            return Result.INVALID
        if await line.run_steps(steps):
            log.info("%s %s done", name, request.param or "")
            return Result.SUCCESS
        if codec.needs_at_recovery(steps):
            await line.run_steps([codec.AT_RECOVERY])
        log.warning("%s %s refused or unanswered", name, request.param or "")
        return Result.FAILED

    async def _killpower(self, line: SmartLine, ups: UpsState, notes: list[str]) -> Result:
        """NUT's ``apcsmart -k``: read Q, then try the configured shutdown methods in turn.

        NUT's own read of Q accepts a single character, so on a real unit it
        always falls back to "on battery"; this reads the register properly.
        """
        status = codec.parse_register(await line.query(codec.STATUS) or b"")
        if status is None:
            notes.append("status unreadable: assuming on battery and low, as NUT does")
            status = codec.OB | codec.LB
        delay = ups.get("ups.delay.shutdown")
        after = (f"after its {int(delay.value)} s shutdown delay"
                 if delay is not None and delay.value.isdigit() else "after its delay")
        on = "on battery" if status & codec.OB else "on line"
        for method in codec.killpower_plan(status, **self.shutdown_options):
            if await line.run_steps(method.steps):
                back = ("back on when the mains return" if method.returns
                        else "staying off until switched on")
                notes.append(f"{on}: {method.name} confirmed; output off {after}, {back}")
                log.warning("[%s] killpower: %s", ups.name, notes[-1])
                return Result.SUCCESS
            if codec.needs_at_recovery(method.steps):
                await line.run_steps([codec.AT_RECOVERY])
            notes.append(f"{on}: {method.name} refused or unanswered")
            log.warning("[%s] killpower: %s", ups.name, notes[-1])
        return Result.FAILED

    async def _setvar(self, line: SmartLine, ups: UpsState, request: SetVar) -> Result:
        var = ups.get(request.variable)
        spec = codec.spec_named(request.variable)
        if var is None or spec is None or not var.writable or spec.cmd not in self.unit.queries:
            return Result.UNKNOWN
        current = await self._read_value(line, spec.cmd)
        if current is None:
            return Result.FAILED
        if current == request.value:
            return Result.SUCCESS
        if spec.string:
            try:
                steps = codec.string_write_steps(request.value)
            except ValueError:
                return Result.INVALID
            await line.run_steps(steps)
            current = await self._read_value(line, spec.cmd)
        else:
            current = await self._cycle_enum(line, spec.cmd, current, request.value)
        if current is not None:
            ups.set(var.name, current)
        return Result.SUCCESS if current == request.value else Result.FAILED

    async def _cycle_enum(self, line: SmartLine, cmd: bytes, original: str,
                          target: str) -> str | None:
        """Step the EEPROM value with ``-`` until ``target`` (or back to the start)."""
        value: str | None = original
        for _ in range(codec.ENUM_MAX_STEPS):
            if not await line.run_steps([codec.ENUM_STEP]):
                return value
            value = await self._read_value(line, cmd)
            if value in (None, target, original):
                return value
        return value


_KNOWN_INSTCMDS = frozenset(name for names in codec.INSTCMD_BYTES.values() for name in names)


def _publish(ups: UpsState, reading: codec.Reading) -> None:
    for name, value in reading.values.items():
        ups.set(name, value)


def _old_model(ups: UpsState) -> None:
    """NUT's oldapcsetup: name what answered too little to name itself."""
    if ups.get("output.current") is not None:
        ups.set("ups.model", "Matrix-UPS")
    elif ups.get("ups.model") is None:
        ups.set("ups.model", "Smart-UPS")


async def _say_goodbye(stream: trio.abc.Stream) -> None:
    """``R``: back to dumb mode, as NUT does when it stops."""
    with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError, OSError):
        await stream.send_all(codec.DUMB_MODE)
