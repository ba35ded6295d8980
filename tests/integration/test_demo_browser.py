"""The demo page in a real headless browser: scripts/demo.py serves the tiny index, chromium
(the system's, driven by playwright) types a query and reads the two rendered lists.

Skipped when playwright or a chromium binary is missing (CI installs chromium with apt-get;
``playwright install`` downloads do not work offline). Set DEMO_SCREENSHOT=path to keep the
screenshot it takes.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from tiny_two_tower import tiny_index

REPO_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM") or next(
    (path for name in ("chromium", "chromium-browser") if (path := shutil.which(name))), None
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, server: subprocess.Popen, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"scripts/demo.py exited with {server.returncode}")
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"scripts/demo.py did not answer on {url} within {seconds} s")


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium found (apt-get install chromium)")
def test_query_in_a_real_browser(tmp_path):
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    from modeling.demo.app import DemoSearcher

    index_dir = tiny_index(tmp_path)
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "GRADIO_ANALYTICS_ENABLED": "False"}
    command = [sys.executable, "scripts/demo.py", "--index_dir", str(index_dir)]
    server = subprocess.Popen(
        [*command, "--port", str(port)], cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL
    )
    try:
        wait_for(url, server)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
            )
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(url)
            page.get_by_label("Query").fill("do fleas bite dogs")
            page.get_by_role("button", name="Search").click()
            page.wait_for_selector("#ours .hit", timeout=60_000)
            page.wait_for_selector("#bm25 .hit", timeout=60_000)
            shown = page.eval_on_selector_all("#ours .hit", "hits => hits.map(h => h.dataset.pid)")
            bm25 = page.eval_on_selector_all("#bm25 .hit", "hits => hits.map(h => h.dataset.pid)")
            marked = page.eval_on_selector_all("#ours .tw.match", "m => m.map(e => e.textContent)")
            shaded = page.eval_on_selector_all(
                "#ours .tw", "spans => spans.map(s => getComputedStyle(s).backgroundColor)"
            )
            screenshot = Path(os.environ.get("DEMO_SCREENSHOT") or tmp_path / "demo.png")
            page.screenshot(path=str(screenshot), full_page=True)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)

    searcher = DemoSearcher(index_dir)
    assert shown == [hit.pid for hit in searcher.ours("do fleas bite dogs")]
    assert bm25 == [hit.pid for hit in searcher.bm25_hits("do fleas bite dogs")]
    assert marked and {word.lower() for word in marked} <= {"fleas", "bite", "dogs"}
    assert any(color.startswith("rgba(255, 170, 0") for color in shaded)  # the shading rendered
    assert screenshot.stat().st_size > 10_000
