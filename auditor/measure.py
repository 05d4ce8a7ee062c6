"""One visit: load a URL in a fresh context for one device, let it settle, and read its facts.

Every step is bounded by the page timeout, so no page (however hostile) can hang the run: a page that
never finishes loading is still measured once its DOM is there; one that never gets that far, or
crashes, or is not an HTML page, comes back as a coded `PageError` instead of facts.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, BrowserContext, Page, Request
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeout

from auditor.browser import Connection, Device, first_line, new_context
from auditor.facts import TRANSIENT_STATUS, DeviceFacts, PageError, clean_strings, clean_text
from auditor.urls import origin_of

MEASURE_JS = resources.files("auditor").joinpath("measure.js").read_text(encoding="utf-8")
OBSERVE_JS = resources.files("auditor").joinpath("observe.js").read_text(encoding="utf-8")
GUARD_JS = resources.files("auditor").joinpath("guard.js").read_text(encoding="utf-8")
# The audit's own JavaScript world in each page: the fact script and the observers run there, where a
# page that replaces built-ins (Set, Math.round, getComputedStyle) cannot change what they report.
WORLD = "cro-audit"

MAX_LINKS = 5000
TAB_VISITS = 25  # visits a tab serves before it is replaced
PRIME_S = 10.0  # --warm-cache: the longest the start page may take to load its files into a new tab's cache
MAX_NAVIGATIONS = 10  # a page that replaces itself more often than this (meta refresh, script loops) is a loop
LOOP_MESSAGE = "The page keeps replacing itself (a meta refresh or a script sends it to itself, or back and forth)."
SETTLE_CAP_S = 5.0  # at most this long waiting for a quiet network after load
QUIET_S = 0.3  # the network counts as quiet after this long without a request starting or ending
TIMER_CAP_S = 1.0  # from DOMContentLoaded, the longest wait for the page's short timers (polling never ends)
HTML_TYPES = ("text/html", "application/xhtml+xml")
TRANSIENT_NET = re.compile(
    r"ERR_(CONNECTION_RESET|CONNECTION_CLOSED|EMPTY_RESPONSE|NETWORK_CHANGED|CONNECTION_ABORTED|HTTP2_PROTOCOL_ERROR|SOCKET_NOT_CONNECTED)"
)

NET_ERRORS = {
    "ERR_CONNECTION_REFUSED": "connection refused: nothing is listening at that address",
    "ERR_NAME_NOT_RESOLVED": "the host name does not resolve (check the spelling, or DNS)",
    "ERR_ADDRESS_UNREACHABLE": "the address is unreachable from this machine",
    "ERR_INTERNET_DISCONNECTED": "this machine is offline",
    "ERR_CERT_AUTHORITY_INVALID": "the site's TLS certificate is not trusted",
    "ERR_CERT_COMMON_NAME_INVALID": "the site's TLS certificate is for another host name",
    "ERR_CERT_DATE_INVALID": "the site's TLS certificate has expired or is not yet valid",
    "ERR_UNSAFE_PORT": "browsers refuse to connect to this port",
    "ERR_EMPTY_RESPONSE": "the server closed the connection without answering",
    "ERR_CONNECTION_RESET": "the connection was reset",
    "ERR_INVALID_RESPONSE": "the server sent a response the browser could not read",
    "ERR_CONTENT_DECODING_FAILED": "the server sent a body that could not be decoded",
}

# [short timers still pending, milliseconds since the last one ran]
_TIMERS = "() => (window.__croObserved && window.__croObserved.timers ? window.__croObserved.timers() : [0, 1e9])"

# Entrance animations and transitions are jumped to their end rather than waited out: the facts and the
# screenshot are of the settled page either way, and every frame of an animation costs the renderer and the
# GPU process CPU (on a 2-core machine a 0.4 s fade costs about as much as loading the page). Endless ones
# (spinners, carousels) are left running.
_FINISH_ANIMATIONS = """() => {
  for (const a of document.getAnimations ? document.getAnimations() : []) {
    const t = a.effect && a.effect.getComputedTiming ? a.effect.getComputedTiming() : null;
    if (a.playState !== "running" || !t || !Number.isFinite(t.endTime)) continue;
    try { a.finish(); } catch (e) {}
  }
}"""


@dataclass
class Visit:
    """What one device's visit produced: facts, or an error, and the in-page links for the crawl."""

    device: str
    final_url: str | None = None
    status_code: int | None = None
    facts: DeviceFacts | None = None
    error: PageError | None = None
    links: list[str] = field(default_factory=list)
    long_links: list[str] = field(default_factory=list)  # the site's links too long to visit (their first 2,100 characters)
    canonical: str | None = None  # the page's <link rel=canonical>, as the browser resolved it
    fingerprint: str | None = None  # a hash of the page's visible text, to know copies under other URLs
    transient: bool = False  # worth another try (connection reset, 503...)
    crashed: bool = False  # the browser itself went away
    slow_down: float | None = None  # a rate limit answered: seconds the site asked to wait (Retry-After)
    timings: dict[str, float] = field(default_factory=dict)  # seconds per step, for the benchmark and --profile

    def lap(self, step: str, since: float) -> float:
        now = time.monotonic()
        self.timings[step] = self.timings.get(step, 0.0) + now - since
        return now


