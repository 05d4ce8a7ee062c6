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
