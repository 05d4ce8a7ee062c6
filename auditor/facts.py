"""The facts a browser visit produces: plain, typed, JSON-serialisable.

These field names are a public contract (report.json readers depend on them). Everything below the
browser layer (rules, scoring, reports) reads these objects and never a live page.
"""

from __future__ import annotations

import functools
import math
import re
import types
from dataclasses import MISSING, asdict, dataclass, field, fields
from typing import Any, Union, get_args, get_origin, get_type_hints

DEVICES = ("desktop", "mobile")


@dataclass
class Cta:
    """A visible call to action, in document order."""

    text: str
    kind: str  # button | input | role-button | link
    above_fold: bool
    x: float
    y: float
    width: float
    height: float
    contrast_ratio: float | None
    covered_by: str | None = None  # above the fold but hidden at its middle by this (a banner, a widget)
    large_text: bool = False  # WCAG large text (24 px, or 18.67 px bold): 3:1 contrast is enough


@dataclass
class Form:
    """A `form` element: how much it asks of a visitor."""

    field_count: int
    required_count: int
    fields: list[str] = field(default_factory=list)  # labels/names, for evidence


@dataclass
class DeviceFacts:
    """What one device profile saw on one page."""

    device: str
    viewport_width: int
    viewport_height: int
    title: str = ""
    load_ms: float | None = None
    ttfb_ms: float | None = None  # the server's wait: the document's first byte, from the start of navigation
    dom_content_loaded_ms: float | None = None
    fcp_ms: float | None = None
    lcp_ms: float | None = None
    cls: float | None = None
    request_count: int = 0
    transfer_bytes: int = 0
    nav_item_count: int = 0
    nav_items: list[str] = field(default_factory=list)
    link_count: int = 0
    internal_link_count: int = 0
    external_link_count: int = 0
    ctas: list[Cta] = field(default_factory=list)
    forms: list[Form] = field(default_factory=list)
    has_viewport_meta: bool = False
    document_width: int = 0
    horizontal_overflow: bool = False
    screenshot: str | None = None
    # Its timings were taken with other pages loading at once, a speed rule flagged them, and the time to measure
    # them again alone ran out (see Crawl._measure_again): they may read high, and the finding says so.
    crowded: bool = False

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DeviceFacts:
        """The facts as the page script reported them, held to their declared types (see `typed`)."""
        return typed(cls, data)


# ---- the boundary: what a page reports is untrusted --------------------------------------------------
# The fact script reads what the page made of its document: text with half a UTF-16 pair or a bidi
# override in it, timings that are NaN or Infinity; and a value read back from the run store or a remote
# browser is no more certain. Every value is held to its field's type here, where it enters Python, so
# nothing below (rules, the store, reports) meets one of the wrong kind.

_SURROGATE = re.compile("[\ud800-\udfff]")  # a lone UTF-16 half (JS allows it; UTF-8 files cannot hold it)
_INVISIBLE = re.compile("[\x00\u202a-\u202e\u2066-\u2069]")  # NUL, and bidi overrides that reorder a report line


def clean_text(text: str) -> str:
    """A page's string made safe to store and show: lone surrogates become U+FFFD, NUL and bidi overrides go."""
    return _INVISIBLE.sub("", _SURROGATE.sub("\ufffd", text))


def clean_strings(values: Any) -> list[str]:
    """A list of strings from a page, with anything else in it dropped."""
    return [clean_text(v) for v in values if isinstance(v, str)] if isinstance(values, list) else []


class _Invalid(Exception):
    pass


def _as(kind: Any, value: Any) -> Any:
    """`value` as `kind` (a field's type), or _Invalid."""
    origin = get_origin(kind)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in get_args(kind):
            return None
        for option in (a for a in get_args(kind) if a is not type(None)):
            try:
                return _as(option, value)
            except _Invalid:
                pass
        raise _Invalid
    if origin is list:
        if not isinstance(value, list):
            raise _Invalid
        (item,) = get_args(kind)
        kept = []
        for v in value:
            try:
                kept.append(_as(item, v))
            except _Invalid:
                pass  # one bad item (a CTA without text) leaves the others
        return kept
    if origin is dict or kind is Any:
        return value
    if kind is str and isinstance(value, str):
        return clean_text(value)
    if kind is bool and isinstance(value, bool):
        return value
    if kind in (int, float) and isinstance(value, (int, float)) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise _Invalid
        return round(value) if kind is int else float(value)
    if isinstance(kind, type) and hasattr(kind, "__dataclass_fields__") and isinstance(value, dict):
        return typed(kind, value)
    raise _Invalid


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return get_type_hints(cls)  # evaluates the string annotations: once per class, not once per visit


