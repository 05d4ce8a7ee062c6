"""The audit as a JUnit XML test report, for the test views of CI systems (GitLab, Jenkins, Azure, CircleCI).

Each audited page is a test suite; each rule that applied to it is a test case, named by the rule's id and
title (never by its result, so a CI system can follow one test from run to run), failed when the rule has
a finding there. A page that could not be audited has one case, "page loads": an error when a visitor
would meet the failure too, skipped when the auditor alone was kept out (robots.txt, a bot wall, a file).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any
from urllib.parse import urlsplit

from auditor.facts import PageResult
from auditor.rulebook import Rulebook
from auditor.urls import path_of

# Characters XML 1.0 cannot hold at all, escaped or not; a page's title may contain them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _text(value: Any) -> str:
    return _NOT_XML.sub("", str(value))


def _suites(report: dict[str, Any], pages: list[PageResult], book: Rulebook, prefix: str = "") -> list[ET.Element]:
    """A test suite per page; in a batch each suite's name starts with its site's (`prefix`)."""
    suites = []
    home = urlsplit((report.get("start_urls") or [""])[0]).netloc
    for page in pages:
        # Named by path on the first start URL's host: a review app's host changes with every merge
        # request, and a CI system knows a test by its suite's name.
        parts = urlsplit(page.url)
        suite = ET.Element("testsuite", name=_text(prefix + (path_of(page.url) if parts.netloc == home else page.url)),
                           hostname=_text(parts.netloc))
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}

        def case(name: str, classname: str) -> ET.Element:
            counts["tests"] += 1
            return ET.SubElement(suite, "testcase", name=_text(name), classname=_text(classname))

        loads = case("page loads", "cro-audit.page")
        if page.error is not None:
            outcome = "error" if page.broken else "skipped"
            counts["errors" if page.broken else "skipped"] += 1
            ET.SubElement(loads, outcome, type=page.error.kind, message=_text(page.error.message))
        for rule in book.rules:
            if rule.id not in page.rule_scores:
                continue  # the rule did not apply here (no form on the page, a device not measured)
            test = case(f"{rule.id} {rule.title}", f"cro-audit.{rule.category}")
            findings = [f for f in page.findings if f.rule_id == rule.id]
            if findings:
                counts["failures"] += 1
                worst = min(findings, key=lambda f: f.score)  # the lowest score has the highest severity
                told = " ".join(f"{f.device}: {f.message}" if f.device else f.message for f in findings)
                failure = ET.SubElement(test, "failure", type=worst.severity, message=_text(f"{worst.title}. {told}"))
                failure.text = _text(f"Score {page.rule_scores[rule.id]}/100. {told}\n\nWhat to do: {rule.recommendation}")
        for key, value in counts.items():
            suite.set(key, str(value))
        suites.append(suite)
    return suites


def _document(name: str, timestamp: str, suites: list[ET.Element]) -> str:
    root = ET.Element("testsuites", name=name, timestamp=_text(timestamp))
    for key in ("tests", "failures", "errors", "skipped"):
        root.set(key, str(sum(int(suite.get(key, "0")) for suite in suites)))
    root.extend(suites)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def render_junit(report: dict[str, Any], pages: list[PageResult], book: Rulebook) -> str:
    name = "cro-audit (partial: interrupted)" if report.get("partial") else "cro-audit"
    return _document(name, report.get("started_at", ""), _suites(report, pages, book))


def render_batch_junit(sites: list[tuple[str, Any, str | None]], book: Rulebook, started_at: str,
                       partial: bool = False) -> str:
    """One file for a batch's CI view: each site's page suites, named "<site> <path>", and for a site that
    could not be audited, one suite whose "site audits" case is an error. `sites`: (name, outcome, error)."""
    suites: list[ET.Element] = []
    for name, outcome, error in sites:
        if outcome is not None and not error:
            suites += _suites(outcome.report, outcome.pages, book, prefix=f"{name} ")
            continue
        suite = ET.Element("testsuite", name=_text(name), tests="1", failures="0", errors="1", skipped="0")
        case = ET.SubElement(suite, "testcase", name="site audits", classname="cro-audit.site")
        ET.SubElement(case, "error", type="site", message=_text(error or "not audited"))
        suites.append(suite)
    return _document("cro-audit batch (partial: interrupted)" if partial else "cro-audit batch", started_at, suites)
