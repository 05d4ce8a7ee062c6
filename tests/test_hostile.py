"""Hostile pages end as facts or as a coded error, within the page timeout, and the run goes on."""

from __future__ import annotations

import asyncio
import time

import pytest

from auditor.audit import run_audit
from auditor.config import build
from auditor.measure import refusal, visit
from auditor.rulebook import load_rulebook
from auditor.urls import Scope
from tests.hostile.server import CASES, HostileServer

PAGE_TIMEOUT = 12.0


@pytest.fixture(scope="module")
def hostile():
    with HostileServer(hang_seconds=30, trickle_seconds=30, memory_mb=512) as server:
        yield server


@pytest.fixture(scope="module")
def outcomes(chromium, hostile):
    """Every case visited once on desktop, four at a time, as the crawler would: name -> (outcome, seconds, visit)."""

    async def one(name: str, gate: asyncio.Semaphore):
        async with gate:
            started = time.monotonic()
            tab = chromium.tab("desktop", site_scope=site.__contains__)  # kept on the site, as the crawler keeps it
            result = await visit(tab, hostile.url_for(name), timeout=PAGE_TIMEOUT, keep=False)
            outcome = result.error.kind if result.error else "facts"
            return name, (outcome, time.monotonic() - started, result)

    site = Scope([hostile.url])

    async def all_cases():
        gate = asyncio.Semaphore(3)
        return dict(await asyncio.gather(*(one(name, gate) for name in CASES)))

    return chromium.call(all_cases(), timeout=600)


@pytest.mark.parametrize("name", sorted(CASES))
def test_case_ends_as_expected_within_the_timeout(name, outcomes):
    outcome, seconds, result = outcomes[name]
    assert outcome in CASES[name]["accept"], (outcome, result.error)
    assert seconds < PAGE_TIMEOUT + 8, seconds
    if outcome == "facts":
        assert result.facts is not None and result.facts.device == "desktop"


def test_a_redirect_loop_claims_no_status(outcomes):
    """A meta-refresh, script or reload loop answers 200 at every turn: the status of the turn it was stopped
    at made the report read "Redirect loop · HTTP status 200". An HTTP redirect loop has none either."""
    loops = {name: result.status_code for name, (outcome, _, result) in outcomes.items() if outcome == "redirect_loop"}
    assert {"meta-refresh-slow-loop", "script-redirect-loop", "reload-loop", "redirect-loop"} <= set(loops)
    assert set(loops.values()) == {None}, loops


def test_huge_page_links_are_capped(outcomes):
    _, _, result = outcomes["huge-page"]
    assert result.facts.link_count >= 30000
    assert len(result.links) == 5000  # what the crawl may queue from one page is bounded


def test_bad_links_yield_only_the_good_ones(outcomes, hostile):
    _, _, result = outcomes["bad-links"]
    from auditor.urls import BadURL, Scope, normalize

    scope = Scope([hostile.url])
    kept = []
    for link in result.links:
        try:
            url = normalize(link)
        except BadURL:
            continue
        if url in scope:
            kept.append(url)
    assert all(u.startswith(hostile.url) for u in kept)
    assert not any(u.startswith(("file:", "data:", "javascript:", "ftp:")) for u in result.links)


def test_a_page_that_replaces_built_ins_is_measured_all_the_same(outcomes, hostile):
    """The fact script runs in the audit's own JavaScript world: a page that replaces Set's iterator, Math.round,
    getComputedStyle, String.prototype.slice or its performance timeline changes nothing it reports (they
    once gave numbers as links, NaN and Infinity as times, and measure_failed)."""
    _, _, poisoned = outcomes["poison-links"]
    assert poisoned.links == [hostile.url + "normal"] and poisoned.facts.title == "Poisoned links"
    facts = outcomes["poison-types"][2].facts
    assert 0 < facts.load_ms < PAGE_TIMEOUT * 1000 and facts.cls == 0.0 and facts.lcp_ms > 0
    built_ins = outcomes["poison-built-ins"][2].facts
    assert built_ins.title == "Poisoned built-ins" and [c.text for c in built_ins.ctas] == ["Buy now"]


def test_lone_surrogates_and_bidi_overrides_do_not_reach_the_facts(outcomes):
    """Half a UTF-16 pair cannot be written to a UTF-8 report or the run store (it ended the whole run);
    a right-to-left override would turn a report line around."""
    facts = outcomes["lone-surrogate"][2].facts
    assert facts.title == "Pricing \ufffd gpj.exe"
    assert [c.text for c in facts.ctas] == ["Buy \ufffd now"]
    facts.title.encode("utf-8")  # would raise with a surrogate left in


