"""junit.xml holds whatever a site's text holds and stays well-formed XML."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from auditor.facts import Finding, PageError, PageResult
from auditor.junit import render_junit
from auditor.rulebook import load_rulebook


def test_hostile_text_stays_well_formed_and_escaped():
    hostile = 'Buy \x01\x1b[31m now ]]> <script>alert("x")</script> & \ud800 more'
    book = load_rulebook()
    rule = book.rules[0]
    measured = PageResult(url="http://127.0.0.1/a?x=<b>&y=]]>", rule_scores={rule.id: 10}, findings=[Finding(
        rule_id=rule.id, category=rule.category, severity="high", score=10, title=rule.failure_title,
        message=hostile, recommendation=rule.recommendation, device="mobile")])
    failed = PageResult(url="http://127.0.0.1/b", error=PageError("timeout", hostile))
    text = render_junit({"started_at": "2026-11-26T00:00:00Z"}, [measured, failed], book)
    root = ET.fromstring(text.encode("utf-8"))  # raises on anything XML cannot hold
    failure = root.find("testsuite/testcase/failure")
    assert failure.get("message").endswith('mobile: Buy [31m now ]]> <script>alert("x")</script> &  more')
    assert "<script>" not in text and "\x1b" not in text and "\x01" not in text
    assert root.find("testsuite[2]/testcase/error").get("type") == "timeout"
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("3", "1", "1")


def test_suites_are_named_by_path_on_the_start_host_and_a_partial_run_says_so():
    book = load_rulebook()
    pages = [PageResult(url="https://review-123.example.com/pricing?plan=pro"), PageResult(url="https://other.example/x")]
    report = {"started_at": "2026-11-26T00:00:00Z", "partial": True, "start_urls": ["https://review-123.example.com/"]}
    root = ET.fromstring(render_junit(report, pages, book).encode("utf-8"))
    assert [(s.get("name"), s.get("hostname")) for s in root] == [
        ("/pricing?plan=pro", "review-123.example.com"), ("https://other.example/x", "other.example")]
    assert root.get("name") == "cro-audit (partial: interrupted)"
