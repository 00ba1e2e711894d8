"""The scan's trio shell: each port opened, probed in each protocol, reported on.

All ports are probed at once, each in its own task: a scan takes as long
as its slowest port (about 5 s for a silent one), not their sum.
"""

from __future__ import annotations

import errno
import grp
import logging
import os
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

import trio

from nutpy.ports import PortError, open_port, parse_port
from nutpy.protocols.identify import Finding, Identity, NoUps, Probe, Unreadable, probes
from nutpy.scan.devices import Port
from nutpy.scan.holders import LOCK_DIRS, lock_file
from nutpy.scan.tty import Busy, NoHardware, NotATty, open_tty

__all__ = ["PortResult", "converse", "probe_port", "scan"]

RECEIVE_SIZE = 4096
log = logging.getLogger("nutpy.scan")


@dataclass
class PortResult:
    port: Port
    identity: Identity | None = None
    unreadable: Unreadable | None = None
    misses: list[NoUps] = field(default_factory=list)
    problem: str | None = None  # why it was not (fully) probed, in words
    busy: Busy | None = None
    notes: list[str] = field(default_factory=list)


class PortClosed(Exception):
    """The other end went away in the middle of a probe."""


async def converse(stream: trio.abc.Stream, probe: Probe, label: str = "") -> Finding:
    """Run ``probe`` over ``stream`` until it concludes (``-D`` logs the bytes)."""
    out = probe.start(trio.current_time())
    while probe.finding is None:
        if out:
            log.debug("%s: %d baud: sent %r", label, probe.baudrate, out)
            await stream.send_all(out)
        deadline = probe.next_deadline()
        if deadline is None:
            break
        data: bytes | None = None
        with trio.move_on_at(deadline):
            data = bytes(await stream.receive_some(RECEIVE_SIZE))
            if not data:
                raise PortClosed
            log.debug("%s: %d baud: heard %r", label, probe.baudrate, data)
        now = trio.current_time()
        out = probe.receive_data(data, now) if data else probe.handle_timeout(now)
    assert probe.finding is not None
    return probe.finding


def _record(result: PortResult, finding: Finding) -> bool:
    """Keep a probe's finding; True when the port is identified (stop probing)."""
    if isinstance(finding, NoUps):
        result.misses.append(finding)
        return False
    if isinstance(finding, Identity):
        result.identity = finding
    else:
        result.unreadable = finding
    return True


def _open_problem(exc: OSError, device: Path) -> str:
    if exc.errno == errno.ENOENT:
        return "no such device"
    if exc.errno in (errno.EACCES, errno.EPERM):
        try:
            group = grp.getgrgid(os.stat(device).st_gid).gr_name
        except (OSError, KeyError):
            group = "that owns it"
        return (f"permission denied: run the scan as root, or add yourself to group "
                f"{group} (then log in again)")
    if exc.errno in (errno.EIO, errno.ENXIO, errno.ENODEV):
        return f"no hardware behind it ({exc.strerror.lower() if exc.strerror else exc})"
    return f"cannot open it: {exc.strerror or exc}"


async def _probe_tty(result: PortResult, consoles: Collection[str],
                     lock_dirs: tuple[Path, ...]) -> None:
    port = result.port
    device = port.device or Path(port.given)
    if device.name in consoles:
        result.problem = (f"carries the kernel's console (console={device.name}): "
                          "not probed")
        return
    names = {Path(port.given).name, device.name, Path(port.stable).name}
    holder = lock_file(names, lock_dirs)
    if holder is not None and not holder.stale:
        result.busy = Busy([holder])
        return
    if holder is not None:
        result.notes.append(f"stale {holder.how} (PID {holder.pid} is gone): ignored")
    try:
        async with open_tty(device) as tty:
            for probe in probes():
                tty.set_speed(probe.baudrate)
                if _record(result, await converse(tty.stream, probe, port.label)):
                    return
    except Busy as exc:
        result.busy = exc
    except NotATty:
        result.problem = "not a serial port (not a terminal device)"
    except NoHardware:
        result.problem = "no UART behind this port"
    except (trio.BrokenResourceError, PortClosed):
        result.problem = "the device went away during the probe"
    except OSError as exc:
        result.problem = _open_problem(exc, device)


async def _probe_tcp(result: PortResult) -> None:
    try:
        spec = parse_port(result.port.given)
        async with open_port(spec, 9600, Path.cwd()) as stream:
            for probe in probes():
                if _record(result, await converse(stream, probe, result.port.label)):
                    return
    except PortError as exc:
        result.problem = str(exc)
    except (trio.BrokenResourceError, PortClosed):
        result.problem = "the connection closed during the probe"
    except OSError as exc:  # TimeoutError included
        result.problem = f"cannot connect: {exc.strerror or exc}"


async def probe_port(port: Port, consoles: Collection[str] = (),
                     lock_dirs: tuple[Path, ...] = LOCK_DIRS) -> PortResult:
    result = PortResult(port)
    if port.is_url:
        await _probe_tcp(result)
    else:
        await _probe_tty(result, consoles, lock_dirs)
    return result


async def scan(ports: list[Port], consoles: Collection[str] = (),
               lock_dirs: tuple[Path, ...] = LOCK_DIRS) -> list[PortResult]:
    """Probe every port at once; results in the order of ``ports``."""
    results: list[PortResult | None] = [None] * len(ports)

    async def one(i: int) -> None:
        results[i] = await probe_port(ports[i], consoles, lock_dirs)

    async with trio.open_nursery() as nursery:
        for i in range(len(ports)):
            nursery.start_soon(one, i)
    return [r for r in results if r is not None]
