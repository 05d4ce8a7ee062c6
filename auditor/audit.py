"""One audit, end to end: crawl and measure, judge, write the report. The CLI and the demo call this.

Ctrl-C and SIGTERM do not lose work: the crawl stops, and the report of what was finished is written,
marked partial.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import signal
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from auditor.baseline import complete_report, finished_audit, last_report, load_baseline, not_compared, previous_audit
from auditor.config import ConfigError, Settings, check_client, unreadable
from auditor.crawl import Crawl, ProgressFn, tell_stage
from auditor.facts import PageResult
from auditor.junit import render_batch_junit, render_junit
from auditor.pdf import print_pdf
from auditor.report import TOOL, branding_context, build_report, now_iso, render_index, to_json, write_atomic, write_report
from auditor.rulebook import Rulebook
from auditor.score import band, judge_page, slow_visit
from auditor.store import SCREENSHOT_NAME, STORE_NAME, FolderBusy, RunStore, lock_folder, unlock_folder
from auditor.urls import BadURL, PathGiven, normalize, origin_of



class UsageError(ValueError):
    """Bad input from the user (exit code 2); the message is one line per problem."""


@dataclass
class Outcome:
    report: dict[str, Any]
    html_path: Path
    pages: list[PageResult]
    interrupted: bool
    signal_name: str | None = None
    browser_lost: str | None = None  # the browser went away mid-run and could not be reached again
    links_checked: int = 0  # links past the budget asked for their status (--fail-on-broken)
    kept: dict[str, Any] | None = None  # nothing could be audited: the folder's earlier report (its summary) stays

    @property
    def unlike(self) -> str:
        """How the folder's last audit was measured, if not as this run ("without --warm-cache, ..."): not compared."""
        return (self.report.get("not_compared") or {}).get("measured", "")

    @property
    def unreachable(self) -> list[PageResult]:
        """The start URLs, when none of them could be audited and nothing else was: no usable start URL."""
        return _unreachable(self.pages, self.interrupted)


def _unreachable(pages: list[PageResult], interrupted: bool) -> list[PageResult]:
    if interrupted or any(p.score is not None for p in pages):
        return []
    starts = [p for p in pages if p.depth == 0]
    return starts if starts and all(p.error is not None for p in starts) else []


def credentials_in(raw: list[str]) -> str | None:
    """`user:password` written into a start URL (https://user:pw@staging.example/), taken out of it."""
    for text in raw:
        try:
            parts = urlsplit(text.strip())
            if parts.username is not None:
                return f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        except ValueError:
            continue
    return None


def _shape(settings: Settings) -> dict[str, Any]:
    """The settings every page of one run must share: a resumed run may grow its budget, but pages measured
    on other devices or with other screenshots would make a report that contradicts itself."""
    return {"devices": settings.devices, "screenshots": settings.screenshots, "throttle": settings.throttle,
            "warm-cache": settings.warm_cache}


def _check_same_shape(store: RunStore, settings: Settings) -> None:
    stored = json.loads(store.get_meta("shape") or "{}")
    now = _shape(settings)
    changed = [f"--{key} {_flag_value(stored[key])} (now {_flag_value(now[key])})" for key in stored
               if key in now and stored[key] != now[key]]
    if changed:
        store.close()
        raise UsageError(f"{store.path} belongs to a run with {', '.join(changed)}: resume with the same "
                         "settings, or start afresh without --resume")


