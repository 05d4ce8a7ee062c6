"""The crawl, end to end in Chromium: order, scope, budgets, robots.txt, sitemaps, traps, resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditor.audit import UsageError, run_audit
from auditor.config import build
from auditor.rulebook import load_rulebook
from auditor.serve import StaticSite


def page(title: str, links: list[str], body: str = "") -> str:
    anchors = "".join(f'<li><a href="{href}">{href}</a></li>' for href in links)
    return (
        f'<!doctype html><html><head><meta name="viewport" content="width=device-width">'
        f'<link rel="icon" href="data:,"><title>{title}</title></head>'
        f"<body><header><nav><ul>{anchors}</ul></nav></header><h1>{title}</h1>{body}</body></html>"
    )


@pytest.fixture
def site(tmp_path):
    root = tmp_path / "site"
    root.mkdir()
    with StaticSite(root) as server:
        server.root = root
        yield server


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def audit(site, tmp_path, **overrides):
    values = {"devices": ["desktop"], "screenshots": "off", "timeout": 15.0, **overrides}
    settings = build({}, values)
    return run_audit([site.url], settings, load_rulebook(), tmp_path / "out")


def paths(outcome) -> list[tuple[str, int]]:
    return [(p.url.split("/", 3)[3], p.depth) for p in outcome.pages]


@pytest.fixture
def small_site(site):
    write(site.root, {
        "index.html": page("Home", ["/a.html?utm_source=mail#top", "/b.html", "/a.html", "https://elsewhere.invalid/",
                                    "mailto:x@example.com", "/missing.html"]),
        "a.html": page("A", ["/a1.html", "/"]),
        "b.html": page("B", ["/b1.html", "/a.html"]),
        "a1.html": page("A1", ["/deep.html"]),
        "b1.html": page("B1", []),
        "deep.html": page("Deep", []),
    })
    return site


def test_breadth_first_in_link_order_within_scope(small_site, tmp_path):
    outcome = audit(small_site, tmp_path)
    assert paths(outcome) == [
        ("", 0), ("a.html", 1), ("b.html", 1), ("missing.html", 1), ("a1.html", 2), ("b1.html", 2), ("deep.html", 3),
    ]
    # normalised: /a.html was linked three ways and fetched once; the off-site link never was
    assert small_site.hits["/a.html"] == 1
    missing = outcome.pages[3]
    assert missing.error.kind == "http_error" and missing.status_code == 404 and missing.score is None
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert [p["url"] for p in report["pages"]] == [p.url for p in outcome.pages]


def test_depth_and_page_budgets(small_site, tmp_path):
    shallow = audit(small_site, tmp_path, max_depth=0)
    assert paths(shallow) == [("", 0)]
    assert shallow.report["not_followed"] == {"max_depth": {"count": 3, "examples": sorted(
        small_site.url + name for name in ("a.html", "b.html", "missing.html"))}}
    level_one = audit(small_site, tmp_path, max_depth=1)
    assert paths(level_one) == [("", 0), ("a.html", 1), ("b.html", 1), ("missing.html", 1)]
    # Where each page was linked from: for a 404, the link to fix.
    assert [p.found_on for p in level_one.pages] == [None, small_site.url, small_site.url, small_site.url]
    assert level_one.pages[3].error.kind == "http_error"
    budget = audit(small_site, tmp_path, max_pages=2)
    assert paths(budget) == [("", 0), ("a.html", 1)]
    assert budget.report["not_followed"] == {"max_pages": {"count": 3, "examples": sorted(
        small_site.url + name for name in ("a1.html", "b.html", "missing.html"))}}


def test_a_short_budget_goes_to_the_checkout_and_to_every_section_before_a_second_product(site, tmp_path):
    """A menu of eleven products spent a 12-page budget on one template, and the checkout and the broken
    page linked after them were never audited (a trial). With room to spare, link order is kept."""
    products = [f"/products/{n}.html" for n in range(1, 12)]
    write(site.root, {
        "index.html": page("Home", [*products, "/checkout.html", "/about.html", "/gone.html"]),
        **{f"products/{n}.html": page(f"Product {n}", []) for n in range(1, 12)},
        "checkout.html": page("Checkout", []),
        "about.html": page("About", []),
    })
    short = audit(site, tmp_path, max_pages=6)
    assert paths(short) == [("", 0), ("products/1.html", 1), ("products/2.html", 1), ("checkout.html", 1),
                            ("about.html", 1), ("gone.html", 1)]
    assert short.pages[-1].broken  # the broken link is audited, so --fail-on-broken can see it
    assert short.report["not_followed"]["max_pages"]["count"] == 9
    roomy = audit(site, tmp_path, max_pages=20)
    assert [p for p, _ in paths(roomy)] == ["", *(p.lstrip("/") for p in products), "checkout.html", "about.html", "gone.html"]


def test_a_copy_merged_away_gives_its_place_in_the_budget_to_the_next_page(site, tmp_path):
    """With --max-pages 2, a copy of the home page took the second place and the broken page linked after
    it was never checked (a trial): a page merged into another must not use up the budget."""
    home = page("Home", ["/home.html", "/missing.html", "/about.html"], "<p>Welcome.</p>")
    write(site.root, {"index.html": home, "home.html": home, "about.html": page("About", [])})
    two = audit(site, tmp_path, max_pages=2)
    assert paths(two) == [("", 0), ("missing.html", 1)]
    assert two.pages[1].broken  # so --fail-on-broken sees it
    assert two.report["not_followed"] == {
        "max_pages": {"count": 1, "examples": [site.url + "about.html"]},
        "duplicate": {"count": 1, "examples": [site.url + "home.html"]}}
    assert site.hits["/home.html"] == 1 and "/about.html" not in site.hits  # the budget still holds
    one = audit(site, tmp_path, max_pages=1)  # no place to give back: the copy is never visited
    assert paths(one) == [("", 0)] and "duplicate" not in one.report["not_followed"]
    assert one.report["not_followed"]["max_pages"]["count"] == 3


def test_robots_txt_is_honoured_and_sitemaps_add_pages(site, tmp_path):
    write(site.root, {
        "index.html": page("Home", ["/private/secret.html", "/open.html"]),
        "open.html": page("Open", []),
        "private/secret.html": page("Secret", []),
        "only-in-sitemap.html": page("Sitemap only", []),
        "robots.txt": f"User-agent: *\nDisallow: /private/\nSitemap: {site.url}custom-sitemap.xml\n",
        "custom-sitemap.xml": (
            '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"<url><loc>{site.url}only-in-sitemap.html</loc></url>"
            f"<url><loc>https://elsewhere.invalid/x</loc></url></urlset>"
        ),
    })
    outcome = audit(site, tmp_path)
    assert paths(outcome) == [("", 0), ("open.html", 1), ("only-in-sitemap.html", 1)]
    assert site.hits["/private/secret.html"] == 0
    assert paths(audit(site, tmp_path, respect_robots=False))[1] == ("private/secret.html", 1)


def test_robots_disallowed_start_url_is_reported_not_fetched(site, tmp_path):
    write(site.root, {"index.html": page("Home", []), "robots.txt": "User-agent: cro-audit\nDisallow: /\n"})
    outcome = audit(site, tmp_path)
    assert [p.error.kind for p in outcome.pages] == ["blocked_by_robots"]
    assert site.hits["/"] == 0


def test_crawl_traps_are_capped_per_url_pattern(site, tmp_path):
    months = {f"calendar/{n}.html": page(f"Month {n}", [f"/calendar/{n + 1}.html"]) for n in range(1, 40)}
    write(site.root, {"index.html": page("Home", ["/calendar/1.html"]), **months})
    outcome = audit(site, tmp_path, max_per_pattern=3, max_depth=30, max_pages=50)
    assert paths(outcome) == [("", 0), ("calendar/1.html", 1), ("calendar/2.html", 2), ("calendar/3.html", 3)]
    # The report says what was left, and why: the user asked for 50 pages and got 4.
    assert outcome.report["not_followed"] == {"max_per_pattern": {"count": 1, "examples": ["/calendar/N.html"]}}


def test_faceted_query_strings_are_capped(site, tmp_path):
    facets = [f"/shop.html?color={c}&size={s}" for c in "rgbcmyk" for s in range(5)]
    write(site.root, {"index.html": page("Home", facets), "shop.html": page("Shop", facets)})
    outcome = audit(site, tmp_path, max_per_pattern=4, max_pages=50)
    # Four facets are audited; this static server ignores the query, so they show one page and are merged.
    assert [p.url.split("/", 3)[3] for p in outcome.pages] == ["", "shop.html?color=r&size=0"]
    assert outcome.report["not_followed"] == {
        "max_per_pattern": {"count": 35 - 4, "examples": ["/shop.html?color&size"]},
        "duplicate": {"count": 3, "examples": [f"{site.url}shop.html?color=r&size={n}" for n in (1, 2, 3)]}}


def test_resume_skips_finished_pages_and_reports_them_all(small_site, tmp_path):
    first = audit(small_site, tmp_path, max_pages=3)
    assert len(first.pages) == 3
    before = dict(small_site.hits)
    settings = build({}, {"devices": ["desktop"], "screenshots": "off", "max_pages": 6})
    counts: list[tuple[int, int]] = []

    class Progress:
        notices: list[str] = []

        def __call__(self, done, total, page):
            counts.append((done, total))

        def notice(self, text):
            self.notices.append(text)

    progress = Progress()
    resumed = run_audit([small_site.url], settings, load_rulebook(), tmp_path / "out", resume=True, progress=progress)
    # The kept pages are told in one line, not replayed one by one; the counter counts them, and its total
    # never jumps back ([4/15], [5/8]...).
    assert progress.notices == ["Resuming: 3 pages kept from the earlier run, not visited again."]
    assert [done for done, _ in counts] == [4, 5, 6] and counts[-1] == (6, 6)
    assert all(total >= earlier for (_, earlier), (_, total) in zip(counts, counts[1:]))
    for done in ("/", "/a.html", "/b.html"):
        assert small_site.hits[done] == before[done]  # not visited again
    assert small_site.hits["/a1.html"] == 1
    assert paths(resumed) == paths(audit(small_site, tmp_path / "fresh", max_pages=6))
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert len(report["pages"]) == 6 and report["partial"] is False

    # Resumed with a smaller budget, the report holds fewer pages than were kept: said, not silently dropped.
    progress.notices.clear()
    settings = build({}, {"devices": ["desktop"], "screenshots": "off", "max_pages": 2})
    smaller = run_audit([small_site.url], settings, load_rulebook(), tmp_path / "out", resume=True, progress=progress)
    assert len(smaller.pages) == 2
    assert progress.notices == [
        "Resuming: 6 pages kept from the earlier run, not visited again.",
        "4 pages of the earlier run are left out of this report: this run's max-pages, max-depth or max-per-pattern "
        "does not reach them (kept in the run store for a later --resume)."]


def test_resume_refuses_a_store_of_other_start_urls(small_site, tmp_path):
    audit(small_site, tmp_path, max_pages=1)
    settings = build({}, {"devices": ["desktop"], "screenshots": "off"})
    with pytest.raises(ValueError, match="other start URLs"):
        run_audit([small_site.url + "b.html"], settings, load_rulebook(), tmp_path / "out", resume=True)


def test_resume_refuses_other_devices_or_screenshots(small_site, tmp_path):
    """A resumed run may grow its budget, but not measure its pages another way: the report would say
    desktop only while half its pages hold mobile facts."""
    audit(small_site, tmp_path, max_pages=1)  # desktop, screenshots off
    store = tmp_path / "out" / "run.sqlite"
    for changed, message in [({"devices": ["desktop", "mobile"]}, "--devices desktop (now desktop,mobile)"),
                             ({"screenshots": "css"}, "--screenshots off (now css)"),
                             ({"throttle": True}, "--throttle off (now on)"),
                             ({"warm_cache": True}, "--warm-cache off (now on)")]:
        settings = build({}, {"devices": ["desktop"], "screenshots": "off", **changed})
        with pytest.raises(UsageError) as caught:
            run_audit([small_site.url], settings, load_rulebook(), tmp_path / "out", resume=True)
        assert str(caught.value) == (f"{store} belongs to a run with {message}: resume with the same settings, "
                                     "or start afresh without --resume")
    same = build({}, {"devices": ["desktop"], "screenshots": "off", "max_pages": 2})
    resumed = run_audit([small_site.url], same, load_rulebook(), tmp_path / "out", resume=True)
    assert len(resumed.pages) == 2  # the same shape resumes, and may grow


def test_both_devices_measured_with_screenshots(small_site, tmp_path):
    settings = build({}, {"max_pages": 1, "timeout": 15.0})
    outcome = run_audit([small_site.url], settings, load_rulebook(), tmp_path / "out")
    home = outcome.pages[0]
    assert sorted(home.devices) == ["desktop", "mobile"]
    for device, facts in home.devices.items():
        shot = tmp_path / "out" / facts.screenshot
        assert facts.screenshot == f"screenshots/0000-{device}.jpg" and shot.stat().st_size > 1000
    assert home.devices["mobile"].viewport_width == 390 and home.devices["desktop"].viewport_width == 1366


def test_a_fresh_run_removes_only_its_own_earlier_screenshots(small_site, tmp_path):
    """--out may name a folder that holds the user's own pictures (docs/, .): only files named as the crawl
    names its screenshots go."""
    shots = tmp_path / "out" / "screenshots"
    shots.mkdir(parents=True)
    for name in ("holiday.jpg", "0001-desktop.jpg", "12345-mobile.jpg", "0002-banner.jpg"):
        (shots / name).write_bytes(b"x")
    run_audit([small_site.url], build({}, {"max_pages": 1, "devices": ["desktop"]}), load_rulebook(), tmp_path / "out")
    assert sorted(p.name for p in shots.iterdir()) == ["0000-desktop.jpg", "0002-banner.jpg", "holiday.jpg"]


def test_links_left_by_a_trap_are_counted_without_remembering_them_all(monkeypatch):
    """Past LEFT_CAP distinct links per reason, further ones are only counted: a trap of millions of
    links cannot fill memory, and the count stays right when no link repeats."""
    from auditor import crawl

    monkeypatch.setattr(crawl, "LEFT_CAP", 3)
    frontier = crawl.Frontier(build({}, {"max_per_pattern": 2}), crawl.Scope(["https://shop.example/"]))
    for day in range(10):
        frontier.offer(f"https://shop.example/calendar?day={day}", 1, (0, day))
    frontier.offer("https://shop.example/calendar?day=2", 1, (1, 0))  # a remembered one, found again elsewhere
    assert frontier.not_followed() == {"max_per_pattern": {"count": 8, "examples": ["/calendar?day"]}}
    assert len(frontier.left["max_per_pattern"]) == 3


def test_links_too_long_to_visit_are_counted_not_dropped_without_a_word():
    """A link of the site over 2,048 characters vanished: neither visited nor counted as left."""
    from auditor import crawl

    frontier = crawl.Frontier(build({}, {}), crawl.Scope(["https://shop.example/"]))
    long_path = "/" + "%E6%96%87" * 300
    assert not frontier.offer("https://shop.example" + long_path, 1, (0, 0))
    assert not frontier.offer("b" + long_path[1:], 1, (0, 1), base="https://shop.example/a/")  # relative
    assert not frontier.offer("https://elsewhere.example" + long_path, 1, (0, 2))  # another site's: not ours
    assert not frontier.offer("mailto:someone@shop.example", 1, (0, 3))  # not a page at all
    left = frontier.not_followed()
    assert list(left) == ["too_long"] and left["too_long"]["count"] == 2
    assert sorted(e[:30] for e in left["too_long"]["examples"]) == ["https://shop.example/%E6%96%87", "https://shop.example/a/b%E6%96"]
    assert all(len(e) == 200 and e.endswith("...") for e in left["too_long"]["examples"])


def test_a_page_links_too_long_to_visit_are_counted_in_the_report(tmp_path):
    long_path = "/" + "%E6%96%87" * 300
    links = [long_path, "/b" + long_path, "https://elsewhere.example" + long_path, "/ok.html"]
    write(tmp_path / "s", {"index.html": page("Home", links), "ok.html": page("OK", [])})
    with StaticSite(tmp_path / "s") as server:
        outcome = run_audit([server.url], build({}, {"screenshots": "off"}), load_rulebook(), tmp_path / "out")
    assert [p.error for p in outcome.pages] == [None, None]
    left = outcome.report["not_followed"]
    assert list(left) == ["too_long"] and left["too_long"]["count"] == 2  # the other site's long link is not ours


def test_two_runs_of_one_site_write_the_same_report_but_for_times(site, tmp_path):
    """CI users diff report.json between deploys: only clock readings may differ between two runs of an
    unchanged site, whichever device finishes first. Here the desktop visit is the slow one (a short timer
    only on wide screens), so the visits finish mobile first."""
    slow_on_desktop = "<script>if (innerWidth > 800) setTimeout(() => document.body.append('ready'), 600);</script>"
    write(site.root, {"index.html": page("Home", ["/a.html", "/b.html"], slow_on_desktop),
                      "a.html": page("A", ["/b.html"], slow_on_desktop), "b.html": page("B", [], slow_on_desktop)})
    clock = {"started_at", "finished_at", "timings", "load_ms", "ttfb_ms", "dom_content_loaded_ms", "fcp_ms", "lcp_ms"}

    def without_clock(value):
        if isinstance(value, dict):
            return {k: without_clock(v) for k, v in value.items() if k not in clock}
        return [without_clock(v) for v in value] if isinstance(value, list) else value

    reports = []
    for run in ("one", "two"):
        audit(site, tmp_path / run, devices=["desktop", "mobile"], concurrency=2)
        text = (tmp_path / run / "out" / "report.json").read_text()
        reports.append(without_clock(json.loads(text)))
        assert all(list(p["devices"]) == ["desktop", "mobile"] for p in json.loads(text)["pages"])
    assert reports[0] == reports[1]
    assert [p["url"] for p in reports[0]["pages"]] == [site.url, site.url + "a.html", site.url + "b.html"]


def test_a_folder_and_its_index_file_are_one_page(site, tmp_path):
    """Static sites link both / and /index.html (and /docs/ and /docs/index.htm): one page each, audited once,
    under whichever form the crawl met first."""
    write(site.root, {"index.html": page("Home", ["/index.html", "/docs/index.htm", "/a.html"]),
                      "docs/index.htm": page("Docs", ["/docs/", "/"]), "a.html": page("A", ["/index.html?utm_source=a"])})
    outcome = audit(site, tmp_path)
    assert paths(outcome) == [("", 0), ("docs/index.htm", 1), ("a.html", 1)]


def test_the_next_level_is_ordered_by_where_links_appear_not_by_which_page_finished_first(tmp_path):
    """/a.html is slow (an image that takes a second), so /b.html finishes first; /x.html and /y.html, linked
    from both, still come in /a.html's order, since /a.html comes first in the crawl."""
    import time as clock

    from tests.test_resilience import RecordingServer

    slow_image = lambda attempt: (clock.sleep(1.0), (200, ""))[1]  # noqa: E731
    pages = {"/": page("Home", ["/a.html", "/b.html"]),
             "/a.html": page("A", ["/x.html", "/y.html"], '<img src="/slow.png">'),
             "/b.html": page("B", ["/y.html", "/x.html"]),
             "/slow.png": slow_image, "/x.html": page("X", []), "/y.html": page("Y", [])}
    with RecordingServer(pages) as server:
        outcome = run_audit([server.url], build({}, {"devices": ["desktop"], "screenshots": "off", "concurrency": 2}),
                            load_rulebook(), tmp_path / "out")
    assert [p.url.rsplit("/", 1)[1] for p in outcome.pages] == ["", "a.html", "b.html", "x.html", "y.html"]
    assert {p.found_on for p in outcome.pages[3:]} == {server.url + "a.html"}  # the first page, in crawl order, to link it


