"""Opening a driver's port: every kind of port becomes a trio Stream.

``port`` in ups.conf is a URL-ish string:

* ``/dev/ttyUSB0`` (any path): a local serial port, through trio-serial;
* ``socket://host:port``: raw TCP, e.g. to ser2net;
* ``sim:NAME[?key=value&...]``: a built-in simulator, run in-process and
  spoken to over the real byte protocol.

The driver cannot tell which one it got: the wiring hands it
``open_port`` bound to its port as :data:`nutpy.drivers.base.OpenLine`.
"""

from __future__ import annotations

import contextlib
import errno
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import trio

CONNECT_TIMEOUT = 5.0  # seconds for a socket:// port to connect


class PortError(Exception):
    """The port string is malformed or names something that does not exist."""


@dataclass(frozen=True)
class PortSpec:
    kind: str  # "serial", "tcp" or "sim"
    target: str  # device path, host, or simulator name
    tcp_port: int = 0
    options: dict[str, str] = field(default_factory=dict)


def parse_port(port: str) -> PortSpec:
    if port.startswith("socket://"):
        parts = urlsplit(port)
        if not parts.hostname or parts.port is None:
            raise PortError(f"'{port}' needs a host and a port: socket://HOST:PORT")
        return PortSpec("tcp", parts.hostname, parts.port)
    if port.startswith("sim:"):
        name, _, query = port[4:].partition("?")
        if not name:
            raise PortError(f"'{port}' names no simulator (sim:smart, sim:microlink)")
        return PortSpec("sim", name, options=dict(parse_qsl(query)))
    if "://" in port:
        raise PortError(f"'{port}': unknown port scheme (use a device path, "
                        "socket://HOST:PORT or sim:NAME)")
    return PortSpec("serial", port)


@contextlib.asynccontextmanager
async def open_port(spec: PortSpec, baudrate: int, confdir: Path
                    ) -> AsyncIterator[trio.abc.Stream]:
    """Open the port for as long as the ``async with`` lasts."""
    if spec.kind == "tcp":
        stream: trio.abc.Stream | None = None
        with trio.move_on_after(CONNECT_TIMEOUT):  # a host that is down drops the SYN
            stream = await trio.open_tcp_stream(spec.target, spec.tcp_port)
        if stream is None:
            raise TimeoutError(f"no connection within {CONNECT_TIMEOUT:g} s")
        async with stream:
            yield stream
    elif spec.kind == "serial":
        from trio_serial import SerialStream

        serial = SerialStream(spec.target, baudrate=baudrate, exclusive=True)
        async with serial:
            yield serial
    else:
        async with _in_process_simulator(spec, confdir) as host_end:
            yield host_end


@contextlib.asynccontextmanager
async def _in_process_simulator(spec: PortSpec, confdir: Path
                                ) -> AsyncIterator[trio.abc.Stream]:
    """A ``sim:`` port: the engine runs in this process over a memory stream.

    Option ``control=PATH`` also serves the control language on a Unix socket.
    """
    import trio.testing  # here, not at the top: it imports pytest when installed (~10 MB)

    from nutpy.sim.builtin import make_engine
    from nutpy.sim.link import SimLink

    try:
        engine = make_engine(spec.target, spec.options, confdir)
    except ValueError as exc:  # to the driver, a simulator set up wrong is a port that fails
        raise OSError(errno.EINVAL, str(exc)) from exc
    link = SimLink(engine)
    host_end, sim_end = trio.testing.memory_stream_pair()
    async with trio.open_nursery() as nursery:
        control = spec.options.get("control")
        if control:
            await nursery.start(link.serve_control_socket, confdir / control)
        nursery.start_soon(link.serve, sim_end)
        try:
            yield host_end
        finally:
            nursery.cancel_scope.cancel()
