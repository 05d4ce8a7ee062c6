"""A hostile web server: every way a real site can hurt a crawler, on 127.0.0.1, for the tests.

    from tests.hostile.server import HostileServer, CASES
    with HostileServer() as srv:
        srv.url                        # "http://127.0.0.1:PORT/": an index page linking to every case
        srv.url_for("redirect-loop")   # the full URL of one case
        srv.hits                       # Counter of request paths (query left out) served so far

`CASES[name]` is `{"path": ..., "expect": ..., "accept": ...}`. `expect` is what a careful auditor should
record for that URL: an error kind of `auditor.facts.ERROR_KINDS`, or "facts" (the page is measured like
any other). `accept` is the set of outcomes a test may also allow where the browser, not the auditor,
decides (how a renderer fares with a 1.5 GB page, say); it always holds `expect`.

Why each case exists:

- redirect-loop, redirect-chain: a browser gives up after 20 redirects; the auditor must record
  `redirect_loop` and never chase the hops itself. redirect-ok: 3 hops of mixed 301/302/307 are normal.
- never-answers: a server that reads the request and then says nothing; only the auditor's own timeout
  ends it (the server closes the socket, still silent, after hang_seconds: 60 s by default, so an auditor
  whose page timeout is longer sees an empty response, `network`, instead).
  trickle: headers at once, then one byte a second, so "the server answered" is not "the page loaded".
- status-404/500/503: error statuses with HTML bodies, which a browser renders like any page.
- pdf-download, zip-download, json, plain-text, image: a URL that is not a page (some start a download,
  which fails page.goto in Chromium); the auditor says `not_html` rather than measuring a PDF viewer.
- empty-body: 200, text/html, nothing in it; the browser makes an empty document, and measuring an empty
  document is not an error.
- huge-page: ~10 MB with 30,000 in-site links; link extraction and the crawl queue must stay bounded.
- spin-script: `while(true){}` in the head; the renderer never finishes parsing. spin-after-load: the page
  loads, then the main thread spins, so every later page.evaluate hangs.
- alert-loop: 300 alert/confirm/prompt dialogs while parsing and one every 100 ms after; dialogs block the
  page until dismissed. beforeunload: a trap that must not stop the auditor closing or leaving the page.
  window-open: 50 popups on load, which must be closed and never audited.
- navigate-away: the page replaces itself 200 ms after load, under a running measurement.
  navigate-offsite: the same, to http://example.invalid/; the auditor refuses the navigation before its
  request leaves (out_of_scope). Had it gone, .invalid never resolves.
- invalid-utf8, malformed: bytes and markup that break naive decoders and parsers.
- memory-hog: a script that fills typed arrays up to 1.5 GB (then stops, so it cannot take the machine
  down) to see whether the tab, not the auditor, pays.
- deep-iframes: 30 nested iframes; frameset: an old `<frameset>` page, whose `document.body` is not a
  `<body>`.
- meta-refresh-loop: two pages that meta-refresh to each other at once; no browser redirect limit stops it.
- meta-refresh-slow-loop: the same, with one of the two waiting a second: the network falls quiet between turns,
  as it does for the fast loop on a loaded machine, and the page is caught there.
- script-redirect-loop: two pages whose scripts `location.replace` to each other before they finish loading,
  so no navigation ever completes; reload-loop: a page that reloads itself on load.
- gzip-bomb: ~1 MB on the wire that inflates to 1 GiB of NUL bytes; anything that buffers a decoded body
  (response.body(), an HTTP client's .content) must not. The HTML parser drops NULs, so the DOM stays tiny.
- calendar-trap, faceted-trap: endless URL spaces (next month forever; every filter combination, every
  page) that only a crawl cap or pattern cap ends.
- bad-links: a normal page whose links are every kind of junk (file:, data:, javascript:, ftp:, port 0,
  port 99999, broken IPv6, a 100 KB URL, mailto:, tel:, off-site, protocol-relative) plus two good ones;
  the page is measured and only the good links are crawled.
- slow-ok: a good page that takes 1.5 s; normal: a plain good page (viewport meta, a nav, a button).

The server uses only the standard library: a ThreadingHTTPServer with daemon threads, one per
connection. Every wait in a handler is bounded and ends at once when the server stops, and stopping also
shuts down every open client socket, so `with HostileServer()` exits in well under a second even with a
browser still hanging on `never-answers`, and no thread keeps the test process alive.
"""

from __future__ import annotations

import html
import io
import json
import re
import socket
import struct
import sys
import threading
import time
import traceback
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlencode, urlsplit

from auditor.facts import ERROR_KINDS

_ALL_FAILURES = frozenset(ERROR_KINDS)


def _case(path: str, expect: str, *also: str) -> dict[str, Any]:
    return {"path": path, "expect": expect, "accept": frozenset({expect, *also})}


