"""The HTML report templates and the report.json schema.

The templates print data from audited (possibly hostile) sites, so most of these tests feed them a sample report full
of markup and `javascript:` URLs and check what comes out, parsed as HTML, not just as text.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from html.parser import HTMLParser
from pathlib import Path

import jsonschema
import pytest
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from auditor.facts import BROKEN_KINDS

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = ROOT / "auditor" / "templates"
SCHEMA_PATH = ROOT / "auditor" / "report.schema.json"
SAMPLE_PATH = Path(__file__).parent / "data" / "sample_report.json"

BRANDING = {"name": "Acme Growth", "logo_data_uri": None, "accent": "#0b6bcb"}
ESCAPED_SCRIPT = "&lt;script&gt;alert(1)&lt;/script&gt;"
ESCAPED_IMG = "&lt;img src=x onerror=alert(1)&gt;"


# ---------------------------------------------------------------- helpers


class Parsed(HTMLParser):
    """Every start tag with its (entity-decoded) attributes, and the visible text (whitespace-separated)."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text_parts: list[str] = []
        self._skip = 0
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self.text_parts.append(" ")  # so that "<td>a</td><td>b</td>" reads "a b"
        if tag in {"style", "title"}:
            self._skip += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        self.text_parts.append(" ")
        if tag in {"style", "title"}:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.text_parts.append(data)

    @property
    def text(self) -> str:
        return "".join(self.text_parts)

    def attrs(self, tag: str, name: str) -> list[str]:
        return [a[name] or "" for t, a in self.tags if t == tag and name in a]


@pytest.fixture(
    params=[
        pytest.param({"autoescape": True}, id="autoescape-true"),
        # As auditor/report.py sets it up.
        pytest.param(
            {"autoescape": select_autoescape(enabled_extensions=("html", "j2"), default=True),
             "undefined": StrictUndefined, "trim_blocks": True, "lstrip_blocks": True},
            id="strict-trimmed",
        ),
    ]
)
def env(request: pytest.FixtureRequest) -> Environment:
    return Environment(loader=FileSystemLoader(str(TEMPLATES)), **request.param)


@pytest.fixture
def sample() -> dict:
    return json.loads(SAMPLE_PATH.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def render(env: Environment, report: dict, branding: dict | None = None) -> str:
    return env.get_template("report.html.j2").render(report=report, branding=branding or BRANDING,
                                                     broken_kinds=BROKEN_KINDS)


def render_index(env: Environment, sites: list[dict], branding: dict | None = None) -> str:
    return env.get_template("index.html.j2").render(
        sites=sites, branding=branding or BRANDING, generated_at="2026-11-25T20:15:09Z"
    )


def assert_no_active_content(html: str) -> None:
    """No injected element or handler can run: no <script>, no on* attribute, no javascript: anywhere in a tag."""
    low = html.lower()
    assert "<script" not in low
    parsed = Parsed(html)
    for tag, attrs in parsed.tags:
        assert tag not in {"script", "iframe", "object", "embed", "base", "form"}, tag
        if tag == "meta":
            assert "http-equiv" not in attrs, attrs
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name)
            compact = "".join((value or "").split()).lower()
            assert not compact.startswith(("javascript:", "vbscript:")), (tag, name, value)


def validator(schema: dict, ref: str | None = None) -> jsonschema.Draft202012Validator:
    if ref:
        schema = {"$schema": schema["$schema"], "$defs": schema["$defs"], "$ref": f"#/$defs/{ref}"}
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


# ---------------------------------------------------------------- report.html.j2: escaping and links


def test_hostile_markup_is_escaped(env: Environment, sample: dict) -> None:
    html = render(env, sample)
    assert "<script>alert" not in html.lower()
    assert "<img src=x" not in html.lower()
    assert ESCAPED_SCRIPT in html  # page title, nav items, backlog title, evidence, error message
    assert ESCAPED_IMG in html  # CTA text, URL, evidence
    assert_no_active_content(html)
    # The only images are the two screenshots the report points at.
    assert set(Parsed(html).attrs("img", "src")) == {"screenshots/0001-desktop.png", "screenshots/0001-mobile.png"}


PAYLOAD = "\"'><script>alert(1)</script><img src=x onerror=alert(1)>"


def _poison(value: object) -> object:
    """Append PAYLOAD to every string in a JSON value (and to every key of free-form mappings)."""
    if isinstance(value, str):
        return value + PAYLOAD
    if isinstance(value, list):
        return [_poison(v) for v in value]
    if isinstance(value, dict):
        return {k: _poison(v) for k, v in value.items()}
    return value


def test_every_string_in_the_report_is_escaped(env: Environment, sample: dict) -> None:
    poisoned = _poison(sample)
    for page in poisoned["pages"]:
        for finding in page["findings"]:
            finding["evidence"] = {k + PAYLOAD: v for k, v in finding["evidence"].items()}
    html = render(env, poisoned, _poison(BRANDING))
    assert "<img src=x" not in html.lower()
    assert_no_active_content(html)
    assert html.count(ESCAPED_SCRIPT) > 50


def test_a_broken_page_says_where_it_was_linked_from(env: Environment, sample: dict) -> None:
    text = " ".join(Parsed(render(env, sample)).text.split())
    assert "Linked from" not in text  # the sample's failed page left the site: no link of the site's to fix
    page = next(p for p in sample["pages"] if p.get("error"))
    page["error"], page["status_code"] = {"kind": "http_error", "message": "The server answered HTTP 404."}, 404
    text = " ".join(Parsed(render(env, sample)).text.split())
    assert "This page is broken for visitors: Page not found (404)" in text
    assert "Linked from https://client.example/ : fix that link, or restore the page." in text  # a link, then text


