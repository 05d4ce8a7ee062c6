"""Speed: how long visitors wait before they can act."""

from auditor.facts import DeviceFacts
from auditor.rulebook import Category, Verdict, log_normal, rule

CATEGORY = Category("speed", "Speed", weight=25, order=1)


def _seconds(ms: float) -> str:
    return f"{ms / 1000:.1f} s"


# When visitors mostly wait for the server: its first byte takes over SERVER_SLOW_MS, and at least SERVER_SHARE
# of the load time. Such a load is judged by SPD003, which names the server's fix, and not by SPD001, whose fix
# (a lighter page) would not help. Constants, not thresholds: the two rules must agree on which judges a page.
SERVER_SLOW_MS = 600
SERVER_SHARE = 0.5


def _server_bound(facts: DeviceFacts) -> bool:
    """Whether the load time is mostly a long wait for the server's first byte."""
    if facts.ttfb_ms is None or facts.load_ms is None:
        return False
    return facts.ttfb_ms > SERVER_SLOW_MS and facts.ttfb_ms >= SERVER_SHARE * facts.load_ms


def _crowded_note(facts: DeviceFacts) -> str:
    """A timing taken with other pages loading at once, and not again alone, is said to be one."""
    if not facts.crowded:
        return ""
    return (" Measured while other pages loaded at the same time, and not again alone, so it may read high: "
            "`--concurrency 1` measures every page alone.")


def _server_note(facts: DeviceFacts) -> str:
    """A long wait for the server, as a clause of a message about a time it is part of: where the seconds went."""
    if facts.ttfb_ms is None or facts.ttfb_ms <= SERVER_SLOW_MS:
        return ""
    return f"; {_seconds(facts.ttfb_ms)} of it was the wait for the server to answer"


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
def slow_page_load(facts: DeviceFacts, t: dict) -> Verdict | None:
    """Time until the page's load event has finished, from the start of navigation.

    Why it matters: industry research puts the cost of one extra second of response at 7% of conversions and
    11% of page views; conversion rates fall from about 40% at 1 s to 29% at 3 s and to half of the fastest
    pages' rate beyond 5 s, and more than half of mobile visitors leave a page that takes over 3 s.

    Not applicable where at least half of the load time is the wait for the server's first byte and that wait is
    over 0.6 s: a lighter page would not shorten it, and SPD003 judges it, with the fix it needs.

    Scoring: a log-normal curve; `p10_ms` scores 90 and `median_ms` scores 50. A page whose load event never
    fired within the page timeout scores 0.
    """
    if facts.load_ms is None:
        return Verdict(0, "The page never finished loading within the page timeout.", {"load_ms": None})
    if _server_bound(facts):
        return None
    return Verdict(
        log_normal(facts.load_ms, t["p10_ms"], t["median_ms"]),
        f"The page took {_seconds(facts.load_ms)} to load on {facts.device} (aim for under {_seconds(t['p10_ms'])})"
        f"{_server_note(facts)}.{_crowded_note(facts)}",
        {"load_ms": facts.load_ms, "ttfb_ms": facts.ttfb_ms, "request_count": facts.request_count,
         "transfer_bytes": facts.transfer_bytes},
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
    mobile 2.5 s / 4 s). Not applicable when the browser reported no LCP (an empty page), nor where the load is
    mostly the wait for the server (as for SPD001): SPD003 judges it, and the hero-image advice would not help.
    """
    if facts.lcp_ms is None or _server_bound(facts):
        return None
    p10, median = t[f"{facts.device}_p10_ms"], t[f"{facts.device}_median_ms"]
    return Verdict(
        log_normal(facts.lcp_ms, p10, median),
        f"The largest content appeared after {_seconds(facts.lcp_ms)} on {facts.device} (aim for under {_seconds(p10)})"
        f"{_server_note(facts)}.{_crowded_note(facts)}",
        {"lcp_ms": facts.lcp_ms, "fcp_ms": facts.fcp_ms, "ttfb_ms": facts.ttfb_ms},
    )


@rule(
    id="SPD003",
    name="slow-server-response",
    title="The server answers quickly",
    failure_title="The server is slow to answer",
    category="speed",
    weight=10,
    ease=3,
    thresholds={"p10_ms": 800, "median_ms": 1800},
    recommendation="""Make the server answer within 0.8 seconds. Visitors here wait for the server before anything
    arrives, not for images or code, so making the page lighter would change little: cache whole pages so they are not
    rebuilt for every visit, find the slow database queries or plugins behind the page, and move to faster or less
    crowded hosting if the server is short of power; a CDN that also caches the HTML answers visitors from nearby.
    Every extra second of response costs about 7% of conversions (industry research).""",
)
def slow_server_response(facts: DeviceFacts, t: dict) -> Verdict | None:
    """The wait for the server's first byte (time to first byte), where it is most of the load time.

    Why it matters: until the server answers, the visitor looks at a blank page; industry research puts the cost
    of one extra second of response at 7% of conversions, and visitors start leaving after 3 to 5 s. When that
    wait is most of the load, the usual speed fixes (smaller images, less code) change little, so the finding
    names the server's.

    Applies where the wait is over 0.6 s and at least half of the load time; SPD001 judges every other load, so
    each load time is judged once, by the rule whose fix fits it.

    Scoring: a log-normal curve on the wait; `p10_ms` scores 90 and `median_ms` scores 50. These are the rule's own
    control points, not a research figure; with them, a load that SPD001 would flag (over 2 s) and that is mostly
    this wait (over 1 s) is flagged here too.
    """
    if not _server_bound(facts):
        return None
    share = min(1.0, facts.ttfb_ms / facts.load_ms) if facts.load_ms else 1.0
    return Verdict(
        log_normal(facts.ttfb_ms, t["p10_ms"], t["median_ms"]),
        f"The server took {_seconds(facts.ttfb_ms)} to start sending the page on {facts.device}, {share:.0%} of its "
        f"{_seconds(facts.load_ms)} load time (aim for under {_seconds(t['p10_ms'])}).{_crowded_note(facts)}",
        {"ttfb_ms": facts.ttfb_ms, "load_ms": facts.load_ms, "request_count": facts.request_count,
         "transfer_bytes": facts.transfer_bytes},
    )
