"""The ``nutpy`` command line."""

from __future__ import annotations

import argparse
import logging
import resource
import sys
from functools import partial
from pathlib import Path

import trio

from nutpy import __version__
from nutpy import config as configmod
from nutpy.frontends.control import ANSWER_TIMEOUT
from nutpy.protocols.control import SOCKET_NAME

EXIT_CONFIG = 1
EXIT_NOT_CONFIRMED = 2


def _confdir(arg: str | None) -> Path:
    return Path(arg) if arg else configmod.default_confdir()


def _setup_logging(debug: int) -> None:
    level = logging.DEBUG if debug else logging.INFO
    logging.basicConfig(level=level, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s: %(message)s")


def check_config(directory: Path) -> int:
    """Print every problem as ``file:line: severity: message``; 1 on any error."""
    from nutpy.wiring import check

    cfg = configmod.load(directory)
    problems = check(cfg)
    errors = sum(1 for d in problems if d.severity == "error")
    for diag in problems:
        print(diag)
    names = ", ".join(u.name for u in cfg.ups.ups) or "none"
    listen = ", ".join(f"{item.address} port {item.port}" for item in cfg.upsd.listeners)
    print(f"{directory}: UPS: {names}; users: {len(cfg.users)}; listen: {listen}; "
          f"{errors} error(s), {len(problems) - errors} warning(s)")
    return EXIT_CONFIG if errors or cfg.fatal else 0


def raise_fd_limit() -> int:
    """Lift the soft open-file limit to the hard one: every client is a descriptor.

    upsd's MAXCONN defaults to this limit; with the usual soft limit of 1024 a
    few hundred upsmon hosts plus a scan would already exhaust it.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError) as exc:
            logging.getLogger("nutpy").warning(
                "cannot raise the open-file limit from %d to %d: %s", soft, hard, exc)
            return soft
        return hard
    return soft


def serve(directory: Path) -> int:
    from nutpy.app import StartupError
    from nutpy.app import serve as run_server

    control = configmod.default_statepath() / SOCKET_NAME
    limit = raise_fd_limit()
    logging.getLogger("nutpy").debug("open-file limit: %d", limit)
    try:
        trio.run(partial(run_server, directory, control=control))
    except StartupError as exc:
        logging.getLogger("nutpy").error("cannot start: %s", exc)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return 0
    return 0


def killpower(directory: Path, names: list[str], timeout: float) -> int:
    """Tell each UPS to cut its output; 2 if one of them did not confirm."""
    from nutpy.killpower import killpower as run_killpower

    cfg = configmod.load(directory)
    for diag in cfg.diagnostics:
        if diag.severity == "error":
            print(diag, file=sys.stderr)
    if cfg.fatal:
        print(f"nutpy killpower: {cfg.fatal}", file=sys.stderr)
        return EXIT_CONFIG
    control = configmod.default_statepath() / SOCKET_NAME
    try:
        outcomes = trio.run(run_killpower, cfg, names, control, timeout)
    except ValueError as exc:
        print(f"nutpy killpower: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    for outcome in outcomes:
        verdict = "confirmed" if outcome.confirmed else "NOT CONFIRMED"
        print(f"{outcome.ups}: {verdict}: {'; '.join(outcome.notes) or 'no details'}")
    return 0 if all(outcome.confirmed for outcome in outcomes) else EXIT_NOT_CONFIRMED


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
    failures: list[OSError] = []
    try:
        trio.run(serve_pty, SimLink(engine, baud=baud), link, control)
    except* KeyboardInterrupt:  # Ctrl-C: the way to stop it (trio may wrap it in a group)
        pass
    except* OSError as group:  # a path in use, a pty that cannot be had
        failures += [e for e in group.exceptions if isinstance(e, OSError)]
    for failure in failures:
        logging.getLogger("nutpy").error("cannot simulate: %s", failure)
    return EXIT_CONFIG if failures else 0


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
    kill = sub.add_parser(
        "killpower", help="tell the UPSes to cut their output after their delay "
        "and restore it when the mains return (upsdrvctl shutdown)")
    kill.add_argument("ups", nargs="*", help="UPS names from ups.conf (default: all)")
    kill.add_argument("-c", "--confdir", metavar="DIR",
                      help="config directory (default: $NUT_CONFPATH, then /etc/nut)")
    kill.add_argument("-t", "--timeout", type=float, default=ANSWER_TIMEOUT, metavar="S",
                      help=f"seconds to wait for each UPS (default {ANSWER_TIMEOUT:g})")
    kill.add_argument("-D", "--debug", action="count", default=0, help="more logging")
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
    scan = sub.add_parser(
        "scan", help="find APC UPSes on serial ports and print their ups.conf sections "
        "(exit 1 if none is found)")
    scan.add_argument("ports", nargs="*", metavar="PORT",
                      help="serial devices or socket://HOST:PORT (default: every serial port)")
    scan.add_argument("-D", "--debug", action="count", default=0, help="more logging")
    args = parser.parse_args(argv)
    _setup_logging(args.debug)
    if args.command == "scan":
        from nutpy.scan import main as run_scan

        return run_scan(args.ports)
    if args.command == "simulate":
        return simulate(args.model, args.link, args.dump, args.control, args.rows,
                        args.baud)
    directory = _confdir(args.confdir)
    if args.command == "killpower":
        return killpower(directory, args.ups, args.timeout)
    if args.command == "check-config":
        return check_config(directory)
    return serve(directory)


if __name__ == "__main__":
    sys.exit(main())
