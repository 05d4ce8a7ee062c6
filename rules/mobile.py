"""Mobile: whether the page works on the phone most visitors hold."""

from auditor.facts import Cta, DeviceFacts
from auditor.rulebook import Category, Verdict, rule

CATEGORY = Category("mobile", "Mobile", weight=25, order=2)


@rule(
    id="MOB001",
    name="missing-viewport-meta",
    title="The page declares a responsive viewport",
    failure_title="No responsive viewport meta tag",
    category="mobile",
    weight=10,
    ease=9,
    devices=("mobile",),
    recommendation="""Add `<meta name="viewport" content="width=device-width, initial-scale=1">` to the page head and
    check the layout adapts. Without it phones render the page as a shrunken desktop page that visitors must
    pinch and zoom; mobile is 56-63% of web traffic (traffic statistics).""",
)
def missing_viewport_meta(facts: DeviceFacts, t: dict) -> Verdict:
    """A `meta name=viewport` whose content includes `width=device-width`.

    Why it matters: without it a phone lays the page out 980 px wide and shrinks it, so text is unreadable
    without zooming and buttons are tiny. Mobile carries 63% of global web traffic (56% in the UK, 2024), and
    93% of first impressions are design-related (Smart Insights).
    """
    if facts.has_viewport_meta:
        return Verdict(100, "The page has a responsive viewport meta tag.")
    return Verdict(0, "The page has no viewport meta tag with width=device-width, so phones show a zoomed-out desktop page.",
                   {"has_viewport_meta": False})


NO_VIEWPORT_LAYOUT_PX = 980  # the width phones lay out a page in when it has no viewport tag


@rule(
    id="MOB002",
    name="horizontal-overflow",
    title="The page fits the phone's screen",
    failure_title="The page is wider than the phone's screen",
    category="mobile",
    weight=8,
    ease=6,
    devices=("mobile",),
    recommendation="""Find the element that is wider than the screen (fixed widths in px, wide tables or images,
    long unbroken words) and make it fluid: `max-width: 100%`, relative widths, wrapping. Sideways scrolling on a
    phone reads as a broken site, and more than half of mobile visitors leave a page that frustrates them.""",
)
def horizontal_overflow(facts: DeviceFacts, t: dict) -> Verdict | None:
    """The page is wider than the device: its document or layout viewport exceeds the screen width.

    Why it matters: visitors have to scroll sideways or zoom out to read, the classic sign of a site that was
    not built for phones, which carry most traffic (63% globally). Responsive layout is the first item of
    practitioners' mobile checklists.

    Not applicable to a page without a viewport tag that fits the 980 px a phone then lays it out in: it is
    shown zoomed out, not scrolled sideways, and MOB001 already names its one fix.
    """
    if not facts.has_viewport_meta and facts.document_width <= NO_VIEWPORT_LAYOUT_PX:
        return None
    if not facts.horizontal_overflow:
        return Verdict(100, f"The page fits the {facts.viewport_width} px screen.")
    return Verdict(0, f"The page is {facts.document_width} px wide on a {facts.viewport_width} px phone screen.",
                   {"document_width": facts.document_width, "viewport_width": facts.viewport_width})


@rule(
    id="MOB003",
    name="small-tap-targets",
    title="Calls to action are easy to tap",
    failure_title="Calls to action are too small to tap",
    category="mobile",
    weight=4,
    ease=8,
    devices=("mobile",),
    thresholds={"min_px": 44},
    recommendation="""Give every button and button-like link a tap area of at least 44 x 44 px (padding counts) with
    space around it. Practitioner guidance for mobile names appropriately sized buttons and larger tap areas
    among the fixes that matter most.""",
)
def small_tap_targets(facts: DeviceFacts, t: dict) -> Verdict | None:
    """Visible calls to action on mobile that are smaller than `min_px` in either dimension.

    Why it matters: a button that is hard to hit is a conversion lost to frustration; touch-friendly navigation
    and appropriately sized buttons are what mobile needs (practitioner guidance), and mobile is 63% of global
    traffic. 44 x 44 CSS px is the minimum target size of WCAG 2.5.5 and Apple's interface guidelines.

    Scoring: each call to action costs its shortfall, how far its smaller side falls short of `min_px` as a share
    of it (none at `min_px`, all of it at 0 px), and the score is what is left of 100 on average over all of
    them. A button a pixel short is nearly as easy to hit as one at the minimum, so it costs little (a lone one
    at 43 px scores 98), while one under half the minimum is hard to hit (at 20 px it scores 45).
    """
    if not facts.ctas:
        return None
    small = [c for c in facts.ctas if _shortfall(c, t["min_px"]) > 0]
    if not small:
        return Verdict(100, f"All {len(facts.ctas)} calls to action are at least {t['min_px']} px in both directions.")
    smallest = min(small, key=lambda c: min(c.width, c.height))
    return Verdict(
        100 * (1 - sum(_shortfall(c, t["min_px"]) for c in small) / len(facts.ctas)),
        f"{len(small)} of {len(facts.ctas)} calls to action are smaller than {t['min_px']} x {t['min_px']} px on "
        f"mobile; the smallest is {smallest.width:.0f} x {smallest.height:.0f} px.",
        {"small": [f"{c.text or '(no text)'} ({c.width:.0f}x{c.height:.0f})" for c in small]},
    )


def _shortfall(cta: Cta, min_px: float) -> float:
    """How far a target's smaller side falls short of `min_px`, as a share of it: 0 (large enough) to 1."""
    if min_px <= 0:
        return 0.0
    return max(0.0, min(1.0, (min_px - min(cta.width, cta.height)) / min_px))
