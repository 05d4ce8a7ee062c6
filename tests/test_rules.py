"""The built-in rules and the rulebook, judged from hand-built facts (no browser).

Every rule is checked on both sides of each of its thresholds, with exact scores where the rule is discrete;
log-normal rules are checked at their control points (p10 scores 90, median scores 50) and under overrides.
"""

from __future__ import annotations

import re
import types

import pytest

from auditor.rulebook import Category, Rule, Verdict, builtin_modules, load_rulebook, log_normal, rule
from tests.factsmaker import cta, desktop, facts, form, mobile

BOOK = load_rulebook(modules=list(builtin_modules()))
RULES = {r.id: r for r in BOOK.rules}


def check(rule_id: str, device_facts, **thresholds) -> Verdict | None:
    """Run one built-in rule, with its default thresholds or overridden ones."""
    r = RULES[rule_id]
    if thresholds:
        r = r.with_thresholds(thresholds)
    return r.check(device_facts, r.thresholds)


def score(rule_id: str, device_facts, **thresholds) -> float | None:
    verdict = check(rule_id, device_facts, **thresholds)
    return None if verdict is None else verdict.score


# ====================================================================== log_normal
class TestLogNormal:
    def test_control_points(self):
        assert log_normal(2000, 2000, 4000) == pytest.approx(90, abs=0.01)
        assert log_normal(4000, 2000, 4000) == pytest.approx(50, abs=1e-9)

    def test_monotonic_and_bounded(self):
        values = [log_normal(v, 2000, 4000) for v in (1, 500, 1999, 2001, 3999, 4001, 10_000, 10**9)]
        assert values == sorted(values, reverse=True)
        assert all(0 <= v <= 100 for v in values)
        assert log_normal(10**9, 2000, 4000) == pytest.approx(0, abs=1e-6)

    @pytest.mark.parametrize("value", [0, -5])
    def test_zero_or_negative_is_perfect(self, value):
        assert log_normal(value, 2000, 4000) == 100.0


# ====================================================================== SPD001
@pytest.mark.parametrize(("rule", "changes"), [
    ("SPD001", {"load_ms": 3000}), ("SPD002", {"lcp_ms": 3000}), ("SPD003", {"ttfb_ms": 2000, "load_ms": 2500})])
def test_a_crowded_timing_says_it_may_read_high(rule, changes):
    """Timings taken with other pages loading and not measured again alone: the finding says so, in the report
    the client reads, not only on the terminal (a trial's throttled run kept 54 such visits)."""
    note = "Measured while other pages loaded at the same time, and not again alone, so it may read high"
    crowded, alone = check(rule, desktop(crowded=True, **changes)), check(rule, desktop(**changes))
    assert note in crowded.message and note not in alone.message
    assert crowded.score == alone.score and crowded.evidence == alone.evidence  # said, not judged otherwise


class TestSPD001SlowPageLoad:
    @pytest.mark.parametrize("device", ["desktop", "mobile"])
    def test_at_p10_scores_90(self, device):
        assert score("SPD001", facts(device, load_ms=2000)) == pytest.approx(90, abs=0.5)

    def test_at_median_scores_50(self):
        assert score("SPD001", desktop(load_ms=4000)) == pytest.approx(50, abs=0.5)

    def test_below_p10_scores_above_90(self):
        assert score("SPD001", desktop(load_ms=1900)) > 90

    def test_between_p10_and_median(self):
        assert 50 < score("SPD001", desktop(load_ms=3000)) < 90

    def test_above_median_scores_below_50(self):
        assert score("SPD001", desktop(load_ms=4100)) < 50

    def test_same_thresholds_on_both_devices(self):
        assert score("SPD001", desktop(load_ms=3000)) == score("SPD001", mobile(load_ms=3000))

    def test_never_loaded_scores_0(self):
        verdict = check("SPD001", desktop(load_ms=None))
        assert verdict.score == 0
        assert verdict.evidence == {"load_ms": None}
        assert "never finished loading" in verdict.message

    def test_with_thresholds_moves_the_score(self):
        assert score("SPD001", desktop(load_ms=2000), p10_ms=1000, median_ms=2000) == pytest.approx(50, abs=0.5)
        assert score("SPD001", desktop(load_ms=4000), p10_ms=4000, median_ms=8000) == pytest.approx(90, abs=0.5)

    def test_load_rulebook_override_moves_the_score(self):
        book = load_rulebook(select=["SPD001"], overrides={"SPD001": {"median_ms": 8000}})
        r = book.get("SPD001")
        assert r.thresholds == {"p10_ms": 2000, "median_ms": 8000}
        assert r.check(desktop(load_ms=8000), r.thresholds).score == pytest.approx(50, abs=0.5)
        assert r.check(desktop(load_ms=4000), r.thresholds).score > 50

    def test_message_and_evidence_name_the_value(self):
        verdict = check("SPD001", mobile(load_ms=5300, ttfb_ms=240, request_count=87, transfer_bytes=3_400_000))
        assert "5.3 s" in verdict.message
        assert "mobile" in verdict.message
        assert "2.0 s" in verdict.message  # the target
        assert "server" not in verdict.message  # a quick answer is not worth a word
        assert verdict.evidence == {"load_ms": 5300, "ttfb_ms": 240, "request_count": 87, "transfer_bytes": 3_400_000}

    @pytest.mark.parametrize("ttfb_ms, load_ms", [
        (601, 1203),  # over 0.6 s, but just under half of the load: the page's weight is most of the wait
        (600, 600),  # all of the load, but not over 0.6 s
        (None, 4000),  # not measured (a report from before ttfb_ms): judged as it always was
    ])
    def test_judges_a_load_the_server_is_not_most_of(self, ttfb_ms, load_ms):
        verdict = check("SPD001", desktop(ttfb_ms=ttfb_ms, load_ms=load_ms))
        assert verdict is not None and verdict.score == pytest.approx(log_normal(load_ms, 2000, 4000))

    @pytest.mark.parametrize("ttfb_ms, load_ms", [(601, 1202), (4000, 4050), (1500, 2900)])
    def test_a_load_that_is_mostly_a_slow_server_is_left_to_spd003(self, ttfb_ms, load_ms):
        assert check("SPD001", desktop(ttfb_ms=ttfb_ms, load_ms=load_ms)) is None
        assert check("SPD003", desktop(ttfb_ms=ttfb_ms, load_ms=load_ms)) is not None

    def test_a_slow_server_under_a_heavy_page_is_named_in_the_message(self):
        verdict = check("SPD001", desktop(ttfb_ms=1500, load_ms=8000))
        assert "8.0 s to load" in verdict.message
        assert "1.5 s of it was the wait for the server" in verdict.message
        assert verdict.evidence["ttfb_ms"] == 1500


