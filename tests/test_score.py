"""Scoring from facts: judge_page, site_scores, the PIE backlog, bands and severities (no browser).

The expected numbers are worked out by hand in the comments, from the rule weights and category weights:
speed 25 (SPD001 w10, SPD002 w6; SPD003 w10 in place of SPD001 where the server is most of the load), mobile 25 (MOB001 w10, MOB002 w8, MOB003 w4), navigation 15 (NAV001 w8,
NAV002 w5), cta 20 (CTA001 w10, CTA002 w5), forms 15 (FRM001 w8).
"""

from __future__ import annotations

import pytest

from auditor.facts import PageError, PageResult
from auditor.rulebook import Category, Rulebook, Verdict, rule
from auditor.score import FINDING_BELOW, backlog, band, judge_page, page_value, severity, site_scores
from tests.factsmaker import BUILTIN_IDS, builtin_book, cta, desktop, finding, form, mobile, page, scored_page

BOOK = builtin_book()


def test_the_book_and_weights_these_numbers_assume():
    weights = {r.id: r.weight for r in BOOK.rules}
    assert weights == {"CTA001": 10, "CTA002": 5, "FRM001": 8, "MOB001": 10, "MOB002": 8, "MOB003": 4,
                       "NAV001": 8, "NAV002": 5, "SPD001": 10, "SPD002": 6, "SPD003": 10}
    assert {c: cat.weight for c, cat in BOOK.categories.items()} == {
        "speed": 25, "mobile": 25, "navigation": 15, "cta": 20, "forms": 15}


# ====================================================================== judge_page
class TestJudgeGoodPage:
    def test_good_facts_score_100_with_no_findings(self):
        result = judge_page(page(desktop=desktop(), mobile=mobile()), BOOK)
        assert result.findings == []
        assert result.categories == {"cta": 100, "forms": None, "mobile": 100, "navigation": 100, "speed": 100}
        assert result.score == 100

    def test_a_form_makes_forms_applicable(self):
        result = judge_page(page(desktop=desktop(forms=[form(2)]), mobile=mobile()), BOOK)
        assert result.categories["forms"] == 100


def mixed_page() -> PageResult:
    """Desktop and mobile facts that fail exactly: SPD001 (desktop), SPD002 (desktop), MOB001, MOB003, NAV001,
    CTA001 (mobile), CTA002. Mobile's own crowded menu, link count, contrast and long form must be ignored:
    those rules are page-level and desktop was measured."""
    return page(
        desktop=desktop(
            load_ms=4000,  # SPD001 50 (median)
            lcp_ms=2400,  # SPD002 50 (desktop median)
            nav_item_count=9,  # NAV001 100 - 2*15 = 70
            link_count=0,  # NAV002 100
            ctas=[cta("Buy", contrast=3.5)],  # CTA001 100; CTA002 60
            forms=[],  # FRM001 n/a
        ),
        mobile=mobile(
            load_ms=2000,  # SPD001 90 (p10): no finding
            lcp_ms=300,  # SPD002 100
            has_viewport_meta=False,  # MOB001 0
            # MOB002 n/a (no viewport tag, 980 px layout); MOB003: one of 4 is 33 px short of 44,
            # 100 * (1 - 0.75 / 4) = 81.25; CTA001 0 (none above the fold)
            ctas=[cta("A", above=False, y=900, contrast=1.0), cta("B", above=False, y=1000),
                  cta("C", above=False, y=1100), cta("tiny", above=False, y=1200, width=11, height=11)],
            nav_item_count=20,  # ignored (NAV001 is page-level)
            link_count=1000,  # ignored (NAV002 is page-level)
            forms=[form(20)],  # ignored (FRM001 is page-level)
        ),
    )


