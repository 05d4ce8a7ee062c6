"""The command line as users and CI meet it: real processes, exit codes, one-line errors, no tracebacks."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from auditor.serve import StaticSite
from tests.test_crawl import page, write

CLI = [sys.executable, "-m", "auditor"]


def run(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([*CLI, *args], capture_output=True, text=True, cwd=cwd, env=full_env, timeout=timeout)


def assert_one_line_error(result: subprocess.CompletedProcess, code: int, *fragments: str) -> None:
    assert result.returncode == code, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.fixture
def site(tmp_path):
    root = tmp_path / "site"
    write(root, {
        "index.html": page("Home", ["/about.html"], '<button style="padding:12px 24px">Buy now</button>'),
        "about.html": page("About", []),
    })
    with StaticSite(root) as server:
        yield server


@pytest.mark.parametrize(
    ("url", "fragment"),
    [("not a url", "error: not a url: not a valid URL (give a site's address, like https://example.com)"),
     ("example.com/shop", "did you mean https://example.com/shop?"), ("ftp://example.com/", "only http and https"), ("http://", "no host"),
     ("http//127.0.0.1:8765/", "did you mean http://127.0.0.1:8765/?"),
     ("127.0.0.1:8104", "error: 127.0.0.1:8104: not a valid URL (no scheme; did you mean http://127.0.0.1:8104?)"),
     # one word is no address to guess at (it was 'did you mean https://notaurl?'); localhost is one
     ("notaurl", "error: notaurl: not a valid URL (give a site's address, like https://example.com)"),
     ("localhost", "did you mean http://localhost?")],
)
def test_invalid_start_url_is_one_line_exit_2(url, fragment, tmp_path):
    assert_one_line_error(run("audit", url, "--out", str(tmp_path / "r")), 2, fragment)


@pytest.mark.parametrize(("urls", "message"), [
    (["http://127.0.0.1:8104/", "/relative"], "/relative: a path, not a URL: give the whole address, like "
                                              "http://127.0.0.1:8104/relative"),
    (["/shop?x=1", "https://www.example.com/home"], "/shop?x=1: a path, not a URL: give the whole address, like "
                                                    "https://www.example.com/shop?x=1"),
    (["/relative"], "/relative: a path, not a URL: give the whole address, like https://example.com/relative"),
])
def test_a_path_given_as_a_start_url_is_said_to_be_a_path(urls, message, tmp_path):
    """`/relative` was told 'did you mean https:///relative?': another start URL's origin is the likely one."""
    assert_one_line_error(run("audit", *urls, "--out", str(tmp_path / "r")), 2, f"error: {message}")
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("url", ["http://127.0.0.1:abc/", "http://127.0.0.1:0/", "http://127.0.0.1:99999/"])
def test_a_bad_port_is_named_in_words_not_in_urllib_s(url, tmp_path):
    """Without --out too: the report folder is named after the URL, and that tripped on the port first."""
    assert_one_line_error(run("audit", url, cwd=tmp_path), 2, f"error: {url}: the port must be a number from 1 to 65535")
    assert not (tmp_path / "reports").exists()


def test_an_empty_url_is_said_to_be_empty(tmp_path):
    for empty in ("", "  "):
        assert_one_line_error(run("audit", empty, "--out", str(tmp_path / "r")), 2,
                              "error: an empty URL was given: give a site's address, like https://example.com")


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_run_that_audits_nothing_keeps_the_folders_report_of_the_same_site(tmp_path):
    """The site is down: the report of its last audit stays (said in a line), not an empty one in its place.
    A report of other start URLs in a reused folder is not this site's to keep."""
    write(tmp_path / "s", {"index.html": page("Home", [])})
    out = tmp_path / "r"
    with StaticSite(tmp_path / "s") as site:
        url = site.url
        assert run("audit", url, "--out", str(out), "--devices", "desktop").returncode == 0
    before = (out / "report.json").read_bytes()
    finished = json.loads(before)["finished_at"]
    down = run("audit", url, "--out", str(out), "--devices", "desktop", "--timeout", "10")
    assert down.returncode == 2 and (out / "report.json").read_bytes() == before
    assert down.stderr.splitlines()[-1] == (f"The report already in {out} (the audit of {finished[:10]} {finished[11:16]} "
                                            f"UTC, score {json.loads(before)['score']}) is kept as it was.")
    assert len(list((out / "screenshots").glob("*.jpg"))) == 1
    other = f"http://127.0.0.1:{closed_port()}/"
    replaced = run("audit", other, "--out", str(out), "--devices", "desktop", "--timeout", "10")
    assert replaced.returncode == 2 and "kept" not in replaced.stderr
    assert json.loads((out / "report.json").read_text())["start_urls"] == [other]
    assert not list((out / "screenshots").glob("*.jpg"))


def test_unreachable_start_url_is_one_line_exit_2(tmp_path):
    url = f"http://127.0.0.1:{closed_port()}/"
    result = run("audit", url, "--out", str(tmp_path / "r"), "--quiet", "--timeout", "10")
    assert_one_line_error(result, 2, f"cannot audit {url}", "Connection refused")


def test_unreachable_url_among_several_is_an_error_page(site, tmp_path):
    out = tmp_path / "r"
    dead = f"http://127.0.0.1:{closed_port()}/"
    result = run("audit", site.url, dead, "--out", str(out), "--max-depth", "0", "--quiet")
    assert result.returncode == 0, result.stderr
    report = json.loads((out / "report.json").read_text())
    assert [p["error"] and p["error"]["kind"] for p in report["pages"]] == [None, "network"]


def test_no_browser_is_one_line_exit_2(site, tmp_path):
    result = run("audit", site.url, "--out", str(tmp_path / "r"), env={"CRO_AUDIT_BROWSER": "/nonexistent/chrome"})
    assert_one_line_error(result, 2, "/nonexistent/chrome does not exist")


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("max_pages = [", "not valid TOML"),
        ("max-pages = 0", "max-pages must be at least 1, not 0"),
        ("colour = 'red'", "unknown setting 'colour'"),
        ("fail-undr = 80", "unknown setting 'fail-undr' (did you mean fail-under?)"),  # as a mistyped flag is told
        ("max_page = 3", "unknown setting 'max_page' (did you mean max-pages?)"),
        ("timeout = 1e7", "timeout must be at most 600 seconds, not 10000000: a page that takes longer is broken for every visitor"),
        ("concurrency = 1000", "concurrency must be at most 32, not 1000"),
        ("max-per-pattern = 0", "max-per-pattern must be at least 1, not 0"),
        ("rate = -1", "rate must be 0 or more, not -1"),
        ("fail-under = 150", "fail-under must be a score between 0 and 100, not 150"),
        ("header = 'X-Token: 1'", "unknown setting 'header' (the key is a [headers] table: Name = \"value\")"),
        ("out = 'reports/x'", "unknown setting 'out' (--out belongs to a run, not to the config: give it on the command line)"),
        ("timeout = 'soon'", 'timeout must be a number, not "soon"'),
        ("fail-under = true", "cro-audit.toml: fail-under must be a number, not true"),
        ("timeout = 2026-11-01", "timeout must be a number, not 2026-11-01"),
        # the key named, as for every other setting (it said only "unknown device 'tablet'")
        ("devices = ['desktop', 'tablet']", "cro-audit.toml: devices names an unknown device, 'tablet' (the devices are desktop, mobile)"),
        ("devices = []", "cro-audit.toml: devices must name at least one of desktop, mobile"),
        ("devices = 'mobile'", 'devices must be a list of strings, like ["mobile"], not "mobile"'),
        ("[rules]\nSPD001 = 5", "cro-audit.toml: rules.SPD001 must be a table of thresholds, like [rules.SPD001], not 5"),
        ("branding = 'Acme'", 'cro-audit.toml: branding must be a table ([branding]) with keys name, logo, accent, not "Acme"'),
        ("select = ['ZZZ']", "cro-audit.toml: select: no rule id starts with 'ZZZ' (see `cro-audit rules`)"),
        ("ignore = ['SPD', 'ZZZ9']", "cro-audit.toml: ignore: no rule id starts with 'ZZZ9'"),
        ("[rules.SPD001]\nfast_ms = 3", "cro-audit.toml: rule SPD001 has no threshold 'fast_ms'"),
        ("[rules.SPD009]\nfast_ms = 3", "cro-audit.toml: thresholds given for an unknown rule 'SPD009'"),
        ("[rules.SPD001]\np10_ms = 'fast'", 'threshold p10_ms must be a number of 0 or more, not "fast"'),
        ("[rules.SPD001]\np10_ms = false", "threshold p10_ms must be a number of 0 or more, not false"),
        ("[rules.SPD001]\np10_ms = 5000", "p10_ms (5000) must be above 0 and below median_ms (4000)"),
        ("[rules.SPD001]\np10_ms = 0", "p10_ms (0) must be above 0"),
        ("max-pages = 2.5", "cro-audit.toml: max-pages must be a whole number, not 2.5"),
        ("timeout = nan", "cro-audit.toml: timeout must be a number, not nan"),  # TOML's nan passed every check
        # tomllib says 'Cannot overwrite a value (at line 2, column 14)': the key is named, its value never is.
        ("max-pages = 2\nmax-pages = 3", "cro-audit.toml: not valid TOML (max-pages is set twice, on line 2; keep one)"),
        ("[rules.SPD001]\np10_ms = 1\n[rules.SPD001]", "not valid TOML ([rules.SPD001] is declared twice, on line 3)"),
        ("rate = inf", "cro-audit.toml: rate must be a number, not inf"),
        ("[rules.SPD001]\nmedian_ms = inf", "threshold median_ms must be a number of 0 or more, not inf"),
        ("user-agent = 5", "cro-audit.toml: user-agent must be a string"),
        ("select = [1]", "select must be a list of strings"),
        ("[branding]\naccent = '#6a1b9a'\ncolour = 'red'",
         "cro-audit.toml: unknown branding key 'colour' (the keys are name, logo, accent)"),
        ("[branding]\nname = 5", "cro-audit.toml: branding name must be a string, not 5"),
        ("[headers]\nAuthorization = 5", 'the value of header Authorization must be a string, like Authorization = "value"'),
        ("[headers]\nX-Token = \"abc\\r\\nX-Evil: 1\"", "the value of header X-Token contains a line break"),
        ("[headers]\n'Bad Name' = 'x'", "header name 'Bad Name' is not a valid HTTP header name"),
        ("[headers]\nHost = 'evil.localhost'", "header Host is set by the browser and cannot be replaced"),
        ("[branding]\nlogo = 'missing.png'", "cro-audit.toml: branding logo"),
        ("[branding]\nlogo = 'https://agency.example/logo.png'", "cro-audit.toml: branding logo must be an image file on "
         "this machine (it is embedded in every report), not a URL: https:/agency.example/logo.png"),
        ("[branding]\nlogo = '.'", "is a folder, not an image file"),
        ("[branding]\nlogo = 'cro-audit.toml'", "cro-audit.toml is not a PNG, JPEG, GIF, WebP or SVG image"),
        ("[branding]\naccent = 'red'", "cro-audit.toml: branding accent must be a colour like #0b6bcb, not \"red\""),
        ("[tool.cro-audit]\nmax-pages = 3", "without [tool.cro-audit]"),
    ],
)
def test_broken_config_is_one_line_exit_2(content, fragment, site, tmp_path):
    (tmp_path / "cro-audit.toml").write_text(content)
    assert_one_line_error(run("audit", site.url, "--out", str(tmp_path / "r"), cwd=tmp_path), 2, fragment)