# ====================================================================== SPD003
class TestSPD003SlowServerResponse:
    """The trial: a server that took 4 s to answer a 923-byte page, its only request."""

    TRIAL = dict(ttfb_ms=4000, load_ms=4030, request_count=1, transfer_bytes=923)

    @pytest.mark.parametrize("ttfb_ms, load_ms, applies", [
        (601, 1202, True), (601, 1203, False),  # half of the load time, and just under it
        (601, 601, True), (600, 600, False),  # over 0.6 s, and not
        (None, 4000, False), (4000, None, False),  # either not measured: SPD001's, as before
    ])
    def test_applies_where_the_server_is_most_of_a_long_wait(self, ttfb_ms, load_ms, applies):
        assert (check("SPD003", desktop(ttfb_ms=ttfb_ms, load_ms=load_ms)) is not None) is applies

    @pytest.mark.parametrize("device", ["desktop", "mobile"])
    def test_control_points(self, device):
        assert score("SPD003", facts(device, ttfb_ms=800, load_ms=900)) == pytest.approx(90, abs=0.5)
        assert score("SPD003", facts(device, ttfb_ms=1800, load_ms=1900)) == pytest.approx(50, abs=0.5)
        assert score("SPD003", facts(device, ttfb_ms=700, load_ms=900)) > 90
        assert 50 < score("SPD003", facts(device, ttfb_ms=1000, load_ms=1900)) < 90
        assert score("SPD003", facts(device, ttfb_ms=1900, load_ms=1900)) < 50

    def test_a_load_spd001_would_flag_is_flagged_here_too(self):
        # Over 2 s (under 90 for SPD001) and at least half of it the server's: a wait over 1 s, under 90 here.
        assert score("SPD001", desktop(ttfb_ms=None, load_ms=2001)) < 90
        assert score("SPD003", desktop(ttfb_ms=1001, load_ms=2001)) < 90

    def test_the_trial_page_is_told_about_its_server(self):
        verdict = check("SPD003", desktop(**self.TRIAL))
        assert verdict.score < 50  # high severity: a 4 s blank wait
        assert verdict.message == ("The server took 4.0 s to start sending the page on desktop, 99% of its 4.0 s "
                                   "load time (aim for under 0.8 s).")
        assert verdict.evidence == {"ttfb_ms": 4000, "load_ms": 4030, "request_count": 1, "transfer_bytes": 923}

    def test_the_fix_is_the_servers_not_the_pages_weight(self):
        fix = RULES["SPD003"].recommendation
        assert "cach" in fix and "hosting" in fix and "database" in fix and "CDN" in fix
        assert not re.search(r"WebP|AVIF|image format|minif", fix)
        assert "WebP" in RULES["SPD001"].recommendation  # the page-weight advice stays where weight is the cause

    def test_with_thresholds_moves_the_score_not_where_it_applies(self):
        assert score("SPD003", desktop(ttfb_ms=1000, load_ms=1100), p10_ms=500, median_ms=1000) == pytest.approx(50, abs=0.5)
        assert check("SPD003", desktop(ttfb_ms=500, load_ms=600), p10_ms=250, median_ms=500) is None


