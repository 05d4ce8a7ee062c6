"""What a site says about itself before we crawl it: robots.txt rules, Crawl-delay and sitemaps.

Fetched with plain HTTP (httpx), not the browser: they are data, not pages. Everything is size-capped
and time-boxed; a site without them, or with broken ones, is simply crawled by its links.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit
from urllib.robotparser import RobotFileParser

import httpx

from auditor.urls import BadURL, Scope, normalize

MAX_BYTES = 5_000_000  # per robots.txt or sitemap file, after decompression
MAX_SITEMAPS = 10  # sitemap files followed per site, index files included
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


async def fetch_capped(client: httpx.AsyncClient, url: str) -> bytes | None:
    """A small text resource, or None if it is missing, too big, or broken."""
    try:
        async with client.stream("GET", url) as response:
            if response.status_code != 200:
                return None
            body = bytearray()
            async for chunk in response.aiter_bytes():  # httpx decodes gzip transfer encoding, in chunks
                body += chunk
                if len(body) > MAX_BYTES:
                    return None
            return bytes(body)
    except (httpx.HTTPError, httpx.InvalidURL, ValueError, zlib.error):
        return None


def _gunzip_capped(data: bytes) -> bytes | None:
    decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = decompressor.decompress(data, MAX_BYTES + 1)
    except zlib.error:
        return None
    return out if len(out) <= MAX_BYTES else None


async def discover(client: httpx.AsyncClient, start_url: str, agent: str, scope: Scope, use_sitemaps: bool) -> SiteRules:
    parts = urlsplit(start_url)
    origin = f"{parts.scheme}://{parts.netloc}"
    rules = SiteRules(origin=origin)
    body = await fetch_capped(client, urljoin(origin, "/robots.txt"))
    sitemaps = [urljoin(origin, "/sitemap.xml")]
    if body is not None:
        parser = RobotFileParser()
        parser.parse(body.decode("utf-8", errors="replace").splitlines())
        rules.robots = parser
        rules.crawl_delay = float(parser.crawl_delay(agent) or 0)
        sitemaps = (parser.site_maps() or []) + sitemaps
    if use_sitemaps:
        rules.sitemap_urls = await _read_sitemaps(client, sitemaps, scope)
    return rules


async def _read_sitemaps(client: httpx.AsyncClient, queue: list[str], scope: Scope) -> list[str]:
    """Page URLs from sitemaps and sitemap indexes, in their order, in scope, de-duplicated."""
    seen_maps: set[str] = set()
    pages: dict[str, None] = {}
    while queue and len(seen_maps) < MAX_SITEMAPS:
        url = queue.pop(0)
        try:
            url = normalize(url)
        except BadURL:
            continue
        if url in seen_maps or url not in scope:
            continue
        seen_maps.add(url)
        body = await fetch_capped(client, url)
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
            if page in scope:
                pages.setdefault(page)
    return list(pages)

