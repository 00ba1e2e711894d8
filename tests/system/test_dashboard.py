"""The dashboard in a real browser: Debian's chromium driven by Selenium, on ``nutpy serve``
with the demo's two simulated APC units and a dummy UPS whose values are hostile markup.

Every browser test ends by reading chromium's console: an error there (a
script error, a refused Content-Security-Policy, a failed request) fails it.
Screenshots go to the test's temporary directory, out of git.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.support import FIXTURES
from tests.support.browser import chromium, console_errors
from tests.support.nut import (
    free_port,
    nut_tool,
    nutpy_server,
    sim_control,
    wait_until,
    write_config,
)

USERS = "[admin]\n  password = pw\n  actions = SET\n  instcmds = test.panel.start\n"
HOSTILE_DESC = "<img src=x onerror=alert(1)> & <b>bold</b>"
HOSTILE_DEV = ("ups.status: OL\n"
               "ups.mfr: <script>document.title='owned'</script>\n"
               "ups.serial: <img src=/x onerror=document.title='owned'>\n")
ON_BATTERY_WITHIN = 2.0  # seconds, from the simulator's mains failing to the page saying so
PAGE_BYTES = 200_000
FIRST_RENDER_MS = 1000.0


@dataclass
class Site:
    base: str
    nut_port: int
    confdir: Path

    def control(self, ups: str) -> Path:
        return self.confdir / f"{ups}.sock"

    def ups(self, name: str) -> dict[str, Any]:
        data: dict[str, Any] = httpx.get(f"{self.base}/api/v1/ups/{name}").json()
        return data


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    directory = tmp_path_factory.mktemp("dashboard")
    port, http_port = free_port(), free_port()
    confdir = write_config(
        directory, users=USERS, upsd_conf=f"LISTEN 127.0.0.1 {port}\n",
        ups_conf=(
            "pollinterval = 1\n"
            "[demo]\n  driver = apcsmart\n"
            f'  port = "sim:smart?dump={FIXTURES}/smart-ups-1500.dev&control=demo.sock"\n'
            '  desc = "Simulated Smart-UPS 1500"\n'
            '[smt]\n  driver = apcmicrolink\n  port = "sim:microlink?control=smt.sock"\n'
            '  desc = "Simulated SMT1500"\n'
            f'[odd]\n  driver = dummy-ups\n  port = odd.dev\n  desc = "{HOSTILE_DESC}"\n'),
        files={"odd.dev": HOSTILE_DEV.encode()})
    (confdir / "nutpy.conf").write_text(f"HTTP_LISTEN 127.0.0.1 {http_port}\n")
    with nutpy_server(confdir, port):
        served = Site(f"http://127.0.0.1:{http_port}", port, confdir)
        assert wait_until(lambda: [u["availability"] for u in httpx.get(
            f"{served.base}/api/v1/ups").json()["ups"]] == ["OK"] * 3, timeout=30)
        yield served


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdriver.Chrome]:
    with chromium(tmp_path_factory.mktemp("chromium")) as driver:
        yield driver


# ---- helpers -------------------------------------------------------------------------


def until(browser: webdriver.Chrome, check: Callable[[webdriver.Chrome], Any],
          timeout: float = 10.0) -> Any:
    """``check``'s first true answer; elements may be redrawn between two looks."""
    return WebDriverWait(browser, timeout, poll_frequency=0.05, ignored_exceptions=(
        NoSuchElementException, StaleElementReferenceException)).until(check)


def text_of(browser: webdriver.Chrome, selector: str) -> str:
    return browser.find_element(By.CSS_SELECTOR, selector).text


def shows(selector: str, text: str) -> Callable[[webdriver.Chrome], bool]:
    return lambda b: text in text_of(b, selector)


def present(selector: str) -> Callable[[webdriver.Chrome], WebElement]:
    return lambda b: b.find_element(By.CSS_SELECTOR, selector)


def quiet_console(browser: webdriver.Chrome, *allowed: str) -> None:
    assert console_errors(browser, allowed) == []


def open_ups_page(site: Site, browser: webdriver.Chrome, name: str) -> None:
    browser.get(f"{site.base}/ups/{name}")
    until(browser, shows(f'article.card[data-ups="{name}"] h2', name))