# ====================================================================== SPD002
class TestSPD002SlowMainContent:
    @pytest.mark.parametrize("device, p10, median", [("desktop", 1200, 2400), ("mobile", 2500, 4000)])
    def test_control_points_per_device(self, device, p10, median):
        assert score("SPD002", facts(device, lcp_ms=p10)) == pytest.approx(90, abs=0.5)
        assert score("SPD002", facts(device, lcp_ms=median)) == pytest.approx(50, abs=0.5)
        assert score("SPD002", facts(device, lcp_ms=p10 - 100)) > 90
        assert score("SPD002", facts(device, lcp_ms=median + 100)) < 50

    def test_same_lcp_is_judged_more_leniently_on_mobile(self):
        # 2.4 s is the desktop median (50) but better than the mobile p10 (above 90).
        assert score("SPD002", desktop(lcp_ms=2400)) == pytest.approx(50, abs=0.5)
        assert score("SPD002", mobile(lcp_ms=2400)) > 90

    def test_no_lcp_is_not_applicable(self):
        assert check("SPD002", desktop(lcp_ms=None)) is None
        assert check("SPD002", mobile(lcp_ms=None)) is None

    def test_a_load_that_is_mostly_the_server_is_left_to_spd003(self):
        """A trial's 1 KB page behind a 2 s server got SPD003 and then SPD002's advice to preload its hero image."""
        assert check("SPD002", desktop(ttfb_ms=2100, load_ms=2150, lcp_ms=2200)) is None
        assert check("SPD003", desktop(ttfb_ms=2100, load_ms=2150, lcp_ms=2200)).score < 50
        assert check("SPD002", desktop(ttfb_ms=700, load_ms=5000, lcp_ms=4000)).score < 50  # mostly the page

    def test_with_thresholds_moves_only_that_device(self):
        assert score("SPD002", mobile(lcp_ms=2500), mobile_p10_ms=1250, mobile_median_ms=2500) == pytest.approx(50, abs=0.5)
        assert score("SPD002", desktop(lcp_ms=1200), mobile_p10_ms=1250, mobile_median_ms=2500) == pytest.approx(90, abs=0.5)

    def test_load_rulebook_override_moves_the_score(self):
        book = load_rulebook(overrides={"SPD002": {"desktop_median_ms": 3000}})
        r = book.get("SPD002")
        assert r.check(desktop(lcp_ms=3000), r.thresholds).score == pytest.approx(50, abs=0.5)

    def test_message_and_evidence_name_the_value(self):
        verdict = check("SPD002", desktop(lcp_ms=3600, fcp_ms=900, ttfb_ms=300))
        assert "3.6 s" in verdict.message and "desktop" in verdict.message and "1.2 s" in verdict.message
        assert "server" not in verdict.message
        assert verdict.evidence == {"lcp_ms": 3600, "fcp_ms": 900, "ttfb_ms": 300}

    @pytest.mark.parametrize("ttfb_ms, named", [(600, False), (601, True), (None, False)])
    def test_a_long_wait_for_the_server_is_named(self, ttfb_ms, named):
        """On the trial page the main content came late because the server did: the client is told so."""
        message = check("SPD002", desktop(lcp_ms=4060, fcp_ms=4060, load_ms=5000, ttfb_ms=ttfb_ms)).message
        assert message.startswith("The largest content appeared after 4.1 s on desktop (aim for under 1.2 s)")
        assert ("of it was the wait for the server to answer" in message) is named


# ====================================================================== NAV001
class TestNAV001CrowdedMenu:
    @pytest.mark.parametrize("items, expected", [(1, 100), (5, 100), (7, 100), (8, 85), (9, 70), (13, 10), (14, 0), (30, 0)])
    def test_exact_scores(self, items, expected):
        assert score("NAV001", desktop(nav_item_count=items)) == expected

    def test_no_navigation_is_not_applicable(self):
        assert check("NAV001", desktop(nav_item_count=0, nav_items=[])) is None

    def test_with_thresholds_moves_the_score(self):
        assert score("NAV001", desktop(nav_item_count=9), max_items=9) == 100
        assert score("NAV001", desktop(nav_item_count=10), max_items=9) == 85
        assert score("NAV001", desktop(nav_item_count=8), penalty_per_item=10) == 90

    def test_load_rulebook_override_moves_the_score(self):
        r = load_rulebook(overrides={"NAV001": {"max_items": 9}}).get("NAV001")
        assert r.check(desktop(nav_item_count=9), r.thresholds).score == 100

    def test_message_and_evidence_name_the_value(self):
        items = [f"Item {i}" for i in range(11)]
        verdict = check("NAV001", desktop(nav_item_count=11, nav_items=items))
        assert "11 top-level items" in verdict.message
        assert verdict.evidence == {"nav_item_count": 11, "nav_items": items}

    def test_passing_message_names_the_value(self):
        assert "6 top-level items" in check("NAV001", desktop(nav_item_count=6)).message

    def test_at_max_items_the_message_does_not_complain(self):
        assert check("NAV001", desktop(nav_item_count=7)).message == "The main menu has 7 top-level items."
        assert "keep it to 7 or fewer" in check("NAV001", desktop(nav_item_count=8)).message

    def test_message_stays_sensible_when_max_items_is_overridden_low(self):
        verdict = check("NAV001", desktop(nav_item_count=6), max_items=4)
        assert verdict.score == 70
        assert "5-4" not in verdict.message


