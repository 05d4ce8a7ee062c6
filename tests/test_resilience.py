"""Politeness and recovery: retries with backoff, rate limits, Crawl-delay, crashed tabs and browsers."""

from __future__ import annotations

import asyncio
import json
import http.server
import threading
import time
from collections import defaultdict

import pytest

from auditor.audit import run_audit
from auditor.config import build
from auditor.crawl import Crawl
from auditor.rulebook import load_rulebook
from tests.test_crawl import page


class RecordingServer:
    """Serves `pages` (path -> html, a callable(attempt) -> (status, html[, headers]), or ("redirect", location)),
    recording time and user agent of each request in `log`, and the host it was sent to in `hosts`."""

    def __init__(self, pages: dict) -> None:
        self.pages = pages
        self.log: list[tuple[float, str, str]] = []
        self.hosts: list[tuple[str, str]] = []  # (Host header without port, path)
        self.attempts: dict[str, int] = defaultdict(int)
        self.agent = threading.local()  # .value: the user agent of the request a page callable answers
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                path = self.path.split("?")[0]
                outer.log.append((time.monotonic(), path, self.headers.get("User-Agent", "")))
                outer.hosts.append((self.headers.get("Host", "").rsplit(":", 1)[0], path))
                outer.attempts[path] += 1
                outer.agent.value = self.headers.get("User-Agent", "")
                entry = outer.pages.get(path)
                if isinstance(entry, tuple):
                    self.send_response(302)
                    self.send_header("Location", entry[1])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                headers: dict = {}
                if entry is None:
                    status, body = 404, "<h1>Not found</h1>"
                elif callable(entry):
                    status, body, *more = entry(outer.attempts[path])
                    headers = more[0] if more else {}
                else:
                    status, body = 200, entry
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain" if path.endswith(".txt") else "text/html")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/"

    def __enter__(self) -> RecordingServer:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def times(self, path: str) -> list[float]:
        return [t for t, p, _ in self.log if p == path]


def settings(**values):
    return build({}, {"devices": ["desktop"], "screenshots": "off", "timeout": 15.0, **values})


def flaky(failures: int, status: int = 503):
    """A page that answers `status` for its first `failures` requests, then a normal page."""
    return lambda attempt: (status, "<h1>busy</h1>") if attempt <= failures else (200, page("Back", []))


def test_transient_errors_are_retried_with_backoff(tmp_path):
    with RecordingServer({"/": flaky(2)}) as server:
        outcome = run_audit([server.url], settings(retries=2), load_rulebook(), tmp_path / "out")
        times = server.times("/")
    assert outcome.pages[0].error is None and outcome.pages[0].status_code == 200
    assert len(times) == 3
    assert times[1] - times[0] >= 0.9 and times[2] - times[1] >= 1.9  # backing off: 1 s, then 2 s


def test_a_passing_internal_server_error_is_retried(tmp_path):
    """A 500 on one request and not the next failed the page (and a --fail-on-broken build): not retried."""
    with RecordingServer({"/": flaky(1, status=500)}) as server:
        outcome = run_audit([server.url], settings(retries=2), load_rulebook(), tmp_path / "out")
        assert len(server.times("/")) == 2
    assert outcome.pages[0].error is None and outcome.pages[0].status_code == 200


def test_retries_run_out_into_a_reported_error(tmp_path):
    with RecordingServer({"/": flaky(5)}) as server:
        outcome = run_audit([server.url], settings(retries=1), load_rulebook(), tmp_path / "out")
        assert len(server.times("/")) == 2
    assert outcome.pages[0].error.kind == "http_error" and outcome.pages[0].status_code == 503


def test_client_errors_are_never_retried(tmp_path):
    with RecordingServer({"/": page("Home", ["/gone.html"]), "/gone.html": flaky(5, status=410)}) as server:
        outcome = run_audit([server.url], settings(retries=3), load_rulebook(), tmp_path / "out")
        assert len(server.times("/gone.html")) == 1
    assert outcome.pages[1].error.kind == "http_error" and outcome.pages[1].status_code == 410


def test_an_error_status_with_an_empty_body_is_an_http_error_not_a_network_failure(tmp_path):
    """Chromium fails the navigation itself for a 4xx/5xx without a body (ERR_HTTP_RESPONSE_CODE_FAILURE):
    a broken link was reported as 'could not be loaded', with no status, and a 503 was not retried."""
    def empty(status: int, failures: int = 99):
        return lambda attempt: (status, "") if attempt <= failures else (200, page("Back", []))

    pages = {"/": page("Home", ["/gone.html", "/busy.html"]), "/gone.html": empty(404), "/busy.html": empty(503, 1)}
    with RecordingServer(pages) as server:
        outcome = run_audit([server.url], settings(retries=2), load_rulebook(), tmp_path / "out")
        asked = (len(server.times("/gone.html")), len(server.times("/busy.html")))
    gone = next(p for p in outcome.pages if p.url.endswith("/gone.html"))
    busy = next(p for p in outcome.pages if p.url.endswith("/busy.html"))
    assert (gone.error.kind, gone.status_code, gone.error.message) == ("http_error", 404, "The server answered HTTP 404.")
    assert gone.broken and gone.found_on == server.url
    assert busy.error is None and busy.status_code == 200
    assert asked == (1, 2)  # a 404 is not asked again; a 503 is, and then answers


