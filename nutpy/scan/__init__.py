"""``nutpy scan [PORT ...]``: find the APC UPSes on serial ports and write their ups.conf.

Without arguments every serial port the machine has is probed (the kernel
console's excepted); with arguments, those ports and ``socket://`` URLs.
stdout gets one ready ``ups.conf`` section per UPS found, so
``nutpy scan > ups.conf`` works; stderr says, per port, what was found or
why not.  The protocol logic is :mod:`nutpy.protocols.identify`; this
package opens the ports, respects other programs' claims on them and
writes the report.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TextIO

import trio

from nutpy.scan.devices import Port, console_names, port_for, serial_ports
from nutpy.scan.probing import PortResult, scan
from nutpy.scan.report import (
    Found,
    busy_line,
    found_line,
    heard_line,
    section,
    section_name,
    unreadable_line,
)

__all__ = ["EXIT_NONE_FOUND", "Port", "PortResult", "main", "ports_to_scan", "render", "scan"]

EXIT_NONE_FOUND = 1


def ports_to_scan(args: Sequence[str]) -> list[Port]:
    if not args:
        return serial_ports()
    return [Port(arg) if arg.startswith("socket://") else port_for(arg) for arg in args]


def verdict(result: PortResult, found: Found | None) -> str:
    if found is not None:
        text = found_line(found)
    elif result.busy is not None:
        text = busy_line(result.busy.holders)
    elif result.problem is not None:
        text = result.problem
    elif result.unreadable is not None:
        text = unreadable_line(result.unreadable)
    else:
        text = heard_line(result.misses, tcp=result.port.is_url)
    return "; ".join([text, *result.notes])


def render(results: list[PortResult], out: TextIO, err: TextIO) -> int:
    """Sections to ``out``, a line per port to ``err``; the exit status."""
    taken: set[str] = set()
    sections = []
    for result in results:
        found = None
        if result.identity is not None:
            found = Found(result.identity, result.port.stable or result.port.given,
                          result.port.label, section_name(result.identity, taken))
            sections.append(section(found))
        print(f"{result.port.label}: {verdict(result, found)}", file=err)
    out.write("\n".join(sections))
    if not results:
        print("no serial ports found (give the ports to scan, or socket://HOST:PORT)",
              file=err)
    return 0 if sections else EXIT_NONE_FOUND


def main(args: Sequence[str]) -> int:
    ports = ports_to_scan(args)
    results = trio.run(scan, ports, console_names())
    return render(results, sys.stdout, sys.stderr)
