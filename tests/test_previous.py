"""The previous audit a report is set against: the last complete one of the same site, in the same folder."""

from __future__ import annotations

import json

import pytest

from auditor.config import build


def _old_report(folder, **changes):
    report = {"schema_version": 1, "start_urls": ["https://a.example/"], "partial": False, "score": 71,
              "finished_at": "2026-11-20T03:00:00Z", "settings": {"devices": ["desktop", "mobile"], "throttle": False},
              "previous": None}
    report.update(changes)
    folder.mkdir(exist_ok=True)
    (folder / "report.json").write_text(json.dumps(report))


@pytest.mark.parametrize(("changes", "expected"), [
    ({}, {"score": 71, "finished_at": "2026-11-20T03:00:00Z"}),
    # a partial report is the run being resumed: it passes on what it compared with
    ({"partial": True, "score": 12, "previous": {"score": 64, "finished_at": "2026-11-19T03:00:00Z"}},
     {"score": 64, "finished_at": "2026-11-19T03:00:00Z"}),
    ({"partial": True, "score": 12}, None),
    ({"start_urls": ["https://b.example/"]}, None),  # a reused folder: another client's audit
    ({"settings": {"devices": ["mobile"], "throttle": False}}, None),  # measured another way
    ({"settings": {"devices": ["desktop", "mobile"], "throttle": True}}, None),
    ({"settings": {"devices": ["desktop", "mobile"], "throttle": False, "warm_cache": True}}, None),
    ({"score": None}, None),
    ({"score": True}, None),
    ({"score": 1000}, None),
    ({"finished_at": "<script>alert(1)</script>"}, None),
    ({"schema_version": 2}, None),
])
def test_the_previous_audit_is_the_last_complete_one_of_the_same_site_measured_alike(tmp_path, changes, expected):
    from auditor.baseline import last_report, previous_audit

    _old_report(tmp_path / "r", **changes)
    assert previous_audit(last_report(tmp_path / "r"), ["https://a.example/"], build({}, {})) == expected


@pytest.mark.parametrize("content", ["", "{not json", "[]", "\x00\x01"])
def test_no_previous_audit_from_a_missing_or_foreign_report_json(tmp_path, content):
    from auditor.baseline import last_report, previous_audit

    assert previous_audit(last_report(tmp_path), ["https://a.example/"], build({}, {})) is None
    (tmp_path / "report.json").write_text(content)
    assert previous_audit(last_report(tmp_path), ["https://a.example/"], build({}, {})) is None


@pytest.mark.parametrize(("changes", "message"), [
    ({"partial": True}, "is the report of an interrupted run"),
    ({"settings": {"devices": ["desktop", "mobile"], "throttle": True}}, "was measured with --throttle, this run without"),
    ({"settings": {"devices": ["desktop", "mobile"], "warm_cache": True}}, "was measured with --warm-cache, this run without"),
    ({"score": None}, "has no score to compare with"),
    ({"schema_version": 7}, "is not a report.json this cro-audit can read"),
])
def test_a_baseline_is_refused_with_the_reason(tmp_path, changes, message):
    from auditor.baseline import BaselineError, load_baseline

    _old_report(tmp_path, **changes)
    with pytest.raises(BaselineError, match=message):
        load_baseline(tmp_path / "report.json", build({}, {}))


def test_a_baseline_of_another_host_is_compared_with(tmp_path):
    """A review app's host changes on every deploy: the baseline is the user's choice, whatever its site."""
    from auditor.baseline import load_baseline

    _old_report(tmp_path, start_urls=["https://main.preview.example/"])
    assert load_baseline(tmp_path / "report.json", build({}, {})) == {"score": 71, "finished_at": "2026-11-20T03:00:00Z"}


def test_a_finished_run_resumed_is_not_compared_with_itself(tmp_path):
    """--resume on a run that had finished: its own report.json is in the folder, complete. A trial's second
    --resume said 'unchanged since' its own finish."""
    from auditor.baseline import last_report, previous_audit

    earlier = {"score": 64, "finished_at": "2026-11-19T03:00:00Z"}
    _old_report(tmp_path, started_at="2026-11-20T02:55:00Z", previous=earlier)
    settings = build({}, {})
    assert previous_audit(last_report(tmp_path), ["https://a.example/"], settings, resuming="2026-11-20T02:55:00Z") == earlier
    assert previous_audit(last_report(tmp_path), ["https://a.example/"], settings, resuming="2026-11-21T02:55:00Z")["score"] == 71
    assert previous_audit(last_report(tmp_path), ["https://a.example/"], settings)["score"] == 71


