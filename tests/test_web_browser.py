"""The web page in a real browser: Debian's chromium, headless, driven by Playwright,
against the page served by waitress on 127.0.0.1 over a fetched installation.

A reader signs in, reads the digest, searches, opens a paper, saves it, finds it in
Saved, exports BibTeX, follows and unfollows a category and rates a paper. Every
request the browser makes is logged and must stay on 127.0.0.1; anything else is
blocked and fails the test. Screenshots of the main pages, wide and narrow, go to
``TRACKER_SCREENSHOTS`` (default: the test's temporary folder).
"""

from __future__ import annotations

import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.support.server import Paper
from tests.support.webapp import PASSWORDS, SCHOLAR, Installation, build
from tracker.models import SearchFilters

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WIDE = {"width": 1280, "height": 900}
NARROW = {"width": 390, "height": 844}


def _browser_or_skip() -> Any:
    reason = None
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is not installed (apt-get install chromium)"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        reason = "playwright is not installed (pip install -e '.[test]')"
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI runs the browser tests: {reason}")
        pytest.skip(reason)
    return sync_playwright


@pytest.fixture(scope="module")
def site(
    tmp_path_factory: pytest.TempPathFactory, fixtures_dir: Path, papers: list[Paper]
) -> Iterator[tuple[Installation, str]]:
    from waitress.server import create_server

    installation = build(tmp_path_factory.mktemp("browser"), fixtures_dir, papers)
    ratings: dict[tuple[str, int], int] = {}
    if not callable(getattr(installation.tracker, "rate", None)):
        # Relevance feedback is its own feature of the facade (rate, ratings); until
        # this tracker has it, the page's buttons are tested against this stand-in.
        def rate(reader: str, ref: str, rating: str) -> None:
            item = installation.tracker.item(ref)
            if rating == "none":
                ratings.pop((reader, item.id), None)
            else:
                ratings[(reader, item.id)] = 1 if rating == "up" else -1

        def rated(reader: str, ids: list[int]) -> dict[int, int]:
            return {i: ratings[(reader, i)] for i in ids if (reader, i) in ratings}

        installation.tracker.rate = rate  # type: ignore[attr-defined]
        installation.tracker.ratings = rated  # type: ignore[attr-defined]
    server = create_server(installation.app(), host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield installation, f"http://127.0.0.1:{server.effective_port}"  # type: ignore[union-attr]
    finally:
        server.task_dispatcher.shutdown()  # the threads first: a late reply needs the loop
        server.close()
        installation.close()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("TRACKER_SCREENSHOTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_a_reader_uses_the_page_in_a_real_browser(
    site: tuple[Installation, str], shots: Path, tmp_path: Path
) -> None:
    sync_playwright = _browser_or_skip()
    installation, base = site
    t = installation.tracker
    requests: list[str] = []
    blocked: list[str] = []

    def guard(route: Any) -> None:
        url = route.request.url
        requests.append(url)
        if urlsplit(url).hostname == "127.0.0.1":
            route.continue_()
        else:
            blocked.append(url)
            route.abort()

    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            headless=True,
            args=ARGS,
            viewport=WIDE,
            accept_downloads=True,
        )
        try:
            context.route("**/*", guard)
            page = context.new_page()
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))

            # sign in: the digest asks for it first
            page.goto(base + "/digest")
            assert page.url.startswith(base + "/login")
            page.screenshot(path=str(shots / "login.png"))
            page.fill("input[name=reader]", "ada")
            page.fill("input[name=password]", PASSWORDS["ada"])
            page.click("button:has-text('Sign in')")
            page.wait_for_url(base + "/digest")
            assert page.locator("h1").inner_text() == "Thursday 28 November 2024"
            view = t.stored_digest_view("ada", installation.clock.now.date())
            assert view is not None
            assert page.locator("article.item, li.compact").count() == view.summary.total
            page.screenshot(path=str(shots / "digest.png"))
            page.screenshot(path=str(shots / "digest-full.png"), full_page=True)

            # the weekly digest, from the menu
            page.click("nav >> text=Week")
            page.wait_for_url(base + "/week")
            weekly = t.stored_weekly_view("ada", installation.clock.now.date())
            assert weekly is not None
            assert page.locator("h1").inner_text() == weekly.header.day_label
            assert page.locator("article.item, li.compact").count() == len(list(weekly.entries))
            page.screenshot(path=str(shots / "week.png"), full_page=True)

            # search, with a filter, and the count
            page.goto(base + "/search")
            page.fill("input[name=q]", "quantum")
            page.press("input[name=q]", "Enter")
            page.wait_for_selector(".result-count")
            total = t.search_count("quantum")
            assert f"{total} results" in page.locator(".result-count").inner_text()
            assert page.locator("mark").count() > 0
            page.screenshot(path=str(shots / "search.png"))
            page.click("summary:has-text('Filters')")
            page.fill("input[name=author]", SCHOLAR.split()[-1])
            page.click("button:has-text('Search')")
            page.wait_for_selector(".result-count")
            theirs = t.search("quantum", SearchFilters(author=SCHOLAR.split()[-1]))
            assert page.locator("article.item").count() == len(theirs) > 0

            # open a paper and save it, without leaving the page
            first = page.locator("article.item h3 a").first
            title = first.inner_text()
            first.click()
            page.wait_for_selector("h1")
            assert page.locator("h1").inner_text() == title
            assert page.locator("pre.bibtex").inner_text().startswith("@misc{")
            page.screenshot(path=str(shots / "item.png"), full_page=True)
            save = page.locator("button.save")
            save.click()
            page.wait_for_selector("button.save.on")
            assert save.inner_text() == "★ Saved"
            url = page.url
            item_id = int(url.rsplit("/", 1)[1])
            assert item_id in {i.id for i in t.saved("ada")}

            # rate it: up, then down
            page.locator("button.up").click()
            page.wait_for_selector("button.up.on")
            page.locator("button.down").click()
            page.wait_for_selector("button.down.on")
            assert page.locator("button.up.on").count() == 0
            assert t.ratings("ada", [item_id]) == {item_id: -1}  # type: ignore[attr-defined]

            # it is in Saved, and BibTeX export downloads it
            page.click("nav >> text=Saved")
            page.wait_for_selector(f"#item-{item_id}")
            page.screenshot(path=str(shots / "saved.png"))
            with page.expect_download() as download:
                page.click("text=Export BibTeX")
            target = tmp_path / "saved.bib"
            download.value.save_as(target)
            exported = target.read_text(encoding="utf-8")
            assert exported == t.export(t.saved("ada"), "bibtex")
            assert title.split()[0] in exported

            # follow a category, then unfollow it
            page.click("nav >> text=Follows")
            page.fill("#add-category", "math.CO")
            page.locator("#follow-category button:has-text('Follow')").click()
            page.wait_for_selector(".notice")
            assert "Now following category math.CO" in page.locator(".notice").inner_text()
            assert any(f.value == "math.CO" for f in t.follows("ada"))
            page.screenshot(path=str(shots / "follows.png"), full_page=True)
            page.locator("button[aria-label='Unfollow math.CO']").click()
            page.wait_for_selector(".notice")
            assert not any(f.value == "math.CO" for f in t.follows("ada"))

            # the admin's status page and a scholar's page
            page.click("nav >> text=Status")
            page.wait_for_selector("table.status")
            page.screenshot(path=str(shots / "status.png"))
            page.goto(base + f"/scholars/{SCHOLAR}")
            page.wait_for_selector("h1")
            page.screenshot(path=str(shots / "scholar.png"))

            # a narrow screen: everything still fits
            page.set_viewport_size(NARROW)
            for path, name in [
                ("/digest", "digest-narrow"),
                ("/search?q=quantum", "search-narrow"),
            ]:
                page.goto(base + path)
                page.wait_for_selector("main")
                width = page.evaluate("document.documentElement.scrollWidth")
                assert width <= NARROW["width"], f"{path} is {width}px wide"
                page.screenshot(path=str(shots / f"{name}.png"))
            assert errors == [], errors
        finally:
            context.close()
            shutil.rmtree(profile, ignore_errors=True)
    assert blocked == [], f"requests left 127.0.0.1: {blocked}"
    assert requests and all(urlsplit(u).hostname == "127.0.0.1" for u in requests)


def test_the_web_command_serves_the_page(site: tuple[Installation, str]) -> None:
    """One command starts it: ``tracker web`` on a free port of 127.0.0.1."""
    installation, _ = site
    config = installation.folder / "tracker.toml"
    process = subprocess.Popen(
        [sys.executable, "-m", "tracker.cli", "--config", str(config), "web", "--port", "0"],
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            lines.put(line)

    threading.Thread(target=read, daemon=True).start()
    try:
        port = None
        deadline = time.monotonic() + 60
        while port is None and time.monotonic() < deadline:
            try:
                line = lines.get(timeout=1)
            except queue.Empty:
                continue
            if "Serving on http://127.0.0.1:" in line:
                port = int(line.rsplit(":", 1)[1].strip().rstrip("/"))
        assert port, "tracker web did not say where it listens"
        reply = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10)
        assert reply.json() == {"ok": True}
        login = httpx.get(f"http://127.0.0.1:{port}/digest", timeout=10)
        assert login.status_code == 302 and login.headers["location"].startswith("/login")
    finally:
        process.terminate()
        process.wait(timeout=20)
