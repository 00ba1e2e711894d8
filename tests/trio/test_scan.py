"""``nutpy scan`` in-process: simulators on ptys and TCP, claims on ports, a fake ``/dev``.

Real time (ptys and sockets move real bytes); each scan is one port or a
few, probed at once.
"""

from __future__ import annotations

import fcntl
import io
import os
import subprocess
import termios
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path

import trio

from nutpy.protocols.identify import Identity
from nutpy.scan import Port, render
from nutpy.scan.devices import port_for, serial_ports
from nutpy.scan.probing import scan
from nutpy.sim.link import SimLink, pseudo_terminal
from nutpy.sim.microlink import MicrolinkSim
from nutpy.sim.smart import SmartUps
from tests.support.nut import wait_until


@asynccontextmanager
async def ups_on_pty(link: Path, engine: SmartUps | MicrolinkSim) -> AsyncIterator[Path]:
    async with pseudo_terminal(link) as stream, trio.open_nursery() as nursery:
        nursery.start_soon(SimLink(engine).serve, stream)
        yield link
        nursery.cancel_scope.cancel()


@asynccontextmanager
async def ups_on_tcp(engine: SmartUps | MicrolinkSim) -> AsyncIterator[str]:
    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(partial(trio.serve_tcp, SimLink(engine).serve, 0,
                                                host="127.0.0.1"))
        yield f"socket://127.0.0.1:{listeners[0].socket.getsockname()[1]}"
        nursery.cancel_scope.cancel()


async def test_socket_urls_are_probed_like_serial_ports() -> None:
    smart, microlink = SmartUps(), MicrolinkSim()
    async with ups_on_tcp(smart) as url1, ups_on_tcp(microlink) as url2:
        results = await scan([Port(url1), Port(url2)])
    assert [r.identity.driver if r.identity else None for r in results] == [
        "apcsmart", "apcmicrolink"]
    assert not smart.smart  # R at the end, as NUT's apcsmart does on exit
    out, err = io.StringIO(), io.StringIO()
    assert render(results, out, err) == 0
    assert f"port = {url1}\n" in out.getvalue() and f"port = {url2}\n" in out.getvalue()


async def test_a_tcp_peer_that_hangs_up_is_reported() -> None:
    async def hang_up(stream: trio.SocketStream) -> None:
        await stream.aclose()

    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(partial(trio.serve_tcp, hang_up, 0, host="127.0.0.1"))
        url = f"socket://127.0.0.1:{listeners[0].socket.getsockname()[1]}"
        [result] = await scan([Port(url)])
        nursery.cancel_scope.cancel()
    assert result.problem == "the connection closed during the probe"


async def test_the_port_is_left_as_found(tmp_path: Path) -> None:
    master, slave = os.openpty()
    try:
        before = termios.tcgetattr(slave)
        [result] = await scan([port_for(os.ttyname(slave))])
        assert termios.tcgetattr(slave) == before
        assert result.identity is None and len(result.misses) == 2  # silence at both speeds
        os.close(os.open(os.ttyname(slave), os.O_RDWR | os.O_NOCTTY))  # not left exclusive
    finally:
        os.close(master)
        os.close(slave)


async def test_a_live_lock_file_keeps_the_scan_off_and_a_stale_one_does_not(
        tmp_path: Path) -> None:
    locks = tmp_path / "lock"
    locks.mkdir()
    async with ups_on_pty(tmp_path / "ups.tty", SmartUps()) as link:
        device = Path(os.readlink(link))
        holder = subprocess.Popen(["sleep", "30"])
        comm = Path(f"/proc/{holder.pid}/comm")
        try:
            assert wait_until(lambda: comm.read_text() == "sleep\n", timeout=5)  # exec done
            (locks / f"LCK..{device.name}").write_text(f"{holder.pid:010d}\n")
            [held] = await scan([port_for(str(link))], lock_dirs=(locks,))
        finally:
            holder.kill()
            holder.wait()
        [free] = await scan([port_for(str(link))], lock_dirs=(locks,))
    assert held.busy is not None and held.identity is None
    assert str(held.busy.holders[0]) == (f"PID {holder.pid} (sleep), by lock file "
                                         f"{locks}/LCK..{device.name}")
    assert isinstance(free.identity, Identity)
    assert free.notes == [f"stale lock file {locks}/LCK..{device.name} (PID {holder.pid} "
                          "is gone): ignored"]


async def test_a_port_flocked_or_exclusive_is_not_taken(tmp_path: Path) -> None:
    engine = SmartUps()
    async with ups_on_pty(tmp_path / "ups.tty", engine) as link:
        fd = os.open(link, os.O_RDWR | os.O_NOCTTY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            [flocked] = await scan([port_for(str(link))])
            fcntl.flock(fd, fcntl.LOCK_UN)
            fcntl.ioctl(fd, termios.TIOCEXCL)
            [exclusive] = await scan([port_for(str(link))])
        finally:
            os.close(fd)
    assert flocked.busy is not None
    assert str(flocked.busy.holders[0]).startswith(f"PID {os.getpid()} (")
    assert str(flocked.busy.holders[0]).endswith(", by flock")
    assert exclusive.busy is not None
    assert "exclusive mode (TIOCEXCL)" in str(exclusive.busy)
    assert engine.last_command == ""  # not a byte was sent to the UPS


async def test_a_fake_dev_tree_gives_by_id_names_and_skips_the_console(tmp_path: Path) -> None:
    dev = tmp_path / "dev"
    (dev / "serial/by-id").mkdir(parents=True)
    async with ups_on_pty(tmp_path / "a.tty", SmartUps()) as a, \
            ups_on_pty(tmp_path / "b.tty", MicrolinkSim()) as b:
        (dev / "ttyUSB0").symlink_to(a)
        (dev / "ttyUSB1").symlink_to(b)
        (dev / "ttyS0").symlink_to(os.readlink(b))  # stands for the console's port
        by_id = dev / "serial/by-id/usb-FTDI_FT232R_USB_UART_A10K5Z3X-if00-port0"
        by_id.symlink_to("../../ttyUSB0")
        ports = serial_ports(dev)
        assert [p.given for p in ports] == [str(by_id), str(dev / "ttyUSB1")]
        assert port_for(str(dev / "ttyUSB0"), dev).stable == str(by_id)
        console = Path(os.readlink(b)).name
        results = await scan(ports, consoles={console})
    assert isinstance(results[0].identity, Identity)
    assert results[1].problem == f"carries the kernel's console (console={console}): not probed"
    out, err = io.StringIO(), io.StringIO()
    render(results, out, err)
    assert f"port = {by_id}\n" in out.getvalue()