def test_a_header_set_twice_is_named_without_its_value(tmp_path):
    (tmp_path / "cro-audit.toml").write_text('[headers]\nX-Token = "271828"\nX-Token = "271828"\n')
    result = run("audit", "http://127.0.0.1:9/", cwd=tmp_path)
    assert_one_line_error(result, 2, "cro-audit.toml: not valid TOML (X-Token is set twice, on line 3; keep one)")
    assert "271828" not in result.stderr


def test_a_config_file_that_cannot_be_read_is_told_in_words(tmp_path, unreadable):
    """A folder given to --config was 'no such config file'; an unreadable one showed Python's [Errno 13]."""
    from auditor.config import ConfigError, load_file

    assert_one_line_error(run("audit", "http://127.0.0.1:9/", "--config", "nope.toml", cwd=tmp_path), 2,
                          "error: nope.toml: no such config file")
    assert_one_line_error(run("audit", "http://127.0.0.1:9/", "--config", str(tmp_path), cwd=tmp_path), 2,
                          f"error: {tmp_path}: is a folder, not a config file")
    locked = unreadable(tmp_path / "cro-audit.toml", "max-pages = 3\n")
    with pytest.raises(ConfigError) as caught:
        load_file(locked)
    assert str(caught.value) == f"{locked}: cannot be read: permission denied"


def test_a_config_file_that_is_not_utf8_is_told_where(tmp_path):
    """Python's "'utf-8' codec can't decode byte 0xe9 in position 19" was shown as it was."""
    (tmp_path / "cro-audit.toml").write_bytes("max-pages = 3\n# Caf\u00e9 client\n".encode("latin-1"))
    assert_one_line_error(run("audit", "http://127.0.0.1:9/", cwd=tmp_path), 2,
                          "cro-audit.toml: is not UTF-8 text (byte 0xe9 on line 2); save it as UTF-8")
    (tmp_path / "cro-audit.toml").write_text("max-pages = 3\n# Caf\u00e9 client\n", encoding="utf-8")
    result = run("audit", "http://127.0.0.1:9/", "--max-pages", "0", cwd=tmp_path)
    assert_one_line_error(result, 2, "max-pages")  # the same text in UTF-8 is read: what is wrong is the flag
    assert "UTF-8" not in result.stderr


def test_an_unknown_rule_prefix_in_a_flag_names_the_flag(site, tmp_path):
    """The same mistake in a config file names the file (above): the user is told where to look."""
    (tmp_path / "cro-audit.toml").write_text("ignore = ['ZZZ8']\n")  # overridden by the flag: not the one at fault
    result = run("audit", site.url, "--out", str(tmp_path / "r"), "--ignore", "spd,zzz9", cwd=tmp_path)
    assert_one_line_error(result, 2, "error: --ignore ZZZ9: no rule id starts with 'ZZZ9' (see `cro-audit rules`)")


def test_a_misspelled_pyproject_table_is_named_not_ignored(site, tmp_path):
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n\n[tool.cro_audit]\nfail-under = 90\n")
    assert_one_line_error(run("audit", site.url, "--out", str(tmp_path / "r"), cwd=tmp_path), 2,
                          f"{tmp_path / 'pyproject.toml'}: the table is [tool.cro-audit], with a hyphen, not [tool.cro_audit]")


def test_a_browser_path_that_is_not_a_program_is_named(site, tmp_path):
    (tmp_path / "hosts").write_text("127.0.0.1 localhost\n")
    assert_one_line_error(run("audit", site.url, "--out", str(tmp_path / "r"), "--browser-path", str(tmp_path / "hosts")),
                          2, f"{tmp_path / 'hosts'} is not a program that can be run (from --browser-path or "
                             "CRO_AUDIT_BROWSER): give the Chrome or Chromium binary")


def test_a_browser_path_that_is_not_a_browser_is_named(site, tmp_path):
    """Playwright says 'Target page, context or browser has been closed' of a program that exits at once."""
    true = shutil.which("true")
    hint = "point --browser-path or CRO_AUDIT_BROWSER at a Chrome or Chromium binary"
    for result in (run("doctor", env={"CRO_AUDIT_BROWSER": true}),
                   run("audit", site.url, "--out", str(tmp_path / "r"), "--browser-path", true)):
        assert_one_line_error(result, 2, f"error: {true} did not start as a Chromium browser (it exited at once): {hint}")
    script = tmp_path / "chrome.sh"
    script.write_text("#!/bin/sh\necho starting >&2\necho 'cannot open display' >&2\nexit 3\n")
    script.chmod(0o755)
    assert_one_line_error(run("doctor", "--browser-path", str(script)), 2,
                          f"error: {script} did not start as a Chromium browser (it exited at once with code 3: "
                          f"cannot open display): {hint}")
    assert_one_line_error(run("doctor", "--browser-path", str(tmp_path)), 2,
                          f"error: {tmp_path} is a folder, not a program (from --browser-path or CRO_AUDIT_BROWSER): "
                          "give the Chrome or Chromium binary inside it")
    (tmp_path / "Google Chrome.app").mkdir()
    assert_one_line_error(run("doctor", "--browser-path", str(tmp_path / "Google Chrome.app")), 2,
                          f"inside it (on a Mac: {tmp_path}/Google Chrome.app/Contents/MacOS/Google Chrome)")


def test_a_browser_that_hangs_at_start_is_said_to(tmp_path):
    from auditor.browser import launch_failure

    hung = Exception("BrowserType.launch: Timeout 30000ms exceeded.\nCall log:\n  - <launching> /opt/x --no-sandbox")
    assert launch_failure("/opt/x", hung) == ("/opt/x did not start as a Chromium browser within 30 seconds: point "
                                              "--browser-path or CRO_AUDIT_BROWSER at a Chrome or Chromium binary")


def test_a_header_without_a_colon_is_refused_without_repeating_it(site, tmp_path):
    result = run("audit", site.url, "--out", str(tmp_path / "r"), "--header", "s3cr3t-token")
    assert_one_line_error(result, 2, "--header takes 'Name: value'")
    assert "s3cr3t-token" not in result.stderr + result.stdout


def test_throttle_flag_and_config_key(site, tmp_path):
    result = run("audit", site.url, "--out", str(tmp_path / "r"), "--throttle", "--devices", "desktop",
                 "--max-depth", "0", "--screenshots", "off", "-q")
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "r" / "report.json").read_text())
    assert report["settings"]["throttle"] is True
    assert report["pages"][0]["devices"]["desktop"]["load_ms"] >= 150  # broadband's latency, at least once
    assert "speed measured as visitors get it" in (tmp_path / "r" / "report.html").read_text()
    (tmp_path / "cro-audit.toml").write_text("throttle = true")
    waived = run("audit", site.url, "--out", str(tmp_path / "r3"), "--no-throttle", "--devices", "desktop",
                 "--max-depth", "0", "--screenshots", "off", "-q", cwd=tmp_path)
    assert waived.returncode == 0, waived.stderr
    assert json.loads((tmp_path / "r3" / "report.json").read_text())["settings"]["throttle"] is False
    (tmp_path / "cro-audit.toml").write_text("throttle = 'yes'")
    assert_one_line_error(run("audit", site.url, "--out", str(tmp_path / "r2"), cwd=tmp_path), 2,
                          "throttle must be true or false, not \"yes\"")


