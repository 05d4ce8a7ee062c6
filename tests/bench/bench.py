"""Benchmark: the audit against a bare Playwright loop over the same pages, on this machine, in one run.

    .venv/bin/python -m tests.bench.bench [--pages 100] [--concurrency N] [--phases bare,cold,audit,warm] [--repeat 3]
                                          [--screenshots css|device|off]

It generates a site of realistic pages, serves it on 127.0.0.1, then runs each phase in its own process
while sampling that process tree (Python, the Playwright driver and every Chromium process):

- bare:  a Playwright loop that only opens each page on each device (a reused page per device and
         worker, goto until load) at the same concurrency: the floor any browser-based audit sits on.
- bare cold: the same, emptying the HTTP cache before each visit, as the audit does to measure a first visit.
- audit: `run_audit` with both devices, the default settings (screenshots included, unless `--screenshots
         off`: a deploy check that nobody looks at the pictures of) and the same pages.
- warm:  the audit with --warm-cache: the pages after the start page measured with its files cached, as the
         bare loop's reused pages find them.

It prints wall time, visits and pages per second, CPU seconds, peak memory (PSS, so shared pages count
once) and, for the audit, the time from start to the first finished page and where the visit time goes.
Compare ratios within one run: the machine is shared and absolute seconds drift.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from auditor.config import default_concurrency
from auditor.serve import StaticSite
from tests.bench.site import generate

CLK_TCK = os.sysconf("SC_CLK_TCK")


# ---- sampling a process tree ----------------------------------------------------------------------
def _tree(root: int) -> list[int]:
    """The process and its descendants, from one pass over /proc: reading every thread's `children`
    file of a Chromium tree costs three times as much."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                parent = int(Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):  # the process ended while we looked
                continue
            children.setdefault(parent, []).append(int(entry.name))
    seen, stack = [], [root]
    while stack:
        p = stack.pop()
        seen.append(p)
        stack += children.get(p, [])
    return seen


def _pss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _kind(pid: int) -> str:
    """Which part of the stack a process is: python, driver (node), browser, renderer, gpu, utility."""
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return "gone"
    if "--type=" in cmd:
        return cmd.split("--type=", 1)[1].split()[0].replace("-process", "")
    program = Path(cmd.split(" ")[0]).name  # the path alone would call the driver, under site-packages/python3.11, python
    if program.startswith("python"):
        return "python"
    return "driver" if program == "node" else "browser"


