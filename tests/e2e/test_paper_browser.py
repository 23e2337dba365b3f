"""The rendered HTML paper in a real headless browser: figures load, notices show, links work.

Chromium (Debian's ``chromium`` package) is driven through the DevTools protocol over
``--remote-debugging-pipe``: no port is opened, no Selenium or Playwright is needed, and host
resolution is switched off, so the page can load nothing but ``file://`` and ``data:`` URLs.
The screenshot is kept in ``results/test-artifacts/`` for a person to look at.  Without
chromium the tests skip, except under CI (``CI=true``), where a missing browser is a failure.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import re
import select
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import pytest
import yaml

from hazegov.paper.render import PREVIEW_NOTICE, render_paper
from tests.support.paper import png, stage_real_paper
from tests.support.paths import ROOT

pytestmark = pytest.mark.e2e

ARTIFACTS = ROOT / "results" / "test-artifacts"
SCREENSHOT = ARTIFACTS / "paper-browser.png"
WINDOW = (1200, 3000)
MAX_SCREENSHOT_PX = 16000  # Chromium's largest bitmap side
SESSION_TIMEOUT = 120.0  # seconds for the whole browser session, start to close
INSTALL_HINT = "apt-get install -y chromium fonts-noto-cjk"
CJK_FONT_RE = re.compile(r"CJK|Han |Hei|Song|Ming|Kai|WenQuanYi|Fallback|PingFang|YaHei", re.I)


def _chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"chromium is not installed on CI ({INSTALL_HINT})")
        pytest.skip(f"chromium is not installed ({INSTALL_HINT})")
    return exe


class DevToolsError(RuntimeError):
    """Chromium answered a command with an error, closed the pipe or did not answer in time."""


class DevTools:
    """A minimal Chrome DevTools protocol client over ``--remote-debugging-pipe``.

    Chromium reads commands from its fd 3 and writes replies and events to its fd 4, each
    message JSON ended by a NUL byte.
    """

    def __init__(self, chromium: str, profile: Path, log: Path, deadline: float) -> None:
        self.deadline = deadline
        self.events: list[dict[str, Any]] = []
        self._next_id = 0
        self._buffer = b""
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        # Child ends moved to fds >= 10 so that putting them on 3 and 4 cannot clobber them.
        child_in = fcntl.fcntl(to_child_r, fcntl.F_DUPFD_CLOEXEC, 10)
        child_out = fcntl.fcntl(from_child_w, fcntl.F_DUPFD_CLOEXEC, 10)
        os.close(to_child_r)
        os.close(from_child_w)

        def pipes_on_3_and_4() -> None:
            os.dup2(child_in, 3)
            os.dup2(child_out, 4)

        args = [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--disable-default-apps",
            "--mute-audio",
            "--hide-scrollbars",
            "--host-resolver-rules=MAP * ~NOTFOUND",  # nothing off this machine resolves
            f"--window-size={WINDOW[0]},{WINDOW[1]}",
            f"--user-data-dir={profile}",
            "--remote-debugging-pipe",
            "about:blank",
        ]
        self._log = log.open("wb")
        try:
            self.proc = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                preexec_fn=pipes_on_3_and_4,  # fds 3 and 4 exist only in the child
                close_fds=False,  # our other fds are close-on-exec (PEP 446)
                start_new_session=True,  # so close() can end chromium's helpers with it
            )
        finally:
            os.close(child_in)
            os.close(child_out)
        self._write_fd = to_child_w
        self._read_fd = from_child_r
        self._log_path = log

    # ------------------------------------------------------------------ transport

    def _remaining(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise DevToolsError(f"chromium did not answer in time; log:\n{self._log_tail()}")
        return left

    def _log_tail(self) -> str:
        self._log.flush()
        return self._log_path.read_bytes()[-3000:].decode("utf-8", "replace")

    def _read_message(self) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            ready, _, _ = select.select([self._read_fd], [], [], self._remaining())
            if not ready:
                continue
            chunk = os.read(self._read_fd, 1 << 20)
            if not chunk:
                raise DevToolsError(f"chromium closed the pipe; log:\n{self._log_tail()}")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        message: dict[str, Any] = json.loads(raw)
        return message

    def send(self, method: str, params: dict[str, Any] | None = None, session: str = "") -> Any:
        """Send one command and return its result; events that arrive meanwhile are kept."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        data = json.dumps(message).encode() + b"\0"
        while data:
            _, ready, _ = select.select([], [self._write_fd], [], self._remaining())
            if ready:
                data = data[os.write(self._write_fd, data) :]
        while True:
            reply = self._read_message()
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise DevToolsError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            if "method" in reply:
                self.events.append(reply)

    def wait_for(self, method: str, session: str = "") -> dict[str, Any]:
        """Block until the event ``method`` arrives (or has arrived) for ``session``."""
        seen = 0
        while True:
            for event in self.events[seen:]:
                if event["method"] == method and event.get("sessionId", "") == session:
                    return event
            seen = len(self.events)
            message = self._read_message()
            if "method" in message:
                self.events.append(message)

    def close(self) -> None:
        """Ask the browser to quit, then end its process group if it has not."""
        try:
            if self.proc.poll() is None:
                self.deadline = time.monotonic() + 10
                with contextlib.suppress(DevToolsError):
                    self.send("Browser.close")
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(timeout=10)
        finally:
            if self.proc.poll() is None:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
            os.close(self._write_fd)
            os.close(self._read_fd)
            self._log.close()


