"""Remote browsers on loopback: a Chromium started with --remote-debugging-port, and a Playwright server."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
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
    assert message == ("Cannot connect to the browser endpoint http://127.0.0.1:1/?...: connection refused: "
                       "nothing is listening at that address")
    assert "s3cret" not in message and "\n" not in message
    assert not (tmp_path / "out").exists()  # a run that never started leaves no folder behind


def test_a_run_that_never_started_leaves_an_existing_folder_as_it_was(site, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("the agency's own file")
    settings = build({}, {"browser_endpoints": ["http://127.0.0.1:1/"]})
    with pytest.raises(BrowserNotFound):
        run_audit([site.url], settings, load_rulebook(), out)
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


@pytest.mark.parametrize(
    ("scheme", "hint"),
    [("http", "(this address answers, but not as a browser's DevTools port: is it a web server?)"),
     ("ws", "(a Chromium's --remote-debugging-port is given as http://host:port; a Playwright server's address "
            "is the one it printed when it started)")],
)
def test_an_endpoint_that_is_not_a_browser_says_what_to_try(site, tmp_path, scheme, hint):
    settings = build({}, {"browser_endpoints": [site.url.replace("http", scheme, 1)]})  # a web server
    with pytest.raises(BrowserNotFound) as caught:
        run_audit([site.url], settings, load_rulebook(), tmp_path / "out")
    assert str(caught.value).startswith(f"Cannot connect to the browser endpoint {scheme}://127.0.0.1:")
    assert str(caught.value).endswith(hint) and "\n" not in str(caught.value)


def test_cli_reports_a_bad_endpoint_in_one_line(site, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "auditor", "audit", site.url, "--out", str(tmp_path / "r"),
         "--browser-endpoint", "ftp://grid.example/"],
        capture_output=True, text=True, timeout=60, env={**os.environ},
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "neither http(s):// (DevTools), ws:// (DevTools or Playwright server), cdp+ws(s):// (browserless) " \
           "nor selenium+http(s):// (Selenium Grid)." in result.stderr


# ---- Selenium Grid 4 ---------------------------------------------------------------------------------
class StandInGrid:
    """What a Selenium Grid 4 hub does for a Chrome session, on loopback: POST /session starts a real
    Chromium and answers with its DevTools websocket in `se:cdp`; DELETE /session/<id> stops it.
    `mode` makes it misbehave: "full" (no free slot), "firefox" (a node without DevTools)."""

    def __init__(self, executable: str, profiles: Path, mode: str = "ok", user: str = "", key: str = "") -> None:
        import base64
        import json
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.requests: list[dict] = []
        self.sessions: dict[str, subprocess.Popen] = {}
        self.ended: list[str] = []
        grid = self
        expected_auth = "Basic " + base64.b64encode(f"{user}:{key}".encode()).decode() if user else None

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def answer(self, status: int, value: dict) -> None:
                body = json.dumps({"value": value}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                if expected_auth and self.headers.get("Authorization") != expected_auth:
                    return self.answer(401, {"error": "unauthorized", "message": "Basic auth required"})
                grid.requests.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                if mode == "full":
                    return self.answer(500, {"error": "session not created",
                                             "message": "Could not start a new session. No free slot\nBuild info: ..."})
                session = f"s{len(grid.requests)}"
                if mode == "firefox":
                    return self.answer(200, {"sessionId": session, "capabilities": {"browserName": "firefox"}})
                proc, endpoint = start_devtools_chromium(executable, profiles / session)
                grid.sessions[session] = proc
                with httpx.Client() as client:
                    ws = client.get(f"{endpoint}/json/version").json()["webSocketDebuggerUrl"]
                self.answer(200, {"sessionId": session, "capabilities": {"browserName": "chrome", "se:cdp": ws}})

            def do_DELETE(self) -> None:
                session = self.path.rstrip("/").rsplit("/", 1)[-1]
                grid.ended.append(session)
                proc = grid.sessions.pop(session, None)
                if proc:
                    proc.terminate()
                    proc.wait(10)
                self.answer(200, {})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        for proc in self.sessions.values():
            proc.terminate()
            proc.wait(10)


@pytest.fixture
def grid(executable, tmp_path):
    made = []

    def make(**kwargs) -> StandInGrid:
        made.append(StandInGrid(executable, tmp_path, **kwargs))
        return made[-1]

    yield make
    for g in made:
        g.close()


def test_selenium_grid_session_drives_the_audit_and_is_handed_back(grid, site, tmp_path):
    hub = grid()
    settings = build({}, {"browser_endpoints": [f"selenium+{hub.url}"], "screenshots": "off"})
    outcome = run_audit([site.url], settings, load_rulebook(), tmp_path / "out")
    assert len(outcome.pages) == 6 and all(p.error is None for p in outcome.pages)
    assert outcome.pages[0].devices["mobile"].viewport_width == 390
    # One session asked for a headless Chrome with the quiet flags, and was ended when the audit finished.
    [request] = hub.requests
    wanted = request["capabilities"]["alwaysMatch"]
    assert wanted["browserName"] == "chrome"
    assert {"--headless=new", "--disable-background-networking", "--disable-component-update"} <= set(
        wanted["goog:chromeOptions"]["args"])
    assert hub.ended == ["s1"] and hub.sessions == {}


def test_selenium_grid_behind_basic_auth_keeps_the_key_out_of_messages(grid, site, tmp_path):
    hub = grid(user="agency", key="k3y")
    host = hub.url.removeprefix("http://")
    settings = build({}, {"browser_endpoints": [f"selenium+http://agency:k3y@{host}"], "screenshots": "off",
                          "max_pages": 1})
    outcome = run_audit([site.url], settings, load_rulebook(), tmp_path / "out")
    assert outcome.pages[0].error is None and hub.ended == ["s1"]
    wrong = build({}, {"browser_endpoints": [f"selenium+http://agency:nope@{host}"], "max_pages": 1})
    with pytest.raises(BrowserNotFound) as caught:
        run_audit([site.url], wrong, load_rulebook(), tmp_path / "out2")
    assert str(caught.value) == f"The Selenium Grid at http://{host} gave no browser: Basic auth required"


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("full", "The Selenium Grid at {url} gave no browser: Could not start a new session. No free slot"),
        ("firefox", "The Selenium Grid's browser has no DevTools endpoint (se:cdp): cro-audit needs a Chrome or Chromium node."),
    ],
)
def test_selenium_grid_refusals_are_one_line(grid, site, tmp_path, mode, message):
    hub = grid(mode=mode)
    settings = build({}, {"browser_endpoints": [f"selenium+{hub.url}"]})
    with pytest.raises(BrowserNotFound) as caught:
        run_audit([site.url], settings, load_rulebook(), tmp_path / "out")
    assert str(caught.value) == message.format(url=hub.url)
    if mode == "firefox":
        assert hub.ended == ["s1"]  # a session it cannot use is handed straight back


def test_selenium_grid_unreachable(site, tmp_path):
    settings = build({}, {"browser_endpoints": ["selenium+http://127.0.0.1:1/wd/hub"]})
    with pytest.raises(BrowserNotFound) as caught:
        run_audit([site.url], settings, load_rulebook(), tmp_path / "out")
    assert str(caught.value).startswith("Cannot reach the Selenium Grid at http://127.0.0.1:1/wd/hub: ")
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("endpoint", "message"),
    [
        ("selenium+http://u:secret@127.0.0.1:99999/", "Browser endpoint selenium+http://127.0.0.1:99999 is not a valid URL: "
                                                       "Port out of range 0-65535"),
        ("http://[::1", "Browser endpoint http://[::1 is not a valid URL: Invalid IPv6 URL"),
        ("selenium+ftp://grid/", "A Selenium Grid endpoint looks like selenium+http://grid:4444, not selenium+ftp://grid/."),
        ("selenium+", "A Selenium Grid endpoint looks like selenium+http://grid:4444."),
        ("127.0.0.1:9222", "Browser endpoint 127.0.0.1:9222 has no scheme: a Chromium started with "
                           "--remote-debugging-port is http://127.0.0.1:9222"),
        ("u:secret@grid.local:9222", "Browser endpoint grid.local:9222 has no scheme: a Chromium started with "
                                     "--remote-debugging-port is http://grid.local:9222"),
    ],
)
def test_malformed_endpoints_are_named_in_one_line(site, tmp_path, endpoint, message):
    settings = build({}, {"browser_endpoints": [endpoint]})
    with pytest.raises(BrowserNotFound) as caught:
        run_audit([site.url], settings, load_rulebook(), tmp_path / "out")
    assert str(caught.value) == message


@pytest.mark.skipif(not shutil.which("chromedriver"), reason="chromedriver is not installed (apt-get install chromium-driver)")
def test_chromedriver_as_a_webdriver_endpoint(site, tmp_path):
    """chromedriver speaks the same W3C WebDriver protocol as a grid, and names the browser's DevTools
    address the Selenium 3 way (goog:chromeOptions.debuggerAddress)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    driver = subprocess.Popen([shutil.which("chromedriver"), f"--port={port}", "--allowed-ips=127.0.0.1"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/status").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        settings = build({}, {"browser_endpoints": [f"selenium+http://127.0.0.1:{port}"], "max_pages": 2,
                              "screenshots": "off"})
        outcome = run_audit([site.url], settings, load_rulebook(), tmp_path / "out")
        assert [p.error for p in outcome.pages] == [None, None]
        assert httpx.get(f"http://127.0.0.1:{port}/status").json()["value"]["ready"] is True  # the session ended
    finally:
        driver.terminate()
        driver.wait(10)


