"""The `cro-audit` command: audit, demo, rules, batch.

Exit codes, for CI: 0 done; 1 the score is under --fail-under (or a page is broken, with --fail-on-broken);
2 bad usage, no usable start URL, or no browser; 3 incomplete: the site turned the auditor away on some
pages; 130 interrupted (the partial report is written).
"""

from __future__ import annotations

import importlib
import math
import os
import sys
from collections import Counter
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

try:  # the click that Typer parses with: vendored since Typer 0.2x, a dependency before
    from typer import _click as click
except ImportError:  # pragma: no cover - older Typer
    import click  # type: ignore[no-redef]

from auditor import __version__
from auditor.audit import Outcome, UsageError, hosts_of, read_sites, run_audit, run_batch, site_folder, start_urls_from
from auditor.browser import BrowserNotFound
from auditor.config import (ConfigError, Settings, build, closest, default_concurrency, find_config, load_file,
                            overloaded, toml_text)
from auditor.crawl import REFUSED_STREAK, listing_cap
from auditor.facts import PageResult
from auditor.report import branding_context, issue_counts
from auditor.rulebook import UnknownPrefix, load_rulebook
from auditor.urls import MAX_URL_LENGTH, origin_of, path_of, readable

EXIT_OK, EXIT_BELOW_THRESHOLD, EXIT_USAGE, EXIT_INCOMPLETE, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
EXIT_CODES = ("Exit codes: 0 done; 1 a score under --fail-under or fallen more than --fail-on-drop, or a broken page "
              "with --fail-on-broken; 2 bad usage, "
              "no usable start URL, no browser (or it went away mid-run: the partial report is written); 3 "
              "incomplete: the site turned the auditor away on some pages; 130 interrupted (the partial report is "
              "written).")
# batch's own: a site it could not audit is an exit 2 too, told at the end (see the end of batch()).
BATCH_EXIT_CODES = ("Exit codes: 0 done; 1 a site under --fail-under or fallen more than --fail-on-drop, or with a "
                    "page broken for a visitor with --fail-on-broken; 2 bad usage, a bad sites file, no browser (or it "
                    "went away mid-run), or a site that could not be audited (the batch goes on with the others); 3 "
                    "incomplete: a site turned the auditor away on some pages; 130 interrupted (the index lists the "
                    "sites finished so far, and those not reached). When several apply, 2 wins over 1, and 1 over 3.")


class _PlainHelp:
    """--help shown without a '<bool>' type, like every other flag here: a flag takes no value."""

    def get_help_option(self, ctx: Any) -> Any:
        option = super().get_help_option(ctx)  # type: ignore[misc]
        if option is not None:
            option.metavar = ""
        return option


class _Command(_PlainHelp, typer.core.TyperCommand):
    pass


class _Group(_PlainHelp, typer.core.TyperGroup):
    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        """A mistyped flag told in one line, as every other error here ('error: Invalid value for
        '--timeout': ...'), not Typer's box of usage, hint and borders: five lines in a CI log."""
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        try:
            code = super().main(*args, standalone_mode=False, **kwargs)
        except click.exceptions.UsageError as exc:
            if type(exc).__name__ == "NoArgsIsHelpError":  # `cro-audit` alone: its help, as asked for
                exc.show()
                sys.exit(exc.exit_code)
            where = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
            message = exc.format_message().rstrip(".")  # "Missing argument 'URL'. (see ...)" reads as two sentences
            if isinstance(exc, click.exceptions.BadParameter) and exc.param is not None and exc.message.startswith("must be "):
                message = f"{max(exc.param.opts, key=len)} {exc.message}"  # ours (_whole, _number): worded as a config error is
            if isinstance(exc, click.exceptions.NoSuchOption):
                message = _no_such_option(exc)
            err.print(f"[bold red]error:[/bold red] {escape(message)}{escape(where)}", soft_wrap=True)
            sys.exit(exc.exit_code)
        except click.exceptions.ClickException as exc:
            err.print(f"[bold red]error:[/bold red] {escape(exc.format_message())}", soft_wrap=True)
            sys.exit(exc.exit_code)
        except typer.Abort:
            err.print("Aborted.")
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


def _no_such_option(exc: Any) -> str:
    """'No such option: --max-page; did you mean --max-pages?': Click's own hint lists whatever shares a few
    letters ('--bogus (Possible options: --out)'), which sends the user nowhere."""
    names = [o for p in (exc.ctx.command.params if exc.ctx is not None else []) for o in (*p.opts, *p.secondary_opts)]
    close = closest(exc.option_name, names)
    return f"No such option: {exc.option_name}" + (f"; did you mean {close}?" if close else "")


app = typer.Typer(
    cls=_Group,
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,  # Click's plain help: readable at 80 columns, where Rich's table left the help 20
    context_settings={"max_content_width": 100},
    help="Find out why a website does not convert: crawl it in Chromium on desktop and mobile, check it against "
    "conversion research, and get a scored HTML + JSON report with a prioritised fix list.\n\n"
    "Start with `cro-audit demo`, then `cro-audit audit https://your-site.example`.",
)
# soft_wrap: a log file is 80 columns to Rich, and a closing line cut in two ("127.0.0.1-8103 \n(By Example
# GmbH)") cannot be grepped; a terminal wraps long lines itself.
err = Console(stderr=True, highlight=False, soft_wrap=True)
try:  # a flag's name is not broken at its hyphens when help text is wrapped ("--fail-" / "under")
    _textwrap = importlib.import_module(f"{click.__name__}._textwrap")  # Typer's own Click, or Click itself
    _textwrap.TextWrapper.wordsep_re = _textwrap.textwrap.TextWrapper.wordsep_simple_re
except (ImportError, AttributeError):  # pragma: no cover - another Click: its wrapping, unchanged
    pass


