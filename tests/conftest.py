"""Shared test fixtures: fixture pages served on 127.0.0.1 and one real Chromium for the whole session.

No mocked browser: `measure(path, device)` loads a fixture page in Chromium exactly as an audit does.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from playwright.async_api import async_playwright

from auditor import browser as browsers
from auditor.measure import Tab, Visit, visit
from auditor.serve import StaticSite

PAGES = Path(__file__).parent / "fixtures" / "pages"


class BrowserThread:
    """One Chromium on a background event loop, so plain (sync) tests can drive it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.call(self._start())

    def call(self, coro, timeout: float = 120):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def _start(self) -> None:
        self.pw = await async_playwright().start()
        self.executable = browsers.find_browser(None, self.pw)
        self.browser = await browsers.launch(self.pw, self.executable)
        self.agents = browsers.user_agents(self.browser.version, "cro-audit/test")

    def visit(self, url: str, device: str = "desktop", timeout: float = 15, screenshot=None) -> Visit:
        return self.call(
            visit(self.tab(device), url, timeout=timeout, screenshot=screenshot, keep=False)
        )

    def tab(self, device: str = "desktop", site_scope=None) -> Tab:
        return Tab(self.browser, browsers.PROFILES[device], self.agents[device], site_scope=site_scope)

    def close(self) -> None:
        async def stop() -> None:
            await self.browser.close()
            await self.pw.stop()

        self.call(stop())
        self.loop.call_soon_threadsafe(self.loop.stop)


@pytest.fixture(scope="session")
def chromium():
    runner = BrowserThread()
    yield runner
    runner.close()


@pytest.fixture(scope="session")
def pages_site():
    with StaticSite(PAGES) as site:
        yield site


@pytest.fixture
def measure(chromium, pages_site):
    """Facts of a fixture page (tests/fixtures/pages/<path>) on a device; fails the test on a page error."""

    def run(path: str, device: str = "desktop"):
        result = chromium.visit(pages_site.url + path, device)
        assert result.error is None, result.error
        return result.facts

    return run


@pytest.fixture
def unreadable(monkeypatch):
    """unreadable(path, text) writes a file that then cannot be read (every Path.read_text fails as without
    read permission): chmod 000 keeps no root out, and the tests run as root in CI."""

    def refused(self, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(self))

    def make(path: Path, text: str) -> Path:
        path.write_text(text)
        monkeypatch.setattr(Path, "read_text", refused)
        return path

    return make

