"""What a site says about itself before we crawl it: robots.txt rules, Crawl-delay and sitemaps.

Fetched with plain HTTP (httpx), not the browser: they are data, not pages. Everything is size-capped
and time-boxed; a site without them, or with broken ones, is simply crawled by its links.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit
from urllib.robotparser import RobotFileParser

import httpx

from auditor.urls import BadURL, Scope, normalize

MAX_BYTES = 5_000_000  # per sitemap file, after decompression; the rest of a longer one is not read
ROBOTS_BYTES = 500 * 1024  # of robots.txt, what RFC 9309 asks a crawler to read at least; the rest is not
MAX_SITEMAPS = 10  # sitemap files followed per site, index files included
MAX_REDIRECTS = 5
_LOC = re.compile(rb"<loc>\s*(.*?)\s*</loc>", re.IGNORECASE | re.DOTALL)


@dataclass
class SiteRules:
    """robots.txt as it applies to the auditor, plus the URLs the site's sitemaps list."""

    origin: str
    robots: RobotFileParser | None = None
    crawl_delay: float = 0.0
    sitemap_urls: list[str] = field(default_factory=list)

    def allows(self, url: str, agent: str) -> bool:
        return self.robots is None or self.robots.can_fetch(agent, url)


class BasicWhenAsked(httpx.Auth):
    """HTTP Basic credentials sent only in answer to the server's 401 challenge, as the browser sends them:
    a server that never asks (another client's, in a batch with one --auth) never sees the password."""

    def __init__(self, username: str, password: str) -> None:
        self._basic = httpx.BasicAuth(username, password)

    def auth_flow(self, request: httpx.Request):  # type: ignore[override]
        response = yield request
        if response.status_code == 401 and "basic" in response.headers.get("www-authenticate", "").lower():
            yield from self._basic.auth_flow(request)


class Fetcher:
    """GETs for robots.txt and sitemaps, held to the rules the browser's visits keep: a redirect is followed
    only within the site (an off-site one ends the fetch), and the staging secrets (--header, --auth) go
    only to the start URLs' own origins, hop by hop."""

    def __init__(self, client: httpx.AsyncClient, scope: Scope, secret_headers: dict[str, str] | None = None,
                 auth: tuple[str, str] | None = None) -> None:
        self.client, self.scope = client, scope
        self.secret_headers = secret_headers or {}
        self.auth = BasicWhenAsked(*auth) if auth else None

    @asynccontextmanager
    async def _final(self, url: str) -> AsyncIterator[httpx.Response | None]:
        """The response at the end of the redirects within the site, its body not read yet; None if a redirect
        leaves the site or there are too many."""
        for _ in range(MAX_REDIRECTS + 1):
            if not self.scope.admits(url):
                break
            mine = self.scope.same_origin(url)
            async with self.client.stream("GET", url, headers=self.secret_headers if mine else None,
                                          auth=self.auth if mine else None, follow_redirects=False) as response:
                if response.is_redirect:
                    url = urljoin(url, response.headers.get("location", ""))
                    continue
                yield response
                return
        yield None

    async def get(self, url: str, limit: int = MAX_BYTES) -> bytes | None:
        """The first `limit` bytes of a small text resource, or None if it is missing, off the site or broken."""
        try:
            async with self._final(url) as response:
                if response is None or response.status_code != 200:
                    return None
                body = bytearray()
                async for chunk in response.aiter_bytes():  # httpx decodes gzip transfer encoding, in chunks
                    body += chunk
                    if len(body) >= limit:
                        break
                return bytes(body[:limit])
        except (httpx.HTTPError, httpx.InvalidURL, ValueError, zlib.error):
            return None

    async def status(self, url: str) -> int | None:
        """The HTTP status a visitor would end on at `url`, its body never read; None if the server does not
        answer or sends the visitor off the site."""
        try:
            async with self._final(url) as response:
                return None if response is None else response.status_code
        except (httpx.HTTPError, httpx.InvalidURL, ValueError):
            return None


def _gunzip_capped(data: bytes) -> bytes | None:
    decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = decompressor.decompress(data, MAX_BYTES + 1)
    except zlib.error:
        return None
    return out[:MAX_BYTES]


async def discover(fetcher: Fetcher, start_url: str, agent: str, use_sitemaps: bool) -> SiteRules:
    parts = urlsplit(start_url)
    origin = f"{parts.scheme}://{parts.netloc}"
    rules = SiteRules(origin=origin)
    body = await fetcher.get(urljoin(origin, "/robots.txt"), ROBOTS_BYTES)
    sitemaps = [urljoin(origin, "/sitemap.xml")]
    if body is not None:
        lines = body.decode("utf-8", errors="replace").splitlines()
        if len(body) == ROBOTS_BYTES and len(lines) > 1:
            lines.pop()  # cut off mid-line at the cap: a half rule ("Disallow: /pri") would say something else
        parser = RobotFileParser()
        parser.parse(lines)
        rules.robots = parser
        rules.crawl_delay = float(parser.crawl_delay(agent) or 0)
        sitemaps = (parser.site_maps() or []) + sitemaps
    if use_sitemaps:
        rules.sitemap_urls = await _read_sitemaps(fetcher, sitemaps)
    return rules


async def _read_sitemaps(fetcher: Fetcher, queue: list[str]) -> list[str]:
    """Page URLs from sitemaps and sitemap indexes, in their order, in scope, de-duplicated."""
    seen_maps: set[str] = set()
    pages: dict[str, None] = {}
    while queue and len(seen_maps) < MAX_SITEMAPS:
        url = queue.pop(0)
        try:
            url = normalize(url)
        except BadURL:
            continue
        if url in seen_maps or url not in fetcher.scope:
            continue
        seen_maps.add(url)
        body = await fetcher.get(url)
        if body is not None and body[:2] == b"\x1f\x8b":
            body = _gunzip_capped(body)
        if not body:
            continue
        is_index = b"<sitemapindex" in body[:2000].lower()
        for raw in _LOC.findall(body):
            loc = raw.decode("utf-8", errors="replace").replace("&amp;", "&").strip()
            if is_index:
                queue.append(loc)
                continue
            try:
                page = normalize(loc)
            except BadURL:
                continue
            if page in fetcher.scope:
                pages.setdefault(page)
    return list(pages)

