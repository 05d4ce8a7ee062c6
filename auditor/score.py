"""Judging: rules over facts give findings and scores; findings over pages give the PIE backlog.

Pure functions of facts: no browser, no I/O. Category score = weighted mean of its rules' scores (rules that
do not apply weigh nothing); page score = weighted mean of its categories; site score = mean of page scores.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

from auditor.facts import DeviceFacts, Finding, PageResult
from auditor.rulebook import Rule, Rulebook, Verdict
from auditor.urls import is_conversion_path

FINDING_BELOW = 90  # a rule scoring under this on a device becomes a finding


def rounded(value: float) -> int:
    """Half up, as Lighthouse rounds (Python's round() would send 50.5 to 50)."""
    return int(math.floor(value + 0.5))


def band(score: float | None) -> str:
    """Lighthouse's bands, as users know them."""
    if score is None:
        return "n/a"
    return "good" if score >= 90 else "needs-work" if score >= 50 else "poor"


def severity(score: float) -> str:
    return "high" if score < 50 else "medium" if score < 75 else "low"


_SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2}


def _weighted_mean(pairs: list[tuple[float, float]]) -> float | None:
    total = sum(w for _, w in pairs)
    return sum(s * w for s, w in pairs) / total if total else None


def _devices_for(rule: Rule, page: PageResult) -> list[str]:
    measured = [d for d in rule.devices if d in page.devices]
    return measured if rule.per_device else measured[:1]


def _score(verdict: Verdict) -> int:
    """A verdict's score as the report gives it: 0-100, rounded."""
    return rounded(max(0.0, min(100.0, verdict.score)))


def slow_visit(facts: DeviceFacts, book: Rulebook) -> bool:
    """Whether a speed rule would make a finding of one visit's facts: the crawl measures such a visit again,
    alone (see Crawl._measure_again), before a client is told the page is slow."""
    for rule in book.rules:
        if rule.category == "speed" and facts.device in rule.devices:
            verdict = rule.check(facts, rule.thresholds)
            if verdict is not None and _score(verdict) < FINDING_BELOW:
                return True
    return False


def judge_page(page: PageResult, book: Rulebook) -> PageResult:
    """Fill in a page's findings and scores from its facts. A failed page keeps null scores."""
    page.findings, page.categories, page.score, page.rule_scores = [], {c: None for c in book.categories}, None, {}
    if page.error is not None and not page.devices:
        return page
    rule_scores: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for rule in book.rules:
        verdicts = []
        for device in _devices_for(rule, page):
            verdict = rule.check(page.devices[device], rule.thresholds)
            if verdict is None:
                continue
            score = _score(verdict)
            verdicts.append(score)
            if score < FINDING_BELOW:
                page.findings.append(
                    Finding(
                        rule_id=rule.id,
                        category=rule.category,
                        severity=severity(score),
                        score=score,
                        title=rule.failure_title,
                        message=verdict.message,
                        recommendation=rule.recommendation,
                        evidence=verdict.evidence,
                        device=device if rule.per_device else None,
                    )
                )
        if verdicts:
            rule_scores[rule.category].append((sum(verdicts) / len(verdicts), rule.weight))
            page.rule_scores[rule.id] = rounded(min(verdicts))
    for cat_id in book.categories:
        mean = _weighted_mean(rule_scores.get(cat_id, []))
        page.categories[cat_id] = None if mean is None else rounded(mean)
    page_mean = _weighted_mean(
        [(s, book.categories[c].weight) for c, s in page.categories.items() if s is not None]
    )
    page.score = None if page_mean is None else rounded(page_mean)
    # Worst band first, then by rule: a stable order, so two runs' reports diff cleanly when a timing
    # moves a score by a point or two (sorting by the score itself swapped findings from run to run).
    page.findings.sort(key=lambda f: (_SEVERITY_ORDER[f.severity], f.rule_id, f.device or ""))
    return page


@dataclass
class SiteScores:
    score: int | None
    categories: dict[str, int | None]


def site_scores(pages: list[PageResult], book: Rulebook) -> SiteScores:
    scored = [p for p in pages if p.score is not None]
    score = rounded(sum(p.score for p in scored) / len(scored)) if scored else None
    categories = {}
    for cat_id in book.categories:
        values = [p.categories[cat_id] for p in scored if p.categories.get(cat_id) is not None]
        categories[cat_id] = rounded(sum(values) / len(values)) if values else None
    return SiteScores(score, categories)


def page_value(page: PageResult) -> int:
    """How much a page weighs in a rule's importance: 3 where visitors convert (every buyer passes the
    checkout), 2 for a start page (where most visitors land), 1 for the rest. Practitioner guidance puts
    landing, pricing and checkout pages first once the fundamentals are fixed."""
    forms = any(f.field_count >= 3 for facts in page.devices.values() for f in facts.forms)
    if forms or is_conversion_path(page.final_url or page.url):
        return 3
    return 2 if page.depth == 0 else 1


def backlog(pages: list[PageResult], book: Rulebook) -> list[dict]:
    """What to fix first: one entry per failing rule, ranked by PIE (Potential, Importance, Ease; 1-10 each).

    Potential: how far below full marks the affected pages are. Importance: the rule's weight, scaled by the
    share of the audited pages' value it affects (see page_value: a checkout outweighs a blog post). Ease:
    the rule's declared ease of a typical fix.
    """
    audited = [p for p in pages if p.score is not None]
    value = {id(p): page_value(p) for p in audited}  # once per page, not once per page and failing rule
    total_value = sum(value.values())
    by_rule: dict[str, list[tuple[PageResult, int]]] = defaultdict(list)
    for page in audited:
        worst: dict[str, int] = {}
        for f in page.findings:
            worst[f.rule_id] = min(f.score, worst.get(f.rule_id, 100))
        for rule_id, score in worst.items():
            by_rule[rule_id].append((page, score))
    entries = []
    for rule_id, hits in by_rule.items():
        rule = book.get(rule_id)
        if rule is None:
            continue
        potential = max(1.0, sum(100 - s for _, s in hits) / len(hits) / 10)
        share = sum(value[id(p)] for p, _ in hits) / total_value
        importance = max(1.0, min(10.0, rule.weight * (0.5 + 0.5 * share)))
        pie = (potential + importance + rule.ease) / 3
        entries.append(
            {
                "rule_id": rule_id,
                "title": rule.failure_title,
                "category": rule.category,
                "pages": len(hits),
                "urls": [p.url for p, _ in hits][:20],
                "potential": round(potential, 1),
                "importance": round(importance, 1),
                "ease": rule.ease,
                "pie": round(pie, 1),
                "recommendation": rule.recommendation,
            }
        )
    entries.sort(key=lambda e: (-e["pie"], -e["pages"], e["rule_id"]))
    for rank, entry in enumerate(entries, 1):
        entry["rank"] = rank
    return entries