_ASK_FOR_LOGIN = "The site asks for a login (HTTP 401): pass --auth user:password, or set CRO_AUDIT_AUTH."


def timed_out(timeout: float) -> PageError:
    return PageError("timeout", f"The page did not finish loading within the {timeout:g} s page timeout.")


def classify(exc: BaseException, timeout: float) -> tuple[PageError, bool]:
    """Map a Playwright failure to the error catalogue; the bool says whether retrying may help."""
    text = first_line(exc)
    if isinstance(exc, (PlaywrightTimeout, asyncio.TimeoutError)) or "ERR_TIMED_OUT" in text:
        return timed_out(timeout), False
    if "ERR_INVALID_AUTH_CREDENTIALS" in text:
        return PageError("http_error", _ASK_FOR_LOGIN), False
    if "ERR_TOO_MANY_REDIRECTS" in text:
        return PageError("redirect_loop", "The URL redirects in a loop or through too many hops."), False
    if "Download is starting" in text or "ERR_ABORTED" in text:
        return PageError("not_html", "The URL starts a download instead of showing a page."), False
    if "crash" in text.lower() or "Target closed" in text or "has been closed" in text:
        return PageError("browser_crash", f"The browser tab crashed: {text[:200]}"), False
    match = re.search(r"net::(ERR_[A-Z_0-9]+)", text)
    if match:
        code = match.group(1)
        why = NET_ERRORS.get(code, "the page could not be loaded")
        return PageError("network", f"{why[0].upper()}{why[1:]} ({code})."), bool(TRANSIENT_NET.search(text))
    return PageError("measure_failed", f"The page could not be measured: {text[:200]}"), False


# Bot walls: a CDN or WAF that answers an automated browser with a challenge or a block page instead of
# the page. Recognised by the headers and titles the vendors document or always send, so a site's own
# 403 is still an http_error. A visitor's browser usually gets through; the auditor's will not, however
# often it tries.
_WALL_TITLES = ("just a moment", "attention required", "access denied", "access to this page has been denied",
                "pardon our interruption", "request unsuccessful")


def refusal(status: int, headers: dict[str, str], title: str) -> str | None:
    """Who turned the auditor away, when bot protection or a rate limit answered instead of the page:
    the vendor's name, "a rate limit", or None for an ordinary response. `headers` have lower-case names."""
    server, title = headers.get("server", "").lower(), title.strip().lower()
    walled = status in (403, 405, 429, 503) and title.startswith(_WALL_TITLES)
    if headers.get("cf-mitigated") == "challenge" or ("cloudflare" in server and walled):
        return "Cloudflare"
    if "x-amzn-waf-action" in headers:  # AWS WAF's challenge and CAPTCHA come back as 202 and 405
        return "AWS WAF"
    if "x-vercel-mitigated" in headers:
        return "Vercel"
    if status < 400:
        return None
    if "x-datadome" in headers or "datadome" in server:
        return "DataDome"
    if "x-iinfo" in headers or "incapsula" in title:
        return "Imperva"
    if "x-sucuri-id" in headers or "sucuri" in server:
        return "Sucuri"
    if "akamaighost" in server and walled:
        return "Akamai"
    if walled and title.startswith("access to this page has been denied"):
        return "HUMAN (PerimeterX)"
    if status == 429:
        return "a rate limit"
    return None


RETRY_AFTER_CAP_S = 60.0


def retry_after(value: str | None) -> float:
    """Seconds a Retry-After header asks for (a number; an HTTP date counts as the cap), within 1-60 s."""
    value = (value or "").strip()
    seconds = float(value) if value.isdigit() else (RETRY_AFTER_CAP_S if value else 5.0)
    return min(RETRY_AFTER_CAP_S, max(1.0, seconds))


