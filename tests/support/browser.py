"""A real browser for the tests: Debian's chromium, driven by Selenium through chromedriver.

Headless, as root, on a closed network: without these flags chromium waits on
the sandbox, on a GPU, or on Google's services (component updates, sync, the
QUIC probe) and hangs or slows down.  Each browser gets its own fresh profile,
so nothing is cached from a previous run, and is quit when its ``with`` ends.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from selenium import webdriver

__all__ = ["CHROMEDRIVER", "CHROMIUM", "chromium", "console_errors"]

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync")


@contextlib.contextmanager
def chromium(profile: Path, width: int = 1280, height: int = 900
             ) -> Iterator[webdriver.Chrome]:
    """A headless chromium with a new profile in ``profile``, its console log kept."""
    for program in (CHROMIUM, CHROMEDRIVER):
        if not program.exists():
            raise RuntimeError(f"{program} is not installed: run `make test`, which installs "
                               "Debian's chromium and chromium-driver")
    options = webdriver.ChromeOptions()
    for flag in (*FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}"):
        options.add_argument(flag)
    options.binary_location = str(CHROMIUM)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=webdriver.ChromeService(str(CHROMEDRIVER)),
                              options=options)
    try:
        driver.get("about:blank")  # not the new-tab page, which loads a lot
        yield driver
    finally:
        driver.quit()


def console_errors(driver: webdriver.Chrome, allowed: Iterable[str] = ()) -> list[str]:
    """The console's errors since last asked (the log is emptied by reading it),
    except those containing one of ``allowed``."""
    entries: list[dict[str, Any]] = driver.get_log("browser")  # type: ignore[no-untyped-call]
    return [entry["message"] for entry in entries if entry["level"] == "SEVERE"
            and not any(text in entry["message"] for text in allowed)]
