"""The HTML report printed to PDF by Chromium, for a client who reads reports as documents.

The report is one self-contained file (screenshots and logo embedded, no script, a print stylesheet),
so it is handed to the browser as content, not as a file path: a remote browser prints it the same way.
The page may fetch nothing and run nothing: every request is refused and JavaScript is off.
"""

from __future__ import annotations

import asyncio

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import async_playwright

from auditor import browser as browsers
from auditor.config import Settings

PRINT_TIMEOUT_S = 120


async def _print(html: str, settings: Settings) -> bytes:
    async with async_playwright() as playwright:
        browser = await browsers.start(playwright, settings.browser_endpoints, settings.browser_path)
        try:
            context = await browser.new_context(java_script_enabled=False)
            await context.route("**/*", lambda route: asyncio.ensure_future(route.abort()))
            page = await context.new_page()
            await page.set_content(html, wait_until="load")
            return await page.pdf(format="A4", print_background=True, prefer_css_page_size=True)
        finally:
            await browsers.close(browser)


def print_pdf(html: str, settings: Settings) -> bytes:
    """The report as PDF bytes; ValueError with one line saying why if it cannot be printed."""
    try:
        return asyncio.run(asyncio.wait_for(_print(html, settings), PRINT_TIMEOUT_S))
    except browsers.BrowserNotFound as exc:
        raise ValueError(str(exc)) from None
    except (PlaywrightError, asyncio.TimeoutError) as exc:
        raise ValueError(browsers.first_line(exc) or "it took too long") from None