def test_broken_pages_come_first_and_are_named_beside_the_score(env: Environment, sample: dict) -> None:
    """A trial's site had 4 of 6 pages broken and read '100 Good, no issues to fix': broken pages are not in
    the score, so the report says so where the score is, and lists them before the PIE backlog."""
    text = " ".join(Parsed(render(env, sample)).text.split())
    assert "broken for visitors" not in text and 'id="broken"' not in render(env, sample)
    page = next(p for p in sample["pages"] if p.get("error"))
    page["error"], page["status_code"] = {"kind": "http_error", "message": "The server answered HTTP 503."}, 503
    html = render(env, sample)
    text = " ".join(Parsed(html).text.split())
    assert "1 page is broken for visitors (not found, server errors, pages that never load)" in text
    assert html.index('id="broken-note"') < html.index('id="broken"') < html.index('class="backlog"')
    assert "First: 1 broken page A visitor who comes to this page meets an error" in text
    assert "Server error (503) · " + page["url"] in text
    sample["backlog"] = []
    assert "No other issues to fix were found" in " ".join(Parsed(render(env, sample)).text.split())


def test_a_refused_page_tells_the_client_what_happened_not_which_flags_to_use(env: Environment, sample: dict) -> None:
    page = next(p for p in sample["pages"] if p.get("error"))
    page["error"] = {"kind": "refused", "message": "The server answered HTTP 429 Too Many Requests: ... Run the "
                                                   "audit again with --resume and a lower --rate (say 1)."}
    text = " ".join(Parsed(render(env, sample)).text.split())
    assert "This page could not be checked: Turned the auditor away" in text
    assert "--rate" not in text and "--resume" not in text and "Linked from" not in text
    assert ("The audit is incomplete: the site's bot protection or rate limit turned the auditor away on 1 page, "
            "which is not in the score.") in text


def test_links_not_followed_are_told(env: Environment, sample: dict) -> None:
    text = Parsed(render(env, sample)).text
    assert ("Links found but not audited: 31 over the cap per URL pattern (/shop?color&size); "
            "2 disallowed by robots.txt.") in " ".join(text.split())


def test_every_error_kind_has_a_label_for_people(env: Environment, sample: dict) -> None:
    page = next(p for p in sample["pages"] if p.get("error"))
    from auditor.facts import ERROR_KINDS

    for kind in ERROR_KINDS:
        page["error"]["kind"] = kind
        text = " ".join(Parsed(render(env, sample)).text.split())
        assert "could not be checked: " in text or "is broken for visitors: " in text, kind
        assert f"checked: {kind}" not in text and f"visitors: {kind}" not in text, kind  # the code: no label


def test_urls_merged_into_another_page_are_not_called_links_not_followed(env: Environment, sample: dict) -> None:
    """'Links found but not audited: 1 merged into a page with the same title and text': it was visited (a trial)."""
    sample["not_followed"] = {"max_pages": {"count": 3, "examples": ["https://client.example/p9"]},
                              "duplicate": {"count": 1, "examples": ["https://client.example/home.html"]},
                              "redirected": {"count": 2, "examples": ["http://client.example/", "https://client.example/old"]}}
    text = " ".join(Parsed(render(env, sample)).text.split())
    assert "Links found but not audited: 3 beyond the page budget." in text
    assert ("Reported once, under another address: 1 address showing the same title and text as another page "
            "(https://client.example/home.html); 2 addresses redirecting to a page audited under another address "
            "(http://client.example/, https://client.example/old).") in text
    sample["not_followed"] = {"duplicate": {"count": 1, "examples": ["https://client.example/home.html"]}}
    assert "Links found but not audited" not in " ".join(Parsed(render(env, sample)).text.split())


def test_a_crawl_stopped_by_a_refusing_site_says_so(env: Environment, sample: dict) -> None:
    sample["not_followed"] = {"refused": {"count": 7, "examples": ["https://client.example/p9"]}}
    text = " ".join(Parsed(render(env, sample)).text.split())
    assert "Links found but not audited: 7 not visited, because the site kept turning the auditor away." in text


def test_a_stopped_run_says_what_it_did_not_reach_apart_from_the_budget(env: Environment, sample: dict) -> None:
    sample["not_followed"] = {"interrupted": {"count": 10, "examples": ["https://client.example/p3"]},
                              "max_pages": {"count": 5, "examples": ["https://client.example/p13"]}}
    text = " ".join(Parsed(render(env, sample)).text.split())
    assert "Links found but not audited: 10 not reached before the run stopped; 5 beyond the page budget." in text


def test_only_http_urls_become_links(env: Environment, sample: dict) -> None:
    html = render(env, sample)
    parsed = Parsed(html)
    hrefs = parsed.attrs("a", "href")
    assert hrefs, "expected some links"
    for href in hrefs:
        assert href.startswith(("http://", "https://", "#page-")), href
    # The javascript: page URL is shown, as text.
    assert "javascript:alert(document.cookie)" in parsed.text
    assert not any("javascript" in h.lower() for h in hrefs)
    # The hostile but http(s) URL is a link, with its quotes escaped inside the attribute.
    assert 'https://client.example/about?q="><img src=x onerror=alert(1)>' in hrefs
    assert 'href="https://client.example/about?q=&#34;&gt;&lt;img' in html
    # Every outbound link is rel=noopener noreferrer nofollow.
    for tag, attrs in parsed.tags:
        if tag == "a" and (attrs.get("href") or "").startswith("http"):
            assert set((attrs.get("rel") or "").split()) >= {"noopener", "noreferrer", "nofollow"}, attrs


@pytest.mark.parametrize(
    "hostile",
    [" javascript:alert(1)", "JAVASCRIPT:alert(1)", "java\tscript:alert(1)", "data:text/html,<script>alert(1)</script>",
     "//evil.example/x", "vbscript:msgbox(1)"],
)
def test_non_http_page_urls_are_never_hrefs(env: Environment, sample: dict, hostile: str) -> None:
    for page in sample["pages"]:
        page["url"] = hostile
        page["final_url"] = hostile + "/2"
    sample["start_urls"] = [hostile]
    html = render(env, sample)
    hrefs = Parsed(html).attrs("a", "href")
    assert all(h.startswith("#page-") for h in hrefs), hrefs
    assert_no_active_content(html)