def test_a_url_that_redirects_to_an_audited_page_is_one_entry(tmp_path):
    """http:// to https://, a missing slash, an old slug: the same page under two URLs is audited as one
    entry, the one reached without a redirect, so its findings are not counted twice."""
    from tests.test_resilience import RecordingServer

    pages = {
        "/": page("Home", ["/old.html", "/new.html", "/a.html", "/moved.html"]),
        "/old.html": ("redirect", "/new.html"),  # same level as its target, and linked first
        "/new.html": page("New", []),
        "/moved.html": ("redirect", "/target.html"),  # only ever reached through the redirect...
        "/a.html": page("A", ["/target.html", "/legacy.html"]),  # ...so this link to the target is not queued
        "/legacy.html": ("redirect", "/a.html"),  # a level below its target
        "/target.html": page("Target", []),
    }
    settings = build({}, {"devices": ["desktop"]})
    with RecordingServer(pages) as server:
        outcome = run_audit([server.url], settings, load_rulebook(), tmp_path / "out")
        hits = [path for _, path, _ in server.log]
        server.log.clear()
        resumed = run_audit([server.url], settings, load_rulebook(), tmp_path / "out", resume=True)
        asked_again = [path for _, path, _ in server.log if path != "/robots.txt" and path != "/sitemap.xml"]
    assert asked_again == []  # nothing to do: the merged URLs are not visited again either
    assert resumed.report["not_followed"] == outcome.report["not_followed"]
    assert [(p.url.rsplit("/", 1)[1], p.final_url.rsplit("/", 1)[1]) for p in outcome.pages] == [
        ("", ""), ("new.html", "new.html"), ("a.html", "a.html"), ("moved.html", "target.html")]
    assert [p.url for p in resumed.pages] == [p.url for p in outcome.pages]  # the merged ones stay merged
    shots = sorted(f.name for f in (tmp_path / "out" / "screenshots").iterdir())
    assert shots == sorted(p.devices["desktop"].screenshot.split("/")[1] for p in outcome.pages)  # none left over
    assert hits.count("/target.html") == 1
    assert outcome.report["not_followed"]["redirected"] == {
        "count": 2, "examples": [server.url + name for name in ("legacy.html", "old.html")]}
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert len(report["pages"]) == 4 and report["summary"]["pages_audited"] == 4


