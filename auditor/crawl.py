"""The crawl: which URLs to visit, in what order, and running the visits concurrently.

Breadth-first, one level at a time: a level is released in a fixed order (start URLs in the order given,
then links in the order their pages were released and the links appear), so the same site gives the same
pages in the same order however the visits interleave. That keeps reports stable and diffable.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, defaultdict, deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
from playwright.async_api import Browser, Playwright, async_playwright

from auditor import browser as browsers
from auditor.config import Settings
from auditor.discover import Fetcher, SiteRules, discover
from auditor.facts import TRANSIENT_STATUS, DeviceFacts, PageError, PageResult
from auditor.measure import Tab, Visit, visit
from auditor.store import RunStore
from auditor.urls import (
    MAX_URL_LENGTH, BadURL, Scope, is_action, is_conversion_path, listing_kind, normalize, origin_of, page_key, pattern_key,
    section_key, site_key,
)


@dataclass(order=True)
class _Candidate:
    key: tuple
    url: str = field(compare=False)
    depth: int = field(compare=False)


LEFT_CAP = 50_000  # distinct links remembered per reason for not being followed
# With --fail-on-broken, links past the budget asked for their status without a browser, and how long at most.
MAX_LINK_CHECKS = 100
LINK_CHECK_S = 60.0
# Visits a speed rule would flag, measured again alone after the crawl (see Crawl._measure_again): for at most
# RECHECK_S, or RECHECK_SHARE of the crawl's own time on a bigger site, whose doubtful visits are more.
RECHECK_S = 60.0
RECHECK_SHARE = 0.25
TIMING_FACTS = ("load_ms", "ttfb_ms", "dom_content_loaded_ms", "fcp_ms", "lcp_ms")
CONTENTION = 3.0  # how much slower than alone a page measured at the default concurrency on 2 cores came out, at worst
# Pages 2+ of lists and search results, across the site: the same template as the first page, and no
# visitor's landing page. More would only make the blog's template weigh in the score.
MAX_LISTING_PAGES = 5
# Refusals in a row (a bot wall's answers, a rate limit's, retries included) before the crawl stops
# asking: past that, every further request only tells the site's firewall more firmly that it is right.
REFUSED_STREAK = 5


def listing_cap(settings: Settings) -> int:
    """Later list pages, and search results, audited per site: MAX_LISTING_PAGES, or a tighter pattern cap."""
    return min(settings.max_per_pattern, MAX_LISTING_PAGES)


class Frontier:
    """Decides what gets crawled: scope, robots.txt, depth, page budget and crawl-trap caps."""

    def __init__(self, settings: Settings, scope: Scope, allowed: Callable[[str], bool] = lambda url: True) -> None:
        self.settings = settings
        self.scope = scope
        self.allowed = allowed  # robots.txt: found links it disallows are skipped; start URLs are reported
        self.seen: set[str] = set()
        self._pages: set[str] = set()  # page_key of every URL seen: /index.html and / are one page
        self.levels: dict[int, list[_Candidate]] = defaultdict(list)
        self.found_on: dict[str, str] = {}  # queued (or too deep) URL -> the page linking it (where to fix a broken link)
        self.released = 0
        # What the budget cut from the level last released, best first: a page of that level merged into
        # another (a copy, a redirect) gives its place back, and the next of these takes it (top_up).
        self.spare: list[_Candidate] = []
        self._patterns: Counter[str] = Counter()  # URL shape -> pages queued
        self._params: Counter[str] = Counter()  # path + query parameter name -> pages queued
        self._listings: Counter[str] = Counter()  # site + listing kind (pagination, search) -> pages queued
        # In-scope links the crawl found and left, by the setting that left them: a user whose 60 product
        # pages come back as 25 must be told why. URL sets, since one link is found on many pages; past
        # LEFT_CAP a trap's further links are only counted (perhaps twice), so a hostile site cannot fill memory.
        self.left: dict[str, set[str]] = defaultdict(set)
        self._left_over: Counter[str] = Counter()
        self._left_shapes: dict[str, list[str]] = defaultdict(list)

    def leave(self, reason: str, url: str, shape: str | None = None) -> None:
        if len(self.left[reason]) < LEFT_CAP:
            self.left[reason].add(url)
        elif url not in self.left[reason]:
            self._left_over[reason] += 1
        shape = shape[shape.find("/"):].rstrip("?") if shape and "/" in shape else shape  # the path: the site is known
        if shape and shape not in self._left_shapes[reason] and len(self._left_shapes[reason]) < 5:
            self._left_shapes[reason].append(shape)

    def not_followed(self) -> dict[str, dict]:
        """What was left and why, for the report: counts, and for the pattern cap the URL shapes it hit."""
        out = {}
        # A stopped run's unreached pages first: they explain a short report before any setting does.
        for reason in ("interrupted", "max_pages", "max_depth", "max_per_pattern", "pagination", "search", "robots",
                       "action", "file", "refused", "redirected", "canonical", "duplicate", "too_long"):
            # A link left for depth, pattern or robots may have been reached another way; a page left
            # unvisited (the budget, a stopped run, a refusing site) or merged into another was queued, so is in `seen`.
            queued = reason in ("interrupted", "max_pages", "refused", "redirected", "canonical", "duplicate", "file")
            urls = self.left.get(reason, set()) - (set() if queued else self.seen)
            if urls or self._left_over[reason]:
                examples = self._left_shapes.get(reason) or [u if len(u) <= 200 else u[:197] + "..." for u in sorted(urls)[:5]]
                out[reason] = {"count": len(urls) + self._left_over[reason], "examples": examples}
        return out

    def offer(self, url: str, depth: int, key: tuple, base: str | None = None, found_on: str | None = None) -> bool:
        """Queue a URL found at `depth` if the crawl may visit it; `key` orders it within its level."""
        try:
            url = normalize(url, base)
        except BadURL:
            self.too_long(urljoin(base or "", url))
            return False
        if url in self.seen or page_key(url) in self._pages or url not in self.scope:
            return False
        if depth > self.settings.max_depth:
            if found_on is not None:  # the status check of --fail-on-broken names where a broken one is linked
                self.found_on.setdefault(url, found_on)
            self.leave("max_depth", url)
            return False
        shape = pattern_key(url)
        params = [f"{shape.split('?')[0]}?{name}" for name in shape.split("?", 1)[1].split("&") if name]
        cap = self.settings.max_per_pattern
        if depth > 0:  # robots.txt and the caps apply to what the crawl finds, not to what the user asked for
            if not self.allowed(url):
                self.leave("robots", url)
                return False
            if is_action(url):
                self.leave("action", url)
                return False
            # Endless calendars and faceted filters: a few pages per URL shape and per query parameter.
            if self._patterns[shape] >= cap or any(self._params[p] >= cap for p in params):
                self.leave("max_per_pattern", url, shape)
                return False
            listing = listing_kind(url)
            if listing is not None:
                kind = f"{site_key(url)} {listing}"
                if self._listings[kind] >= listing_cap(self.settings):
                    self.leave(listing, url)
                    return False
                self._listings[kind] += 1
        self.seen.add(url)
        self._pages.add(page_key(url))
        if found_on is not None:
            self.found_on[url] = found_on
        self._patterns[shape] += 1
        self._params.update(params)
        self.levels[depth].append(_Candidate(key, url, depth))
        return True

    def too_long(self, url: str) -> None:
        """A link of the site past the URL length cap is counted as left, not dropped without a word."""
        if len(url) <= MAX_URL_LENGTH:
            return  # another scheme, a malformed link: not a page
        try:
            head = normalize(url[:300])  # its site and scheme, without the length
        except BadURL:
            return
        if head in self.scope:
            self.leave("too_long", url[:MAX_URL_LENGTH + 100])

    def is_new(self, url: str, depth: int) -> bool:
        """Whether `offer` would likely queue this link (the crawl-trap caps aside): for the progress total."""
        try:
            url = normalize(url)
        except BadURL:
            return False
        return (url not in self.seen and page_key(url) not in self._pages and url in self.scope
                and depth <= self.settings.max_depth and self.allowed(url))

    def forget(self, url: str, reason: str) -> None:
        """A URL an earlier run of a resumed crawl merged into another page: never queued, still counted."""
        self.seen.add(url)
        self._pages.add(page_key(url))
        self.leave(reason, url)

    def absorb(self, url: str) -> None:
        """`url` was reached through a redirect and audited: it is not queued again, and if it is queued
        already (a sitemap listed it, a page of the same level linked it) it is taken off the queue."""
        key = page_key(url)
        self._pages.add(key)
        self.seen.add(url)
        for depth, level in [*self.levels.items(), (None, self.spare)]:
            if any(page_key(c.url) == key for c in level):
                kept = [c for c in level if page_key(c.url) != key]
                if depth is None:
                    self.spare = kept
                else:
                    self.levels[depth] = kept
                self.leave("redirected", url)

    def release(self, depth: int) -> list[tuple[str, int]]:
        """The URLs of one level, in order, within what is left of the page budget. A level larger than the
        budget is not cut in link order: a menu of twelve products spent a 12-page budget on one template
        and left the checkout and the broken pages unaudited (a trial). Pages where visitors convert go
        first, then one page of each section (folder) before a second of any."""
        self.give_up_spare()
        level = sorted(self.levels.pop(depth, []))
        room = max(0, self.settings.max_pages - self.released)
        if len(level) > room:
            siblings: Counter[str] = Counter()
            rank = {}
            for candidate in level:
                section = section_key(candidate.url)
                rank[candidate.url] = (not is_conversion_path(candidate.url), siblings[section])
                siblings[section] += 1
            ranked = sorted(level, key=lambda c: (rank[c.url], c.key))
            self.spare = ranked[room:]
            kept = {c.url for c in ranked[:room]}
            level = [c for c in level if c.url in kept]  # visited in link order, as without a budget
        self.released += len(level)
        return [(c.url, c.depth) for c in level]

    def top_up(self) -> list[tuple[str, int]]:
        """The places pages merged away gave back, filled from the spare of the level last released: with
        --max-pages 2, a copy of the home page must not keep the broken page linked after it unchecked."""
        room = max(0, self.settings.max_pages - self.released)
        taken, self.spare = self.spare[:room], self.spare[room:]
        self.released += len(taken)
        return [(c.url, c.depth) for c in sorted(taken)]

    def give_up_spare(self) -> None:
        """The spare is beyond the budget for good: counted as left by max-pages."""
        for candidate in self.spare:
            self.leave("max_pages", candidate.url)
        self.spare = []

    def pending(self) -> int:
        return min(sum(len(v) for v in self.levels.values()), max(0, self.settings.max_pages - self.released))


class HostThrottle:
    """Spaces page requests to one host by `--rate` or robots.txt Crawl-delay, whichever is slower.

    The gap runs from the moment the browser actually sends a request, not from when a worker was let
    go: on a busy machine a navigation can leave late, and the next one must still keep its distance."""

    def __init__(self) -> None:
        self.interval: dict[str, float] = {}
        self._next: dict[str, float] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def back_off(self, url: str, seconds: float) -> float:
        """The host answered 429: nothing more goes to it for `seconds`, and from then on half as often.
        Returns the new gap between its requests."""
        host = urlsplit(url).netloc
        self.interval[host] = min(10.0, max(1.0, 2 * self.interval.get(host, 0.0)))
        self._next[host] = max(self._next.get(host, 0.0), time.monotonic() + seconds)
        return self.interval[host]

    async def wait(self, url: str) -> Callable[[], None] | None:
        """Wait for this host's turn; the caller calls the returned `sent` once its request has left
        (or failed to), which starts the gap before the next one. None: this host is not limited."""
        host = urlsplit(url).netloc
        gap = self.interval.get(host, 0.0)
        if gap <= 0:
            return None
        lock = self._locks.setdefault(host, asyncio.Lock())
        await lock.acquire()
        try:
            delay = self._next.get(host, 0.0) - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        except BaseException:
            lock.release()
            raise

        done = False

        def sent() -> None:  # once: a second call would free the lock another worker now holds
            nonlocal done
            if not done:
                done = True
                self._next[host] = max(self._next.get(host, 0.0), time.monotonic() + gap)  # a back-off stands
                lock.release()

        return sent


ProgressFn = Callable[[int, int, PageResult], None]


def tell_stage(progress: ProgressFn | None, text: str) -> None:
    """Say what the run is doing past its pages' own lines (a progress object with a `stage` method shows it)."""
    stage = getattr(progress, "stage", None)
    if stage is not None:
        stage(text)


