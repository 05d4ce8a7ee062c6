"""`cro-audit demo`: the bundled shop is audited offline and every planted problem is found."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import resources

import jsonschema


def test_demo_finds_every_planted_problem(tmp_path):
    out = tmp_path / "demo"
    result = subprocess.run([sys.executable, "-m", "auditor", "demo", "--out", str(out)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(out / "report.html")
    report = json.loads((out / "report.json").read_text())
    schema = json.loads(resources.files("auditor").joinpath("report.schema.json").read_text())
    jsonschema.validate(report, schema)
    found = {(p["url"].rsplit("/", 1)[1] or "index", f["rule_id"], f["device"]) for p in report["pages"] for f in p["findings"]}
    planted = {
        ("index", "NAV001", None),  # 11 top-level menu items
        ("index", "NAV002", None),  # 120 links
        ("products.html", "SPD001", "desktop"),  # a 3.5 s hero image
        ("contact.html", "FRM001", None),  # 14 fields
        ("consultation.html", "CTA001", "mobile"),  # the call to action is below the fold on a phone
        ("about.html", "MOB001", "mobile"),  # no viewport meta
        ("about.html", "MOB002", "mobile"),  # 1100 px fixed layout
    }
    assert planted <= found, planted - found
    pricing = next(p for p in report["pages"] if p["url"].endswith("pricing.html"))
    assert pricing["score"] >= 90  # the good example stays good
    assert ("consultation.html", "CTA001", "desktop") not in found
    assert report["backlog"][0]["rank"] == 1 and report["partial"] is False
    assert (out / "report.html").stat().st_size > 50_000  # screenshots embedded