def site_of(n: int, robots: str | None = None) -> dict:
    pages = {"/": page("Home", [f"/p{i}.html" for i in range(n)])}
    pages.update({f"/p{i}.html": page(f"P{i}", []) for i in range(n)})
    if robots is not None:
        pages["/robots.txt"] = robots
    return pages


def page_request_gaps(server: RecordingServer) -> list[float]:
    times = sorted(t for t, p, _ in server.log if p == "/" or p.endswith(".html"))
    return [b - a for a, b in zip(times, times[1:])]


def test_rate_limit_spaces_page_requests(tmp_path):
    with RecordingServer(site_of(4)) as server:
        run_audit([server.url], settings(rate=1.0, concurrency=4), load_rulebook(), tmp_path / "out")
        gaps = page_request_gaps(server)
    # Requests leave the browser 1 s apart. This server shares the auditor's process (and its GIL), so on
    # a busy machine one may be logged up to ~0.4 s late; unthrottled, four workers would send them all
    # within a fraction of a second.
    assert len(gaps) == 4 and sum(gaps) >= 3.6 and min(gaps) >= 0.5


def test_robots_crawl_delay_is_honoured(tmp_path):
    robots = "User-agent: cro-audit\nCrawl-delay: 1\n"
    with RecordingServer(site_of(2, robots)) as server:
        run_audit([server.url], settings(concurrency=4), load_rulebook(), tmp_path / "out")
        gaps = page_request_gaps(server)
    assert len(gaps) == 2 and sum(gaps) >= 1.7 and min(gaps) >= 0.6


def test_user_agent_names_the_tool_and_can_be_replaced(tmp_path):
    with RecordingServer(site_of(0)) as server:
        run_audit([server.url], settings(), load_rulebook(), tmp_path / "a")
        run_audit([server.url], settings(user_agent="AgencyBot/2.0"), load_rulebook(), tmp_path / "b")
        agents = [ua for _, p, ua in server.log if p == "/"]
    assert "cro-audit/" in agents[0] and "Chrome/" in agents[0]
    assert agents[1] == "AgencyBot/2.0"


def test_a_crashed_browser_is_relaunched_and_the_run_goes_on(tmp_path):
    with RecordingServer(site_of(6)) as server:
        crawl = Crawl(settings(concurrency=2), [server.url], tmp_path / "out")
        crashed: list = []

        def progress(done, total, result) -> None:
            if not crashed:  # after the first page, take the whole browser down
                crashed.append(crawl._browsers[0])
                asyncio.ensure_future(_crash_browser(crawl._browsers[0]))

        crawl.progress = progress
        pages = asyncio.run(crawl.run())
    assert len(pages) == 7
    assert crawl._browsers[0] is not crashed[0]  # a new browser took over
    measured = [p for p in pages if p.error is None]
    assert len(measured) >= 6, [(p.url, p.error) for p in pages]
    assert all(p.error.kind == "browser_crash" for p in pages if p.error is not None)


async def _crash_browser(browser) -> None:
    session = await browser.new_browser_cdp_session()
    try:
        await session.send("Browser.crash")
    except Exception:  # noqa: BLE001 - the browser goes away mid-call
        pass


def test_a_crashed_tab_is_reported_and_the_next_page_gets_a_new_one(tmp_path):
    """A page whose renderer dies (here: it navigates to chrome://crash from the address bar's point of view,
    which only the browser can do, so the test crashes it through DevTools) is an error entry."""
    with RecordingServer({"/": page("Home", ["/slow.html", "/after.html"]),
                          "/slow.html": page("Slow", [], '<img src="/never.png">'),
                          "/after.html": page("After", [])}) as server:
        crawl = Crawl(settings(concurrency=1, timeout=10.0), [server.url], tmp_path / "out")

        async def crash_when_slow_page_opens() -> None:
            while True:
                await asyncio.sleep(0.05)
                for context in crawl._browsers[0].contexts if crawl._browsers else []:
                    for tab in context.pages:
                        if tab.url.endswith("/slow.html"):
                            session = await context.new_cdp_session(tab)
                            try:
                                await session.send("Page.crash")
                            except Exception:  # noqa: BLE001
                                pass
                            return

        async def main():
            killer = asyncio.ensure_future(crash_when_slow_page_opens())
            try:
                return await crawl.run()
            finally:
                killer.cancel()

        pages = asyncio.run(main())
    by_path = {p.url.rsplit("/", 1)[1]: p for p in pages}
    assert by_path["slow.html"].error is not None
    assert by_path["slow.html"].error.kind in {"browser_crash", "measure_failed"}
    assert by_path["after.html"].error is None and by_path[""].error is None


