"""A reused tab forgets each page: no cookie, storage or cache reaches the next measurement."""

from __future__ import annotations

import os
import shutil
import time

from auditor import browser as browsers
from auditor.measure import Tab, visit
from auditor.serve import StaticSite
from tests.conftest import PAGES

LEAVES_TRACES = (
    '<!doctype html><title>x</title><link rel="icon" href="data:,">'
    "<script>document.cookie = 'seen=1; path=/'; localStorage.setItem('k', 'v'); sessionStorage.setItem('s', '1');</script>"
    '<img src="img/known-20000.svg">'
)
READS_TRACES = (
    '<!doctype html><link rel="icon" href="data:,"><title>-</title>'
    "<script>document.title = 'cookie=' + document.cookie + ' local=' + localStorage.getItem('k') + "
    "' session=' + sessionStorage.getItem('s');</script>"
)


def test_reused_tab_starts_every_visit_clean(chromium, tmp_path):
    (tmp_path / "img").mkdir()
    shutil.copy(PAGES / "img" / "known-20000.svg", tmp_path / "img")
    (tmp_path / "_traces.html").write_text(LEAVES_TRACES)
    (tmp_path / "_reads.html").write_text(READS_TRACES)
    with StaticSite(tmp_path) as site:
        root = site.url

        async def run():
            tab = Tab(chromium.browser, browsers.PROFILES["desktop"], chromium.agents["desktop"])
            try:
                first = await visit(tab, root + "_traces.html", timeout=15)
                again = await visit(tab, root + "_traces.html", timeout=15)
                reads = await visit(tab, root + "_reads.html", timeout=15)
                reused = tab.page is not None
            finally:
                await tab.close()
            return first, again, reads, reused

        first, again, reads, reused = chromium.call(run())
    assert reused  # the same tab served all three visits
    assert first.facts.transfer_bytes >= 20000
    assert again.facts.transfer_bytes == first.facts.transfer_bytes  # nothing came from the cache
    assert again.facts.request_count == first.facts.request_count
    assert reads.facts.title == "cookie= local=null session=null"


def test_a_tab_that_timed_out_is_replaced(chromium, pages_site):
    async def run():
        tab = Tab(chromium.browser, browsers.PROFILES["desktop"], chromium.agents["desktop"])
        try:
            await visit(tab, pages_site.url + "plain.html", timeout=15)
            before = tab.page
            hung = await visit(tab, pages_site.url + "slow/20000/plain.html", timeout=2)
            after_timeout = tab.page
            ok = await visit(tab, pages_site.url + "plain.html", timeout=15)
            return before, hung, after_timeout, ok, tab.page
        finally:
            await tab.close()

    before, hung, after_timeout, ok, fresh = chromium.call(run())
    assert before is not None and hung.error.kind == "timeout"
    assert after_timeout is None  # thrown away...
    assert ok.error is None and fresh is not None and fresh is not before  # ...and a new one took over


def jpeg_size(data: bytes) -> tuple[int, int]:
    """Width and height from a JPEG's start-of-frame marker."""
    at = 2
    while at < len(data):
        marker, length = data[at + 1], int.from_bytes(data[at + 2:at + 4], "big")
        if marker in (0xC0, 0xC1, 0xC2):
            return int.from_bytes(data[at + 7:at + 9], "big"), int.from_bytes(data[at + 5:at + 7], "big")
        at += 2 + length
    raise AssertionError("not a JPEG")


def test_screenshots_are_the_viewport_and_leave_the_tab_as_it_was(chromium, pages_site, tmp_path):
    """A phone's screenshot in CSS pixels (390 x 844, the zoomed-out page included) or device pixels
    (x3); taking one must not change the page's pixel ratio for the next visits of the same tab."""

    async def run():
        tab = Tab(chromium.browser, browsers.PROFILES["mobile"], chromium.agents["mobile"])
        out = []
        try:
            for n, (page, scale) in enumerate([("no-viewport.html", "css"), ("viewport.html", "device"),
                                               ("viewport.html", "css"), ("no-viewport.html", "css")]):
                shot = tmp_path / f"{n}.jpg"
                result = await visit(tab, pages_site.url + page, timeout=15, screenshot=(shot, shot.name),
                                     screenshot_scale=scale)
                ratio = await tab.page.evaluate("devicePixelRatio")
                out.append((result.facts.screenshot, jpeg_size(shot.read_bytes()), ratio, result.facts.document_width))
        finally:
            await tab.close()
        return out

    shots = chromium.call(run())
    assert shots == [
        ("0.jpg", (390, 844), 3, 980),
        ("1.jpg", (1170, 2532), 3, 390),
        ("2.jpg", (390, 844), 3, 390),
        ("3.jpg", (390, 844), 3, 980),
    ]


