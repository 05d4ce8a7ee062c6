"""Finding, starting and connecting to Chromium: the only layer that knows Playwright's browser API.

Discovery order: an explicit path (`--browser-path`, `CRO_AUDIT_BROWSER`), then Playwright's own Chromium,
then a system Chromium or Chrome on PATH. Remote browsers (`--browser-endpoint`) skip discovery.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

import httpx
from playwright.async_api import Browser, BrowserContext, Playwright

# Flags that keep Chromium quiet and startable as root or in a container. Playwright passes most of these
# itself; they are repeated so every launch path (and a Chromium the user starts for --browser-endpoint)
# gets the same set: without them Chromium keeps trying to reach Google's services.
# Playwright turns Chromium's popup blocker off (its users test popups). An audit makes no clicks, so with
# the blocker on every popup a page opens by itself (window.open, a scripted click on a target=_blank link,
# a form posted into a new tab) is refused before its request leaves: nothing off the site is fetched.
PLAYWRIGHT_FLAGS_DROPPED = ("--disable-popup-blocking",)

QUIET_FLAGS = (
    "--no-sandbox",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--disable-breakpad",
    "--metrics-recording-only",
    "--no-pings",
    "--disable-dev-shm-usage",
)

SYSTEM_BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")

# Debian and Ubuntu ship /usr/bin/chromium as a shell wrapper that adds flags of its own; drive the binary.
_WRAPPED_BINARIES = {"/usr/bin/chromium": "/usr/lib/chromium/chromium"}

INSTALL_HINT = (
    "No Chromium found. Install one with `python -m playwright install chromium` "
    "(or `apt-get install chromium` on Debian/Ubuntu), or point --browser-path / CRO_AUDIT_BROWSER at a Chrome or Chromium binary."
)


class BrowserNotFound(RuntimeError):
    pass


_SOCKET_ERRORS = {
    "ECONNREFUSED": "connection refused: nothing is listening at that address",
    "ENOTFOUND": "the host name does not resolve",
    "EAI_AGAIN": "the host name does not resolve",
    "ECONNRESET": "the connection was reset",
    "EHOSTUNREACH": "the host is unreachable from this machine",
}


def _transport_reason(exc: BaseException) -> str:
    """Why a connection failed, in the user's words rather than the driver's (`BrowserType.connect_over_cdp:
    connect ECONNREFUSED 127.0.0.1:1`)."""
    text = re.sub(r"^\w+\.\w+: ", "", first_line(exc))
    code = next((c for c in _SOCKET_ERRORS if c in text), None)
    return _SOCKET_ERRORS[code] if code else text[:200]


def first_line(exc: BaseException) -> str:
    """An exception as one line for a message: its first line of text, or its type when it has none."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@dataclass(frozen=True)
class Device:
    """A device profile. Measurements name these exactly, so they never change silently."""

    name: str
    width: int
    height: int
    scale: float
    mobile: bool

    def context_options(self, user_agent: str) -> dict:
        return {
            "viewport": {"width": self.width, "height": self.height},
            "screen": {"width": self.width, "height": self.height},
            "device_scale_factor": self.scale,
            "is_mobile": self.mobile,
            "has_touch": self.mobile,
            "user_agent": user_agent,
        }


PROFILES = {
    "desktop": Device("desktop", 1366, 768, 1, False),
    "mobile": Device("mobile", 390, 844, 3, True),
}


@dataclass(frozen=True)
class Connection:
    """A visitor's connection and phone, for --throttle: Lighthouse's lab settings, so figures compare."""

    rtt_ms: float
    down_kbps: float
    up_kbps: float
    cpu_slowdown: float

    def devtools_conditions(self) -> dict:
        # DevTools adds its latency once per request, not per round trip (DNS, TCP, TLS): Lighthouse scales
        # it by 3.75 and throughput by 0.9 to land on the same load times, and so does this.
        return {"offline": False, "latency": self.rtt_ms * 3.75,
                "downloadThroughput": self.down_kbps * 0.9 * 1024 / 8, "uploadThroughput": self.up_kbps * 0.9 * 1024 / 8}


THROTTLED = {
    "mobile": Connection(rtt_ms=150, down_kbps=1638.4, up_kbps=750, cpu_slowdown=4),  # slow 4G, a 4x slower phone
    "desktop": Connection(rtt_ms=40, down_kbps=10240, up_kbps=10240, cpu_slowdown=1),  # broadband
}