CASES: dict[str, dict[str, Any]] = {
    "redirect-loop": _case("/redirect-loop/a", "redirect_loop"),
    "redirect-chain": _case("/redirect-chain/0", "redirect_loop"),
    "redirect-ok": _case("/redirect-ok/0", "facts"),
    "never-answers": _case("/never-answers", "timeout"),
    "trickle": _case("/trickle", "timeout"),
    "status-404": _case("/status/404", "http_error"),
    "status-500": _case("/status/500", "http_error"),
    "status-503": _case("/status/503", "http_error"),
    "status-403": _case("/status/403", "http_error"),
    "bot-challenge": _case("/bot-challenge", "refused"),
    "waf-challenge-202": _case("/waf-challenge", "refused"),
    "rate-limited": _case("/rate-limited", "refused"),
    "pdf-download": _case("/files/report.pdf", "not_html"),
    "zip-download": _case("/files/archive.zip", "not_html"),
    "json": _case("/api/data.json", "not_html"),
    "plain-text": _case("/files/readme.txt", "not_html"),
    "image": _case("/images/pixel.png", "not_html"),
    "empty-body": _case("/empty", "facts"),
    "huge-page": _case("/huge", "facts"),
    "spin-script": _case("/spin-script", "timeout"),
    "spin-after-load": _case("/spin-after-load", "measure_failed", "timeout"),
    "alert-loop": _case("/alert-loop", "facts"),
    "beforeunload": _case("/beforeunload", "facts"),
    "window-open": _case("/window-open", "facts"),
    "navigate-away": _case("/navigate-away", "facts", "measure_failed"),
    "navigate-offsite": _case("/navigate-offsite", "out_of_scope"),
    "invalid-utf8": _case("/invalid-utf8", "facts"),
    "malformed": _case("/malformed", "facts"),
    "memory-hog": _case("/memory-hog", "facts", "browser_crash", "timeout", "measure_failed"),
    "deep-iframes": _case("/deep-iframes", "facts"),
    "frameset": _case("/frameset", "facts"),
    "meta-refresh-loop": _case("/meta-refresh/a", "redirect_loop", "measure_failed", "timeout"),
    "meta-refresh-slow-loop": _case("/meta-refresh/slow-a", "redirect_loop"),
    "script-redirect-loop": _case("/script-loop/a", "redirect_loop"),
    "reload-loop": _case("/script-loop/reload", "redirect_loop"),
    "gzip-bomb": _case("/gzip-bomb", "facts", "timeout", "browser_crash"),
    "calendar-trap": _case("/calendar?month=2025-01", "facts"),
    "faceted-trap": _case("/shop?color=red&size=m&sort=newest", "facts"),
    "bad-links": _case("/bad-links", "facts"),
    "slow-ok": _case("/slow-ok", "facts"),
    # The fact script runs among the page's scripts: what it reports may be anything the page makes it.
    "poison-links": _case("/poison-links", "facts"),
    "poison-types": _case("/poison-types", "facts"),
    "poison-built-ins": _case("/poison-built-ins", "facts"),
    "lone-surrogate": _case("/lone-surrogate", "facts"),
    # Popups opened without window.open: a scripted click on a target=_blank link, a form posted to a new tab.
    "popup-click": _case("/popup-click", "facts"),
    # Speculation rules: the browser itself prefetches or prerenders what they name, another site included.
    "speculation-rules": _case("/speculation-rules", "facts"),
    "normal": _case("/normal", "facts"),
}
assert all(c["expect"] in _ALL_FAILURES | {"facts"} for c in CASES.values())

REDIRECT_CHAIN_HOPS = 25
IFRAME_DEPTH = 30
HUGE_LINKS = 30_000
HUGE_BYTES = 10 * 1024 * 1024
POPUPS = 50
BOMB_INFLATED = 1 << 30  # 1 GiB of NUL bytes once inflated
LONG_URL_BYTES = 100 * 1024

# A client that went away mid-answer (reset, broken pipe, socket timeout, a socket shut down by stop())
# is part of the game, not a server error. All of these are OSErrors; the handlers do no other I/O.
_CLIENT_GONE = (OSError,)


# --- content, built once per process -----------------------------------------------------------------

def _once(build: Callable[[], bytes]) -> Callable[[], bytes]:
    lock = threading.Lock()
    cache: list[bytes] = []

    def get() -> bytes:
        with lock:
            if not cache:
                cache.append(build())
            return cache[0]

    get.__name__ = build.__name__
    get.__doc__ = build.__doc__
    return get


def page(title: str, body: str, head: str = "", *, viewport: bool = True) -> bytes:
    """A small valid UTF-8 HTML document."""
    meta = '<meta name="viewport" content="width=device-width, initial-scale=1">' if viewport else ""
    return (
        f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">{meta}'
        f"<title>{html.escape(title)}</title>{head}</head>\n<body>\n{body}\n</body></html>\n"
    ).encode()


@_once
def huge_page() -> bytes:
    """~10 MB of HTML with HUGE_LINKS in-site links to /huge/item-N."""
    head = page("Huge page", "<h1>Huge page</h1><ul>").removesuffix(b"\n</body></html>\n")
    tail = b"</ul></body></html>\n"
    per_link = (HUGE_BYTES - len(head) - len(tail)) // HUGE_LINKS
    words = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor " * 8
    parts = [head]
    for i in range(HUGE_LINKS):
        start = f'<li><a href="/huge/item-{i}">Item {i}</a> <span>'
        end = "</span></li>\n"
        parts.append((start + words[: max(0, per_link - len(start) - len(end))] + end).encode())
    parts.append(tail)
    return b"".join(parts)