def sign_in(browser: webdriver.Chrome, user: str, password: str) -> None:
    form = browser.find_element(By.CSS_SELECTOR, "form.signin-form")
    form.find_element(By.NAME, "user").send_keys(user)
    form.find_element(By.NAME, "password").send_keys(password)
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    until(browser, shows(".signin", f"sent as {user}"))


def click(browser: webdriver.Chrome, selector: str) -> None:
    browser.find_element(By.CSS_SELECTOR, selector).click()


# ---- the page ------------------------------------------------------------------------


def test_every_ups_is_named_and_on_line(site: Site, browser: webdriver.Chrome,
                                        tmp_path: Path) -> None:
    browser.get(site.base + "/")
    for name in ("demo", "smt", "odd"):
        until(browser, shows(f'article.card[data-ups="{name}"] .status', "on line"))
    demo = text_of(browser, 'article.card[data-ups="demo"]')
    assert "Simulated Smart-UPS 1500" in demo
    variables = site.ups("demo")["variables"]
    charge = float(variables["battery.charge"]["value"])
    assert f"Charge\n{charge:g} %" in demo
    assert f"Input\n{float(variables['input.voltage']['value']):g} V" in demo
    until(browser, shows("ol.log", "Server started"))
    browser.save_screenshot(str(tmp_path / "overview.png"))
    quiet_console(browser)


def charge_samples(site: Site) -> int:
    """How many samples of battery.charge the last hour's history has."""
    answer = httpx.get(f"{site.base}/api/v1/history?ups=demo&range=hour").json()
    return sum(value is not None for _, value in answer["series"]["battery.charge"])


def test_the_page_is_light_quick_and_asks_no_other_host(site: Site,
                                                         browser: webdriver.Chrome) -> None:
    assert wait_until(lambda: charge_samples(site) >= 1, timeout=30)
    browser.execute_cdp_cmd("Network.enable", {})
    browser.execute_cdp_cmd("Network.setCacheDisabled", {"cacheDisabled": True})
    try:
        browser.get(f"{site.base}/ups/demo")  # the heavier view: it draws the charts too
        until(browser, lambda b: b.find_elements(By.CSS_SELECTOR, "figure.chart canvas"))
        loaded: list[dict[str, Any]] = browser.execute_script(
            "return [...performance.getEntriesByType('navigation'),"
            " ...performance.getEntriesByType('resource')]"
            ".map(e => ({name: e.name, bytes: e.transferSize}))")
        rendered: float = browser.execute_script(
            "return performance.getEntriesByName('nutpy-first-render')[0].startTime")
    finally:
        browser.execute_cdp_cmd("Network.setCacheDisabled", {"cacheDisabled": False})
    # Everything but the event stream, which never ends (and so is not listed).
    assert {urlsplit(entry["name"]).netloc for entry in loaded} == {urlsplit(site.base).netloc}
    transferred = sum(entry["bytes"] for entry in loaded)
    assert all(entry["bytes"] > 0 for entry in loaded), loaded  # really fetched, not cached
    print(f"\ndashboard: {len(loaded)} requests, {transferred} bytes, "
          f"first render after {rendered:.0f} ms")
    assert transferred < PAGE_BYTES
    assert rendered < FIRST_RENDER_MS
    quiet_console(browser)


def test_a_power_failure_shows_within_two_seconds_without_a_reload(
        site: Site, browser: webdriver.Chrome) -> None:
    browser.get(site.base + "/")
    status = 'article.card[data-ups="demo"] .status'
    until(browser, shows(status, "on line"))
    browser.execute_script("window.sameDocument = true")
    try:
        assert sim_control(site.control("demo"), "mains fail") == ["OK"]
        failed = time.monotonic()
        until(browser, shows(status, "on battery"), timeout=ON_BATTERY_WITHIN + 1)
        took = time.monotonic() - failed
        assert took < ON_BATTERY_WITHIN, took
        assert browser.execute_script("return window.sameDocument") is True  # no reload
        entry = until(browser, lambda b: [
            li for li in b.find_elements(By.CSS_SELECTOR, 'ol.log li[data-kind="power-failure"]')
            if li.find_element(By.CSS_SELECTOR, ".ups").text == "demo"])
        assert entry[0].find_element(By.CSS_SELECTOR, ".message").text.strip()
    finally:
        sim_control(site.control("demo"), "mains restore")
    until(browser, shows(status, "on line"), timeout=20)
    quiet_console(browser)