def fail(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    for line in message.splitlines() or [""]:  # several problems (a sites file's bad lines): an error line each
        err.print(f"[bold red]error:[/bold red] {escape(line)}", markup=True, soft_wrap=True)
    return typer.Exit(code)


def _version(value: bool) -> None:
    if value:
        print(f"cro-audit {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        Optional[bool], typer.Option("--version", callback=_version, is_eager=True, metavar="", help="Show the version and exit.")
    ] = None,
) -> None:
    pass


def _settings(config: Path | None, flags: dict[str, Any]) -> tuple[Settings, Path | None]:
    path = config if config is not None else find_config(Path.cwd())  # a --config that cannot be read: load_file says why
    return build(load_file(path) if path else {}, flags, source=path), path


def _parse_headers(values: list[str] | None) -> dict[str, str] | None:
    if not values:
        return None
    headers = {}
    for item in values:
        name, sep, value = item.partition(":")
        if not sep or not name.strip():
            raise ConfigError("--header takes 'Name: value'; one was given without a name or colon "
                              "(not repeated here: header values are often secrets)")
        headers[name.strip()] = value.strip()
    return headers


class _ProgressReporter:
    """A bar on a terminal, a line per page when stderr is a log file, nothing with --quiet."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.bar: Progress | None = None
        self.task = None
        if not quiet and err.is_terminal and not err.is_dumb_terminal:  # TERM=dumb draws no bar: lines instead
            self.bar = Progress(
                TextColumn("[bold]auditing[/bold]"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                TextColumn("{task.description}"), console=err, transient=True,
            )

    def __enter__(self) -> _ProgressReporter:
        if self.bar:
            self.bar.start()
            self.task = self.bar.add_task("", total=None)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar:
            self.bar.stop()

    def notice(self, text: str) -> None:
        """A line of its own about a wait the progress would not explain (a site's 429)."""
        if not self.quiet:
            (self.bar.console if self.bar is not None else err).print(text, markup=False, highlight=False, soft_wrap=True)

    def stage(self, text: str) -> None:
        """What the run does once the pages are done: a PDF takes seconds the bar would sit still for."""
        if self.bar is not None and self.task is not None:
            self.bar.update(self.task, description=escape(text) + "...")

    def __call__(self, done: int, total: int, page: PageResult) -> None:
        if self.quiet:
            return
        status = f"error {page.error.kind}" if page.error else "ok"
        if page.error is not None and page.error.kind == "not_html" and page.depth > 0:
            status = "a file, not a page: counted apart"
        if self.bar is not None and self.task is not None:
            self.bar.update(self.task, completed=done, total=max(total, done), description=escape(page.url[-60:]))  # a URL may hold [bold]
        else:
            err.print(f"[{done}/{max(total, done)}] {page.url} {status}", markup=False, highlight=False, soft_wrap=True)


def default_out(url: str) -> Path:
    """reports/<host>: one folder per client site, so audits of different sites never overwrite each other."""
    return Path("reports") / site_folder(url if "://" in url else f"https://{url}")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _when(iso: str) -> str:
    """'2026-11-25 14:30 UTC': the date alone is ambiguous for several runs a day."""
    return f"{iso[:10]} {iso[11:16]} UTC"


def _change(report: dict) -> str:
    """'; +4 since 2026-11-25 14:30 UTC': the score against the previous audit (see auditor/baseline.py)."""
    before = report.get("previous")
    if not before or report["score"] is None:
        return ""
    change = report["score"] - before["score"]
    return f"; {f'{change:+d}' if change else 'unchanged'} since {_when(before['finished_at'])}{_unlike(report)}"


def _unlike(report: dict) -> str:
    """' (of https://main.example/; 12 pages then, 3 now)': what makes a comparison not like for like, if anything."""
    before, told = report["previous"], []
    if before.get("start_url") and before["start_url"] != report["start_urls"][0]:  # a --baseline of a review app, say
        told.append(f"of {before['start_url']}")
    then, now = before.get("pages_audited"), report["summary"]["pages_audited"]
    if then is not None and then != now:
        told.append(f"{_count(then, 'page')} then, {now} now")
    return f" ({'; '.join(told)})" if told else ""


def _drop(report: dict, settings: Settings, baseline: Path | None = None) -> str:
    """Why the run fails --fail-on-drop, or '': the score fell further than allowed since the previous audit."""
    before, score = report.get("previous"), report["score"]
    if settings.fail_on_drop is None or not before:
        return ""
    then = f"the {'baseline' if baseline else 'audit'} of {_when(before['finished_at'])} ({before['score']})"
    if score is None:
        return f"No score this time, after {then} (--fail-on-drop)."
    fell = before["score"] - score
    if fell <= settings.fail_on_drop:
        return ""
    return f"Score {score} fell {fell} points since {then}, more than --fail-on-drop {settings.fail_on_drop:g}."


BROKEN_NAMED = 5  # broken pages named under the summary line; the report lists them all
# What a visitor meets, in report.html's words (its failure_label), so the terminal and the report agree.
_BROKEN_LABEL = {"timeout": "Timed out", "http_error": "Server returned an error", "network": "Could not connect",
                 "redirect_loop": "Redirect loop", "browser_crash": "Browser crashed"}


def _failure(page: PageResult) -> str:
    """'Page not found (404)': why a broken page is broken, as report.html names it."""
    assert page.error is not None
    kind, code = page.error.kind, page.status_code
    label = _BROKEN_LABEL.get(kind, kind)
    if page.devices:  # one device met it: which one, and how, is the message
        return f"{label} ({page.error.message})"
    if kind == "http_error" and code in (404, 410):
        return f"Page not found ({code})"
    if kind == "http_error" and code == 200:
        return "Page not found (an error page served as 200)"
    if kind == "http_error" and code == 401:
        return "Behind a login (401)"
    if kind == "http_error" and code is not None and 500 <= code < 600:
        return f"Server error ({code})"
    if kind == "http_error" and code is not None and code >= 400:
        return f"Error page (HTTP {code})"
    return label


def _short(url: str, site: str) -> str:
    """/café.html for a page of the audited site (its host is on the line above), the whole URL for another."""
    shown = readable(url)
    return (shown[len(site):] or "/") if origin_of(url) == site else shown


def _label(name: str, client: str | None) -> str:
    """A batch site as its line names it: 'acme.example (Acme Corp)' with a client label, else its folder."""
    return f"{name} ({client})" if client else name


def _site_names(rows: list[dict]) -> str:
    """Index rows as the closing lines of a batch name them: 'a.example (Acme Corp), b.example'."""
    return ", ".join(_label(r["name"], r["client"]) for r in rows)


def _broken_text(page: PageResult, report: dict) -> str:
    """'/gone.html — Page not found (404)': a broken page by its path on the audited site, and why."""
    return f"{_short(page.url, origin_of(report['start_urls'][0]))} — {_failure(page)}"


def _name_broken(pages: list[PageResult], report: dict) -> None:
    """'  broken: /gone.html — Page not found (404), linked from /' for the first BROKEN_NAMED broken pages."""
    unusable = [p for p in pages if p.broken]
    site = origin_of(report["start_urls"][0])
    for page in unusable[:BROKEN_NAMED]:
        linked = f", linked from {_short(page.found_on, site)}" if page.found_on else ""
        err.print(f"  broken: {_broken_text(page, report)}{linked}", markup=False, highlight=False, soft_wrap=True)
    if len(unusable) > BROKEN_NAMED:
        err.print(f"  ...and {len(unusable) - BROKEN_NAMED} more (see the report)", markup=False, highlight=False)


def _new_broken(broken: list[PageResult], report: dict, baseline: Path | None) -> tuple[list[PageResult], str]:
    """Which broken pages the previous audit did not have, and how to say it: '; 2 new since the baseline of
    ...'. A main branch with an old broken link fails every preview; the new ones are the deploy's."""
    before = report.get("previous") or {}
    if "broken_paths" not in before:
        return [], ""
    known = set(before["broken_paths"])
    new = [p for p in broken if path_of(p.url) not in known]
    then = f"the {'baseline' if baseline else 'audit'} of {_when(before['finished_at'])}"
    return new, f"; {len(new)} new since {then}" if new else f"; none new: all broken in {then} too"


_UNMEASURED = {"not_html": "a file, not a page", "out_of_scope": "sent to another site", "blocked_by_robots": "kept out by robots.txt",
               "refused": "turned the auditor away", "measure_failed": "could not be read"}


def _unmeasured(pages: list[PageResult]) -> str:
    """'1 page not measured (turned the auditor away); ': the pages without a score that no visitor finds
    broken. '3 failed; 3 pages broken for visitors' counted the broken pages twice, as two kinds of failure."""
    reasons = [_UNMEASURED.get(p.error.kind, p.error.kind) for p in pages
               if p.error is not None and p.score is None and not p.broken]
    if not reasons:
        return ""
    counts = ", ".join(f"{n} {why}" if len(set(reasons)) > 1 else why for why, n in Counter(reasons).most_common())
    return f"{_count(len(reasons), 'page')} not measured ({counts}); "


def _finish(outcome: Outcome, settings: Settings, quiet: bool, baseline: Path | None = None) -> int:
    report = outcome.report
    score = report["score"]
    if outcome.unreachable:
        for page in outcome.unreachable:
            err.print(f"[bold red]error:[/bold red] {escape(f'cannot audit {page.url}: {page.error.message}')}",
                      soft_wrap=True)
        if outcome.kept:
            err.print(f"The report already in {outcome.html_path.parent} (the audit of {_when(outcome.kept['finished_at'])}, "
                      f"score {outcome.kept['score']}) is kept as it was.", markup=False, highlight=False, soft_wrap=True)
        return EXIT_USAGE
    refused = [p for p in outcome.pages if p.refused]
    refusal = (f"{_count(len(refused), 'page')} turned the auditor away, first {refused[0].url}: "
               f"{refused[0].error.message}") if refused else ""
    if not quiet:
        summary = report["summary"]
        score_text = "n/a" if score is None else f"{score}/100 ({report['band'].replace('-', ' ')}{_change(report)})"
        halves = summary.get("pages_one_device", 0)
        half_text = f" ({halves} on one device only)" if halves else ""
        # Scores measured otherwise do not compare: a log read beside another's says which way this one was.
        how = [flag for flag, on in (("--throttle", settings.throttle), ("--warm-cache", settings.warm_cache)) if on]
        how_text = f", measured with {' and '.join(how)}" if how else ""
        found = issue_counts(report)  # as report.html counts them, not as summary.findings does
        err.print(
            f"Score {score_text} over {_count(summary['pages_audited'], 'page')}{half_text}{how_text}; "
            + (f"{_count(summary['pages_broken'], 'page')} broken for visitors; " if summary.get("pages_broken") else "")
            + _unmeasured(outcome.pages)
            + f"findings: {found['high']} high, {found['medium']} medium, {found['low']} low "
            "(each rule once per page, on one device or both).", soft_wrap=True, markup=False, highlight=False,
        )
        # On a terminal the progress bar is gone by now: without these lines nothing names the pages.
        _name_broken(outcome.pages, report)
        if refusal:  # the one failure the user can fix before the next run, so it is said in full
            err.print(refusal, markup=False, highlight=False, soft_wrap=True)
        left = report.get("not_followed") or {}
        if left:  # a user who asked for 60 pages and got 26 hears why
            # Named as settings, not flags: the value may come from a config file.
            why = {"interrupted": "not reached before the run stopped",
                   "max_pages": f"beyond max-pages {settings.max_pages}",
                   "max_depth": f"deeper than max-depth {settings.max_depth}",
                   "max_per_pattern": f"over max-per-pattern {settings.max_per_pattern}",
                   "pagination": f"later pages of lists, past the first {listing_cap(settings)}",
                   "search": f"search results, past the first {listing_cap(settings)}",
                   "file": "to files, not pages (PDF, images, downloads)",
                   "robots": "disallowed by robots.txt",
                   "action": "that act instead of showing a page (add to cart, log out)",
                   "refused": f"left unvisited once the site (or that part of it) had turned the auditor away "
                              f"{REFUSED_STREAK} times in a row",
                   "too_long": f"with URLs over {MAX_URL_LENGTH} characters"}
            # A URL merged into another page was visited: it is told apart from what the crawl did not follow.
            merged = {"redirected": "redirecting to a page audited under another URL",
                      "canonical": "naming an audited page of the same title as canonical",
                      "duplicate": "showing the same title and text as another page"}
            unfollowed = {r: e for r, e in left.items() if r not in merged}
            if unfollowed:
                err.print("Links not followed: " + "; ".join(
                    f"{entry['count']} {why.get(reason, reason)}"
                    + (f" ({', '.join(entry['examples'][:2])})" if reason == "max_per_pattern" else "")
                    for reason, entry in unfollowed.items()) + ".", markup=False, highlight=False, soft_wrap=True)
            copies = {r: e for r, e in left.items() if r in merged}
            if copies:
                site = origin_of(report["start_urls"][0])
                err.print("Reported once, under another URL: " + "; ".join(
                    f"{_count(entry['count'], 'URL')} {merged[reason]} "
                    f"({', '.join(_short(u, site) for u in entry['examples'][:2])})"
                    for reason, entry in copies.items()) + ".", markup=False, highlight=False, soft_wrap=True)
    print(outcome.html_path)
    also = [name for name, wanted in (("report.pdf", settings.pdf), ("junit.xml", settings.junit)) if wanted]
    if also and not quiet:  # stdout stays the one path scripts open; the others are named here
        err.print("Also written: " + ", ".join(str(outcome.html_path.with_name(n)) for n in also) + ".",
                  markup=False, highlight=False, soft_wrap=True)
    if outcome.browser_lost and not outcome.signal_name:
        lost = (f"the browser went away mid-run and could not be reached again ({outcome.browser_lost}). The report "
                "holds the pages finished so far; run again with --resume once the browser is back.")
        err.print(f"[bold red]error:[/bold red] {escape(lost)}", soft_wrap=True)
        return EXIT_USAGE
    if outcome.interrupted:
        err.print(f"Interrupted ({outcome.signal_name or 'stopped'}): the report holds the pages finished so far "
                  "(resume: the same command with --resume).", soft_wrap=True)
        return EXIT_INTERRUPTED
    if outcome.signal_name:  # it came while the report was written: that was finished first
        err.print(f"Interrupted ({outcome.signal_name}) while the report was written; it was finished first, and is "
                  "complete.", soft_wrap=True)
        return EXIT_INTERRUPTED
    code = EXIT_OK
    fail_under = settings.fail_under
    if fail_under is not None and (score is None or score < fail_under):
        err.print(f"Score {'n/a' if score is None else score} is under --fail-under {fail_under:g}.")
        code = EXIT_BELOW_THRESHOLD
    drop = _drop(report, settings, baseline)
    if drop:
        err.print(drop, markup=False, highlight=False, soft_wrap=True)
        code = EXIT_BELOW_THRESHOLD
    elif outcome.unlike and not quiet:
        checks = ": --fail-on-drop checks nothing this time (audit the same way to compare)" if settings.fail_on_drop is not None else ""
        err.print(f"note: not compared with the last audit in {outcome.html_path.parent}, measured {outcome.unlike}{checks}.",
                  markup=False, highlight=False, soft_wrap=True)
    elif settings.fail_on_drop is not None and report.get("previous") is None and not quiet:
        err.print(f"note: no earlier audit of this site in {outcome.html_path.parent} to compare with: --fail-on-drop "
                  "checks nothing this time (give one with --baseline).", markup=False, highlight=False, soft_wrap=True)
    broken = [p for p in outcome.pages if p.broken] if settings.fail_on_broken else []
    if broken:
        # Why the exit code is 1. Unless --quiet, the pages are named under the summary line: told once, not again.
        new, since = _new_broken(broken, report, baseline)
        if quiet:
            first = (new or broken)[0]
            linked = f" (linked from {first.found_on})" if first.found_on else ""
            which = "" if len(broken) == 1 else f"first {'new ' if new else ''}"
            err.print(f"{_count(len(broken), 'page')} broken for a visitor (--fail-on-broken{since}), {which}"
                      f"{first.url}{linked}: {_failure(first)}",  # as the list says it
                      markup=False, highlight=False, soft_wrap=True)
        else:
            listed = "listed above" if len(broken) <= BROKEN_NAMED else f"the first {BROKEN_NAMED} listed above"
            err.print(f"{_count(len(broken), 'page')} broken for a visitor (--fail-on-broken{since}), {listed}.",
                      markup=False, highlight=False, soft_wrap=True)
        code = EXIT_BELOW_THRESHOLD
    elif settings.fail_on_broken and not quiet:
        left = report.get("not_followed") or {}
        beyond = {r: left[r]["count"] for r in ("max_pages", "max_depth") if r in left}
        if beyond:  # a pass covers what the budget reached: said, or a 404 one link further passes CI unseen
            how = " and ".join(f"{n} beyond {r.replace('_', '-')} {getattr(settings, r)}" for r, n in beyond.items())
            audited, asked, unasked = report["summary"]["pages_audited"], outcome.links_checked, sum(beyond.values())
            if asked >= unasked:
                told = (f"and asked the other {_count(asked, 'link')} of the site ({how}) for their status, without a "
                        "browser: none is broken.")
            else:
                told = (f"and asked {asked} of the {_count(unasked, 'link')} of the site past it ({how}) for their "
                        f"status: none is broken; the other {unasked - asked} were not checked, so a broken page "
                        "among them would pass.")
            err.print(f"note: --fail-on-broken audited {_count(audited, 'page')} {told}", markup=False,
                      highlight=False, soft_wrap=True)
    if refusal and code == EXIT_OK:  # a report of part of the site must not pass for the whole in CI
        if quiet:
            err.print(refusal, markup=False, highlight=False, soft_wrap=True)
        code = EXIT_INCOMPLETE
    return code


# Options shared by `audit` and `batch`: declared once, so both commands read and document them alike.
Devices = Annotated[Optional[str], typer.Option(metavar="<names>", help="Device profiles: desktop,mobile (default both).")]
def _whole(text: str) -> int:
    """A whole-number flag: '--max-pages must be a whole number, not '2.5'', as a config file's value is told."""
    try:
        return int(text)
    except ValueError:
        raise typer.BadParameter(f"must be a whole number, not {toml_text(text)}") from None


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise typer.BadParameter(f"must be a number, not {toml_text(text)}") from None
    if not math.isfinite(value):  # 'nan' and 'inf' parse, and would pass every check
        raise typer.BadParameter(f"must be a number, not {toml_text(text)}")
    return value


MaxPages = Annotated[Optional[int], typer.Option(parser=_whole, metavar="<int>", help="Most pages to audit (in batch, per site) [default: 20].")]
MaxDepth = Annotated[Optional[int], typer.Option(parser=_whole, metavar="<int>", help="Link depth from the start URLs; 0 = only them [default: 3].")]
Timeout = Annotated[Optional[float], typer.Option(parser=_number, metavar="<float>", help="Seconds allowed per page [default: 30].")]
Concurrency = Annotated[Optional[int], typer.Option(parser=_whole, metavar="<int>", help="Pages measured at once [default: from the CPU count].")]
Rate = Annotated[Optional[float], typer.Option(parser=_number, metavar="<float>", help="Most page requests per second per host (0 = no limit).")]
MaxPerPattern = Annotated[Optional[int], typer.Option(parser=_whole, metavar="<int>", 
    help="Most pages per URL shape (/product/N) or query parameter, against crawl traps [default: 25].")]
FailUnder = Annotated[Optional[float], typer.Option(parser=_number, metavar="<float>", help="Exit 1 when a site score is below this (for CI).")]
FailOnDrop = Annotated[Optional[float], typer.Option(parser=_number, metavar="<float>", 
    help="Exit 1 when the score fell more than this many points since the previous audit: the last one in the "
         "--out folder (or, for audit, --baseline).")]
FailOnBroken = Annotated[Optional[bool], typer.Option(
    "--fail-on-broken/--no-fail-on-broken", metavar="",
    help="Exit 1 when a page is broken for a visitor: HTTP 400+, timeout, unreachable, redirect loop, crash "
         "(for CI; the score leaves such pages out). --no-... overrides the config file.")]
Throttle = Annotated[Optional[bool], typer.Option(
    "--throttle/--no-throttle", metavar="",
    help="Measure speed as visitors get it: phones on slow 4G with a 4x slower processor, desktops on broadband "
         "(Lighthouse's lab settings). Slower runs; off, speed is what this machine's connection gets.")]
WarmCache = Annotated[Optional[bool], typer.Option(
    "--warm-cache/--no-warm-cache", metavar="",
    help="Measure each page after the start page as a visitor's next page: the start page's stylesheets, "
         "scripts, fonts and images already cached (cookies and storage are still wiped). Load times and speed "
         "scores come out better than a first visit's, and audits of sites whose pages share their files finish "
         "sooner; never compared with an audit of first visits. Off, every page is a first visit, as in Lighthouse.")]
Junit = Annotated[Optional[bool], typer.Option(
    "--junit/--no-junit", metavar="",
    help="Also write junit.xml in the report folder: per page, a test case for each rule that applied, failed "
         "where it has a finding (for the test views of GitLab, Jenkins, Azure...).")]
Pdf = Annotated[Optional[bool], typer.Option(
    "--pdf/--no-pdf", metavar="", help="Also print the report to report.pdf (A4), for clients who read documents.")]
Select = Annotated[Optional[list[str]], typer.Option(
    metavar="<prefix>", help="Only rules whose id starts with this (repeatable, or comma-separated: SPD,MOB001).")]
Ignore = Annotated[Optional[list[str]], typer.Option(metavar="<prefix>", help="Skip rules whose id starts with this (repeatable, or comma-separated).")]
BrowserPath = Annotated[Optional[str], typer.Option(metavar="<path>", help="Chrome/Chromium binary (or set CRO_AUDIT_BROWSER).")]
BrowserEndpoint = Annotated[Optional[list[str]], typer.Option(
    metavar="<url>", help="Remote browser instead of a local one (repeatable: pages are spread over them): "
         "http://host:9222 (DevTools), ws://host:3000/ (Playwright server), cdp+ws://... (browserless), "
         "selenium+http://grid:4444 (Selenium Grid). See the README.")]
Header = Annotated[Optional[list[str]], typer.Option(
    metavar="<header>", help="Extra HTTP header 'Name: value' on every request to the audited origin, never to third parties; "
         "repeatable. Never written to a report or log.")]
Auth = Annotated[Optional[str], typer.Option(
    envvar="CRO_AUDIT_AUTH", show_envvar=True, metavar="<user:password>",
    help="'user:password' for HTTP auth on the audited site only (staging); better from the environment. Never reported.")]
UserAgent = Annotated[Optional[str], typer.Option(metavar="<text>", help="Replace the user agent.")]
Screenshots = Annotated[Optional[str], typer.Option(metavar="<mode>", help="css (fast), device (full pixel density) or off [default: css].")]
NoRobots = Annotated[bool, typer.Option("--no-robots", metavar="", help="Ignore robots.txt (only for sites you own).")]
Resume = Annotated[bool, typer.Option("--resume", metavar="", help="Continue an interrupted run in the same --out folder.")]
Config = Annotated[Optional[Path], typer.Option(
    help="Config file [default: cro-audit.toml, or [tool.cro-audit] in pyproject.toml].")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", metavar="", help="No progress output.")]


# Flags that map one to one onto settings of the same name.
_SETTING_FLAGS = ("max_pages", "max_depth", "timeout", "concurrency", "rate", "max_per_pattern", "fail_under", "fail_on_drop", "select",
                  "ignore", "browser_path", "user_agent", "screenshots", "auth")


def _prepare(params: dict[str, Any]) -> tuple[Settings, Any, list[str]]:
    """Settings and rulebook from a command's parameters (its locals()), the config file and the defaults,
    and the notes to print once the run starts (after any usage error, which is told alone)."""
    devices = params["devices"]
    settings, path = _settings(params["config"], {
        **{name: params[name] for name in _SETTING_FLAGS},
        "devices": [d.strip() for d in devices.split(",") if d.strip()] if devices is not None else None,
        "headers": _parse_headers(params["header"]),
        "respect_robots": False if params["no_robots"] else None,
        "fail_on_broken": params["fail_on_broken"],
        "throttle": params["throttle"],
        "warm_cache": params["warm_cache"],
        "junit": params["junit"],
        "pdf": params["pdf"],
        "browser_endpoints": params["browser_endpoint"],
        "client": params.get("client"),  # audit only: a batch names each site's client in its sites file
    })
    # Thresholds and branding only come from a config file: their errors name it, like every other setting's.
    try:
        if settings.rules:
            load_rulebook(overrides=settings.rules)
        if settings.branding:
            branding_context(settings)
    except ValueError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    try:
        book = load_rulebook(settings.select, settings.ignore, settings.rules)
    except UnknownPrefix as exc:  # a flag replaces the file's list, so the prefix came from one or the other
        where = f"--{exc.option} {exc.prefix}" if params[exc.option] is not None else f"{path}: {exc.option}"
        raise ConfigError(f"{where}: {exc}") from None
    if not any(set(r.devices) & set(settings.devices) for r in book.rules):  # a run that can only pass is no check
        chosen = " and ".join([f"--{name} {','.join(values)}" for name, values in
                               (("select", settings.select), ("ignore", settings.ignore)) if values])
        if not book.rules:
            raise UsageError(f"{chosen} leave no rule to run (see `cro-audit rules`)")
        judged = ", ".join(sorted({d for r in book.rules for d in r.devices}))
        raise UsageError(f"the rules left by {chosen} judge only {judged} pages, and --devices is "
                         f"{','.join(settings.devices)}: no rule would run")
    notes = []
    if path is not None:  # like pytest's header: settings from a parent folder's file would apply unseen
        notes.append(f"Using settings from {path}" + (" ([tool.cro-audit])" if path.name == "pyproject.toml" else ""))
    if not settings.browser_endpoints and overloaded(settings.concurrency):
        notes.append(f"note: concurrency {settings.concurrency} on {os.cpu_count()} cores: the pages compete for the "
                     f"processor, and load times come out slower than visitors see them (default "
                     f"{default_concurrency()}).")
    return settings, book, [] if params["quiet"] else notes


def _say(notes: list[str]) -> None:
    for note in notes:
        err.print(note, markup=False, highlight=False, soft_wrap=True)


@app.command(cls=_Command, epilog=EXIT_CODES, short_help="Audit a site and write its scored report.")
def audit(
    urls: Annotated[list[str], typer.Argument(
        help="Start URLs. The crawl stays on their sites.", show_default=False, metavar="URL")],
    out: Annotated[Optional[Path], typer.Option(
        "--out", "-o", help="Report folder [default: reports/<site host>].", show_default=False)] = None,
    devices: Devices = None, max_pages: MaxPages = None, max_depth: MaxDepth = None, timeout: Timeout = None,
    concurrency: Concurrency = None, rate: Rate = None, max_per_pattern: MaxPerPattern = None,
    fail_under: FailUnder = None, fail_on_drop: FailOnDrop = None, fail_on_broken: FailOnBroken = None, throttle: Throttle = None, warm_cache: WarmCache = None, junit: Junit = None, pdf: Pdf = None, select: Select = None,
    ignore: Ignore = None,
    browser_path: BrowserPath = None,
    browser_endpoint: BrowserEndpoint = None, header: Header = None, auth: Auth = None, user_agent: UserAgent = None,
    screenshots: Screenshots = None, no_robots: NoRobots = False, resume: Resume = False, config: Config = None,
    baseline: Annotated[Optional[Path], typer.Option(
        help="A report.json to set the score against (a CI run of the main branch), instead of the last audit in "
             "--out; any site, measured on the same devices.", show_default=False)] = None,
    client: Annotated[Optional[str], typer.Option(
        help="Who the report is for: it heads the report as \"Prepared for NAME\" (or client = \"...\" in the "
             "config file).", show_default=False)] = None,
    quiet: Quiet = False,
) -> None:
    """Audit a site: crawl from its start URLs, measure every page on desktop and mobile, and write the report.

    \b
    Examples:
      cro-audit audit https://client.example --out reports/client
      cro-audit audit https://staging.example --fail-under 70 --fail-on-broken
    """
    try:
        settings, book, notes = _prepare(locals())
        hosts = hosts_of(start_urls_from(urls))  # a bad URL is named as such before a report folder is named after it
        if len(hosts) > 1:
            notes.append(f"note: {', '.join(hosts)} are audited together, as one site with one score and one report; "
                         "audit each on its own, or give batch a line each, to score them apart.")
        folder = out if out is not None else default_out(urls[0])
        _say(notes)
        with _ProgressReporter(quiet) as progress:
            outcome = run_audit(urls, settings, book, folder, resume=resume, progress=progress, baseline=baseline)
    except (ConfigError, UsageError, ValueError, BrowserNotFound) as exc:
        raise fail(str(exc)) from None
    raise typer.Exit(_finish(outcome, settings, quiet, baseline))


@app.command(cls=_Command, epilog=BATCH_EXIT_CODES, short_help="Audit many sites from a file, with an index of them all.")
def batch(
    sites_file: Annotated[Path, typer.Argument(
        help="A text file: one site per line (its start URL, or several separated by spaces, commas or semicolons), "
             "after an optional client name and a | (Acme Corp | https://acme.example/); a staging site's login can "
             "be written in its URL (https://user:password@staging.example/); # starts a comment.",
        show_default=False, metavar="SITES_FILE")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the index and one report folder per site.")] = Path("reports/batch"),
    devices: Devices = None, max_pages: MaxPages = None, max_depth: MaxDepth = None, timeout: Timeout = None,
    concurrency: Concurrency = None, rate: Rate = None, max_per_pattern: MaxPerPattern = None,
    fail_under: FailUnder = None, fail_on_drop: FailOnDrop = None, fail_on_broken: FailOnBroken = None, throttle: Throttle = None, warm_cache: WarmCache = None, junit: Junit = None, pdf: Pdf = None, select: Select = None,
    ignore: Ignore = None,
    browser_path: BrowserPath = None,
    browser_endpoint: BrowserEndpoint = None, header: Header = None, auth: Auth = None, user_agent: UserAgent = None,
    screenshots: Screenshots = None, no_robots: NoRobots = False, resume: Resume = False, config: Config = None,
    quiet: Quiet = False,
    client: Annotated[Optional[str], typer.Option(hidden=True, show_default=False)] = None,  # audit's: told where instead
) -> None:
    """Audit many sites, one after another: a report folder each, and index.html ranking them all.

    \b
    Example:
      cro-audit batch clients.txt --out reports/2026-11 --max-pages 30
    """
    if client is not None:  # Typer's "No such option: --client" sent the user looking for a flag
        raise fail("--client is for audit: a batch takes each site's client from its line of the sites file, like "
                   "Acme Corp | https://acme.example/")
    try:
        settings, book, notes = _prepare(locals())
        sites = read_sites(sites_file, notes.append)  # its notes (a repeated line) are not printed with --quiet
        if settings.client:
            notes.append(f"note: client = {toml_text(settings.client)} in the config file is not used by batch: name each "
                         f"site's client on its line of {sites_file} (Acme Corp | https://acme.example/).")
        _say([] if quiet else notes)

        firsts: dict[str, str] = {}  # with --quiet, site -> ' (first broken: /gone.html — Page not found (404))'

        def announce(site, outcome, error) -> None:
            if quiet:  # the closing line names each site's first broken page instead of this line's list
                first = next((p for p in outcome.pages if p.broken), None) if outcome is not None and not error else None
                if first is not None:
                    firsts[site.name] = f" (first broken: {_broken_text(first, outcome.report)})"
                return
            score = outcome.report["score"] if outcome is not None and not error else None
            status = f"error: {error.rstrip('.')}" if error else f"score {score if score is not None else 'n/a'}{_change(outcome.report)}"
            last = outcome.report.get("previous") if outcome is not None and error else None
            if last:  # down tonight: since when is what the client will ask
                status += f"; last audited {_when(last['finished_at'])} (score {last['score']})"
                status += ", whose report is kept" if outcome.kept else ""
            if outcome is not None and outcome.interrupted and not error:
                status += " over the pages audited before the stop (partial)"
                if outcome.browser_lost:
                    status += f": the browser went away and could not be reached again ({outcome.browser_lost})"
            broken = outcome.report["summary"]["pages_broken"] if outcome and not error else 0
            if broken:  # a nightly log must not hide what the index shows
                status += f"; {_count(broken, 'page')} broken for visitors"
            refused = [p for p in outcome.pages if p.refused] if outcome else []
            if refused and not error:  # the night's run of this client was walled off: worth a line of its own
                status += f"; {_count(len(refused), 'page')} turned the auditor away ({refused[0].error.message})"
            err.print(f"{_label(site.name, site.client)}: {status}", markup=False, highlight=False, soft_wrap=True)
            if broken:  # which pages, as audit names them: the nightly log is where they are fixed from
                _name_broken(outcome.pages, outcome.report)

        with _ProgressReporter(quiet) as progress:
            rows, interrupted = run_batch(sites, settings, book, out, resume=resume, progress=progress, on_site=announce)
    except (ConfigError, UsageError, ValueError, BrowserNotFound) as exc:
        raise fail(str(exc)) from None
    print(out / "index.html")
    unreached = [r for r in rows if r.get("not_reached")]
    stopped = f"{len(rows) - len(unreached)} of {_count(len(rows), 'site')} reached" + (
        f"; not reached: {_site_names(unreached)}" if unreached else "")
    if interrupted and any(r.get("browser_lost") for r in rows):
        err.print(f"The browser went away mid-run ({stopped}): run again with --resume once the browser is back.",
                  markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_USAGE)
    if interrupted:
        err.print(f"Interrupted ({stopped}): resume with the same command and --resume.", markup=False, highlight=False,
                  soft_wrap=True)
        raise typer.Exit(EXIT_INTERRUPTED)
    threshold = settings.fail_under
    failed = [r for r in rows if r["error"]]  # each already announced with its reason
    audited = [r for r in rows if not r["error"]]
    below = [r for r in audited if threshold is not None and (r["score"] is None or r["score"] < threshold)]
    if below:
        err.print(f"{_count(len(below), 'site')} under --fail-under {threshold:g}: {_site_names(below)}.",
                  markup=False)
    dropped = [r for r in audited if _drop(r, settings)]
    if dropped:
        err.print(f"{_count(len(dropped), 'site')} fell more than --fail-on-drop {settings.fail_on_drop:g} points "
                  f"since their last audit: {_site_names(dropped)}.", markup=False, soft_wrap=True)
    unlike = [r for r in audited if r["not_compared"]]
    if unlike and not quiet:
        checks = ": --fail-on-drop checks nothing there this time" if settings.fail_on_drop is not None else ""
        err.print(f"note: {_count(len(unlike), 'site')} not compared with the last audit in {out}, measured "
                  f"{unlike[0]['not_compared']['measured']}{checks} ({_site_names(unlike)}).", markup=False, highlight=False,
                  soft_wrap=True)
    unchecked = [r for r in audited if settings.fail_on_drop is not None and not r["previous"] and not r["not_compared"]]
    if unchecked and not quiet:  # a dated folder per night has nothing to compare with: said, as audit says it
        err.print(f"note: {_count(len(unchecked), 'site')} had no earlier audit in {out} to compare with: "
                  f"--fail-on-drop checks nothing there this time ({_site_names(unchecked)}).",
                  markup=False, highlight=False, soft_wrap=True)
    broken = [r for r in audited if settings.fail_on_broken and r["broken_pages"]]
    if broken:
        err.print(f"{_count(len(broken), 'site')} with pages broken for a visitor (--fail-on-broken): "
                  f"{', '.join(_label(r['name'], r['client']) + firsts.get(r['name'], '') for r in broken)}.",
                  markup=False, highlight=False, soft_wrap=True)
    refused = [r for r in audited if r["refused_pages"]]
    if refused:
        err.print(f"{_count(len(refused), 'site')} turned the auditor away on some pages (incomplete): "
                  f"{_site_names(refused)}.", markup=False)
    if failed:
        # With --quiet each site's own line was not printed: the reason goes here, or nothing says it.
        named = [_label(r['name'], r['client']) + (f" ({r['error']})" if quiet else "") for r in failed]
        err.print(f"{_count(len(failed), 'site')} could not be audited: {', '.join(named)}.",
                  markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_USAGE)
    if below or dropped or broken:
        raise typer.Exit(EXIT_BELOW_THRESHOLD)
    if refused:
        raise typer.Exit(EXIT_INCOMPLETE)


@app.command(cls=_Command, short_help="Audit the bundled demo shop (no network needed).")
def demo(
    out: Annotated[Path, typer.Option("--out", "-o", help="Report folder.")] = Path("reports/demo"),
    browser_path: BrowserPath = None,
    quiet: Quiet = False,
) -> None:
    """Audit the bundled demo shop on 127.0.0.1 (no network needed) and print where the report is."""
    from importlib import resources

    from auditor.serve import StaticSite

    site_root = resources.files("auditor").joinpath("demo/site")
    try:
        settings = build({}, {"browser_path": browser_path, "max_pages": 20, "timeout": 20.0})
        book = load_rulebook()
        with StaticSite(Path(str(site_root))) as site, _ProgressReporter(quiet) as progress:
            outcome = run_audit([site.url], settings, book, out, progress=progress)
    except (ConfigError, UsageError, ValueError, BrowserNotFound) as exc:
        raise fail(str(exc)) from None
    raise typer.Exit(_finish(outcome, settings, quiet))


@app.command("rules", cls=_Command)
def list_rules(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", metavar="", help="Show each rule's full explanation and thresholds.")] = False,
) -> None:
    """List every rule: id, category, weight and what it checks."""
    try:
        book = load_rulebook()
    except ValueError as exc:
        raise fail(str(exc)) from None
    for rule in book.rules:
        print(f"{rule.id}  {rule.category:<10} w{rule.weight:<3g} {rule.name:<24} {rule.summary}")
        if verbose:
            print()
            for line in rule.doc.split("\n\n", 1)[-1].splitlines():  # the summary line is printed above
                print(f"    {line}")
            print(f"    Thresholds: {rule.thresholds or 'none'}; devices: {', '.join(rule.devices)}; ease {rule.ease}/10")
            print(f"    Fix: {rule.recommendation}")
            print()


@app.command(cls=_Command, short_help="Check that a browser can be started or reached.")
def doctor(
    browser_path: BrowserPath = None,
    browser_endpoint: BrowserEndpoint = None,
) -> None:
    """Check that a browser can be found and started, or each remote endpoint reached; print which. Exit 2 if not."""
    import asyncio

    from playwright.async_api import async_playwright

    from auditor import browser as browsers

    async def check() -> str:
        async with async_playwright() as playwright:
            if browser_endpoint:  # the same connection an audit makes, one endpoint after the other
                lines, failures = [], []
                for endpoint in browser_endpoint:  # every one is told, the working ones too
                    try:
                        remote = await browsers.connect(playwright, endpoint, browser_path)
                    except BrowserNotFound as exc:
                        failures.append(str(exc))
                        continue
                    lines.append(f"Chromium {remote.version} at {browsers.redact(endpoint)}")
                    await browsers.close(remote)
                if failures:  # the working ones on stdout, an error line for each of the others
                    if lines:
                        print("\n".join(lines))
                    for failure in failures[:-1]:
                        fail(failure)
                    raise BrowserNotFound(failures[-1])
                return "\n".join(lines)
            executable = browsers.find_browser(browser_path, playwright)
            started = await browsers.launch(playwright, executable)
            version = started.version
            await started.close()
            return f"Chromium {version} ({executable or 'Playwright build: ' + playwright.chromium.executable_path})"

    try:
        print(asyncio.run(check()))
    except BrowserNotFound as exc:
        raise fail(str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - a browser that is there but does not start
        raise fail(f"the browser was found but did not start: {browsers.first_line(exc)}") from None


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:  # Ctrl-C before an audit started (the audit handles its own)
        err.print("Interrupted before any page was audited.")
        sys.exit(EXIT_INTERRUPTED)
