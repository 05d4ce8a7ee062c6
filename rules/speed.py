"""Speed: how long visitors wait before they can act."""

from auditor.facts import DeviceFacts
from auditor.rulebook import Category, Verdict, log_normal, rule

CATEGORY = Category("speed", "Speed", weight=25, order=1)


def _seconds(ms: float) -> str:
    return f"{ms / 1000:.1f} s"


@rule(
    id="SPD001",
    name="slow-page-load",
    title="The page loads quickly",
    failure_title="The page is slow to load",
    category="speed",
    weight=10,
    ease=4,
    thresholds={"p10_ms": 2000, "median_ms": 4000},
    recommendation="""Get the full load under 2 seconds: serve images in a modern format (WebP or AVIF) at the size
    they are shown, minify and defer CSS and JavaScript, let browsers cache static files, and put a CDN in front
    of the site. Every extra second of response costs about 7% of conversions, and visitors start leaving
    after 3 to 5 seconds (industry research).""",
)
def slow_page_load(facts: DeviceFacts, t: dict) -> Verdict:
    """Time until the page's load event has finished, from the start of navigation.

    Why it matters: industry research puts the cost of one extra second of response at 7% of conversions and
    11% of page views; conversion rates fall from about 40% at 1 s to 29% at 3 s and to half of the fastest
    pages' rate beyond 5 s, and more than half of mobile visitors leave a page that takes over 3 s.

    Scoring: a log-normal curve; `p10_ms` scores 90 and `median_ms` scores 50. A page whose load event never
    fired within the page timeout scores 0.
    """
    if facts.load_ms is None:
        return Verdict(0, "The page never finished loading within the page timeout.", {"load_ms": None})
    score = log_normal(facts.load_ms, t["p10_ms"], t["median_ms"])
    return Verdict(
        score,
        f"The page took {_seconds(facts.load_ms)} to load on {facts.device} (aim for under {_seconds(t['p10_ms'])}).",
        {"load_ms": facts.load_ms, "request_count": facts.request_count, "transfer_bytes": facts.transfer_bytes},
    )


@rule(
    id="SPD002",
    name="slow-main-content",
    title="The main content appears quickly",
    failure_title="The main content appears late",
    category="speed",
    weight=6,
    ease=4,
    thresholds={"desktop_p10_ms": 1200, "desktop_median_ms": 2400, "mobile_p10_ms": 2500, "mobile_median_ms": 4000},
    recommendation="""Make the largest element above the fold (usually the hero image or headline) render first:
    preload the hero image, serve it compressed and correctly sized, and avoid hiding the page behind scripts or
    web fonts. Visitors judge a page in the first seconds; pages at 2.4 s see 12.8% more bounces than faster
    ones (industry research).""",
)
def slow_main_content(facts: DeviceFacts, t: dict) -> Verdict | None:
    """Largest Contentful Paint: when the biggest piece of content in the first screen was painted.

    Why it matters: it is when a visitor sees what the page is about. Slower pages bounce more (a 2.4 s page
    sees a 12.8% higher bounce rate than faster pages, per industry research).

    Scoring: a log-normal curve with Lighthouse's control points per device (desktop 1.2 s / 2.4 s,
    mobile 2.5 s / 4 s). Not applicable when the browser reported no LCP (an empty page).
    """
    if facts.lcp_ms is None:
        return None
    p10, median = t[f"{facts.device}_p10_ms"], t[f"{facts.device}_median_ms"]
    return Verdict(
        log_normal(facts.lcp_ms, p10, median),
        f"The largest content appeared after {_seconds(facts.lcp_ms)} on {facts.device} (aim for under {_seconds(p10)}).",
        {"lcp_ms": facts.lcp_ms, "fcp_ms": facts.fcp_ms},
    )