def test_a_linked_file_is_counted_not_listed_as_a_page_and_a_file_start_url_is_told(tmp_path):
    with RecordingServer({"/": page("Home", ["/notes.txt", "/gone.txt"]), "/notes.txt": "just text"}) as server:
        outcome = run_audit([server.url], settings(), load_rulebook(), tmp_path / "out")
        file_start = run_audit([server.url + "notes.txt"], settings(), load_rulebook(), tmp_path / "file")
    assert [p.url.rsplit("/", 1)[1] for p in outcome.pages] == ["", "gone.txt"]  # a broken file link stays
    assert outcome.report["not_followed"]["file"] == {"count": 1, "examples": [server.url + "notes.txt"]}
    assert outcome.report["summary"]["pages_failed"] == 1
    assert file_start.unreachable[0].error.kind == "not_html" and "text/plain" in file_start.unreachable[0].error.message


# ---- a site that turns the auditor away --------------------------------------------------------------
CHALLENGE = ('<!doctype html><html><head><title>Just a moment...</title></head>'
             '<body><h1>Checking your browser</h1></body></html>')
CLOUDFLARE = {"Server": "cloudflare", "cf-mitigated": "challenge", "CF-RAY": "8e0f1a2b3c4d5e6f-AMS"}


def walled_site(n: int, lifted: list[bool]) -> dict:
    """Home and n pages; every page but home answers Cloudflare's challenge (as a 503, which would be
    retried if it were a plain one) until `lifted[0]` is set."""
    pages = {"/": page("Home", [f"/p{i}.html" for i in range(n)])}
    for i in range(n):
        pages[f"/p{i}.html"] = lambda attempt, i=i: (200, page(f"P{i}", [])) if lifted[0] else (503, CHALLENGE, CLOUDFLARE)
    return pages


def test_a_bot_wall_is_reported_not_retried_and_stops_the_crawl(tmp_path):
    lifted = [False]
    with RecordingServer(walled_site(12, lifted)) as server:
        outcome = run_audit([server.url], settings(retries=2, concurrency=2), load_rulebook(), tmp_path / "out")
        asked = [p for _, p, _ in server.log if p.startswith("/p")]
        refused = [p for p in outcome.pages if p.error is not None]
        assert all(p.error.kind == "refused" and p.error.message.startswith("Cloudflare's bot protection") for p in refused)
        assert len(asked) == len(set(asked))  # never asked twice: a challenge is not passed by retrying
        # It stops after five refusals in a row; the other worker's visit in flight still ends.
        assert 5 <= len(refused) <= 6 and len(asked) == len(refused)
        assert outcome.report["not_followed"]["refused"]["count"] == 12 - len(refused)
        assert outcome.pages[0].error is None and outcome.report["score"] is not None

        # The owner lets the auditor through; --resume asks again only where it was turned away.
        lifted[0] = True
        server.log.clear()
        again = run_audit([server.url], settings(retries=2, concurrency=2), load_rulebook(), tmp_path / "out", resume=True)
        asked_again = [p for _, p, _ in server.log if p == "/" or p.startswith("/p")]
    assert "/" not in asked_again and sorted(asked_again) == sorted(f"/p{i}.html" for i in range(12))
    assert len(again.pages) == 13 and all(p.error is None for p in again.pages)
    assert "refused" not in again.report["not_followed"]


def test_resume_asks_again_where_the_site_was_down_or_too_slow_not_where_it_answered(tmp_path):
    """After an outage a resumed run finishes the audit: a page that timed out or could not be reached may
    answer now, and so may a server error (500, 502-504) the retries did not outlast. A 404 or a 501 would
    say the same again: they are kept."""
    def slow_then_fine(attempt):
        if attempt == 1:
            time.sleep(4)  # past the 2 s page timeout
        return 200, page("Slow", [])

    down = [True]
    pages = {"/": page("Home", ["/slow.html", "/gone.html", "/fine.html", "/down.html", "/never.html"]),
             "/slow.html": slow_then_fine, "/fine.html": page("Fine", []),
             "/down.html": lambda attempt: (503, page("Down", [])) if down[0] else (200, page("Up", [])),
             "/never.html": lambda attempt: (501, page("Not implemented", []))}
    with RecordingServer(pages) as server:
        first = run_audit([server.url], settings(timeout=2.0, retries=0), load_rulebook(), tmp_path / "out")
        assert {p.url.rsplit("/", 1)[1]: p.error and p.error.kind for p in first.pages} == {
            "": None, "slow.html": "timeout", "gone.html": "http_error", "fine.html": None,
            "down.html": "http_error", "never.html": "http_error"}
        server.log.clear()
        down[0] = False
        again = run_audit([server.url], settings(timeout=2.0, retries=0), load_rulebook(), tmp_path / "out", resume=True)
        asked_again = [p for _, p, _ in server.log if p.endswith(".html") or p == "/"]
    assert sorted(asked_again) == ["/down.html", "/slow.html"]
    assert {p.url.rsplit("/", 1)[1]: p.error and p.error.kind for p in again.pages} == {
        "": None, "slow.html": None, "gone.html": "http_error", "fine.html": None, "down.html": None,
        "never.html": "http_error"}


