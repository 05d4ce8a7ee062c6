"""Navigation: whether visitors find their way without being pulled away."""

from auditor.facts import DeviceFacts
from auditor.rulebook import Category, Verdict, log_normal, rule

CATEGORY = Category("navigation", "Navigation", weight=15, order=3)


@rule(
    id="NAV001",
    name="crowded-menu",
    title="The main menu is short",
    failure_title="The main menu has too many items",
    category="navigation",
    weight=8,
    ease=5,
    devices=("desktop", "mobile"),
    per_device=False,
    thresholds={"max_items": 7, "penalty_per_item": 15},
    recommendation="""Cut the main menu to 5-7 top-level items with clear, descriptive labels: group the rest under
    them or move it to the footer, and consider a site search. Industry research links inadequate navigation
    menus to about half of potential sales lost.""",
)
def crowded_menu(facts: DeviceFacts, t: dict) -> Verdict | None:
    """The number of top-level items in the primary navigation (dropdown sub-items not counted).

    Why it matters: every extra choice slows a visitor down; practitioner guidance caps the top level at 5-7
    items, and industry research attributes about 50% of potential sales lost to inadequate navigation menus.

    Scoring: 100 up to `max_items`, then `penalty_per_item` less for each item beyond. Not applicable to a page
    without navigation (a focused landing page is fine).
    """
    n = facts.nav_item_count
    if n == 0:
        return None
    score = 100 if n <= t["max_items"] else max(0, 100 - (n - t["max_items"]) * t["penalty_per_item"])
    message = (
        f"The main menu has {n} top-level items."
        if n <= t["max_items"]
        else f"The main menu has {n} top-level items; keep it to {t['max_items']} or fewer."
    )
    return Verdict(score, message, {"nav_item_count": n, "nav_items": facts.nav_items})


@rule(
    id="NAV002",
    name="too-many-links",
    title="The page has few competing links",
    failure_title="Too many links compete for attention",
    category="navigation",
    weight=5,
    ease=4,
    per_device=False,
    thresholds={"p10": 60, "median": 150},
    recommendation="""Remove links that do not serve the page's goal: trim mega-menus and link-heavy footers, and
    on landing pages aim for a single goal (an attention ratio of 1:1). Industry research finds conversion rates
    fall as the number of links on a page rises.""",
)
def too_many_links(facts: DeviceFacts, t: dict) -> Verdict:
    """The number of links on the page (http(s) `a`/`area` hrefs, visible or not).

    Why it matters: every link is an exit from the path to conversion. Industry research reports an inverse
    relationship between the number of links on a page and its conversion rate; landing pages should have one
    goal and drop whatever does not serve it, an attention ratio (links to conversion goals) of 1:1 (Unbounce).
    Navigation that distracts or confuses is linked to about 50% of potential sales lost (industry research).

    Scoring: a log-normal curve; `p10` links score 90 and `median` links score 50.
    """
    n = facts.link_count
    return Verdict(
        log_normal(n, t["p10"], t["median"]),
        f"The page has {n} links ({facts.internal_link_count} internal, {facts.external_link_count} external).",
        {"link_count": n, "internal_link_count": facts.internal_link_count, "external_link_count": facts.external_link_count},
    )