def refused(by: str, status: int, retry_header: str | None) -> PageError:
    if by == "a rate limit":
        wait = f"; it asked for a {retry_header} s wait" if retry_header and retry_header.isdigit() else ""
        return PageError("refused", f"The server answered HTTP 429 Too Many Requests: it limits how fast it may be "
                                    f"crawled{wait}, and cro-audit, waiting and slowing down, ran out of retries. Run "
                                    "the audit again with --resume and a lower --rate (say 1) or --concurrency.")
    return PageError("refused", f"{by}'s bot protection answered instead of the page (HTTP {status}): a visitor's browser "
                                "usually gets through, the auditor's does not. Ask the site's owner to let cro-audit "
                                "through (a firewall rule allowing its user agent or this machine's address), then "
                                "run the audit again with --resume: it asks again only where it was refused.")


class Tab:
    """One device's context and page, kept across a worker's visits.

    A fresh context per visit costs a new renderer process, about three times the visit itself; so the tab
    is reused, and what would leak from one measurement into the next (cookies, the HTTP cache, storage)
    is wiped after each visit. After a visit that went wrong (a timeout, a crash, a loop) the tab is
    thrown away and the next visit gets a new one.

    With `primer_for` (--warm-cache) the HTTP cache is kept, and the start page it names for a URL fills
    it first: see `prime`.
    """

    def __init__(self, browser: Browser, device: Device, user_agent: str, headers: dict[str, str] | None = None,
                 credentials: dict | None = None, header_scope: Callable[[str], bool] | None = None,
                 site_scope: Callable[[str], bool] | None = None, connection: Connection | None = None,
                 primer_for: Callable[[str], str | None] | None = None) -> None:
        self.browser, self.device, self.user_agent = browser, device, user_agent
        self.primer_for = primer_for  # --warm-cache: the start page whose files a URL's visit finds cached
        self.opened: set[str] = set()  # the URLs this context has loaded, whose files its cache holds
        self.connection = connection  # --throttle's visitor connection; None: the machine's own
        self.headers, self.credentials, self.header_scope = headers or {}, credentials, header_scope
        self.site_scope = site_scope
        self.left_site: str | None = None  # where the page tried to take the tab, outside the site
        self.context: BrowserContext | None = None
        self.page: Page | None = None
        self._cdp = None
        self._main_frame: str | None = None
        self.network: _Network | None = None
        self.navigations = 0
        self.visits = 0
        self.crashed: asyncio.Event = asyncio.Event()  # the renderer died: DevTools calls to it would never answer
        self.looping: asyncio.Event = asyncio.Event()  # the page replaced itself over MAX_NAVIGATIONS times

    async def open(self) -> Page:
        if self.page is not None and self.visits >= TAB_VISITS:
            # A renderer that served many pages holds on to memory: start afresh. With --warm-cache only the
            # page goes; the context keeps the start page's files cached, so the new page needs no priming.
            await (self._close_page() if self.keep_cache else self.close())
        self.visits += 1
        if self.page is not None:
            return self.page
        if self.context is None:
            scoped = bool(self.headers) and self.header_scope is not None
            self.opened = set()  # a new context starts with an empty cache
            self.context = await asyncio.wait_for(new_context(
                self.browser, self.device, self.user_agent, {} if scoped else self.headers, self.credentials), 30)
            if scoped:  # extra headers (often a staging token) go to the audited site only, never to third parties
                await self.context.route(self.header_scope, _adding_headers(self.headers))
            await self.context.add_init_script(GUARD_JS)
        page = await asyncio.wait_for(self.context.new_page(), 30)
        page.on("popup", lambda popup: asyncio.ensure_future(_quiet(popup.close())))  # window.open spam
        page.on("framenavigated", self._navigated)
        self.crashed = asyncio.Event()
        page.on("crash", lambda _: self.crashed.set())
        self.network = _Network(page)
        self._cdp = await self.context.new_cdp_session(page)
        await self._cdp.send("Page.enable")  # without it, this session's scripts for new documents never run
        await self._cdp.send("Page.addScriptToEvaluateOnNewDocument", {"source": OBSERVE_JS, "worldName": WORLD})
        self._main_frame = (await self._cdp.send("Target.getTargetInfo"))["targetInfo"]["targetId"]
        if self.connection is not None:  # holds for every later visit of the tab
            await self._cdp.send("Network.emulateNetworkConditions", self.connection.devtools_conditions())
            await self._cdp.send("Emulation.setCPUThrottlingRate", {"rate": self.connection.cpu_slowdown})
        if self.site_scope is not None:
            await self._guard_navigations()
        self.page = page
        return page

    async def devtools(self, method: str, params: dict, timeout: float) -> dict:
        """A DevTools call to this tab's page, which fails at once (as Playwright's own calls do) if the
        renderer crashes meanwhile, instead of waiting for an answer that will not come."""
        assert self._cdp is not None
        call = asyncio.ensure_future(self._cdp.send(method, params))
        # Left behind (a timeout, a crash, Ctrl-C cancelling the worker), it fails once the tab is closed:
        # heard here, not printed as "Task exception was never retrieved" with a traceback.
        call.add_done_callback(lambda done: done.cancelled() or done.exception())
        crash = asyncio.ensure_future(self.crashed.wait())
        try:
            done, _ = await asyncio.wait({call, crash}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            crash.cancel()
        if call in done:
            return call.result()
        call.cancel()
        if crash in done:
            raise PlaywrightError("Target crashed")
        raise asyncio.TimeoutError

    async def evaluate_in_own_world(self, expression: str, timeout: float) -> Any:
        """The value of `expression` in the top document's audit world (WORLD), where the page's scripts
        cannot reach. A script error is a ValueError with its first line."""
        world = await self.devtools("Page.createIsolatedWorld", {"frameId": self._main_frame, "worldName": WORLD}, timeout)
        answer = await self.devtools("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                          "contextId": world["executionContextId"]}, timeout)
        if "exceptionDetails" in answer:
            details = answer["exceptionDetails"]
            raise ValueError((details.get("exception") or {}).get("description", details.get("text", "")).split("\n")[0])
        return answer["result"].get("value")

    async def _guard_navigations(self) -> None:
        """Stop the tab leaving the site: a redirect or script that sends the page elsewhere is refused
        before its request goes out. Only documents are held (one round trip per navigation), and only the
        top frame's are judged: embeds (videos, maps, payment widgets) are part of the page."""
        assert self._cdp is not None
        self._cdp.on("Fetch.requestPaused", lambda event: asyncio.ensure_future(self._judge_document(event)))
        await self._cdp.send("Fetch.enable", {"patterns": [{"resourceType": "Document", "requestStage": "Request"}]})

    async def _judge_document(self, event: dict) -> None:
        cdp, url = self._cdp, event["request"]["url"]
        if cdp is None:
            return
        leaving = (event.get("frameId") == self._main_frame and url.startswith(("http://", "https://"))
                   and not self.site_scope(url))  # type: ignore[misc] - the guard is only on with a scope
        if leaving:
            self.left_site = self.left_site or url
            await _quiet(cdp.send("Fetch.failRequest", {"requestId": event["requestId"], "errorReason": "BlockedByClient"}))
        else:
            await _quiet(cdp.send("Fetch.continueRequest", {"requestId": event["requestId"]}))

    def _navigated(self, frame) -> None:
        if self.page is not None and frame == self.page.main_frame:
            self.navigations += 1
            if self.navigations > MAX_NAVIGATIONS:
                self.looping.set()

    async def prime(self, primer: str, before_navigate: Callable[[], Awaitable[Callable[[], None] | None]] | None,
                    timeout: float) -> bool:
        """--warm-cache: open the start page once in a new context, so that every page measured after it
        finds the start page's files (stylesheets, scripts, fonts, the logo) cached, as a visitor's next page
        does; its cookies and storage are then wiped like any visit's. A start page that fails to load leaves
        the cache as it got it: the visit is measured all the same. Its request waits its turn under --rate.
        False if the tab could not be wiped after it (a crashed renderer): it is not fit to measure with."""
        assert self.page is not None
        self.opened.add(primer)
        sent = await self.take_turn(before_navigate)
        try:
            await self.page.goto(primer, wait_until="load", timeout=min(timeout, PRIME_S) * 1000)
        except Exception:  # noqa: BLE001 - whatever the start page does, its measured visit has said so
            pass
        finally:
            self.end_turn(sent)
        try:
            await asyncio.wait_for(self.wipe(primer), 10)
        except Exception:  # noqa: BLE001
            return False
        return True

    @property
    def keep_cache(self) -> bool:
        return self.primer_for is not None

    async def take_turn(self, before_navigate: Callable[[], Awaitable[Callable[[], None] | None]] | None
                        ) -> Callable[[], None] | None:
        """Wait here for the rate limit's turn, next to the request it spaces out. The tab's network tells it
        when that request leaves; `end_turn` is given what this returns once the navigation is over."""
        sent = await before_navigate() if before_navigate is not None else None
        if self.network is not None:
            self.network.on_request = sent
        return sent

    def end_turn(self, sent: Callable[[], None] | None) -> None:
        if sent is not None:
            sent()  # no request left at all (a bad URL), or it has: either way the next one may go
            if self.network is not None:
                self.network.on_request = None

    async def wipe(self, url: str | None) -> None:
        """Forget everything the last page left: cookies, storage of the origin it was on, and the HTTP
        cache (kept with --warm-cache)."""
        assert self.context is not None and self._cdp is not None
        clears = [self.context.clear_cookies()]
        if not self.keep_cache:
            clears.append(self._cdp.send("Network.clearBrowserCache"))
        if url and url.startswith(("http://", "https://")):
            clears.append(self._cdp.send("Storage.clearDataForOrigin", {"origin": origin_of(url), "storageTypes": "all"}))
        await asyncio.gather(*clears)  # independent of each other: one round trip instead of three

    async def screenshot(self, path: Path, scale: str, timeout_ms: float) -> bool:
        """What the visitor sees on arrival, as JPEG: the viewport in CSS pixels (`css`, a zoomed-out phone
        page included) or device pixels (`device`).

        The CSS-pixel one is asked of DevTools directly: Playwright's screenshot adds three round trips into
        the page (caret styles in and out, waiting for fonts, which a settled page has) and costs about
        twice as much. Only without a clip, though: a clipped capture from this session would apply its
        own (absent) device emulation to the page and leave it at a pixel ratio of 1."""
        assert self.page is not None
        if scale == "css" and self._cdp is not None:
            try:
                shot = await asyncio.wait_for(
                    self._cdp.send("Page.captureScreenshot", {"format": "jpeg", "quality": 70, "optimizeForSpeed": True}),
                    timeout_ms / 1000)
                path.write_bytes(base64.b64decode(shot["data"]))
                return True
            except (PlaywrightError, asyncio.TimeoutError, KeyError, ValueError):
                pass  # "Unable to capture screenshot" when no frame was drawn yet: Playwright's way waits for one
        try:
            await self.page.screenshot(path=str(path), type="jpeg", quality=70, scale=scale, timeout=timeout_ms)
            return True
        except PlaywrightError:
            return False

    async def _close_page(self) -> None:
        page, self.page, self._cdp, self.network = self.page, None, None, None
        self.visits = 0
        if page is not None:
            await _quiet(page.close())

    async def close(self) -> None:
        context, self.context, self.page, self._cdp = self.context, None, None, None
        self.visits = 0
        if context is not None:
            await _close(context)


async def visit(
    tab: Tab,
    url: str,
    *,
    timeout: float,
    screenshot: tuple[Path, str] | None = None,
    screenshot_scale: str = "css",
    before_navigate: Callable[[], Awaitable[Callable[[], None] | None]] | None = None,
    keep: bool = True,
) -> Visit:
    """Visit `url` in `tab` (its browser, device and user agent); never raises for anything the page does,
    never outlives `timeout` by much.

    With `keep` the tab is left wiped for the next visit (or closed if this one went wrong); without, it is
    closed: a one-off visit."""
    browser, device = tab.browser, tab.device
    result = Visit(device=device.name)
    started = time.monotonic()
    try:
        page = await tab.open()
    except Exception as exc:  # noqa: BLE001 - the browser itself is gone
        await tab.close()
        result.error, result.crashed = PageError("browser_crash", f"The browser did not respond: {exc}"[:300]), True
        return result
    mark = result.lap("context", started)
    healthy = False
    sent: Callable[[], None] | None = None
    try:
        primer = tab.primer_for(url) if tab.primer_for is not None else None
        if primer is not None and primer != url and primer not in tab.opened:  # once per context
            if not await tab.prime(primer, before_navigate, timeout):
                await tab.close()  # the visit gets a new tab, measured as a first visit
                page = await tab.open()
            result.lap("prime", mark)
        if tab.keep_cache:
            tab.opened.add(url)  # from now on its files are in the cache: the start page's own visit primes the tab
        sent = await tab.take_turn(before_navigate)
        tab.navigations = 0
        tab.looping.clear()
        tab.left_site = None
        if tab.network is not None:
            tab.network.in_flight = 0  # what the last page left in flight is not this page's
            tab.network.document = None
        # Past the page timeout the visit is cut short, whatever it is doing; so is a page that keeps replacing
        # itself (a script loop never lets a navigation finish, nor the network fall quiet).
        work = asyncio.ensure_future(_visit(page, tab, device, url, timeout, screenshot, screenshot_scale, result))
        looping = asyncio.ensure_future(tab.looping.wait())
        try:
            await asyncio.wait({work, looping}, timeout=timeout + 5, return_when=asyncio.FIRST_COMPLETED)
        except BaseException:  # the worker cancelled (Ctrl-C): the visit goes with it
            work.cancel()
            raise
        finally:
            looping.cancel()
        if not work.done():
            work.cancel()
            await asyncio.gather(work, return_exceptions=True)
            if not tab.looping.is_set():
                raise asyncio.TimeoutError
            if result.error is None:
                result.facts = None
                result.error = PageError("redirect_loop", LOOP_MESSAGE)
        else:
            work.result()  # what the visit raised is judged below, as before
        healthy = result.error is None or result.error.kind in ("http_error", "not_html", "refused")
    except (asyncio.TimeoutError, PlaywrightTimeout):
        if result.facts is None and result.error is None:
            result.error = timed_out(timeout)
    except Exception as exc:  # noqa: BLE001 - anything a page provokes ends as a coded error, not a crash of the run
        if result.facts is None:
            if "ERR_HTTP_RESPONSE_CODE_FAILURE" in str(exc) and await _empty_error_response(tab, result):
                healthy = True  # the site answered, with an error status: the tab is as reusable as after any
            else:
                result.error, result.transient = classify(exc, timeout)
                if "ERR_INVALID_AUTH_CREDENTIALS" in str(exc):
                    result.status_code = 401
    finally:
        tab.end_turn(sent)
        closing = time.monotonic()
        if not keep or not healthy:
            await tab.close()
        else:
            try:
                await asyncio.wait_for(tab.wipe(result.final_url or url), 10)
            except Exception:  # noqa: BLE001 - a tab that cannot be wiped is not reused
                await tab.close()
        result.lap("close", closing)
    if tab.left_site is not None:  # whatever the page showed after the refused navigation is not the site
        result.facts, result.links, result.canonical, result.fingerprint, result.transient = None, [], None, None, False
        result.long_links = []
        if not (result.final_url or "").startswith(("http://", "https://")):
            result.final_url = url  # not the browser's error page: the page never left
        result.error = PageError("out_of_scope", f"The page tried to leave the site, for {tab.left_site[:200]}; "
                                                 "cro-audit does not follow it.")
    if not browser.is_connected():
        result.crashed = True
        if result.facts is None:
            result.error = PageError("browser_crash", "The browser crashed while measuring this page.")
    if result.error is not None and result.error.kind == "redirect_loop":
        # A loop has no one status: every turn answers its own (200 for each page of a meta-refresh or script
        # loop), and the one recorded was whichever turn it was stopped at. "HTTP status 200" beside "Redirect
        # loop" reads as a page that works; an HTTP redirect loop, which the browser ends, has no status either.
        result.status_code = None
    return result


async def _visit(
    page: Page,
    tab: Tab,
    device: Device,
    url: str,
    timeout: float,
    screenshot: tuple[Path, str] | None,
    screenshot_scale: str,
    result: Visit,
) -> None:
    mark = time.monotonic()
    deadline = mark + timeout

    def remaining_ms() -> float:
        return max(1.0, (deadline - time.monotonic()) * 1000)

    page.set_default_timeout(remaining_ms())

    response = await page.goto(url, wait_until="domcontentloaded", timeout=remaining_ms())
    mark = result.lap("navigate", mark)
    result.final_url = page.url
    if response is not None:
        headers = await response.all_headers()
        if await _judge_status(response.status, headers, tab, result):
            return
        content_type = headers.get("content-type", "text/html").split(";")[0].strip().lower()
        if content_type and content_type not in HTML_TYPES:
            result.error = PageError("not_html", f"The URL serves {content_type[:80]}, not an HTML page.")
            return

    await _settle(page, tab.network, deadline)
    mark = result.lap("settle", mark)
    if tab.looping.is_set():  # replaced itself too often while settling, as the watchdog in visit() will see
        result.error = PageError("redirect_loop", LOOP_MESSAGE)
        return
    data = await _measure(page, tab, deadline)
    mark = result.lap("measure", mark)
    result.final_url = page.url
    if not isinstance(data, dict):  # the script's answer comes over DevTools from a page: checked, not trusted
        raise ValueError(f"the fact script returned {type(data).__name__}, not facts")
    if data.pop("refresh_soon", False) is True and tab.navigations > 1:  # measured between two turns of a loop
        result.error = PageError("redirect_loop", LOOP_MESSAGE)
        return
    result.links = clean_strings(data.pop("links", []))
    result.long_links = clean_strings(data.pop("long_links", []))
    canonical, fingerprint = data.pop("canonical", None), data.pop("fingerprint", None)
    result.canonical = clean_text(canonical) if isinstance(canonical, str) else None
    result.fingerprint = fingerprint if isinstance(fingerprint, str) else None
    facts = DeviceFacts.from_dict(
        {**data, "device": device.name, "viewport_width": device.width, "viewport_height": device.height}
    )
    facts.horizontal_overflow = facts.document_width > device.width
    if _SOFT_404.search(facts.title):
        result.links, result.long_links = [], []
        result.error = PageError("http_error", f'The server answered HTTP 200, but the page says it was not found '
                                               f'("{facts.title[:80]}"): a broken link the server does not report.')
        return
    if screenshot is not None:
        path, relative = screenshot
        if await tab.screenshot(path, screenshot_scale, remaining_ms()):
            facts.screenshot = relative  # else a page too busy to paint still has its facts
        result.lap("screenshot", mark)
    result.facts = facts


async def _judge_status(status: int, headers: dict[str, str], tab: Tab, result: Visit) -> bool:
    """Record the document's status; for an error or a bot wall, the error it is. True if the visit ends here."""
    assert tab.page is not None
    result.status_code = status
    if status >= 400 or _WALL_HEADERS.intersection(headers):
        by = refusal(status, headers, await _title(tab.page))
        if by is not None:  # a challenge is not passed by asking again; a rate limit is, later and slower
            result.error = refused(by, status, headers.get("retry-after"))
            if by == "a rate limit":
                result.slow_down = retry_after(headers.get("retry-after"))
            return True
    if status == 401 and tab.credentials:
        result.error = PageError("http_error", "The site refused the login given (HTTP 401): check the user name "
                                               "and password in --auth, CRO_AUDIT_AUTH or the URL.")
        return True
    if status == 401:
        result.error = PageError("http_error", _ASK_FOR_LOGIN)
        return True
    if status >= 400:
        result.error = PageError("http_error", f"The server answered HTTP {status}.")
        result.transient = status in TRANSIENT_STATUS
        return True
    return False


async def _empty_error_response(tab: Tab, result: Visit) -> bool:
    """An error status with an empty body fails the navigation itself (ERR_HTTP_RESPONSE_CODE_FAILURE):
    judged by the status of the document's response, as one with a body is, not as a network failure."""
    request = tab.network.document if tab.network is not None else None
    if request is None or tab.page is None:
        return False
    try:
        response = await asyncio.wait_for(request.response(), 2.0)
        if response is None:
            return False
        return await _judge_status(response.status, await asyncio.wait_for(response.all_headers(), 2.0), tab, result)
    except (PlaywrightError, asyncio.TimeoutError):
        return False


_WALL_HEADERS = {"cf-mitigated", "x-amzn-waf-action", "x-vercel-mitigated"}  # walls that may answer 2xx
# An error page served with 200 (a "soft 404"): its title says what its status does not.
_SOFT_404 = re.compile(r"\bpage (?:was |could )?not (?:be )?found\b|\b(?:error )?404\b.*\b(?:not found|error)\b|"
                       r"\berror 404\b|^\s*(?:404|not found)\s*$", re.IGNORECASE)


async def _title(page: Page) -> str:
    try:
        return clean_text(await asyncio.wait_for(page.title(), 2.0))
    except (PlaywrightError, asyncio.TimeoutError):
        return ""


class _Network:
    """In-flight requests of a page, so 'the network is quiet' can be judged without a fixed 500 ms wait."""

    def __init__(self, page: Page) -> None:
        self.in_flight = 0
        self.last_change = time.monotonic()
        self.on_request: Callable[[], None] | None = None  # told of the next request (the rate limit's cue)
        self.document: Request | None = None  # the top document's latest request: its status, if navigation fails
        page.on("request", self._started)
        page.on("requestfinished", lambda _: self._change(-1))
        page.on("requestfailed", lambda _: self._change(-1))

    def _started(self, request: Request) -> None:
        try:
            if request.resource_type == "document" and request.frame.parent_frame is None:
                self.document = request
        except PlaywrightError:  # a service worker's request has no frame
            pass
        self._change(+1)

    def _change(self, delta: int) -> None:
        self.in_flight = max(0, self.in_flight + delta)
        self.last_change = time.monotonic()
        if delta > 0 and self.on_request is not None:
            cue, self.on_request = self.on_request, None
            cue()

    def touched(self, at: float) -> None:
        """Something that may start requests happened at `at`: quiet is counted from then at the earliest."""
        self.last_change = max(self.last_change, at)

    def is_quiet(self, for_s: float) -> bool:
        return self.in_flight == 0 and time.monotonic() - self.last_change >= for_s

    async def quiet(self, for_s: float, until: float) -> None:
        while time.monotonic() < until:
            if self.is_quiet(for_s):
                return
            await asyncio.sleep(0.05)


async def _settle(page: Page, network: _Network, deadline: float) -> None:
    """After DOMContentLoaded: wait for load, then end the entrance animations, wait for a quiet network
    and for the short timers the page set (templates reveal content from them), and end the animations
    those started; each step bounded."""
    remaining = lambda: max(0.001, deadline - time.monotonic())  # noqa: E731
    timers_until = time.monotonic() + TIMER_CAP_S
    try:
        await page.wait_for_load_state("load", timeout=remaining() * 1000)
    except PlaywrightTimeout:
        return  # load never fired (a hanging resource): measure what is there
    await _finish_animations(page)
    until = time.monotonic() + min(SETTLE_CAP_S, remaining())
    while True:
        await network.quiet(QUIET_S, until)  # requests started by timers after load get QUIET_S to show up
        if time.monotonic() >= min(until, timers_until):
            break
        try:
            pending, since_ms = await asyncio.wait_for(page.evaluate(_TIMERS), 1.0)
            since_ms = float(since_ms)  # the page's world answers this: it may have made it anything
        except (PlaywrightError, asyncio.TimeoutError, TypeError, ValueError):
            break
        # A timer that has just run may have set work going (a framework renders a few frames later) whose
        # requests have not started yet: they get the same quiet window as any other request.
        network.touched(time.monotonic() - since_ms / 1000)
        if not pending and network.is_quiet(QUIET_S):
            break
        await asyncio.sleep(0.05)
    await _finish_animations(page)


async def _finish_animations(page: Page) -> None:
    try:
        await asyncio.wait_for(page.evaluate(_FINISH_ANIMATIONS), 1.0)
    except (PlaywrightError, asyncio.TimeoutError):
        pass  # a page too busy to answer, or navigating away: measure what is there


async def _measure(page: Page, tab: Tab, deadline: float) -> dict:
    """Run the fact script in the audit's own world; if the page navigated away meanwhile, measure where it landed."""
    for attempt in range(3):
        try:
            return await tab.evaluate_in_own_world(_MEASURE_CALL, max(0.5, deadline - time.monotonic()))
        except PlaywrightError as exc:
            if not _NAVIGATED.search(str(exc)) or attempt == 2:
                raise
            try:
                await page.wait_for_load_state("load", timeout=max(1.0, deadline - time.monotonic()) * 1000)
            except PlaywrightTimeout:
                pass
    raise AssertionError("unreachable")


_MEASURE_CALL = f"({MEASURE_JS})({json.dumps({'maxLinks': MAX_LINKS})})"
# What DevTools says when the document went away under an evaluation (the page navigated meanwhile).
_NAVIGATED = re.compile(r"context was destroyed|Cannot find context|No frame|navigat", re.IGNORECASE)


def _adding_headers(headers: dict[str, str]) -> Callable:
    async def handler(route) -> None:
        try:
            await route.continue_(headers={**await route.request.all_headers(), **headers})
        except PlaywrightError:
            pass  # the page or request went away meanwhile

    return handler


async def _quiet(awaitable) -> None:
    try:
        await asyncio.wait_for(awaitable, 5)
    except Exception:  # noqa: BLE001 - closing a popup or context that is already gone
        pass


async def _close(context: BrowserContext) -> None:
    await _quiet(context.close())