def _flag_value(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    return ",".join(value) if isinstance(value, list) else str(value)


_PASSWORD_HINT = "a password with / ? # @ or a space in it is written %2F %3F %23 %40 %20"


def _password_in(url: str) -> str:
    """The password a URL seems to hold: after the user name, up to the last @ (a / or # in it ends the host
    for a parser, not for the person who typed it). Over-reads rather than under-reads: it is only hidden."""
    rest = url.split("://", 1)[-1]
    userinfo = rest.rsplit("@", 1)[0] if "@" in rest else ""
    return userinfo.split(":", 1)[1] if ":" in userinfo else ""


def _without_password(url: str, message: str) -> str:
    """`message` about `url` with its password as ***, and how to write one: an error line lands in CI logs."""
    password = _password_in(url)
    if not password:
        return message
    message = message.replace(f":{password}@", ":***@")  # where the URL is echoed
    if len(password) >= 4:  # anywhere else it may be cut short; a shorter one would hide words of the message
        message = message.replace(password, "***")
    return f"{message} ({_PASSWORD_HINT})"


def _other_origin(raw: list[str]) -> str | None:
    """The scheme, host and port of the first valid URL among `raw`: a path given beside it is likely its site's."""
    for text in raw:
        try:
            return origin_of(normalize(text))
        except BadURL:
            continue
    return None


def start_urls_from(raw: list[str]) -> list[str]:
    urls: list[str] = []
    for text in raw:
        if not text.strip():  # `cro-audit audit "$URL"` with the variable unset
            raise UsageError("an empty URL was given: give a site's address, like https://example.com")
        try:
            url = normalize(text)
        except BadURL as exc:
            origin = _other_origin(raw) if isinstance(exc, PathGiven) else None
            if origin is not None:  # `audit https://shop.example/ /pricing`: the path is likely that site's
                exc = PathGiven(exc.path, origin)
            raise UsageError(_without_password(text, f"{text.strip()[:200]}: {exc}")) from None
        if url not in urls:
            urls.append(url)
    if not urls:
        raise UsageError("give at least one URL to audit")
    return urls


def hosts_of(start_urls: list[str]) -> list[str]:
    """The sites start URLs name, www. or not: more than one is one audit of them together, one score and one
    report, which audit and batch say, since two sites on one line or command are most often a slip."""
    return list(dict.fromkeys(urlsplit(u).netloc.removeprefix("www.") for u in start_urls))


def run_audit(
    raw_urls: list[str],
    settings: Settings,
    book: Rulebook,
    out_dir: Path,
    resume: bool = False,
    progress: ProgressFn | None = None,
    baseline: Path | None = None,
) -> Outcome:
    start_urls = start_urls_from(raw_urls)  # user:password is dropped from the URLs here...
    if settings.auth is None:  # ...and kept only as this site's HTTP auth (a copy: batch sites share settings)
        settings = replace(settings, auth=credentials_in(raw_urls))
    branding = branding_context(settings)  # a broken logo fails before the crawl, not after
    previous = load_baseline(baseline, settings) if baseline else None  # a bad one is told before the crawl
    started_at = now_iso()
    try:
        store = RunStore(out_dir, start_urls, resume)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    except (OSError, sqlite3.Error) as exc:  # found before the crawl, not after it
        raise UsageError(f"cannot write to the report folder {out_dir}: {_reason(exc)}") from None
    try:  # the folder stays this run's until its report is written
        if resume:
            earlier = store.get_meta("started_at")
            if earlier is None and getattr(progress, "notice", None) is not None:  # a typo in --out, or a first run
                progress.notice(f"Nothing to resume in {out_dir}: starting a new run.")  # type: ignore[union-attr]
            started_at = earlier or started_at
            _check_same_shape(store, settings)
        last = last_report(out_dir)  # read before this run writes its report over the last one
        resuming = started_at if resume else None
        measured_otherwise = None  # the last audit, if measured another way: said, not compared with
        if not baseline:
            previous = previous_audit(last, start_urls, settings, resuming=resuming)
            measured_otherwise = not_compared(last, start_urls, settings, resuming=resuming)
        earlier = complete_report(finished_audit(last, start_urls))
        store.set_meta("started_at", started_at)
        store.set_meta("shape", json.dumps(_shape(settings)))
        crawl = Crawl(settings, start_urls, out_dir, store=store, progress=progress,
                      slow=lambda facts: slow_visit(facts, book))
        pages, caught = _crawl(crawl, store, resume)
        with _held_signals(caught):  # a report begun is finished: stopping halfway would leave last night's files
            tell_stage(progress, "writing the report")
            for page in pages:
                judge_page(page, book)
            report = build_report(pages, book, settings, start_urls, started_at, partial=crawl.interrupted,
                                  browser_version=crawl.browser_version, previous=previous,
                                  not_compared=measured_otherwise)
            # Why a partial run stopped, for the report to say rather than guess: a signal's name, or the browser.
            stopped_by = caught[0] if caught else "browser" if crawl.browser_lost else None
            report["stopped_by"] = stopped_by if crawl.interrupted else None
            report["timings"] = {step: round(seconds, 2) for step, seconds in crawl.timings.items()}
            report["not_followed"] = crawl.frontier.not_followed()
            # A site down tonight leaves last night's report (and its screenshots, PDF) as it was: an empty
            # report in its place would lose the deliverable the index still points to.
            kept = earlier if earlier is not None and _unreachable(pages, crawl.interrupted) else None
            html_path = out_dir / "report.html" if kept else _write(out_dir, report, pages, book, settings, branding, progress)
        return Outcome(report, html_path, pages, crawl.interrupted, caught[0] if caught else None, crawl.browser_lost,
                       crawl.links_checked, kept)
    finally:
        store.release()


def _crawl(crawl: Crawl, store: RunStore, resume: bool) -> tuple[list[PageResult], list[str]]:
    """Run the crawl, Ctrl-C and SIGTERM stopping it (not the process): the pages finished, and the signals heard."""
    caught: list[str] = []

    def unheard(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        """A signal sent to the whole process group (a cancelled CI job, Ctrl-C) ends the Playwright driver
        too; the connection's error, which nothing is left to hear, is no news then."""
        if not (caught and "Connection closed" in str(context.get("exception"))):
            loop.default_exception_handler(context)

    async def main() -> list[PageResult]:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(unheard)
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, lambda s=sig: (caught.append(s.name), crawl.stop()))
        try:
            return await crawl.run()
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)

    try:
        pages = asyncio.run(main())
    except BaseException:
        if not (crawl.interrupted or caught):
            if not resume:
                store.discard_if_empty()
            raise
        # Interrupted while the browser was starting or stopping: keep what was finished.
        crawl.interrupted = True
        crawl.leave_unreached()
        pages = [crawl.results[k] for k in sorted(crawl.results)]
    finally:
        store.close()
    return pages, caught