def test_a_start_url_that_redirects_is_not_audited_again_from_the_sitemap(tmp_path):
    from tests.test_resilience import RecordingServer

    with RecordingServer({"/": ("redirect", "/home.html"), "/home.html": page("Home", []),
                          "/sitemap.xml": None}) as server:
        server.pages["/sitemap.xml"] = lambda attempt: (200, '<?xml version="1.0"?><urlset xmlns="http://www.'
                                                             f'sitemaps.org/schemas/sitemap/0.9"><url><loc>{server.url}'
                                                             'home.html</loc></url></urlset>')
        outcome = run_audit([server.url], build({}, {"devices": ["desktop"], "screenshots": "off"}),
                            load_rulebook(), tmp_path / "out")
        hits = [path for _, path, _ in server.log]
    assert [p.url for p in outcome.pages] == [server.url] and outcome.pages[0].final_url == server.url + "home.html"
    assert hits.count("/home.html") == 1


def test_a_url_naming_another_audited_page_of_the_same_title_as_canonical_is_one_entry(tmp_path):
    """A product under its collection and under /products/, a listing sorted another way: merged into the
    canonical page, even when that page is only reached a level later. A canonical that names a page of
    another title (a theme pointing every page at the home page) merges nothing."""
    from tests.test_resilience import RecordingServer

    def canonical(path: str) -> str:
        return f'<link rel="canonical" href="{path}">'

    pages = {
        "/": page("Home", ["/collections/boots/products/boot", "/products/boot", "/shop?sort=price", "/shop",
                           "/about", "/sale/red-boot"]),
        "/collections/boots/products/boot": page("Boot", ["/products/boot"], canonical("/products/boot")),
        "/products/boot": page("Boot", ["/products/red-boot"], canonical("/products/boot")),
        "/shop": page("Shop", []),
        "/about": page("About us", [], canonical("/")),
        "/sale/red-boot": page("Red boot", [], canonical("/products/red-boot")),  # its canonical comes a level later
        "/products/red-boot": page("Red boot", []),
    }
    pages["/shop?sort=price"] = None  # the server ignores queries: /shop answers
    with RecordingServer(pages) as server:
        server.pages["/shop"] = page("Shop", [], canonical("/shop"))
        outcome = run_audit([server.url], build({}, {"devices": ["desktop"]}), load_rulebook(), tmp_path / "out")
    assert [p.url.split("/", 3)[3] for p in outcome.pages] == [
        "", "products/boot", "shop", "about", "products/red-boot"]
    merged = outcome.report["not_followed"]["canonical"]
    assert merged["count"] == 3 and [u.split("/", 3)[3] for u in merged["examples"]] == [
        "collections/boots/products/boot", "sale/red-boot", "shop?sort=price"]
    shots = sorted(f.name for f in (tmp_path / "out" / "screenshots").iterdir())
    assert shots == sorted(p.devices["desktop"].screenshot.split("/")[1] for p in outcome.pages)