class Crawl:
    """One audit run's crawl. `run()` returns page results in crawl order; `stop()` ends it early."""

    def __init__(
        self,
        settings: Settings,
        start_urls: list[str],
        out_dir: Path,
        store: RunStore | None = None,
        progress: ProgressFn | None = None,
        slow: Callable[[DeviceFacts], bool] | None = None,
    ) -> None:
        self.settings = settings
        self.slow = slow  # whether a visit's timings would make a speed finding: those are measured again alone
        self.start_urls = start_urls
        self.out_dir = out_dir
        self.store = store
        self.progress = progress
        self.scope = Scope(start_urls)
        self.frontier = Frontier(settings, self.scope, self._allowed)
        self.throttle = HostThrottle()
        self.site_rules: dict[str, SiteRules] = {}
        self.results: dict[int, PageResult] = {}
        self._good_starts: set[str] = set()
        self.interrupted = False
        self.browser_lost: str | None = None  # why the crawl stopped early: a browser gone and not back
        self.refused: PageError | None = None  # why the crawl stopped early: the site kept turning it away
        self._refusals: dict[str, str] = {}  # refusals in a row: page (or 429 answer) -> its section
        self._walled: set[str] = set()  # sections (first path segment) behind a wall the rest of the site is not
        self.finished = 0  # pages done, this run or replayed: what the progress bar counts
        self._found: set[str] = set()  # new links of this level's finished pages, queued when the level ends
        self._owners: dict[str, int] = {}  # page_key of each audited page (and of where it redirected) -> position
        self._awaiting: dict[str, list[int]] = defaultdict(list)  # canonical page_key not audited yet -> pages naming it
        self._copies: dict[tuple[str, str], int] = {}  # (title, fingerprint of its text) -> the page kept
        self.browser_version = ""
        self.links_checked = 0  # links past the budget asked for their status (--fail-on-broken)
        self.timings: Counter[str] = Counter()  # seconds per visit step, summed over visits
        self.visits_per_browser: Counter[int] = Counter()  # how the visits spread over --browser-endpoint's
        self._browsers: list[Browser] = []
        self._relaunch_lock = asyncio.Lock()
        self._executable: str | None = None
        self._playwright: Playwright | None = None
        self._workers: list[asyncio.Task] = []
        self._user_agents: dict[str, str] = {}
        self._last_position = -1
        self._taken: set[int] = set()  # positions of pages finished or in flight, this run or a resumed one
        self._visiting: dict[int, str] = {}  # position -> URL of the pages released by the frontier and not finished yet
        # Each worker's tabs, kept from one crawl level to the next: a new context costs a new renderer.
        self._worker_tabs: dict[int, dict[str, Tab]] = {}

    # ---- public ---------------------------------------------------------------------------
    async def run(self) -> list[PageResult]:
        done_before = self.store.load() if self.store else {}
        self._taken.update(position for position, _ in done_before.values())
        if done_before:
            kept = sum(1 for _, page in done_before.values() if not page.passing_failure)
            again = len(done_before) - kept
            self._notice(f"Resuming: {kept} page{'s' * (kept != 1)} kept from the earlier run, not visited again"
                         + (f"; {again} that failed (unreachable, too slow, a server error or turned away) asked again."
                            if again else "."))
        for url, reason in self.store.merged() if self.store else []:
            self.frontier.forget(url, reason)
        for i, url in enumerate(self.start_urls):
            self.frontier.offer(url, 0, (0, i))
        async with async_playwright() as playwright:
            self._playwright = playwright
            # robots.txt and sitemaps are fetched while the browser starts: both are on the way to the first page
            discovering = asyncio.ensure_future(self._discover())
            try:
                await self._start_browsers()
            except BaseException:
                discovering.cancel()
                raise
            await discovering
            crawl_started = time.monotonic()
            try:
                depth = 0
                while depth <= self.settings.max_depth and not self.interrupted:
                    level = self.frontier.release(depth)
                    if not level and not self.frontier.levels:
                        break
                    await self._run_level(level, done_before)
                    # Pages of the level merged into others (copies, redirects) gave their places back.
                    while not self.interrupted and self.refused is None and (more := self.frontier.top_up()):
                        await self._run_level(more, done_before)
                    depth += 1
                    if self.refused is not None:
                        for later in sorted(self.frontier.levels):  # what the budget had room for is left unvisited
                            for url, _ in self.frontier.release(later):
                                self.frontier.leave("refused", url)
                        break
                if self.interrupted:
                    self.leave_unreached()
                self.frontier.give_up_spare()
                if not self.interrupted and self.refused is None:
                    await self._measure_again(time.monotonic() - crawl_started)
                if self.settings.fail_on_broken and not self.interrupted and self.refused is None:
                    await self._check_left_links()
            finally:
                for tabs in self._worker_tabs.values():
                    for tab in tabs.values():
                        await tab.close()
                for b in self._browsers:
                    await browsers.close(b)
        unreached = len(set(done_before) - {page.url for page in self.results.values()})
        if unreached and not self.interrupted:  # a smaller budget than the earlier run's: said, not silently dropped
            self._notice(f"{unreached} page{'s' * (unreached != 1)} of the earlier run {'are' if unreached != 1 else 'is'} "
                         "left out of this report: this run's max-pages, max-depth or max-per-pattern does not reach "
                         f"{'them' if unreached != 1 else 'it'} (kept in the run store for a later --resume).")
        return [self.results[k] for k in sorted(self.results)]

    def leave_unreached(self) -> None:
        """A stopped run's queue, counted as not reached (--resume visits it), not as left by a setting: the
        pages released and not finished, and what the budget has room for in the levels not started. The rest
        of those levels is beyond the budget, as in a finished run. Once: the queue is emptied."""
        for url in self._visiting.values():
            self.frontier.leave("interrupted", url)
        self._visiting.clear()
        for later in sorted(self.frontier.levels):
            for url, _ in self.frontier.release(later):
                self.frontier.leave("interrupted", url)

    def stop(self) -> None:
        """Finish early (Ctrl-C, SIGTERM): visits in flight are abandoned, finished pages are kept."""
        self.interrupted = True
        for task in self._workers:
            task.cancel()

    # ---- discovery ------------------------------------------------------------------------
    @asynccontextmanager
    async def _fetcher(self) -> AsyncIterator[Fetcher]:
        """Plain HTTP for what needs no browser (robots.txt, sitemaps, status checks), as the auditor: its user
        agent, and the staging secrets for the site's own origin only."""
        agent = self.settings.user_agent_token()
        headers = {"User-Agent": self.settings.user_agent or f"Mozilla/5.0 (compatible; {agent})"}
        limits = httpx.Limits(max_connections=4)
        auth = tuple(self.settings.auth.split(":", 1)) if self.settings.auth else None
        async with httpx.AsyncClient(headers=headers, timeout=min(10.0, self.settings.timeout), limits=limits) as client:
            yield Fetcher(client, self.scope, self.settings.headers, auth)  # type: ignore[arg-type]

    async def _discover(self) -> None:
        async with self._fetcher() as fetcher:
            for url in self.start_urls:
                origin = origin_of(url)
                if origin in self.site_rules:
                    continue
                if not (self.settings.respect_robots or self.settings.sitemaps):
                    self.site_rules[origin] = SiteRules(origin)
                    continue
                rules = await discover(fetcher, url, "cro-audit", self.settings.sitemaps)
                if not self.settings.respect_robots:
                    rules.robots, rules.crawl_delay = None, 0.0
                self.site_rules[origin] = rules
                gap = max(1 / self.settings.rate if self.settings.rate else 0.0, rules.crawl_delay)
                self.throttle.interval[urlsplit(url).netloc] = gap
                for i, page in enumerate(rules.sitemap_urls):
                    self.frontier.offer(page, 1, (float("inf"), i))

    async def _measure_again(self, crawl_s: float) -> None:
        """Timings taken with several pages at once read high on a small machine: at four pages at once on two
        cores a page loaded in up to three times its time alone, and a trial reported a 0.7 s page as taking
        2.2 s. The visits a speed rule would flag (`slow`) but would not at a third of their timings, slowest
        first, are measured again one at a time once the crawl is done, and keep the faster set of timings: a
        speed finding that contention could have made stands on a page measured alone. A trial's 120 pages had
        25 such findings left when only ten visits were measured again: as many as `crawl_s` allows (see
        RECHECK_SHARE) are, and the user is told of any left. The rest of each visit's facts stay."""
        if self.slow is None or self.settings.concurrency < 2 or not self._browsers:
            return
        slow = self.slow

        def doubtful(facts: DeviceFacts) -> bool:
            """Flagged, but not at a third of its timings: a page that slow alone is slow, and asking again
            would only cost its load time again."""
            lighter = replace(facts, **{name: getattr(facts, name) / CONTENTION for name in TIMING_FACTS
                                        if getattr(facts, name) is not None})
            return slow(facts) and not slow(lighter)

        flagged = sorted(((facts.load_ms or 0.0, position, device) for position, page in self.results.items()
                          if page.error is None for device, facts in page.devices.items() if doubtful(facts)),
                         key=lambda item: (-item[0], item[1], item[2]))
        if not flagged:
            return
        self._notice(f"Measuring {len(flagged)} slow visit{'s' * (len(flagged) != 1)} again, one at a time (the crawl "
                     f"measured {self.settings.concurrency} pages at once)")
        tabs = self._worker_tabs.setdefault(-1, {})  # closed with the workers' tabs when the run ends
        for _, position, device in flagged:  # until measured alone, their findings say they may read high
            self.results[position].devices[device].crowded = True

        measured = 0

        async def again() -> None:
            nonlocal measured
            for _, position, device in flagged:
                page = self.results[position]
                result = await visit(self._tab(tabs, 0, device), page.url, timeout=self.settings.timeout,
                                     before_navigate=lambda: self.throttle.wait(page.url))
                measured += 1  # asked again, whatever the answer: only those the time left unasked are told
                # Throttled visits take seconds each: the bar says how far it is.
                tell_stage(self.progress, f"measuring slow visits again: {measured} of {len(flagged)}")
                facts, fresh = page.devices[device], result.facts
                if fresh is None or result.error is not None or fresh.load_ms is None:
                    continue
                facts.crowded = False  # measured alone: the faster of the two stands for the page
                if facts.load_ms is None or fresh.load_ms < facts.load_ms:
                    for name in TIMING_FACTS:
                        setattr(facts, name, getattr(fresh, name))

        await self._bounded([asyncio.ensure_future(again())], max(RECHECK_S, RECHECK_SHARE * crawl_s))
        if self.store is not None:  # new timings, or the mark that they may read high: a resumed run keeps either
            for position in dict.fromkeys(position for _, position, _ in flagged):
                self.store.save(position, self.results[position])
        left = len(flagged) - measured
        if left and not self.interrupted:
            self._notice(f"  {left} of them kept the timings measured {self.settings.concurrency} at once (the time "
                         f"allowed ran out): their speed findings may read high; --concurrency 1 measures every page alone")

    async def _bounded(self, tasks: list[asyncio.Future], seconds: float) -> None:
        """Wait for `tasks` at most `seconds`, then cancel what is left; Ctrl-C (stop()) cancels them as it
        does the visits."""
        self._workers = list(tasks)
        try:
            await asyncio.wait(tasks, timeout=seconds)
        finally:
            self._workers = []
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _check_left_links(self) -> None:
        """With --fail-on-broken, the site's links the budget left (--max-pages, --max-depth) are asked for their
        status without a browser, a few at a time, so a 404 one link past the budget still fails the deploy.
        404, 410 and 5xx answers become broken pages of the report; a login, a redirect off the site or no
        answer leaves the link as not audited. At most MAX_LINK_CHECKS links, for at most LINK_CHECK_S."""
        audited = {page.url for page in self.results.values()}
        left = self.frontier.left
        urls = sorted((left.get("max_pages", set()) | left.get("max_depth", set())) - audited)
        urls = [u for u in urls if self._allowed(u) and not is_action(u)][:MAX_LINK_CHECKS]
        if not urls:
            return
        n = len(urls)
        self._notice(f"--fail-on-broken: asking {n} link{'s' * (n != 1)} past the page budget for "
                     f"{'its' if n == 1 else 'their'} HTTP status, without a browser")
        gap = max(self.throttle.interval.values(), default=0.0)  # --rate or Crawl-delay holds here too
        room = asyncio.Semaphore(1 if gap else 4)
        async with self._fetcher() as fetcher:

            async def ask(url: str) -> int | None:
                async with room:
                    status = await fetcher.status(url)
                    await asyncio.sleep(gap)
                    return status

            asking = {asyncio.ensure_future(ask(url)): url for url in urls}
            await self._bounded(list(asking), LINK_CHECK_S)
        answered = {url: task.result() for task, url in asking.items() if not task.cancelled() and task.exception() is None}
        self.links_checked = len(answered)
        if self.interrupted:
            return
        depth_of = {page.url: page.depth for page in self.results.values()}
        for url, status in answered.items():
            if status is None or not (status in (404, 410) or status >= 500):
                continue
            for reason in ("max_pages", "max_depth"):
                left.get(reason, set()).discard(url)  # a broken page now, not a link left
            found_on = self.frontier.found_on.get(url)
            page = PageResult(url=url, depth=depth_of.get(found_on or "", 0) + 1, found_on=found_on, status_code=status,
                              error=PageError("http_error", f"The server answered HTTP {status} (asked without a "
                                                            "browser: the page is past the page budget)."))
            self._finish(self._next_position(), page, told=False)  # not a page audited: no [n/total] line
            self._notice(f"  {url} HTTP {status}" + (f" (linked from {found_on})" if found_on else ""))

    def _credentials(self) -> dict | None:
        """HTTP auth for the audited site's origin (the first start URL's), from --auth or the URL's user:password."""
        if not self.settings.auth:
            return None
        user, _, password = self.settings.auth.partition(":")
        return {"username": user, "password": password, "origin": origin_of(self.start_urls[0])}

    def _primer_for(self, url: str) -> str | None:
        """--warm-cache: the start page a new tab opens before measuring `url`, so its files are cached as for
        a visitor coming from it: the start page of `url`'s host (the browser keeps each site's cache apart),
        or the only one. Only one whose own visit is done and went well: never one robots.txt keeps the
        auditor from, nor a 404, which caches nothing of the site (nor one still being measured, which may yet
        turn out so). Without one, a tab's cache fills from its own visits; so the start pages, measured first,
        are measured as first visits."""
        starts = [start for start in self.start_urls if start in self._good_starts]
        if len(starts) <= 1:
            return starts[0] if starts else None
        def where(page: str) -> tuple[str, int | None]:  # a site, www. or not, and its port
            return site_key(page), urlsplit(page).port

        return next((start for start in starts if where(start) == where(url)), None)

    def _allowed(self, url: str) -> bool:
        rules = self.site_rules.get(origin_of(url))
        return rules is None or rules.allows(url, "cro-audit")

    # ---- browsers -------------------------------------------------------------------------
    async def _start_browsers(self) -> None:
        assert self._playwright is not None
        if self.settings.browser_endpoints:
            for endpoint in self.settings.browser_endpoints:
                self._browsers.append(await browsers.connect(self._playwright, endpoint, self.settings.browser_path))
        else:
            self._executable = browsers.find_browser(self.settings.browser_path, self._playwright)
            self._browsers.append(await browsers.launch(self._playwright, self._executable))
        self.browser_version = self._browsers[0].version
        self._user_agents = browsers.user_agents(
            self.browser_version, self.settings.user_agent_token(), self.settings.user_agent
        )

    async def _relaunch(self, index: int) -> Browser:
        """A crashed or disconnected browser is replaced, once, whoever notices first."""
        async with self._relaunch_lock:
            current = self._browsers[index]
            if current.is_connected():
                return current
            assert self._playwright is not None
            await browsers.close(current)  # a grid gets the dead session's slot back
            if self.settings.browser_endpoints:
                fresh = await browsers.connect(
                    self._playwright, self.settings.browser_endpoints[index], self.settings.browser_path
                )
            else:
                fresh = await browsers.launch(self._playwright, self._executable)
            self._browsers[index] = fresh
            return fresh

    # ---- visiting -------------------------------------------------------------------------
    async def _run_level(self, level: list[tuple[str, int]], done_before: dict[str, tuple[int, PageResult]]) -> None:
        # One queue per device: a worker keeps to one device, so it needs one reusable tab, not one per device.
        queues: dict[str, deque] = {device: deque() for device in self.settings.devices}
        pending_pages: dict[int, dict] = {}
        walled_off = [(url, depth) for url, depth in level if _section(url) in self._walled and url not in done_before]
        for url, _ in walled_off:  # behind a section's wall: not placed, counted as left
            self.frontier.leave("refused", url)
        # Every page of the level is counted as under way before any is finished: the progress total holds
        # steady while a resumed run replays the pages it had already measured.
        placed = [(url, depth, done_before[url][0] if url in done_before else self._next_position())
                  for url, depth in level if (url, depth) not in walled_off]
        self._visiting.update((position, url) for url, _, position in placed)
        for url, depth, position in placed:
            # A resumed run asks again where the site was down, too slow or turned the auditor away.
            if url in done_before and not done_before[url][1].passing_failure:
                self._finish(position, done_before[url][1], kept=True)
                continue
            page = PageResult(url=url, depth=depth, found_on=self.frontier.found_on.get(url))
            if not self._allowed(url):
                page.error = PageError("blocked_by_robots", "robots.txt disallows this URL for cro-audit.")
                self._finish(position, page)
                continue
            pending_pages[position] = {"page": page, "visits": {}}
            for device in self.settings.devices:
                queues[device].append(position)
        total = sum(len(q) for q in queues.values())
        count = min(self.settings.concurrency * max(1, len(self._browsers)), total)
        self._workers = [asyncio.create_task(self._worker(i, queues, pending_pages)) for i in range(count)]
        results = await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers = []
        self._close_level([position for _, _, position in placed], pending_pages)
        for outcome in results:
            if isinstance(outcome, BaseException) and not isinstance(outcome, asyncio.CancelledError):
                raise outcome

    def _close_level(self, positions: list[int], pending_pages: dict[int, dict]) -> None:
        """After a level's visits: account for the pages a refusing site left, keep one entry per page,
        and queue the next level."""
        if (self.refused is not None or self._walled) and not self.interrupted:  # the crawl stopped asking there
            for position, entry in pending_pages.items():
                if position in self.results:
                    continue
                if entry["visits"]:  # one device was answered (refused, mostly): that is the page's entry
                    self._finish(position, self._assemble(entry["page"], entry["visits"]))
                else:
                    self._visiting.pop(position, None)
                    self.frontier.leave("refused", entry["page"].url)
        level = [position for position in sorted(positions) if position in self.results]
        for position in level:  # a linked PDF or image is not a page that could not be checked: it is no page
            page = self.results[position]
            if page.depth > 0 and page.error is not None and page.error.kind == "not_html":
                self._drop(position, page, "file")
        # One page, one entry: URLs that redirect to, or name as canonical, a page audited under another URL.
        level = [position for position in level if position in self.results]
        landed = {position: _landed(self.results[position]) for position in level}
        self._merge_redirects(level, landed)
        canonicals = self._merge_canonicals(level, landed)
        self._merge_copies(level)
        # The next level is queued once this one is done, page by page in crawl order: a link found on two
        # pages is queued where the earlier page has it, however the visits finished.
        for position in level:
            page = self.results.get(position)
            if page is None:
                continue
            for i, link in enumerate([*page.links, *([canonicals[position]] if position in canonicals else [])]):
                self.frontier.offer(link, page.depth + 1, (position, i), found_on=page.final_url or page.url)
        self._found.clear()

    def _merge_redirects(self, level: list[int], landed: dict[int, str | None]) -> None:
        """A URL that redirects to a page audited under another URL (http:// to https://, a missing slash,
        an old slug) is merged into it, or that page's findings count twice. The entry kept is the one
        reached without a redirect, else the earliest."""
        for direct in (True, False):  # pages that did not redirect claim their URL first
            for position in level:
                page, url = self.results.get(position), landed[position]
                if page is None or url is None or (page_key(page.url) == page_key(url)) is not direct:
                    continue
                if self._owners.setdefault(page_key(url), position) != position:
                    self._drop(position, page, "redirected")
                    continue
                self._owners.setdefault(page_key(page.url), position)
                if not direct:
                    self.frontier.absorb(url)

    def _merge_canonicals(self, level: list[int], landed: dict[int, str | None]) -> dict[int, str]:
        """A URL whose <link rel=canonical> names another audited page of the same title (a product under
        each of its collections, a listing sorted another way) is merged into it. The title check keeps a
        site whole that points every canonical at its home page. Returns the canonical URLs not audited
        yet, by the position of the page naming them: the crawl queues them, and merges when it gets there."""
        for position in level:
            if position in self.results and landed[position] is not None:
                for waiting in self._awaiting.pop(page_key(landed[position]), []):  # pages that named this one
                    self._merge_into(waiting, position)
        unseen = {}
        for position in level:
            page = self.results.get(position)
            canonical = _canonical(page, landed[position], self.scope) if page is not None else None
            if canonical is None:
                continue
            owner = self._owners.get(page_key(canonical))
            if owner is not None:
                self._merge_into(position, owner)
            else:
                self._awaiting[page_key(canonical)].append(position)
                unseen[position] = canonical
        return unseen

    def _merge_copies(self, level: list[int]) -> None:
        """The same words under the same title at two URLs (`/faq` and `/faq/`, `?ref=footer`, an
        index.php?page= alias) are one page, though nothing says so. The entry kept is the one without a
        query string, else the earliest."""
        for position in level:
            page = self.results.get(position)
            if page is None or page.error is not None or not page.fingerprint or not _title(page):
                continue
            same = (_title(page), page.fingerprint)
            owner = self._copies.get(same)
            kept = self.results.get(owner) if owner is not None else None
            if kept is None or (urlsplit(kept.url).query and not urlsplit(page.url).query):
                if kept is not None:
                    self._drop(owner, kept, "duplicate")
                self._copies[same] = position
            else:
                self._drop(position, page, "duplicate")

    def _merge_into(self, position: int, owner: int) -> None:
        page, kept = self.results.get(position), self.results.get(owner)
        if page is None or kept is None or position == owner or page.error or kept.error:
            return
        if _title(page) and _title(page) == _title(kept):
            self._drop(position, page, "canonical")

    def _drop(self, position: int, page: PageResult, reason: str) -> None:
        why = _MERGED.get(reason)
        if why:  # its progress line was counted: '[16/16]' past --max-pages 15 needs this line beside it
            self._notice(f"  {page.url}: reported once, under another URL ({why}); not counted in max-pages")
        del self.results[position]
        self.frontier.leave(reason, page.url)
        self.frontier.released -= 1  # a copy does not use up the page budget: the next level gets its place
        if self.store is not None:
            self.store.merge(position, page.url, reason)
        for device in page.devices:
            (self.out_dir / "screenshots" / f"{position:04d}-{device}.jpg").unlink(missing_ok=True)

    def _next_position(self) -> int:
        """A page's place in the crawl: its order in the report and the name of its screenshots."""
        self._last_position += 1
        while self._last_position in self._taken:
            self._last_position += 1
        self._taken.add(self._last_position)
        return self._last_position

    async def _worker(self, index: int, queues: dict[str, deque], pending_pages: dict[int, dict]) -> None:
        browser_index = index % len(self._browsers)
        devices = list(queues)
        own = devices[index % len(devices)]  # both device passes run side by side, each on its own workers
        # Reusable tabs: its own device's, and another's if it helps out at the end of a level.
        tabs = self._worker_tabs.setdefault(index, {})
        while self.refused is None:
            device = own if queues[own] else next((d for d in devices if queues[d]), None)
            if device is None:
                break
            other = next((d for d in tabs if d != device), None)
            if other is not None:
                await tabs.pop(other).close()  # one tab at a time keeps memory flat
                continue  # other workers ran meanwhile: look at the queues again
            position = queues[device].popleft()
            entry = pending_pages[position]
            if _section(entry["page"].url) in self._walled:
                continue  # behind the section's wall: left unvisited, and said so when the level ends
            result = await self._visit_with_retries(browser_index, entry["page"], device, position, tabs)
            for link in result.long_links:
                self.frontier.too_long(link)
            entry["visits"][device] = result
            if len(entry["visits"]) == len(self.settings.devices):
                self._finish(position, self._assemble(entry["page"], entry["visits"]))

    def _notice(self, text: str) -> None:
        """Tell the user of a long wait that no progress line explains (a progress callback with a
        `notice` method hears it; a plain function does not)."""
        notice = getattr(self.progress, "notice", None)
        if notice is not None:
            notice(text)

    def _count_refusal(self, url: str, result: Visit, attempt: int) -> None:
        """Five refusals in a row stop the crawl; five bot-wall pages in a row of one section (a customer
        area behind a challenge) close that section only. A page counts once whatever its devices; a rate
        limit counts each answer, retries included, since it never lifts for one section."""
        self._refusals[url if result.slow_down is None else f"{url}#{attempt}"] = _section(url)
        if len(self._refusals) < REFUSED_STREAK or self.refused is not None:
            return
        sections = set(self._refusals.values())
        if result.slow_down is None and len(sections) == 1 and "" not in sections:
            self._walled.update(sections)
            self._refusals.clear()
        else:
            self.refused = result.error

    def _tab(self, tabs: dict[str, Tab], browser_index: int, device: str) -> Tab:
        """The worker's tab for a device, on the current browser (a relaunched browser gets new tabs)."""
        browser = self._browsers[browser_index]
        tab = tabs.get(device)
        if tab is None or tab.browser is not browser:
            tab = tabs[device] = Tab(browser, browsers.PROFILES[device], self._user_agents[device],
                                     self.settings.headers, self._credentials(), self.scope.same_origin, self.scope.admits,
                                     browsers.THROTTLED[device] if self.settings.throttle else None,
                                     self._primer_for if self.settings.warm_cache else None)
        return tab

    async def _visit_with_retries(
        self, browser_index: int, page: PageResult, device: str, position: int, tabs: dict[str, Tab]
    ) -> Visit:
        shot = None
        if self.settings.screenshots != "off":
            name = f"screenshots/{position:04d}-{device}.jpg"
            (self.out_dir / "screenshots").mkdir(parents=True, exist_ok=True)
            shot = (self.out_dir / name, name)
        attempt = 0
        crashes = 0
        while True:
            result = await visit(
                self._tab(tabs, browser_index, device),
                page.url,
                timeout=self.settings.timeout,
                screenshot=shot,
                screenshot_scale=self.settings.screenshots if self.settings.screenshots != "off" else "css",
                before_navigate=lambda: self.throttle.wait(page.url),
            )
            self.timings.update(result.timings)
            self.visits_per_browser[browser_index] += 1
            if result.error is not None and result.error.kind == "refused":
                self._count_refusal(page.url, result, attempt)
            elif result.facts is not None:
                self._refusals.clear()
            if result.crashed and crashes < 1:
                crashes += 1
                try:
                    await self._relaunch(browser_index)
                except Exception as exc:  # noqa: BLE001 - a remote browser gone for good, a local one that will not start
                    # Stop as Ctrl-C does: the pages finished are kept, the report says it is partial, and
                    # --resume picks up once the browser is back.
                    self.browser_lost = self.browser_lost or str(exc).split("\n")[0][:300]
                    self.stop()
                    raise asyncio.CancelledError from None
                continue
            if result.slow_down is not None:  # a rate limit: wait as long as it asks, go slower, then ask again
                gap = self.throttle.back_off(page.url, result.slow_down)
                self._notice(f"{urlsplit(page.url).netloc} asked for a pause (HTTP 429): waiting {result.slow_down:g} s, "
                             f"then at most one request every {gap:g} s")
                if attempt < self.settings.retries and self.refused is None:
                    attempt += 1
                    continue
            if result.transient and attempt < self.settings.retries:
                attempt += 1
                await asyncio.sleep(min(8.0, 0.5 * 2**attempt))  # back off: 1 s, 2 s, 4 s...
                continue
            return result

    def _assemble(self, page: PageResult, visits: dict[str, Visit]) -> PageResult:
        """Merge the device visits of one URL; the first device's navigation speaks for the page."""
        # In the settings' device order, not the order the visits finished in: report.json must not change
        # between two runs of the same site.
        visits = {d: visits[d] for d in self.settings.devices if d in visits}
        first = visits.get(self.settings.devices[0]) or next(iter(visits.values()))
        page.final_url = first.final_url
        page.status_code = first.status_code
        page.links = first.links or next((v.links for v in visits.values() if v.links), [])
        page.canonical = first.canonical or next((v.canonical for v in visits.values() if v.canonical), None)
        page.fingerprint = first.fingerprint
        page.devices = {d: v.facts for d, v in visits.items() if v.facts is not None}
        errors = [v.error for d, v in visits.items() if v.error is not None]
        page.server_error = any(v.error.kind == "http_error" and v.status_code in TRANSIENT_STATUS
                                for v in visits.values() if v.error is not None)
        if first.error is not None:
            page.error = first.error
        elif errors and not page.devices:
            page.error = errors[0]
        elif errors:
            failed = next(d for d, v in visits.items() if v.error is not None)
            page.error = PageError(errors[0].kind, f"{failed}: {errors[0].message}")
        if page.final_url and page.error is None:
            if not self.scope.admits(page.final_url):
                page.error = PageError("out_of_scope", f"The page redirected away from the site, to {page.final_url[:200]}.")
                page.devices, page.links = {}, []
        return page

    def _finish(self, position: int, page: PageResult, kept: bool = False, told: bool = True) -> None:
        """A page is done: stored at once (unless `kept` from the run being resumed) and told to the progress
        (unless `kept`, or not `told`: a link only asked for its status is not a page the bar counts)."""
        self.results[position] = page
        if page.depth == 0 and page.error is None:
            self._good_starts.add(page.url)  # --warm-cache may open it to fill a tab's cache
        self.finished += told
        self._visiting.pop(position, None)
        if self.store is not None and not kept:
            self.store.save(position, page)
        if self.progress is not None:
            self._found.update(link for link in page.links if link not in self._found and self.frontier.is_new(link, page.depth + 1))
            if not kept and told:  # a resumed run's earlier pages were told once, in a notice, not a line each
                self.progress(self.finished, self.finished + self._in_flight() + self._pending(), page)

    def _pending(self) -> int:
        """Pages still to come, as far as known: those queued, and the new links found on this level so far."""
        room = max(0, self.settings.max_pages - self.frontier.released)
        return min(room, self.frontier.pending() + len(self._found))

    def _in_flight(self) -> int:
        return len(self._visiting)  # not len(_taken): a resumed run's finished pages are not in flight


_MERGED = {"redirected": "it redirects to a page audited", "canonical": "it names another audited page as canonical",
           "duplicate": "the same title and text as another page"}


def _landed(page: PageResult) -> str | None:
    """Where `page` ended up, normalised; None when that was off the site or not a URL."""
    if page.error is not None and page.error.kind == "out_of_scope":
        return None
    try:
        return normalize(page.final_url or page.url)
    except BadURL:
        return None


def _canonical(page: PageResult, landed: str | None, scope: Scope) -> str | None:
    """The other URL of the site the page names as canonical, normalised; None if it names itself or none."""
    if not page.canonical or landed is None or page.error is not None:
        return None
    try:
        canonical = normalize(page.canonical)
    except BadURL:
        return None
    return canonical if canonical in scope and page_key(canonical) != page_key(landed) else None


def _title(page: PageResult) -> str:
    facts = next(iter(page.devices.values()), None)
    return " ".join(facts.title.split()).casefold() if facts is not None else ""


def _section(url: str) -> str:
    """The first segment of a URL's path: `customers` for /customers/acme/; "" for the home page."""
    return urlsplit(url).path.strip("/").split("/", 1)[0].lower()