def _write(out_dir: Path, report: dict[str, Any], pages: list[PageResult], book: Rulebook, settings: Settings,
           branding: dict[str, Any], progress: ProgressFn | None) -> Path:
    """report.json and report.html, and junit.xml and report.pdf if asked for; the HTML's path."""
    try:
        for extra in ("junit.xml", "report.pdf"):  # an earlier run's (another client's, in a reused --out)
            (out_dir / extra).unlink(missing_ok=True)  # must not sit beside this report, even if printing fails
        html_path = write_report(out_dir, report, branding)
        sweep_screenshots(out_dir, pages)
        if settings.junit:
            write_atomic(out_dir / "junit.xml", render_junit(report, pages, book))
        if settings.pdf:
            tell_stage(progress, "printing the PDF")
            write_atomic(out_dir / "report.pdf", print_pdf(html_path.read_text(encoding="utf-8"), settings))
    except OSError as exc:
        raise UsageError(f"cannot write the report in {out_dir}: {_reason(exc)}; the pages measured are kept in "
                         f"its {STORE_NAME}: make room or fix the folder, then run again with --resume") from None
    except ValueError as exc:  # the PDF: everything else is written
        raise UsageError(f"report.html and report.json are written, but the PDF could not be printed: {exc}") from None
    return html_path


def sweep_screenshots(out_dir: Path, pages: list[PageResult]) -> None:
    """An earlier run's screenshots go once this run's report is written, not when it starts: a run that
    audits nothing keeps the earlier report, and it must keep its pictures. Only files named as the crawl
    names them: the folder may hold the user's own."""
    wanted = {Path(f.screenshot).name for p in pages for f in p.devices.values() if f.screenshot}
    for old in (out_dir / "screenshots").glob("*.jpg"):
        if SCREENSHOT_NAME.fullmatch(old.name) and old.name not in wanted:
            old.unlink(missing_ok=True)


@contextlib.contextmanager
def _held_signals(caught: list[str]) -> Iterator[None]:
    """Ctrl-C or SIGTERM while the report is written is heard (and the run exits 130 after), not obeyed at once."""
    held = (signal.SIGINT, signal.SIGTERM)
    before = {sig: signal.signal(sig, lambda number, _: caught.append(signal.Signals(number).name)) for sig in held}
    try:
        yield
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)


def _reason(exc: BaseException) -> str:
    """An OS error as a person says it: 'Read-only file system (/srv/r)', not '[Errno 30] ...'."""
    if isinstance(exc, OSError) and exc.strerror:
        name = exc.filename2 or exc.filename  # of a rename, the file it was to become, not the temporary one
        if isinstance(exc, (FileExistsError, NotADirectoryError)) and name:  # --out names a file, or a path through one
            blocking = next((p for p in (Path(name), *Path(name).parents) if p.is_file()), None)
            if blocking is not None:
                return f"{blocking} is a file, not a folder"
        return f"{exc.strerror} ({name})" if name else exc.strerror
    return str(exc)


