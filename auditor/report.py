"""Rendering: the result as report.json (for programs) and report.html (for people).

Both are written atomically (a temporary file, then a rename), so a reader never sees half a report.
The HTML is rendered from the same dict as the JSON, with autoescaping on: nothing from the audited site
is ever trusted as markup.
"""

from __future__ import annotations

import base64
import json
import os
import re
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import jinja2

from auditor import __version__
from auditor.config import Settings, toml_text
from auditor.facts import BROKEN_KINDS, PageResult
from auditor.rulebook import Rulebook
from auditor.score import backlog, band, site_scores
from auditor.urls import readable

SCHEMA_VERSION = 1
TOOL = {"name": "cro-audit", "version": __version__}  # who wrote a report or an index, in both
_UMASK = os.umask(0)
os.umask(_UMASK)
DEFAULT_ACCENT = "#0b6bcb"

_env = jinja2.Environment(
    loader=jinja2.PackageLoader("auditor", "templates"),
    autoescape=jinja2.select_autoescape(enabled_extensions=("html", "j2"), default=True),
    trim_blocks=True,
    lstrip_blocks=True,
    undefined=jinja2.StrictUndefined,
)


def now_iso() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def build_report(
    pages: list[PageResult],
    book: Rulebook,
    settings: Settings,
    start_urls: list[str],
    started_at: str,
    partial: bool,
    browser_version: str = "",
    previous: dict[str, Any] | None = None,
    not_compared: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The report.json document (schema_version 1; see auditor/report.schema.json)."""
    site = site_scores(pages, book)
    findings = [f for p in pages for f in p.findings]
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {**TOOL, "browser": browser_version},
        "started_at": started_at,
        "finished_at": now_iso(),
        "partial": partial,
        "start_urls": start_urls,
        "client": settings.client,
        "settings": settings.public(),
        "score": site.score,
        "band": band(site.score),
        "previous": previous,
        "not_compared": not_compared,
        "categories": {
            cat.id: {"title": cat.title, "score": site.categories.get(cat.id), "weight": cat.weight}
            for cat in book.categories.values()
        },
        "summary": {
            "pages_audited": sum(1 for p in pages if p.score is not None),
            # Each page is in one count: a page one device measured and the other could not is audited, and
            # counted again only in pages_one_device; pages_failed are the pages nothing could be measured on.
            "pages_failed": sum(1 for p in pages if p.error is not None and p.score is None),
            "pages_one_device": sum(1 for p in pages if p.error is not None and p.score is not None),
            "pages_broken": sum(1 for p in pages if p.broken),  # a visitor meets the error too (on a device or all)
            "findings": {s: sum(1 for f in findings if f.severity == s) for s in ("high", "medium", "low")},
        },
        "backlog": backlog(pages, book),
        "pages": [p.to_dict() for p in pages],
    }


def issue_counts(report: dict[str, Any]) -> dict[str, int]:
    """Findings as report.html counts them: once per page and rule, at the worse severity of its devices. A rule
    that failed on desktop and on mobile is one problem to fix; summary.findings counts each device apart."""
    order = ("high", "medium", "low")
    counts = dict.fromkeys(order, 0)
    for page in report["pages"]:
        worst: dict[str, int] = {}
        for finding in page["findings"]:
            rank = order.index(finding["severity"])
            worst[finding["rule_id"]] = min(rank, worst.get(finding["rule_id"], rank))
        for rank in worst.values():
            counts[order[rank]] += 1
    return counts


def write_atomic(path: Path, data: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes files private; a report is an ordinary file
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def to_json(report: dict[str, Any]) -> str:
    """Stable, diffable JSON: fixed key order from the builder, two-space indent, a final newline."""
    return json.dumps(report, indent=2, ensure_ascii=False) + "\n"


LOGO_MAX_BYTES = 1024 * 1024


def image_type(data: bytes) -> str | None:
    """The image type a file's first bytes show, not its name: any file named logo.png would otherwise be
    embedded (and carried to a client) as one."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    head = data[:2048].decode("utf-8", "replace").lstrip("\ufeff \t\r\n")
    if head.startswith(("<svg", "<?xml", "<!--", "<!DOCTYPE svg", "<!doctype svg")) and "<svg" in head:
        return "image/svg+xml"  # shown through <img>, where an SVG's scripts never run
    return None


def branding_context(settings: Settings) -> dict[str, Any]:
    """The agency's name, logo (embedded, so the report stays one offline file) and accent colour."""
    brand = settings.branding
    logo = brand.get("logo")
    logo_uri = None
    if logo:
        path = Path(logo)
        if re.search(r"\bhttps?:/", str(logo)):  # joined to the config file's folder, https:// became https:/
            raise ValueError(f"branding logo must be an image file on this machine (it is embedded in every "
                             f"report), not a URL: {str(logo)[str(logo).index('http'):]}")
        if path.is_dir():
            raise ValueError(f"branding logo {logo} is a folder, not an image file")
        if not path.is_file():
            raise ValueError(f"branding logo {logo} does not exist")
        if path.stat().st_size > LOGO_MAX_BYTES:
            raise ValueError(f"branding logo {logo} is {path.stat().st_size // 1024} KB; "
                             f"use one under {LOGO_MAX_BYTES // 1024} KB, it is embedded in every report")
        data = path.read_bytes()
        mime = image_type(data)
        if mime is None:
            raise ValueError(f"branding logo {logo} is not a PNG, JPEG, GIF, WebP or SVG image")
        logo_uri = f"data:{mime};base64,{base64.b64encode(data).decode()}"
    accent = brand.get("accent", DEFAULT_ACCENT)
    if not (isinstance(accent, str) and accent.startswith("#") and len(accent) in (4, 7)
            and all(c in "0123456789abcdefABCDEF" for c in accent[1:])):
        raise ValueError(f"branding accent must be a colour like #0b6bcb, not {toml_text(accent)}")
    # A light accent (a yellow) under white text, or as the colour of links on white, cannot be read: the
    # top bar's text turns dark, and text that would be in the accent is in the ink colour instead.
    on_white = contrast(accent, "#ffffff")
    return {"name": brand.get("name", "cro-audit"), "logo_data_uri": logo_uri, "accent": accent,
            "accent_is_light": on_white < 3.0, "accent_reads_on_white": on_white >= 4.5}


def contrast(one: str, other: str) -> float:
    """WCAG contrast ratio of two #rgb/#rrggbb colours, 1 to 21."""

    def luminance(colour: str) -> float:
        digits = colour[1:] if len(colour) == 7 else "".join(c * 2 for c in colour[1:])
        channels = [int(digits[i:i + 2], 16) / 255 for i in (0, 2, 4)]
        r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    light, dark = sorted((luminance(one), luminance(other)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def _for_people(report: dict[str, Any], folder: Path | None) -> dict[str, Any]:
    """The report as the HTML shows it: worst page first, screenshots embedded so the file travels alone."""
    pages = sorted(report["pages"], key=lambda p: -1 if p["score"] is None else p["score"])
    if folder is not None:
        pages = [_embed_screenshots(p, folder) for p in pages]
    return {**report, "pages": pages}


def _embed_screenshots(page: dict[str, Any], folder: Path) -> dict[str, Any]:
    devices = {}
    for name, facts in page["devices"].items():
        shot = facts.get("screenshot")
        path = folder / shot if shot else None
        if path is not None and path.is_file():
            facts = {**facts, "screenshot": "data:image/jpeg;base64," + base64.b64encode(path.read_bytes()).decode()}
        devices[name] = facts
    return {**page, "devices": devices}


def _readable_urls(data: Any) -> dict[str, str]:
    """Every URL in `data` that reads better decoded (/café, not /caf%C3%A9), mapped to how it is shown;
    the links themselves keep the escaped form."""
    shown: dict[str, str] = {}
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str) and item[:4].lower() == "http" and "%" in item:
            text = readable(item)
            if text != item:
                shown[item] = text
    return shown


def render_html(report: dict[str, Any], branding: dict[str, Any], folder: Path | None = None) -> str:
    return _env.get_template("report.html.j2").render(report=_for_people(report, folder), branding=branding,
                                                      readable_urls=_readable_urls(report), broken_kinds=BROKEN_KINDS)


def render_index(sites: list[dict[str, Any]], branding: dict[str, Any], partial: bool = False,
                 settings: dict[str, Any] | None = None) -> str:
    """The batch's index page, worst first: sites that could not be audited, then sites with pages broken for
    visitors, then by score (index.json keeps the sites file's order). A site's score leaves out the pages that
    do not load, so 6 of 8 pages not found scored 95 and sat below clean sites of 92 (a trial)."""
    ranked = sorted(sites, key=lambda s: (bool(s.get("not_reached")), s.get("score") is not None, not s.get("broken_pages"),
                                          s.get("score") or 0, -(s.get("broken_pages") or 0), str(s.get("name"))))
    return _env.get_template("index.html.j2").render(sites=ranked, branding=branding, generated_at=now_iso(),
                                                     partial=partial, tool=TOOL, run_settings=settings or {},
                                                     readable_urls=_readable_urls([s.get("start_url") for s in sites]))


def write_report(out_dir: Path, report: dict[str, Any], branding: dict[str, Any]) -> Path:
    write_atomic(out_dir / "report.json", to_json(report))
    html_path = out_dir / "report.html"
    write_atomic(html_path, render_html(report, branding, out_dir))
    return html_path