def test_a_resumed_run_still_says_which_audit_it_is_not_compared_with(tmp_path):
    """A warm-cache run stopped partway, then resumed: its partial report said the folder's last audit (first
    visits) was not compared with, and that report is what the folder then holds. The resumed run says it again,
    rather than nothing; words this tool did not write are not repeated."""
    from auditor.baseline import last_report, not_compared

    urls, warm, started = ["https://a.example/"], build({}, {"warm_cache": True}), "2026-11-21T02:55:00Z"
    said = {"score": 71, "finished_at": "2026-11-20T03:00:00Z", "measured": "without --warm-cache, this run with"}
    _old_report(tmp_path, partial=True, score=40, started_at=started, not_compared=said,
                settings={"devices": ["desktop", "mobile"], "warm_cache": True})
    assert not_compared(last_report(tmp_path), urls, warm, resuming=started) == said
    assert not_compared(last_report(tmp_path), urls, warm, resuming="2026-11-22T02:55:00Z") is None  # not this run's report
    assert not_compared(last_report(tmp_path), urls, warm) is None  # a new run: nothing finished to compare or not
    _old_report(tmp_path, partial=True, started_at=started, not_compared={**said, "measured": "\x1b[2Jhacked"})
    assert not_compared(last_report(tmp_path), urls, warm, resuming=started) is None


def test_the_same_devices_in_another_order_are_measured_alike(tmp_path):
    """A CI job with --devices mobile,desktop and a main-branch job with the default measured the same way."""
    from auditor.baseline import last_report, load_baseline, previous_audit

    _old_report(tmp_path)
    settings = build({}, {"devices": ["mobile", "desktop"]})
    assert load_baseline(tmp_path / "report.json", settings)["score"] == 71
    assert previous_audit(last_report(tmp_path), ["https://a.example/"], settings)["score"] == 71


def test_a_baseline_folder_or_a_bare_json_is_refused_with_the_reason(tmp_path):
    from auditor.baseline import BaselineError, load_baseline

    _old_report(tmp_path / "main")
    with pytest.raises(BaselineError, match=r"main is a folder: give the report.json file \(it holds one\)$"):
        load_baseline(tmp_path / "main", build({}, {}))
    (tmp_path / "bare.json").write_text('{"schema_version": 1}')
    with pytest.raises(BaselineError, match="bare.json is not a report.json this cro-audit can read"):
        load_baseline(tmp_path / "bare.json", build({}, {}))


def test_the_previous_audit_remembers_its_broken_pages_by_path(tmp_path):
    """--fail-on-broken tells a deploy's new broken pages from those the baseline had: by path, since a
    review app's host is not main's. An edited file's text comes back only as an escaped path."""
    from auditor.baseline import last_report, previous_audit

    pages = [{"url": "https://a.example/gone.html", "error": {"kind": "http_error"}},
             {"url": "https://a.example/ok.html", "error": None},
             {"url": "https://a.example/robots.html", "error": {"kind": "blocked_by_robots"}},  # not broken for a visitor
             {"url": "https://a.example/x?\x1b[31mred", "error": {"kind": "timeout"}},
             {"url": "javascript:alert(1)", "error": {"kind": "timeout"}}, "junk"]
    _old_report(tmp_path / "r", summary={"pages_audited": 3}, pages=pages)
    assert previous_audit(last_report(tmp_path / "r"), ["https://a.example/"], build({}, {})) == {
        "score": 71, "finished_at": "2026-11-20T03:00:00Z", "start_url": "https://a.example/", "pages_audited": 3,
        "broken_paths": ["/gone.html", "/x?%1B[31mred"]}
    passed_on = {"score": 64, "finished_at": "2026-11-19T03:00:00Z", "broken_paths": ["/old.html", "evil", 3]}
    _old_report(tmp_path / "r", partial=True, previous=passed_on)  # a resumed run passes on what it compared with
    assert previous_audit(last_report(tmp_path / "r"), ["https://a.example/"], build({}, {}))["broken_paths"] == ["/old.html"]


def test_a_first_visit_baseline_is_refused_to_a_warm_cache_run(tmp_path):
    """Pages measured with the start page's files cached load faster: against first visits, every page
    would seem to have improved."""
    from auditor.baseline import BaselineError, load_baseline

    _old_report(tmp_path)
    with pytest.raises(BaselineError, match="was measured without --warm-cache, this run with"):
        load_baseline(tmp_path / "report.json", build({}, {"warm_cache": True}))