@dataclass
class BatchSite:
    name: str
    urls: list[str]
    auth: str | None = None  # user:password written in this site's line: this site's, not the batch's
    client: str | None = None  # the label before a `|` on its line: who its report is for


MAX_BAD_LINES = 10  # told one by one; past this the file is likely not a sites file at all
# Commas and semicolons run into the next URL (`https://a.example/,https://a.example/shop`, as a CSV saves a row).
_GLUED = re.compile(r"[,;]+(?=https?://)", re.IGNORECASE)


def _line_words(text: str) -> list[str]:
    """The start URLs of a sites-file line. A comma or semicolon between them separates them as a space
    does (lines pasted from a spreadsheet): one ending or starting a word, one on its own, or one right
    before http(s)://. A comma within a URL (/p?ids=1,2, /wiki/Washington,_D.C.) is part of it, and so is
    one before http(s):// in a query, where a value may be a list of URLs; a URL that ends in , or ; loses it."""
    words = []
    for word in text.split():
        start = 0
        for match in _GLUED.finditer(word):
            if "?" not in word[start:match.start()]:
                words.append(word[start:match.start()])
                start = match.end()
        words.append(word[start:])
    return [w for w in (word.strip(",;") for word in words) if w]


def read_sites(path: Path, notice: Callable[[str], None] | None = None) -> list[BatchSite]:
    """A sites file: one site per line, its start URL(s) separated by spaces, commas or semicolons, after an
    optional client label and one `|` (`Acme Corp | https://acme.example/`); `#` starts a comment. A line
    that repeats an earlier one is skipped (and `notice` told): it would audit the same site twice.
    Every bad line is told at once, a line each, so a long file is fixed in one go, not one run per typo."""
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()  # -sig: Notepad starts its files with a BOM
    except UnicodeDecodeError:  # Notepad's "Unicode" is UTF-16
        raise UsageError(f"{path}: is not UTF-8 text; save it as UTF-8 (in Notepad: Save as, Encoding UTF-8)") from None
    except OSError as exc:
        raise UsageError(unreadable(path, exc)) from None
    sites: list[BatchSite] = []
    bad: list[str] = []
    notes: list[str] = []  # told only if the file is used: beside its errors they are noise
    first_line: dict[tuple[str, ...], tuple[int, int]] = {}  # a site's URLs -> its line, its place in `sites`
    for number, line in enumerate(lines, 1):
        text, client = line, None
        label, bar, rest = line.partition("|")
        # `Acme Corp | https://acme.example/`, read before comments: "Store #12 |" is a name. A | inside a
        # URL, or after a #, is no label.
        if bar and "://" not in label and not label.lstrip().startswith("#"):
            try:
                client = check_client(label)
            except ConfigError as exc:
                bad.append(f"{path}, line {number}: the label before | {str(exc).removeprefix('client ')}")
                continue
            between, another, _ = rest.split("#", 1)[0].partition("|")
            if another and "://" not in between:  # `Two | pipes | https://...`; a | after a URL is in its query
                bad.append(f"{path}, line {number}: a line takes one client name before one | (a name cannot hold a |)")
                continue
            text = rest
        tokens = _line_words(text.split("#", 1)[0])
        if not tokens:
            if client is not None:
                bad.append(f"{path}, line {number}: {client} | names no start URL")
            continue
        if len(tokens) > 1 and "@" not in line and not any("." in t or ":" in t for t in tokens):
            # Words, not addresses ("not a url", a client name without its |): told as a whole line, not as
            # its first word being a bad URL.
            shown = " ".join(tokens)[:60]
            bad.append(f"{path}, line {number}: \"{shown}\" is not a start URL (a line holds a site's URL, like "
                       "https://example.com/, after an optional client name and a |)")
            continue
        words = list(itertools.takewhile(lambda t: "://" not in t and "." not in t, tokens))
        if words and len(words) < len(tokens) and client is None and "@" not in line:  # `Acme Corp https://acme.example/`
            name = " ".join(words)[:60]
            bad.append(f"{path}, line {number}: \"{name}\" is not a URL; a client's name goes before a | "
                       f"({name} | {tokens[len(words)][:80]})")
            continue
        try:
            urls = start_urls_from(tokens)
        except UsageError as exc:
            if "@" in line and "@" not in str(exc):  # a login the line's spaces (or a #) cut apart: not echoed
                exc = UsageError("not a valid start URL; it seems to hold a login (user:password@host), not repeated "
                                 f"here: {_PASSWORD_HINT}")
            bad.append(f"{path}, line {number}: {exc}")
            continue
        key = tuple(sorted(urls))
        auth = credentials_in(tokens)
        if key in first_line:
            other = "" if auth == sites[first_line[key][1]].auth else " (with another login: the first is used)"
            notes.append(f"{path}, line {number}: the same site as line {first_line[key][0]}{other}, skipped.")
            continue
        hosts = hosts_of(urls)
        if len(hosts) > 1:  # several start URLs of one site, or two sites by mistake
            notes.append(f"{path}, line {number}: {', '.join(hosts)} are audited together, as one site and one "
                         "report; put each on its own line to audit them apart.")
        first_line[key] = (number, len(sites))
        sites.append(BatchSite(site_folder(urls[0]), urls, auth, client))
    if bad:
        more = len(bad) - MAX_BAD_LINES
        if more > 0:
            bad = [*bad[:MAX_BAD_LINES], f"{path}: {more} more bad line{'s' * (more != 1)}, not shown"]
        raise UsageError("\n".join(bad))
    if not sites:
        raise UsageError(f"{path} lists no sites (one start URL per line)")
    for note in notes if notice is not None else []:
        notice(note)
    _name_apart(sites)
    return sites


