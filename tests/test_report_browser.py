"""report.html in a real browser: headless Chromium driven by Selenium through Debian's chromedriver.

The test loads the page from file:// and asks the page itself: every section is there, every
figure image has decoded (natural size > 0), every table has rows, the page does not scroll
sideways at a narrow window (wide tables scroll inside their own box), and no script error,
console error or network request beyond the page happened. Screenshots of the whole page and
of each figure as the browser shows it are checked (not blank, the figure's own size) and
kept in tests/artifacts/ (gitignored).

Chromium and chromedriver come from Debian (`scripts/install-test-deps.sh`), selenium from
the test extras; without them the test is skipped on a developer's machine and fails under
CI (CI=true).
"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nhanes_study.report.html import SECTIONS, write_report
from tests.conftest import REPO, _need
from tests.results_fixture import results_document

pytestmark = pytest.mark.browser

ARTIFACTS = REPO / "tests" / "artifacts"
WIDTH, NARROW = 1400, 820
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--hide-scrollbars", "--mute-audio", f"--window-size={WIDTH},1000"]


def _tools() -> tuple[str, str]:
    """The Chromium binary and chromedriver, or skip (fail under CI)."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        _need("selenium (pip install -e '.[test]')")
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver") or ("/usr/bin/chromedriver" if Path("/usr/bin/chromedriver").exists()
                                              else None)
    if binary is None or driver is None:
        _need("Chromium and chromedriver (run: bash scripts/install-test-deps.sh)")
    return binary, driver


def open_browser(profile_dir: Path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary, driver = _tools()
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in FLAGS + [f"--user-data-dir={profile_dir}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    return webdriver.Chrome(options=options, service=Service(executable_path=driver))


# What the page reports about itself once loaded.
CHECK_PAGE = """return JSON.stringify({
  sections: Array.from(document.querySelectorAll('main > section')).map(s => s.id),
  figures: Array.from(document.querySelectorAll('figure.figure')).map(f => {
    const img = f.querySelector('img');
    return {id: f.id, complete: img.complete, width: img.naturalWidth, height: img.naturalHeight,
            shown: img.getBoundingClientRect().width};
  }),
  tables: Array.from(document.querySelectorAll('figure.table')).map(f => (
    {id: f.id, rows: f.querySelectorAll('tbody tr').length, caption: f.querySelector('figcaption').textContent})),
  scripts: document.scripts.length,
  title: document.title,
  height: document.documentElement.scrollHeight
})"""

# How wide the page and each table's box are, and how wide their content.
CHECK_WIDTH = """return JSON.stringify({
  page: [document.documentElement.scrollWidth, document.documentElement.clientWidth],
  boxes: Array.from(document.querySelectorAll('main table')).map(t => {
    const r = t.getBoundingClientRect();
    return {id: t.id || (t.closest('figure') || {}).id || '', right: r.right, scroll: t.scrollWidth,
            client: t.clientWidth, overflow: getComputedStyle(t).overflowX};
  })
})"""


def _inked(png: bytes) -> float:
    with Image.open(io.BytesIO(png)) as img:
        pixels = np.asarray(img.convert("L"))
    return float(np.mean(pixels < 200))


@pytest.fixture(scope="module")
def browser_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    report = write_report(results_document(), out, {"seconds": 1.0})
    driver = open_browser(tmp_path_factory.mktemp("chromium-profile"))
    try:
        driver.get(report.as_uri())
        page = json.loads(driver.execute_script(CHECK_PAGE))
        ARTIFACTS.mkdir(exist_ok=True)
        figures = {}
        for element in driver.find_elements("css selector", "figure.figure img"):
            driver.execute_script("arguments[0].scrollIntoView()", element)
            figures[element.find_element("xpath", "..").get_attribute("id")] = (
                element.screenshot_as_png, element.size)
        for key, (png, _) in figures.items():
            (ARTIFACTS / f"report-{key}.png").write_bytes(png)
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                               {"width": WIDTH, "height": page["height"], "deviceScaleFactor": 1, "mobile": False})
        shot = driver.get_screenshot_as_png()
        (ARTIFACTS / "report.png").write_bytes(shot)
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                               {"width": NARROW, "height": 1000, "deviceScaleFactor": 1, "mobile": False})
        narrow = json.loads(driver.execute_script(CHECK_WIDTH))
        console = driver.get_log("browser")
        network = [json.loads(e["message"])["message"] for e in driver.get_log("performance")]
    finally:
        driver.quit()
    return {"page": page, "figures": figures, "shot": shot, "narrow": narrow, "console": console,
            "network": network, "report": report}