def test_screenshots_only_from_relative_paths_or_data_images(env: Environment, sample: dict) -> None:
    shots = [
        "javascript:alert(1)",
        "https://tracker.example/pixel.png",
        "//tracker.example/pixel.png",
        "/etc/passwd",
        'a.png" onerror="alert(1)',
    ]
    devices = sample["pages"][1]["devices"]
    devices["desktop"]["screenshot"], devices["mobile"]["screenshot"] = shots[0], shots[1]
    sample["pages"][2]["devices"]["desktop"]["screenshot"] = shots[2]
    sample["pages"][2]["devices"]["mobile"]["screenshot"] = shots[3]
    sample["pages"][3]["devices"]["desktop"]["screenshot"] = shots[4]
    html = render(env, sample)
    assert Parsed(html).attrs("img", "src") == ['a.png" onerror="alert(1)']  # relative: kept, but only as a value
    assert 'src="a.png&#34; onerror=&#34;alert(1)"' in html
    assert_no_active_content(html)

    sample["pages"][3]["devices"]["desktop"]["screenshot"] = "data:image/jpeg;base64,/9j/AAAA"
    assert "data:image/jpeg;base64,/9j/AAAA" in Parsed(render(env, sample)).attrs("img", "src")


def test_hostile_branding_is_neutralised(env: Environment, sample: dict) -> None:
    branding = {
        "name": "<script>alert(1)</script> Agency",
        "logo_data_uri": "javascript:alert(1)",
        "accent": "red;}</style><script>alert(1)</script><style>",
    }
    html = render(env, sample, branding)
    assert ESCAPED_SCRIPT + " Agency" in html
    assert "--accent: #0b6bcb;" in html  # invalid colour falls back to the default
    assert_no_active_content(html)

    good = {"name": "Acme", "logo_data_uri": "data:image/png;base64,iVBORw0KGgo=", "accent": "#C0FFEE"}
    html = render(env, sample, good)
    assert "--accent: #C0FFEE;" in html
    assert "data:image/png;base64,iVBORw0KGgo=" in Parsed(html).attrs("img", "src")


@pytest.mark.parametrize("accent, on_accent, accent_text", [
    ("#0b6bcb", "#fff", "#0b6bcb"),  # the default: white on it, and it colours links
    ("#ffff66", "#202124", "#202124"),  # a light yellow: dark text on it, and links in the ink colour
    ("#d35400", "#fff", "#202124"),  # a dark orange (4.2:1): white on the bar reads as large text, links would not
])
def test_an_accent_too_light_for_white_text_gets_dark_text(env: Environment, sample: dict, accent, on_accent, accent_text):
    from auditor.config import build
    from auditor.report import branding_context

    branding = branding_context(build({}, {"branding": {"accent": accent}}))
    html = render(env, sample, branding)
    assert f"--accent: {accent}; --on-accent: {on_accent}; --accent-text: {accent_text};" in html


def test_report_is_self_contained_and_printable(env: Environment, sample: dict) -> None:
    html = render(env, sample)
    low = html.lower()
    assert "<link" not in low and "@import" not in low and "url(" not in low
    assert "@font-face" not in low
    for src in Parsed(html).attrs("img", "src"):
        assert not src.lower().startswith(("http:", "https:", "//"))
    assert "@media print" in html


# ---------------------------------------------------------------- report.html.j2: content


def test_partial_banner_only_when_partial(env: Environment, sample: dict) -> None:
    sample["partial"] = False
    html = render(env, sample)
    assert 'id="partial-banner"' not in html and "Partial run" not in html
    sample["partial"] = True
    html = render(env, sample)
    assert 'id="partial-banner"' in html and "Partial run" in html
    assert html.index("partial-banner") < html.index('id="overview"')  # at the top


def test_a_good_score_with_high_impact_issues_says_they_still_cost_conversions(env: Environment, sample: dict) -> None:
    """A trial's staging site scored 91, 'Good', beside six high-impact issues: contradictory to a client."""
    sample["score"], sample["band"] = 91, "good"
    fresh = copy.deepcopy(sample)
    _both_devices(sample)  # high: MOB001 and CTA001 on one page, SPD001 on desktop and mobile of another
    assert "3 high-impact findings still cost conversions" in render(env, sample)  # the cards, not 4 findings
    for page in sample["pages"]:
        page["findings"] = [f for f in page["findings"] if f["rule_id"] != "SPD001" and f["rule_id"] != "CTA001"]
    assert "1 high-impact finding still costs conversions" in render(env, sample)
    sample["pages"][1]["findings"] = sample["pages"][1]["findings"][1:]
    assert 'id="good-but"' not in render(env, sample)
    sample = fresh
    _both_devices(sample)
    sample["score"], sample["band"] = 89, "needs-work"
    assert 'id="good-but"' not in render(env, sample)  # "Needs work" says it already


def test_urls_read_as_written_and_link_as_escaped(sample: dict) -> None:
    """An international client's /café page was shown as /caf%C3%A9; the link must stay the exact URL."""
    from auditor.report import render_html, render_index

    target = next(p for p in sample["pages"] if p["url"].startswith("https://"))
    url = target["url"] = "https://shop.example/caf%C3%A9.html"
    html = render_html(sample, {"name": "Agency", "logo_data_uri": None, "accent": "#0b6e4f"})
    assert f'href="{url}"' in html and "/café.html</a>" in html and "/café.html</span>" in html
    assert "caf%C3%A9.html</" not in html
    index = render_index([{"name": "intl", "start_url": "https://xn--caf-dma.example/%E4%B8%AD.html", "score": 80,
                           "pages": 1, "report_href": "intl/report.html", "error": None}],
                         {"name": "Agency", "logo_data_uri": None, "accent": "#0b6e4f"})
    assert 'href="https://xn--caf-dma.example/%E4%B8%AD.html"' in index and ">https://xn--caf-dma.example/中.html</a>" in index