def test_doctor_checks_each_endpoint(executable, tmp_path):
    proc, endpoint = start_devtools_chromium(executable, tmp_path / "profile")
    try:
        doctor = [sys.executable, "-m", "auditor", "doctor", "--browser-endpoint", endpoint]
        result = subprocess.run(doctor, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        assert re.fullmatch(rf"Chromium \d+\.[\d.]+ at {re.escape(endpoint)}\n", result.stdout)
        # A bad endpoint before a good one: each is told, the good one too (on stdout), and the exit says 2.
        result = subprocess.run([sys.executable, "-m", "auditor", "doctor", "--browser-endpoint", "http://127.0.0.1:1/",
                                 "--browser-endpoint", endpoint, "--browser-endpoint", "ws://127.0.0.1:1/"],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 2 and "Traceback" not in result.stderr
        assert re.fullmatch(rf"Chromium \d+\.[\d.]+ at {re.escape(endpoint)}\n", result.stdout)
        assert result.stderr.splitlines() == [
            "error: Cannot connect to the browser endpoint http://127.0.0.1:1/: connection refused: nothing is "
            "listening at that address",
            "error: Cannot connect to the browser endpoint ws://127.0.0.1:1/: connection refused: nothing is "
            "listening at that address"]
        assert proc.poll() is None  # checking a user's browser leaves it running
    finally:
        proc.terminate()
        proc.wait(10)


def test_a_remote_browser_that_goes_away_leaves_a_partial_report_and_resume_finishes_it(executable, tmp_path):
    """Killed mid-run, the browser behind --browser-endpoint ended the run with exit 2 and no report at all
    (a batch wrote no index); the pages finished are now reported as partial, and --resume finishes."""
    import json

    from tests.test_cli import closed_port, run
    from tests.test_resilience import RecordingServer

    port = closed_port()
    endpoint = f"http://127.0.0.1:{port}"

    def start() -> subprocess.Popen:
        proc = subprocess.Popen(
            [executable, "--headless", "--remote-debugging-address=127.0.0.1", f"--remote-debugging-port={port}",
             f"--user-data-dir={tmp_path / 'profile'}", *browsers.QUIET_FLAGS, "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(endpoint + "/json/version", timeout=1)
                return proc
            except httpx.HTTPError:
                time.sleep(0.1)
        raise AssertionError("the test's Chromium did not start")

    browser = start()
    kills: list[int] = []

    def deadly(attempt: int) -> tuple[int, str]:
        if not kills:  # the first request for this page takes the whole browser down, as a dying grid node would
            kills.append(browser.pid)
            browser.kill()
        return 200, page("Deadly", [])

    pages = {"/": page("Home", ["/a.html", "/b.html"], "<button>Buy</button>"), "/a.html": page("A", ["/z.html"]),
             "/b.html": page("B", []), "/z.html": deadly}
    out = tmp_path / "r"
    common = ["audit", "--out", str(out), "--devices", "desktop", "--concurrency", "1", "--screenshots", "off",
              "--browser-endpoint", endpoint]
    try:
        with RecordingServer(pages) as server:
            lost = run(*common[:1], server.url, *common[1:])
            first = json.loads((out / "report.json").read_text())
            browser.wait(10)
            browser = start()
            resumed = run(*common[:1], server.url, *common[1:], "--resume")
            hits = dict(server.attempts)
    finally:
        browser.kill()
        browser.wait(10)
    assert lost.returncode == 2 and "Traceback" not in lost.stderr, lost.stderr
    message = [line for line in lost.stderr.splitlines() if line.startswith("error:")]
    assert len(message) == 1 and "the browser went away mid-run" in message[0] and "--resume" in message[0]
    assert first["partial"] and [p["url"].removeprefix(first["start_urls"][0]) for p in first["pages"]
                                 if p["error"] is None] == ["", "a.html", "b.html"]
    assert resumed.returncode == 0, resumed.stderr
    report = json.loads((out / "report.json").read_text())
    assert not report["partial"] and [p["error"] for p in report["pages"]] == [None] * 4
    assert (hits["/"], hits["/a.html"], hits["/b.html"]) == (1, 1, 1)  # finished before the loss: not visited again
