"""Mutation testing of nutpy's core modules with mutmut, one module at a time.

mutmut (3.x) copies the tree into ``mutants/``, runs the fast tests
(``tests/unit`` and ``tests/trio``, set in pyproject's ``[tool.mutmut]``)
once to learn which tests reach which function, then tries each mutant of a
function against those tests only.  This runs it module by module, at the
lowest CPU priority (``nice -n 19``: the machine is shared), then prints the
table of docs/testing.md: per module the mutants, how many the tests
killed, how many survived, how many of those are equivalent (listed in
:mod:`mutation.equivalent`, each with why) and the score, killed over the
non-equivalent mutants.  Exit status 1 when a module scores below 90 % or has
mutants not tried yet.

Run from the repository root: ``python -m mutation.run [MODULE...]`` (or
``make mutate``, ``make mutate MODULES="nutpy.protocols.tokenizer"``); a
MODULE may be any part of a dotted module name.
"""

from __future__ import annotations

import argparse
import datetime
import glob
import json
import os
import resource
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from mutation.equivalent import EQUIVALENT

TARGET = 0.90
MEMORY_LIMIT = 3 << 30  # bytes of address space for mutmut and each mutant it forks
MUTMUT = str(Path(sys.executable).with_name("mutmut"))
# Statuses mutmut reports that mean the tests noticed the mutant: they failed,
# ran out of time, or their process died (a crash, or the memory limit:
# "segfault" for a signal, "suspicious" for an exit code pytest never gives).
DETECTED = frozenset({"killed", "timeout", "caught by type check", "segfault", "suspicious"})


def core_modules(pyproject: Path = Path("pyproject.toml")) -> dict[str, Path]:
    """Dotted name -> file, for the files ``[tool.mutmut] only_mutate`` names, in its order."""
    config = tomllib.loads(pyproject.read_text())["tool"]["mutmut"]
    modules: dict[str, Path] = {}
    for pattern in config["only_mutate"]:
        for path in sorted(glob.glob(pattern)):
            name = path.removesuffix(".py").replace("/", ".").removesuffix(".__init__")
            modules.setdefault(name, Path(path))
    return modules


def has_mutants(path: Path) -> bool:
    """False when mutmut made no mutant of the file (only names and data in it);
    True too before the first run, when mutmut has not looked at it yet."""
    meta = Path("mutants") / f"{path}.meta"
    if not meta.exists():
        return True
    return bool(json.loads(meta.read_text()).get("exit_code_by_key"))


def module_of(mutant: str) -> str:
    """``nutpy.store.feed.xǁFeedǁpublish__mutmut_3`` -> ``nutpy.store.feed``."""
    for marker in (".x_", ".xǁ"):
        if marker in mutant:
            return mutant[:mutant.index(marker)]
    return mutant.rsplit(".", 1)[0]


def _limit_memory() -> None:
    """A mutant that loops appending (the tokenizer's fast path, say) must die of
    MemoryError, not take the shared machine's memory: mutmut limits CPU time only."""
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def run_module(module: str, jobs: int) -> float:
    """Mutate one module (nice 19, memory bounded); the seconds it took."""
    began = time.monotonic()
    subprocess.run(["nice", "-n", "19", MUTMUT, "run", "--max-children", str(jobs),
                    f"{module}.x*"], check=True, preexec_fn=_limit_memory)
    return time.monotonic() - began


def statuses() -> dict[str, str]:
    """Every mutant mutmut knows of -> its status (``killed``, ``survived``...)."""
    out = subprocess.run([MUTMUT, "results", "--all", "true"], check=True,
                         capture_output=True, text=True).stdout
    found: dict[str, str] = {}
    for line in out.splitlines():
        name, sep, status = line.strip().rpartition(": ")
        if sep:
            found[name] = status
    return found


@dataclass
class Row:
    module: str
    mutants: int = 0
    killed: int = 0
    survived: int = 0
    equivalent: int = 0
    unchecked: int = 0

    @property
    def score(self) -> float:
        counted = self.mutants - self.equivalent - self.unchecked
        return self.killed / counted if counted else 1.0