def test_warm_cache_flag_and_config_key(site, tmp_path):
    (tmp_path / "cro-audit.toml").write_text("warm-cache = true")
    result = run("audit", site.url, "--out", str(tmp_path / "r"), "--devices", "desktop", "--max-pages", "2",
                 "--screenshots", "off", "-q", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "r" / "report.json").read_text())["settings"]["warm_cache"] is True
    html = (tmp_path / "r" / "report.html").read_text()
    assert "every other page as a visitor’s next page after it" in html and "measured with its files cached" in html
    waived = run("audit", site.url, "--out", str(tmp_path / "r2"), "--no-warm-cache", "--devices", "desktop",
                 "--max-depth", "0", "--screenshots", "off", "-q", cwd=tmp_path)
    assert waived.returncode == 0, waived.stderr
    assert json.loads((tmp_path / "r2" / "report.json").read_text())["settings"]["warm_cache"] is False
    assert "next page after it" not in (tmp_path / "r2" / "report.html").read_text()
    (tmp_path / "cro-audit.toml").write_text("warm_cache = 1")
    assert_one_line_error(run("audit", site.url, "--out", str(tmp_path / "r3"), cwd=tmp_path), 2,
                          "warm-cache must be true or false, not 1")


def test_a_last_audit_measured_otherwise_is_named_not_compared(site, tmp_path):
    """The folder's last audit measured first visits, this run --warm-cache: not compared, and the note says
    why rather than "no earlier audit ... give one with --baseline", which --baseline would then refuse."""
    out = tmp_path / "r"
    flags = ["--out", str(out), "--devices", "desktop", "--max-depth", "0", "--screenshots", "off"]
    assert run("audit", site.url, *flags, "-q").returncode == 0
    warm = run("audit", site.url, *flags, "--warm-cache", "--fail-on-drop", "5")
    assert warm.returncode == 0, warm.stderr
    assert (f"note: not compared with the last audit in {out}, measured without --warm-cache, this run with: "
            "--fail-on-drop checks nothing this time (audit the same way to compare).") in warm.stderr
    assert "no earlier audit" not in warm.stderr
    assert "over 1 page, measured with --warm-cache; " in warm.stderr
    first = json.loads((out / "report.json").read_text())
    assert first["previous"] is None and first["not_compared"]["measured"] == "without --warm-cache, this run with"
    html = " ".join(re.sub(r"<[^>]+>", "", (out / "report.html").read_text()).split())
    assert f"({first['not_compared']['score']}/100): it was measured without --warm-cache, this run with." in html
    plain = run("audit", site.url, *flags)  # no --fail-on-drop: the comparison missing from the report is explained
    assert f"note: not compared with the last audit in {out}, measured with --warm-cache, this run without." in plain.stderr
    same = run("audit", site.url, *flags)
    assert "not compared" not in same.stderr and "unchanged since " in same.stderr
    again = json.loads((out / "report.json").read_text())
    assert again["not_compared"] is None and again["previous"]["score"] == again["score"]
    assert "Not compared" not in (out / "report.html").read_text()


def test_start_urls_on_two_sites_are_said_to_be_one_audit(site, tmp_path):
    """A trial gave two sites to one audit and got one score for both, silently; batch said so, audit did not."""
    write(tmp_path / "other", {"index.html": page("Other", [])})
    with StaticSite(tmp_path / "other") as other:
        result = run("audit", site.url, other.url, "--out", str(tmp_path / "r"), "--devices", "desktop",
                     "--max-depth", "0", "--screenshots", "off")
        alone = run("audit", site.url, site.url + "about.html", "--out", str(tmp_path / "a"), "--devices", "desktop",
                    "--max-depth", "0", "--screenshots", "off")
    hosts = [u.split("/")[2] for u in (site.url, other.url)]
    assert result.returncode == 0, result.stderr
    assert (f"note: {hosts[0]}, {hosts[1]} are audited together, as one site with one score and one report; audit "
            "each on its own, or give batch a line each, to score them apart.") in result.stderr
    assert alone.returncode == 0 and "audited together" not in alone.stderr  # two pages of one site


def test_select_takes_commas_and_any_case(site, tmp_path):
    result = run("audit", site.url, "--out", str(tmp_path / "r"), "--select", "spd,mob001", "--max-depth", "0", "-q")
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "r" / "report.json").read_text())
    assert report["settings"]["select"] == ["SPD", "MOB001"]
    assert {f["rule_id"][:3] for p in report["pages"] for f in p["findings"]} <= {"SPD", "MOB"}