class TestJudgeMixedPage:
    def test_category_scores(self):
        result = judge_page(mixed_page(), BOOK)
        assert result.categories == {
            # SPD001 mean(50, 90) = 70, SPD002 mean(50, 100) = 75: (70*10 + 75*6) / 16 = 71.875
            "speed": 72,
            # MOB001 0, MOB003 81.25 (mobile only); MOB002 n/a without a viewport tag: (0*10 + 81.25*4) / 14 = 23.2
            "mobile": 23,
            # NAV001 70, NAV002 100 (desktop only): (70*8 + 100*5) / 13 = 81.54
            "navigation": 82,
            # CTA001 mean(100, 0) = 50, CTA002 60 (desktop only): (50*10 + 60*5) / 15 = 53.33
            "cta": 53,
            # FRM001 n/a on desktop; the mobile form is never looked at
            "forms": None,
        }

    def test_page_score_ignores_not_applicable_categories(self):
        # (72*25 + 23*25 + 82*15 + 53*20) / (25 + 25 + 15 + 20) = 54.9; forms weighs nothing
        assert judge_page(mixed_page(), BOOK).score == 55

    def test_findings_sorted_worst_band_first_then_by_rule(self):
        """Not by the score within a band: timings move scores a point from run to run, and the order with them."""
        result = judge_page(mixed_page(), BOOK)
        assert [(f.rule_id, f.device, f.score, f.severity) for f in result.findings] == [
            ("CTA001", "mobile", 0, "high"),
            ("MOB001", "mobile", 0, "high"),
            ("CTA002", None, 60, "medium"),
            ("NAV001", None, 70, "medium"),
            ("SPD001", "desktop", 50, "medium"),
            ("SPD002", "desktop", 50, "medium"),
            ("MOB003", "mobile", 81, "low"),
        ]

    def test_findings_carry_the_rule_and_verdict(self):
        result = judge_page(mixed_page(), BOOK)
        nav = next(f for f in result.findings if f.rule_id == "NAV001")
        rule_ = BOOK.get("NAV001")
        assert nav.category == "navigation"
        assert nav.title == rule_.failure_title
        assert nav.recommendation == rule_.recommendation
        assert "9 top-level items" in nav.message  # desktop's menu, not mobile's 20
        assert nav.evidence["nav_item_count"] == 9
        assert isinstance(nav.score, int)

    def test_only_scores_below_90_become_findings(self):
        result = judge_page(mixed_page(), BOOK)
        assert all(f.score < FINDING_BELOW == 90 for f in result.findings)
        # mobile SPD001 scored exactly 90: no finding
        assert [f.device for f in result.findings if f.rule_id == "SPD001"] == ["desktop"]

    def test_judging_again_gives_the_same_result(self):
        result = judge_page(mixed_page(), BOOK)
        first = (list(result.findings), dict(result.categories), result.score)
        judge_page(result, BOOK)
        assert (result.findings, result.categories, result.score) == first


class TestFindingThreshold:
    @pytest.mark.parametrize("penalty, expected_findings", [(10, []), (11, [89])])
    def test_89_is_a_finding_and_90_is_not(self, penalty, expected_findings):
        book = builtin_book(select=["NAV001"], overrides={"NAV001": {"penalty_per_item": penalty}})
        result = judge_page(page(desktop=desktop(nav_item_count=8)), book)
        assert [f.score for f in result.findings] == expected_findings
        assert result.categories["navigation"] == 100 - penalty

    def test_scores_are_rounded_before_the_threshold(self):
        # FRM001 with p10 = the field count scores 90.0 (to within float error): rounds to 90, no finding
        book = builtin_book(select=["FRM001"])
        result = judge_page(page(desktop=desktop(forms=[form(5)])), book)
        assert result.findings == [] and result.categories["forms"] == 90


class TestTapTargetSeverity:
    """MOB003's severity follows how far a lone call to action falls short of 44 px, not only that it does."""

    @pytest.mark.parametrize("side, expected", [
        (44, []), (43, []),  # at the minimum, and a pixel short: 97.7, not a finding
        (36, [(82, "low")]), (30, [(68, "medium")]), (20, [(45, "high")]),
    ])
    def test_by_shortfall(self, side, expected):
        result = judge_page(page(mobile=mobile(ctas=[cta("Buy now", width=92, height=side)])), BOOK)
        assert [(f.score, f.severity) for f in result.findings if f.rule_id == "MOB003"] == expected