# The page's own view of itself, computed in the browser once everything has loaded.
PAGE_PROBE = """
(async () => {
  const images = Array.from(document.images);
  for (const img of images) img.loading = "eager";
  await Promise.all(images.map(img => img.decode().catch(() => null)));
  await document.fonts.ready;
  const shown = el => {
    const r = el.getBoundingClientRect();
    const s = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && s.visibility === "visible" && s.display !== "none"
      && parseFloat(s.opacity) > 0;
  };
  // pandoc makes quotes curly: compare text with straight quotes and single spaces
  const squash = t => t.replace(/[\\u2018\\u2019]/g, "'").replace(/[\\u201c\\u201d]/g, '"')
    .replace(/\\s+/g, " ").trim();
  const holder = text => {
    let found = null;
    for (const el of document.body.querySelectorAll("*")) {
      if (squash(el.textContent).includes(text)) found = el;  // the deepest one wins
    }
    return found;
  };
  const ids = new Set(Array.from(document.querySelectorAll("[id]"), e => e.id));
  for (const a of document.querySelectorAll("a[name]")) ids.add(a.getAttribute("name"));
  const hrefs = Array.from(document.querySelectorAll("a[href^='#']"), a => a.getAttribute("href"));
  const cjk = Array.from(document.body.querySelectorAll("h1, h2, p, td, li, span"))
    .find(el => /[\\u4e00-\\u9fff]/.test(el.textContent) && el.children.length === 0);
  if (cjk) cjk.setAttribute("data-cjk-probe", "");
  return {
    images: images.map(img => ({
      src: (img.getAttribute("src") || "").slice(0, 80),
      complete: img.complete,
      naturalWidth: img.naturalWidth,
      naturalHeight: img.naturalHeight,
      shown: shown(img),
    })),
    hrefs,
    broken: hrefs.filter(h => h.length > 1 && !ids.has(decodeURIComponent(h.slice(1)))),
    notices: NOTICES.map(text => {
      const el = holder(text);
      return {text, found: el !== null, shown: el !== null && shown(el),
              top: el === null ? null : el.getBoundingClientRect().top + window.scrollY};
    }),
    bodyText: squash(document.body.innerText),
    cjkText: cjk ? cjk.textContent.slice(0, 40) : null,
  };
})()
"""


@dataclass
class PageReport:
    """What the browser saw of the paper."""

    url: str
    probe: dict[str, Any]
    requests: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    cjk_fonts: list[dict[str, Any]] = field(default_factory=list)
    screenshot: Path = SCREENSHOT
    page_size: tuple[int, int] = (0, 0)


def _inspect(html: Path, notices: list[str], workdir: Path, screenshot: Path) -> PageReport:
    chromium = _chromium()
    profile = workdir / "profile"
    profile.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + SESSION_TIMEOUT
    tools = DevTools(chromium, profile, workdir / "chromium.log", deadline)
    try:
        target = tools.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = tools.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        for domain in ("Page", "Runtime", "Network", "DOM", "CSS"):
            tools.send(f"{domain}.enable", session=session)
        tools.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": WINDOW[0], "height": WINDOW[1], "deviceScaleFactor": 1, "mobile": False},
            session=session,
        )
        url = html.resolve().as_uri()
        navigation = tools.send("Page.navigate", {"url": url}, session=session)
        assert "errorText" not in navigation, navigation
        tools.wait_for("Page.loadEventFired", session)
        expression = PAGE_PROBE.replace("NOTICES", json.dumps(notices, ensure_ascii=False))
        evaluated = tools.send(
            "Runtime.evaluate",
            {"expression": expression, "awaitPromise": True, "returnByValue": True},
            session=session,
        )
        if "exceptionDetails" in evaluated:
            raise DevToolsError(f"page probe failed: {evaluated['exceptionDetails']}")
        report = PageReport(url, evaluated["result"]["value"], screenshot=screenshot)

        document = tools.send("DOM.getDocument", {"depth": 0}, session=session)
        node = tools.send(
            "DOM.querySelector",
            {"nodeId": document["root"]["nodeId"], "selector": "[data-cjk-probe]"},
            session=session,
        )["nodeId"]
        if node:
            fonts = tools.send("CSS.getPlatformFontsForNode", {"nodeId": node}, session=session)
            report.cjk_fonts = fonts["fonts"]

        # The whole page, not just the window; scaled down if taller than a bitmap may be.
        metrics = tools.send("Page.getLayoutMetrics", session=session)["cssContentSize"]
        width, height = int(metrics["width"]), int(metrics["height"])
        scale = min(1.0, MAX_SCREENSHOT_PX / height)
        shot = tools.send(
            "Page.captureScreenshot",
            {
                "format": "png",
                "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": scale},
            },
            session=session,
        )
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        screenshot.write_bytes(base64.b64decode(shot["data"]))
        report.page_size = (round(width * scale), round(height * scale))

        for event in tools.events:
            if event["method"] == "Network.requestWillBeSent":
                report.requests.append(event["params"]["request"]["url"][:120])
            elif event["method"] == "Runtime.exceptionThrown":
                details = event["params"]["exceptionDetails"]
                report.exceptions.append(str(details.get("exception", details))[:300])
        return report
    finally:
        tools.close()