# ====================================================================== NAV002
class TestNAV002TooManyLinks:
    def test_control_points(self):
        assert score("NAV002", desktop(link_count=60)) == pytest.approx(90, abs=0.5)
        assert score("NAV002", desktop(link_count=150)) == pytest.approx(50, abs=0.5)

    def test_both_sides(self):
        assert score("NAV002", desktop(link_count=59)) > 90
        assert 50 < score("NAV002", desktop(link_count=100)) < 90
        assert score("NAV002", desktop(link_count=151)) < 50

    def test_no_links_is_perfect(self):
        assert score("NAV002", desktop(link_count=0, internal_link_count=0, external_link_count=0)) == 100

    def test_with_thresholds_moves_the_score(self):
        assert score("NAV002", desktop(link_count=150), p10=150, median=300) == pytest.approx(90, abs=0.5)

    def test_load_rulebook_override_moves_the_score(self):
        r = load_rulebook(overrides={"NAV002": {"p10": 20, "median": 60}}).get("NAV002")
        assert r.check(desktop(link_count=60), r.thresholds).score == pytest.approx(50, abs=0.5)

    def test_message_and_evidence_name_the_value(self):
        verdict = check("NAV002", desktop(link_count=212, internal_link_count=190, external_link_count=22))
        assert "212 links (190 internal, 22 external)" in verdict.message
        assert verdict.evidence == {"link_count": 212, "internal_link_count": 190, "external_link_count": 22}


# ====================================================================== CTA001
class TestCTA001NoCtaAboveFold:
    @pytest.mark.parametrize("device", ["desktop", "mobile"])
    def test_one_above_the_fold_scores_100(self, device):
        verdict = check("CTA001", facts(device, ctas=[cta("Below", above=False, y=2000), cta("Start now")]))
        assert verdict.score == 100
        assert verdict.evidence == {"ctas": ["Start now"]}
        assert "1 call(s)" in verdict.message and device in verdict.message

    def test_only_below_the_fold_scores_0(self):
        verdict = check("CTA001", mobile(ctas=[cta("Buy", above=False, y=1200), cta("Call", above=False, y=1500)]))
        assert verdict.score == 0
        assert "2 calls to action" in verdict.message
        assert "1200 px down a 844 px screen" in verdict.message
        assert verdict.evidence == {"ctas": ["Buy", "Call"], "first_cta_y": 1200, "fold_y": 844}

    def test_one_in_view_among_covered_ones_scores_100(self):
        verdict = check("CTA001", mobile(ctas=[cta("Send", covered_by="div#cookie-banner"), cta("Call us", y=300)]))
        assert verdict.score == 100 and verdict.evidence == {"ctas": ["Call us"]}

    def test_only_covered_ones_above_the_fold_scores_0(self):
        banner, chat = "the cookie banner (div#cookie-banner.cc-bar)", "the chat widget (div#chat)"
        verdict = check("CTA001", mobile(ctas=[cta("Send", y=551, covered_by=banner), cta("Book", y=700, covered_by=chat),
                                               cta("More", above=False, y=1500)]))
        assert verdict.score == 0
        assert verdict.message == ('On mobile, the call(s) to action in the first screen are hidden: '
                                   '"Send" is under the cookie banner (div#cookie-banner.cc-bar).')
        assert verdict.evidence == {"ctas": ["Send", "Book"], "covered_by": [banner, chat]}

    @pytest.mark.parametrize("title", ["Privacy Policy | Acme", "Terms and Conditions", "Terms of Service - Acme",
                                       "Cookie policy", "Impressum", "Legal notice"])
    def test_a_legal_page_is_not_judged(self, title):
        """Nobody comes to a privacy policy to act: a trial's report was mostly this rule on such pages."""
        assert check("CTA001", mobile(title=title, ctas=[])) is None

    @pytest.mark.parametrize("title", ["Cookies | Sweet Bakery", "Privacy screens for laptops", "Pricing terms explained"])
    def test_a_page_that_only_mentions_such_a_word_is_judged(self, title):
        assert check("CTA001", mobile(title=title, ctas=[])).score == 0

    def test_untitled_cta_is_named(self):
        verdict = check("CTA001", desktop(ctas=[cta("", above=False, y=900)]))
        assert "(no text)" in verdict.message

    def test_a_single_one_below_the_fold_is_said_in_the_singular(self):
        """A trial read "none of the 1 calls to action is visible"."""
        verdict = check("CTA001", mobile(ctas=[cta("Buy", above=False, y=1200)]))
        assert verdict.message == ('On mobile, the one call to action, "Buy", is not visible without scrolling: it '
                                   'starts 1200 px down a 844 px screen.')

    def test_no_cta_at_all_scores_0(self):
        verdict = check("CTA001", desktop(ctas=[]))
        assert verdict.score == 0
        assert verdict.evidence == {"cta_count": 0}
        assert "no visible call to action" in verdict.message