def test_branding_logo_is_found_next_to_the_config_file(site, tmp_path):
    project = tmp_path / "project"
    (project / "brand").mkdir(parents=True)
    (project / "brand" / "logo.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>')
    (project / "cro-audit.toml").write_text('[branding]\nname = "Acme Agency"\nlogo = "brand/logo.svg"\n')
    result = run("audit", site.url, "--out", str(tmp_path / "r"), "--config", str(project / "cro-audit.toml"),
                 "--max-depth", "0", "-q", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    html = (tmp_path / "r" / "report.html").read_text()
    assert "Acme Agency" in html and "data:image/svg+xml;base64," in html


def test_config_from_pyproject_is_used(site, tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.cro-audit]\nmax-depth = 0\ndevices = ["desktop"]\nscreenshots = "off"\n')
    result = run("audit", site.url, "--out", "r", "--quiet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "r" / "report.json").read_text())
    assert len(report["pages"]) == 1 and list(report["pages"][0]["devices"]) == ["desktop"]


def test_the_report_names_its_client_from_the_flag_or_the_config(site, tmp_path):
    """A consultant's report says who it is for; without one it says nothing of a client."""
    (tmp_path / "cro-audit.toml").write_text('client = "Config & Co"\nmax-depth = 0\ndevices = ["desktop"]\nscreenshots = "off"\n')
    assert run("audit", site.url, "--out", "a", "--quiet", cwd=tmp_path).returncode == 0
    assert json.loads((tmp_path / "a" / "report.json").read_text())["client"] == "Config & Co"
    assert "Prepared for <strong>Config &amp; Co</strong>" in (tmp_path / "a" / "report.html").read_text()
    assert run("audit", site.url, "--out", "b", "--quiet", "--client", " Flag\n Ltd ", cwd=tmp_path).returncode == 0
    assert json.loads((tmp_path / "b" / "report.json").read_text())["client"] == "Flag Ltd"  # the flag wins
    (tmp_path / "cro-audit.toml").write_text('max-depth = 0\ndevices = ["desktop"]\nscreenshots = "off"\n')
    assert run("audit", site.url, "--out", "c", "--quiet", cwd=tmp_path).returncode == 0
    assert json.loads((tmp_path / "c" / "report.json").read_text())["client"] is None
    assert 'id="client"' not in (tmp_path / "c" / "report.html").read_text()
    assert_one_line_error(run("audit", site.url, "--client", " ", cwd=tmp_path), 2, "error: --client must be a name, not empty")
    (tmp_path / "cro-audit.toml").write_text("client = 3\n")
    assert_one_line_error(run("audit", site.url, cwd=tmp_path), 2,
                          f"error: {tmp_path / 'cro-audit.toml'}: client must be a string, not 3")


def test_fail_under_gives_exit_1_for_ci(tmp_path):
    crowded = page("Crowded", [f"/p{i}.html" for i in range(12)])  # 12 menu items: NAV001 fails
    write(tmp_path / "crowded", {"index.html": crowded})
    with StaticSite(tmp_path / "crowded") as site:
        check_fail_under(site, tmp_path)


def check_fail_under(site, tmp_path):
    common = ["audit", site.url, "--out", str(tmp_path / "r"), "--devices", "desktop", "--max-depth", "0", "--quiet"]
    passing = run(*common, "--fail-under", "1")
    assert passing.returncode == 0, passing.stderr
    score = json.loads((tmp_path / "r" / "report.json").read_text())["score"]
    assert 1 <= score < 100
    failing = run(*common, "--fail-under", str(score + 1))
    assert failing.returncode == 1 and f"Score {score} is under --fail-under {score + 1}" in failing.stderr


def test_fail_on_broken_gives_exit_1_for_a_page_a_visitor_cannot_use(tmp_path):
    """A deploy that breaks a page leaves the score alone (failed pages are not scored): CI needs its own
    check. An error status fails it; a download link does not."""
    write(tmp_path / "s", {"index.html": page("Home", ["/files/price-list.pdf", "/gone.html"]),
                           "files/price-list.pdf": "%PDF-1.4\n"})
    with StaticSite(tmp_path / "s") as site:
        common = ["audit", site.url, "--out", str(tmp_path / "r"), "--devices", "desktop", "--quiet"]
        plain = run(*common)
        flagged = run(*common, "--fail-on-broken")
        (tmp_path / "cro-audit.toml").write_text("fail-on-broken = true\n")
        configured = run(*common, cwd=tmp_path)
        overridden = run(*common, "--no-fail-on-broken", cwd=tmp_path)  # one run may waive the file's check
        (tmp_path / "s" / "gone.html").write_text(page("Back", []))
        mended = run(*common, "--fail-on-broken")
    assert plain.returncode == 0, plain.stderr
    kinds = {p["url"].rsplit("/", 1)[1]: p["error"] and p["error"]["kind"]
             for p in json.loads((tmp_path / "r" / "report.json").read_text())["pages"]}
    assert kinds == {"": None, "gone.html": None}  # the last, mended run; the PDF is counted as a file, not a page
    assert json.loads((tmp_path / "r" / "report.json").read_text())["not_followed"]["file"]["count"] == 1
    # each run compares with the last in the folder, which had the same broken page
    message = (r"1 page broken for a visitor \(--fail-on-broken; none new: all broken in the audit of "
               r"\d{4}-\d\d-\d\d \d\d:\d\d UTC too\), " + re.escape(f"{site.url}gone.html (linked from {site.url}): ")
               + r"Page not found \(404\)")  # the words of the list without --quiet, and of the report
    assert flagged.returncode == 1 and re.fullmatch(message, flagged.stderr.strip()), flagged.stderr
    assert configured.returncode == 1 and re.fullmatch(message, configured.stderr.strip()), configured.stderr
    assert (overridden.returncode, overridden.stderr) == (0, "")
    assert mended.returncode == 0, mended.stderr


def test_the_summary_counts_broken_pages_once_and_names_why_others_were_not_measured(tmp_path):
    """'over 1 page; 2 failed; 1 page broken for visitors' counted the 404 twice, and left the reader to
    guess what the other failure was."""
    write(tmp_path / "s", {"index.html": page("Home", ["/gone.html"]), "private/x.html": page("X", []),
                           "robots.txt": "User-agent: *\nDisallow: /private/\n"})
    with StaticSite(tmp_path / "s") as site:
        result = run("audit", site.url, f"{site.url}private/x.html", "--out", str(tmp_path / "r"),
                     "--devices", "desktop", "--screenshots", "off")
    summary = next(line for line in result.stderr.splitlines() if line.startswith("Score "))
    assert (" over 1 page; 1 page broken for visitors; 1 page not measured (kept out by robots.txt); findings: "
            in summary), summary
    assert "failed" not in summary


def test_the_broken_pages_are_named_under_the_summary(tmp_path):
    """On a terminal the progress bar, and every URL in it, is gone when the run ends: 'Score ...; 7 pages broken
    for visitors' named none of them. The first five are, with where each is linked from; --fail-on-broken's
    line then says only why the run fails, and --quiet prints none of it."""
    write(tmp_path / "s", {"index.html": page("Home", ["/caf%C3%A9.html", "/a.html"]),
                           "a.html": page("A", [f"/gone{i}.html" for i in range(6)])})
    with StaticSite(tmp_path / "s") as site:
        common = ["audit", site.url, "--out", str(tmp_path / "r"), "--devices", "desktop", "--screenshots", "off"]
        told = run(*common, "--fail-on-broken")
        quiet = run(*common, "--quiet")
    assert told.returncode == 1, told.stderr
    lines = told.stderr.splitlines()
    summary = next(i for i, line in enumerate(lines) if line.startswith("Score "))
    assert "; 7 pages broken for visitors; " in lines[summary]
    assert lines[summary + 1:] == [
        "  broken: /café.html — Page not found (404), linked from /",
        "  broken: /gone0.html — Page not found (404), linked from /a.html",
        "  broken: /gone1.html — Page not found (404), linked from /a.html",
        "  broken: /gone2.html — Page not found (404), linked from /a.html",
        "  broken: /gone3.html — Page not found (404), linked from /a.html",
        "  ...and 2 more (see the report)",
        "7 pages broken for a visitor (--fail-on-broken), the first 5 listed above.",
    ]
    assert (quiet.returncode, quiet.stderr) == (0, "")


def test_links_left_by_the_crawl_caps_are_told(tmp_path):
    write(tmp_path / "s", {"index.html": page("Home", [f"/p{i}.html" for i in range(5)]),
                           **{f"p{i}.html": page(f"P{i}", []) for i in range(5)}})
    with StaticSite(tmp_path / "s") as site:
        result = run("audit", site.url, "--out", str(tmp_path / "r"), "--devices", "desktop", "--screenshots", "off",
                     "--max-per-pattern", "2")
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines()[-1] == "Links not followed: 3 over max-per-pattern 2 (/pN.html)."


def test_the_config_file_in_use_is_told_at_the_start(tmp_path):
    """A parent folder's pyproject.toml applied silently, and the run then spoke of '--max-pages 2' though
    no flag was given."""
    write(tmp_path / "s", {"index.html": page("Home", [f"/p{i}.html" for i in range(5)]),
                           **{f"p{i}.html": page(f"P{i}", []) for i in range(5)}})
    (tmp_path / "pyproject.toml").write_text("[tool.cro-audit]\nmax-pages = 2\n")
    (tmp_path / "work").mkdir()
    common = ["--out", str(tmp_path / "r"), "--devices", "desktop", "--screenshots", "off"]
    with StaticSite(tmp_path / "s") as site:
        result = run("audit", site.url, *common, cwd=tmp_path / "work")
        quiet = run("audit", site.url, *common, "-q", cwd=tmp_path / "work")
        bad_url = run("audit", "http://127.0.0.1:abc/", *common, cwd=tmp_path / "work")
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert lines[0] == f"Using settings from {tmp_path / 'pyproject.toml'} ([tool.cro-audit])"
    assert lines[-1] == "Links not followed: 4 beyond max-pages 2."
    assert result.stdout == quiet.stdout == f"{tmp_path / 'r' / 'report.html'}\n"  # what scripts read is unchanged
    assert quiet.returncode == 0 and quiet.stderr == ""
    assert_one_line_error(bad_url, 2, "the port must be")  # a usage error is told alone, before any run starts


def test_report_paths_and_progress_lines_when_not_a_terminal(site, tmp_path):
    out = tmp_path / "r"
    result = run("audit", site.url, "--out", str(out), "--devices", "desktop")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(out / "report.html")
    assert f"[1/2] {site.url} ok" in result.stderr and f"[2/2] {site.url}about.html ok" in result.stderr
    quiet = run("audit", site.url, "--out", str(out), "--devices", "desktop", "--quiet")
    assert quiet.stderr == "" and quiet.stdout.strip() == str(out / "report.html")


def test_rules_lists_every_rule():
    result = run("rules")
    assert result.returncode == 0
    ids = [line.split()[0] for line in result.stdout.splitlines() if line.strip()]
    assert ids == sorted(ids) and {"SPD001", "MOB001", "MOB002", "NAV001", "NAV002", "CTA001", "FRM001"} <= set(ids)


def test_help_teaches():
    result = run("audit", "--help")
    assert result.returncode == 0
    for option in ("--max-pages", "--fail-under", "--devices", "--resume", "--browser-endpoint"):
        assert option in result.stdout
    assert "--no-resume" not in result.stdout  # the README's flag is the only form
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "TERMINAL_WIDTH", "LINES")}
    piped = subprocess.run([*CLI, "audit", "--help"], capture_output=True, text=True, env=env, timeout=60).stdout
    assert "…" not in piped and "--no-fail-on-broken" in piped  # at 80 columns, flag names were cut short
    narrow = run("audit", "--help", env={"COLUMNS": "80"}).stdout.splitlines()
    # Rich's table left each option's help a 20-column strip at 80 columns: 218 lines of it.
    assert max(map(len, narrow)) <= 80 and len(narrow) < 120
    assert "  --fail-on-drop <float>          Exit 1 when the score fell more than this" in narrow
    assert not any(line.rstrip().endswith("--fail-") for line in narrow)  # a flag is never split at its hyphen
    text = " ".join(result.stdout.split())
    assert "Exit codes: 0 done; 1 a score under --fail-under" in text and "3 incomplete" in text  # what CI reads
    assert "Exit codes:" in run("batch", "--help").stdout


def test_batch_help_tells_its_own_exit_codes_and_sites_file():
    """batch shared audit's exit codes, which left out its 2 for a site that could not be audited, and its
    SITES_FILE help left out the commas and logins a sites file may hold."""
    result = run("batch", "--help", env={"COLUMNS": "500"})  # one line per paragraph: no box border in the text
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    assert ("Exit codes: 0 done; 1 a site under --fail-under or fallen more than --fail-on-drop, or with a page "
            "broken for a visitor with --fail-on-broken; 2 bad usage, a bad sites file, no browser (or it went away "
            "mid-run), or a site that could not be audited (the batch goes on with the others); 3 incomplete: a site "
            "turned the auditor away on some pages; 130 interrupted (the index lists the sites finished so far, and those "
            "not reached). "
            "When several apply, 2 wins over 1, and 1 over 3.") in text
    assert "no usable start URL" not in text and "the partial report is written" not in text  # audit's, not batch's
    assert ("its start URL, or several separated by spaces, commas or semicolons" in text
            and "a staging site's login can be written in its URL (https://user:password@staging.example/)" in text)
    assert "no usable start URL, no browser (or it went away mid-run: the partial report is written)" in " ".join(run("audit", "--help", env={"COLUMNS": "500"}).stdout.split())


@pytest.mark.parametrize("command", [[], ["audit"], ["batch"], ["demo"], ["rules"], ["doctor"]])
def test_flags_show_no_type(command):
    """A '<bool>' after --help or --quiet reads as 'takes a value': a user typed --fail-on-broken true."""
    result = run(*command, "--help")
    assert result.returncode == 0 and "Usage:" in result.stdout
    assert "<bool>" not in result.stdout


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_writes_a_partial_report(sig, tmp_path):
    root = tmp_path / "site"
    slow_pages = {f"p{i}.html": page(f"P{i}", [], f'<img src="/slow/3000/x{i}.png">') for i in range(8)}
    write(root, {"index.html": page("Home", list(slow_pages)), **slow_pages})
    out = tmp_path / "r"
    with StaticSite(root) as server:
        proc = subprocess.Popen(
            [*CLI, "audit", server.url, "--out", str(out), "--devices", "desktop", "--concurrency", "2"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        )
        deadline = time.monotonic() + 60
        line = ""
        while "[1/" not in line and time.monotonic() < deadline:
            line = proc.stderr.readline()
        assert "[1/" in line
        os.killpg(proc.pid, sig)  # to the process group, as a terminal's Ctrl-C or a cancelled CI job sends it
        stdout, stderr = proc.communicate(timeout=60)
        report = json.loads((out / "report.json").read_text())
        html = (out / "report.html").read_text()
        resumed = run("audit", server.url, "--out", str(out), "--devices", "desktop", "--concurrency", "2", "--resume")
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr and stderr.splitlines()[-1].startswith("Interrupted")  # and no noise after
    assert report["partial"] is True and report["stopped_by"] == sig.name
    assert {"SIGINT": "it was interrupted with Ctrl-C", "SIGTERM": "it was told to stop by SIGTERM, from a CI time limit"}[sig.name] in html
    kept = len(report["pages"])
    assert 1 <= kept < 9
    assert "partial" in html.lower()
    assert resumed.returncode == 0, resumed.stderr
    lines = resumed.stderr.splitlines()
    assert lines[0] == f"Resuming: {kept} page{'s' * (kept != 1)} kept from the earlier run, not visited again."
    assert lines[1].startswith(f"[{kept + 1}/9] ") and len(json.loads((out / "report.json").read_text())["pages"]) == 9


def test_the_progress_bar_shows_a_url_as_text_not_as_markup(monkeypatch):
    """Browsers leave [ and ] in URLs as they are: a site's link to /x[/bold] broke the bar's thread, and one
    to ?q=[link=...]...[/link] put a clickable link of the site's choosing in the user's terminal."""
    import io

    from rich.console import Console

    from auditor import cli
    from auditor.facts import PageResult

    screen = io.StringIO()
    monkeypatch.setattr(cli, "err", Console(file=screen, force_terminal=True, width=200, color_system=None))
    reporter = cli._ProgressReporter(quiet=False)
    with reporter:
        for n, url in enumerate(["http://127.0.0.1/x[/bold]", "http://127.0.0.1/y?q=[link=http://evil.example/]CLICK[/link]"]):
            reporter(n + 1, 2, PageResult(url=url))
            reporter.bar.refresh()
    shown = screen.getvalue()
    assert "/x[/bold]" in shown and "[link=http://evil.example/]CLICK[/link]" in shown
    assert "\x1b]8;" not in shown  # no terminal hyperlink


def test_a_report_folder_that_cannot_be_written_is_one_line_and_exit_2(site, tmp_path):
    """Exit 1 means 'the site failed the check' to CI; a bad --out is a usage error, found before the crawl
    where it can be, and after it the pages measured are kept for --resume."""
    (tmp_path / "a-file").write_text("")
    common = ["--devices", "desktop", "--max-depth", "0", "--screenshots", "off", "-q"]
    assert_one_line_error(run("audit", site.url, "--out", str(tmp_path / "a-file" / "r"), *common), 2,
                          f"cannot write to the report folder {tmp_path / 'a-file' / 'r'}: {tmp_path / 'a-file'} is a "
                          "file, not a folder")
    assert_one_line_error(run("audit", site.url, "--out", str(tmp_path / "a-file"), *common), 2,
                          f"cannot write to the report folder {tmp_path / 'a-file'}: {tmp_path / 'a-file'} is a file, "
                          "not a folder")  # a trial's said 'File exists'
    (tmp_path / "taken" / "report.json").mkdir(parents=True)
    late = run("audit", site.url, "--out", str(tmp_path / "taken"), *common)
    assert_one_line_error(late, 2, f"cannot write the report in {tmp_path / 'taken'}: Is a directory "
                                   f"({tmp_path / 'taken' / 'report.json'}); the pages measured are kept in its "
                                   "run.sqlite: make room or fix the folder, then run again with --resume")


@pytest.mark.parametrize("flags, message", [
    (["--select", "SPD", "--ignore", "SPD"], "--select SPD and --ignore SPD leave no rule to run (see `cro-audit rules`)"),
    (["--select", "MOB", "--devices", "desktop"],
     "the rules left by --select MOB judge only mobile pages, and --devices is desktop: no rule would run"),
])
def test_options_that_leave_no_rule_are_a_usage_error(flags, message, tmp_path):
    """A CI check that judges nothing can only pass (or, under --fail-under, only fail on 'n/a')."""
    assert_one_line_error(run("audit", "http://127.0.0.1:9/", "--out", str(tmp_path / "r"), *flags), 2, message)
    assert not (tmp_path / "r").exists()  # said before anything is visited or written


def test_a_concurrency_that_crowds_the_cores_is_noted(site, tmp_path):
    """Ten pages at once per core measured the auditor's own contention as the site's slowness."""
    from auditor.config import default_concurrency

    crowded = str(2 * default_concurrency() + 1)
    common = ["audit", site.url, "--out", str(tmp_path / "r"), "--devices", "desktop", "--max-depth", "0", "--screenshots", "off"]
    noted = run(*common, "--concurrency", crowded)
    assert noted.returncode == 0, noted.stderr
    assert noted.stderr.splitlines()[0].startswith(f"note: concurrency {crowded} on {os.cpu_count()} cores: the pages compete")
    assert "note:" not in run(*common, "--concurrency", str(2 * default_concurrency())).stderr


def test_junit_has_a_case_per_rule_and_page_failed_where_there_is_a_finding(tmp_path):
    """What CI test views read: stable case names (rule id and title), failures where report.json has
    findings, an error for a page a visitor cannot use, a skip for one only the auditor is kept from,
    and well-formed XML whatever the page's text holds."""
    import xml.etree.ElementTree as ET

    menu = [f"/p{i}.html" for i in range(9)]  # with /gone.html, 10 top-level menu items: NAV001 fails (at most 7)
    write(tmp_path / "s", {
        "index.html": page("Home", [*menu, "/gone.html"],
                           "<button>Buy \x01 <now> ]]></button>".replace("<now>", "&lt;now&gt;")),
        **{f"p{i}.html": page(f"P{i}", []) for i in range(9)},
        "robots.txt": "User-agent: *\nDisallow: /private/\n",
    })
    with StaticSite(tmp_path / "s") as site:
        common = ["audit", site.url, "--out", str(tmp_path / "r"), "--devices", "desktop", "--screenshots", "off", "-q"]
        plain = run(*common, "--max-pages", "3")
        assert plain.returncode == 0 and not (tmp_path / "r" / "junit.xml").exists()  # only when asked
        result = run(*common, site.url + "private/x.html", "--junit", "--max-depth", "1", "--max-pages", "30")
        (tmp_path / "cro-audit.toml").write_text("junit = true\n")
        waived = run(*common, "--out", str(tmp_path / "r2"), "--no-junit", cwd=tmp_path)
    assert waived.returncode == 0 and not (tmp_path / "r2" / "junit.xml").exists()
    assert result.returncode == 0, result.stderr
    root = ET.parse(tmp_path / "r" / "junit.xml").getroot()
    report = json.loads((tmp_path / "r" / "report.json").read_text())
    # Suites are named by path (a review app's host changes from one merge request to the next), in the
    # report's page order; the host is an attribute.
    suites = {s.get("name"): s for s in root}
    assert list(suites) == ["/" + p["url"].removeprefix(site.url) for p in report["pages"]]
    assert {s.get("hostname") for s in root} == {site.url.split("/")[2]}
    assert root.get("name") == "cro-audit"
    suites = {site.url + name.lstrip("/"): s for name, s in suites.items()}
    home = suites[site.url]
    failed = {c.get("name"): c.find("failure").get("type") for c in home if c.find("failure") is not None}
    assert failed["NAV001 The main menu is short"] == "medium"  # 10 items
    assert sorted(n.split()[0] for n in failed) == sorted({f["rule_id"] for f in report["pages"][0]["findings"]})
    assert [c.get("name") for c in home][0] == "page loads" and home.find("testcase").find("*") is None
    gone, private = suites[site.url + "gone.html"], suites[site.url + "private/x.html"]
    assert [(c.get("name"), c[0].tag, c[0].get("type")) for c in gone] == [("page loads", "error", "http_error")]
    assert [(c.get("name"), c[0].tag, c[0].get("type")) for c in private] == [("page loads", "skipped", "blocked_by_robots")]
    for key in ("tests", "failures", "errors", "skipped"):
        assert int(root.get(key)) == sum(int(s.get(key)) for s in root)
    assert (root.get("errors"), root.get("skipped")) == ("1", "1")
    assert int(root.get("failures")) == sum(len({f["rule_id"] for f in p["findings"]}) for p in report["pages"])


def test_pdf_is_the_report_printed_and_its_failure_is_one_line(site, tmp_path):
    result = run("audit", site.url, "--out", str(tmp_path / "r"), "--devices", "desktop", "--max-depth", "0", "--pdf", "--junit")
    assert result.returncode == 0, result.stderr
    out = tmp_path / "r"  # stdout stays the one path a script opens; the other files are named on stderr
    assert result.stdout == f"{out / 'report.html'}\n"
    assert f"Also written: {out / 'report.pdf'}, {out / 'junit.xml'}." in result.stderr
    quiet = run("audit", site.url, "--out", str(tmp_path / "q"), "--devices", "desktop", "--max-depth", "0", "--junit", "-q")
    assert quiet.returncode == 0 and quiet.stderr == "" and (tmp_path / "q" / "junit.xml").exists()
    pdf = (tmp_path / "r" / "report.pdf").read_bytes()
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    assert len(re.findall(rb"/Type\s*/Page\b", pdf)) >= 1
    # The next run into the same folder (another client's, say) does not leave these beside its own report.
    again = run("audit", site.url, "--out", str(out), "--devices", "desktop", "--max-depth", "0", "-q")
    assert again.returncode == 0 and (out / "report.html").exists()
    assert not (out / "report.pdf").exists() and not (out / "junit.xml").exists()

    from auditor.config import build
    from auditor.pdf import print_pdf

    with pytest.raises(ValueError, match=r"^Cannot connect to the browser endpoint http://127\.0\.0\.1:9/: connection refused"):
        print_pdf("<h1>report</h1>", build({}, {"browser_endpoints": ["http://127.0.0.1:9/"]}))


def test_a_dumb_terminal_gets_progress_lines_not_a_bar(monkeypatch):
    """TERM=dumb (Emacs shells, some CI consoles) cannot draw a bar: it showed no progress at all."""
    import io

    from rich.console import Console

    from auditor import cli
    from auditor.facts import PageResult

    monkeypatch.setenv("TERM", "dumb")
    screen = io.StringIO()
    monkeypatch.setattr(cli, "err", Console(file=screen, force_terminal=True, width=200))
    with cli._ProgressReporter(quiet=False) as reporter:
        assert reporter.bar is None
        reporter(1, 2, PageResult(url="http://127.0.0.1/"))
    assert screen.getvalue() == "[1/2] http://127.0.0.1/ ok\n"


def test_the_bar_says_what_the_run_does_after_its_last_page(monkeypatch):
    """Printing a PDF takes seconds: the bar stood at N/N with the last page's URL, as if stuck on it."""
    import io

    from rich.console import Console

    from auditor import cli
    from auditor.facts import PageResult

    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.setattr(cli, "err", Console(file=io.StringIO(), force_terminal=True, width=200))
    with cli._ProgressReporter(quiet=False) as reporter:
        assert reporter.bar is not None and reporter.task is not None
        reporter(2, 2, PageResult(url="http://127.0.0.1/last.html"))
        assert reporter.bar.tasks[0].description == "http://127.0.0.1/last.html"
        reporter.stage("printing the [bold]")
        assert reporter.bar.tasks[0].description == "printing the \\[bold]..."  # escaped: it is rich markup


def test_resume_in_a_folder_with_nothing_to_resume_says_it_starts_afresh(site, tmp_path):
    result = run("audit", site.url, "--out", str(tmp_path / "r"), "--devices", "desktop", "--max-depth", "0", "--resume")
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines()[0] == f"Nothing to resume in {tmp_path / 'r'}: starting a new run."


def test_a_page_only_one_device_could_measure_is_counted_once_in_the_summary(tmp_path):
    """Scored on desktop and failed on mobile, it was in both counts ('over 2 pages; 1 failed' of 2 pages)."""
    import http.server
    import threading

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            phone = "Mobile" in self.headers.get("User-Agent", "")
            status, body = (500, b"<h1>oops</h1>") if phone and self.path == "/half.html" else (
                200, page("Home" if self.path == "/" else "Half", ["/half.html"]).encode())
            self.send_response(status)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        (tmp_path / "cro-audit.toml").write_text("retries = 0\n")  # a 500 is retried, and would be again
        result = run("audit", url, "--out", str(tmp_path / "r"), "--screenshots", "off", cwd=tmp_path)
    finally:
        server.shutdown()
        server.server_close()
    assert result.returncode == 0, result.stderr
    summary = next(line for line in result.stderr.splitlines() if line.startswith("Score "))
    assert " over 2 pages (1 on one device only); 1 page broken for visitors; findings: " in summary
    # The report's own counts say the same, so a client reading it and a developer reading the log agree.
    counts = json.loads((tmp_path / "r" / "report.json").read_text())["summary"]
    assert (counts["pages_audited"], counts["pages_one_device"], counts["pages_failed"]) == (2, 1, 0)
    assert counts["pages_broken"] == 1  # a phone's visitor meets the 500
    html = (tmp_path / "r" / "report.html").read_text()
    assert re.search(r'<div class="n">2</div><div class="l">pages audited \(1 on one device only\)</div>', html)
    assert re.search(r'<div class="n">0</div><div class="l">pages not audited</div>', html)
    assert "<strong>1 page is broken for visitors</strong>" in html
    assert "<strong>Server returned an error (mobile: The server answered HTTP 500.)</strong> · " in html


def test_a_config_file_saved_with_a_bom_is_read(tmp_path):
    """Notepad starts a UTF-8 file with a byte-order mark, which TOML does not allow: it was 'not valid TOML'."""
    from auditor.config import load_file

    path = tmp_path / "cro-audit.toml"
    path.write_text("\ufeffmax-pages = 7\n[headers]\nX-Token = \"abc\"\n", encoding="utf-8")
    assert load_file(path) == {"max_pages": 7, "headers": {"X-Token": "abc"}}


def test_fail_on_drop_fails_a_deploy_that_lowers_the_score_more_than_allowed(tmp_path):
    """The main branch's report is the baseline; a preview that lost its call to action fails the build,
    a small drop within the allowance passes, and with nothing to compare with the check says so."""
    root = tmp_path / "site"
    write(root, {"index.html": page("Home", [], '<button style="padding:12px 24px">Buy now</button>')})
    common = ("--devices", "desktop", "--max-depth", "0", "--screenshots", "off")
    with StaticSite(root) as server:
        main = run("audit", server.url, "--out", str(tmp_path / "main"), "--fail-on-drop", "3", *common)
        assert main.returncode == 0, main.stderr
        assert "note: no earlier audit of this site in " in main.stderr and "--fail-on-drop checks nothing" in main.stderr
        baseline = json.loads((tmp_path / "main" / "report.json").read_text())
        write(root, {"index.html": page("Home", [])})  # the preview lost its call to action
        preview = run("audit", server.url, "--out", str(tmp_path / "preview"), "--baseline",
                      str(tmp_path / "main" / "report.json"), "--fail-on-drop", "3", *common)
        now = json.loads((tmp_path / "preview" / "report.json").read_text())
        allowed = run("audit", server.url, "--out", str(tmp_path / "again"), "--baseline",
                      str(tmp_path / "main" / "report.json"), "--fail-on-drop", str(baseline["score"] - now["score"]),
                      *common)
    fell = baseline["score"] - now["score"]
    assert fell > 3 and now["previous"] == {"score": baseline["score"], "finished_at": baseline["finished_at"],
                                            "start_url": server.url, "pages_audited": 1, "broken_paths": []}
    assert preview.returncode == 1, preview.stderr
    when = f"{baseline['finished_at'][:10]} {baseline['finished_at'][11:16]} UTC"
    assert (f"Score {now['score']} fell {fell} points since the baseline of {when} ({baseline['score']}), "
            f"more than --fail-on-drop 3.") in preview.stderr
    assert f"; -{fell} since {when})" in preview.stderr  # on the score line too
    assert allowed.returncode == 0, allowed.stderr  # a drop of exactly the allowance passes
    assert "fell" not in allowed.stderr


def test_a_comparison_that_is_not_like_for_like_says_so(tmp_path, site):
    """A baseline of another host (the main branch's review app) or of a bigger crawl is still compared
    with, but the score line says what differs: a drop from 12 pages to 1 is not the site getting worse."""
    common = ("--devices", "desktop", "--max-depth", "0", "--screenshots", "off")
    assert run("audit", site.url, "--out", str(tmp_path / "main"), *common).returncode == 0
    other = json.loads((tmp_path / "main" / "report.json").read_text())
    other["start_urls"], other["summary"]["pages_audited"] = ["https://www.main.example/"], 12
    (tmp_path / "other.json").write_text(json.dumps(other))
    result = run("audit", site.url, "--out", str(tmp_path / "r"), "--baseline", str(tmp_path / "other.json"), *common)
    same = run("audit", site.url, "--out", str(tmp_path / "main"), *common)
    assert result.returncode == 0 and same.returncode == 0, result.stderr + same.stderr
    when = f"{other['finished_at'][:10]} {other['finished_at'][11:16]} UTC"
    assert f"; unchanged since {when} (of https://www.main.example/; 12 pages then, 1 now))" in result.stderr
    assert f"; unchanged since {when})" in same.stderr  # like for like: nothing to add
    report = json.loads((tmp_path / "r" / "report.json").read_text())
    assert report["previous"]["start_url"] == "https://www.main.example/"
    html = " ".join((tmp_path / "r" / "report.html").read_text().split())
    assert (f"since the audit of {other['finished_at'][:10]}" not in html  # the date is written for people
            and "of https://www.main.example/ (100/100), which covered 12 pages; this one covers 1</span>" in html)
    assert "which covered" not in (tmp_path / "main" / "report.html").read_text()


def test_a_baseline_that_cannot_be_compared_with_is_one_line_exit_2(tmp_path, site):
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"schema_version": 1, "start_urls": ["https://a.example/"], "partial": False,
                                 "score": 80, "finished_at": "2026-11-20T03:00:00Z",
                                 "settings": {"devices": ["mobile"], "throttle": False}}))
    junk = tmp_path / "junk.json"
    junk.write_text("<html>")
    for baseline, fragment in ((tmp_path / "missing.json", "missing.json: no such file"),
                               (junk, "junk.json is not a report.json this cro-audit can read"),
                               (other, "other.json was measured on --devices mobile, this run on desktop,mobile: "
                                       "audit the same way to compare")):
        result = run("audit", site.url, "--out", str(tmp_path / "r"), "--baseline", str(baseline))
        assert_one_line_error(result, 2, fragment)
    assert not (tmp_path / "r").exists()  # refused before any crawl


