"""What a new score is set against: the site's last complete audit in the same folder, or the report.json
given with --baseline (a deploy check's reference run). It is read, never trusted: a report.json is a file
anyone may have edited."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from auditor.config import Settings
from auditor.facts import BROKEN_KINDS
from auditor.report import SCHEMA_VERSION
from auditor.urls import MAX_URL_LENGTH, BadURL, normalize, path_of

_ISO_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


class BaselineError(ValueError):
    """A --baseline that cannot be compared with: the message says why, in one line."""


def last_report(folder: Path) -> dict[str, Any] | None:
    """The report.json a folder holds, read once for everything a run sets against it (below), before the run
    writes its own over it."""
    return _read(folder / "report.json")


def previous_audit(old: dict[str, Any] | None, start_urls: list[str], settings: Settings,
                   resuming: str | None = None) -> dict[str, Any] | None:
    """From the folder's `last_report`: the last complete audit of the same start URLs, measured the same way
    (devices, throttle, cache), or None. The report of the run being resumed (`resuming` is its start time),
    partial or finished, passes on the one it compared with: a run is never compared with itself."""
    if old is None or old.get("start_urls") != start_urls or _measured_otherwise(old, settings):
        return None
    if old.get("partial") or old.get("score") is None or (resuming is not None and old.get("started_at") == resuming):
        # An interrupted run, or one that scored nothing (the site was down that night): it passes on the
        # audit it compared with, so a site back up is set against its last real score, and a site still
        # down can say when it was last reached.
        old = old.get("previous")
    return _summary(old) if isinstance(old, dict) else None


def finished_audit(old: dict[str, Any] | None, start_urls: list[str]) -> dict[str, Any] | None:
    """The folder's `last_report`, if it is a finished audit of the same start URLs that scored."""
    if old is None or old.get("start_urls") != start_urls or old.get("partial") or old.get("score") is None:
        return None
    return old


def complete_report(finished: dict[str, Any] | None) -> dict[str, Any] | None:
    """The summary of a `finished_audit`: what a run that can audit nothing (the site is down tonight) leaves
    in place rather than replace with an empty report."""
    return _summary(finished) if finished is not None else None


def not_compared(old: dict[str, Any] | None, start_urls: list[str], settings: Settings,
                 resuming: str | None = None) -> dict[str, Any] | None:
    """From the folder's `last_report`: a finished audit measured otherwise than this run ("without --warm-cache,
    this run with"), as its score, date and how it was measured, which report.json, the report and the terminal
    give as the reason the score is not set against it. None if there is none, or it compares. A resumed run
    (`resuming` is its start time) carries what its own partial report said, as `previous_audit` carries what
    it compared with; read back, it is held to the words this tool writes (they reach the terminal)."""
    if old is not None and resuming is not None and old.get("start_urls") == start_urls and old.get("started_at") == resuming:
        told = old.get("not_compared")
        measured = told.get("measured") if isinstance(told, dict) else None
        return _not_compared(told, measured) if isinstance(measured, str) and _MEASURED.fullmatch(measured) else None
    finished = finished_audit(old, start_urls)
    return _not_compared(finished, _measured_otherwise(finished, settings)) if finished is not None else None


_MEASURED = re.compile(r"on --devices [a-z,]{1,60}, this run on [a-z,]{1,60}|"
                       r"(with|without) --(throttle|warm-cache), this run (with|without)")


def _not_compared(audit: dict[str, Any], measured: str) -> dict[str, Any] | None:
    summary = _summary(audit) if measured else None
    return {"score": summary["score"], "finished_at": summary["finished_at"], "measured": measured} if summary else None


