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