def tabulate(found: dict[str, str], modules: Iterable[str]) -> tuple[list[Row], list[str]]:
    """The rows, and the survivors that are not listed as equivalent."""
    rows = {module: Row(module) for module in modules}
    open_survivors: list[str] = []
    for name, status in sorted(found.items()):
        row = rows.get(module_of(name))
        if row is None:
            continue
        row.mutants += 1
        if status in DETECTED:
            row.killed += 1
        elif status == "not checked":
            row.unchecked += 1
        elif name in EQUIVALENT:
            row.equivalent += 1
        else:
            row.survived += 1
            open_survivors.append(f"{name}: {status}")
    return list(rows.values()), open_survivors


def stale_equivalents(found: dict[str, str], modules: Sequence[str]) -> list[str]:
    """Listed equivalents that are no longer surviving mutants (the code moved)."""
    return [name for name in EQUIVALENT if module_of(name) in modules
            and found.get(name, "missing") in DETECTED | {"missing"}]


def markdown(rows: Sequence[Row]) -> str:
    lines = ["| module | mutants | killed | survived | equivalent | score |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for row in rows:
        if row.unchecked == row.mutants:
            score = "not run"
        else:
            unchecked = f" ({row.unchecked} not run yet)" if row.unchecked else ""
            score = f"{row.score:.1%}{unchecked}"
        lines.append(f"| `{row.module}` | {row.mutants} | {row.killed} | {row.survived} | "
                     f"{row.equivalent} | {score} |")
    total = Row("all", *(sum(getattr(r, f) for r in rows) for f in
                         ("mutants", "killed", "survived", "equivalent", "unchecked")))
    lines.append(f"| **all** | {total.mutants} | {total.killed} | {total.survived} | "
                 f"{total.equivalent} | {total.score:.1%} |")
    return "\n".join(lines)


def equivalents_markdown(modules: Sequence[str]) -> str:
    """mutation/equivalent.py as docs/testing.md lists it: by module, each with why."""
    parts: list[str] = []
    for module in modules:
        entries = [(name, why) for name, why in EQUIVALENT.items() if module_of(name) == module]
        if entries:
            parts.append(f"**`{module}`**\n")
            parts.extend(f"- `{name.removeprefix(module + '.')}`: {why.rstrip('.')}."
                         for name, why in entries)
            parts.append("")
    return "\n".join(parts)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mutation.run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("modules", nargs="*", help="parts of module names (default: all)")
    parser.add_argument("--jobs", type=int, default=int(os.environ.get("MUTATE_JOBS", "2")),
                        help="mutants tried at once (default 2, or MUTATE_JOBS)")
    parser.add_argument("--report", action="store_true",
                        help="only print the table of the last runs")
    parser.add_argument("--equivalents", action="store_true",
                        help="only print mutation/equivalent.py as docs/testing.md lists it")
    args = parser.parse_args(argv)
    files = {m: path for m, path in core_modules().items()
             if not args.modules or any(part in m for part in args.modules)}
    if not files:
        parser.error(f"no core module matches {' '.join(args.modules)}")
    if args.equivalents:
        print(equivalents_markdown(list(files)))
        return 0
    seconds: dict[str, float] = {}
    if not args.report:
        for module, path in files.items():
            if has_mutants(path):  # mutmut refuses a pattern that matches nothing
                seconds[module] = run_module(module, args.jobs)
    modules = [m for m, path in files.items() if has_mutants(path)]
    found = statuses()
    rows, survivors = tabulate(found, modules)
    print(f"\nmutmut, {datetime.date.today().isoformat()}, tests/unit and tests/trio:\n")
    print(markdown(rows))
    if seconds:
        total = sum(seconds.values())
        slowest = sorted(seconds.items(), key=lambda item: -item[1])[:3]
        print(f"\n{len(seconds)} modules in {total / 60:.1f} min (slowest: "
              f"{', '.join(f'{m} {s:.0f} s' for m, s in slowest)})")
    for name in stale_equivalents(found, modules):
        print(f"stale entry in mutation/equivalent.py (not a survivor now): {name}")
    if survivors:
        print("\nsurvivors (`mutmut show NAME` shows the change):")
        print("\n".join(f"  {s}" for s in survivors))
    low = [row.module for row in rows if row.score < TARGET]
    if low:
        print(f"\nbelow {TARGET:.0%}: {', '.join(low)}")
    unfinished = [row.module for row in rows if row.unchecked]
    if unfinished:
        print(f"\nnot all mutants tried yet: {', '.join(unfinished)}")
    return 1 if low or unfinished else 0


if __name__ == "__main__":
    sys.exit(main())