def chart_columns(browser: webdriver.Chrome, series: str, colour: str) -> list[float]:
    """Where a chart's line is drawn: the x of each canvas column holding pixels of the
    line's colour, as a fraction of the canvas's width."""
    columns: list[float] = browser.execute_script("""
        const [series, colour] = arguments;
        const [r, g, b] = [1, 3, 5].map((i) => parseInt(colour.slice(i, i + 2), 16));
        const canvas = document.querySelector(`figure[data-series="${series}"] canvas`);
        const {width, height} = canvas;
        const pixels = canvas.getContext("2d").getImageData(0, 0, width, height).data;
        const columns = new Set();
        for (let i = 0; i < pixels.length; i += 4) {
          if (pixels[i + 3] > 200 && Math.abs(pixels[i] - r) + Math.abs(pixels[i + 1] - g)
              + Math.abs(pixels[i + 2] - b) < 40) columns.add((i / 4) % width);
        }
        return [...columns].sort((x, y) => x - y).map((x) => x / width);""", series, colour)
    return columns


def test_the_ups_page_charts_the_samples_so_far(site: Site, browser: webdriver.Chrome,
                                                tmp_path: Path) -> None:
    assert wait_until(lambda: charge_samples(site) >= 1, timeout=30)
    kept = charge_samples(site)
    browser.get(site.base + "/")
    browser.execute_script("window.sameDocument = true")
    until(browser, present('article.card[data-ups="demo"] h2 a')).click()
    chart = 'figure.chart[data-series="battery.charge"]'
    drawn = until(browser, lambda b: int(
        b.find_element(By.CSS_SELECTOR, chart).get_attribute("data-points") or 0))
    assert browser.current_url == f"{site.base}/ups/demo"
    assert browser.execute_script("return window.sameDocument") is True  # moved, not reloaded
    assert drawn >= kept
    # The line is drawn, at the right end of the hour: the samples are minutes old.
    line = chart_columns(browser, "input.voltage", "#7b3fb2")
    assert line and line[0] > 0.8, line
    charts = [f.get_attribute("data-series")
              for f in browser.find_elements(By.CSS_SELECTOR, "figure.chart")]
    assert charts == ["battery.charge", "battery.runtime", "ups.load", "input.voltage",
                      "ups.temperature"]
    browser.find_element(By.CSS_SELECTOR, 'button[data-range="day"]').click()
    until(browser, lambda b: b.find_element(By.CSS_SELECTOR, 'button[data-range="day"]')
          .get_attribute("aria-pressed") == "true")
    until(browser, lambda b: int(b.find_element(By.CSS_SELECTOR, chart)
                                 .get_attribute("data-points") or 0) >= kept)
    browser.save_screenshot(str(tmp_path / "ups-page.png"))
    quiet_console(browser)


def test_a_command_runs_with_the_credentials_typed_in(site: Site,
                                                      browser: webdriver.Chrome) -> None:
    open_ups_page(site, browser, "demo")
    row = 'tr[data-command="test.panel.start"]'
    click(browser, f"{row} button")
    until(browser, shows(f"{row} output", "Sign in first."))
    sign_in(browser, "admin", "wrong")
    click(browser, f"{row} button")
    until(browser, shows(f"{row} output", "ACCESS-DENIED: wrong user name or password"))
    click(browser, ".signin button")  # forget them
    sign_in(browser, "admin", "pw")
    click(browser, f"{row} button")
    until(browser, lambda b: text_of(b, f"{row} output") == "SUCCESS")
    until(browser, shows('section[data-section="event log"] ol.log',
                         "Command test.panel.start by admin from 127.0.0.1: done"))
    quiet_console(browser, "/commands/test.panel.start - Failed to load resource: the server "
                  "responded with a status of 401")