def load_baseline(path: Path, settings: Settings) -> dict[str, Any]:
    """The report.json a run is told to compare with, whatever site it audited (a review app's host changes
    on every deploy), as long as it was measured the same way."""
    if path.is_dir():
        inside = " (it holds one)" if (path / "report.json").is_file() else ""
        raise BaselineError(f"--baseline {path} is a folder: give the report.json file{inside}")
    if not path.is_file():
        raise BaselineError(f"--baseline {path}: no such file")
    old = _read(path)
    if old is None or not isinstance(old.get("settings"), dict) or not isinstance(old["settings"].get("devices"), list):
        raise BaselineError(f"--baseline {path} is not a report.json this cro-audit can read")
    if old.get("partial"):
        raise BaselineError(f"--baseline {path} is the report of an interrupted run: compare with a complete one")
    otherwise = _measured_otherwise(old, settings)
    if otherwise:
        raise BaselineError(f"--baseline {path} was measured {otherwise}: audit the same way to compare")
    summary = _summary(old)
    if summary is None:
        raise BaselineError(f"--baseline {path} has no score to compare with (no page could be audited)")
    return summary


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # none yet, or not ours
        return None
    return data if isinstance(data, dict) and data.get("schema_version") == SCHEMA_VERSION else None


def _measured_otherwise(old: dict[str, Any], settings: Settings) -> str:
    """How the old run measured, if not as this one does: scores of other devices or connections differ."""
    measured = old.get("settings") if isinstance(old.get("settings"), dict) else {}
    devices, throttled = measured.get("devices"), bool(measured.get("throttle"))
    if not isinstance(devices, list) or sorted(map(str, devices)) != sorted(settings.devices):  # the order is no matter
        shown = ",".join(d for d in devices if isinstance(d, str))[:60] if isinstance(devices, list) else "?"
        return f"on --devices {shown}, this run on {','.join(settings.devices)}"
    if throttled != settings.throttle:
        return "with --throttle, this run without" if throttled else "without --throttle, this run with"
    if bool(measured.get("warm_cache")) != settings.warm_cache:
        return "with --warm-cache, this run without" if measured.get("warm_cache") else "without --warm-cache, this run with"
    return ""


def _summary(old: dict[str, Any]) -> dict[str, Any] | None:
    score, when = old.get("score"), old.get("finished_at")
    if not (isinstance(score, int) and not isinstance(score, bool) and 0 <= score <= 100
            and isinstance(when, str) and _ISO_TIME.fullmatch(when)):
        return None
    summary: dict[str, Any] = {"score": score, "finished_at": when}
    # What the score covered, so a comparison can say when it is not like for like (another site, budget).
    if isinstance(old.get("summary"), dict):  # a report.json
        urls, pages = old.get("start_urls"), old["summary"].get("pages_audited")
        start = urls[0] if isinstance(urls, list) and urls else None
        broken = [p.get("url") for p in old.get("pages") or [] if isinstance(p, dict) and isinstance(p.get("error"), dict)
                  and p["error"].get("kind") in BROKEN_KINDS] if isinstance(old.get("pages"), list) else None
    else:  # the summary a resumed run passes on
        start, pages, broken = old.get("start_url"), old.get("pages_audited"), old.get("broken_paths")
    if isinstance(start, str) and 0 < len(start) <= MAX_URL_LENGTH:
        try:  # an edited file's text reaches the terminal and the report: only as a URL, escaped
            summary["start_url"] = normalize(start)
        except BadURL:
            pass
    if isinstance(pages, int) and not isinstance(pages, bool) and pages >= 0:
        summary["pages_audited"] = pages
    if isinstance(broken, list):  # by path: a baseline's host (a review app's) is not this run's
        summary["broken_paths"] = sorted({path for path in map(_path, broken[:MAX_BROKEN]) if path is not None})
    return summary


MAX_BROKEN = 500  # pages broken in a baseline that are remembered: a site of 10,000 404s is told by count


def _path(url: Any) -> str | None:
    """A path read from a file (a report.json's page URL, or a path a resumed run passed on), normalised as
    URLs are: an edited file's text reaches the terminal only escaped."""
    if not isinstance(url, str) or not url.startswith(("http://", "https://", "/")) or len(url) > MAX_URL_LENGTH:
        return None
    try:
        return path_of(normalize(url if "://" in url else f"http://site.invalid{url}"))
    except BadURL:
        return None
