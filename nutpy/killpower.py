"""``nutpy killpower``: tell each UPS to cut its output, as ``upsdrvctl shutdown`` does.

At the very end of a power-failure shutdown, after upsmon has written its
POWERDOWNFLAG, each UPS is told to turn its output off once its shutdown
delay has passed and to turn it back on when the mains return, so that every
machine on it boots again by itself.

The request goes to the UPS's own driver (see :class:`~nutpy.store.Killpower`),
so it is carried out between polls with the driver's knowledge of the unit.
Two ways to reach the driver:

* ``nutpy serve`` is still running and owns the serial ports: ask it over its
  control socket, ``$NUT_STATEPATH/nutpy.sock`` (mode 0600).  The socket
  speaks lines: ``KILLPOWER <ups>`` is answered by ``NOTE <text>`` lines and
  then ``OK``, ``FAILED`` or ``ERR <reason>``.
* It is not (the usual case: systemd stopped it before the final stage):
  start the drivers here, wait until each UPS answers, and ask them directly.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path

import trio

from nutpy.config import Config, UpsConfig
from nutpy.drivers.base import DriverConfigError, supervise
from nutpy.lines import LineReader, LineTooLong, unix_listener
from nutpy.store import RESULT_SUCCESS, Availability, Killpower, Store, UpsState
from nutpy.wiring import make_driver

log = logging.getLogger("nutpy.killpower")

SOCKET_NAME = "nutpy.sock"
ANSWER_TIMEOUT = 30.0  # for the UPS to be read, then again for it to confirm


@dataclass
class Outcome:
    ups: str
    confirmed: bool
    notes: list[str] = field(default_factory=list)


async def ask_driver(ups: UpsState, timeout: float = ANSWER_TIMEOUT) -> Outcome:
    """Hand a Killpower request to the UPS's driver and wait for its answer."""
    done = trio.Event()
    results: list[int] = []

    def on_result(result: int) -> None:
        results.append(result)
        done.set()

    request = Killpower(on_result)
    if not ups.submit(request):
        return Outcome(ups.name, False, ["the driver is not running"])
    with trio.move_on_after(timeout):
        await done.wait()
    if not results:
        request.notes.append(f"no answer from the driver within {timeout:g} s")
    return Outcome(ups.name, results == [RESULT_SUCCESS], request.notes)


async def wait_readable(store: Store, ups: UpsState, maxage: float, timeout: float) -> bool:
    """Wait until the driver has read the UPS (its data is fresh); False on timeout."""
    with trio.move_on_after(timeout):
        version = store.version
        while ups.availability(trio.current_time(), maxage) is not Availability.OK:
            version = await store.wait_changed(version)
        return True
    return False


# ---- without a server: run the drivers here -------------------------------------


async def _run_here(cfg: Config, sections: list[UpsConfig], timeout: float) -> list[Outcome]:
    store = Store()
    outcomes: dict[str, Outcome] = {}

    async def one(section: UpsConfig, nursery: trio.Nursery) -> None:
        ups = store.add(section.name, section.desc)
        try:
            driver = make_driver(section, cfg.directory, cfg.ups.globals)
        except DriverConfigError as exc:
            outcomes[section.name] = Outcome(section.name, False, [str(exc)])
            return
        nursery.start_soon(supervise, driver, ups)
        if await wait_readable(store, ups, cfg.upsd.maxage, timeout):
            outcomes[section.name] = await ask_driver(ups, timeout)
        else:
            outcomes[section.name] = Outcome(
                section.name, False, [f"no data from {section.port} within {timeout:g} s"])

    async with trio.open_nursery() as drivers:
        async with trio.open_nursery() as askers:
            for section in sections:
                askers.start_soon(one, section, drivers)
        drivers.cancel_scope.cancel()
    return [outcomes[section.name] for section in sections]


# ---- with a server: its control socket ------------------------------------------