def user_agents(browser_version: str, token: str, override: str = "") -> dict[str, str]:
    """The user agent per device: a normal Chrome one (no "Headless" for sites to block) naming the tool."""
    if override:
        return {"desktop": override, "mobile": override}
    major = browser_version.split(".")[0] or "120"
    return {
        "desktop": f"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        f"Chrome/{major}.0.0.0 Safari/537.36 {token}",
        "mobile": f"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
        f"Chrome/{major}.0.0.0 Mobile Safari/537.36 {token}",
    }


def find_browser(explicit: str | None, playwright: Playwright) -> str | None:
    """The executable to launch, or None to let Playwright use its own Chromium."""
    explicit = explicit or os.environ.get("CRO_AUDIT_BROWSER") or None
    if explicit:
        path = shutil.which(explicit) or explicit
        if Path(path).is_dir():  # on a Mac, Google Chrome.app is a folder with the program inside
            app = Path(explicit)
            mac = f" (on a Mac: {app / 'Contents' / 'MacOS' / app.stem})" if app.suffix == ".app" else ""
            raise BrowserNotFound(f"{explicit} is a folder, not a program (from --browser-path or CRO_AUDIT_BROWSER): "
                                  f"give the Chrome or Chromium binary inside it{mac}")
        if not Path(path).is_file():
            raise BrowserNotFound(f"The browser at {explicit} does not exist (from --browser-path or CRO_AUDIT_BROWSER).")
        if not os.access(path, os.X_OK):
            raise BrowserNotFound(f"{explicit} is not a program that can be run (from --browser-path or CRO_AUDIT_BROWSER): "
                                  "give the Chrome or Chromium binary")
        return _WRAPPED_BINARIES.get(path, path)
    try:
        if Path(playwright.chromium.executable_path).is_file():
            return None
    except Exception:  # noqa: BLE001 - an unusual Playwright install; fall back to the system
        pass
    for name in SYSTEM_BROWSERS:
        path = shutil.which(name)
        if path:
            path = os.path.realpath(path) if path not in _WRAPPED_BINARIES else path
            return _WRAPPED_BINARIES.get(path, path)
    raise BrowserNotFound(INSTALL_HINT)


async def launch(playwright: Playwright, executable: str | None) -> Browser:
    try:
        return await playwright.chromium.launch(
            executable_path=executable,
            headless=True,
            args=list(QUIET_FLAGS),
            ignore_default_args=list(PLAYWRIGHT_FLAGS_DROPPED),
            handle_sigint=False,  # the auditor owns Ctrl-C: it writes the partial report, then closes the browser
            handle_sigterm=False,
            handle_sighup=False,
        )
    except Exception as exc:  # noqa: BLE001 - a binary that is there but will not start
        raise BrowserNotFound(launch_failure(executable, exc)) from None


_EXITED = re.compile(r"<process did exit: exitCode=(\S+), signal=(\S+)>")
_SAID = re.compile(r"\[pid=\d+\]\[(?:out|err)\] (.*\S)")
_TIMED_OUT = re.compile(r"Timeout (\d+)ms exceeded")
_POINT_AT = "point --browser-path or CRO_AUDIT_BROWSER at a Chrome or Chromium binary"


def launch_failure(executable: str | None, exc: BaseException) -> str:
    """Why a browser did not start, from Playwright's launch log: of a program that exits at once (not a
    browser, or one missing a library) it says only 'Target page, context or browser has been closed'."""
    text = str(exc)
    exited, timed_out = _EXITED.search(text), _TIMED_OUT.search(first_line(exc))
    if executable is None and (exited or timed_out):
        return (f"Playwright's Chromium did not start ({_how_it_ended(exited, text) if exited else 'it hung'}): "
                f"reinstall it with `python -m playwright install chromium`, or {_POINT_AT}")
    if exited:
        return f"{executable} did not start as a Chromium browser ({_how_it_ended(exited, text)}): {_POINT_AT}"
    if timed_out:
        return (f"{executable} did not start as a Chromium browser within {int(timed_out.group(1)) // 1000} seconds: "
                f"{_POINT_AT}")
    return f"The browser {executable or '(Playwright build)'} did not start: {first_line(exc)[:200]}"


def _how_it_ended(exited: re.Match, text: str) -> str:
    """'it exited at once with code 127: <its last words>': the program's own last line often says why."""
    code, sig = exited.groups()
    how = f" with code {code}" if code not in ("0", "null") else f", killed by {sig}" if sig != "null" else ""
    said = _SAID.findall(text)
    return f"it exited at once{how}" + (f": {said[-1][:150]}" if said else "")