class TestDevices:
    def test_per_device_rule_gives_a_finding_per_failing_device(self):
        result = judge_page(page(desktop=desktop(load_ms=8000), mobile=mobile(load_ms=8000)), BOOK)
        spd = [f for f in result.findings if f.rule_id == "SPD001"]
        assert sorted(f.device for f in spd) == ["desktop", "mobile"]
        assert all("8.0 s" in f.message and f.device in f.message for f in spd)

    def test_page_level_rule_uses_desktop_when_both_measured(self):
        result = judge_page(page(desktop=desktop(nav_item_count=5), mobile=mobile(nav_item_count=14)), BOOK)
        assert not [f for f in result.findings if f.rule_id == "NAV001"]
        assert result.categories["navigation"] == 100

    def test_page_level_rule_uses_desktop_and_reports_no_device(self):
        result = judge_page(page(desktop=desktop(nav_item_count=14), mobile=mobile(nav_item_count=5)), BOOK)
        (nav,) = [f for f in result.findings if f.rule_id == "NAV001"]
        assert nav.score == 0 and nav.device is None

    def test_page_level_rule_uses_mobile_when_only_mobile_measured(self):
        result = judge_page(page(mobile=mobile(nav_item_count=12)), BOOK)
        (nav,) = [f for f in result.findings if f.rule_id == "NAV001"]
        assert nav.score == 25 and nav.device is None

    def test_page_level_rule_not_applicable_on_desktop_does_not_fall_back_to_mobile(self):
        result = judge_page(page(desktop=desktop(forms=[]), mobile=mobile(forms=[form(30)])), BOOK)
        assert result.categories["forms"] is None

    def test_mobile_rules_not_applicable_when_only_desktop_measured(self):
        result = judge_page(page(desktop=desktop(has_viewport_meta=False, horizontal_overflow=True)), BOOK)
        assert result.categories["mobile"] is None
        assert not [f for f in result.findings if f.category == "mobile"]
        # speed, navigation, cta at 100; mobile and forms weigh nothing
        assert result.score == 100


class TestServerBoundPage:
    """The trial: a 923-byte page, one request, whose server took 4 s to answer (the load time's rules only)."""

    LOAD = builtin_book(select=["SPD001", "SPD003"])

    def trial(self) -> PageResult:
        return page(desktop=desktop(ttfb_ms=4000, load_ms=4030, fcp_ms=4060, lcp_ms=4060, request_count=1,
                                    transfer_bytes=923))

    def test_its_load_is_one_finding_about_the_server(self):
        result = judge_page(self.trial(), self.LOAD)
        assert [(f.rule_id, f.severity) for f in result.findings] == [("SPD003", "high")]
        assert result.findings[0].recommendation == BOOK.get("SPD003").recommendation
        assert "WebP" not in result.findings[0].recommendation
        # SPD003 stands in for SPD001 (both w10), and counts the same seconds once: log_normal(4000, 800, 1800)
        assert result.categories["speed"] == 10

    def test_the_backlog_gives_the_servers_fix(self):
        (entry,) = backlog([judge_page(self.trial(), self.LOAD)], self.LOAD)
        assert entry["rule_id"] == "SPD003" and entry["ease"] == 3
        assert "hosting" in entry["recommendation"] and "WebP" not in entry["recommendation"]

    def test_a_heavy_page_keeps_the_page_weight_finding(self):
        result = judge_page(page(desktop=desktop(ttfb_ms=1500, load_ms=8000)), self.LOAD)
        (spd,) = result.findings
        assert spd.rule_id == "SPD001" and "WebP" in spd.recommendation and spd.evidence["ttfb_ms"] == 1500