def test_config_values_are_shown_as_toml_and_secrets_not_at_all():
    """Users write TOML: a message in Python's spelling (True, 'x', {'a': 1}) reads as someone else's bug.
    Values of the settings that hold secrets are never repeated."""
    from auditor.config import ConfigError, build, toml_text

    assert toml_text([True, "caf\u00e9", 2.5, {"a b": 1, "c": [False]}]) == '[true, "caf\u00e9", 2.5, {"a b" = 1, c = [false]}]'
    assert toml_text(float("inf")) == "inf" and toml_text("x" * 200).endswith('xx...')
    for name, value in (("auth", 271828), ("headers", "X-Token: 271828"), ("headers", {"X-Token": 271828}),
                        ("browser_endpoints", "http://u:271828@grid:4444")):
        with pytest.raises(ConfigError) as caught:
            build({name: value}, {}, source=Path("cro-audit.toml"))
        assert str(caught.value).startswith("cro-audit.toml: ") and "271828" not in str(caught.value)


@pytest.mark.parametrize(("args", "line"), [
    # Worded as a config file's bad value is ('max-pages must be a whole number, not 2.5'), not as Typer's
    # "Invalid value for '--timeout': Input should be a valid number, unable to parse string as a number".
    (["audit", "http://127.0.0.1:9/", "--timeout", "abc"], 'error: --timeout must be a number, not "abc" (see '),
    (["audit", "http://127.0.0.1:9/", "--max-pages", "2.5"], 'error: --max-pages must be a whole number, not "2.5" (see '),
    (["batch", "sites.txt", "--rate=nan"], 'error: --rate must be a number, not "nan" (see '),  # passes every check
    (["audit", "http://127.0.0.1:9/", "--fail-under", "1e999"], 'error: --fail-under must be a number, not "1e999" (see '),
    # Click's hint was whatever shared a few letters: '--bogus (Possible options: --out)'.
    (["audit", "http://127.0.0.1:9/", "--bogus"], "error: No such option: --bogus (see '"),
    (["batch", "sites.txt", "--max-page", "3"], "error: No such option: --max-page; did you mean --max-pages? (see '"),
    (["audit"], "error: Missing argument 'URL' (see '"),  # the program as it was called, then 'audit --help'
    (["nosuch"], "error: No such command 'nosuch' (see '"),
])
def test_a_value_typer_cannot_parse_is_one_line_too(args, line, tmp_path):
    """Typer told these in a box of usage, hint and borders: five lines in a CI log, unlike every other error."""
    result = run(*args, cwd=tmp_path)
    assert_one_line_error(result, 2, line)
    assert "╭" not in result.stderr and "Usage:" not in result.stderr


