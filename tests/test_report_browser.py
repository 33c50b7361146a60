"""report.html in a real browser: headless Chromium, driven over the DevTools protocol.

No extra dependency: Chromium's `--remote-debugging-pipe` speaks the DevTools protocol as
NUL-terminated JSON on file descriptors 3 (commands) and 4 (replies and events), which
the stdlib drives. The test loads the page from file://, then asks the page itself:
every section is there, every figure image has decoded (natural size > 0), every table
has rows, and no script error, console error or failed load happened. A full-page
screenshot is kept as tests/artifacts/report.png (gitignored).

Chromium comes from Debian (`scripts/install-test-deps.sh`); without it the test is
skipped on a developer's machine and fails under CI (CI=true).
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import queue
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

from nhanes_study.report.html import SECTIONS, write_report
from tests.conftest import REPO, _need
from tests.results_fixture import results_document

pytestmark = pytest.mark.browser

ARTIFACTS = REPO / "tests" / "artifacts"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--hide-scrollbars", "--mute-audio", "--window-size=1400,4000"]


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


class DevTools:
    """A minimal DevTools-protocol client over Chromium's --remote-debugging-pipe."""

    def __init__(self, binary: str, profile_dir: Path):
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()
        ours = (to_chrome_r, self._to_chrome, self._from_chrome, from_chrome_w)

        def child_fds() -> None:
            # Chromium reads commands on fd 3 and writes on fd 4. Move our ends there via fds
            # >= 10 so that neither dup2 clobbers the other, then close every other copy.
            r, w = fcntl.fcntl(to_chrome_r, fcntl.F_DUPFD, 10), fcntl.fcntl(from_chrome_w, fcntl.F_DUPFD, 10)
            os.dup2(r, 3)
            os.dup2(w, 4)
            for fd in {r, w, *ours} - {3, 4}:
                os.close(fd)

        # close_fds=False: fds 3 and 4 are made in the child, so they cannot be pass_fds.
        self.proc = subprocess.Popen(
            [binary, *FLAGS, f"--user-data-dir={profile_dir}", "--remote-debugging-pipe", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            close_fds=False, preexec_fn=child_fds,
        )
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._next_id = 0
        self._replies: dict[int, dict] = {}
        self.events: list[dict] = []
        self._inbox: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.stderr = ""
        threading.Thread(target=self._read_stderr, daemon=True).start()

    def _read(self) -> None:
        buffer = b""
        while True:
            chunk = os.read(self._from_chrome, 1 << 16)
            if not chunk:
                self._inbox.put(None)
                return
            buffer += chunk
            while b"\0" in buffer:
                message, buffer = buffer.split(b"\0", 1)
                self._inbox.put(json.loads(message))

    def _read_stderr(self) -> None:
        self.stderr = self.proc.stderr.read().decode("utf-8", "replace")

    def _pump(self, deadline: float) -> None:
        message = self._inbox.get(timeout=max(0.01, deadline - time.monotonic()))
        if message is None:
            raise RuntimeError(f"chromium closed the DevTools pipe; stderr:\n{self.stderr[-2000:]}")
        if "id" in message:
            self._replies[message["id"]] = message
        else:
            self.events.append(message)

    def send(self, method: str, params: dict | None = None, session: str | None = None, timeout: float = 30) -> dict:
        self._next_id += 1
        ident = self._next_id
        message = {"id": ident, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_chrome, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while ident not in self._replies:
            self._pump(deadline)
        reply = self._replies.pop(ident)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply["result"]

    def wait_event(self, method: str, timeout: float = 30) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            for event in self.events:
                if event["method"] == method:
                    return event
            self._pump(deadline)

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=10)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_chrome)