def test_null_scores_render_as_na(env: Environment, sample: dict) -> None:
    sample["score"] = None
    sample["band"] = "n/a"
    html = render(env, sample)
    assert 'aria-label="Overall score: n/a"' in html
    assert 'aria-label="Forms: n/a"' in html  # category with a null score
    # The failed page: page gauge and every category badge are n/a.
    failed = html[html.index('id="page-1"') : html.index('id="page-2"')]
    assert 'aria-label="Page score: n/a"' in failed
    assert failed.count('<span class="badge na">n/a</span>') == 5
    assert "Leads to another website" in failed and ESCAPED_SCRIPT in failed


def test_scores_have_bands(env: Environment, sample: dict) -> None:
    html = render(env, sample)
    assert 'class="gauge needs-work big"' in html and 'aria-label="Overall score: 63 out of 100"' in html
    assert '<span class="badge poor">42</span>' in html
    assert '<span class="badge good">96</span>' in html
    assert '<span class="badge needs-work">78</span>' in html
    # 90 is good, 89 needs work, 50 needs work, 49 poor.
    sample["categories"]["speed"]["score"], sample["categories"]["mobile"]["score"] = 90, 89
    sample["categories"]["navigation"]["score"], sample["categories"]["cta"]["score"] = 50, 49
    html = render(env, sample)
    assert 'class="gauge good " role="img" aria-label="Speed: 90 out of 100"' in html
    assert 'class="gauge needs-work " role="img" aria-label="Mobile: 89 out of 100"' in html
    assert 'class="gauge needs-work " role="img" aria-label="Navigation: 50 out of 100"' in html
    assert 'class="gauge poor " role="img" aria-label="Calls to action: 49 out of 100"' in html


def test_sections_and_order(env: Environment, sample: dict) -> None:
    html = render(env, sample)
    text = " ".join(Parsed(html).text.split())
    for heading in ["Summary", "What to fix first", "Above the fold", "Key facts", "Findings"]:
        assert heading in text
    # Pages keep the given order; backlog keeps its ranks.
    positions = [html.index(f'id="page-{i}"') for i in range(1, 5)]
    assert positions == sorted(positions)
    assert text.index("Add a responsive viewport meta tag") < text.index("Put a call to action above the fold")
    assert "Redirected to https://client.example/about/" in text
    # Summary numbers.
    assert '<div class="n">4</div><div class="l">pages audited</div>' in html
    assert '<div class="n">2</div><div class="l">high-impact findings</div>' in html


def test_menu_items_left_unnamed_are_counted_from_the_count(env: Environment, sample: dict) -> None:
    """The facts name the first 50 items: a 63-item menu read "20 names …and 30 more" (a trial)."""
    for page in sample["pages"]:
        for facts in page["devices"].values():
            facts["nav_item_count"], facts["nav_items"] = 63, [f"Item {i}" for i in range(50)]
    text = " ".join(Parsed(render(env, sample)).text.split())
    assert "Item 19 …and 43 more" in text and "…and 30 more" not in text


def test_key_facts_are_human_readable(env: Environment, sample: dict) -> None:
    text = " ".join(Parsed(render(env, sample)).text.split())
    assert "Load time 0.8 s 2.3 s" in text
    assert "Server response time < 0.1 s 0.2 s" in text  # the server's wait, next to the load it is part of
    assert "Page weight 338 KB 1.8 MB" in text
    assert "Calls to action above the fold 1 of 1" in text
    assert "1 form · 3 fields" in text
    assert "not measured" in text  # null timings on the home page's mobile visit
    assert "page is 980 px wide on a 390 px screen" in text
    assert "more under" not in text
    for page in sample["pages"]:  # a hidden search form beside it asks nothing of the visitor: not counted
        for facts in page["devices"].values():
            facts["forms"] = [*(facts.get("forms") or []), {"field_count": 0, "required_count": 0, "fields": []}]
    text = " ".join(Parsed(render(env, sample)).text.split())
    assert "1 form · 3 fields" in text and "2 forms" not in text and "1 form · 0 fields" not in text
    cta = sample["pages"][3]["devices"]["desktop"]["ctas"][0]
    cta["covered_by"] = "the cookie banner (div#cookie-banner)"
    text = " ".join(Parsed(render(env, sample)).text.split())
    assert "Calls to action above the fold 0 of 1 1 more under the cookie banner (div#cookie-banner)" in text


def test_screenshot_frames_and_fold(env: Environment, sample: dict) -> None:
    html = render(env, sample)
    # Frames keep the viewport's aspect ratio: 768/1366 and 844/390.
    assert "padding-top: 56.223%" in html
    assert "padding-top: 216.410%" in html
    assert html.count('<div class="fold"><span>fold</span></div>') == 4  # pages 2 and 3, two devices each
    assert "No screenshot available" in html  # home page, mobile
    assert "No screenshots were taken of this page." in html  # contact page
    # The above-the-fold CTA is boxed at its place on the screenshot, not the one below the fold.
    assert html.count('class="cta-box"') == 2
    assert "left: 2.34%; top: 83.46%; width: 8.13%; height: 5.47%" in html
    # One under a cookie banner is above the fold but not visible: it gets no green box.
    sample["pages"][2]["devices"]["desktop"]["ctas"][0]["covered_by"] = "the cookie banner (div#cookie-banner)"
    assert render(env, sample).count('class="cta-box"') == 1


def test_cta_boxes_follow_a_zoomed_out_phone_page(env: Environment, sample: dict) -> None:
    # Page 2's mobile visit: no viewport tag and a 980 px wide page, so the phone shows it zoomed out to 390/980.
    mobile = sample["pages"][1]["devices"]["mobile"]
    mobile["ctas"][0].update(above_fold=True, x=300, y=20, width=100, height=40)
    k = 390 / 980
    box = "left: {:.2f}%; top: {:.2f}%; width: {:.2f}%; height: {:.2f}%".format(
        300 * k / 390 * 100, 20 * k / 844 * 100, 100 * k / 390 * 100, 40 * k / 844 * 100
    )
    assert box in render(env, sample)
    # With a viewport tag the zoom of an overflowing page is unknown: no box rather than a wrong one.
    mobile["has_viewport_meta"] = True
    assert render(env, sample).count('class="cta-box"') == 2  # the desktop boxes of pages 2 and 3 only