class TestFailedPages:
    def test_error_without_facts_has_no_score(self):
        failed = PageResult(url="https://example.test/x", error=PageError("timeout", "took too long"))
        result = judge_page(failed, BOOK)
        assert result.score is None
        assert result.findings == []
        assert all(v is None for v in result.categories.values())

    def test_rejudging_a_failed_page_clears_stale_results(self):
        failed = PageResult(url="https://example.test/x", error=PageError("network", "refused"),
                            score=80, categories={"speed": 80}, findings=[finding("SPD001", 10)])
        result = judge_page(failed, BOOK)
        assert (result.score, result.findings) == (None, [])
        assert all(v is None for v in result.categories.values())

    def test_error_with_partial_facts_is_still_judged(self):
        partial = page(desktop=desktop(load_ms=None))
        partial.error = PageError("timeout", "load event never fired")
        result = judge_page(partial, BOOK)
        (spd,) = [f for f in result.findings if f.rule_id == "SPD001"]
        assert spd.score == 0 and spd.device == "desktop"
        # SPD001 0, SPD002 100: (0*10 + 100*6) / 16 = 37.5 -> 38
        assert result.categories["speed"] == 38
        assert result.score is not None


# ====================================================================== site_scores
class TestSiteScores:
    def test_mean_of_scored_pages(self):
        pages = [
            scored_page("a", 60, categories={"speed": 40, "cta": None}),
            scored_page("b", 70, categories={"speed": 51, "cta": 90}),
            scored_page("c", 81, categories={"speed": 70, "cta": 80}),
            scored_page("d", None, categories={"speed": 0, "cta": 0}),  # failed: ignored
        ]
        result = site_scores(pages, BOOK)
        assert result.score == 70  # (60 + 70 + 81) / 3 = 70.33
        assert result.categories["speed"] == 54  # (40 + 51 + 70) / 3 = 53.67
        assert result.categories["cta"] == 85  # None ignored: (90 + 80) / 2
        assert result.categories["forms"] is None  # no page has it
        assert set(result.categories) == set(BOOK.categories)

    def test_all_failed(self):
        result = site_scores([scored_page("a", None), scored_page("b", None)], BOOK)
        assert result.score is None
        assert all(v is None for v in result.categories.values())

    def test_no_pages(self):
        assert site_scores([], BOOK).score is None

    def test_from_judged_pages(self):
        judged = [judge_page(mixed_page(), BOOK), judge_page(page(desktop=desktop(), mobile=mobile()), BOOK),
                  judge_page(PageResult(url="x", error=PageError("timeout", "t")), BOOK)]
        result = site_scores(judged, BOOK)
        assert result.score == 78  # (55 + 100) / 2 = 77.5, half up
        assert result.categories["mobile"] == 62  # (23 + 100) / 2 = 61.5, half up