def test_links_that_act_are_never_requested(tmp_path):
    """A nightly audit of a live shop must not fill carts or end sessions: add-to-cart and log-out links are
    counted, not followed; the cart page itself is audited."""
    from tests.test_resilience import RecordingServer

    acting = ["/?add-to-cart=12", "/cart/add?id=4411", "/account/logout", "/wp-login.php?action=logout&_wpnonce=ab"]
    with RecordingServer({"/": page("Shop", [*acting, "/cart"]), "/cart": page("Cart", [])}) as server:
        outcome = run_audit([server.url], build({}, {"devices": ["desktop"], "screenshots": "off"}),
                            load_rulebook(), tmp_path / "out")
        asked = [path for _, path, _ in server.log]
    assert [p.url.split("/", 3)[3] for p in outcome.pages] == ["", "cart"]
    assert not {"/cart/add", "/account/logout", "/wp-login.php"} & set(asked) and asked.count("/") == 1
    assert outcome.report["not_followed"]["action"]["count"] == 4


def test_later_pages_of_lists_and_search_results_are_capped_across_the_site(tmp_path):
    """Every tag of a blog has its own pages 2, 3, 4...: capped as one kind across the site, or they would
    take the page budget and make the blog template weigh in the score."""
    from tests.test_resilience import RecordingServer

    tags = ["boots", "care", "news", "sale"]
    pages = {"/": page("Blog", [f"/tag/{t}/" for t in tags] + ["/search/boots", "/search/care"])}
    for t in tags:
        pages[f"/tag/{t}/"] = page(t, [f"/tag/{t}/page/{n}/" for n in range(2, 5)])
        pages.update({f"/tag/{t}/page/{n}/": page(f"{t} {n}", []) for n in range(2, 5)})
    pages.update({f"/search/{q}": page(f"Results for {q}", []) for q in ("boots", "care")})
    with RecordingServer(pages) as server:
        outcome = run_audit([server.url], build({}, {"devices": ["desktop"], "screenshots": "off"}),
                            load_rulebook(), tmp_path / "out")
    audited = [p.url.split("/", 3)[3] for p in outcome.pages]
    assert sum("/page/" in u for u in audited) == 5 and len(audited) == 1 + 4 + 2 + 5
    assert outcome.report["not_followed"]["pagination"]["count"] == 4 * 3 - 5