async def connect(playwright: Playwright, endpoint: str, executable: str | None = None) -> Browser:
    """A remote browser: Chrome DevTools Protocol (http(s)://, a /devtools/ websocket, or cdp+ws://), a
    Playwright server (ws://, wss://) or a Selenium Grid 4 / WebDriver server (selenium+http(s)://).
    `executable` asks a Playwright server started with --unsafe to launch that binary; a server's own
    launches already carry Playwright's quiet flags."""
    if "://" not in endpoint and endpoint not in ("selenium+", "cdp+"):  # host:9222, the way DevTools prints it
        given = redact(f"http://{endpoint}").removeprefix("http://")
        raise BrowserNotFound(f"Browser endpoint {given} has no scheme: a Chromium started with "
                              f"--remote-debugging-port is http://{given}")
    try:
        urlsplit(endpoint.removeprefix("selenium+").removeprefix("cdp+")).port  # a malformed URL fails here, named
        if endpoint.startswith("selenium+"):
            return await _connect_webdriver(playwright, endpoint[len("selenium+"):])
        if endpoint.startswith(("http://", "https://")) or "/devtools/browser" in endpoint:
            return await playwright.chromium.connect_over_cdp(endpoint, timeout=30_000)
        if endpoint.startswith("cdp+"):
            return await playwright.chromium.connect_over_cdp(endpoint[4:], timeout=30_000)
        if endpoint.startswith(("ws://", "wss://")):
            options = {"ignoreDefaultArgs": list(PLAYWRIGHT_FLAGS_DROPPED), **({"executablePath": executable} if executable else {})}
            headers = {"x-playwright-launch-options": json.dumps(options)}
            return await playwright.chromium.connect(endpoint, timeout=30_000, headers=headers)
    except BrowserNotFound:
        raise
    except ValueError as exc:  # urllib's verdict on a malformed URL (a bad port, a broken IPv6 address)
        raise BrowserNotFound(f"Browser endpoint {redact(endpoint)} is not a valid URL: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - whatever the transport says, the user gets one line
        reason = _transport_reason(exc).rstrip(".")
        raise BrowserNotFound(f"Cannot connect to the browser endpoint {redact(endpoint)}: {reason}{_hint(endpoint, reason)}") from None
    raise BrowserNotFound(
        f"Browser endpoint {redact(endpoint)} is neither http(s):// (DevTools), ws:// (DevTools or Playwright server), "
        "cdp+ws(s):// (browserless) nor selenium+http(s):// (Selenium Grid)."
    )


async def start(playwright: Playwright, endpoints: list[str], executable_hint: str | None) -> Browser:
    """The browser a job outside the crawl uses (printing the PDF): the first remote endpoint, or a local one."""
    if endpoints:
        return await connect(playwright, endpoints[0], executable_hint)
    return await launch(playwright, find_browser(executable_hint, playwright))


def _hint(endpoint: str, reason: str) -> str:
    """What to try when something answered, but not as the kind of endpoint the URL says it is."""
    if endpoint.startswith(("http://", "https://")) and ("/json/version" in reason or "not valid JSON" in reason):
        return " (this address answers, but not as a browser's DevTools port: is it a web server?)"
    if endpoint.startswith(("ws://", "wss://", "cdp+")) and "WebSocket error" in reason:
        return (" (a Chromium's --remote-debugging-port is given as http://host:port; a Playwright server's "
                "address is the one it printed when it started)")
    return ""


async def close(browser: Browser) -> None:
    """Close a browser, whatever state it is in; one borrowed from a Selenium Grid is handed back (its
    WebDriver session ended) even when it is gone already."""
    try:
        await asyncio.wait_for(browser.close(), 10)
    except Exception:  # noqa: BLE001 - crashed or disconnected: nothing left to close
        pass
    session = _grid_sessions.pop(id(browser), None)
    if session is not None:
        await _end_session(*session)


# ---- Selenium Grid 4 (and any W3C WebDriver server for Chrome) ------------------------------------
# A grid hands out browsers as WebDriver sessions. Grid 4 proxies each session's DevTools websocket and
# names it in the `se:cdp` capability; a bare chromedriver (or Grid 3) names the browser's own DevTools
# address in goog:chromeOptions.debuggerAddress instead. Either way cro-audit then drives the browser over
# CDP, as it does any remote Chromium, and ends the session when done so the grid gets its slot back.
_grid_sessions: dict[int, tuple[str, str, tuple[str, str] | None]] = {}  # id(browser) -> (grid URL, session, auth)


def _grid_capabilities() -> dict:
    args = ["--headless=new", *QUIET_FLAGS]
    return {"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {"args": args}}}}


async def _connect_webdriver(playwright: Playwright, grid: str) -> Browser:
    parts = urlsplit(grid)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        given = f", not selenium+{redact(grid)}" if grid else ""
        raise BrowserNotFound(f"A Selenium Grid endpoint looks like selenium+http://grid:4444{given}.")
    # http://user:key@grid:4444 for grids behind basic auth; the key stays out of every message.
    auth = (unquote(parts.username), unquote(parts.password or "")) if parts.username else None
    base = urlunsplit((parts.scheme, parts.hostname + (f":{parts.port}" if parts.port else ""), parts.path.rstrip("/"), "", ""))
    async with httpx.AsyncClient(timeout=120, auth=auth) as client:  # a grid queues requests until a slot frees
        try:
            response = await client.post(f"{base}/session", json=_grid_capabilities())
        except httpx.HTTPError as exc:
            raise BrowserNotFound(f"Cannot reach the Selenium Grid at {redact(grid)}: {first_line(exc)}") from None
        try:
            value = response.json().get("value") or {}
        except ValueError:
            value = {}
        if response.status_code >= 400 or "sessionId" not in value:
            why = value.get("message") or value.get("error") or f"HTTP {response.status_code}"
            raise BrowserNotFound(f"The Selenium Grid at {redact(grid)} gave no browser: {str(why).splitlines()[0][:200]}")
    session_id, capabilities = value["sessionId"], value.get("capabilities") or {}
    try:
        cdp = _devtools_address(capabilities, parts.hostname)
        browser = await playwright.chromium.connect_over_cdp(cdp, timeout=30_000)
    except Exception as exc:  # noqa: BLE001 - hand the slot back before reporting
        await _end_session(base, session_id, auth)
        if isinstance(exc, BrowserNotFound):
            raise
        raise BrowserNotFound(
            f"The Selenium Grid at {redact(grid)} gave a browser cro-audit cannot drive: {first_line(exc)[:200]}") from None
    _grid_sessions[id(browser)] = (base, session_id, auth)
    return browser


def _devtools_address(capabilities: dict, grid_host: str) -> str:
    """The session's DevTools endpoint, as reachable from here: a grid that says "localhost" means itself."""
    address = capabilities.get("se:cdp")
    if not address:
        options = capabilities.get("goog:chromeOptions") or {}
        debugger = options.get("debuggerAddress") if isinstance(options, dict) else None
        if not debugger:
            raise BrowserNotFound("The Selenium Grid's browser has no DevTools endpoint (se:cdp): "
                                  "cro-audit needs a Chrome or Chromium node.")
        address = f"http://{debugger}"
    parts = urlsplit(address)
    if parts.hostname in ("localhost", "127.0.0.1", "::1") and grid_host not in ("localhost", "127.0.0.1", "::1", ""):
        address = urlunsplit(parts._replace(netloc=f"{grid_host}:{parts.port}" if parts.port else grid_host))
    return address


async def _end_session(base: str, session_id: str, auth: tuple[str, str] | None) -> None:
    try:
        async with httpx.AsyncClient(timeout=10, auth=auth) as client:
            await client.delete(f"{base}/session/{session_id}")
    except httpx.HTTPError:
        pass  # the grid reaps idle sessions itself


def redact(endpoint: str) -> str:
    """An endpoint fit for a message: grid URLs often carry a token in the query or the user part."""
    try:
        parts = urlsplit(endpoint)
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
    except ValueError:  # a malformed port or IPv6 address: keep the scheme and what follows the user part
        scheme, _, rest = endpoint.partition("://")
        return f"{scheme}://{rest.rpartition('@')[2].split('/')[0].split('?')[0]}"
    return f"{parts.scheme}://{netloc}{parts.path}" + ("?..." if parts.query else "")


async def new_context(
    browser: Browser, device: Device, user_agent: str, headers: dict[str, str], credentials: dict | None = None
) -> BrowserContext:
    """A fresh context per visit: no cookie, cache or storage leaks from one measurement into the next.

    `credentials` ({username, password, origin}) answer HTTP auth challenges from that origin only, so a
    staging password never goes to the third parties a page loads."""
    context = await browser.new_context(
        **device.context_options(user_agent),
        extra_http_headers=headers or None,
        http_credentials={**credentials, "send": "unauthorized"} if credentials else None,
        service_workers="block",  # a service worker would serve later visits from its cache
        accept_downloads=False,
        java_script_enabled=True,
    )
    return context
