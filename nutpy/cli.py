"""The ``nutpy`` command line."""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from pathlib import Path

import trio

from nutpy import __version__
from nutpy import config as configmod
from nutpy.drivers.base import DriverConfigError, make_driver

EXIT_CONFIG = 1


def _confdir(arg: str | None) -> Path:
    return Path(arg) if arg else configmod.default_confdir()


def _setup_logging(debug: int) -> None:
    level = logging.DEBUG if debug else logging.INFO
    logging.basicConfig(level=level, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s: %(message)s")


def check_config(directory: Path) -> int:
    """Print every problem as ``file:line: severity: message``; 1 on any error."""
    cfg = configmod.load(directory)
    problems = [str(d) for d in cfg.diagnostics]
    errors = len(cfg.errors)
    for section in cfg.ups.ups:
        try:
            make_driver(section, cfg.directory, cfg.ups.globals)
        except DriverConfigError as exc:
            problems.append(f"{directory / 'ups.conf'}:{section.lineno}: error: "
                            f"[{section.name}] {exc}")
            errors += 1
    for line in problems:
        print(line)
    names = ", ".join(u.name for u in cfg.ups.ups) or "none"
    listen = ", ".join(f"{item.address} port {item.port}" for item in cfg.upsd.listeners)
    print(f"{directory}: UPS: {names}; users: {len(cfg.users)}; listen: {listen}; "
          f"{errors} error(s), {len(problems) - errors} warning(s)")
    return EXIT_CONFIG if errors or cfg.fatal else 0


def serve(directory: Path) -> int:
    from nutpy.app import StartupError
    from nutpy.app import serve as run_server

    try:
        trio.run(run_server, directory)
    except StartupError as exc:
        logging.getLogger("nutpy").error("cannot start: %s", exc)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return 0
    return 0


def simulate(name: str, link: Path, dump: Path | None, control: Path | None,
             rows: int, baud: int | None = None) -> int:
    """Run a simulated UPS on a pty at ``link`` until interrupted."""
    from nutpy.sim.builtin import make_engine
    from nutpy.sim.link import SimLink, serve_pty

    options = {"rows": str(rows)}
    if dump is not None:
        options["dump"] = str(dump.resolve())
    try:
        engine = make_engine(name, options, Path.cwd())
    except ValueError as exc:
        logging.getLogger("nutpy").error("%s", exc)
        return EXIT_CONFIG
    with contextlib.suppress(KeyboardInterrupt):
        trio.run(serve_pty, SimLink(engine, baud=baud), link, control)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="nutpy", description="A Network UPS Tools compatible UPS server.")
    parser.add_argument("--version", action="version", version=f"nutpy {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, text in (("serve", "serve the NUT protocol (foreground, logs to stderr)"),
                       ("check-config", "report every problem in the config files")):
        p = sub.add_parser(name, help=text)
        p.add_argument("-c", "--confdir", metavar="DIR",
                       help="config directory (default: $NUT_CONFPATH, then /etc/nut)")
        p.add_argument("-D", "--debug", action="count", default=0,
                       help="more logging")
    sim = sub.add_parser("simulate", help="run a simulated APC UPS on a pseudo-terminal")
    sim.add_argument("model", choices=["smart", "microlink"])
    sim.add_argument("--link", required=True, type=Path,
                     help="symlink to create to the pty (what other programs open)")
    sim.add_argument("--dump", type=Path, help="NUT .dev dump to load (smart)")
    sim.add_argument("--control", type=Path, help="Unix socket for control commands")
    sim.add_argument("--rows", type=int, choices=[16, 32], default=16,
                     help="Microlink row width (default 16)")
    sim.add_argument("--baud", type=int, metavar="RATE",
                     help="pace the wire like a serial line at RATE baud (default: no pacing)")
    sim.add_argument("-D", "--debug", action="count", default=0, help="more logging")
    args = parser.parse_args(argv)
    _setup_logging(args.debug)
    if args.command == "simulate":
        return simulate(args.model, args.link, args.dump, args.control, args.rows,
                        args.baud)
    directory = _confdir(args.confdir)
    if args.command == "check-config":
        return check_config(directory)
    return serve(directory)


if __name__ == "__main__":
    sys.exit(main())