def typed(cls: type, data: dict[str, Any]) -> Any:
    """An instance of dataclass `cls` from `data`: unknown keys dropped, a value not of its field's type
    left at the field's default. A required field missing or invalid makes the whole item invalid."""
    hints = _hints(cls)
    values = {}
    for f in fields(cls):
        if f.name not in data:
            continue
        try:
            values[f.name] = _as(hints[f.name], data[f.name])
        except _Invalid:
            if f.default is MISSING and f.default_factory is MISSING:
                raise
    try:
        return cls(**values)
    except TypeError:  # a required field absent
        raise _Invalid from None


@dataclass
class PageError:
    """Why a page has no (or incomplete) facts. `kind` is one of ERROR_KINDS."""

    kind: str
    message: str


# The catalogue of page failures, so report readers can group and count them.
ERROR_KINDS = {
    "timeout": "The page did not finish loading within the page timeout.",
    "http_error": "The server answered with an HTTP error status (400 or above).",
    "not_html": "The URL does not serve an HTML document.",
    "redirect_loop": "The URL redirects in a loop or through too many hops.",
    "out_of_scope": "The page redirected, or tried to navigate, to another site; the auditor did not follow.",
    "network": "The server could not be reached.",
    "browser_crash": "The browser tab or the browser crashed while measuring.",
    "blocked_by_robots": "robots.txt disallows this URL for the auditor.",
    "refused": "The site turned the auditor away: bot protection (a challenge or block page) or a rate limit answered.",
    "measure_failed": "The page loaded but could not be measured.",
}

# The failures a visitor meets too (an error page, a page that never comes, a loop): what --fail-on-broken
# counts. A download, a hand-over to another site, a page robots.txt keeps the auditor from, or a bot wall
# that lets people through, is not broken.
BROKEN_KINDS = ("http_error", "timeout", "network", "redirect_loop", "browser_crash")
# Failures that may be gone on the next try (an outage, an overloaded server, a bot wall lifted): --resume
# asks these pages again, and those a server error (TRANSIENT_STATUS) failed. Any other HTTP error, a loop or
# a download is what the site is: asked again, it says the same.
PASSING_KINDS = ("refused", "network", "timeout", "browser_crash")
TRANSIENT_STATUS = {500, 502, 503, 504}  # a server error that may pass: retried, and asked again (a 4xx never is)


@dataclass
class Finding:
    rule_id: str
    category: str
    severity: str  # high | medium | low
    score: int
    title: str
    message: str
    recommendation: str
    evidence: dict[str, Any] = field(default_factory=dict)
    device: str | None = None


@dataclass
class PageResult:
    """One audited URL: its facts per device, and once judged, its scores and findings."""

    url: str
    final_url: str | None = None
    status_code: int | None = None
    depth: int = 0
    error: PageError | None = None
    devices: dict[str, DeviceFacts] = field(default_factory=dict)
    score: int | None = None
    categories: dict[str, int | None] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    links: list[str] = field(default_factory=list)  # in-scope links found, for the crawl; not reported
    canonical: str | None = None  # the URL the page names as its canonical one, for the crawl; not reported
    fingerprint: str | None = None  # a hash of its visible text, for the crawl to know copies; not reported
    found_on: str | None = None  # the audited page whose link led here (None: a start URL or from a sitemap)
    rule_scores: dict[str, int] = field(default_factory=dict)  # rule id -> its score here, for rules that applied
    server_error: bool = False  # a device failed on a server error that may pass (TRANSIENT_STATUS); not reported

    @property
    def broken(self) -> bool:
        """Whether a visitor would meet a failure here too (see BROKEN_KINDS)."""
        return self.error is not None and self.error.kind in BROKEN_KINDS

    @property
    def refused(self) -> bool:
        """Whether the site turned the auditor away here (a bot wall, a rate limit): the audit is incomplete."""
        return self.error is not None and self.error.kind == "refused"

    @property
    def passing_failure(self) -> bool:
        """Whether the page failed for a reason that may have passed since (the site was down, slow or
        turning the auditor away): what a resumed run asks again."""
        return self.error is not None and (self.error.kind in PASSING_KINDS or self.server_error)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("links")
        data.pop("canonical")
        data.pop("fingerprint")
        data.pop("rule_scores")  # judged afresh on every run, from the facts
        data.pop("server_error")
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PageResult:
        return cls(
            url=data["url"],
            final_url=data.get("final_url"),
            status_code=data.get("status_code"),
            depth=data.get("depth", 0),
            error=PageError(**data["error"]) if data.get("error") else None,
            devices={k: DeviceFacts.from_dict(v) for k, v in (data.get("devices") or {}).items()},
            score=data.get("score"),
            categories=data.get("categories") or {},
            findings=[Finding(**f) for f in data.get("findings") or []],
            links=data.get("links") or [],
            canonical=data.get("canonical"),
            fingerprint=data.get("fingerprint"),
            found_on=data.get("found_on"),
            server_error=bool(data.get("server_error")),
        )