# ====================================================================== CTA002
class TestCTA002LowContrastCta:
    @pytest.mark.parametrize("ratio, expected", [(21.0, 100), (4.5, 100), (4.49, 60), (3.0, 60), (2.99, 20), (1.0, 20)])
    def test_exact_scores(self, ratio, expected):
        assert score("CTA002", desktop(ctas=[cta(contrast=ratio)])) == expected

    @pytest.mark.parametrize("ratio, expected", [(3.0, 100), (2.99, 20)])
    def test_large_text_needs_3_to_1(self, ratio, expected):
        verdict = check("CTA002", desktop(ctas=[cta("Call now", contrast=ratio, large_text=True)]))
        assert verdict.score == expected
        assert verdict.message.endswith("(aim for 3.0:1 for its large text).")

    def test_the_one_furthest_below_its_own_aim_is_reported(self):
        # 3.57:1 is fine for 24 px text; 4.2:1 is not for 16 px text
        verdict = check("CTA002", desktop(ctas=[cta("Call now", contrast=3.57, large_text=True), cta("Send", contrast=4.2)]))
        assert verdict.score == 60 and verdict.evidence == {"cta": "Send", "contrast_ratio": 4.2}

    def test_worst_above_the_fold_is_judged(self):
        verdict = check("CTA002", desktop(ctas=[cta("Good", contrast=8.0), cta("Pale", contrast=2.5),
                                                cta("Below", above=False, y=2000, contrast=1.1)]))
        assert verdict.score == 20
        assert verdict.evidence == {"cta": "Pale", "contrast_ratio": 2.5}
        assert "\"Pale\"" in verdict.message and "2.50:1" in verdict.message and "4.5:1" in verdict.message

    def test_below_the_fold_ctas_count_when_none_is_above(self):
        verdict = check("CTA002", desktop(ctas=[cta("A", above=False, y=900, contrast=6.0),
                                                cta("B", above=False, y=1400, contrast=3.2)]))
        assert verdict.score == 60
        assert verdict.evidence["cta"] == "B"

    def test_ctas_without_contrast_are_skipped(self):
        verdict = check("CTA002", desktop(ctas=[cta("Over image", contrast=None), cta("Solid", contrast=5.0)]))
        assert verdict.score == 100

    @pytest.mark.parametrize("ctas", [[], [cta(contrast=None)], [cta(contrast=None), cta(above=False, contrast=None)]])
    def test_no_contrast_is_not_applicable(self, ctas):
        assert check("CTA002", desktop(ctas=ctas)) is None

    def test_with_thresholds_moves_the_score(self):
        assert score("CTA002", desktop(ctas=[cta(contrast=4.0)]), good_ratio=3.5) == 100
        assert score("CTA002", desktop(ctas=[cta(contrast=2.5)]), poor_ratio=2.0) == 60

    def test_load_rulebook_override_moves_the_score(self):
        r = load_rulebook(overrides={"CTA002": {"good_ratio": 7.0}}).get("CTA002")
        assert r.check(desktop(ctas=[cta(contrast=5.0)]), r.thresholds).score == 60