def test_popups_a_page_opens_by_itself_send_nothing_off_the_site(outcomes, hostile):
    """A scripted click on a target=_blank link and a form posted into a new tab (window.open is replaced
    in the page already) are stopped by the browser's popup blocker before their requests leave."""
    assert outcomes["popup-click"][0] == "facts"
    assert hostile.hits["/offsite-landing"] == 0
    assert not [r for r in hostile.requests if r[0] == "POST"]


def test_speculation_rules_fetch_nothing_off_the_site(outcomes, hostile):
    """Prefetch and prerender are the browser's own requests, which the tab's navigation guard does not
    see: the rules are taken out of the page before the browser acts on them."""
    assert outcomes["speculation-rules"][0] == "facts"
    assert not [target for _, target in hostile.requests if "via=" in target]


def test_a_crawl_through_every_hostile_case_finishes(hostile, tmp_path):
    settings = build({}, {"devices": ["desktop"], "timeout": PAGE_TIMEOUT, "max_pages": 60, "max_depth": 2,
                          "screenshots": "off", "concurrency": 3, "max_per_pattern": 3, "retries": 0})
    popups_before = hostile.hits["/window-open/popup"]
    outcome = run_audit([hostile.url], settings, load_rulebook(), tmp_path / "out")
    urls = [p.url for p in outcome.pages]
    assert len(urls) == len(set(urls)) <= 60
    assert all(u.startswith(hostile.url) for u in urls)  # never out of scope, never another scheme
    assert all(p.error is not None or p.devices for p in outcome.pages)
    loops = [p for p in outcome.report["pages"] if (p["error"] or {}).get("kind") == "redirect_loop"]
    assert len(loops) >= 4 and all(p["status_code"] is None for p in loops)  # the report's page rows too
    # crawl traps: the calendar and the faceted shop are cut at the cap per query parameter
    assert sum("/calendar" in u for u in urls) == 3
    assert sum("/shop" in u for u in urls) == 3
    assert hostile.hits["/window-open/popup"] - popups_before <= 50  # the page ran once; its popups were not crawled
    assert not any("/window-open/popup" in u for u in urls)
    assert (tmp_path / "out" / "report.html").is_file()


def test_bot_walls_are_told_by_their_messages(outcomes):
    assert outcomes["bot-challenge"][2].error.message.startswith("Cloudflare's bot protection answered instead of "
                                                                 "the page (HTTP 403)")
    assert outcomes["waf-challenge-202"][2].error.message.startswith("AWS WAF's bot protection")
    assert outcomes["rate-limited"][2].error.message == (
        "The server answered HTTP 429 Too Many Requests: it limits how fast it may be crawled; it asked for a 2 s "
        "wait, and cro-audit, waiting and slowing down, ran out of retries. Run the audit again with --resume and "
        "a lower --rate (say 1) or --concurrency.")
    assert outcomes["rate-limited"][2].slow_down == 2 and outcomes["bot-challenge"][2].slow_down is None


@pytest.mark.parametrize("status, headers, title, expected", [
    (403, {"server": "cloudflare", "cf-mitigated": "challenge"}, "", "Cloudflare"),
    (503, {"server": "cloudflare"}, "Just a moment...", "Cloudflare"),
    (403, {"server": "cloudflare"}, "Attention Required! | Cloudflare", "Cloudflare"),
    (403, {"server": "cloudflare"}, "403 Forbidden", None),  # the site's own 403, served through Cloudflare
    (404, {"server": "cloudflare"}, "Page not found", None),
    (202, {"x-amzn-waf-action": "challenge"}, "", "AWS WAF"),
    (200, {"server": "nginx"}, "Just a moment...", None),  # a page may be called that
    (403, {"x-datadome": "protected"}, "", "DataDome"),
    (403, {"x-iinfo": "9-123"}, "", "Imperva"),
    (403, {"server": "Sucuri/Cloudproxy", "x-sucuri-id": "1"}, "", "Sucuri"),
    (403, {"server": "AkamaiGHost"}, "Access Denied", "Akamai"),
    (403, {"server": "AkamaiGHost"}, "Members only", None),
    (403, {}, "Access to this page has been denied", "HUMAN (PerimeterX)"),
    (429, {"server": "nginx"}, "429 Too Many Requests", "a rate limit"),
    (429, {"x-vercel-mitigated": "challenge"}, "Vercel Security Checkpoint", "Vercel"),
    (403, {"server": "nginx"}, "Forbidden", None),
])
def test_bot_walls_are_recognised_and_a_site_own_refusal_is_not(status, headers, title, expected):
    assert refusal(status, headers, title) == expected