def upsrw_listing(site: Site, ups: str) -> dict[str, dict[str, Any]]:
    """The writable variables of ``ups`` as NUT's own upsrw lists them."""
    out = subprocess.run([nut_tool("upsrw"), f"{ups}@127.0.0.1:{site.nut_port}"],
                         capture_output=True, text=True, timeout=30, check=True).stdout
    listing: dict[str, dict[str, Any]] = {}
    for block in out.strip().split("\n\n"):
        lines = block.splitlines()
        name = lines[0].strip("[]")
        kind = next(line for line in lines if line.startswith("Type: "))[6:].split()[0]
        options = re.findall(r'^Option: "([^"]*)"', block, re.MULTILINE)
        length = re.search(r"^Maximum length: (\d+)", block, re.MULTILINE)
        listing[name] = {"type": kind, "options": options,
                         "max_length": length.group(1) if length else None}
    return listing


def test_the_settings_are_those_upsrw_lists(site: Site, browser: webdriver.Chrome) -> None:
    listing = upsrw_listing(site, "smt")
    assert {spec["type"] for spec in listing.values()} == {"ENUM", "RANGE", "STRING", "NUMBER"}
    open_ups_page(site, browser, "smt")
    rows = browser.find_elements(By.CSS_SELECTOR, "table.settings tr")
    assert [row.get_attribute("data-variable") for row in rows] == list(listing)
    for name, spec in listing.items():
        control: WebElement = browser.find_element(
            By.CSS_SELECTOR, f'tr[data-variable="{name}"] select, tr[data-variable="{name}"] input')
        if spec["type"] == "ENUM":
            assert [o.get_attribute("value") for o in Select(control).options] == spec["options"]
        elif spec["type"] == "RANGE":
            low, high = spec["options"][0].split("-")
            assert (control.get_attribute("min"), control.get_attribute("max")) == (low, high)
        elif spec["type"] == "STRING":
            assert control.get_attribute("maxlength") == spec["max_length"]
        else:
            assert control.get_attribute("type") == "text"


def test_a_setting_changed_on_the_page_reaches_the_ups(site: Site,
                                                       browser: webdriver.Chrome) -> None:
    open_ups_page(site, browser, "demo")
    row = 'tr[data-variable="input.transfer.low"]'
    before = text_of(browser, f"{row} .current")
    choice = next(c for c in site.ups("demo")["variables"]["input.transfer.low"]["enum"]
                  if c != before)
    sign_in(browser, "admin", "pw")
    Select(browser.find_element(By.CSS_SELECTOR, f"{row} select")).select_by_value(choice)
    click(browser, f"{row} button")
    until(browser, lambda b: text_of(b, f"{row} output") == "SUCCESS", timeout=20)
    until(browser, lambda b: text_of(b, f"{row} .current") == choice)  # from the event stream
    assert site.ups("demo")["variables"]["input.transfer.low"]["value"] == choice
    Select(browser.find_element(By.CSS_SELECTOR, f"{row} select")).select_by_value(before)
    click(browser, f"{row} button")
    until(browser, lambda b: text_of(b, f"{row} .current") == before, timeout=20)
    quiet_console(browser)


def test_a_ups_value_is_shown_as_text_never_as_markup(site: Site,
                                                      browser: webdriver.Chrome) -> None:
    open_ups_page(site, browser, "odd")
    assert text_of(browser, 'article.card[data-ups="odd"] .description') == HOSTILE_DESC
    variables = site.ups("odd")["variables"]
    for name in ("ups.mfr", "ups.serial"):
        shown = text_of(browser, f'table.variables tr[data-variable="{name}"] td.value')
        assert shown == variables[name]["value"]
        assert "<" in shown
    assert browser.find_elements(By.CSS_SELECTOR, "main img, main script, main b") == []
    assert browser.title == "odd · nutpy"
    quiet_console(browser)


