"""dummy-ups: ``upsrw -s ups.status=`` empties the status, as NUT's dummy-ups does.

NUT's dummy-ups hands ``ups.status`` to its status functions, which always
publish it: set to nothing it reads ``""``, never VAR-NOT-SUPPORTED (which
left ``check_ups`` saying UNKNOWN for good).  Both servers are asked the
same, with Debian's upsrw and upsc.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.support.nut import (
    free_port,
    nut_tool,
    nutpy_server,
    real_upsd,
    talk,
    wait_until,
    write_config,
)

DEV = b"ups.status: OL\nups.model: Dummy\n"


def _config(directory: Path, port: int) -> Path:
    return write_config(directory, ups_conf="[u]\ndriver = dummy-ups\nport = u.dev\n",
                        upsd_conf=f"LISTEN 127.0.0.1 {port}\n",
                        users="[admin]\npassword = pw\nactions = SET\n",
                        files={"u.dev": DEV})


def _conversation(port: int) -> list[bytes]:
    get = b"GET VAR u ups.status\n"
    assert wait_until(lambda: talk(port, get) == b'VAR u ups.status "OL"\n')
    upsrw = subprocess.run([nut_tool("upsrw"), "-s", "ups.status=", "-u", "admin", "-p", "pw",
                            f"u@127.0.0.1:{port}"], capture_output=True, text=True, timeout=10)
    seen = [upsrw.stdout.encode() + upsrw.stderr.encode()]
    wait_until(lambda: talk(port, get) != b'VAR u ups.status "OL"\n', timeout=5)
    seen.append(talk(port, get))
    upsc = subprocess.run([nut_tool("upsc"), f"u@127.0.0.1:{port}", "ups.status"],
                          capture_output=True, text=True, timeout=10)
    seen.append(f"{upsc.returncode} {upsc.stdout!r}".encode())
    login = b"USERNAME admin\nPASSWORD pw\nSET VAR u ups.status \"OB LB\"\n"
    seen.append(talk(port, login))
    wait_until(lambda: talk(port, get) == b'VAR u ups.status "OB LB"\n', timeout=5)
    seen.append(talk(port, get))
    return seen


def test_emptied_status_is_still_published_as_by_nut(tmp_path: Path) -> None:
    real_port, port = free_port(), free_port()
    with real_upsd(_config(tmp_path / "nut", real_port), real_port, {"u": "dummy-ups"}):
        expected = _conversation(real_port)
    with nutpy_server(_config(tmp_path / "nutpy", port), port):
        assert _conversation(port) == expected
    assert expected[1] == b'VAR u ups.status ""\n'
