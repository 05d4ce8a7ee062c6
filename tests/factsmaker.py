"""Build browser-free facts for rule and scoring tests.

`desktop()` and `mobile()` return facts that pass every built-in rule with a (rounded) score of 100 and
leave FRM001 not applicable (no form); pass keyword arguments to spoil exactly the facts a test is about.
"""

from __future__ import annotations

from auditor.facts import Cta, DeviceFacts, Finding, Form, PageResult
from auditor.rulebook import Rulebook, load_rulebook

# The built-in rules these tests were written against. Selecting them by id keeps hand-computed page scores
# valid when a new built-in rule is added.
BUILTIN_IDS = ["CTA001", "CTA002", "FRM001", "MOB001", "MOB002", "MOB003", "NAV001", "NAV002", "SPD001", "SPD002", "SPD003"]

VIEWPORTS = {"desktop": (1366, 768), "mobile": (390, 844)}


def cta(text: str = "Get a quote", *, above: bool = True, y: float = 120, width: float = 200, height: float = 48,
        contrast: float | None = 7.0, kind: str = "button", covered_by: str | None = None, large_text: bool = False) -> Cta:
    return Cta(text=text, kind=kind, above_fold=above, x=20, y=y, width=width, height=height, contrast_ratio=contrast,
               covered_by=covered_by, large_text=large_text)


def form(field_count: int, required_count: int = 0, fields: list[str] | None = None) -> Form:
    return Form(field_count=field_count, required_count=required_count,
                fields=fields if fields is not None else [f"field{i}" for i in range(field_count)])


def facts(device: str, **overrides) -> DeviceFacts:
    width, height = VIEWPORTS[device]
    values = dict(
        device=device,
        viewport_width=width,
        viewport_height=height,
        title="Test page",
        load_ms=500.0,
        ttfb_ms=120.0,
        dom_content_loaded_ms=300.0,
        fcp_ms=250.0,
        lcp_ms=300.0,
        cls=0.0,
        request_count=12,
        transfer_bytes=250_000,
        nav_item_count=5,
        nav_items=["Home", "Shop", "About", "Blog", "Contact"],
        link_count=20,
        internal_link_count=18,
        external_link_count=2,
        ctas=[cta()],
        forms=[],
        has_viewport_meta=True,
        document_width=width,
        horizontal_overflow=False,
    )
    values.update(overrides)
    return DeviceFacts(**values)


def desktop(**overrides) -> DeviceFacts:
    return facts("desktop", **overrides)


def mobile(**overrides) -> DeviceFacts:
    return facts("mobile", **overrides)


def page(url: str = "https://example.test/", **devices: DeviceFacts) -> PageResult:
    return PageResult(url=url, final_url=url, status_code=200, devices=dict(devices))


def builtin_book(**kwargs) -> Rulebook:
    return load_rulebook(select=kwargs.pop("select", BUILTIN_IDS), **kwargs)


def finding(rule_id: str, score: int, device: str | None = None, category: str = "x") -> Finding:
    """A bare finding, for backlog tests that do not go through judge_page."""
    return Finding(rule_id=rule_id, category=category, severity="high", score=score, title="t", message="m",
                   recommendation="r", device=device)


def scored_page(url: str, score: int | None, findings: list[Finding] = (), categories: dict | None = None) -> PageResult:
    return PageResult(url=url, score=score, findings=list(findings), categories=dict(categories or {}))