def test_a_url_showing_the_same_title_and_text_as_another_is_one_entry(tmp_path):
    """No redirect and no canonical say so, but /faq, /faq/ and /faq?ref=footer are one page; /faq-old,
    same title but other words, is another. The entry kept is the one without a query string."""
    from tests.test_resilience import RecordingServer

    faq = page("FAQ", ["/"], "<p>Do you work weekends? Yes.</p>")
    pages = {"/": page("Home", ["/faq?ref=footer", "/faq", "/faq/", "/faq-old"]), "/faq": faq, "/faq/": faq,
             "/faq-old": page("FAQ", ["/"], "<p>Do you work weekends? No.</p>")}
    with RecordingServer(pages) as server:
        server.pages["/faq?ref=footer"] = faq
        outcome = run_audit([server.url], build({}, {"devices": ["desktop", "mobile"]}), load_rulebook(), tmp_path / "out")
    assert [p.url.split("/", 3)[3] for p in outcome.pages] == ["", "faq", "faq-old"]
    assert outcome.report["not_followed"]["duplicate"] == {
        "count": 2, "examples": [server.url + "faq/", server.url + "faq?ref=footer"]}


def test_a_long_robots_txt_is_read_to_the_first_500_kib(site, tmp_path):
    """RFC 9309 asks a crawler to read at least 500 KiB; one that is longer is not thrown away whole (which
    would open the whole site to the crawl)."""
    padding = "".join(f"# comment line {i:07d} to pad the file out\n" for i in range(20_000))  # about 900 KB
    write(site.root, {"index.html": page("Home", ["/private/secret.html", "/open.html"]),
                      "open.html": page("Open", []), "private/secret.html": page("Secret", []),
                      "robots.txt": "User-agent: *\nDisallow: /private/\n" + padding + "Disallow: /open.html\n"})
    assert len((site.root / "robots.txt").read_bytes()) > 800_000
    assert paths(audit(site, tmp_path)) == [("", 0), ("open.html", 1)]  # the rule past the cap is not read
    assert site.hits["/private/secret.html"] == 0


