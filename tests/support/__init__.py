"""What the tests share: helpers live here, and test modules import only from here.

* :mod:`tests.support.nut` — NUT's real programs, nutpy as a process, configs,
  simulators on ptys;
* :mod:`tests.support.fuzzing` — hostile-input generators and reply checks;
* :mod:`tests.support.upsmon` — the multi-host upsmon shutdown rig;
* :mod:`tests.support.expected` — values the tests hold the code to, with sources;
* :mod:`tests.support.aio` — waiting on the store in trio tests;
* :mod:`tests.support.apcupsd` — apcupsd's real programs (unpacked by make) and a
  plain NIS client;
* :mod:`tests.support.probe` — the GET VAR latency probe of the hostile tests.
"""

from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
FIXTURES = TESTS / "fixtures"  # real APC dumps (see each file's header for its source)
REPO = TESTS.parent
