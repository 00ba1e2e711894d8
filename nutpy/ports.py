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
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import trio

from nutpy.config import host_problem

CONNECT_TIMEOUT = 5.0  # seconds for a socket:// port to connect


class PortError(Exception):
    """The port string is malformed or names something that does not exist."""


@dataclass(frozen=True)
class PortSpec:
    kind: str  # "serial", "tcp" or "sim"
    target: str  # device path, host, or simulator name
    tcp_port: int = 0
    options: dict[str, str] = field(default_factory=dict)


# What each simulator takes after ``?`` (``control`` is the transport's).
SIM_OPTIONS = {"smart": {"dump", "control"}, "microlink": {"rows", "control"}}
_UNIX_PATH_MAX = 107  # sun_path holds 108 bytes, the last one a NUL


def parse_port(port: str) -> PortSpec:
    """The port string's parts; PortError says what is wrong with it."""
    if port.startswith("socket://"):
        return _parse_tcp(port)
    if port.startswith("sim:"):
        return _parse_sim(port)
    if "://" in port:
        raise PortError(f"'{port}': unknown port scheme (use a device path, "
                        "socket://HOST:PORT or sim:NAME)")
    return PortSpec("serial", port)


def _parse_tcp(port: str) -> PortSpec:
    usage = "socket://HOST:PORT"
    try:
        parts = urlsplit(port)
        number = parts.port
    except ValueError as exc:  # an unclosed [, a port that is not a number
        raise PortError(f"'{port}': {exc} ({usage})") from None
    host = parts.hostname
    if not host or number is None:
        raise PortError(f"'{port}' needs a host and a port: {usage}")
    if not 0 < number < 65536:
        raise PortError(f"'{port}': port {number} is not from 1 to 65535")
    if parts.path or parts.query or parts.fragment or parts.username:
        raise PortError(f"'{port}': nothing may follow the port, not even a path ({usage})")
    problem = host_problem(host)
    if problem is not None:
        raise PortError(f"'{port}': {problem}")
    return PortSpec("tcp", host, number)


def _parse_sim(port: str) -> PortSpec:
    name, _, query = port[4:].partition("?")
    if name not in SIM_OPTIONS:
        raise PortError(f"'{port}': no simulator called '{name}' (there are: "
                        f"{', '.join('sim:' + n for n in SIM_OPTIONS)})")
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError:
        raise PortError(f"'{port}': options are key=value, joined by &") from None
    options: dict[str, str] = {}
    for key, value in pairs:
        if key not in SIM_OPTIONS[name]:
            raise PortError(f"'{port}': sim:{name} has no option '{key}' (it has: "
                            f"{', '.join(sorted(SIM_OPTIONS[name]))})")
        if key in options:
            raise PortError(f"'{port}': option '{key}' is given twice")
        if not value:
            raise PortError(f"'{port}': option '{key}' needs a value")
        options[key] = value
    if options.get("rows", "16") not in ("16", "32"):
        raise PortError(f"'{port}': rows must be 16 or 32")
    return PortSpec("sim", name, options=options)


def check_port(spec: PortSpec, confdir: Path) -> None:
    """What only the files can tell about a port: PortError if it cannot work.

    For a simulator: its dump must load and its control socket's path must
    fit a Unix socket.  (A device or host that is not there yet is no error:
    the driver keeps trying it.)
    """
    if spec.kind != "sim":
        return
    from nutpy.sim.builtin import make_engine

    control = spec.options.get("control")
    if control is not None and len(os.fsencode(confdir / control)) > _UNIX_PATH_MAX:
        raise PortError(f"control={control}: the path is longer than a Unix socket "
                        f"allows ({_UNIX_PATH_MAX} bytes)")
    try:
        make_engine(spec.target, spec.options, confdir)
    except ValueError as exc:
        raise PortError(str(exc)) from None


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
            # What the port's last user left unread (a UPS's BYE to the server that
            # just stopped, a late reply) is no answer to us: NUT's drivers flush
            # input on open too.
            await serial.discard_input()
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
