"""`cro-audit batch`: many sites, a report folder each, one index."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from auditor.audit import UsageError, read_sites
from auditor.serve import StaticSite
from tests.test_cli import closed_port
from tests.test_crawl import page, write


def test_sites_file_format(tmp_path):
    path = tmp_path / "sites.txt"
    path.write_text("# clients\nhttps://a.example/  https://a.example/pricing  # two start URLs\n\n"
                    "http://127.0.0.1:8080/\nhttps://a.example/blog\n")
    sites = read_sites(path)
    assert [(s.name, s.urls) for s in sites] == [
        ("a.example", ["https://a.example/", "https://a.example/pricing"]),
        ("127.0.0.1-8080", ["http://127.0.0.1:8080/"]),
        ("a.example-blog", ["https://a.example/blog"]),
    ]


def test_sites_of_one_host_get_folders_by_their_start_urls_not_their_lines_order(tmp_path):
    """`A | host/` then `C | host/hello.html` went to host and host-2; with the lines swapped, C wrote into A's
    folder and A into C's, each over the other client's report (a trial)."""
    lines = ["A | http://127.0.0.1:8103/", "C | http://127.0.0.1:8103/hello.html", "D | https://127.0.0.1:8103/",
             "E | http://127.0.0.1:8103/Shop/?page=2", "F | http://127.0.0.1:8103/shop?page=2"]
    path = tmp_path / "sites.txt"
    named = []
    for order in (lines, lines[::-1], lines[2:] + lines[:2]):
        path.write_text("\n".join(order) + "\n")
        named.append(sorted((s.client, s.name) for s in read_sites(path)))
    assert named[0] == named[1] == named[2] == [
        ("A", "127.0.0.1-8103"), ("C", "127.0.0.1-8103-hello.html"), ("D", "127.0.0.1-8103-2"),
        ("E", "127.0.0.1-8103-shop-page-2"), ("F", "127.0.0.1-8103-shop-page-2-3")]


def test_commas_and_semicolons_between_start_urls_separate_them(tmp_path):
    """A line pasted from a spreadsheet (`https://a.example/, https://a.example/shop`) made `https://a.example/,`
    a start URL, and one without spaces a single URL whose path held the second. A comma inside a URL stays."""
    path = tmp_path / "sites.txt"
    path.write_text("https://a.example/, https://a.example/shop\n"
                    "https://b.example/ , https://b.example/p?ids=1,2;\n"
                    "https://c.example/,https://c.example/shop;HTTPS://c.example/about,,\n"
                    "https://d.example/go?to=https://x.example/,https://y.example/\n"
                    "https://e.example/wiki/Washington,_D.C. ;\n"
                    "https://f.example/;jsessionid=1;,https://f.example/shop\n"
                    "Acme, Inc. | https://g.example/,https://g.example/shop\n")  # a client label keeps its comma
    sites = read_sites(path)
    assert sites[-1].client == "Acme, Inc."
    assert [s.urls for s in sites] == [
        ["https://a.example/", "https://a.example/shop"],
        ["https://b.example/", "https://b.example/p?ids=1,2"],
        ["https://c.example/", "https://c.example/shop", "https://c.example/about"],
        ["https://d.example/go?to=https://x.example/,https://y.example/"],  # in a query, a value may hold one
        ["https://e.example/wiki/Washington,_D.C."],
        ["https://f.example/", "https://f.example/shop"],
        ["https://g.example/", "https://g.example/shop"],
    ]


@pytest.mark.parametrize(("content", "message"), [
    ("", "lists no sites"),
    ("https://ok.example/\n".encode("utf-16"), "is not UTF-8 text; save it as UTF-8"),
    ("https://ok.example/\nftp://bad.example/\n", "line 2: ftp://bad.example/: only http and https"),
    # A trial's "not a url" was told as 'not: not a valid URL', its first word; a name without its | likewise.
    ("https://ok.example/\nnot a url\n", 'line 2: "not a url" is not a start URL \\(a line holds a site'),
    ("Acme Corp https://acme.example/\n", 'line 1: "Acme Corp" is not a URL; a client\'s name goes before a \\| '
                                          '\\(Acme Corp \\| https://acme.example/\\)'),
])
def test_bad_sites_file_is_refused_before_any_crawl(tmp_path, content, message):
    path = tmp_path / "sites.txt"
    path.write_bytes(content) if isinstance(content, bytes) else path.write_text(content)
    with pytest.raises(UsageError, match=message):
        read_sites(path)


def test_a_sites_file_that_cannot_be_read_is_told_in_words(tmp_path, unreadable):
    """`nope.txt: cannot be read ([Errno 2] No such file or directory: 'nope.txt')` was Python's, not ours."""
    result = subprocess.run([sys.executable, "-m", "auditor", "batch", "nope.txt"], capture_output=True, text=True,
                            timeout=60, cwd=tmp_path)
    assert (result.returncode, result.stderr) == (2, "error: nope.txt: no such file\n")
    for path, message in ((tmp_path / "nope.txt", "no such file"), (tmp_path, "is a folder, not a file"),
                          (tmp_path / "nope.txt" / "sites.txt", "no such file")):
        with pytest.raises(UsageError) as caught:
            read_sites(path)
        assert str(caught.value) == f"{path}: {message}"
    locked = unreadable(tmp_path / "sites.txt", "https://a.example/\n")
    with pytest.raises(UsageError) as caught:
        read_sites(locked)
    assert str(caught.value) == f"{locked}: cannot be read: permission denied"