def test_a_phone_sees_the_page_without_scrolling_sideways(site: Site,
                                                          browser: webdriver.Chrome,
                                                          tmp_path: Path) -> None:
    # A headless window is at least 500 px wide: emulate the phone's screen instead.
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True})
    try:
        for path, ready in (("/", 'article.card[data-ups="smt"]'),
                            ("/ups/smt", "table.settings")):
            browser.get(site.base + path)
            until(browser, present(ready))
            wide, viewport = browser.execute_script(
                "return [document.documentElement.scrollWidth, window.innerWidth]")
            assert viewport == 390
            assert wide <= viewport, (path, wide, viewport)
        browser.save_screenshot(str(tmp_path / "phone.png"))
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    quiet_console(browser)


def test_a_page_left_behind_gives_back_its_connection(site: Site,
                                                     browser: webdriver.Chrome) -> None:
    # A browser opens at most 6 connections to a server; each page holds one for
    # its event stream.  Were it not closed on leaving, the 7th page would wait
    # until the server dropped one of the old streams.
    visits = ["/", "/ups/demo", "/ups/smt", "/ups/odd"] * 2
    browser.set_page_load_timeout(10)
    try:
        for path in visits:
            started = time.monotonic()
            browser.get(site.base + path)
            until(browser, present("article.card"))
            assert time.monotonic() - started < 5, path
    finally:
        browser.set_page_load_timeout(300)  # chromedriver's default
    quiet_console(browser)


def test_without_history_the_page_says_so_and_the_rest_works(
        tmp_path: Path, browser: webdriver.Chrome) -> None:
    port, http_port = free_port(), free_port()
    confdir = write_config(tmp_path, upsd_conf=f"LISTEN 127.0.0.1 {port}\n",
                           ups_conf="[plain]\n  driver = dummy-ups\n  port = plain.dev\n",
                           files={"plain.dev": b"ups.status: OB LB\nbattery.charge: 9\n"})
    (confdir / "nutpy.conf").write_text(f"HTTP_LISTEN 127.0.0.1 {http_port}\nHISTORY off\n")
    with nutpy_server(confdir, port):
        browser.get(f"http://127.0.0.1:{http_port}/ups/plain")
        until(browser, shows('section[data-section="history"]', "keeps no history"))
        status = text_of(browser, 'article.card[data-ups="plain"] .status')
        assert "on battery" in status and "low battery" in status
        assert not browser.find_element(By.CSS_SELECTOR, "p.ranges").is_displayed()
        quiet_console(browser, "/api/v1/history?ups=plain&range=hour&series=battery.charge%2C"
                      "battery.runtime%2Cups.load%2Cinput.voltage%2Cups.temperature - Failed "
                      "to load resource: the server responded with a status of 404")


# ---- the files, as any HTTP client sees them -----------------------------------------


def test_the_files_carry_their_types_caching_and_policy(site: Site) -> None:
    with httpx.Client(base_url=site.base) as client:
        page = client.get("/")
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        policy = page.headers["content-security-policy"]
        assert "default-src 'self'" in policy and "unsafe" not in policy
        assert page.headers["cache-control"] == "no-cache"
        named = re.findall(r'(?:href|src)="(/static/[^"]+)"', page.text)
        assert len(named) >= 5
        for path in named:
            assert client.get(path).status_code == 200, path
        for path, kind in (("/static/dashboard.js", "text/javascript; charset=utf-8"),
                           ("/static/dashboard.css", "text/css; charset=utf-8"),
                           ("/static/icon.svg", "image/svg+xml"),
                           ("/static/uplot-LICENSE.txt", "text/plain; charset=utf-8")):
            first = client.get(path)
            assert (first.status_code, first.headers["content-type"]) == (200, kind)
            assert first.headers["cache-control"] == "no-cache"
            again = client.get(path, headers={"If-None-Match": first.headers["etag"]})
            assert (again.status_code, again.content) == (304, b"")
            assert "content-length" not in again.headers
        assert client.get("/api/v1/ups").headers["cache-control"] == "no-store"  # live data
        assert client.head("/").status_code == 200
        assert client.get("/static/nothing.js").status_code == 404
        assert client.get("/static/index.html").status_code == 404  # only with its policy
        missing = client.get("/ups/nosuch")
        assert (missing.status_code, missing.headers["content-type"]) == (
            404, "text/html; charset=utf-8")