# ====================================================================== FRM001
class TestFRM001LongForm:
    def test_control_points(self):
        assert score("FRM001", desktop(forms=[form(5)])) == pytest.approx(90, abs=0.5)
        assert score("FRM001", desktop(forms=[form(10)])) == pytest.approx(50, abs=0.5)

    def test_both_sides(self):
        assert score("FRM001", desktop(forms=[form(4)])) > 90
        assert 50 < score("FRM001", desktop(forms=[form(7)])) < 90
        assert score("FRM001", desktop(forms=[form(11)])) < 50

    def test_longest_form_is_judged(self):
        verdict = check("FRM001", desktop(forms=[form(2), form(12, 3, ["a"] * 12), form(0)]))
        assert verdict.score < 50
        assert verdict.evidence == {"field_count": 12, "required_count": 3, "fields": ["a"] * 12}
        assert "12 fields, 3 of them required" in verdict.message

    @pytest.mark.parametrize("fields, checkout", [
        (["Email", "Name", "Street address", "Postcode", "Card number"], True),
        (["Email", "Delivery address"] + ["x"] * 3, False),  # one checkout field is not enough
        (["Name", "Email", "Company", "Phone", "Message"], False),
    ])
    def test_a_checkout_is_told_apart_from_a_lead_form(self, fields, checkout):
        verdict = check("FRM001", desktop(forms=[form(len(fields), 2, fields)]))
        assert verdict.message.endswith("(a checkout: see the advice on guest checkout).") is checkout

    @pytest.mark.parametrize("forms", [[], [form(0)], [form(0), form(0)]])
    def test_no_form_with_fields_is_not_applicable(self, forms):
        assert check("FRM001", desktop(forms=forms)) is None

    def test_with_thresholds_moves_the_score(self):
        assert score("FRM001", desktop(forms=[form(10)]), p10_fields=10, median_fields=20) == pytest.approx(90, abs=0.5)

    def test_load_rulebook_override_moves_the_score(self):
        r = load_rulebook(overrides={"FRM001": {"p10_fields": 3, "median_fields": 5}}).get("FRM001")
        assert r.check(desktop(forms=[form(5)]), r.thresholds).score == pytest.approx(50, abs=0.5)


# ====================================================================== MOB001
class TestMOB001MissingViewportMeta:
    def test_present_scores_100(self):
        assert score("MOB001", mobile(has_viewport_meta=True)) == 100

    def test_missing_scores_0(self):
        verdict = check("MOB001", mobile(has_viewport_meta=False))
        assert verdict.score == 0
        assert verdict.evidence == {"has_viewport_meta": False}
        assert "width=device-width" in verdict.message

    def test_judged_on_mobile_only(self):
        assert RULES["MOB001"].devices == ("mobile",)


# ====================================================================== MOB002
class TestMOB002HorizontalOverflow:
    def test_fits_scores_100(self):
        verdict = check("MOB002", mobile())
        assert verdict.score == 100
        assert "390 px" in verdict.message

    def test_overflow_scores_0(self):
        verdict = check("MOB002", mobile(horizontal_overflow=True, document_width=1200))
        assert verdict.score == 0
        assert "1200 px wide on a 390 px" in verdict.message
        assert verdict.evidence == {"document_width": 1200, "viewport_width": 390}

    def test_judged_on_mobile_only(self):
        assert RULES["MOB002"].devices == ("mobile",)

    @pytest.mark.parametrize("width, expected", [(980, None), (981, 0)])
    def test_without_a_viewport_tag_only_what_overflows_980_px_counts(self, width, expected):
        """Without the tag the phone zooms a 980 px layout out to fit: MOB001's finding, not sideways scrolling."""
        facts_ = mobile(has_viewport_meta=False, horizontal_overflow=True, document_width=width)
        assert score("MOB002", facts_) == expected


# ====================================================================== MOB003
class TestMOB003SmallTapTargets:
    @pytest.mark.parametrize("width, height, expected", [
        (44, 44, 100), (200, 44, 100),  # at the minimum: nothing to pay
        (92, 43, 100 * (1 - 1 / 44)),  # the trial's button, 1 px short: 97.7, no finding
        (100, 43.9, 100 * (1 - 0.1 / 44)),
        (20, 100, 100 * (1 - 24 / 44)),  # under half the minimum: 45.5, high
        (10, 10, 100 * (1 - 34 / 44)),
        (0, 0, 0),
    ])
    def test_one_cta_costs_its_shortfall(self, width, height, expected):
        assert score("MOB003", mobile(ctas=[cta(width=width, height=height)])) == pytest.approx(expected)

    def test_a_pixel_short_costs_little_and_half_the_minimum_costs_much(self):
        at, one_short, far_short = (score("MOB003", mobile(ctas=[cta(width=92, height=h)])) for h in (44, 43, 20))
        assert at == 100
        assert 95 < one_short < 100
        assert far_short < 50 < one_short
        assert far_short < score("MOB003", mobile(ctas=[cta(width=92, height=30)])) < one_short  # graded between

    def test_shortfalls_are_averaged_over_every_cta(self):
        ctas = [cta("A"), cta("B"), cta("C"), cta("tiny", width=11, height=11)]
        verdict = check("MOB003", mobile(ctas=ctas))
        assert verdict.score == pytest.approx(100 * (1 - (33 / 44) / 4))  # 81.25
        assert verdict.message == ("1 of 4 calls to action are smaller than 44 x 44 px on mobile; "
                                   "the smallest is 11 x 11 px.")
        assert verdict.evidence == {"small": ["tiny (11x11)"]}

    def test_the_smallest_is_named(self):
        ctas = [cta(), cta("Buy", width=92, height=43), cta("", width=40, height=60)]
        verdict = check("MOB003", mobile(ctas=ctas))
        assert verdict.score == pytest.approx(100 * (1 - (1 / 44 + 4 / 44) / 3))
        assert "2 of 3" in verdict.message and verdict.message.endswith("the smallest is 40 x 60 px.")
        assert verdict.evidence == {"small": ["Buy (92x43)", "(no text) (40x60)"]}

    def test_all_large_message(self):
        assert "All 2 calls to action" in check("MOB003", mobile(ctas=[cta(), cta()])).message

    def test_no_ctas_is_not_applicable(self):
        assert check("MOB003", mobile(ctas=[])) is None

    def test_with_thresholds_moves_the_score(self):
        assert score("MOB003", mobile(ctas=[cta(width=40, height=40)]), min_px=40) == 100
        assert score("MOB003", mobile(ctas=[cta(width=44, height=44)]), min_px=48) == pytest.approx(100 * (1 - 4 / 48))
        assert score("MOB003", mobile(ctas=[cta(width=1, height=1)]), min_px=0) == 100  # no minimum, nothing short

    def test_load_rulebook_override_moves_the_score(self):
        r = load_rulebook(overrides={"MOB003": {"min_px": 32}}).get("MOB003")
        assert r.check(mobile(ctas=[cta(width=40, height=40)]), r.thresholds).score == 100