def test_client_given_to_a_batch_says_where_a_batch_takes_clients_from(tmp_path):
    """Typer's 'No such option: --client (Possible options: --quiet)' sent a user looking for a flag that
    does not exist: a batch names each site's client in its sites file."""
    (tmp_path / "sites.txt").write_text("https://a.example/\n")
    for flag in (["--client", "Acme Corp"], ["--client=Acme Corp"]):
        result = subprocess.run([sys.executable, "-m", "auditor", "batch", "sites.txt", *flag], capture_output=True,
                                text=True, timeout=60, cwd=tmp_path)
        assert (result.returncode, result.stdout) == (2, "")
        assert result.stderr == ("error: --client is for audit: a batch takes each site's client from its line of the "
                                 "sites file, like Acme Corp | https://acme.example/\n")
    assert not (tmp_path / "reports").exists()
    shown = subprocess.run([sys.executable, "-m", "auditor", "batch", "--help"], capture_output=True, text=True,
                           timeout=60, env={**os.environ, "COLUMNS": "200"})
    assert shown.returncode == 0 and "--client" not in shown.stdout  # nothing to offer: it only explains


def test_every_bad_line_of_a_sites_file_is_told_before_any_audit(tmp_path):
    """Stopping at the first bad line made fixing a long file one run per mistake."""
    path = tmp_path / "sites.txt"
    path.write_text("https://ok.example/\nftp://bad.example/\nhttps://ok.example/\n"
                    "http://127.0.0.1:abc/  # a typo\nhttps://fine.example/ example.com/x\n")
    with pytest.raises(UsageError) as caught:
        read_sites(path, lambda note: pytest.fail(f"noted although the file is refused: {note}"))
    assert str(caught.value).splitlines() == [
        f"{path}, line 2: ftp://bad.example/: only http and https URLs can be audited, not ftp:",
        f"{path}, line 4: http://127.0.0.1:abc/: the port must be a number from 1 to 65535",
        f"{path}, line 5: example.com/x: not a valid URL (no scheme; did you mean https://example.com/x?)",
    ]
    path.write_text("https://a.example/ /shop\n/about\n")  # a path goes with its line's URL, not another line's
    with pytest.raises(UsageError) as caught:
        read_sites(path)
    assert str(caught.value).splitlines() == [
        f"{path}, line 1: /shop: a path, not a URL: give the whole address, like https://a.example/shop",
        f"{path}, line 2: /about: a path, not a URL: give the whole address, like https://example.com/about",
    ]
    path.write_text("".join(f"ftp://bad{i}.example/\n" for i in range(25)))
    with pytest.raises(UsageError) as caught:
        read_sites(path)
    told = str(caught.value).splitlines()
    assert len(told) == 11 and told[9].startswith(f"{path}, line 10: ")
    assert told[10] == f"{path}: 15 more bad lines, not shown"
    result = subprocess.run([sys.executable, "-m", "auditor", "batch", str(path), "--out", str(tmp_path / "out")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and result.stdout == "" and not (tmp_path / "out").exists()
    lines = result.stderr.splitlines()
    assert len(lines) == 11 and all(line.startswith(f"error: {path}") for line in lines), result.stderr


def test_batch_writes_a_report_per_site_and_an_index(tmp_path):
    write(tmp_path / "one", {"index.html": page("One", [], '<button style="padding:14px 24px">Buy now</button>')})
    write(tmp_path / "two", {"index.html": page("Two", [f"/p{i}.html" for i in range(12)])})
    with StaticSite(tmp_path / "one") as one, StaticSite(tmp_path / "two") as two:
        dead = f"http://127.0.0.1:{closed_port()}/"
        (tmp_path / "sites.txt").write_text(f"{one.url}\n{dead}\nCrowded Client With A Long Name Ltd | {two.url}\n")
        out = tmp_path / "out"
        result = subprocess.run(
            [sys.executable, "-m", "auditor", "batch", str(tmp_path / "sites.txt"), "--out", str(out),
             "--devices", "desktop", "--max-depth", "0", "--fail-under", "95"],
            capture_output=True, text=True, timeout=300,
        )
    assert result.returncode == 2, result.stderr  # a site could not be audited (the crowded one is under 95 too)
    assert result.stdout.strip() == str(out / "index.html")
    index = json.loads((out / "index.json").read_text())
    names = [s["name"] for s in index["sites"]]
    assert names == [one.url.split("/")[2].replace(":", "-"), dead.split("/")[2].replace(":", "-"),
                     two.url.split("/")[2].replace(":", "-")]
    first, unreachable, crowded = index["sites"]
    assert first["score"] == 100 and first["error"] is None and (out / first["report_href"]).is_file()
    assert unreachable["score"] is None and "Connection refused" in unreachable["error"]
    assert unreachable["report_href"] is None  # a site never reached: its error, not a link to an empty report
    assert crowded["score"] < 95
    html = (out / "index.html").read_text()
    assert all(name in html for name in names)
    dead_name, crowded_name = names[1], names[2]
    # not the one without a score; one line, not cut at 80 columns as Rich cut it in a log
    assert f"\n1 site under --fail-under 95: {crowded_name} (Crowded Client With A Long Name Ltd).\n" in result.stderr
    assert result.stderr.strip().endswith(f"1 site could not be audited: {dead_name}.")
    assert [s["broken_pages"] for s in index["sites"]] == [0, 1, 0]  # the unreachable start page
    assert [s["band"] for s in index["sites"]] == ["good", "n/a", "needs-work" if crowded["score"] >= 50 else "poor"]


def test_batch_fail_on_broken_names_the_sites(tmp_path):
    write(tmp_path / "ok", {"index.html": page("Ok", [])})
    write(tmp_path / "holes", {"index.html": page("Holes", ["/gone.html"])})
    with StaticSite(tmp_path / "ok") as ok, StaticSite(tmp_path / "holes") as holes:
        (tmp_path / "sites.txt").write_text(f"{ok.url}\n{holes.url}\n")
        result = subprocess.run(
            [sys.executable, "-m", "auditor", "batch", str(tmp_path / "sites.txt"), "--out", str(tmp_path / "out"),
             "--devices", "desktop", "--fail-on-broken"],
            capture_output=True, text=True, timeout=300,
        )
    assert result.returncode == 1, result.stderr
    holes_name = holes.url.split("/")[2].replace(":", "-")
    assert result.stderr.strip().endswith(f"\n1 site with pages broken for a visitor (--fail-on-broken): {holes_name}.")
    # The site's own line says so too: a nightly log showed only its score while the index showed the broken page.
    assert f"\n{holes_name}: score 67; 1 page broken for visitors\n" in result.stderr  # no call to action: 67
    # And names the page, as audit does: the log is what the fix starts from (it was only counted).
    assert "\n  broken: /gone.html — Page not found (404), linked from /\n" in result.stderr
    assert "  broken:" not in result.stderr.split(f"\n{holes_name}: ")[0]  # the sound site lists nothing


def test_a_password_in_one_sites_url_is_not_used_for_the_next(tmp_path):
    from auditor.audit import run_batch
    from auditor.config import build
    from auditor.rulebook import load_rulebook
    from auditor.audit import BatchSite

    write(tmp_path / "a", {"index.html": page("A", [])})
    with StaticSite(tmp_path / "a") as a, StaticSite(tmp_path / "a") as b:
        settings = build({}, {"devices": ["desktop"], "screenshots": "off", "max_depth": 0})
        seen = []
        import auditor.audit as audit_module

        original = audit_module.Crawl

        class Spy(original):
            def __init__(self, s, *args, **kwargs):
                seen.append(s.auth)
                super().__init__(s, *args, **kwargs)

        audit_module.Crawl = Spy
        try:
            run_batch([BatchSite("a", [a.url.replace("http://", "http://u:secret@")]), BatchSite("b", [b.url])],
                      settings, load_rulebook(), tmp_path / "out")
        finally:
            audit_module.Crawl = original
    assert seen == ["u:secret", None] and settings.auth is None


def test_sites_file_from_notepad_with_repeats_and_a_staging_login(tmp_path):
    """A BOM (Notepad) made line 1 'not a valid URL'; a repeated line audited the site again under a -2
    folder; and a staging login written in a line was dropped, so that site failed with 401."""
    path = tmp_path / "sites.txt"
    path.write_text("\ufeffhttp://127.0.0.1:8102/\nhttp://u:p%40ss@127.0.0.1:8103/\n"
                    "http://127.0.0.1:8102\n  http://127.0.0.1:8102/  # again\nhttp://u:other@127.0.0.1:8103/\n"
                    "https://www.a.example/ http://a.example/shop\nhttp://127.0.0.1:8104/ http://127.0.0.1:8105/\n",
                    encoding="utf-8")
    notes: list[str] = []
    sites = read_sites(path, notes.append)
    assert [(s.name, s.urls, s.auth) for s in sites] == [
        ("127.0.0.1-8102", ["http://127.0.0.1:8102/"], None),
        ("127.0.0.1-8103", ["http://127.0.0.1:8103/"], "u:p@ss"),
        ("www.a.example", ["https://www.a.example/", "http://a.example/shop"], None),
        ("127.0.0.1-8104", ["http://127.0.0.1:8104/", "http://127.0.0.1:8105/"], None),
    ]
    assert notes == [
        f"{path}, line 3: the same site as line 1, skipped.",
        f"{path}, line 4: the same site as line 1, skipped.",
        f"{path}, line 5: the same site as line 2 (with another login: the first is used), skipped.",
        f"{path}, line 7: 127.0.0.1:8104, 127.0.0.1:8105 are audited together, as one site and one report; "
        "put each on its own line to audit them apart.",
    ]


def test_index_ranks_the_sites_worst_first_and_flags_broken_and_partial_ones():
    from auditor.report import render_index

    rows = [
        {"name": "good-site", "start_url": "https://good.example/", "score": 93, "pages": 5, "report_href": "good-site/report.html", "error": None},
        {"name": "half-done", "start_url": "https://half.example/", "score": 71, "pages": 2, "partial": True,
         "report_href": "half-done/report.html", "error": None, "broken_pages": 2},
        {"name": "down-site", "start_url": "https://down.example/", "score": None, "pages": None, "report_href": None,
         "error": "cannot audit https://down.example/: refused"},
        {"name": "poor-site", "start_url": "https://poor.example/", "score": 40, "pages": 3, "report_href": "poor-site/report.html", "error": None},
    ]
    html = render_index(rows, {"name": "Agency", "logo_data_uri": None, "accent": "#0b6e4f"})
    # broken pages rank a site before a clean one of a lower score
    order = [html.index(f'<div class="name">{name}</div>') for name in ("down-site", "half-done", "poor-site", "good-site")]
    assert order == sorted(order)
    half = html[html.index('<div class="name">half-done</div>'):html.index('<div class="name">poor-site</div>')]
    assert "Stopped partway" in half and "2 pages broken for a visitor" in half
    good = html[html.index('<div class="name">good-site</div>'):]
    assert "Stopped partway" not in good and "broken for a visitor" not in good


def quick_batch(tmp_path, *more):
    """`cro-audit batch` of tmp_path/sites.txt into tmp_path/out: desktop only, start pages only, no screenshots."""
    return subprocess.run(
        [sys.executable, "-m", "auditor", "batch", str(tmp_path / "sites.txt"), "--out", str(tmp_path / "out"),
         "--devices", "desktop", "--max-depth", "0", "--screenshots", "off", *more],
        capture_output=True, text=True, timeout=300)


def test_a_nightly_batch_in_the_same_folder_says_how_each_score_moved(tmp_path):
    """An agency reruns the same sites file into the same folder: each site's score is set against its last
    audit there, on the terminal and in the index."""
    button = '<button style="padding:14px 24px">Buy now</button>'
    write(tmp_path / "one", {"index.html": page("One", [], button)})
    write(tmp_path / "two", {"index.html": page("Two", [], button)})
    with StaticSite(tmp_path / "one") as one, StaticSite(tmp_path / "two") as two:
        (tmp_path / "sites.txt").write_text(f"{one.url}\n{two.url}\n")

        def batch(*more):
            return quick_batch(tmp_path, *more)

        first = batch("--fail-on-drop", "50")
        assert first.returncode == 0, first.stderr
        assert f"note: 2 sites had no earlier audit in {tmp_path / 'out'} to compare with: --fail-on-drop checks " in first.stderr
        assert [s["previous"] for s in json.loads((tmp_path / "out" / "index.json").read_text())["sites"]] == [None, None]
        assert " since " not in first.stderr
        assert 'class="pdf"' not in (tmp_path / "out" / "index.html").read_text()
        write(tmp_path / "one", {"index.html": page("One", [])})  # the site lost its call to action
        second = batch("--pdf")
    assert second.returncode == 0, second.stderr
    rows = json.loads((tmp_path / "out" / "index.json").read_text())["sites"]
    reports = [json.loads((tmp_path / "out" / r["name"] / "report.json").read_text()) for r in rows]
    then = reports[0]["previous"]["finished_at"]
    assert [r["previous"]["score"] for r in rows] == [100, 100] and rows[0]["score"] < 100 and rows[1]["score"] == 100
    drop = 100 - rows[0]["score"]
    assert f"{rows[0]['name']}: score {rows[0]['score']}; -{drop} since {then[:10]} {then[11:16]} UTC" in second.stderr
    assert f"{rows[1]['name']}: score 100; unchanged since " in second.stderr
    html = (tmp_path / "out" / "index.html").read_text()
    assert f'<span class="change">down {drop} since ' in html and '<span class="change">unchanged since ' in html
    for row in rows:  # the client's PDF is one click from the index
        assert row["pdf_href"] == f"{row['name']}/report.pdf" and (tmp_path / "out" / row["pdf_href"]).is_file()
        assert f'<a href="{row["pdf_href"]}">PDF</a>' in html


def test_a_batch_into_a_folder_another_batch_is_writing_stops_at_once(tmp_path):
    """Two nightly batches overlapping each failed the site the other was on, and the last index written
    called a site that had a report 'could not be audited': the second batch now stops before any site."""
    import os

    from auditor.store import lock_folder, unlock_folder

    (tmp_path / "sites.txt").write_text("http://127.0.0.1:1/\n")
    (tmp_path / "out").mkdir()
    held = lock_folder(tmp_path / "out")
    try:
        result = subprocess.run([sys.executable, "-m", "auditor", "batch", str(tmp_path / "sites.txt"), "--out",
                                 str(tmp_path / "out")], capture_output=True, text=True, timeout=60)
    finally:
        unlock_folder(held)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == (f"error: another cro-audit batch is writing to {tmp_path / 'out'} (process "
                                     f"{os.getpid()}): wait for it to finish, or use another --out")
    assert not (tmp_path / "out" / "index.html").exists()


def test_a_bad_line_with_a_login_never_shows_its_password(tmp_path):
    """A space or a # in a password cuts the line apart: the error showed 'user:pa' and blamed the port."""
    path = tmp_path / "sites.txt"
    path.write_text("https://user:qu ux@127.0.0.1:1/\nhttps://u:qv#ux@127.0.0.1:2/\nhttps://user:s3cret@127.0.0.1:abc/\n")
    with pytest.raises(UsageError) as caught:
        read_sites(path)
    lines = str(caught.value).splitlines()
    assert not {"qu", "qv", "s3cret"} & set(str(caught.value).replace("/", " ").replace(":", " ").split())
    assert "user:qu" not in str(caught.value) and "u:qv" not in str(caught.value)
    hint = "a password with / ? # @ or a space in it is written %2F %3F %23 %40 %20"
    assert lines[0] == (f"{path}, line 1: not a valid start URL; it seems to hold a login (user:password@host), not "
                        f"repeated here: {hint}")
    assert lines[1].startswith(f"{path}, line 2: not a valid start URL; it seems to hold a login")
    assert lines[2] == f"{path}, line 3: https://user:***@127.0.0.1:abc/: the port must be a number from 1 to 65535 ({hint})"


def test_a_sites_file_names_each_sites_client(tmp_path):
    """An agency's index and reports name the client, not only a host: `Acme Corp | https://...`."""
    path = tmp_path / "sites.txt"
    path.write_text("Acme  Corp | https://acme.example/ https://acme.example/shop  # two start URLs\n"
                    "https://plain.example/?ids=1|2\n"  # a | in a URL is no label
                    "Zoë & Co. (EU) | https://zoe.example/\n"
                    "Store #12 | https://store.example/  # a # in a name is the name's\n"
                    "# Old | https://old.example/\nhttps://new.example/ # was | https://old.example/\n")
    sites = read_sites(path)
    assert [(s.name, s.client, s.urls) for s in sites] == [
        ("acme.example", "Acme Corp", ["https://acme.example/", "https://acme.example/shop"]),
        ("plain.example", None, ["https://plain.example/?ids=1|2"]),
        ("zoe.example", "Zoë & Co. (EU)", ["https://zoe.example/"]),
        ("store.example", "Store #12", ["https://store.example/"]),
        ("new.example", None, ["https://new.example/"]),
    ]
    path.write_text(" | https://a.example/\nAcme |\nEvil \u202eCorp | https://b.example/\n"
                    f"{'x' * 81} | https://c.example/\n")
    with pytest.raises(UsageError) as caught:
        read_sites(path)
    assert str(caught.value).splitlines() == [
        f"{path}, line 1: the label before | must be a name, not empty",
        f"{path}, line 2: Acme | names no start URL",
        f"{path}, line 3: the label before | must be plain text, without control characters",
        f"{path}, line 4: the label before | must be at most 80 characters, not 81",
    ]


def test_a_line_with_two_bars_is_told_that_it_takes_one_name(tmp_path):
    """`Two pipes | a | http://...` was told 'a: not a valid URL', as if `a` were meant for a URL. A | in a
    URL's query (or in a comment) after the name is still the URL's."""
    path = tmp_path / "sites.txt"
    good = ("Acme | https://acme.example/\n"
            "Shop | https://x.example/?a=1|2 https://x.example/b?c=3|4\n"
            "Old | https://o.example/  # was | https://old.example/\n")
    path.write_text(good + "Two pipes | a | http://127.0.0.1:8103/\nAcme || https://b.example/\n")
    with pytest.raises(UsageError) as caught:
        read_sites(path)
    told = "a line takes one client name before one | (a name cannot hold a |)"
    assert str(caught.value).splitlines() == [f"{path}, line 4: {told}", f"{path}, line 5: {told}"]
    path.write_text(good)
    assert [(s.client, s.urls) for s in read_sites(path)] == [
        ("Acme", ["https://acme.example/"]),
        ("Shop", ["https://x.example/?a=1|2", "https://x.example/b?c=3|4"]),
        ("Old", ["https://o.example/"]),
    ]


def test_a_batch_names_clients_and_writes_one_junit_file_for_ci(tmp_path):
    """The client's name heads its report and its index row; with --junit the batch also writes one
    junit.xml for a CI's test view, each site's page suites named after the site, a failed site an error."""
    import xml.etree.ElementTree as ET

    write(tmp_path / "one", {"index.html": page("One", [], '<button style="padding:14px 24px">Buy now</button>')})
    with StaticSite(tmp_path / "one") as one:
        dead = f"http://127.0.0.1:{closed_port()}/"
        (tmp_path / "sites.txt").write_text(f"Acme <Corp> | {one.url}\n{dead}\n")
        (tmp_path / "agency.toml").write_text('client = "Northwind"\n')  # an agency's shared config: not every site's client
        out = tmp_path / "out"
        result = subprocess.run(
            [sys.executable, "-m", "auditor", "batch", str(tmp_path / "sites.txt"), "--out", str(out),
             "--devices", "desktop", "--max-depth", "0", "--screenshots", "off", "--junit",
             "--config", str(tmp_path / "agency.toml")],
            capture_output=True, text=True, timeout=300)
    assert result.returncode == 2, result.stderr  # the dead site
    name, dead_name = one.url.split("/")[2].replace(":", "-"), dead.split("/")[2].replace(":", "-")
    assert f"\n{name} (Acme <Corp>): score 100\n" in "\n" + result.stderr
    rows = json.loads((out / "index.json").read_text())["sites"]
    assert [r["client"] for r in rows] == ["Acme <Corp>", None]
    assert (f'note: client = "Northwind" in the config file is not used by batch: name each site\'s client on its '
            f'line of {tmp_path / "sites.txt"} (Acme Corp | https://acme.example/).') in result.stderr
    report = json.loads((out / name / "report.json").read_text())
    assert report["client"] == "Acme <Corp>"
    html = (out / name / "report.html").read_text()
    assert '<p class="client" id="client">Prepared for <strong>Acme &lt;Corp&gt;</strong></p>' in html
    assert f"<title>Conversion audit – Acme &lt;Corp&gt; ({one.url})</title>" in html
    assert '<div class="name">Acme &lt;Corp&gt;</div>' in (out / "index.html").read_text()
    root = ET.parse(out / "junit.xml").getroot()
    assert root.get("name") == "cro-audit batch"
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert sorted(suites) == sorted([f"{name} /", dead_name])
    assert suites[f"{name} /"].get("failures") == "0" and int(suites[f"{name} /"].get("tests")) > 1
    error = suites[dead_name].find("testcase/error")
    assert error is not None and "Connection refused" in error.get("message")
    assert root.get("errors") == "1" and root.get("tests") == str(sum(int(s.get("tests")) for s in suites.values()))
    assert (out / name / "junit.xml").is_file()  # each site's own stays


def test_an_audit_into_a_site_folder_of_a_running_batch_stops_at_once(tmp_path):
    """A batch locks each site folder only while it audits that site: a plain audit into batch/<site> ran
    beside it, sharing the site's run store."""
    import os

    from auditor.store import lock_folder, unlock_folder

    (tmp_path / "batch" / "site").mkdir(parents=True)
    held = lock_folder(tmp_path / "batch", "batch")
    try:
        result = subprocess.run([sys.executable, "-m", "auditor", "audit", "http://127.0.0.1:1/", "--out",
                                 str(tmp_path / "batch" / "site")], capture_output=True, text=True, timeout=60)
    finally:
        unlock_folder(held)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == (f"error: a cro-audit batch is writing to {tmp_path / 'batch'} (process {os.getpid()}), "
                                     f"which holds {tmp_path / 'batch' / 'site'}: wait for it to finish, or use another --out")
    assert sorted(p.name for p in (tmp_path / "batch" / "site").iterdir()) == []  # left as it was found


def test_a_batch_s_notices_name_the_site_they_are_about(tmp_path):
    """Among many sites' lines, a bare "Resuming: 1 page kept" belonged to no site."""
    from auditor.audit import BatchSite, run_batch
    from auditor.config import build
    from auditor.rulebook import load_rulebook

    class Recorder:
        def __init__(self):
            self.notices, self.pages = [], 0

        def __call__(self, done, total, page):
            self.pages += 1

        def notice(self, text):
            self.notices.append(text)

    write(tmp_path / "a", {"index.html": page("A", [])})
    with StaticSite(tmp_path / "a") as a:
        settings = build({}, {"devices": ["desktop"], "screenshots": "off", "max_depth": 0})
        sites = [BatchSite("acme", [a.url], client="Acme")]
        run_batch(sites, settings, load_rulebook(), tmp_path / "out", progress=Recorder())
        again = Recorder()
        run_batch(sites, settings, load_rulebook(), tmp_path / "out", resume=True, progress=again)
        run_batch(sites, settings, load_rulebook(), tmp_path / "out", progress=lambda *args: None)  # no notice(): fine
    assert again.notices == ["acme: Resuming: 1 page kept from the earlier run, not visited again."]


def test_a_site_down_on_a_nightly_run_says_when_it_was_last_audited(tmp_path):
    """A site unreachable tonight was a row with its error and nothing else: the client asks since when.
    A night down passes the last real audit on, so the night it is back compares with that, not with nothing.
    And it keeps that audit's report: an empty one in its place lost the deliverable the index links to (a trial)."""
    write(tmp_path / "shop", {"index.html": page("Shop", [])})
    sites, out = tmp_path / "sites.txt", tmp_path / "out"

    def batch():
        return subprocess.run(
            [sys.executable, "-m", "auditor", "batch", str(sites), "--out", str(out), "--devices", "desktop",
             "--max-depth", "0"], capture_output=True, text=True, timeout=300)

    with StaticSite(tmp_path / "shop") as shop:
        sites.write_text(f"{shop.url}\n")
        assert batch().returncode == 0
        up = json.loads((out / "index.json").read_text())["sites"][0]
    folder = out / up["name"]
    first = json.loads((folder / "report.json").read_text())
    kept = {name: (folder / name).read_bytes() for name in ("report.json", "report.html", "screenshots/0000-desktop.jpg")}
    when = f"{first['finished_at'][:10]} {first['finished_at'][11:16]} UTC"
    for night in (2, 3):  # the server is gone: the port refuses connections
        down = batch()
        assert down.returncode == 2, down.stderr
        assert (f"(ERR_CONNECTION_REFUSED); last audited {when} (score {up['score']}), whose report is kept"
                in down.stderr), (night, down.stderr)
        assert {name: (folder / name).read_bytes() for name in kept} == kept
        row = json.loads((out / "index.json").read_text())["sites"][0]
        assert row["error"] and row["previous"]["finished_at"] == first["finished_at"]
        assert row["report_href"] == f"{up['name']}/report.html"
        assert "Last audited " in (out / "index.html").read_text() and ">View last report</a>" in (out / "index.html").read_text()
    with StaticSite(tmp_path / "shop", port=int(shop.url.rsplit(":", 1)[1].strip("/"))) as again:
        assert again.url == shop.url
        back = batch()
    assert back.returncode == 0, back.stderr
    assert f"score {up['score']}; unchanged since {when}" in back.stderr
    assert "last audited" not in back.stderr and "Last audited" not in (out / "index.html").read_text()
    assert json.loads((folder / "report.json").read_text())["finished_at"] != first["finished_at"]
    assert [p.name for p in (folder / "screenshots").iterdir()] == ["0000-desktop.jpg"]


def test_batch_quiet_names_the_broken_page_and_why_a_site_failed(tmp_path):
    """With --quiet the sites' own lines are not printed, and the closing lines said only '1 site with pages
    broken ...: 127.0.0.1-18081.' and '1 site could not be audited: 127.0.0.1-18099.': no page, no reason."""
    write(tmp_path / "holes", {"index.html": page("Holes", ["/gone.html"])})
    with StaticSite(tmp_path / "holes") as holes:
        dead = f"http://127.0.0.1:{closed_port()}/"
        (tmp_path / "sites.txt").write_text(f"Acme Corp | {holes.url}\n{dead}\n")
        result = subprocess.run(
            [sys.executable, "-m", "auditor", "batch", str(tmp_path / "sites.txt"), "--out", str(tmp_path / "out"),
             "--devices", "desktop", "--fail-on-broken", "--quiet"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 2, result.stderr
    holes_name, dead_name = (u.split("/")[2].replace(":", "-") for u in (holes.url, dead))
    lines = result.stderr.strip().splitlines()
    assert lines[0] == (f"1 site with pages broken for a visitor (--fail-on-broken): {holes_name} (Acme Corp) "
                        "(first broken: /gone.html — Page not found (404)).")
    assert lines[1].startswith(f"1 site could not be audited: {dead_name} (cannot audit {dead}: ") and len(lines) == 2


def test_an_interrupted_batch_lists_the_sites_it_did_not_reach(tmp_path):
    """Ctrl-C in the second of four sites wrote an index of two: the clients not reached were missing, with
    nothing to say so (a trial). They are listed last, with their earlier report where there is one."""
    import signal
    import time

    for name in ("a", "b", "c", "d"):
        write(tmp_path / name, {"index.html": page(name.upper(), ["/slow/20000/x.html"] if name == "b" else [])})
    out, sites = tmp_path / "out", tmp_path / "sites.txt"
    command = [sys.executable, "-m", "auditor", "batch", str(sites), "--out", str(out), "--devices", "desktop",
               "--screenshots", "off", "--max-depth", "1", "--timeout", "30"]
    with StaticSite(tmp_path / "a") as a, StaticSite(tmp_path / "b") as b, StaticSite(tmp_path / "c") as c, \
            StaticSite(tmp_path / "d") as d:
        sites.write_text(f"Dee | {d.url}\n")
        assert subprocess.run(command, capture_output=True, timeout=300).returncode == 0  # d's earlier report
        sites.write_text(f"Ay | {a.url}\nBee | {b.url}\nSee | {c.url}\nDee | {d.url}\n")
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120
        while "/slow/20000/x.html" not in b.hits and time.monotonic() < deadline:
            time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=120)
        assert "/" not in c.hits  # never reached
    assert proc.returncode == 130, stderr
    rows = {r["client"]: r for r in json.loads((out / "index.json").read_text())["sites"]}
    assert [(k, r["score"] is not None, r["partial"], r["not_reached"]) for k, r in rows.items()] == [
        ("Ay", True, False, False), ("Bee", True, True, False), ("See", False, False, True), ("Dee", False, False, True)]
    assert rows["See"]["report_href"] is None and rows["Dee"]["report_href"].endswith("/report.html")
    assert rows["Dee"]["previous"]["score"] == json.loads((out / rows["Dee"]["name"] / "report.json").read_text())["score"]
    names = {k: r["name"] for k, r in rows.items()}
    assert stderr.strip().splitlines()[-1] == (f"Interrupted (2 of 4 sites reached; not reached: {names['See']} (See), "
                                               f"{names['Dee']} (Dee)): resume with the same command and --resume.")
    index = " ".join((out / "index.html").read_text().split())
    assert index.count("Not audited: the batch was stopped before this site") == 2 and "Last audited" in index


def test_a_batch_measured_otherwise_than_the_last_one_says_why_it_does_not_compare(tmp_path):
    """A nightly batch switched to --warm-cache: the last audits in the folder were first visits, whose load
    times are slower; the sites are not compared with them, and the terminal and index.json say why (not "no
    earlier audit", which would send the user looking for one)."""
    write(tmp_path / "one", {"index.html": page("One", [])})
    with StaticSite(tmp_path / "one") as one:
        (tmp_path / "sites.txt").write_text(f"{one.url}\n")

        def batch(*more):
            return quick_batch(tmp_path, *more)

        assert batch().returncode == 0
        warm = batch("--warm-cache", "--fail-on-drop", "50")
        index = json.loads((tmp_path / "out" / "index.json").read_text())
        raw = (tmp_path / "out" / "index.html").read_text()
        html = " ".join(re.sub(r"<[^>]+>", "", raw).split())
        again = batch("--warm-cache", "--fail-on-drop", "50")
    assert warm.returncode == 0, warm.stderr
    assert warm.stderr.count("note: ") == 1
    assert (f"note: 1 site not compared with the last audit in {tmp_path / 'out'}, measured without --warm-cache, this "
            "run with: --fail-on-drop checks nothing there this time (") in warm.stderr
    assert again.returncode == 0 and "note: " not in again.stderr and "unchanged since " in again.stderr
    [row] = index["sites"]
    assert row["previous"] is None and row["not_compared"]["measured"] == "without --warm-cache, this run with"
    assert index["settings"]["warm_cache"] is True and index["tool"]["name"] == "cro-audit"
    assert "/100): it was measured without --warm-cache, this run with." in html
    assert '<span style="white-space: nowrap">--warm-cache,</span>' in raw  # never broken at its hyphen
    assert "pages after the start page measured with its files cached." in html
    assert [r["not_compared"] for r in json.loads((tmp_path / "out" / "index.json").read_text())["sites"]] == [None]


def test_the_index_fits_a_phone(tmp_path, chromium):
    """A client opens the index from an email on a phone: a trial's ran off the right edge at 390 px, its
    Status column cut off. Measured as any page is, by the audit's own facts."""
    from auditor.report import render_index

    note = {"score": 61, "finished_at": "2026-11-26T03:00:00Z", "measured": "without --warm-cache, this run with"}
    rows = [{"name": f"client-{i}.example", "client": "A Client With A Rather Long Name Ltd", "score": 40 + i,
             "start_url": f"https://www.client-{i}-with-a-long-domain-name.example/shop/category/page", "pages": 20,
             "report_href": f"client-{i}/report.html", "not_compared": note, "broken_pages": i % 2, "error": None}
            for i in range(3)]
    rows.append({"name": "down.example", "start_url": "https://down.example/", "score": None, "pages": None,
                 "error": "cannot audit https://down.example/: The site could not be reached (ERR_CONNECTION_REFUSED)."})
    (tmp_path / "index.html").write_text(render_index(rows, {}, settings={"devices": ["desktop", "mobile"], "max_pages": 20}))
    with StaticSite(tmp_path) as site:
        phone = chromium.visit(site.url + "index.html", "mobile")
    assert phone.error is None and phone.facts.viewport_width == 390
    assert phone.facts.document_width <= 390 and not phone.facts.horizontal_overflow


def test_a_sites_notices_carry_its_name_without_the_indent_of_a_follow_up_line():
    """An indented follow-up notice ('  http://...: reported once, under another URL') read
    '127.0.0.1-8850:   http://...' in a trial's batch log."""
    from auditor.audit import _named

    told: list[str] = []

    class Progress:
        def __call__(self, *args):
            pass

        def notice(self, text):
            told.append(text)

    named = _named(Progress(), "shop.example")
    named.notice("  https://shop.example/a: reported once, under another URL")
    named.notice("Resuming: 3 pages kept")
    assert told == ["shop.example: https://shop.example/a: reported once, under another URL",
                    "shop.example: Resuming: 3 pages kept"]