def _cpu_s(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK  # own user + system; children are sampled themselves
    except (OSError, IndexError, ValueError):
        return 0.0


class TreeSampler(threading.Thread):
    """Peak PSS of a process tree, and its CPU seconds by kind of process (each process's last reading; a
    process that lives less than one sampling interval is missed).

    The sampler shares the machine with what it measures, so it is kept cheap: PSS (`smaps_rollup`, some
    2-3 ms a process, 60 ms for an audit's tree) is read once a second, the CPU ten times. Reading PSS ten
    times a second took a third of a core, longer for the longer phase, and skewed the ratios."""

    def __init__(self, pid: int, every: float = 0.1, pss_every: float = 1.0) -> None:
        super().__init__(daemon=True)
        self.pid, self.every, self.pss_every = pid, every, pss_every
        self.peak_kb = 0
        self.cpu: dict[int, float] = {}
        self.kinds: dict[int, str] = {}
        self._looks: dict[int, int] = {}  # times a process's kind was read
        self.done = threading.Event()
        self.own_cpu_s = 0.0

    def run(self) -> None:
        try:
            self._sample()
        finally:
            self.own_cpu_s = time.thread_time()  # what sampling cost, to tell it from the site server's CPU

    def _sample(self) -> None:
        next_pss = 0.0
        while not self.done.is_set():
            pids = _tree(self.pid)
            if time.monotonic() >= next_pss:
                self.peak_kb = max(self.peak_kb, sum(_pss_kb(p) for p in pids))
                next_pss = time.monotonic() + self.pss_every
            for p in pids:
                self.cpu[p] = max(self.cpu.get(p, 0.0), _cpu_s(p))
                # Read again on the next samples: a process caught between fork and exec still shows its
                # parent's command line (the browser was once counted as the driver, its 20 s of CPU with it).
                if self._looks.get(p, 0) < 3:
                    kind = _kind(p)
                    if kind != "gone" or p not in self.kinds:  # ended meanwhile: what it was stands
                        self.kinds[p] = kind
                    self._looks[p] = self._looks.get(p, 0) + 1
            time.sleep(self.every)

    @property
    def cpu_s(self) -> float:
        return sum(self.cpu.values())

    def cpu_by_kind(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for pid, seconds in self.cpu.items():
            kind = self.kinds.get(pid, "gone")
            out[kind] = out.get(kind, 0.0) + seconds
        return dict(sorted(out.items(), key=lambda kv: -kv[1]))


# ---- the phases, each run in a child process ------------------------------------------------------
async def bare_loop(urls: list[str], concurrency: int, cold: bool) -> dict:
    from playwright.async_api import async_playwright

    from auditor import browser as browsers

    started = time.monotonic()
    async with async_playwright() as pw:
        browser = await browsers.launch(pw, browsers.find_browser(None, pw))
        agents = browsers.user_agents(browser.version, "bench")
        queue: asyncio.Queue = asyncio.Queue()
        for url in urls:
            for device in ("desktop", "mobile"):
                queue.put_nowait((url, device))

        async def worker() -> None:
            pages, sessions = {}, {}  # one context and page per device, reused: the cheapest way to open pages
            while not queue.empty():
                url, device = queue.get_nowait()
                if device not in pages:
                    context = await browser.new_context(**browsers.PROFILES[device].context_options(agents[device]))
                    pages[device] = await context.new_page()
                    sessions[device] = await context.new_cdp_session(pages[device])
                if cold:  # what every visit of the audit pays to measure a first visit: an empty HTTP cache
                    await sessions[device].send("Network.clearBrowserCache")
                await pages[device].goto(url, wait_until="load")
            for page in pages.values():
                await page.context.close()

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        await browser.close()
    return {"wall_s": time.monotonic() - started, "visits": 2 * len(urls)}


def audit_run(start: str, pages: int, concurrency: int, out: Path, screenshots: str, warm: bool) -> dict:
    from auditor.audit import run_audit
    from auditor.config import build
    from auditor.rulebook import load_rulebook

    started = time.monotonic()
    first: list[float] = []

    def progress(done, total, page) -> None:
        if not first:
            first.append(time.monotonic() - started)

    # Every generated page shares one URL shape, which the crawl-trap cap would otherwise sample.
    settings = build({}, {"max_pages": pages, "max_depth": 5, "concurrency": concurrency, "max_per_pattern": pages,
                          "screenshots": screenshots, "warm_cache": warm})
    outcome = run_audit([start], settings, load_rulebook(), out, progress=progress)
    errors = [p.error.kind for p in outcome.pages if p.error]
    return {
        "wall_s": time.monotonic() - started,
        "first_page_s": first[0] if first else None,
        "pages": len(outcome.pages),
        "visits": sum(len(p.devices) for p in outcome.pages),
        "errors": errors,
        "score": outcome.report["score"],
        "phases": outcome.report.get("timings"),
    }


def child_main(args: argparse.Namespace) -> None:
    if args.phase == "bare":
        result = asyncio.run(bare_loop(json.loads(args.urls), args.concurrency, args.cold))
    else:
        result = audit_run(args.start, args.pages, args.concurrency, Path(args.out), args.screenshots, args.warm)
    print(json.dumps(result))


def run_phase(argv: list[str]) -> dict:
    own = resource.getrusage(resource.RUSAGE_SELF)  # this process serves the site: its CPU is the server's
    proc = subprocess.Popen([sys.executable, "-m", "tests.bench.bench", *argv], stdout=subprocess.PIPE, text=True)
    sampler = TreeSampler(proc.pid)
    sampler.start()
    stdout, _ = proc.communicate()
    sampler.done.set()
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"phase {argv[1]} failed with exit code {proc.returncode}")
    result = json.loads(stdout.strip().splitlines()[-1])
    result["peak_mb"] = sampler.peak_kb / 1024
    result["cpu_s"] = sampler.cpu_s
    result["cpu_by_kind"] = sampler.cpu_by_kind()
    now = resource.getrusage(resource.RUSAGE_SELF)
    result["sampler_cpu_s"] = sampler.own_cpu_s
    result["server_cpu_s"] = now.ru_utime + now.ru_stime - own.ru_utime - own.ru_stime - sampler.own_cpu_s
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=default_concurrency())
    parser.add_argument("--phases", default="bare,cold,audit,warm",
                        help="which phases to run, comma-separated (default: all four; ratios need two)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="rounds of the phases, interleaved; each phase is reported by its median round")
    parser.add_argument("--screenshots", choices=["css", "device", "off"], default="css",
                        help="the audit's screenshots (default css, as cro-audit's own default)")
    parser.add_argument("--latency", type=float, default=0, metavar="MS",
                        help="make the site server wait this long before every answer, as a site across the "
                             "internet does (default 0: loopback, where the audit is bound by CPU)")
    parser.add_argument("--phase", choices=["bare", "audit"], help=argparse.SUPPRESS)
    parser.add_argument("--cold", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--warm", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--urls", help=argparse.SUPPRESS)
    parser.add_argument("--start", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        child_main(args)
        return
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "site"
        paths = generate(root, total=args.pages)[: args.pages]
        with StaticSite(root, latency_ms=args.latency) as site:
            urls = [site.url + p.lstrip("/") for p in paths]
            print(f"{args.pages} pages x 2 devices, concurrency {args.concurrency}, {os.cpu_count()} cores, "
                  f"{args.repeat} round(s), audit screenshots {args.screenshots}"
                  + (f", {args.latency:g} ms server latency" if args.latency else ""), flush=True)
            bare_args = ["--phase", "bare", "--urls", json.dumps(urls), "--concurrency", str(args.concurrency)]
            audit_args = ["--phase", "audit", "--start", site.url, "--pages", str(args.pages),
                          "--concurrency", str(args.concurrency), "--screenshots", args.screenshots]
            argv = {"bare": bare_args, "cold": [*bare_args, "--cold"],
                    "audit": [*audit_args, "--out", str(Path(tmp) / "out")],
                    "warm": [*audit_args, "--out", str(Path(tmp) / "out-warm"), "--warm"]}
            wanted = [p for p in ("bare", "cold", "audit", "warm") if p in args.phases.split(",")]
            runs: dict[str, list[dict]] = {p: [] for p in wanted}
            for n in range(args.repeat):  # rounds interleave the phases, so a slow spell of the machine hits all
                for phase in wanted:
                    runs[phase].append(run_phase(argv[phase]))
                if args.repeat > 1:
                    print(f"  round {n + 1}: " + ", ".join(f"{p} {runs[p][-1]['wall_s']:.1f} s" for p in wanted), flush=True)
    report(runs)


def _median_run(runs: list[dict]) -> dict:
    return sorted(runs, key=lambda r: r["wall_s"])[len(runs) // 2]


def report(runs: dict[str, list[dict]]) -> None:
    """Each phase by its median round (by wall time); the audit's ratios to the floors, round by round."""
    chosen = {phase: _median_run(r) for phase, r in runs.items()}
    names = {"bare": "bare loop", "cold": "bare cold", "audit": "audit", "warm": "audit warm"}
    for phase, r in chosen.items():
        peak = max(x["peak_mb"] for x in runs[phase])
        print(f"{names[phase]:>10}: {r['wall_s']:6.1f} s wall, {r['visits'] / r['wall_s']:5.1f} visits/s, "
              f"{r['cpu_s']:6.1f} CPU s, peak {peak:6.0f} MB; site server {r['server_cpu_s']:.1f}, sampler {r['sampler_cpu_s']:.1f} CPU s")
    audit, bare, cold, warm = chosen.get("audit"), chosen.get("bare"), chosen.get("cold"), chosen.get("warm")

    def ratio(floor: str, phase: str = "audit") -> str:
        """Median and spread of the per-round ratios: each round's phases ran back to back."""
        walls = sorted(a["wall_s"] / b["wall_s"] for a, b in zip(runs[phase], runs[floor]))
        cpus = sorted(a["cpu_s"] / b["cpu_s"] for a, b in zip(runs[phase], runs[floor]))
        text = f"wall {walls[len(walls) // 2]:.2f}x, CPU {cpus[len(cpus) // 2]:.2f}x"
        return text + (f" (median of rounds; rounds {walls[0]:.2f}-{walls[-1]:.2f}x)" if len(walls) > 1 else "")

    for phase, run in (("audit", audit), ("warm", warm)):
        if run:
            firsts = sorted(a["first_page_s"] for a in runs[phase] if a["first_page_s"] is not None)
            print(f"{names[phase]:>10}: {run['pages']} pages, {run['pages'] / run['wall_s']:.2f} pages/s, first page "
                  f"after {firsts[len(firsts) // 2]:.2f} s, errors {run['errors'] or 'none'}, score {run['score']}")
    # Each audit against the loop that loads pages as it measures them: first visits against the cold loop,
    # --warm-cache against the warm one. The default audit against the warm loop is printed too: it holds
    # the cost of first visits themselves, which no audit that measures them can shed.
    print("      goal: each audit within 1.5x the bare loop that loads pages as it measures them; peak < 1500 MB; "
          "first page < 2 s")
    if audit and cold:
        print(f"  vs. cold: {ratio('cold')}; the audit (first visits) against the bare loop with the HTTP cache emptied "
              f"before each visit")
    if warm and bare:
        print(f"   warm vs. bare: {ratio('bare', 'warm')}; the audit with --warm-cache, whose pages after the start "
              f"page find its files cached as the bare loop's do")
    if audit and bare:
        print(f"     ratio: {ratio('bare')}; the audit (first visits) against the bare loop with its cache kept: "
              f"first visits' own cost included")
    for phase, r in chosen.items():
        print(f"{names[phase]:>10}: CPU by process: " + ", ".join(f"{k} {v:.1f} s" for k, v in r["cpu_by_kind"].items()))
    for phase, run in (("audit", audit), ("warm", warm)):
        if run and run.get("phases"):
            total = sum(run["phases"].values()) or 1
            parts = ", ".join(f"{k} {v:.1f} s ({100 * v / total:.0f}%)" for k, v in run["phases"].items())
            print(f"{names[phase]:>10}: where the visit time goes (summed over visits): {parts}")

if __name__ == "__main__":
    main()
