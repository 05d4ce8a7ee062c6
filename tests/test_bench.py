"""The benchmark the README tells users to run still runs: a small site, every phase, the lines it prints.
Its figures are not judged here (a shared machine's seconds are no test); only that they are reported."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_benchmark_runs_every_phase_and_reports_ratios_and_memory():
    result = subprocess.run([sys.executable, "-m", "tests.bench.bench", "--pages", "6", "--concurrency", "2",
                             "--screenshots", "off"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "6 pages x 2 devices, concurrency 2" in out and "audit screenshots off" in out
    assert re.search(r"audit: 6 pages, [\d.]+ pages/s, first page after [\d.]+ s, errors none", out)
    assert re.search(r"ratio: wall [\d.]+x, CPU [\d.]+x; the audit \(first visits\)", out) and "vs. cold: wall" in out
    assert "goal: each audit within 1.5x the bare loop that loads pages as it measures them" in out
    assert re.search(r"audit warm: 6 pages, [\d.]+ pages/s, first page after [\d.]+ s, errors none", out)
    assert re.search(r"warm vs. bare: wall [\d.]+x, CPU [\d.]+x", out)
    for phase in ("bare loop", "bare cold", "audit", "audit warm"):
        assert re.search(rf"{phase}: +[\d.]+ s wall, .* peak +\d+ MB", out), out
        assert re.search(rf"{phase}: CPU by process: .*(renderer|browser)", out), out
    audit_kinds = re.search(r"audit: CPU by process: (.*)", out).group(1)
    assert "browser" in audit_kinds and "renderer" in audit_kinds


def test_the_site_server_can_answer_as_a_distant_site_would(tmp_path):
    """The benchmark's --latency: every answer waits at least that long (a floor, which no slow spell of the
    machine can break), and is the same answer."""
    import time

    import httpx

    from auditor.serve import StaticSite

    (tmp_path / "index.html").write_text("<title>far</title>")
    with StaticSite(tmp_path, latency_ms=300) as site:
        started = time.monotonic()
        answer = httpx.get(site.url, timeout=10)
        waited = time.monotonic() - started
    assert answer.status_code == 200 and "<title>far</title>" in answer.text
    assert waited >= 0.3