# ====================================================================== metadata
ID_PATTERN = re.compile(r"^[A-Z]{3}\d{3}$")
KNOWN_CATEGORIES = {"speed", "mobile", "navigation", "cta", "forms"}
# Rules whose docstring cites no figure outside its "Scoring:" paragraph (see the report).
NO_FIGURE: set[str] = set()


def _why(doc: str) -> str:
    """The docstring without its 'Scoring:' paragraph (numbers there are the rule's own thresholds, not a citation)."""
    return "\n\n".join(p for p in doc.split("\n\n") if not p.lstrip().startswith("Scoring:"))


@pytest.mark.parametrize("rule_id", sorted(RULES))
class TestRuleMetadata:
    def test_id_format(self, rule_id):
        assert ID_PATTERN.match(rule_id)

    def test_has_docstring_and_recommendation(self, rule_id):
        r = RULES[rule_id]
        assert r.doc.strip() and r.summary.strip()
        assert "Why it matters" in r.doc
        assert len(r.recommendation) > 40
        assert r.title and r.failure_title and r.name

    def test_docstring_cites_a_figure(self, rule_id, request):
        if rule_id in NO_FIGURE:
            request.applymarker(pytest.mark.xfail(strict=True, reason=f"{rule_id}'s docstring cites no figure"))
        assert re.search(r"\d+(\.\d+)?\s*(%|s\b|px\b|:1)", _why(RULES[rule_id].doc)), RULES[rule_id].doc

    def test_weight_ease_and_category(self, rule_id):
        r = RULES[rule_id]
        assert 1 <= r.weight <= 10
        assert isinstance(r.ease, int) and 1 <= r.ease <= 10
        assert r.category in KNOWN_CATEGORIES
        assert r.category in BOOK.categories

    def test_devices_are_known(self, rule_id):
        r = RULES[rule_id]
        assert r.devices and set(r.devices) <= {"desktop", "mobile"}

    def test_thresholds_are_the_ones_the_check_reads(self, rule_id):
        # a rule that reads a threshold it does not declare would crash on real facts; run it on good facts
        r = RULES[rule_id]
        for device in r.devices:
            r.check(facts(device, forms=[form(3)]), r.thresholds)


def test_rule_ids_are_unique():
    ids = [r.id for r in BOOK.rules]
    assert len(ids) == len(set(ids)) == 11


def test_categories_are_valid():
    for cat_id, cat in BOOK.categories.items():
        assert cat.id == cat_id and cat.title and cat.weight > 0
    assert sum(c.weight for c in BOOK.categories.values()) == 100


def test_cli_rules_lists_every_category():
    from typer.testing import CliRunner

    from auditor.cli import app

    result = CliRunner().invoke(app, ["rules"])
    assert result.exit_code == 0, result.output
    rows = [line.split() for line in result.output.splitlines() if ID_PATTERN.match(line.split()[0] if line.split() else "")]
    assert {row[0] for row in rows} == set(RULES)
    assert {row[1] for row in rows} >= KNOWN_CATEGORIES