def test_backticks_in_rule_text_become_code(env: Environment, sample: dict) -> None:
    finding = sample["pages"][1]["findings"][0]
    finding["recommendation"] = "Add `<meta name=viewport>` to the `<head>`."
    finding["message"] = "Odd ` count stays text"
    html = render(env, sample)
    assert "<code>&lt;meta name=viewport&gt;</code> to the <code>&lt;head&gt;</code>." in html
    assert "Odd ` count stays text" in html


def test_devices_in_run_order(env: Environment, sample: dict) -> None:
    page = sample["pages"][1]
    page["devices"] = {"mobile": page["devices"]["mobile"], "desktop": page["devices"]["desktop"]}
    section = render(env, sample).split('id="page-2"')[1].split('id="page-3"')[0]
    assert section.index("<figcaption>Desktop") < section.index("<figcaption>Mobile")
    assert section.index("<th>Desktop</th>") < section.index("<th>Mobile</th>")
    sample["settings"]["devices"] = ["mobile", "desktop"]
    section = render(env, sample).split('id="page-2"')[1].split('id="page-3"')[0]
    assert section.index("<th>Mobile</th>") < section.index("<th>Desktop</th>")


def test_evidence_rendering(env: Environment, sample: dict) -> None:
    text = " ".join(Parsed(render(env, sample)).text.split())
    assert "hero-20.jpg …and 5 more" in text
    assert "hero-21.jpg" not in text
    assert "Has viewport meta no" in text
    assert "First CTA y 1,200" in text
    assert "Page weight 1.8 MB" in text  # *_bytes and *_ms evidence is shown in readable units
    assert "Main content visible (LCP) 2.7 s" in text
    assert "Contrast ratio 4.5" in text
    assert "Fields Email, Name, Message" in text


def _both_devices(sample: dict) -> dict:
    """The sample's home page (page 3) with SPD001 failing on mobile too, worse than on desktop: report.json keeps
    the two findings, in judge_page's order (worst band first, then rule, then device)."""
    home = sample["pages"][2]
    on_desktop = next(f for f in home["findings"] if f["rule_id"] == "SPD001")
    on_mobile = {**on_desktop, "severity": "high", "score": 20, "message": "On mobile the page took 6.3 s to load.",
                 "evidence": {"load_ms": 6300.0, "lcp_ms": 2700.0}, "device": "mobile"}
    home["findings"] = [on_mobile, on_desktop, *(f for f in home["findings"] if f["rule_id"] != "SPD001")]
    return home


def _cards(html: str, page: int) -> list[str]:
    """The finding cards in the section of web page `page`, each from its <li> to its </li>."""
    section = html.split(f'id="page-{page}"')[1].split('id="page-')[0]
    return ['<li class="finding' + c.split("</li>")[0] + "</li>" for c in section.split('<li class="finding')[1:]]


def test_a_rule_failing_on_both_devices_is_one_card_at_the_worse_severity(env: Environment, sample: dict) -> None:
    """Consultants hand the report to clients: two near-identical cards, one per device, read as noise."""
    _both_devices(sample)
    cards = _cards(render(env, sample), 3)
    assert len(cards) == 2  # SPD001 on both devices, NAV001 on desktop
    card = cards[0]
    assert card.startswith('<li class="finding sev-high">') and '<span class="pill high">High</span>' in card
    text = " ".join(Parsed(card).text.split())
    assert text == ("High Slow page load Speed On desktop and mobile SPD001 "
                    "Desktop: The page took 3.1 s to load. Mobile: The page took 6.3 s to load. "
                    "How to fix: Defer scripts that are not needed for the first screen and compress images. "
                    "Load time Desktop 3.1 s Mobile 6.3 s Main content visible (LCP) 2.7 s")
    # A rule that failed on one device keeps its card as it was.
    other = " ".join(Parsed(cards[1]).text.split())
    assert other.startswith("Low Too many items in the main navigation Navigation On desktop NAV001 "
                            "The main navigation has 11 items; visitors scan about 7. How to fix:")


def test_a_card_per_device_line_does_not_name_its_device_twice(env: Environment, sample: dict) -> None:
    """Under "Desktop:" a rule's own "on desktop" was said again: "Desktop: The page took 3.1 s to load on desktop"."""
    home = _both_devices(sample)
    home["findings"][1]["message"] = "The page took 3.1 s to load on desktop (aim for under 2.0 s)."  # [0] is mobile's
    home["findings"][0]["message"] = "On mobile, none of the 2 calls to action is visible on mobile."
    (card, _) = _cards(render(env, sample), 3)
    text = " ".join(Parsed(card).text.split())
    assert ("Desktop: The page took 3.1 s to load (aim for under 2.0 s). Mobile: None of the 2 calls to action is "
            "visible.") in text


def test_a_one_device_run_does_not_say_all_devices(env: Environment, sample: dict) -> None:
    """A trial's phone-only report labelled page-wide findings "All devices" and counted problems "seen on one
    device or on both", as if desktop had been audited too."""
    sample["settings"]["devices"] = ["mobile"]
    for page in sample["pages"]:
        for finding in page["findings"]:
            finding["device"] = None  # page-wide: no device of its own
    text = " ".join(Parsed(render(env, sample)).text.split())
    assert "All devices" not in text and "On mobile" in text
    assert "seen on one device or on both" not in text
    sample["settings"]["devices"] = ["desktop", "mobile"]
    assert "All devices" in " ".join(Parsed(render(env, sample)).text.split())


def test_lines_the_same_but_for_their_device_are_one_line(env: Environment, sample: dict) -> None:
    home = _both_devices(sample)
    home["findings"][0]["message"] = "The page has no visible call to action at all on mobile."
    home["findings"][1]["message"] = "The page has no visible call to action at all on desktop."
    (card, _) = _cards(render(env, sample), 3)
    text = " ".join(Parsed(card).text.split())
    assert "SPD001 The page has no visible call to action at all. How to fix:" in text and "Desktop:" not in text