@_once
def gzip_bomb() -> bytes:
    """A gzip body (~1 MB) that inflates to an HTML prefix and then BOMB_INFLATED NUL bytes.

    Built without ever holding the inflated data: one MiB of zeros is deflated once by a fresh compressor
    and ended with a full flush (byte-aligned, no reference to earlier data), so that block sequence can
    be repeated 1024 times; an empty final block and the gzip trailer close the stream.
    """
    prefix = b'<!doctype html><html><head><meta charset="utf-8"><title>gzip bomb</title></head><body><p>bomb'
    chunk = bytes(1 << 20)

    def deflate_segment(data: bytes) -> bytes:
        comp = zlib.compressobj(9, zlib.DEFLATED, -15, 9)
        return comp.compress(data) + comp.flush(zlib.Z_FULL_FLUSH)

    copies = BOMB_INFLATED // len(chunk)
    crc = zlib.crc32(prefix)
    for _ in range(copies):
        crc = zlib.crc32(chunk, crc)
    size = len(prefix) + copies * len(chunk)
    final = zlib.compressobj(9, zlib.DEFLATED, -15).flush(zlib.Z_FINISH)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"  # gzip, deflate, no flags, no mtime, unknown OS
    return b"".join(
        [header, deflate_segment(prefix), deflate_segment(chunk) * copies, final,
         struct.pack("<II", crc & 0xFFFFFFFF, size & 0xFFFFFFFF)]
    )