def test_a_site_own_forbidden_page_is_an_http_error_and_does_not_stop_the_crawl(tmp_path):
    """The other side: a 403 of the site's own (even behind Cloudflare) is not a bot wall."""
    forbidden = lambda attempt: (403, page("Forbidden", []), {"Server": "cloudflare"})  # noqa: E731
    pages = {"/": page("Home", [f"/p{i}.html" for i in range(7)]), **{f"/p{i}.html": forbidden for i in range(6)},
             "/p6.html": page("Last", [])}
    with RecordingServer(pages) as server:
        outcome = run_audit([server.url], settings(concurrency=1), load_rulebook(), tmp_path / "out")
    assert [p.error.kind if p.error else None for p in outcome.pages] == [None] + ["http_error"] * 6 + [None]


def test_the_cli_says_who_turned_the_auditor_away_and_what_was_left(tmp_path):
    import subprocess
    import sys

    with RecordingServer(walled_site(12, [False])) as server:
        (tmp_path / "sites.txt").write_text(server.url + "\n")
        audit = subprocess.run(
            [sys.executable, "-m", "auditor", "audit", server.url, "--out", str(tmp_path / "one"),
             "--devices", "desktop", "--concurrency", "1"], capture_output=True, text=True, timeout=300)
        batch = subprocess.run(
            [sys.executable, "-m", "auditor", "batch", str(tmp_path / "sites.txt"), "--out", str(tmp_path / "many"),
             "--devices", "desktop", "--concurrency", "1"], capture_output=True, text=True, timeout=300)
    assert audit.returncode == 3, audit.stderr  # incomplete: the pages it could audit are scored, the rest told
    lines = audit.stderr.strip().splitlines()
    assert lines[-2].startswith(f"5 pages turned the auditor away, first {server.url}p0.html: Cloudflare's bot "
                                "protection answered instead of the page (HTTP 503)")
    assert lines[-1] == ("Links not followed: 7 left unvisited once the site (or that part of it) had turned the "
                         "auditor away 5 times in a row.")
    name = server.url.split("/")[2].replace(":", "-")
    assert batch.returncode == 3, batch.stderr
    assert "; 5 pages turned the auditor away (Cloudflare's bot protection" in batch.stderr
    assert batch.stderr.strip().endswith(f"1 site turned the auditor away on some pages (incomplete): {name}.")
    index = json.loads((tmp_path / "many" / "index.json").read_text())
    assert index["sites"][0]["refused_pages"] == 5
    assert "5 pages turned the auditor away (bot protection or a rate limit): the audit is incomplete" in (
        tmp_path / "many" / "index.html").read_text()


def test_a_rate_limit_is_waited_out_and_the_crawl_slows_down(tmp_path):
    """429 with Retry-After: 1 on the second page's first request. The crawl waits that second, asks again
    (it gets the page), and from then on keeps a second between requests to that host."""
    limited = lambda attempt: (429, "<h1>Slow down</h1>", {"Retry-After": "1"}) if attempt == 1 else (200, page("P1", []))  # noqa: E731
    pages = {**site_of(4), "/p1.html": limited}
    with RecordingServer(pages) as server:
        outcome = run_audit([server.url], settings(concurrency=1), load_rulebook(), tmp_path / "out")
        times = sorted(t for t, p, _ in server.log if p.endswith(".html"))
        p1 = server.times("/p1.html")
    assert all(p.error is None for p in outcome.pages), [p.error for p in outcome.pages]
    assert len(p1) == 2 and p1[1] - p1[0] >= 0.95
    later = [t for t in times if t >= p1[1]]
    assert len(later) == 3 and all(b - a >= 0.9 for a, b in zip(later, later[1:]))  # one a second from then on


def test_a_rate_limit_that_never_lifts_stops_the_crawl_after_five_answers(tmp_path):
    """Every page answers 429 (Retry-After: 1): each answer, retries included, counts toward the five in a
    row, so the crawl gives up after two pages' worth of asking, not after every page has had its retries."""
    always = lambda attempt: (429, "<h1>Slow down</h1>", {"Retry-After": "1"})  # noqa: E731
    pages = {"/": page("Home", [f"/p{i}.html" for i in range(8)]), **{f"/p{i}.html": always for i in range(8)}}
    with RecordingServer(pages) as server:
        outcome = run_audit([server.url], settings(concurrency=1, retries=2), load_rulebook(), tmp_path / "out")
        asked = [p for _, p, _ in server.log if p.startswith("/p")]
    assert asked == ["/p0.html"] * 3 + ["/p1.html"] * 2
    assert [p.error.kind for p in outcome.pages[1:]] == ["refused", "refused"]
    assert outcome.report["not_followed"]["refused"]["count"] == 6