def test_one_card_says_a_shared_line_once(env: Environment, sample: dict) -> None:
    home = _both_devices(sample)
    home["findings"][0]["message"] = home["findings"][1]["message"] = "The page is slow to load."
    home["findings"][0]["evidence"] = dict(home["findings"][1]["evidence"])
    (card, _) = _cards(render(env, sample), 3)
    assert " ".join(Parsed(card).text.split()) == (
        "High Slow page load Speed On desktop and mobile SPD001 The page is slow to load. "
        "How to fix: Defer scripts that are not needed for the first screen and compress images. "
        "Load time 3.1 s Main content visible (LCP) 2.7 s")


def test_findings_are_counted_once_per_page_and_rule_as_the_cards_show(env: Environment, sample: dict) -> None:
    """The summary, the page list and the hero count what a client sees: a card, not a card per device."""
    _both_devices(sample)
    html = render(env, sample)
    assert '<div class="n">3</div><div class="l">high-impact findings</div>' in html  # 4 findings in report.json
    assert '<div class="n">2</div><div class="l">medium-impact findings</div>' in html
    assert '<div class="n">2</div><div class="l">low-impact findings</div>' in html
    text = " ".join(Parsed(html).text.split())
    assert ("What was checked, and how many problems were found: a problem counts once for each page it is on, "
            "seen on one device or on both.") in text
    assert "counts twice" not in text
    row = html[html.index('href="#page-3"'):].split("</tr>")[0]
    assert Parsed(row).text.split()[-1] == "2"  # the page list's Issues column, 3 findings in report.json


def test_issue_counts_are_the_html_s(env: Environment, sample: dict) -> None:
    """The terminal's line says what the client's report says (report.json's summary counts each device apart)."""
    from auditor.report import issue_counts

    _both_devices(sample)
    assert issue_counts(sample) == {"high": 3, "medium": 2, "low": 2}
    html = render(env, sample)
    for severity, n in issue_counts(sample).items():
        assert f'<div class="n">{n}</div><div class="l">{severity}-impact findings</div>' in html


def test_minimal_report_renders(env: Environment) -> None:
    minimal = {
        "schema_version": 1,
        "tool": {"name": "cro-audit", "version": "0.1.0"},
        "started_at": "2026-11-25T20:15:01Z",
        "finished_at": "2026-11-25T20:15:09Z",
        "partial": True,
        "start_urls": ["https://client.example/"],
        "settings": {"devices": ["desktop"], "max_pages": 1, "max_depth": 0, "timeout": 30},
        "score": None,
        "band": None,
        "categories": {},
        "summary": {"pages_audited": 0, "pages_failed": 0, "findings": {"high": 0, "medium": 0, "low": 0}},
        "backlog": [],
        "pages": [],
    }
    html = render(env, minimal)
    # Nothing was checked (an unreachable site): the report must not look like a clean bill of health.
    assert "No page could be checked, so nothing was judged" in html and "No issues to fix" not in html
    assert 'aria-label="Overall score: n/a"' in html
    minimal["summary"]["pages_audited"] = 1
    assert "No issues to fix were found on the audited pages." in render(env, minimal)


# ---------------------------------------------------------------- index.html.j2


def sites() -> list[dict]:
    return [
        {"name": "<script>alert(1)</script>", "start_url": "https://a.example/", "score": 38,
         "report_href": "a-example/report.html", "pages": 12, "error": None},
        {"name": "Bravo", "start_url": "javascript:alert(1)", "score": None, "report_href": "javascript:alert(1)",
         "pages": 0, "error": '"><img src=x onerror=alert(1)>'},
        {"name": "Charlie", "start_url": "https://c.example/", "score": 95, "report_href": "localhost:8000/report.html",
         "pages": 3, "error": None},
        {"name": "Delta", "start_url": "https://d.example/", "score": 70, "report_href": "./localhost:8000/report.html",
         "pages": 3, "error": None},
    ]


def test_index_escapes_and_links_safely(env: Environment) -> None:
    html = render_index(env, sites())
    assert ESCAPED_SCRIPT in html and ESCAPED_IMG in html
    assert_no_active_content(html)
    hrefs = Parsed(html).attrs("a", "href")
    assert hrefs == [
        "https://a.example/", "a-example/report.html",
        "https://c.example/",  # "localhost:8000/..." would be read as a URL scheme: not linked
        "https://d.example/", "./localhost:8000/report.html",
    ]
    text = " ".join(Parsed(html).text.split())
    assert "javascript:alert(1)" in text  # shown as text
    assert 'aria-label="Bravo score: n/a"' in html
    assert text.index("Bravo") < text.index("Charlie") < text.index("Delta")  # order as given
    assert "Audit failed:" in text and "no report" in text
    assert "@media print" in html and "<link" not in html.lower()


def test_index_escapes_every_string(env: Environment) -> None:
    html = render_index(env, _poison(sites()), _poison(BRANDING))
    assert "<img src=x" not in html.lower()
    assert_no_active_content(html)


def test_index_with_no_sites(env: Environment) -> None:
    assert "No sites were audited." in render_index(env, [])


def test_index_footer_names_the_agency_and_the_tool_once() -> None:
    from auditor.report import render_index as render_real

    branded = " ".join(Parsed(render_real([], {**BRANDING, "name": "Acme Growth"})).text.split())
    assert "Prepared by Acme Growth with cro-audit " in branded
    plain = " ".join(Parsed(render_real([], {**BRANDING, "name": "cro-audit"})).text.split())
    assert "Made with cro-audit " in plain and "Prepared by cro-audit" not in plain


def test_an_interrupted_batch_says_so_on_its_index() -> None:
    from auditor.report import render_index as render_real

    assert "Interrupted: the batch was stopped" in " ".join(Parsed(render_real([], BRANDING, partial=True)).text.split())
    assert "Interrupted" not in Parsed(render_real([], BRANDING)).text