def _name_apart(sites: list[BatchSite]) -> None:
    """Sites of one host get folders named by their start URLs, not by their lines' order: with `-2` for
    the second line, swapping two lines swapped their folders, and each client's report went over the
    other's (a trial). Of a host's sites, the one with the first start URL (the home page, if one starts
    there) keeps the host's name, so a site that was alone on its host keeps its folder."""
    hosts: dict[str, list[BatchSite]] = {}
    for site in sites:
        hosts.setdefault(site.name, []).append(site)
    taken = set(hosts)
    for name, group in hosts.items():
        for site in sorted(group, key=lambda s: s.urls[0])[1:]:
            parts = urlsplit(site.urls[0])
            slug = re.sub(r"[^a-z0-9.]+", "-", f"{parts.path}?{parts.query}".lower()).strip(".-")[:60].strip(".-")
            candidate, n = f"{name}-{slug}" if slug else f"{name}-2", 2
            while candidate in taken:
                n += 1
                candidate = f"{name}-{slug}-{n}" if slug else f"{name}-{n}"
            site.name = candidate
            taken.add(candidate)


def site_folder(url: str) -> str:
    """A folder name for a site: its host, made safe for any file system."""
    host = urlsplit(url).hostname or "site"
    port = urlsplit(url).port
    name = re.sub(r"[^a-z0-9.-]+", "-", host.lower()).strip(".-") or "site"
    return f"{name}-{port}" if port else name


def _named(progress: ProgressFn | None, name: str) -> ProgressFn | None:
    """A batch's progress whose notices (a resume, a 429 pause) name the site: among many sites' lines, a
    bare "Resuming: 3 pages kept" belongs to no one."""
    notice = getattr(progress, "notice", None)
    if progress is None or notice is None:
        return progress

    class Named:
        def __call__(self, *args: Any) -> None:
            progress(*args)

        def notice(self, text: str) -> None:
            notice(f"{name}: {text.lstrip()}")  # an indented follow-up line, under the site's name, needs no indent

        def __getattr__(self, attribute: str) -> Any:  # stage(), and whatever else the progress offers
            return getattr(progress, attribute)

    return Named()


def run_batch(
    sites: list[BatchSite],
    settings: Settings,
    book: Rulebook,
    out_dir: Path,
    resume: bool = False,
    progress: ProgressFn | None = None,
    on_site: Callable[[BatchSite, Outcome | None, str | None], None] | None = None,
) -> tuple[list[dict[str, Any]], bool]:
    """Audit each site into out_dir/<site>/, then write out_dir/index.html. Returns the index rows and
    whether the batch was interrupted. One site's failure is a row with an error, never the batch's end."""
    branding = branding_context(settings)
    try:  # the whole batch folder, not site by site: an overlapping batch would fail every other site of both
        out_dir.mkdir(parents=True, exist_ok=True)
        held = lock_folder(out_dir, "batch")
    except FolderBusy as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise UsageError(f"cannot write to the batch folder {out_dir}: {_reason(exc)}") from None
    try:
        return _audit_sites(sites, settings, book, out_dir, resume, progress, on_site, branding)
    finally:
        unlock_folder(held)