# ====================================================================== backlog
class TestBacklog:
    @staticmethod
    def pages():
        return [
            scored_page("https://s.test/a", 60, [finding("SPD001", 30, "desktop"), finding("SPD001", 50, "mobile"),
                                                 finding("CTA002", 60)]),
            scored_page("https://s.test/b", 70, [finding("SPD001", 70, "desktop")]),
            scored_page("https://s.test/c", 80, [finding("MOB003", 75, "mobile")]),
            scored_page("https://s.test/d", 95, []),
            # a failed page: neither its findings nor its existence count
            scored_page("https://s.test/e", None, [finding("SPD001", 0, "desktop"), finding("NAV001", 0)]),
        ]

    def test_exact_pie_numbers(self):
        entries = {e["rule_id"]: e for e in backlog(self.pages(), BOOK)}
        assert set(entries) == {"SPD001", "CTA002", "MOB003"}
        # SPD001 (w10, ease 4): worst per page a=30, b=70. potential = mean(70, 30) / 10 = 5.0;
        # share = 2/4 audited pages; importance = 10 * (0.5 + 0.5 * 0.5) = 7.5; pie = (5 + 7.5 + 4) / 3 = 5.5
        spd = entries["SPD001"]
        assert (spd["potential"], spd["importance"], spd["ease"], spd["pie"], spd["pages"]) == (5.0, 7.5, 4, 5.5, 2)
        assert spd["urls"] == ["https://s.test/a", "https://s.test/b"]
        # CTA002 (w5, ease 9): potential = 40 / 10 = 4.0; importance = 5 * (0.5 + 0.5 * 0.25) = 3.125;
        # pie = (4 + 3.125 + 9) / 3 = 5.375
        cta2 = entries["CTA002"]
        assert (cta2["potential"], cta2["importance"], cta2["ease"], cta2["pie"], cta2["pages"]) == (4.0, 3.1, 9, 5.4, 1)
        # MOB003 (w4, ease 8): potential = 25 / 10 = 2.5; importance = 4 * 0.625 = 2.5; pie = 13 / 3 = 4.33
        mob = entries["MOB003"]
        assert (mob["potential"], mob["importance"], mob["ease"], mob["pie"], mob["pages"]) == (2.5, 2.5, 8, 4.3, 1)

    def test_entries_carry_the_rule(self):
        entry = next(e for e in backlog(self.pages(), BOOK) if e["rule_id"] == "CTA002")
        r = BOOK.get("CTA002")
        assert (entry["title"], entry["category"], entry["recommendation"]) == (r.failure_title, r.category, r.recommendation)

    def test_ranked_by_pie(self):
        entries = backlog(self.pages(), BOOK)
        assert [(e["rank"], e["rule_id"]) for e in entries] == [(1, "SPD001"), (2, "CTA002"), (3, "MOB003")]

    def test_no_findings_no_backlog(self):
        assert backlog([scored_page("a", 100)], BOOK) == []
        assert backlog([], BOOK) == []

    def test_findings_of_rules_not_in_the_book_are_skipped(self):
        assert backlog([scored_page("a", 50, [finding("GONE01", 0)])], BOOK) == []

    def test_urls_are_capped_at_20(self):
        pages = [scored_page(f"https://s.test/{i}", 50, [finding("SPD001", 40)]) for i in range(25)]
        (entry,) = backlog(pages, BOOK)
        assert entry["pages"] == 25 and len(entry["urls"]) == 20

    def test_floors(self):
        # potential and importance never drop below 1: a finding at 95 has potential 0.5 -> 1.0, and a weight-1 rule
        # on 1 page of 4 has importance 1 * 0.625 -> 1.0. pie = (1 + 1 + 1) / 3
        book = tiny_book(("LOW001", 1, 1))
        pages = [scored_page("a", 90, [finding("LOW001", 95)]), *[scored_page(u, 100) for u in "bcd"]]
        (entry,) = backlog(pages, book)
        assert (entry["potential"], entry["importance"], entry["pie"]) == (1.0, 1.0, 1.0)

    def test_importance_is_capped_at_10(self):
        book = tiny_book(("BIG001", 20, 10))
        (entry,) = backlog([scored_page("a", 0, [finding("BIG001", 0)])], book)
        assert (entry["potential"], entry["importance"], entry["pie"]) == (10.0, 10.0, 10.0)

    def test_tie_break_pages_then_rule_id(self):
        book = tiny_book(("ZZZ001", 4, 5), ("YYY001", 4, 5), ("AAA002", 4, 5), ("AAA001", 4, 5))
        pages = [
            scored_page("p1", 50, [finding("ZZZ001", 50), finding("YYY001", 40), finding("AAA002", 40),
                                   finding("AAA001", 40)]),
            scored_page("p2", 50, [finding("ZZZ001", 50)]),
        ]
        entries = backlog(pages, book)
        # ZZZ001: potential 5, importance 4 * 1.0 = 4, pie 14/3. The others: potential 6, importance 4 * 0.75 = 3,
        # pie 14/3. Equal pie: more pages first, then rule id.
        assert {e["pie"] for e in entries} == {4.7}
        assert [(e["rank"], e["rule_id"], e["pages"]) for e in entries] == [
            (1, "ZZZ001", 2), (2, "AAA001", 1), (3, "AAA002", 1), (4, "YYY001", 1)]

    def test_backlog_of_judged_pages(self):
        judged = [judge_page(mixed_page(), BOOK), judge_page(page(desktop=desktop(), mobile=mobile()), BOOK)]
        entries = backlog(judged, BOOK)
        assert [e["rank"] for e in entries] == list(range(1, len(entries) + 1))
        assert {e["rule_id"] for e in entries} == {"CTA001", "MOB001", "SPD001", "SPD002", "CTA002", "NAV001", "MOB003"}
        assert all(e["pages"] == 1 for e in entries)
        # MOB001 (w10, ease 9): potential 10; the mixed page holds a 20-field form, so it weighs 3 against the
        # plain start page's 2: importance 10 * (0.5 + 0.5 * 3/5) = 8, pie = 27 / 3 = 9.0: first
        assert entries[0]["rule_id"] == "MOB001" and entries[0]["pie"] == 9.0


