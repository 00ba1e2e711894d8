"""``nutpy killpower``: tell each UPS to cut its output, as ``upsdrvctl shutdown`` does.

At the very end of a power-failure shutdown, after upsmon has written its
POWERDOWNFLAG, each UPS is told to turn its output off once its shutdown
delay has passed and to turn it back on when the mains return, so that every
machine on it boots again by itself.

The request goes to the UPS's own driver (see :class:`~nutpy.store.Killpower`),
so it is carried out between polls with the driver's knowledge of the unit.
Two ways to reach the driver:

* ``nutpy serve`` of the same configuration is still running and owns the
  serial ports: ask it over its control socket, ``$NUT_STATEPATH/nutpy.sock`` (its half is
  :mod:`nutpy.frontends.control`, the protocol :mod:`nutpy.protocols.control`).
* It is not (the usual case: systemd stopped it before the final stage):
  start the drivers here, wait until each UPS answers, and ask them directly.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import trio

from nutpy.config import Config, UpsConfig
from nutpy.drivers.base import DriverConfigError, supervise
from nutpy.frontends.control import ANSWER_TIMEOUT
from nutpy.lines import LineReader
from nutpy.protocols import control
from nutpy.store import Killpower, Origin, RequestRefused, Result, Store
from nutpy.wiring import make_driver

__all__ = ["ANSWER_TIMEOUT", "Outcome", "killpower"]

log = logging.getLogger("nutpy.killpower")

GREETING_TIMEOUT = 5.0  # for a running server to say which configuration it serves


@dataclass
class Outcome:
    ups: str
    confirmed: bool
    notes: list[str] = field(default_factory=list)


# ---- without a server: run the drivers here -------------------------------------


async def _run_here(cfg: Config, sections: list[UpsConfig], timeout: float) -> list[Outcome]:
    store = Store(maxage=cfg.upsd.maxage)
    outcomes: dict[str, Outcome] = {}

    async def one(section: UpsConfig, nursery: trio.Nursery) -> None:
        ups = store.add(section.name, section.desc)
        try:
            driver = make_driver(section, cfg.directory, cfg.ups.globals)
        except DriverConfigError as exc:
            outcomes[section.name] = Outcome(section.name, False, [str(exc)])
            return
        nursery.start_soon(supervise, driver, ups)
        if not await ups.wait_available(timeout):
            outcomes[section.name] = Outcome(
                section.name, False, [f"no data from {section.port} within {timeout:g} s"])
            return
        request = Killpower(origin=Origin(None, "local", "killpower"))
        try:
            result = await ups.execute(request, timeout)
        except RequestRefused as exc:
            outcomes[section.name] = Outcome(section.name, False, [str(exc)])
            return
        if result is None:
            request.notes.append(f"no answer from the driver within {timeout:g} s")
        outcomes[section.name] = Outcome(section.name, result is Result.SUCCESS,
                                         request.notes)

    async with trio.open_nursery() as drivers:
        async with trio.open_nursery() as askers:
            for section in sections:
                askers.start_soon(one, section, drivers)
        drivers.cancel_scope.cancel()
    return [outcomes[section.name] for section in sections]


# ---- with a server: its control socket ------------------------------------------


async def _ask_server(stream: trio.SocketStream, lines: LineReader,
                      names: list[str]) -> list[Outcome]:
    outcomes = []
    reader = control.Reader()
    for name in names:
        await stream.send_all(control.request(name))
        while True:
            line = await lines.next()
            if line is None:
                raise ConnectionError("nutpy serve closed the connection")
            if (answer := reader.feed(line)) is not None:
                break
        outcomes.append(Outcome(name, answer.confirmed, answer.notes))
    return outcomes


async def _connect(path: Path, confdir: Path
                   ) -> tuple[trio.SocketStream, LineReader] | None:
    """A connection to the ``nutpy serve`` of ``confdir``, or None when none runs.

    A server at ``path`` that serves another configuration (the state
    directory is shared) is not asked: its UPSes are not ours.
    """
    try:
        stream = await trio.open_unix_socket(os.fspath(path))
    except OSError as exc:
        if exc.errno not in (errno.ENOENT, errno.ECONNREFUSED):
            log.warning("cannot use %s: %s; opening the ports here", path, exc)
        return None
    lines = LineReader(stream)
    served: str | None = None
    with trio.move_on_after(GREETING_TIMEOUT), contextlib.suppress(OSError, ValueError,
                                                                    trio.BrokenResourceError):
        served = control.parse_greeting(await lines.next() or "")
    if served is not None and Path(served) == confdir.resolve():
        return stream, lines
    await stream.aclose()
    log.warning("the nutpy serve at %s serves %s, not %s: opening the ports here", path,
                served or "an unknown configuration", confdir.resolve())
    return None


async def killpower(cfg: Config, names: list[str], socket: Path,
                    timeout: float = ANSWER_TIMEOUT) -> list[Outcome]:
    """Ask every UPS named (all of ``ups.conf`` when ``names`` is empty) to cut its power.

    Raises ValueError for a name that is not in ``ups.conf``.
    """
    known = {section.name.lower(): section for section in cfg.ups.ups}
    unknown = [name for name in names if name.lower() not in known]
    if unknown:
        raise ValueError(f"not in ups.conf: {', '.join(unknown)}")
    sections = [known[name.lower()] for name in names] if names else list(known.values())
    connected = await _connect(socket, cfg.directory)
    if connected is None:
        return await _run_here(cfg, sections, timeout)
    stream, lines = connected
    log.info("nutpy serve is running: asking it through %s", socket)
    async with stream:
        with trio.fail_after(len(sections) * 2 * timeout + 5):
            return await _ask_server(stream, lines, [section.name for section in sections])