def test_every_section_is_in_the_page(browser_run):
    page = browser_run["page"]
    assert page["sections"] == [key for key, _ in SECTIONS]
    assert page["title"].startswith("Hemoglobin and spine BMD")
    assert page["scripts"] == 0


def test_every_figure_decodes_and_is_shown(browser_run):
    page = browser_run["page"]
    ids = [f["id"] for f in page["figures"]]
    assert ids == ["figure1"] + [f"figure{i}_{p}" for i in (2, 3, 4, 5) for p in ("paper", "design")]
    for fig in page["figures"]:
        assert fig["complete"] and fig["width"] > 100 and fig["height"] > 100, fig
        assert fig["shown"] > 100, fig


def test_figure_screenshots_show_the_figures(browser_run):
    """Each figure as the browser paints it: its own size, and drawn on (not a blank box)."""
    shots = browser_run["figures"]
    assert list(shots) == [f["id"] for f in browser_run["page"]["figures"]]
    for key, (png, size) in shots.items():
        with Image.open(io.BytesIO(png)) as img:
            assert abs(img.width - size["width"]) <= 2 and abs(img.height - size["height"]) <= 2, key
            assert img.width > 300 and img.height > 150, key
        assert _inked(png) > 0.01, f"{key}: the browser painted a blank figure"


def test_page_screenshot_is_the_whole_report(browser_run):
    with Image.open(io.BytesIO(browser_run["shot"])) as img:
        assert img.width == WIDTH and img.height == browser_run["page"]["height"] > 4000
        top = np.asarray(img.convert("L").crop((0, 0, WIDTH, 200)))
    assert np.mean(top < 128) > 0.002  # the title is painted
    assert _inked(browser_run["shot"]) > 0.01


def test_every_table_has_rows(browser_run):
    tables = browser_run["page"]["tables"]
    assert len(tables) == 11
    for table in tables:
        assert table["rows"] >= 2, table


def test_wide_tables_scroll_inside_the_page(browser_run):
    """At a narrow window the page itself never scrolls sideways; a wide table scrolls in its box."""
    narrow = browser_run["narrow"]
    scroll_width, client_width = narrow["page"]
    assert client_width == NARROW and scroll_width <= client_width
    wide = [b for b in narrow["boxes"] if b["scroll"] > b["client"] + 1]
    assert wide, "no table is wider than the narrow window: the check would be vacuous"
    for box in narrow["boxes"]:
        assert box["right"] <= NARROW + 1, box
    assert all(b["overflow"] == "auto" for b in wide)


def test_no_console_errors_or_exceptions(browser_run):
    assert [e for e in browser_run["console"] if e["level"] in ("SEVERE", "WARNING")] == []


def test_nothing_is_fetched_from_the_network(browser_run):
    report = browser_run["report"].as_uri()
    requests = [m["params"] for m in browser_run["network"] if m["method"] == "Network.requestWillBeSent"]
    ours = [r["request"]["url"] for r in requests if r.get("documentURL") == report]
    assert ours and all(u == report or u.startswith("data:") for u in ours), ours
    # Chromium's own new-tab page asks chrome:// for its pieces; nothing at all goes out on the network.
    assert not [r["request"]["url"] for r in requests if r["request"]["url"].startswith(("http:", "https:", "ws"))]
    failed = [m["params"] for m in browser_run["network"] if m["method"] == "Network.loadingFailed"]
    assert [f for f in failed if f.get("requestId") in {r["requestId"] for r in requests
                                                         if r.get("documentURL") == report}] == []


def test_the_check_itself_sees_a_broken_page(tmp_path):
    """The console check is not vacuous: a page with a script error and a broken image is caught."""
    page = tmp_path / "broken.html"
    page.write_text("<!DOCTYPE html><html><body><img src='data:image/svg+xml;base64,AAAA'>"
                    "<script>console.error('boom'); undefinedFunction();</script></body></html>")
    driver = open_browser(tmp_path / "profile")
    try:
        driver.get(page.as_uri())
        broken = driver.execute_script("return document.images[0].naturalWidth")
        console = driver.get_log("browser")
    finally:
        driver.quit()
    messages = " ".join(e["message"] for e in console if e["level"] == "SEVERE")
    assert "boom" in messages and "undefinedFunction" in messages
    assert broken == 0