def test_a_bad_flag_value_names_the_flag(tmp_path):
    """'max-pages must be at least 1, not 0' after --max-pages 0 named a config key, not what was typed."""
    for flag, message in ((["--max-pages", "0"], "error: --max-pages must be at least 1, not 0"),
                          (["--devices", "phone"], "error: --devices names an unknown device, 'phone' (the devices are desktop, mobile)"),
                          (["--screenshots", "big"], 'error: --screenshots must be one of css, device, off, not "big"')):
        assert_one_line_error(run("audit", "http://127.0.0.1:9/", *flag, cwd=tmp_path), 2, message)
    (tmp_path / "cro-audit.toml").write_text("max-pages = 0\n")  # the file's own value names the file, as before
    assert_one_line_error(run("audit", "http://127.0.0.1:9/", cwd=tmp_path), 2, "cro-audit.toml: max-pages must be at least 1")


def test_a_bad_flag_value_is_not_blamed_on_the_config_file():
    """`--max-pages 0` beside a config file was told as the file's error, sending the user to fix a file
    that was fine; the file's own bad value still names the file, and a flag may mend it."""
    from auditor.config import ConfigError, build

    toml = Path("cro-audit.toml")
    with pytest.raises(ConfigError) as caught:
        build({"max_depth": 1}, {"max_pages": 0}, source=toml)
    assert str(caught.value) == "--max-pages must be at least 1, not 0"
    with pytest.raises(ConfigError) as caught:
        build({"max_pages": 0}, {"max_depth": 1}, source=toml)
    assert str(caught.value) == "cro-audit.toml: max-pages must be at least 1, not 0"
    assert build({"max_pages": 0}, {"max_pages": 5}, source=toml).max_pages == 5
    with pytest.raises(ConfigError) as caught:  # bad in both: the flag's is the value the run would use
        build({"max_pages": 0}, {"max_pages": 0}, source=toml)
    assert str(caught.value) == "--max-pages must be at least 1, not 0"


