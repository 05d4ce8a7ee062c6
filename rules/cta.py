"""Calls to action: whether the next step is visible and stands out."""

import re

from auditor.facts import DeviceFacts
from auditor.rulebook import Category, Verdict, rule

CATEGORY = Category("cta", "Calls to action", weight=20, order=4)

# Pages no visitor comes to act on: a policy or a legal notice, known by its title ("Privacy Policy | Acme").
# Phrases, not single words: "Cookies" may be a bakery's product page, "Terms" a glossary.
LEGAL_TITLE = re.compile(
    r"\b(privacy (policy|notice|statement)|terms (of (service|use|sale)|and conditions|& conditions)|cookie (policy|notice)"
    r"|legal notice|imprint|impressum|datenschutz|disclaimer|accessibility statement)\b",
    re.IGNORECASE,
)


@rule(
    id="CTA001",
    name="no-cta-above-fold",
    title="A call to action is visible without scrolling",
    failure_title="No call to action in view above the fold",
    category="cta",
    weight=10,
    ease=6,
    recommendation="""Place the page's primary call to action in the first screen on every device: a button with a
    clear, value-stating label ("Get my free quote", not "Submit"). Check the mobile layout, where heroes and
    images often push it out of view, and where cookie banners, chat widgets and promo bars sit on top of it.
    Practitioner guidance: keep lead forms and their buttons above the fold.""",
)
def no_cta_above_fold(facts: DeviceFacts, t: dict) -> Verdict | None:
    """At least one visible call to action (a button, or a link styled as one) starts within the first screen,
    and is not hidden under a fixed or sticky overlay there. Not counted: a cookie banner's or a pop-up's own
    buttons, a chat launcher, and page furniture (menu toggles, close crosses, carousel arrows, search, log in,
    the cart). Not judged on legal pages (a privacy policy, terms and conditions, an imprint), which nobody
    visits to act: flagging each would bury the pages that matter.

    Why it matters: a visitor who does not see the next step must go looking for it, and many will not.
    Calls to action must be visually distinct and state a clear value, and lead forms belong above the fold
    (practitioner guidance); signup forms on landing pages convert at about 23% on average (industry research).
    A button under a cookie banner or a chat bubble is not seen until the visitor clears it away.
    """
    in_view = [c for c in facts.ctas if c.above_fold and not c.covered_by]
    if not in_view and LEGAL_TITLE.search(facts.title or ""):
        return None
    if in_view:
        return Verdict(100, f"{len(in_view)} call(s) to action visible above the fold on {facts.device}.",
                       {"ctas": [c.text for c in in_view]})
    if not facts.ctas:
        return Verdict(0, f"The page has no visible call to action at all on {facts.device}.", {"cta_count": 0})
    hidden = [c for c in facts.ctas if c.above_fold]
    if hidden:
        first = hidden[0]
        return Verdict(
            0,
            f"On {facts.device}, the call(s) to action in the first screen are hidden: "
            f"\"{first.text or '(no text)'}\" is under {first.covered_by}.",
            {"ctas": [c.text for c in hidden], "covered_by": list(dict.fromkeys(c.covered_by for c in hidden if c.covered_by))},
        )
    first = facts.ctas[0]
    return Verdict(
        0,
        f"On {facts.device}, none of the {len(facts.ctas)} calls to action is visible without scrolling; the first, "
        f"\"{first.text or '(no text)'}\", starts {first.y:.0f} px down a {facts.viewport_height} px screen."
        if len(facts.ctas) > 1 else
        f"On {facts.device}, the one call to action, \"{first.text or '(no text)'}\", is not visible without scrolling: "
        f"it starts {first.y:.0f} px down a {facts.viewport_height} px screen.",
        {"ctas": [c.text for c in facts.ctas], "first_cta_y": first.y, "fold_y": facts.viewport_height},
    )


@rule(
    id="CTA002",
    name="low-contrast-cta",
    title="Calls to action stand out",
    failure_title="Calls to action have low contrast",
    category="cta",
    weight=5,
    ease=9,
    per_device=False,
    thresholds={"good_ratio": 4.5, "poor_ratio": 3.0},
    recommendation="""Give call-to-action labels a contrast ratio of at least 4.5:1 against the button colour (WCAG AA)
    and make the button colour stand out from the page. A call to action must be visually distinct to be
    acted on (practitioner guidance), and readable for visitors with low vision.""",
)
def low_contrast_cta(facts: DeviceFacts, t: dict) -> Verdict | None:
    """The lowest text contrast among the calls to action above the fold (or all of them, if none is),
    each against what WCAG asks of its text size.

    Why it matters: a call to action that does not stand out is skipped; practitioner guidance says calls to
    action must be visually distinct. WCAG sets 4.5:1 for normal text and 3:1 for large text (24 px, or
    18.67 px bold), whose thicker strokes stay legible at lower contrast.

    Scoring: normal text scores 100 at `good_ratio` or more, 60 between the two ratios, 20 below `poor_ratio`;
    large text scores 100 at `poor_ratio` or more, else 20. The call to action furthest below what it needs is
    reported. Not applicable when no contrast could be computed (text over images).
    """
    pool = [c for c in facts.ctas if c.above_fold] or facts.ctas
    rated = [c for c in pool if c.contrast_ratio is not None]
    if not rated:
        return None

    def needed(c) -> float:
        return t["poor_ratio"] if c.large_text else t["good_ratio"]

    worst = min(rated, key=lambda c: c.contrast_ratio / needed(c))
    ratio, aim = worst.contrast_ratio, needed(worst)
    score = 100 if ratio >= aim else 60 if ratio >= t["poor_ratio"] else 20
    size = " for its large text" if worst.large_text else ""
    return Verdict(
        score,
        f"The call to action \"{worst.text or '(no text)'}\" has a text contrast of {ratio:.2f}:1 (aim for {aim}:1{size}).",
        {"cta": worst.text, "contrast_ratio": ratio},
    )
