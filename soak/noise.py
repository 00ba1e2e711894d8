"""Soak: 1 % line noise for 10 minutes on mains with three real upsmon hosts, then an outage.

The scenario is ``test_line_noise_on_mains_shuts_nothing_down_and_an_outage_still_does``
in ``tests/system/test_upsmon_shutdown.py``, which ``make test`` runs for 30 s: the
simulated Smart-UPS stays on mains while 1 % of the byte times of its line are hit by
noise (``garble 1``: a byte replaced, or a random byte on the idle line, so noise alert
characters come too); a client polls ``ups.status`` a millisecond apart throughout.
Nobody may be told of a power cut and no status but the simulator's may be served.
Then the mains fail and the battery runs low, noise still on, and the three hosts must
shut down in order, and killpower must cut the power.  The test prints what the noise
did (statuses served, upsmon's alarms, what the driver refused) and the timeline.

Run from the repository root: ``python -m soak.noise`` (``make soak`` runs it after
``soak.run``); ``SOAK_NOISE_SECONDS`` (default 600) sets how long the noise lasts.
Exit status 0 when the test passes.
"""

from __future__ import annotations

import os
import sys

import pytest

TEST = ("tests/system/test_upsmon_shutdown.py::"
        "test_line_noise_on_mains_shuts_nothing_down_and_an_outage_still_does")


def main() -> int:
    os.environ["NUTPY_NOISE_SECONDS"] = os.environ.get("SOAK_NOISE_SECONDS", "600")
    return int(pytest.main(["-q", "-s", "-p", "no:cacheprovider", TEST]))


if __name__ == "__main__":
    sys.exit(main())
