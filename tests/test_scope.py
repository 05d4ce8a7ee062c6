"""The browser never follows a page off the site: redirects and script navigations to another host are
refused before their request leaves, while embeds from other hosts still load.

Chromium resolves every *.localhost name to loopback, so "another site" here is offsite.localhost on the
same test server: its log shows whether the browser went there.
"""

from __future__ import annotations

import http.server
import threading

import pytest

from auditor.audit import run_audit
from auditor.config import build
from auditor.rulebook import load_rulebook
from tests.test_crawl import page


class HostLoggingServer:
    """Serves `routes` (path -> html, or ("redirect", location)); logs (Host header, path) of each request."""

    def __init__(self, routes: dict) -> None:
        self.log: list[tuple[str, str]] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                outer.log.append((self.headers.get("Host", "").split(":")[0], self.path))
                entry = routes.get(self.path, "<h1>Not found</h1>")
                if isinstance(entry, tuple):
                    self.send_response(302)
                    self.send_header("Location", entry[1].format(port=outer.port))
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                data = entry.format(port=outer.port).encode()
                self.send_response(200 if self.path in routes else 404)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def hosts(self) -> set[str]:
        return {host for host, _ in self.log}

    def close(self) -> None:
        self.server.shutdown()


LEAVE_AFTER_LOAD = ("<script>addEventListener('load', () => setTimeout(() => "
                    "{{ location.href = 'http://offsite.localhost:{port}/landing'; }}, 50));</script>")


@pytest.fixture
def server():
    routes = {
        "/": page("Home", ["/go", "/leave", "/embed", "/moved"]),
        "/go": ("redirect", "http://offsite.localhost:{port}/landing"),
        "/leave": page("Leaving", []).replace("</body>", LEAVE_AFTER_LOAD + "</body>"),
        "/embed": page("Embed", []).replace(
            "</body>", '<iframe src="http://offsite.localhost:{port}/widget"></iframe></body>'),
        "/moved": ("redirect", "/home-again"),
        "/home-again": page("Moved here", []),
        "/landing": page("Another site", []),
        "/widget": "<p>widget</p>",
    }
    served = HostLoggingServer(routes)
    yield served
    served.close()


def test_the_browser_never_follows_a_page_off_the_site(server, tmp_path):
    settings = build({}, {"screenshots": "off", "max_pages": 5, "max_depth": 1})
    outcome = run_audit([server.url], settings, load_rulebook(), tmp_path / "out")
    by_path = {p.url.removeprefix(server.url.rstrip("/")): p for p in outcome.pages}
    assert list(by_path) == ["/", "/go", "/leave", "/embed", "/moved"]

    landing = f"http://offsite.localhost:{server.port}/landing"
    for path in ("/go", "/leave"):  # a server redirect, and a script navigating after load
        error = by_path[path].error
        assert error is not None and error.kind == "out_of_scope"
        assert error.message.endswith(f"for {landing}; cro-audit does not follow it.")
        assert by_path[path].devices == {} and by_path[path].links == []
    # The browser never asked the other site for the landing page, on either device...
    assert ("offsite.localhost", "/landing") not in server.log
    # ...but an embed from another host is part of the page, and loads; a redirect within the site is followed.
    assert by_path["/embed"].error is None and server.log.count(("offsite.localhost", "/widget")) == 2
    assert by_path["/moved"].error is None and by_path["/moved"].final_url == server.url + "home-again"


def test_a_start_url_that_redirects_off_site_is_refused(server, tmp_path):
    settings = build({}, {"screenshots": "off", "max_pages": 1})
    outcome = run_audit([server.url + "go"], settings, load_rulebook(), tmp_path / "out")
    assert outcome.pages[0].error.kind == "out_of_scope"
    assert "offsite.localhost" not in server.hosts()