def test_a_page_with_no_facts_could_not_be_checked_at_all(env: Environment, sample: dict) -> None:
    text = " ".join(Parsed(render(env, sample)).text.split())
    assert "This page could not be checked: " in text  # the sample's failed page has no facts at all
    assert "1 page not audited" in text and "4 pages audited" in text
    failed = next(p for p in sample["pages"] if p.get("error"))
    failed["devices"] = {"desktop": sample["pages"][1]["devices"]["desktop"]}  # one device measured
    assert "This page could not be fully checked: " in " ".join(Parsed(render(env, sample)).text.split())


def test_every_template_ships_in_the_package() -> None:
    """The pages import _macros.html.j2: a template the package data leaves out breaks an installed cro-audit."""
    import fnmatch
    import tomllib

    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["*"]
    names = sorted(p.name for p in TEMPLATES.iterdir())
    assert "_macros.html.j2" in names
    assert [n for n in names if not any(fnmatch.fnmatch(n, pattern) for pattern in patterns)] == []


# ---------------------------------------------------------------- report.schema.json


def test_schema_is_valid_draft_2020_12(schema: dict) -> None:
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


def test_sample_report_matches_schema(schema: dict, sample: dict) -> None:
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator(schema).iter_errors(sample)]
    assert errors == []


def _set(report: dict, path: list, value: object) -> dict:
    report = copy.deepcopy(report)
    target = report
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return report


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (["score"], 101),
        (["score"], -1),
        (["score"], "63"),
        (["score"], 63.5),
        (["score"], True),
        (["schema_version"], 2),
        (["pages"], KeyError),
        (["partial"], "no"),
        (["categories", "speed", "score"], 101),
        (["pages", 1, "score"], 100.5),
        (["pages", 1, "categories", "speed"], "90"),
        (["pages", 1, "findings", 0, "severity"], "critical"),
        (["pages", 1, "findings", 0, "evidence"], KeyError),
        (["pages", 0, "error", "kind"], "gremlins"),
        (["pages", 1, "devices", "desktop", "screenshot"], KeyError),
        (["pages", 1, "devices", "desktop", "ctas", 0, "above_fold"], "yes"),
        (["pages", 1, "unexpected"], 1),
        (["backlog", 0, "pie"], 11),
        (["summary", "findings", "high"], KeyError),
    ],
)
def test_schema_rejects(schema: dict, sample: dict, path: list, value: object) -> None:
    assert not validator(schema).is_valid(_set(sample, path, value))


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (["score"], None),
        (["score"], 0),
        (["score"], 100),
        (["band"], None),
        (["something_new"], {"a": 1}),  # forward compatible at the top level
        (["settings", "user_agent"], "x"),
        (["pages", 1, "devices", "desktop", "new_fact"], [1, 2]),  # and in facts
        (["pages", 1, "devices", "desktop", "ctas", 0, "new_fact"], 1),
        (["pages", 1, "devices", "desktop", "cls"], None),
        (["pages", 1, "findings", 0, "evidence"], {"nested": {"a": [1, "b", None]}}),
    ],
)
def test_schema_accepts(schema: dict, sample: dict, path: list, value: object) -> None:
    assert validator(schema).is_valid(_set(sample, path, value))


# ---------------------------------------------------------------- the schema tracks auditor/facts.py


def test_schema_matches_facts_dataclasses(schema: dict, sample: dict) -> None:
    facts = pytest.importorskip("auditor.facts")
    names = lambda cls: {f.name for f in dataclasses.fields(cls)}  # noqa: E731
    defs = schema["$defs"]
    assert set(defs["device_facts"]["required"]) == names(facts.DeviceFacts)
    assert set(defs["cta"]["required"]) == names(facts.Cta)
    assert set(defs["form"]["required"]) == names(facts.Form)
    assert set(defs["finding"]["required"]) == names(facts.Finding)
    assert set(defs["page_error"]["properties"]["kind"]["enum"]) == set(facts.ERROR_KINDS)
    assert set(defs["page"]["required"]) == set(facts.PageResult(url="https://x.example/").to_dict())

    page_validator = validator(schema, "page")
    for page in sample["pages"]:
        round_tripped = facts.PageResult.from_dict(page).to_dict()
        assert list(page_validator.iter_errors(round_tripped)) == []


def test_real_report_matches_schema_and_renders(schema: dict, sample: dict) -> None:
    """auditor.report builds report.json from judged pages: it must validate, and render safely."""
    report_mod = pytest.importorskip("auditor.report")
    from auditor.config import Settings
    from auditor.facts import PageResult
    from auditor.rulebook import builtin_modules, load_rulebook
    from auditor.score import judge_page

    book = load_rulebook(modules=list(builtin_modules()))
    pages = [judge_page(PageResult.from_dict(p), book) for p in sample["pages"]]
    report = report_mod.build_report(
        pages, book, Settings(), ["https://client.example/"], "2026-11-25T20:15:01Z", partial=False,
        browser_version="Chromium 131",
    )
    report = json.loads(report_mod.to_json(report))
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator(schema).iter_errors(report)]
    assert errors == []
    assert report["backlog"], "the sample's facts should fail some rules"

    html = report_mod.render_html(report, {"name": "Acme", "logo_data_uri": None, "accent": "#0b6bcb"})
    assert "<img src=x" not in html.lower()
    assert_no_active_content(html)