def _audit_sites(
    sites: list[BatchSite],
    settings: Settings,
    book: Rulebook,
    out_dir: Path,
    resume: bool,
    progress: ProgressFn | None,
    on_site: Callable[[BatchSite, Outcome | None, str | None], None] | None,
    branding: dict[str, Any],
) -> tuple[list[dict[str, Any]], bool]:
    rows: list[dict[str, Any]] = []
    done: list[tuple[str, Outcome | None, str | None]] = []  # for the batch's junit.xml
    started_at = now_iso()
    interrupted = False
    for site in sites:
        outcome, error = None, None
        try:
            # Only the site's own line names its client: a shared config's client on every unlabelled site
            # would hand one client a report with another's name on it.
            own = replace(settings, auth=site.auth or settings.auth, client=site.client)
            outcome = run_audit(site.urls, own, book, out_dir / site.name, resume=resume, progress=_named(progress, site.name))
        except (UsageError, ValueError) as exc:
            error = str(exc)
        if outcome is not None and outcome.unreachable:
            error = f"cannot audit {outcome.unreachable[0].url}: {outcome.unreachable[0].error.message}"
        if on_site is not None:
            on_site(site, outcome, error)
        done.append((site.name, outcome, error))
        score = outcome.report["score"] if outcome and not error else None
        rows.append({
            "name": site.name,
            "client": site.client,
            "start_url": site.urls[0],
            "score": score,
            "band": band(score),  # as report.json names it
            # The site's last audit here: what its score moved from, or, if it could not be audited, when it last was.
            "previous": outcome.report["previous"] if outcome else None,
            "not_compared": outcome.report["not_compared"] if outcome else None,  # its last audit here, measured otherwise
            "pages": outcome.report["summary"]["pages_audited"] if outcome else None,
            "broken_pages": outcome.report["summary"]["pages_broken"] if outcome else None,
            "refused_pages": sum(p.refused for p in outcome.pages) if outcome else None,
            # A site never reached has no report worth opening, only its error; one down tonight keeps its last.
            "report_href": f"{site.name}/report.html" if outcome and (not error or outcome.kept) else None,
            "pdf_href": f"{site.name}/report.pdf" if outcome and (not error or outcome.kept)
                        and (out_dir / site.name / "report.pdf").is_file() else None,
            "partial": bool(outcome and outcome.interrupted),
            "browser_lost": outcome.browser_lost if outcome else None,  # why it stopped partway, if not a signal
            "error": error,
            "not_reached": False,
        })
        if outcome is not None and outcome.interrupted:
            interrupted = True
            break
    for site in sites[len(rows):]:  # the batch stopped first: listed, so no client is missing from the index
        folder = out_dir / site.name
        # The last report there, if any, is untouched and linked.
        earlier = complete_report(finished_audit(last_report(folder), site.urls))
        rows.append({
            "name": site.name, "client": site.client, "start_url": site.urls[0], "score": None, "band": band(None),
            "previous": earlier, "pages": None, "broken_pages": None, "refused_pages": None,
            "report_href": f"{site.name}/report.html" if earlier else None,
            "pdf_href": f"{site.name}/report.pdf" if earlier and (folder / "report.pdf").is_file() else None,
            "not_compared": None, "partial": False, "browser_lost": None, "error": None, "not_reached": True,
        })
    try:
        write_atomic(out_dir / "index.html", render_index(rows, branding, partial=interrupted, settings=settings.public()))
        write_atomic(out_dir / "index.json", to_json({"schema_version": 1, "tool": TOOL, "started_at": started_at,
                                                      "finished_at": now_iso(), "partial": interrupted,
                                                      "settings": settings.public(), "sites": rows}))
        if settings.junit:  # one file for a CI's test view, beside each site's own
            write_atomic(out_dir / "junit.xml", render_batch_junit(done, book, started_at, partial=interrupted))
    except OSError as exc:
        raise UsageError(f"cannot write the batch index in {out_dir}: {_reason(exc)}") from None
    return rows, interrupted