@_once
def png_bytes() -> bytes:
    """A valid 16x16 red PNG."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * 16 for _ in range(16))
    ihdr = struct.pack(">IIBBBBB", 16, 16, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


@_once
def pdf_bytes() -> bytes:
    """A small one-page PDF with a correct xref table."""
    text = b"BT /F1 24 Tf 72 720 Td (A PDF, not a web page) Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        (
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
            b" /Resources << /Font << /F1 5 0 R >> >> >>"
        ),
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(text), text),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


@_once
def zip_bytes() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("readme.txt", "A zip archive, not a web page.\n")
    return out.getvalue()


INVALID_UTF8 = b"".join(
    [
        (
            b'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            b'<meta name="viewport" content="width=device-width, initial-scale=1">'
            b"<title>Invalid \xff\xfe UTF-8 \xc3\x28</title></head>\n<body>\n"
        ),
        b"<h1>Caf\xe9 cr\xe8me</h1>\n",  # Latin-1 bytes in a UTF-8 page
        b"<p>truncated \xe2\x82 sequence, overlong \xc0\xaf slash, surrogate \xed\xa0\x80, 5-byte \xf8\x88\x80\x80\x80</p>\n",
        b'<p>lone continuation \x80\xbf and a stray \xfe\xff BOM</p>\n',
        b'<nav><a href="/normal?q=\xff\xfe">odd \xc3 link</a> <a href="/normal">home</a></nav>\n',
        b'<button type="button" title="\xe9\xe9">Buy \xf0\x9f now</button>\n',
        b"</body></html>\n",
    ]
)

MALFORMED = b"""<html><head><title>Malformed</title>
<meta name=viewport content=width=device-width,initial-scale=1>
<body class=main data-x=1 data-y='2' data-z=3>
</div></div></span></div>
<div id=a><p>unclosed paragraph <b>bold <i>both</b> italic?</i>
<nav><a href=/normal>Home <a href=/slow-ok>Slow</a></nav>
<table><tr><td>cell<div>div in cell<tr><td>row two<p>para</table></td></table>
<table><form><input name=q></form><button type=submit>Search</table>
<ul><li>one<li>two<ul><li>nested</ul>
<select><option>a<option>b</select>
<a href="/normal" <a href=/bad-links>doubled</a>
</body></html></html></body><p>after the end
<img alt="a quote never closed src=/images/pixel.png>
<!-- an unclosed comment
"""


# --- the server --------------------------------------------------------------------------------------

class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "hostile/1.0"
    sys_version = ""
    timeout = 30  # an idle keep-alive connection is dropped after this many seconds
    disable_nagle_algorithm = True  # headers and body go out as separate writes; don't wait on delayed ACKs
    server: _Server

    # routes: (regex on the path, method name); the first match wins.
    ROUTES: ClassVar[list[tuple[str, str]]] = [
        (r"/", "index"),
        (r"/normal", "normal"),
        (r"/slow-ok", "slow_ok"),
        (r"/redirect-loop/(a|b)", "redirect_loop"),
        (r"/redirect-chain/(\d{1,4})", "redirect_chain"),
        (r"/redirect-ok/(\d)", "redirect_ok"),
        (r"/never-answers", "never_answers"),
        (r"/trickle", "trickle"),
        (r"/status/(\d{3})", "status"),
        (r"/files/report\.pdf", "pdf"),
        (r"/files/archive\.zip", "zip"),
        (r"/api/data\.json", "json"),
        (r"/files/readme\.txt", "plain_text"),
        (r"/images/pixel\.png", "image"),
        (r"/empty", "empty"),
        (r"/huge", "huge"),
        (r"/huge/item-(\d{1,6})", "huge_item"),
        (r"/spin-script", "spin_script"),
        (r"/spin-after-load", "spin_after_load"),
        (r"/alert-loop", "alert_loop"),
        (r"/beforeunload", "beforeunload"),
        (r"/window-open", "window_open"),
        (r"/window-open/popup", "popup"),
        (r"/navigate-away", "navigate_away"),
        (r"/navigate-away/landed", "landed"),
        (r"/navigate-offsite", "navigate_offsite"),
        (r"/invalid-utf8", "invalid_utf8"),
        (r"/malformed", "malformed"),
        (r"/memory-hog", "memory_hog"),
        (r"/deep-iframes", "deep_iframes"),
        (r"/frameset", "frameset"),
        (r"/frameset/frame-(\d)", "frame"),
        (r"/meta-refresh/(a|b|self|slow-a|slow-b)", "meta_refresh"),
        (r"/script-loop/(a|b|reload)", "script_loop"),
        (r"/gzip-bomb", "gzip_bomb"),
        (r"/calendar", "calendar"),
        (r"/shop", "shop"),
        (r"/bad-links", "bad_links"),
        (r"/bad-links/ok", "bad_links_ok"),
        (r"/long", "long"),
        (r"/bot-challenge", "bot_challenge"),
        (r"/waf-challenge", "waf_challenge"),
        (r"/rate-limited", "rate_limited"),
        (r"/poison-links", "poison_links"),
        (r"/poison-types", "poison_types"),
        (r"/poison-built-ins", "poison_built_ins"),
        (r"/lone-surrogate", "lone_surrogate"),
        (r"/popup-click", "popup_click"),
        (r"/speculation-rules", "speculation_rules"),
        (r"/offsite-landing", "landed"),
    ]
    _COMPILED: ClassVar[list[tuple[re.Pattern[str], str]]] = [(re.compile(pattern + r"\Z"), name) for pattern, name in ROUTES]

    # -- plumbing

    def handle(self) -> None:
        try:
            super().handle()
        except _CLIENT_GONE:
            self.close_connection = True

    def finish(self) -> None:
        try:
            super().finish()
        except _CLIENT_GONE:
            pass

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read srv.hits instead
        pass

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self._dispatch(head=False)

    def do_POST(self) -> None:  # noqa: N802 - a form a page posts is recorded like any request
        self._dispatch(False)

    def do_HEAD(self) -> None:  # noqa: N802
        self._dispatch(head=True)

    def _dispatch(self, head: bool) -> None:
        self._head = head
        parts = urlsplit(self.path)
        path = parts.path or "/"
        self.query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        self.server.owner._record(self.command, path, self.path)
        for pattern, name in self._COMPILED:
            match = pattern.match(path)
            if match:
                getattr(self, "case_" + name)(*match.groups())
                return
        self.send_html(404, page("Not found", "<h1>404 Not found</h1><p><a href='/'>Home</a></p>"))

    def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`; True if the server is stopping (the handler should then give up)."""
        return self.server.stopping.wait(seconds)

    def send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if not self._head:
            view = memoryview(body)
            for start in range(0, len(view), 1 << 16):  # bounded writes: one slow client can't stall a send
                self.wfile.write(view[start : start + (1 << 16)])
        self.wfile.flush()

    def send_html(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send(status, body, "text/html; charset=utf-8", headers)

    def redirect(self, status: int, location: str) -> None:
        body = page("Redirect", f'<p>Moved to <a href="{html.escape(location)}">{html.escape(location)}</a></p>')
        self.send_html(status, body, {"Location": location})

    # -- cases

    def case_index(self) -> None:
        items = "\n".join(
            f'<li><a href="{html.escape(c["path"])}">{html.escape(name)}</a> &mdash; {c["expect"]}</li>'
            for name, c in CASES.items()
        )
        body = f"<nav><a href='/normal'>Normal</a></nav><h1>Hostile cases</h1>\n<ul>\n{items}\n</ul>"
        self.send_html(200, page("Hostile server", body))

    def case_normal(self) -> None:
        self.send_html(200, normal_page("Normal page"))

    def case_slow_ok(self) -> None:
        if self.wait(self.server.owner.slow_seconds):
            return
        self.send_html(200, normal_page("Slow but fine"))

    def case_redirect_loop(self, which: str) -> None:
        self.redirect(302, "/redirect-loop/b" if which == "a" else "/redirect-loop/a")

    def case_redirect_chain(self, hop: str) -> None:
        n = int(hop)
        if n < REDIRECT_CHAIN_HOPS:
            self.redirect(302, f"/redirect-chain/{n + 1}")
        elif n == REDIRECT_CHAIN_HOPS:
            self.send_html(200, normal_page(f"End of a {REDIRECT_CHAIN_HOPS}-hop chain"))
        else:
            self.send_html(404, page("Not found", "<h1>No such hop</h1>"))

    def case_redirect_ok(self, hop: str) -> None:
        n = int(hop)
        statuses = {0: 301, 1: 302, 2: 307}
        if n in statuses:
            self.redirect(statuses[n], f"/redirect-ok/{n + 1}")
        elif n == 3:
            self.send_html(200, normal_page("Arrived after 3 redirects"))
        else:
            self.send_html(404, page("Not found", "<h1>No such hop</h1>"))

    def case_never_answers(self) -> None:
        # Read the request (done), then say nothing at all; the socket closes when we give up or stop.
        self.close_connection = True
        self.wait(self.server.owner.hang_seconds)

    def case_trickle(self) -> None:
        self.close_connection = True
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")  # no length: the body ends when the connection does
        self.end_headers()
        self.wfile.flush()
        if self._head:
            return
        doc = b'<!doctype html><html><head><meta charset="utf-8"><title>trickle</title></head><body><p>'
        deadline = time.monotonic() + self.server.owner.trickle_seconds
        i = 0
        while time.monotonic() < deadline:
            self.wfile.write(doc[i : i + 1] if i < len(doc) else b".")
            self.wfile.flush()
            i += 1
            if self.wait(1.0):
                return
        self.wfile.write(b"</p></body></html>\n")

    def case_status(self, code: str) -> None:
        status = int(code)
        if not 400 <= status <= 599:
            status = 404
        headers = {"Retry-After": "120"} if status == 503 else None
        body = page(f"Error {status}", f"<h1>Error {status}</h1><p>Something went wrong.</p><a href='/'>Home</a>")
        self.send_html(status, body, headers)

    def case_bot_challenge(self) -> None:
        """Cloudflare's managed challenge, as a headless browser meets it: 403, cf-mitigated, a script page."""
        body = page("Just a moment...", "<noscript>Enable JavaScript and cookies to continue</noscript>"
                    "<script>setTimeout(function(){document.body.append('Verifying...')}, 200)</script>")
        self.send_html(403, body, {"Server": "cloudflare", "cf-mitigated": "challenge", "CF-RAY": "8e0f1a2b3c4d-AMS"})

    def case_waf_challenge(self) -> None:
        """AWS WAF's challenge: 202 Accepted with an interstitial, told apart only by its header."""
        self.send_html(202, page("", "<div id='challenge-container'></div>"), {"x-amzn-waf-action": "challenge"})

    def case_rate_limited(self) -> None:
        self.send_html(429, page("Too Many Requests", "<h1>Slow down</h1>"), {"Retry-After": "2"})

    def case_poison_links(self) -> None:
        # Every Set now spreads into numbers, nulls and objects: the links the fact script returns are those.
        script = ("<script>Set.prototype[Symbol.iterator] = function* () { yield 42; yield null; yield {href: 1};"
                  " yield ['/normal']; };</script>")
        self.send_html(200, page("Poisoned links", "<h1>Poisoned</h1><a href='/normal'>Normal</a><button>Buy</button>", script))

    def case_poison_types(self) -> None:
        # The page's own observer object and timing entries say NaN, Infinity and markup where numbers belong.
        script = (
            "<script>addEventListener('load', () => {"
            " window.__croObserved = {lcp: NaN, cls: Infinity, timers: () => [0, 1e9]};"
            " const real = performance.getEntriesByType.bind(performance);"
            " performance.getEntriesByType = (t) => t === 'navigation' ? [{startTime: 0, loadEventEnd: 1e309,"
            " domContentLoadedEventEnd: NaN, transferSize: '1<i>many</i>'}] : real(t);"
            "});</script>"
        )
        self.send_html(200, page("Poisoned types", "<h1>Poisoned</h1><button>Buy</button>", script))

    def case_poison_built_ins(self) -> None:
        # What old libraries and hostile pages do to the built-ins every script relies on.
        script = ("<script>window.getComputedStyle = () => { throw new Error('no styles for you'); };"
                  " Math.round = () => 'round'; String.prototype.slice = function () { return [this]; };"
                  " Array.prototype.map = function () { return 7; }; JSON.stringify = () => '{';</script>")
        self.send_html(200, page("Poisoned built-ins", "<h1>Poisoned</h1><button>Buy now</button>", script))

    def case_lone_surrogate(self) -> None:
        # Half a UTF-16 pair (JavaScript allows it; no UTF-8 file can hold it) and a right-to-left override.
        script = ("<script>document.title = 'Pricing \\ud800 \\u202egpj.exe'; addEventListener('load', () =>"
                  " { document.querySelector('button').textContent = 'Buy \\udfff now'; });</script>")
        self.send_html(200, page("Surrogates", "<h1>Prices</h1><button>Buy</button>", script))

    def case_popup_click(self) -> None:
        elsewhere = f"http://localhost:{self.server.server_address[1]}/offsite-landing"
        script = (
            "<script>addEventListener('load', () => {"
            f" const a = document.createElement('a'); a.href = '{elsewhere}?via=click'; a.target = '_blank';"
            " document.body.append(a); a.click();"
            f" const f = document.createElement('form'); f.method = 'post'; f.target = '_blank';"
            f" f.action = '{elsewhere}?via=post'; f.innerHTML = '<input name=amount value=1000>';"
            " document.body.append(f); f.submit();"
            "});</script>"
        )
        self.send_html(200, page("Popups without window.open", "<h1>Deals</h1><button>Buy</button>", script))

    def case_speculation_rules(self) -> None:
        elsewhere = f"http://localhost:{self.server.server_address[1]}/offsite-landing"
        rules = json.dumps({"prefetch": [{"source": "list", "urls": [f"{elsewhere}?via=prefetch"]}],
                            "prerender": [{"source": "list", "urls": [f"{elsewhere}?via=prerender"]}]})
        head = (f'<script type="speculationrules">{rules}</script><link rel="prerender" href="{elsewhere}?via=link">'
                "<script>addEventListener('load', () => { const s = document.createElement('script');"
                " s.type = 'speculationrules'; s.textContent = JSON.stringify({prefetch: [{source: 'list',"
                f" urls: ['{elsewhere}?via=script']}}]}}); document.head.append(s); }});</script>")
        self.send_html(200, page("Speculation rules", "<h1>Fast next pages</h1><button>Buy</button>", head))

    def case_pdf(self) -> None:
        self.send(200, pdf_bytes(), "application/pdf")

    def case_zip(self) -> None:
        self.send(200, zip_bytes(), "application/zip", {"Content-Disposition": 'attachment; filename="archive.zip"'})

    def case_json(self) -> None:
        body = json.dumps({"kind": "json", "html": "<a href='/normal'>not a link</a>"}).encode()
        self.send(200, body, "application/json")

    def case_plain_text(self) -> None:
        self.send(200, b"Plain text, not HTML.\n<a href='/normal'>not a link</a>\n", "text/plain; charset=utf-8")

    def case_image(self) -> None:
        self.send(200, png_bytes(), "image/png")

    def case_empty(self) -> None:
        self.send_html(200, b"")

    def case_huge(self) -> None:
        self.send_html(200, huge_page())

    def case_huge_item(self, n: str) -> None:
        self.send_html(200, page(f"Item {n}", f"<h1>Item {n}</h1><p><a href='/huge'>Back</a></p>"))

    def case_spin_script(self) -> None:
        self.send_html(200, page("Spins while parsing", "<h1>never parsed</h1>", "<script>while(true){}</script>"))

    def case_spin_after_load(self) -> None:
        script = "<script>addEventListener('load', () => setTimeout(() => { for (;;) {} }, 50));</script>"
        self.send_html(200, page("Spins after load", "<h1>Loaded, then stuck</h1><button>Buy</button>", script))

    def case_alert_loop(self) -> None:
        script = (
            "<script>for (let i = 0; i < 100; i++) { alert('alert ' + i); confirm('confirm ' + i);"
            " prompt('prompt ' + i, 'x'); }\n"
            "addEventListener('load', () => setInterval(() => alert('again'), 100));</script>"
        )
        self.send_html(200, page("Dialogs", f"<h1>Dialogs</h1>{script}<button>Buy</button>"))

    def case_beforeunload(self) -> None:
        script = (
            "<script>addEventListener('beforeunload', (e) => { e.preventDefault(); e.returnValue = 'Stay!';"
            " return 'Stay!'; }); window.onbeforeunload = () => 'Stay!';</script>"
        )
        self.send_html(200, page("Do not leave", "<h1>Do not leave</h1><button>Buy</button>", script))

    def case_window_open(self) -> None:
        script = (
            f"<script>addEventListener('load', () => {{ for (let i = 0; i < {POPUPS}; i++)"
            " window.open('/window-open/popup?n=' + i, '_blank'); });</script>"
        )
        self.send_html(200, page("Popups", "<h1>Popups</h1><button>Buy</button>", script))

    def case_popup(self) -> None:
        n = html.escape(self.query.get("n", "?"))
        self.send_html(200, page(f"Popup {n}", f"<h1>Popup {n}</h1>"))

    def case_navigate_away(self) -> None:
        script = "<script>addEventListener('load', () => setTimeout(() => { location.href = '/navigate-away/landed'; }, 200));</script>"
        self.send_html(200, page("About to leave", "<h1>About to leave</h1><button>Buy</button>", script))

    def case_landed(self) -> None:
        self.send_html(200, normal_page("Landed"))

    def case_navigate_offsite(self) -> None:
        script = "<script>addEventListener('load', () => setTimeout(() => { location.href = 'http://example.invalid/'; }, 200));</script>"
        self.send_html(200, page("About to leave the site", "<h1>Leaving</h1><button>Buy</button>", script))

    def case_invalid_utf8(self) -> None:
        self.send_html(200, INVALID_UTF8)

    def case_malformed(self) -> None:
        self.send_html(200, MALFORMED)

    def case_memory_hog(self) -> None:
        limit = self.server.owner.memory_mb
        try:
            limit = max(0, min(limit, int(self.query.get("mb", limit))))
        except ValueError:
            pass
        script = (
            f"<script>window.__hog = []; window.__hogMB = 0;"
            f"try {{ while (window.__hogMB + 64 <= {limit}) {{ const a = new Uint8Array(64 * 1024 * 1024);"
            " a.fill(1); window.__hog.push(a); window.__hogMB += 64; } } catch (e) { window.__hogError = String(e); }"
            "</script>"
        )
        self.send_html(200, page("Memory hog", f"<h1>Memory hog, up to {limit} MB</h1><button>Buy</button>", script))

    def case_deep_iframes(self) -> None:
        try:
            level = max(0, min(IFRAME_DEPTH, int(self.query.get("level", "0"))))
        except ValueError:
            level = 0
        inner = f'<iframe src="/deep-iframes?level={level + 1}" width="90%" height="300"></iframe>' if level < IFRAME_DEPTH else ""
        self.send_html(200, page(f"Iframe level {level}", f"<p>Level {level}</p>{inner}"))

    def case_frameset(self) -> None:
        body = (
            b'<!DOCTYPE html PUBLIC "-//W3C//DTD HTML 4.01 Frameset//EN" "http://www.w3.org/TR/html4/frameset.dtd">\n'
            b"<html><head><title>Frameset</title></head>\n"
            b'<frameset cols="25%,50%,25%"><frame src="/frameset/frame-1" name="a"><frame src="/frameset/frame-2" name="b">'
            b'<frame src="/frameset/frame-3" name="c"><noframes><body>No frames.</body></noframes></frameset></html>\n'
        )
        self.send_html(200, body)

    def case_frame(self, n: str) -> None:
        self.send_html(200, page(f"Frame {n}", f"<h1>Frame {n}</h1><a href='/normal' target='_top'>Home</a>"))

    def case_script_loop(self, which: str) -> None:
        script = {"a": "location.replace('/script-loop/b')", "b": "location.replace('/script-loop/a')",
                  "reload": "addEventListener('load', () => location.reload())"}[which]
        self.send_html(200, page(f"Loop {which}", "<p>Going round</p>", f"<script>{script}</script>"))

    def case_meta_refresh(self, which: str) -> None:
        target = {"a": "/meta-refresh/b", "b": "/meta-refresh/a", "self": "/meta-refresh/self",
                  "slow-a": "/meta-refresh/slow-b", "slow-b": "/meta-refresh/slow-a"}[which]
        head = f'<meta http-equiv="refresh" content="{1 if which == "slow-b" else 0}; url={target}">'
        self.send_html(200, page(f"Refresh {which}", f"<p>Refreshing to {target}</p>", head))

    def case_gzip_bomb(self) -> None:
        # Sent compressed whatever Accept-Encoding says: a hostile server does not ask.
        self.send(200, gzip_bomb(), "text/html; charset=utf-8", {"Content-Encoding": "gzip"})

    def case_calendar(self) -> None:
        match = re.fullmatch(r"(-?\d{1,6})-(\d{2})", self.query.get("month", ""))
        year, month = (int(match.group(1)), int(match.group(2))) if match else (2025, 1)
        if not 1 <= month <= 12:
            year, month = 2025, 1
        prev_y, prev_m = (year - 1, 12) if month == 1 else (year, month - 1)
        next_y, next_m = (year + 1, 1) if month == 12 else (year, month + 1)
        fmt = "{:04d}-{:02d}".format
        days = " ".join(f'<a href="/calendar?month={fmt(year, month)}&amp;day={d}">{d}</a>' for d in range(1, 29))
        body = (
            f"<h1>Events in {fmt(year, month)}</h1><nav>"
            f'<a href="/calendar?month={fmt(prev_y, prev_m)}">&laquo; Previous month</a> '
            f'<a href="/calendar?month={fmt(next_y, next_m)}">Next month &raquo;</a></nav><p>{days}</p>'
        )
        self.send_html(200, page(f"Calendar {fmt(year, month)}", body))

    def case_shop(self) -> None:
        facets = {
            "color": ["red", "blue", "green", "black", "white", "navy", "olive", "teal"],
            "size": ["xs", "s", "m", "l", "xl", "xxl"],
            "sort": ["price-asc", "price-desc", "newest", "popular"],
        }
        current = {k: v for k, v in self.query.items() if k in facets or k == "page"}
        try:
            page_no = max(1, min(10**6, int(current.get("page", "1"))))
        except ValueError:
            page_no = 1

        def link(params: dict[str, str], label: str) -> str:
            return f'<a href="/shop?{html.escape(urlencode(params))}">{html.escape(label)}</a>'

        links = []
        for facet, values in facets.items():
            for value in values:
                links.append(link({**current, facet: value, "page": "1"}, f"{facet}: {value}"))
            if facet in current:
                links.append(link({k: v for k, v in current.items() if k != facet}, f"any {facet}"))
        links.append(link({**current, "page": str(page_no + 1)}, "Next page"))
        if page_no > 1:
            links.append(link({**current, "page": str(page_no - 1)}, "Previous page"))
        links.append(link(dict(reversed(list(current.items()))), "This page, parameters reversed"))
        title = ", ".join(f"{k}={v}" for k, v in current.items()) or "everything"
        body = f"<h1>Shop: {html.escape(title)}</h1><nav>{' '.join(links)}</nav><button>Add to cart</button>"
        self.send_html(200, page("Shop", body))

    def case_bad_links(self) -> None:
        long_url = "/long?q=" + "a" * (LONG_URL_BYTES - len("/long?q="))
        hrefs = [
            "file:///etc/passwd",
            "data:text/html,%3Ch1%3Ehello%3C/h1%3E",
            "javascript:alert(1)",
            "ftp://127.0.0.1/x",
            "http://127.0.0.1:0/",
            "http://127.0.0.1:99999/",
            "http://[::1:bad/",
            long_url,
            "mailto:someone@example.invalid",
            "tel:+15555550100",
            "http://example.invalid/page",
            "//example.invalid/x",
            "/normal",
            "/bad-links/ok",
        ]
        items = "\n".join(f'<li><a href="{html.escape(h)}">link {i}</a></li>' for i, h in enumerate(hrefs))
        body = f"<nav><a href='/'>Home</a></nav><h1>Bad links</h1><ul>\n{items}\n</ul><button>Buy</button>"
        self.send_html(200, page("Bad links", body))

    def case_bad_links_ok(self) -> None:
        self.send_html(200, normal_page("A good link target"))

    def case_long(self) -> None:
        self.send_html(200, page("Long URL", "<p>You followed a very long URL.</p>"))


def normal_page(title: str) -> bytes:
    body = (
        "<nav><a href='/'>Home</a> <a href='/normal'>Normal</a> <a href='/slow-ok'>Slow</a></nav>\n"
        f"<main><h1>{html.escape(title)}</h1><p>A plain, valid page.</p>"
        "<button type='button'>Buy now</button></main>"
    )
    return page(title, body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # we join handler threads ourselves, with a deadline
    request_queue_size = 128

    def __init__(self, owner: HostileServer) -> None:
        self.owner = owner
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self.threads: set[threading.Thread] = set()
        super().__init__(("127.0.0.1", 0), _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        if self.stopping.is_set():
            self.shutdown_request(request)
            return
        thread = threading.Thread(
            target=self.process_request_thread, args=(request, client_address), name=f"hostile-conn-{self.server_address[1]}", daemon=True
        )
        with self._lock:
            self._connections.add(request)
            self.threads = {t for t in self.threads if t.is_alive()}
            self.threads.add(thread)
        thread.start()

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._lock:
                self._connections.discard(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], _CLIENT_GONE):
            return
        text = traceback.format_exc()
        self.owner.errors.append(text)
        sys.stderr.write(f"hostile server error:\n{text}")

    def close_connections(self) -> None:
        """Wake every handler blocked on a client socket: reads see EOF, writes fail."""
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class HostileServer:
    """The hostile site on a free loopback port, for as long as the `with` block lasts.

    hang_seconds: how long `never-answers` holds a connection; trickle_seconds: how long `trickle`
    trickles; slow_seconds: the delay of `slow-ok`; memory_mb: how much `memory-hog` allocates. Whatever
    these are, stopping the server ends every case at once.
    """

    def __init__(
        self,
        *,
        hang_seconds: float = 60.0,
        trickle_seconds: float = 300.0,
        slow_seconds: float = 1.5,
        memory_mb: int = 1536,
    ) -> None:
        self.hang_seconds = hang_seconds
        self.trickle_seconds = trickle_seconds
        self.slow_seconds = slow_seconds
        self.memory_mb = min(memory_mb, 1536)
        self.hits: Counter[str] = Counter()
        self.requests: list[tuple[str, str]] = []  # (method, request target with query), in order
        self.errors: list[str] = []  # tracebacks of unexpected server-side exceptions; should stay empty
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("HostileServer is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/"

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("HostileServer is not running")
        return int(self._server.server_address[1])

    def url_for(self, name: str) -> str:
        return self.url.rstrip("/") + CASES[name]["path"]

    def _record(self, method: str, path: str, target: str) -> None:
        with self._lock:
            self.hits[path] += 1
            self.requests.append((method, target))

    def start(self) -> HostileServer:
        if self._server is not None:
            raise RuntimeError("HostileServer is already running")
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="hostile-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self, timeout: float = 2.0) -> None:
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        deadline = time.monotonic() + timeout
        server.stopping.set()  # every handler's wait() returns now
        server.shutdown()  # serve_forever returns within poll_interval; no new connections are taken
        server.close_connections()
        server.server_close()
        thread.join(max(0.0, deadline - time.monotonic()))
        with server._lock:
            handlers = list(server.threads)
        for handler in handlers:
            handler.join(max(0.0, deadline - time.monotonic()))
        self._server = self._thread = None

    def __enter__(self) -> HostileServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


if __name__ == "__main__":  # python -m tests.hostile.server: serve until Ctrl-C, for poking by hand
    with HostileServer() as srv:
        print(srv.url, flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