@pytest.mark.parametrize(
    ("head", "mime"),
    [
        (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", "image/png"),
        (b"\xff\xd8\xff\xe0\0\x10JFIF", "image/jpeg"),
        (b"GIF89a\x01\0\x01\0", "image/gif"),
        (b"RIFF\x24\0\0\0WEBPVP8 ", "image/webp"),
        (b'\xef\xbb\xbf<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>', "image/svg+xml"),
        (b"  <svg xmlns='http://www.w3.org/2000/svg'></svg>", "image/svg+xml"),
        (b"root:x:0:0:root:/root:/bin/bash\n", None),  # /etc/passwd, whatever it is named
        (b"<!doctype html><html><script>alert(1)</script>", None),
        (b"<?xml version='1.0'?><feed/>", None),
        (b"", None),
    ],
)
def test_a_logo_is_embedded_by_what_its_bytes_are_not_its_name(head, mime):
    from auditor.report import image_type

    assert image_type(head) == mime


def test_the_summary_says_how_speed_was_measured(env: Environment, sample: dict) -> None:
    """A client reads 'Load time 0.3 s' next to the score, not in the footer: the summary says over what."""
    assert "measured over the auditing machine's own connection" in Parsed(render(env, sample)).text
    sample["settings"]["throttle"] = True
    text = " ".join(Parsed(render(env, sample)).text.split())
    assert ("Load times were measured as visitors get them: phones on a slow 4G connection with a slower processor, "
            "desktops on broadband.") in text
    sample["settings"]["devices"] = ["mobile"]  # a trial's phone-only report spoke of desktops on broadband too
    text = " ".join(Parsed(render(env, sample)).text.split())
    assert "visitors get them: phones on a slow 4G connection with a slower processor." in text
    assert "desktops on broadband" not in text and "phones on slow 4G (150 ms, 1.6 Mbit/s) with a 4x slower processor." in text


def test_a_failed_page_without_a_title_is_named_by_what_happened(env: Environment, sample: dict) -> None:
    """A client reading the page list sees why a page has no score, not 'Untitled page'."""
    failed = {"url": "http://127.0.0.1:1/gone.html", "final_url": None, "status_code": 404, "depth": 1,
              "error": {"kind": "http_error", "message": "The server answered HTTP 404."}, "devices": {},
              "score": None, "categories": {}, "findings": []}
    sample["pages"].append(failed)
    html = render(env, sample)
    row = html[html.index('class="toc"'):]
    assert "Page not found (404)</span></a><br><span class=\"url url-text muted\" dir=\"ltr\">http://127.0.0.1:1/gone.html" in row
    for code, name in ((503, "Server error (503)"), (None, "Server returned an error"),
                       (403, "Error page (HTTP 403)"), (200, "Page not found (an error page served as 200)")):
        failed["status_code"] = code
        assert f'<span class="t">{name}</span>' in render(env, sample), code
    assert "--throttle" not in html  # the client reads no command-line flags


def test_the_score_is_set_against_the_previous_audit_when_there_is_one(env: Environment, sample: dict) -> None:
    """A client who had last month's report sees at once whether the site got better."""
    assert 'id="change"' not in render(env, sample)  # a first audit: nothing to compare with
    score = sample["score"]
    for before, words in ((score - 3, "Up 3 points"), (score + 1, "Down 1 point"), (score, "Unchanged")):
        sample["previous"] = {"score": before, "finished_at": "2026-10-26T02:00:00Z"}
        text = " ".join(Parsed(render(env, sample)).text.split())
        assert f"{words} since the audit of 26 Oct 2026, 02:00 UTC ({before}/100)" in text


def test_a_backlog_item_prints_every_page_it_lists(env: Environment, sample: dict) -> None:
    """The printout has no page list to turn to: '…and 7 more' on screen is the pages themselves on paper."""
    item = sample["backlog"][0]
    item["urls"] = [f"https://client.example/p{i}" for i in range(9)]
    item["pages"] = 12
    html = render(env, sample)
    row = html[html.index('class="backlog"'):].split("</tr>")[1]
    assert '<span class="more">…and 7 more</span>' in row  # on screen: five shown
    rest = row.split('<span class="rest">')[1].split('</span></span>')[0]
    assert [f"/p{i}" in rest for i in range(9)] == [False] * 5 + [True] * 4
    assert '<span class="more-print">…and 3 more</span>' in row  # on paper: the 9 known, and how many beyond
    assert ".backlog .rest, .backlog .more-print { display: inline; }" in html.split("@media print")[1]


def test_the_index_puts_sites_with_broken_pages_before_clean_ones() -> None:
    """'Worst first' put a site with 6 of 8 pages not found (score 95: the score leaves them out) below clean
    sites of 92 (a trial). A site that could not be audited still leads; among broken ones, by score."""
    from auditor.report import render_index as render_real_index

    def site(name, score, broken, error=None):
        return {"name": name, "start_url": f"https://{name}.example/", "score": score, "pages": 8,
                "broken_pages": broken, "report_href": f"{name}/report.html", "error": error}

    sites = [site("clean", 92, 0), site("holes", 95, 6), site("down", None, None, "unreachable"),
             site("cracks", 80, 1), site("fine", 100, 0)]
    html = render_real_index(sites, BRANDING)
    assert sorted(["clean", "holes", "down", "cracks", "fine"], key=lambda n: html.index(f">{n}<")) == [
        "down", "cracks", "holes", "clean", "fine"]


def test_a_comparison_over_another_page_count_says_so(env: Environment, sample: dict) -> None:
    """A score over 3 pages set against one over 12 is not the site getting worse: both pages say so."""
    sample["previous"] = {"score": sample["score"], "finished_at": "2026-10-26T02:00:00Z",
                          "start_url": sample["start_urls"][0], "pages_audited": sample["summary"]["pages_audited"]}
    assert "which covered" not in render(env, sample)  # like for like: nothing to add
    sample["previous"].update(pages_audited=12, start_url="https://main.example/")
    text = " ".join(Parsed(render(env, sample)).text.split())
    assert (f"Unchanged since the audit of 26 Oct 2026, 02:00 UTC of https://main.example/ ({sample['score']}/100), "
            f"which covered 12 pages; this one covers {sample['summary']['pages_audited']}") in text
    row = {"name": "a", "start_url": "https://a.example/", "score": 80, "pages": 3, "report_href": "a/report.html",
           "error": None, "previous": {"score": 84, "finished_at": "2026-10-26T02:00:00Z", "pages_audited": 12}}
    assert "down 4 since 26 Oct 2026, 02:00 UTC (12 pages then)" in " ".join(Parsed(render_index(env, [row])).text.split())
    row["previous"]["pages_audited"] = 3
    assert "pages then" not in render_index(env, [row])
