"""The server's half of the local control socket: ``nutpy killpower`` asks here.

While ``nutpy serve`` runs it owns the serial ports, so ``nutpy killpower``
(see :mod:`nutpy.killpower`) asks it through this socket rather than opening
a port a second time.  The protocol is :mod:`nutpy.protocols.control`.
"""

from __future__ import annotations

import logging
from pathlib import Path

import trio

from nutpy.lines import LineReader, LineTooLong
from nutpy.listening import serve_connections, unix_listener
from nutpy.protocols import control
from nutpy.store import Killpower, Origin, RequestRefused, Result, Store

__all__ = ["ANSWER_TIMEOUT", "serve_control"]

log = logging.getLogger("nutpy.control")

ANSWER_TIMEOUT = 30.0  # for the UPS to be read, then again for it to confirm


async def _killpower(store: Store, name: str) -> bytes:
    ups = store.get(name)
    if ups is None:
        return control.answer([], False, "UNKNOWN-UPS")
    if not await ups.wait_available(ANSWER_TIMEOUT):
        return control.answer([], False, "DATA-STALE")
    request = Killpower(origin=Origin(None, "local", "control"))
    try:
        result = await ups.execute(request, ANSWER_TIMEOUT)
    except RequestRefused as exc:
        return control.answer([str(exc)], False)
    if result is None:
        request.notes.append(f"no answer from the driver within {ANSWER_TIMEOUT:g} s")
    return control.answer(request.notes, result is Result.SUCCESS)


async def _answer(store: Store, stream: trio.SocketStream, hello: bytes) -> None:
    lines = LineReader(stream)
    async with stream:
        try:
            await stream.send_all(hello)
        except trio.BrokenResourceError:
            return
        while True:
            try:
                line = await lines.next()
            except (LineTooLong, trio.BrokenResourceError):
                return
            if line is None:
                return
            name = control.parse_request(line)
            reply = (control.answer([], False, "UNKNOWN-COMMAND") if name is None
                     else await _killpower(store, name))
            try:
                await stream.send_all(reply)
            except trio.BrokenResourceError:
                return


async def serve_control(store: Store, path: Path, confdir: Path) -> None:
    """Answer ``nutpy killpower`` of the configuration in ``confdir`` on ``path``.

    Without the socket (another server holds it, or it cannot be made) the
    server runs on and ``nutpy killpower`` opens the ports itself.
    """
    try:
        async with unix_listener(path, mode=0o600) as listener:
            hello = control.greeting(str(confdir.resolve()))

            async def handler(stream: trio.SocketStream) -> None:
                await _answer(store, stream, hello)

            await serve_connections(handler, [listener], log=log)
    except OSError as exc:
        log.warning("no control socket at %s (%s): nutpy killpower will open the "
                    "ports itself while this server runs", path, exc.strerror or exc)