def test_fail_on_drop_must_be_points_between_0_and_100(tmp_path, site):
    result = run("audit", site.url, "--out", str(tmp_path / "r"), "--fail-on-drop", "-1")
    assert_one_line_error(result, 2, "error: --fail-on-drop must be a number of points between 0 and 100, not -1")
    assert result.stderr.endswith(", not -1\n")  # as typed, not -1.0


def test_a_whole_number_out_of_range_is_shown_as_typed(tmp_path):
    """`--timeout 9999` was told 'not 9999.0', a number nobody typed: a flag of seconds or points is a float."""
    from auditor.config import ConfigError, build

    assert_one_line_error(run("audit", "http://127.0.0.1:9/", "--timeout", "9999", cwd=tmp_path), 2,
                          "error: --timeout must be at most 600 seconds, not 9999: a page that takes longer")
    for flags, message in (({"timeout": 0.0}, "--timeout must be a positive number of seconds, not 0"),
                           ({"timeout": 600.5}, "--timeout must be at most 600 seconds, not 600.5:"),
                           ({"timeout": 1e300}, "--timeout must be at most 600 seconds, not 1e+300:"),
                           ({"rate": -2.0}, "--rate must be 0 or more, not -2"),
                           ({"fail_under": 150.0}, "--fail-under must be a score between 0 and 100, not 150"),
                           ({"fail_on_drop": -5.0}, "--fail-on-drop must be a number of points between 0 and 100, not -5"),
                           ({"fail_on_drop": -0.5}, "--fail-on-drop must be a number of points between 0 and 100, not -0.5")):
        with pytest.raises(ConfigError) as caught:
            build({}, flags)
        assert str(caught.value).startswith(message), caught.value  # a flag's value, told by the flag
    with pytest.raises(ConfigError) as caught:  # where a whole number is what is asked for, 2.0 is not one
        build({"max_pages": 2.0}, {}, source=Path("cro-audit.toml"))
    assert str(caught.value) == "cro-audit.toml: max-pages must be a whole number, not 2.0"


