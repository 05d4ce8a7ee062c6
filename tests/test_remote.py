"""Remote browsers on loopback: a Chromium started with --remote-debugging-port, and a Playwright server."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from auditor import browser as browsers
from auditor.audit import run_audit
from auditor.browser import BrowserNotFound
from auditor.config import build
from auditor.crawl import Crawl
from auditor.rulebook import load_rulebook
from auditor.serve import StaticSite
from tests.test_crawl import page, write


@pytest.fixture(scope="module")
def executable():
    with sync_playwright() as pw:
        return browsers.find_browser(None, pw) or pw.chromium.executable_path


def start_devtools_chromium(executable: str, profile: Path) -> tuple[subprocess.Popen, str]:
    """A Chromium as a user would start one for --browser-endpoint (the flags the README gives)."""
    proc = subprocess.Popen(
        [executable, "--headless", "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
         f"--user-data-dir={profile}", *browsers.QUIET_FLAGS, "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    port_file = profile / "DevToolsActivePort"
    deadline = time.monotonic() + 30
    while not (port_file.is_file() and port_file.read_text().strip()) and time.monotonic() < deadline:
        time.sleep(0.1)
    port = port_file.read_text().split()[0]
    return proc, f"http://127.0.0.1:{port}"


@pytest.fixture
def devtools_pair(executable, tmp_path):
    procs, endpoints = [], []
    for n in range(2):
        proc, endpoint = start_devtools_chromium(executable, tmp_path / f"profile{n}")
        procs.append(proc)
        endpoints.append(endpoint)
    yield endpoints
    for proc in procs:
        proc.terminate()
        proc.wait(10)


@pytest.fixture
def site(tmp_path):
    root = tmp_path / "site"
    links = [f"/p{i}.html" for i in range(5)]
    write(root, {"index.html": page("Home", links, "<button>Buy</button>"),
                 **{f"p{i}.html": page(f"P{i}", []) for i in range(5)}})
    with StaticSite(root) as server:
        yield server


def test_pages_spread_over_two_devtools_endpoints(devtools_pair, site, tmp_path):
    settings = build({}, {"browser_endpoints": devtools_pair, "concurrency": 2, "screenshots": "off"})
    crawl = Crawl(settings, [site.url], tmp_path / "out")
    import asyncio

    pages = asyncio.run(crawl.run())
    assert len(pages) == 6 and all(p.error is None for p in pages)
    assert all(sorted(p.devices) == ["desktop", "mobile"] for p in pages)
    assert pages[0].devices["mobile"].viewport_width == 390  # device emulation holds over CDP
    assert set(crawl.visits_per_browser) == {0, 1}  # both endpoints did work
    assert sum(crawl.visits_per_browser.values()) == 12


def test_playwright_server_endpoint(executable, site, tmp_path):
    server = subprocess.Popen(  # its own process group: the node server under the python wrapper stops too
        [sys.executable, "-m", "playwright", "run-server", "--host", "127.0.0.1", "--port", "0", "--unsafe"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, start_new_session=True,
    )
    try:
        line = server.stdout.readline()
        endpoint = re.search(r"ws://\S+", line).group(0)
        settings = build({}, {"browser_endpoints": [endpoint], "browser_path": executable, "max_pages": 2,
                              "screenshots": "off"})
        outcome = run_audit([site.url], settings, load_rulebook(), tmp_path / "out")
        assert [p.error for p in outcome.pages] == [None, None]
        assert outcome.report["tool"]["browser"]
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(10)


def test_unreachable_endpoint_is_one_clear_error(site, tmp_path):
    settings = build({}, {"browser_endpoints": ["http://127.0.0.1:1/?token=s3cret"]})
    with pytest.raises(BrowserNotFound) as caught:
        run_audit([site.url], settings, load_rulebook(), tmp_path / "out")
    message = str(caught.value)
    assert message.startswith("Cannot connect to the browser endpoint http://127.0.0.1:1/?...")
    assert "s3cret" not in message and "\n" not in message


def test_cli_reports_a_bad_endpoint_in_one_line(site, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "auditor", "audit", site.url, "--out", str(tmp_path / "r"),
         "--browser-endpoint", "ftp://grid.example/"],
        capture_output=True, text=True, timeout=60, env={**os.environ},
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "neither http(s):// (DevTools) nor ws://" in result.stderr