class TestPageValue:
    @pytest.mark.parametrize(("url", "depth", "value"), [
        ("https://s.test/checkout", 2, 3), ("https://s.test/shop/cart.html", 1, 3), ("https://s.test/pricing/", 1, 3),
        ("https://s.test/contact-us", 1, 3), ("https://s.test/request-demo", 2, 3), ("https://s.test/", 0, 2),
        ("https://s.test/books/checkout-guide-review", 1, 1), ("https://s.test/blog/post", 1, 1),
        ("https://s.test/blog/post", 0, 2),
    ])
    def test_by_path_and_depth(self, url, depth, value):
        assert page_value(PageResult(url=url, depth=depth)) == value

    def test_a_page_with_a_form_of_three_fields_is_where_visitors_convert(self):
        lead = page(desktop=desktop(forms=[form(3)]), mobile=mobile())
        lead.depth = 1
        assert page_value(lead) == 3
        lead.devices["desktop"].forms = [form(2)]  # a newsletter box
        assert page_value(lead) == 1

    def test_a_problem_on_the_checkout_outranks_one_on_two_ordinary_pages(self):
        """Six pages: the start page (2), the checkout (3), four others (1): 9 in all. X fails on the checkout
        only, Y on two ordinary pages; same weight, ease and potential. By page count Y would come first."""
        book = tiny_book(("XXX001", 6, 5), ("YYY001", 6, 5))
        pages = [PageResult(url="https://s.test/", depth=0, score=90),
                 PageResult(url="https://s.test/checkout", depth=1, score=50, findings=[finding("XXX001", 50)])]
        pages += [PageResult(url=f"https://s.test/p{i}", depth=1, score=50 if i < 2 else 90,
                             findings=[finding("YYY001", 50)] if i < 2 else []) for i in range(4)]
        entries = {e["rule_id"]: e for e in backlog(pages, book)}
        assert entries["XXX001"]["importance"] == 4.0  # 6 * (0.5 + 0.5 * 3/9)
        assert entries["YYY001"]["importance"] == 3.7  # 6 * (0.5 + 0.5 * 2/9) = 3.67
        assert [e["rule_id"] for e in backlog(pages, book)] == ["XXX001", "YYY001"]


def tiny_book(*specs: tuple[str, float, int]) -> Rulebook:
    """A rulebook of do-nothing rules (id, weight, ease) in one category."""

    def make(rule_id: str, weight: float, ease: int):
        @rule(id=rule_id, name=rule_id.lower(), title="t", failure_title=f"{rule_id} fails", category="x",
              weight=weight, ease=ease, recommendation="r")
        def check(facts, t):
            """Doc."""
            return Verdict(100)

        return check

    return Rulebook(rules=[make(*s) for s in specs], categories={"x": Category("x", "X", 1)})


# ====================================================================== band / severity
@pytest.mark.parametrize("score, expected", [
    (100, "good"), (90, "good"), (89, "needs-work"), (89.9, "needs-work"), (50, "needs-work"), (49, "poor"),
    (0, "poor"), (None, "n/a"),
])
def test_band(score, expected):
    assert band(score) == expected


@pytest.mark.parametrize("score, expected", [(0, "high"), (49, "high"), (50, "medium"), (74, "medium"), (75, "low"), (89, "low")])
def test_severity(score, expected):
    assert severity(score) == expected


def test_builtin_ids_cover_the_builtin_rules():
    # if a new built-in rule appears, the hand-computed numbers above stay valid (BUILTIN_IDS selects), but it
    # needs tests of its own in test_rules.py
    from auditor.rulebook import load_rulebook

    assert sorted(r.id for r in load_rulebook().rules if r.source.startswith("rules.")) == BUILTIN_IDS
