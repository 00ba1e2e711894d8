"""Surviving mutants that no test can kill, because they change nothing observable.

Each entry is a mutant's name (``mutmut show NAME`` shows its change) and
why the mutated code behaves as the original does.  ``make mutate`` counts
them apart and names an entry that is no longer a survivor (the code moved).
"""

from __future__ import annotations

EQUIVALENT: dict[str, str] = {
}
