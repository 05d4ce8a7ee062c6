"""One audit, end to end: crawl and measure, judge, write the report. The CLI and the demo call this.

Ctrl-C and SIGTERM do not lose work: the crawl stops, and the report of what was finished is written,
marked partial.
"""

from __future__ import annotations

import asyncio
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auditor.config import Settings
from auditor.crawl import Crawl, ProgressFn
from auditor.facts import PageResult
from auditor.report import branding_context, build_report, now_iso, write_report
from auditor.rulebook import Rulebook
from auditor.score import judge_page
from auditor.store import RunStore
from auditor.urls import BadURL, normalize

UNREACHABLE = {"network", "timeout", "redirect_loop"}


class UsageError(ValueError):
    """Bad input from the user (exit code 2); the message is one line."""


@dataclass
class Outcome:
    report: dict[str, Any]
    html_path: Path
    pages: list[PageResult]
    interrupted: bool
    signal_name: str | None = None

    @property
    def unreachable(self) -> list[PageResult]:
        """Start URLs that could not be loaded at all, when nothing else could be either."""
        if any(p.score is not None for p in self.pages):
            return []
        starts = [p for p in self.pages if p.depth == 0]
        if starts and all(p.error is not None and p.error.kind in UNREACHABLE for p in starts):
            return starts
        return []


def start_urls_from(raw: list[str]) -> list[str]:
    urls: list[str] = []
    for text in raw:
        try:
            url = normalize(text)
        except BadURL as exc:
            raise UsageError(f"{text[:200]}: {exc}") from None
        if url not in urls:
            urls.append(url)
    if not urls:
        raise UsageError("give at least one URL to audit")
    return urls


def run_audit(
    raw_urls: list[str],
    settings: Settings,
    book: Rulebook,
    out_dir: Path,
    resume: bool = False,
    progress: ProgressFn | None = None,
) -> Outcome:
    start_urls = start_urls_from(raw_urls)
    branding = branding_context(settings)  # a broken logo fails before the crawl, not after
    started_at = now_iso()
    try:
        store = RunStore(out_dir, start_urls, resume)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if resume:
        started_at = store.get_meta("started_at") or started_at
    store.set_meta("started_at", started_at)
    crawl = Crawl(settings, start_urls, out_dir, store=store, progress=progress)
    caught: list[str] = []

    async def main() -> list[PageResult]:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, lambda s=sig: (caught.append(s.name), crawl.stop()))
        try:
            return await crawl.run()
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)

    try:
        pages = asyncio.run(main())
    finally:
        store.close()
    for page in pages:
        judge_page(page, book)
    report = build_report(
        pages, book, settings, start_urls, started_at, partial=crawl.interrupted, browser_version=crawl.browser_version
    )
    report["timings"] = {step: round(seconds, 2) for step, seconds in crawl.timings.items()}
    html_path = write_report(out_dir, report, branding)
    return Outcome(report, html_path, pages, crawl.interrupted, caught[0] if caught else None)