@pytest.fixture(scope="module")
def staged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return stage_real_paper(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="module")
def page(staged: Path, tmp_path_factory: pytest.TempPathFactory) -> PageReport:
    _chromium()  # skip before rendering when there is no browser
    workdir = tmp_path_factory.mktemp("browser")
    html = workdir / "out" / "index.html"
    renderer = render_paper(staged, {"html": html})
    variables = yaml.safe_load((staged / "_variables.yml").read_text(encoding="utf-8"))
    notices = [" ".join(str(variables["data"]["notice"]).split())]
    if renderer == "preview":
        notices.append(PREVIEW_NOTICE)
    return _inspect(html, notices, workdir, SCREENSHOT)


def test_every_figure_loads(page: PageReport) -> None:
    images = page.probe["images"]
    assert images, "no <img> in the page"
    html_dir = Path(unquote(urlparse(page.url).path)).parent
    for image in images:
        src = image["src"]
        if not src.startswith("data:"):
            assert "://" not in src or src.startswith("file://"), f"remote image {src}"
            assert (html_dir / unquote(src.removeprefix("file://"))).is_file(), src
        assert image["complete"], src
        assert image["naturalWidth"] > 0 and image["naturalHeight"] > 0, f"not decoded: {src}"
        assert image["shown"], f"image has no size on the page: {src}"


def test_synthetic_data_notice_is_visible(page: PageReport) -> None:
    for notice in page.probe["notices"]:
        assert notice["found"], f"notice not in the page: {notice['text'][:60]}"
        assert notice["shown"], f"notice is hidden: {notice['text'][:60]}"
        assert notice["text"] in page.probe["bodyText"]  # innerText holds visible text only
        assert notice["top"] < WINDOW[1], f"notice not on the first screen: {notice}"


def test_no_broken_internal_links(page: PageReport) -> None:
    assert len(page.probe["hrefs"]) > 10  # table of contents, cross-references, citations
    assert page.probe["broken"] == []


def test_page_loads_nothing_from_outside_and_throws_nothing(page: PageReport) -> None:
    outside = [u for u in page.requests if not u.startswith(("file:", "data:", "about:", "blob:"))]
    assert outside == []
    assert page.exceptions == []


def test_chinese_text_has_a_cjk_font(page: PageReport) -> None:
    assert page.probe["cjkText"], "no Chinese text found in the page"
    used = [f for f in page.cjk_fonts if f.get("glyphCount", 0) > 0]
    if not any(CJK_FONT_RE.search(f["familyName"]) for f in used):
        message = f"Chinese text rendered without a CJK font ({used}): {INSTALL_HINT}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


def test_screenshot_is_kept(page: PageReport) -> None:
    from PIL import Image

    with Image.open(page.screenshot) as image:
        assert image.size == page.page_size  # the whole page, from top to bottom
        assert image.height > WINDOW[1]
        colours = image.convert("RGB").getcolors(maxcolors=1 << 16)
    assert colours is None or len(colours) > 50, "the screenshot looks blank"


BROKEN_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>broken</title></head><body>
<p>Visible notice.</p>
<div style="display: none">Hidden notice.</div>
<img src="missing.png" alt="gone">
<img src="data:image/png;base64,{png}" alt="fine">
<a href="#here">ok</a> <a href="#nowhere">broken</a> <a href="#">top</a>
<h2 id="here">Here</h2>
<script>undefinedFunction();</script>
</body></html>
"""


def test_the_probe_sees_what_is_broken(tmp_path: Path) -> None:
    """The checks above would pass on a page they cannot see into: show that they can fail."""
    page = tmp_path / "broken.html"
    page.write_text(BROKEN_PAGE.format(png=base64.b64encode(png()).decode()), encoding="utf-8")
    report = _inspect(
        page, ["Visible notice.", "Hidden notice."], tmp_path, tmp_path / "broken.png"
    )
    missing, fine = report.probe["images"]
    assert missing["naturalWidth"] == 0 and fine["naturalWidth"] == 8
    assert report.probe["broken"] == ["#nowhere"]
    visible, hidden = report.probe["notices"]
    assert visible["shown"] and not hidden["shown"]
    assert "Hidden notice." not in report.probe["bodyText"]
    assert any("undefinedFunction" in e for e in report.exceptions)
    assert report.screenshot.stat().st_size > 0