def test_a_devtools_call_cut_short_by_ctrl_c_leaves_no_unheard_error(chromium, pages_site):
    """Ctrl-C cancels the workers while a DevTools call is in flight; the browser then closes under it. Its
    failure must be heard, not printed as 'Task exception was never retrieved' with a traceback (a trial
    saw one in 27 interrupts)."""
    import asyncio
    import gc

    async def run():
        loop = asyncio.get_running_loop()
        unheard: list[dict] = []
        before = loop.get_exception_handler()
        loop.set_exception_handler(lambda _, context: unheard.append(context))
        tab = Tab(chromium.browser, browsers.PROFILES["desktop"], chromium.agents["desktop"])
        try:
            await visit(tab, pages_site.url + "plain.html", timeout=15)
            never = tab.devtools("Runtime.evaluate", {"expression": "new Promise(() => {})", "awaitPromise": True}, 30)
            worker = asyncio.ensure_future(never)
            await asyncio.sleep(0.3)
            worker.cancel()  # what crawl.stop() does to a worker
            await asyncio.gather(worker, return_exceptions=True)
            del worker, never  # its traceback would keep the call alive, and unreported
        finally:
            await tab.close()  # the call in flight fails: the target is gone
        for _ in range(20):  # an unretrieved exception is reported when its task is collected
            await asyncio.sleep(0.05)
            gc.collect()
        loop.set_exception_handler(before)
        return [str(context.get("exception")) for context in unheard]

    assert chromium.call(run()) == []


def revalidated_image(folder):
    """The 20 kB image, dated in the future: a browser holding it in its cache asks again every time and gets
    a 304 of a few hundred bytes, however long the test takes (a past date would let it be used unasked for
    a while, and Resource Timing would then report its full size)."""
    (folder / "img").mkdir()
    copy = shutil.copy(PAGES / "img" / "known-20000.svg", folder / "img")
    later = time.time() + 86400
    os.utime(copy, (later, later))


def test_a_warm_cache_tab_keeps_the_start_pages_files_and_forgets_the_rest(chromium, tmp_path):
    """--warm-cache: a new tab first opens the start page (the primer), whose files then stay cached for
    every visit after it; its cookies and storage, and each visit's, are wiped as without it. The start
    page's own visit in a new tab is the priming, measured as a first visit."""
    revalidated_image(tmp_path)
    (tmp_path / "_traces.html").write_text(LEAVES_TRACES)
    (tmp_path / "_reads.html").write_text(READS_TRACES)
    with StaticSite(tmp_path) as site:
        root = site.url

        async def run():
            tabs = [Tab(chromium.browser, browsers.PROFILES["desktop"], chromium.agents["desktop"],
                        primer_for=lambda url: root + "_traces.html") for _ in range(2)]
            try:
                reads = await visit(tabs[0], root + "_reads.html", timeout=15)  # primed first, then measured
                after_prime = await visit(tabs[0], root + "_traces.html", timeout=15)
                start_first = await visit(tabs[1], root + "_traces.html", timeout=15)  # no priming: it is the primer
                start_again = await visit(tabs[1], root + "_traces.html", timeout=15)
                return reads, after_prime, start_first, start_again, reads.timings, start_first.timings
            finally:
                for tab in tabs:
                    await tab.close()

        reads, after_prime, start_first, start_again, primed_timings, unprimed_timings = chromium.call(run())
    assert reads.facts.title == "cookie= local=null session=null"  # the primer's traces were wiped
    assert start_first.facts.transfer_bytes >= 20000  # a new tab's start page: a first visit
    assert after_prime.facts.transfer_bytes < 20000 and start_again.facts.transfer_bytes < 20000  # from the cache
    assert after_prime.facts.request_count == start_first.facts.request_count  # the same files, cached
    assert "prime" in primed_timings and "prime" not in unprimed_timings


def test_a_warm_cache_tab_renews_its_page_but_keeps_its_cache(chromium, tmp_path, monkeypatch):
    """After TAB_VISITS a tab's renderer is replaced, to free the memory it holds. With --warm-cache only the
    page is: the context keeps the start page's files, so the new page is neither primed nor cold."""
    from auditor import measure

    monkeypatch.setattr(measure, "TAB_VISITS", 2)
    revalidated_image(tmp_path)
    (tmp_path / "_traces.html").write_text(LEAVES_TRACES)
    with StaticSite(tmp_path) as site:
        primer = site.url + "_traces.html"

        async def run():
            tab = Tab(chromium.browser, browsers.PROFILES["desktop"], chromium.agents["desktop"],
                      primer_for=lambda url: primer)
            try:
                visits, pages, contexts = [], [], []
                for _ in range(3):
                    visits.append(await visit(tab, primer, timeout=15))
                    pages.append(tab.page)
                    contexts.append(tab.context)
                return visits, pages, contexts
            finally:
                await tab.close()

        visits, pages, contexts = chromium.call(run())
    assert [v.error for v in visits] == [None, None, None]
    assert pages[0] is pages[1] and pages[2] is not pages[1]  # the third visit had a new page
    assert contexts[0] is contexts[1] is contexts[2]  # in the same context
    assert [v.facts.transfer_bytes >= 20000 for v in visits] == [True, False, False]  # cached on the new page too
    assert "prime" not in visits[2].timings