def test_a_walled_section_is_left_and_the_rest_of_the_site_is_audited(tmp_path):
    """A customer area behind a challenge: five of its pages refused in a row close that section only."""
    walled = lambda attempt: (403, CHALLENGE, CLOUDFLARE)  # noqa: E731
    area = ["/customers/"] + [f"/customers/{name}/" for name in "abcdef"]
    pages = {"/": page("Home", [*area, "/about.html", "/blog.html"]), **{path: walled for path in area},
             "/about.html": page("About", ["/customers/g/"]), "/blog.html": page("Blog", [])}
    with RecordingServer(pages) as server:
        outcome = run_audit([server.url], settings(concurrency=1), load_rulebook(), tmp_path / "out")
        asked = [p for _, p, _ in server.log if p.startswith("/customers")]
    assert asked == area[:5]  # the sixth and seventh are not asked for, nor /customers/g/ a level later
    assert [p.url.split("/", 3)[3] for p in outcome.pages] == ["", *[a[1:] for a in area[:5]], "about.html", "blog.html"]
    assert outcome.report["not_followed"]["refused"]["count"] == 3


def test_every_page_asked_for_before_the_stop_is_in_the_report(tmp_path):
    """Two devices: when the crawl stops, a page whose desktop visit was refused and whose mobile one never
    went is reported as refused, not counted as unvisited."""
    with RecordingServer(walled_site(12, [False])) as server:
        outcome = run_audit([server.url], build({}, {"screenshots": "off", "timeout": 15.0, "concurrency": 2}),
                            load_rulebook(), tmp_path / "out")
        asked = {p for _, p, _ in server.log if p.startswith("/p")}
    reported = {p.url.rsplit("/", 1)[1] for p in outcome.pages if p.error is not None}
    assert {a[1:] for a in asked} == reported
    assert outcome.report["not_followed"]["refused"]["count"] == 12 - len(reported)


def test_an_error_page_served_with_200_is_a_broken_link(tmp_path):
    """A "soft 404": the status says fine, the title says not found. A page about 404 pages is a page."""
    soft = ["/discontinued-lamp", "/old-offer", "/gone"]
    pages = {"/": page("Home", [*soft, "/blog/404-pages", "/studio"]),
             "/discontinued-lamp": page("Page not found - Lamp Shop", []), "/old-offer": page("Error 404 | Shop", []),
             "/gone": page("Oops! That page can't be found. Page not found", []),
             "/blog/404-pages": page("How we fixed our 404 page", []), "/studio": page("404 Studio – design agency", [])}
    with RecordingServer(pages) as server:
        outcome = run_audit([server.url], settings(), load_rulebook(), tmp_path / "out")
    kinds = {p.url.split("/", 3)[3]: p.error.kind if p.error else None for p in outcome.pages}
    assert kinds == {"": None, "discontinued-lamp": "http_error", "old-offer": "http_error", "gone": "http_error",
                     "blog/404-pages": None, "studio": None}
    lamp = outcome.pages[1]
    assert lamp.status_code == 200 and lamp.broken and lamp.devices == {} and lamp.error.message == (
        'The server answered HTTP 200, but the page says it was not found ("Page not found - Lamp Shop"): '
        "a broken link the server does not report.")