# What the page reports about itself once loaded.
CHECK_PAGE = """JSON.stringify({
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


@pytest.fixture(scope="module")
def browser_run(tmp_path_factory):
    binary = chromium_path()
    if binary is None:
        _need("Chromium (/usr/bin/chromium; run: bash scripts/install-test-deps.sh)")
    out = tmp_path_factory.mktemp("report")
    report = write_report(results_document(), out, {"seconds": 1.0})
    tools = DevTools(binary, tmp_path_factory.mktemp("chromium-profile"))
    try:
        target = next(t for t in tools.send("Target.getTargets")["targetInfos"] if t["type"] == "page")
        session = tools.send("Target.attachToTarget", {"targetId": target["targetId"], "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            tools.send(f"{domain}.enable", session=session)
        tools.send("Page.navigate", {"url": report.as_uri()}, session=session)
        tools.wait_event("Page.loadEventFired", timeout=60)
        result = tools.send("Runtime.evaluate", {"expression": CHECK_PAGE, "returnByValue": True},
                            session=session)["result"]["value"]
        page = json.loads(result)
        width = 1400
        tools.send("Emulation.setDeviceMetricsOverride",
                   {"width": width, "height": page["height"], "deviceScaleFactor": 1, "mobile": False},
                   session=session)
        shot = tools.send("Page.captureScreenshot", {"format": "png"}, session=session, timeout=60)
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / "report.png").write_bytes(base64.b64decode(shot["data"]))
        events = list(tools.events)
    finally:
        tools.close()
    return page, events, report


def test_every_section_is_in_the_page(browser_run):
    page, _, _ = browser_run
    assert page["sections"] == [key for key, _ in SECTIONS]
    assert page["title"].startswith("Hemoglobin and spine BMD")
    assert page["scripts"] == 0


def test_every_figure_decodes_and_is_shown(browser_run):
    page, _, _ = browser_run
    ids = [f["id"] for f in page["figures"]]
    assert ids == ["figure1"] + [f"figure{i}_{p}" for i in (2, 3, 4, 5) for p in ("paper", "design")]
    for fig in page["figures"]:
        assert fig["complete"] and fig["width"] > 100 and fig["height"] > 100, fig
        assert fig["shown"] > 100, fig


def test_every_table_has_rows(browser_run):
    page, _, _ = browser_run
    assert len(page["tables"]) == 11
    for table in page["tables"]:
        assert table["rows"] >= 2, table


def test_no_console_errors_exceptions_or_failed_loads(browser_run):
    _, events, _ = browser_run
    problems = [e for e in events if e["method"] in ("Runtime.exceptionThrown", "Network.loadingFailed")]
    problems += [e for e in events if e["method"] == "Runtime.consoleAPICalled"
                 and e["params"]["type"] in ("error", "assert", "warning")]
    problems += [e for e in events if e["method"] == "Log.entryAdded"
                 and e["params"]["entry"]["level"] in ("error", "warning")]
    assert problems == []


def test_nothing_is_fetched_from_the_network(browser_run):
    _, events, report = browser_run
    urls = [e["params"]["request"]["url"] for e in events if e["method"] == "Network.requestWillBeSent"]
    assert urls and all(u == report.as_uri() or u.startswith("data:") for u in urls), urls


def test_screenshot_artifact_is_written(browser_run):
    from PIL import Image

    with Image.open(ARTIFACTS / "report.png") as img:
        assert img.width == 1400 and img.height > 4000


def test_the_check_itself_sees_a_broken_page(tmp_path):
    """The console/exception check is not vacuous: a page with a script error is caught."""
    binary = chromium_path()
    if binary is None:
        _need("Chromium (/usr/bin/chromium; run: bash scripts/install-test-deps.sh)")
    page = tmp_path / "broken.html"
    page.write_text("<!DOCTYPE html><html><body><img src='data:image/svg+xml;base64,AAAA'>"
                    "<script>console.error('boom'); undefinedFunction();</script></body></html>")
    tools = DevTools(binary, tmp_path / "profile")
    try:
        target = next(t for t in tools.send("Target.getTargets")["targetInfos"] if t["type"] == "page")
        session = tools.send("Target.attachToTarget", {"targetId": target["targetId"], "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            tools.send(f"{domain}.enable", session=session)
        tools.send("Page.navigate", {"url": page.as_uri()}, session=session)
        tools.wait_event("Page.loadEventFired", timeout=60)
        broken = tools.send("Runtime.evaluate", {"expression": "document.images[0].naturalWidth",
                                                 "returnByValue": True}, session=session)["result"]["value"]
        methods = {e["method"] for e in tools.events}
    finally:
        tools.close()
    assert "Runtime.exceptionThrown" in methods and "Runtime.consoleAPICalled" in methods
    assert broken == 0