def test_robots_and_sitemap_redirects_are_followed_only_within_the_site(tmp_path):
    """robots.txt and sitemaps are fetched outside the browser: their redirects are held to the same scope
    (and the staging header to the same origin) as the browser's visits, hop by hop."""
    from tests.test_resilience import RecordingServer

    server = RecordingServer({"/": page("Home", []), "/from-sitemap.html": page("From the sitemap", [])})
    tokens: list[tuple[str, str]] = []
    handler = server.server.RequestHandlerClass
    original = handler.do_GET

    def do_get(self) -> None:
        tokens.append((self.headers.get("Host", "").rsplit(":", 1)[0], self.headers.get("X-Staging-Token")))
        original(self)

    handler.do_GET = do_get
    elsewhere = f"http://localhost:{server.port}"  # the same server under another name: another site
    server.pages.update({
        "/robots.txt": ("redirect", f"{elsewhere}/robots.txt"),  # if followed, its Disallow: / would stop the crawl
        "/sitemap.xml": ("redirect", "/maps/real.xml"),
        "/maps/real.xml": f'<urlset><url><loc>{server.url}from-sitemap.html</loc></url></urlset>',
    })
    settings = build({}, {"devices": ["desktop"], "screenshots": "off", "headers": {"X-Staging-Token": "s3cret"}})
    with server:
        outcome = run_audit([server.url], settings, load_rulebook(), tmp_path / "out")
    assert [p.url for p in outcome.pages] == [server.url, server.url + "from-sitemap.html"]
    assert {host for host, _ in server.hosts} == {"127.0.0.1"}
    assert {(host, token) for host, token in tokens} == {("127.0.0.1", "s3cret")}


def test_the_status_check_past_the_budget_stops_at_its_link_cap_and_its_time_limit(site, tmp_path, monkeypatch):
    """--fail-on-broken asks at most MAX_LINK_CHECKS links, for at most LINK_CHECK_S: a link that answers
    after the limit stays a link not followed (not a broken page), and a link past the cap is never asked."""
    from auditor import crawl

    monkeypatch.setattr(crawl, "MAX_LINK_CHECKS", 2)
    monkeypatch.setattr(crawl, "LINK_CHECK_S", 1.0)
    write(site.root, {"index.html": page("Home", ["/gone.html", "/slow/4000/lost.html", "/zzz.html"])})
    outcome = audit(site, tmp_path, max_pages=1, fail_on_broken=True)
    assert [(p.url.split("/", 3)[3], p.status_code) for p in outcome.pages] == [("", 200), ("gone.html", 404)]
    assert site.hits["/slow/4000/lost.html"] == 1 and "/zzz.html" not in site.hits  # sorted, then capped at 2
    assert outcome.links_checked == 1  # the slow one was cut at the limit: it would have answered 404
    assert outcome.report["not_followed"]["max_pages"] == {
        "count": 2, "examples": [site.url + "slow/4000/lost.html", site.url + "zzz.html"]}
