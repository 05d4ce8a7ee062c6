"""Hostile pages end as facts or as a coded error, within the page timeout, and the run goes on."""

from __future__ import annotations

import asyncio
import time

import pytest

from auditor.audit import run_audit
from auditor.config import build
from auditor.measure import visit
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


def test_a_crawl_through_every_hostile_case_finishes(hostile, tmp_path):
    settings = build({}, {"devices": ["desktop"], "timeout": PAGE_TIMEOUT, "max_pages": 60, "max_depth": 2,
                          "screenshots": "off", "concurrency": 3, "max_per_pattern": 3, "retries": 0})
    popups_before = hostile.hits["/window-open/popup"]
    outcome = run_audit([hostile.url], settings, load_rulebook(), tmp_path / "out")
    urls = [p.url for p in outcome.pages]
    assert len(urls) == len(set(urls)) <= 60
    assert all(u.startswith(hostile.url) for u in urls)  # never out of scope, never another scheme
    assert all(p.error is not None or p.devices for p in outcome.pages)
    # crawl traps: the calendar and the faceted shop are cut at the cap per query parameter
    assert sum("/calendar" in u for u in urls) == 3
    assert sum("/shop" in u for u in urls) == 3
    assert hostile.hits["/window-open/popup"] - popups_before <= 50  # the page ran once; its popups were not crawled
    assert not any("/popup" in u for u in urls)
    assert (tmp_path / "out" / "report.html").is_file()