# ====================================================================== load_rulebook
class TestLoadRulebook:
    def test_default_loads_all_builtin_rules_sorted(self):
        book = load_rulebook()
        assert [r.id for r in book.rules] == sorted(r.id for r in book.rules)
        assert set(RULES) <= {r.id for r in book.rules}
        assert set(book.categories) >= KNOWN_CATEGORIES

    def test_select_by_prefix(self):
        book = load_rulebook(select=["SPD"])
        assert [r.id for r in book.rules] == ["SPD001", "SPD002", "SPD003"]

    def test_select_by_full_id_and_prefix(self):
        assert [r.id for r in load_rulebook(select=["MOB001", "NAV"]).rules] == ["MOB001", "NAV001", "NAV002"]

    def test_ignore_by_prefix(self):
        ids = [r.id for r in load_rulebook(ignore=["MOB", "CTA002"]).rules]
        assert not any(i.startswith("MOB") for i in ids)
        assert "CTA002" not in ids and "CTA001" in ids and "SPD001" in ids

    def test_select_then_ignore(self):
        assert [r.id for r in load_rulebook(select=["SPD"], ignore=["SPD002"]).rules] == ["SPD001", "SPD003"]

    @pytest.mark.parametrize("kwargs", [{"select": ["XYZ"]}, {"ignore": ["SPD9"]}])
    def test_unknown_prefix(self, kwargs):
        bad = (kwargs.get("select") or kwargs.get("ignore"))[0]
        with pytest.raises(ValueError, match=re.escape(f"no rule id starts with {bad!r}")):
            load_rulebook(**kwargs)

    def test_unknown_threshold_name(self):
        with pytest.raises(ValueError, match=r"rule NAV001 has no threshold 'max_item'.*max_items"):
            load_rulebook(overrides={"NAV001": {"max_item": 9}})

    def test_unknown_threshold_name_on_with_thresholds(self):
        with pytest.raises(ValueError, match="has no threshold 'bogus'"):
            RULES["SPD001"].with_thresholds({"bogus": 1})

    def test_unknown_threshold_name_on_a_deselected_rule(self):
        with pytest.raises(ValueError, match="has no threshold 'max_item'"):
            load_rulebook(select=["SPD"], overrides={"NAV001": {"max_item": 9}})

    def test_thresholds_for_an_unknown_rule(self):
        with pytest.raises(ValueError, match=r"unknown rule 'ZZZ999'"):
            load_rulebook(overrides={"ZZZ999": {"x": 1}})

    def test_override_does_not_mutate_the_default_rule(self):
        before = dict(RULES["NAV001"].thresholds)
        changed = RULES["NAV001"].with_thresholds({"max_items": 3})
        assert changed.thresholds == {**before, "max_items": 3}
        assert RULES["NAV001"].thresholds == before
        assert load_rulebook().get("NAV001").thresholds == before

    def test_get(self):
        assert BOOK.get("SPD001").id == "SPD001"
        assert BOOK.get("NOPE01") is None


# ---------------------------------------------------------------------- plugins
def _plugin(name: str = "acme_rules", rule_id: str = "TRU001", category: str = "trust") -> types.ModuleType:
    module = types.ModuleType(name)
    module.CATEGORY = Category("trust", "Trust", weight=10)

    @rule(id=rule_id, name="no-reviews", title="Reviews are shown", failure_title="No reviews",
          category=category, weight=3, ease=7, thresholds={"min_reviews": 1},
          recommendation="""Show   customer
          reviews.""")
    def no_reviews(facts, t):
        """Pages with reviews convert 12% better (made up for this test)."""
        return Verdict(100 if facts.link_count >= t["min_reviews"] else 0, "reviews")

    module.no_reviews = no_reviews
    return module


class TestPlugins:
    def test_plugin_module_is_loaded_with_builtins(self):
        book = load_rulebook(modules=[*builtin_modules(), _plugin()])
        r = book.get("TRU001")
        assert isinstance(r, Rule)
        assert r.category == "trust" and book.categories["trust"].weight == 10
        assert r.recommendation == "Show customer reviews."
        assert r.doc.startswith("Pages with reviews")
        assert set(RULES) < {x.id for x in book.rules}
        assert r.check(desktop(link_count=0), r.thresholds).score == 0

    def test_rules_are_sorted_by_id_across_modules(self):
        book = load_rulebook(modules=[*builtin_modules(), _plugin(rule_id="ABC001")])
        ids = [r.id for r in book.rules]
        assert ids == sorted(ids) and ids[:3] == ["ABC001", "CTA001", "CTA002"]

    def test_plugin_can_be_selected_and_overridden(self):
        book = load_rulebook(select=["TRU"], overrides={"TRU001": {"min_reviews": 0}},
                             modules=[*builtin_modules(), _plugin()])
        assert [r.id for r in book.rules] == ["TRU001"]
        r = book.rules[0]
        assert r.check(desktop(link_count=0), r.thresholds).score == 100

    def test_duplicate_id(self):
        with pytest.raises(ValueError, match="two rules share the id SPD001"):
            load_rulebook(modules=[*builtin_modules(), _plugin(rule_id="SPD001")])

    def test_unknown_category(self):
        with pytest.raises(ValueError, match=r"rule TRU001 names an unknown category 'nope'"):
            load_rulebook(modules=[*builtin_modules(), _plugin(category="nope")])

    def test_plugin_may_use_a_builtin_category(self):
        book = load_rulebook(modules=[*builtin_modules(), _plugin(category="cta")])
        assert book.get("TRU001").category == "cta"