def test_the_cli_says_why_it_is_waiting_when_a_site_asks_for_a_pause(tmp_path):
    import subprocess
    import sys

    limited = lambda attempt: (429, "<h1>Slow down</h1>", {"Retry-After": "1"}) if attempt == 1 else (200, page("P0", []))  # noqa: E731
    with RecordingServer({**site_of(1), "/p0.html": limited}) as server:
        result = subprocess.run(
            [sys.executable, "-m", "auditor", "audit", server.url, "--out", str(tmp_path / "r"), "--devices", "desktop",
             "--screenshots", "off"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    host = server.url.split("/")[2]
    assert f"{host} asked for a pause (HTTP 429): waiting 1 s, then at most one request every 1 s" in result.stderr


def test_a_signal_while_the_report_is_written_is_heard_not_obeyed_at_once():
    """Ctrl-C after the last page used to stop the run between report.json and report.html (exit 130, no
    message): the report begun is finished, and the signal told after."""
    import os
    import signal

    from auditor.audit import _held_signals

    caught: list[str] = []
    before = signal.getsignal(signal.SIGINT)
    with _held_signals(caught):
        os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.1)  # handlers run between bytecodes: a KeyboardInterrupt would surface here
    assert caught == ["SIGINT", "SIGTERM"]
    assert signal.getsignal(signal.SIGINT) is before


def test_resume_asks_again_where_one_device_met_a_server_error(tmp_path):
    """The other device's visit speaks for the page's status (200), so the 503 one device met is remembered
    apart, and a resumed run measures the page again on both."""
    down = [True]
    pages = {"/": page("Home", ["/half.html"]),
             "/half.html": lambda attempt: (503, "<h1>busy</h1>") if down[0] and "Mobile" in server.agent.value
             else (200, page("Half", []))}
    two = {"devices": ["desktop", "mobile"], "retries": 0}
    with RecordingServer(pages) as server:
        first = run_audit([server.url], settings(**two), load_rulebook(), tmp_path / "out")
        half = first.pages[1]
        assert half.error.message == "mobile: The server answered HTTP 503." and half.status_code == 200
        assert half.score is not None
        server.log.clear()
        down[0] = False
        again = run_audit([server.url], settings(**two), load_rulebook(), tmp_path / "out", resume=True)
        asked_again = sorted(p for _, p, _ in server.log if p.endswith(".html") or p == "/")
    assert asked_again == ["/half.html", "/half.html"]
    assert [p.error for p in again.pages] == [None, None]


def test_a_stopped_run_counts_the_pages_it_did_not_reach_apart_from_those_beyond_the_budget(tmp_path, monkeypatch):
    """Ctrl-C with pages in flight told only '3 beyond max-pages 4' over 2 pages: the stop, not the budget, is
    why /p1 and /p2 are missing, and --resume visits them. /p3-/p5 are beyond the budget either way."""
    import io
    import os
    import signal

    import jsonschema
    from importlib import resources
    from rich.console import Console

    from auditor import cli

    answer = threading.Event()

    def held(title):  # in flight when the Ctrl-C comes; answers once the first run is over
        return lambda attempt: (answer.wait(20), (200, page(title, [])))[1]

    pages = {"/": page("Home", [f"/p{i}.html" for i in range(6)]), "/p0.html": page("P0", []),
             "/p1.html": held("P1"), "/p2.html": held("P2"), **{f"/p{i}.html": page(f"P{i}", []) for i in range(3, 6)}}

    def ctrl_c_after_p0(done, total, result):
        if result.url.endswith("/p0.html"):
            os.kill(os.getpid(), signal.SIGINT)

    with RecordingServer(pages) as server:
        server.server.handle_error = lambda request, address: None  # the held answers, to a browser gone
        stopped = run_audit([server.url], settings(max_pages=4, concurrency=3), load_rulebook(), tmp_path / "out",
                            progress=ctrl_c_after_p0)
        answer.set()
        server.log.clear()
        resumed = run_audit([server.url], settings(max_pages=4, concurrency=3), load_rulebook(), tmp_path / "out",
                            resume=True)
        asked_again = sorted(p for _, p, _ in server.log if p.endswith(".html") or p == "/")
    url = server.url
    assert stopped.interrupted and [p.url for p in stopped.pages] == [url, url + "p0.html"]
    assert stopped.report["not_followed"] == {
        "interrupted": {"count": 2, "examples": [url + "p1.html", url + "p2.html"]},
        "max_pages": {"count": 3, "examples": [url + "p3.html", url + "p4.html", url + "p5.html"]}}
    schema = json.loads(resources.files("auditor").joinpath("report.schema.json").read_text())
    jsonschema.validate(json.loads((tmp_path / "out" / "report.json").read_text()), schema)
    screen = io.StringIO()
    monkeypatch.setattr(cli, "err", Console(file=screen, width=300, color_system=None))
    monkeypatch.setattr("builtins.print", lambda *args, **kwargs: None)  # the report's path, on stdout
    assert cli._finish(stopped, settings(max_pages=4), quiet=False) == 130
    assert "Links not followed: 2 not reached before the run stopped; 3 beyond max-pages 4.\n" in screen.getvalue()
    # Never audited, so asked for again; the budget's choice stands.
    assert asked_again == ["/p1.html", "/p2.html"]
    assert resumed.report["not_followed"] == {
        "max_pages": {"count": 3, "examples": [url + "p3.html", url + "p4.html", url + "p5.html"]}}


class Notices:
    """A run's progress callback that keeps the notices it is told (the lines no progress bar explains)."""

    def __init__(self) -> None:
        self.told: list[str] = []
        self.stages: list[str] = []

    def __call__(self, *args) -> None:
        pass

    def notice(self, text: str) -> None:
        self.told.append(text)

    def stage(self, text: str) -> None:
        self.stages.append(text)


def test_a_visit_a_speed_rule_would_flag_is_measured_again_alone(tmp_path):
    """Timings taken with pages at once read high on a small machine (a trial: 2.2 s for a page that loads in
    0.7 s alone). A visit that would make a speed finding, but not at a third of its timings, is measured
    again once the crawl is done, and keeps the faster timings: a server slow once is not reported slow. A
    server far too slow for contention to explain is not asked again: its finding stands as measured."""
    def slow_once(attempt: int):
        time.sleep(1.5 if attempt == 1 else 0)  # SPD003 flags 1.5 s; a third of it, 0.5 s, it would not
        return 200, page("Once", [])

    def always_slow(attempt: int):
        time.sleep(3.0)  # a third of it, 1.0 s, is still flagged
        return 200, page("Always", [])

    pages = {"/": page("Home", ["/once.html", "/always.html"]), "/once.html": slow_once, "/always.html": always_slow}
    with RecordingServer(pages) as server:
        progress = Notices()
        out = run_audit([server.url], settings(concurrency=2), load_rulebook(), tmp_path / "out", progress=progress)
        once, always = server.attempts["/once.html"], server.attempts["/always.html"]
        alone = run_audit([server.url], settings(concurrency=1), load_rulebook(), tmp_path / "alone")
    facts = {p.url.rsplit("/", 1)[1]: p.devices["desktop"] for p in out.pages}
    findings = {p.url.rsplit("/", 1)[1]: {f.rule_id for f in p.findings} for p in out.pages}
    assert (once, always) == (2, 1)  # the doubtful one visited again, once; the hopeless one not
    assert progress.told == ["Measuring 1 slow visit again, one at a time (the crawl measured 2 pages at once)"]
    assert "measuring slow visits again: 1 of 1" in progress.stages  # the bar moves while they are measured
    assert facts["once.html"].ttfb_ms < 1000 and "SPD003" not in findings["once.html"]
    assert not facts["once.html"].crowded and not facts["always.html"].crowded  # measured alone, or never doubtful
    assert facts["always.html"].ttfb_ms >= 2900 and "SPD003" in findings["always.html"]
    assert facts[""].ttfb_ms < 1000  # never flagged, never asked again
    assert server.attempts["/once.html"] == 3 and server.attempts["/"] == 2  # one page at a time: no second visit
    assert next(p for p in alone.pages if p.url.endswith("/once.html")).devices["desktop"].ttfb_ms < 1000


def test_doubtful_visits_left_when_the_time_to_measure_again_runs_out_are_told(tmp_path, monkeypatch):
    """Visits measured again are bounded in time; a trial's big site kept 25 doubtful speed findings past the
    old cap of ten, and nothing said so. Those left are counted, with the way to measure every page alone."""
    from auditor import crawl

    monkeypatch.setattr(crawl, "RECHECK_S", 0.0)
    monkeypatch.setattr(crawl, "RECHECK_SHARE", 0.0)

    def slow_once(title: str):
        def answer(attempt: int):
            time.sleep(1.5 if attempt == 1 else 0)
            return 200, page(title, [])
        return answer

    pages = {"/": page("Home", ["/a.html", "/b.html"]), "/a.html": slow_once("A"), "/b.html": slow_once("B")}
    with RecordingServer(pages) as server:
        progress = Notices()
        out = run_audit([server.url], settings(concurrency=2), load_rulebook(), tmp_path / "out", progress=progress)
    # The report says it too (a second trial found only the terminal did): the visits, and their findings.
    left = {p.url.rsplit("/", 1)[1]: p for p in out.pages}
    assert [left[name].devices["desktop"].crowded for name in ("", "a.html", "b.html")] == [False, True, True]
    assert all("Measured while other pages loaded at the same time, and not again alone, so it may read high"
               in f.message for name in ("a.html", "b.html") for f in left[name].findings if f.rule_id.startswith("SPD"))
    assert any(f.rule_id.startswith("SPD") for f in left["a.html"].findings)
    assert progress.told == ["Measuring 2 slow visits again, one at a time (the crawl measured 2 pages at once)",
                    "  2 of them kept the timings measured 2 at once (the time allowed ran out): their speed findings "
                    "may read high; --concurrency 1 measures every page alone"]


def cached_site(name: str = "") -> dict:
    """A home page and two pages, all showing one logo that may be cached for an hour."""
    logo = '<img src="/logo.svg" width="80" height="20" alt="logo">'
    svg = '<svg xmlns="http://www.w3.org/2000/svg" width="80" height="20"></svg>'
    return {"/": page(f"{name}Home", ["/a.html", "/b.html"], logo), "/a.html": page(f"{name}A", [], logo),
            "/b.html": page(f"{name}B", [], logo), "/logo.svg": lambda attempt: (200, svg, {"Cache-Control": "max-age=3600"})}


@pytest.mark.parametrize(("warm", "logo_requests"), [(False, 3), (True, 1)])
def test_warm_cache_keeps_the_start_pages_files_for_the_pages_after_it(tmp_path, warm, logo_requests):
    """Without --warm-cache every visit fetches the logo (a first visit); with it, the start page's visit
    leaves it cached and the pages after it do not ask again."""
    with RecordingServer(cached_site()) as server:
        outcome = run_audit([server.url], settings(concurrency=1, warm_cache=warm), load_rulebook(), tmp_path / "out")
        assert len(server.times("/logo.svg")) == logo_requests
        assert len(server.times("/")) == 1  # one worker: its start page's visit primed its tab
    assert [p.url for p in outcome.pages] == [server.url, server.url + "a.html", server.url + "b.html"]
    assert json.loads((tmp_path / "out" / "report.json").read_text())["settings"]["warm_cache"] is warm


def test_warm_cache_primes_each_new_tab_with_the_start_page_under_the_rate_limit(tmp_path):
    """A tab whose first visit is not the start page opens the start page first; that request waits its turn
    under --rate like any page's."""
    with RecordingServer(cached_site()) as server:
        run_audit([server.url], settings(concurrency=1, warm_cache=True, rate=2.0, devices=["desktop", "mobile"]),
                  load_rulebook(), tmp_path / "out")
        homes = len(server.times("/"))
        gaps = page_request_gaps(server)
    # One worker keeps one tab at a time: it measures the start page on desktop, then on mobile (a new tab), then
    # a.html and b.html on desktop (a new tab: primed first), then on mobile (primed again). Each tab fetches
    # the logo once.
    assert homes == 4 and len(server.times("/logo.svg")) == 4
    assert len(gaps) == 7 and min(gaps) >= 0.3  # 0.5 s apart, give or take a busy machine's logging


def test_a_start_page_that_hangs_when_priming_does_not_hold_up_the_pages_after_it(tmp_path):
    """The start page answers its two measured visits, then never again: each priming gives up at the page
    timeout and the pages are measured all the same, with the cache as the priming left it."""
    site = cached_site()
    home = site["/"]

    def start(attempt: int):
        if attempt > 2:
            time.sleep(30)
        return 200, home

    site["/"] = start
    with RecordingServer(site) as server:
        outcome = run_audit([server.url], settings(concurrency=1, warm_cache=True, timeout=3.0, devices=["desktop", "mobile"]),
                            load_rulebook(), tmp_path / "out")
        primes = len(server.times("/")) - 2
    assert primes == 2
    assert [(p.url.rsplit("/", 1)[1], p.error, sorted(p.devices)) for p in outcome.pages] == [
        ("", None, ["desktop", "mobile"]), ("a.html", None, ["desktop", "mobile"]), ("b.html", None, ["desktop", "mobile"])]


def test_warm_cache_never_primes_with_a_start_page_robots_txt_disallows(tmp_path):
    """The priming is a visit like any other: a start page robots.txt keeps cro-audit from is not opened to
    fill the cache; the first start page it may open is."""
    site = cached_site()
    site["/private/"] = site.pop("/")
    site["/robots.txt"] = "User-agent: *\nDisallow: /private/\n"
    site["/a.html"] = page("A", ["/b.html"], '<img src="/logo.svg" width="80" height="20" alt="logo">')
    with RecordingServer(site) as server:
        outcome = run_audit([server.url + "private/", server.url + "a.html"], settings(concurrency=1, warm_cache=True),
                            load_rulebook(), tmp_path / "out")
        assert server.times("/private/") == []
        assert len(server.times("/a.html")) == 1 and len(server.times("/logo.svg")) == 1  # b.html found it cached
    assert [(p.url.removeprefix(server.url), p.error and p.error.kind) for p in outcome.pages] == [
        ("private/", "blocked_by_robots"), ("a.html", None), ("b.html", None)]


def test_warm_cache_primes_with_each_sites_own_start_page_and_never_a_failed_one(tmp_path):
    """Two sites in one audit: the browser keeps each site's cache apart, so a page of the second site is
    primed with the second site's start page, not the first's. A start page that failed (a 404 caches
    nothing of the site) is not opened again to fill a tab's cache: the next start page of its site is."""
    first, second = cached_site("One "), cached_site("Two ")  # not one site's copy of the other's pages
    first["/missing.html"] = lambda attempt: (404, "<h1>Not found</h1>")
    with RecordingServer(first) as one, RecordingServer(second) as two:
        # One worker, two devices: each level's visits change tabs, and each new tab is primed (see above).
        run_audit([one.url + "missing.html", one.url, two.url], settings(concurrency=1, warm_cache=True, max_depth=1,
                  devices=["desktop", "mobile"]), load_rulebook(), tmp_path / "out")
        assert len(one.times("/missing.html")) == 2  # its two visits; never a priming
        assert len(two.times("/")) == 4  # two visits, and the primings of its pages' new tabs
        assert len(one.times("/")) == 4


def test_warm_cache_never_primes_with_a_start_page_still_being_measured(tmp_path):
    """A trial's race: the tabs measuring the second start page opened the first, a 404 whose own visit had
    not finished yet, to fill their cache. A start page primes only once its visit is done and went well."""
    site = cached_site()
    site["/missing.html"] = lambda attempt: (404, "<h1>Not found</h1>")
    with RecordingServer(site) as server:
        run_audit([server.url + "missing.html", server.url], settings(concurrency=4, warm_cache=True,
                  devices=["desktop", "mobile"]), load_rulebook(), tmp_path / "out")
        assert len(server.times("/missing.html")) == 2  # its two measured visits only