async def _ask_server(stream: trio.SocketStream, names: list[str]) -> list[Outcome]:
    outcomes = []
    lines = LineReader(stream)
    for name in names:
        await stream.send_all(f"KILLPOWER {name}\n".encode())
        outcome = Outcome(name, False)
        while True:
            line = await lines.next()
            if line is None:
                raise ConnectionError("nutpy serve closed the connection")
            if line.startswith("NOTE "):
                outcome.notes.append(line[5:])
                continue
            outcome.confirmed = line == "OK"
            if line.startswith("ERR "):
                outcome.notes.append(line[4:])
            break
        outcomes.append(outcome)
    return outcomes


async def _connect(path: Path) -> trio.SocketStream | None:
    """A connection to a running ``nutpy serve``, or None when there is none."""
    try:
        return await trio.open_unix_socket(os.fspath(path))
    except OSError as exc:
        if exc.errno not in (errno.ENOENT, errno.ECONNREFUSED):
            log.warning("cannot use %s: %s; opening the ports here", path, exc)
        return None


async def killpower(cfg: Config, names: list[str], control: Path,
                    timeout: float = ANSWER_TIMEOUT) -> list[Outcome]:
    """Ask every UPS named (all of ``ups.conf`` when ``names`` is empty) to cut its power.

    Raises ValueError for a name that is not in ``ups.conf``.
    """
    known = {section.name.lower(): section for section in cfg.ups.ups}
    unknown = [name for name in names if name.lower() not in known]
    if unknown:
        raise ValueError(f"not in ups.conf: {', '.join(unknown)}")
    sections = [known[name.lower()] for name in names] if names else list(known.values())
    stream = await _connect(control)
    if stream is None:
        return await _run_here(cfg, sections, timeout)
    log.info("nutpy serve is running: asking it through %s", control)
    async with stream:
        with trio.fail_after(len(sections) * 2 * timeout + 5):
            return await _ask_server(stream, [section.name for section in sections])


# ---- the server's half of the control socket ------------------------------------


async def _answer(store: Store, maxage: float, stream: trio.abc.Stream) -> None:
    lines = LineReader(stream)
    async with stream:
        while True:
            try:
                line = await lines.next()
            except (LineTooLong, trio.BrokenResourceError):
                return
            if line is None:
                return
            words = line.split()
            if len(words) != 2 or words[0].upper() != "KILLPOWER":
                reply = "ERR UNKNOWN-COMMAND\n"
            elif (ups := store.get(words[1])) is None:
                reply = "ERR UNKNOWN-UPS\n"
            elif not await wait_readable(store, ups, maxage, ANSWER_TIMEOUT):
                reply = "ERR DATA-STALE\n"
            else:
                outcome = await ask_driver(ups)
                notes = "".join(f"NOTE {note}\n" for note in outcome.notes)
                reply = notes + ("OK\n" if outcome.confirmed else "FAILED\n")
            with contextlib.suppress(trio.BrokenResourceError):
                await stream.send_all(reply.encode())


async def _claim(path: Path) -> trio.SocketListener | None:
    """Listen on the control socket; None if another server owns it or it cannot be made."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        if probe.connect_ex(os.fspath(path)) == 0:
            log.error("%s: another nutpy serve answers there; no control socket", path)
            return None
    try:
        return await unix_listener(path, mode=0o600)
    except OSError as exc:
        log.warning("no control socket at %s (%s): nutpy killpower will open the "
                    "ports itself while this server runs", path, exc.strerror or exc)
        return None


async def serve_control(store: Store, maxage: float, path: Path) -> None:
    """Answer ``nutpy killpower`` on ``path`` until cancelled."""
    listener = await _claim(path)
    if listener is None:
        return

    async def handler(stream: trio.SocketStream) -> None:
        await _answer(store, maxage, stream)

    try:
        await trio.serve_listeners(handler, [listener])
    finally:
        with contextlib.suppress(OSError):
            path.unlink()