def test_a_second_run_into_a_folder_in_use_is_refused_until_the_first_ends(tmp_path, site):
    """A nightly job that overlaps the last one would share its run store and write one report over the
    other: the second is turned away with who holds the folder. A run that died leaves nothing locked."""
    from auditor.store import LOCK_NAME, RunStore

    out = tmp_path / "r"
    holder = RunStore(out, [site.url], resume=False)  # a run in progress, in this process
    try:
        busy = run("audit", site.url, "--out", str(out), "--devices", "desktop", "--max-depth", "0")
    finally:
        holder.close()
        holder.release()
    assert_one_line_error(busy, 2, f"another cro-audit run is writing to {out} (process {os.getpid()}): wait for it "
                                   "to finish, or use another --out")
    (out / LOCK_NAME).write_text("999999")  # left by a run that was killed: its lock went with it
    free = run("audit", site.url, "--out", str(out), "--devices", "desktop", "--max-depth", "0")
    assert free.returncode == 0, free.stderr


@pytest.mark.parametrize("password", ["s3cret", "pa/ss", "se#cret", "qu?ux"])
def test_a_bad_url_with_a_login_is_told_without_its_password(tmp_path, password):
    """A / # or ? in a password ends the host for a parser: the URL fails, and its message must not show it."""
    result = run("audit", f"https://user:{password}@127.0.0.1:1/", "--out", str(tmp_path / "r"))
    if password == "s3cret":  # a good URL: the run fails later, on the connection, with no password in sight
        result = run("audit", f"https://user:{password}@127.0.0.1:abc/", "--out", str(tmp_path / "r"))
    assert_one_line_error(result, 2, "https://user:***@127.0.0.1:", "the port must be a number from 1 to 65535 (a "
                          "password with / ? # @ or a space in it is written %2F %3F %23 %40 %20)")
    assert password not in result.stderr
    assert f"user:{password.split('/')[0].split('#')[0].split('?')[0]}" not in result.stderr  # not even cut short


def test_the_readme_config_example_is_a_valid_config(tmp_path):
    """The example users copy first: a key renamed in the code and not in the README would fail here."""
    from auditor.config import build, load_file

    readme = (Path(__file__).parent.parent / "README.md").read_text()
    example = re.search(r"```toml\n(# cro-audit\.toml.*?)```", readme, re.S)
    assert example is not None
    (tmp_path / "cro-audit.toml").write_text(example.group(1))
    settings = build(load_file(tmp_path / "cro-audit.toml"), {}, source=tmp_path / "cro-audit.toml")
    assert settings.client == "Northwind Outfitters" and settings.max_pages == 50 and settings.branding["accent"] == "#6a1b9a"


def test_a_rule_failing_on_both_devices_is_counted_once_in_the_report_and_the_log(site, tmp_path):
    """report.json keeps a finding per device; the client's report shows one card and the log counts as it does."""
    from tests.test_report_template import Parsed

    result = run("audit", site.url, "--out", str(tmp_path / "r"), "--select", "CTA001", "--screenshots", "off")
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "r" / "report.json").read_text())
    about = next(p for p in report["pages"] if p["url"].endswith("/about.html"))
    assert [(f["rule_id"], f["device"], f["severity"]) for f in about["findings"]] == [
        ("CTA001", "desktop", "high"), ("CTA001", "mobile", "high")]
    assert report["summary"]["findings"] == {"high": 2, "medium": 0, "low": 0}  # unchanged: per page and device
    summary = next(line for line in result.stderr.splitlines() if line.startswith("Score "))
    assert summary.endswith("; findings: 1 high, 0 medium, 0 low (each rule once per page, on one device or both).")
    html = (tmp_path / "r" / "report.html").read_text()
    assert '<div class="n">1</div><div class="l">high-impact finding</div>' in html
    text = " ".join(Parsed(html).text.split())
    assert ("High No call to action in view above the fold Calls to action On desktop and mobile CTA001 "
            "The page has no visible call to action at all. How to fix: ") in text  # one line, not one per device
    assert text.count("CTA count 0") == 1


def test_fail_on_broken_tells_the_deploy_s_new_broken_pages_from_the_baseline_s(tmp_path):
    """A main branch with an old broken link failed every preview with nothing saying which pages are new."""
    root = tmp_path / "site"
    write(root, {"index.html": page("Home", ["/gone.html"])})
    common = ("--devices", "desktop", "--max-depth", "1", "--screenshots", "off", "--fail-on-broken")
    with StaticSite(root) as server:
        assert run("audit", server.url, "--out", str(tmp_path / "main"), *common).returncode == 1
        baseline = ("--baseline", str(tmp_path / "main" / "report.json"))
        same = run("audit", server.url, "--out", str(tmp_path / "same"), *baseline, *common)
        write(root, {"index.html": page("Home", ["/gone.html", "/lost.html"])})  # the deploy breaks a link
        worse = run("audit", server.url, "--out", str(tmp_path / "worse"), *baseline, *common)
        quiet = run("audit", server.url, "--out", str(tmp_path / "quiet"), *baseline, *common, "--quiet")
    then = json.loads((tmp_path / "main" / "report.json").read_text())["finished_at"]
    when = f"{then[:10]} {then[11:16]} UTC"
    assert same.returncode == worse.returncode == quiet.returncode == 1
    assert (f"1 page broken for a visitor (--fail-on-broken; none new: all broken in the baseline of {when} too), "
            "listed above.") in same.stderr
    assert (f"2 pages broken for a visitor (--fail-on-broken; 1 new since the baseline of {when}), listed above."
            in worse.stderr)
    assert (f"2 pages broken for a visitor (--fail-on-broken; 1 new since the baseline of {when}), first new "
            f"{server.url}lost.html (linked from {server.url}): Page not found (404)") in quiet.stderr


def test_fail_on_broken_asks_the_status_of_the_links_past_the_budget(tmp_path):
    """`--max-pages 2 --fail-on-broken` passed a site whose 404 was one link past the budget, saying nothing
    (a trial). The links the budget left are asked for their status without a browser: a 404 fails the run,
    and a pass says what it covered. Without --fail-on-broken they are not asked at all."""
    root = tmp_path / "site"
    write(root, {"index.html": page("Home", ["/a.html", "/b.html", "/gone.html"]), "a.html": page("A", []),
                 "b.html": page("B", [])})
    common = ("--devices", "desktop", "--screenshots", "off")
    with StaticSite(root) as server:
        plain = run("audit", server.url, "--out", str(tmp_path / "plain"), "--max-pages", "2", *common)
        assert "/gone.html" not in server.hits and "/b.html" not in server.hits  # no check unless asked for
        short = run("audit", server.url, "--out", str(tmp_path / "short"), "--max-pages", "2", "--fail-on-broken", *common)
        assert server.hits["/gone.html"] == 1 and server.hits["/b.html"] == 1  # one request each, no browser
        shallow = run("audit", server.url, "--out", str(tmp_path / "shallow"), "--max-depth", "0", "--fail-on-broken",
                      *common, "--quiet")
        (root / "gone.html").write_text(page("Back", []))
        mended = run("audit", server.url, "--out", str(tmp_path / "mended"), "--max-pages", "2", "--fail-on-broken", *common)
    assert plain.returncode == 0 and "note:" not in plain.stderr
    assert short.returncode == 1, short.stderr
    assert "  broken: /gone.html — Page not found (404), linked from /" in short.stderr
    # The progress tells the status check apart: no [3/3] past --max-pages 2 (a trial read it as the budget broken).
    assert "--fail-on-broken: asking 2 links past the page budget for their HTTP status, without a browser" in short.stderr
    assert f"  {server.url}gone.html HTTP 404 (linked from {server.url})\n" in short.stderr
    assert "[3/" not in short.stderr and "[2/2]" in short.stderr
    entry = next(p for p in json.loads((tmp_path / "short" / "report.json").read_text())["pages"]
                 if p["url"].endswith("/gone.html"))
    assert entry["status_code"] == 404 and "asked without a browser" in entry["error"]["message"]
    assert json.loads((tmp_path / "short" / "report.json").read_text())["not_followed"]["max_pages"]["count"] == 1
    assert shallow.returncode == 1 and f"{server.url}gone.html (linked from {server.url}): Page not found (404)" in shallow.stderr
    assert mended.returncode == 0, mended.stderr
    assert ("note: --fail-on-broken audited 2 pages and asked the other 2 links of the site (2 beyond max-pages 2) "
            "for their status, without a browser: none is broken.") in mended.stderr


def test_a_copy_of_a_page_is_not_called_a_link_not_followed(tmp_path):
    """'Links not followed: 1 merged into a page with the same title and text' after '[8/9] /home.html ok':
    the copy was visited (a trial). It is told as a URL reported once, by its path."""
    root = tmp_path / "site"
    home = page("Home", ["/home.html", "/a.html"])
    write(root, {"index.html": home, "home.html": home, "a.html": page("A", [])})
    with StaticSite(root) as server:
        result = run("audit", server.url, "--out", str(tmp_path / "r"), "--devices", "desktop", "--screenshots", "off")
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines()[-1] == ("Reported once, under another URL: 1 URL showing the same title and "
                                              "text as another page (/home.html).")
    assert "Links not followed" not in result.stderr
    # Its progress line counted it ('[3/3]' with 2 pages reported): the next line says why (a trial's '[16/16]'
    # past --max-pages 15 looked like the budget broken).
    lines = result.stderr.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith(f"[") and "/home.html ok" in line)
    assert f"  {server.url}home.html: reported once, under another URL (the same title and text as another page); " \
           "not counted in max-pages" in lines[at + 1:]
