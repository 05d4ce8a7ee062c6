"""The browser never follows a page off the site: redirects and script navigations to another host are
refused before their request leaves, while embeds from other hosts still load.

Chromium resolves every *.localhost name to loopback, so "another site" here is offsite.localhost on the
same test server: its log shows whether the browser went there.
"""

from __future__ import annotations

import pytest

from auditor.audit import run_audit
from auditor.config import build
from auditor.rulebook import load_rulebook
from auditor.urls import Scope
from tests.test_crawl import page
from tests.test_resilience import RecordingServer


LEAVE_AFTER_LOAD = ("<script>addEventListener('load', () => setTimeout(() => "
                    "{{ location.href = '{offsite}/landing'; }}, 50));</script>")


@pytest.fixture
def server():
    with RecordingServer({}) as served:
        offsite = f"http://offsite.localhost:{served.port}"
        served.pages.update({
            "/": page("Home", ["/go", "/leave", "/embed", "/moved"]),
            "/go": ("redirect", f"{offsite}/landing"),
            "/leave": page("Leaving", []).replace("</body>", LEAVE_AFTER_LOAD.format(offsite=offsite) + "</body>"),
            "/embed": page("Embed", []).replace("</body>", f'<iframe src="{offsite}/widget"></iframe></body>'),
            "/moved": ("redirect", "/home-again"),
            "/home-again": page("Moved here", []),
            "/landing": page("Another site", []),
            "/widget": "<p>widget</p>",
        })
        yield served


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
    assert ("offsite.localhost", "/landing") not in server.hosts
    # ...but an embed from another host is part of the page, and loads; a redirect within the site is followed.
    assert by_path["/embed"].error is None and server.hosts.count(("offsite.localhost", "/widget")) == 2
    assert by_path["/moved"].error is None and by_path["/moved"].final_url == server.url + "home-again"


def test_a_popup_opened_on_load_goes_nowhere(server, tmp_path):
    offsite = f"http://offsite.localhost:{server.port}"
    server.pages["/popup"] = page("Popup", []).replace(
        "</body>", f"<script>onload = () => window.open('{offsite}/landing');</script></body>")
    settings = build({}, {"screenshots": "off", "max_pages": 1})
    outcome = run_audit([server.url + "popup"], settings, load_rulebook(), tmp_path / "out")
    assert outcome.pages[0].error is None and sorted(outcome.pages[0].devices) == ["desktop", "mobile"]
    assert all(host != "offsite.localhost" for host, _ in server.hosts)


def test_a_start_url_that_redirects_off_site_is_refused(server, tmp_path):
    settings = build({}, {"screenshots": "off", "max_pages": 1})
    outcome = run_audit([server.url + "go"], settings, load_rulebook(), tmp_path / "out")
    assert outcome.pages[0].error.kind == "out_of_scope"
    assert all(host != "offsite.localhost" for host, _ in server.hosts)


def test_another_port_of_the_same_host_is_another_site():
    """A browser treats another port as another origin: a dev server or an admin panel on :8080 is not the shop."""
    scope = Scope(["https://www.shop.example/", "http://127.0.0.1:8102/"])
    assert "http://shop.example:8080/admin" not in scope and "https://www.shop.example:8443/" not in scope
    assert not scope.admits("http://shop.example:443/")  # https's port, under http: not a default port
    assert "http://127.0.0.1:8103/" not in scope and "http://localhost:8102/" not in scope


def test_default_ports_and_a_start_urls_own_port_are_the_site():
    scope = Scope(["https://www.shop.example/", "http://127.0.0.1:8102/"])
    assert "http://shop.example/cart" in scope  # http and https of the site: an upgrade stays on it
    assert scope.admits("https://shop.example:443/x") and scope.admits("HTTP://WWW.shop.example:80/")
    assert "http://127.0.0.1:8102/x" in scope and "https://127.0.0.1:8102/" in scope  # the port a start URL names
    assert "http://127.0.0.1/" in scope  # and its host's default ports
    assert "ftp://shop.example/" not in scope and "ftp://127.0.0.1:8102/" not in scope  # http(s) only, on any port
    www = Scope(["http://www.dev.example:8080/"])  # www. and the bare domain are one site, on the start's port too
    assert "http://dev.example:8080/a" in www and "http://www.dev.example/" in www and "http://dev.example:8081/" not in www


def test_a_crawl_stays_off_another_port_of_the_host(server, tmp_path):
    """Links, a redirect and a sitemap entry to the same host on another port: none is followed."""
    with RecordingServer({}) as other:
        dev = f"http://127.0.0.1:{other.port}/admin"
        other.pages["/admin"] = page("Admin panel", [])
        server.pages.update({
            "/": page("Home", [dev, "/to-dev", "/stay"]),
            "/to-dev": ("redirect", dev),
            "/stay": page("Stay", []),
            "/sitemap.xml": f"<urlset><url><loc>{dev}?from=sitemap</loc></url></urlset>",
        })
        settings = build({}, {"devices": ["desktop"], "screenshots": "off", "max_pages": 10, "max_depth": 2})
        outcome = run_audit([server.url], settings, load_rulebook(), tmp_path / "out")
    by_path = {p.url.removeprefix(server.url.rstrip("/")): p for p in outcome.pages}
    assert sorted(by_path) == ["/", "/stay", "/to-dev"]
    assert by_path["/to-dev"].error.kind == "out_of_scope" and dev in by_path["/to-dev"].error.message
    assert other.log == []  # the browser was stopped before asking, and nothing else asked either
