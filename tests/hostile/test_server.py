"""Tests of the hostile server itself (not of the auditor): each case misbehaves exactly as documented.

Only 127.0.0.1 is ever contacted: the clients below have no proxy and follow no redirects.
"""

from __future__ import annotations

import html
import io
import re
import socket
import threading
import time
import zipfile
import zlib
from collections import Counter
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from auditor.facts import ERROR_KINDS as FACT_ERROR_KINDS

from .server import CASES, HostileServer

ERROR_KINDS = set(FACT_ERROR_KINDS)  # the auditor's own catalogue: a case may expect only what it can report


@pytest.fixture(scope="module")
def srv():
    with HostileServer(hang_seconds=20, trickle_seconds=20, slow_seconds=1.5, memory_mb=256) as server:
        yield server
    assert not server.errors, server.errors


@pytest.fixture
def client(srv):
    with httpx.Client(base_url=srv.url, follow_redirects=False, trust_env=False, timeout=10) as c:
        yield c


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.hrefs += [v for k, v in attrs if k == "href" and v is not None]


def links(text: str) -> list[str]:
    parser = Links()
    parser.feed(text)
    return parser.hrefs


def test_case_catalogue_is_complete_and_well_formed():
    assert len(CASES) == 47
    for name, case in CASES.items():
        assert case["path"].startswith("/"), name
        assert case["expect"] in ERROR_KINDS | {"facts"}, name
        assert case["expect"] in case["accept"] <= ERROR_KINDS | {"facts"}, name
    assert len({c["path"] for c in CASES.values()}) == len(CASES)


def test_url_and_url_for(srv):
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/", srv.url)
    assert srv.url_for("redirect-loop") == srv.url + "redirect-loop/a"
    assert srv.port == int(srv.url.split(":")[2].rstrip("/"))
    assert isinstance(srv.hits, Counter)


def test_index_links_every_case_and_hits_are_counted(srv, client):
    before = srv.hits["/"]
    response = client.get("/")
    assert response.status_code == 200
    assert set(links(response.text)) >= {c["path"] for c in CASES.values()}
    assert srv.hits["/"] == before + 1
    client.get("/calendar?month=2030-02")
    client.get("/calendar?month=2030-03")
    assert srv.hits["/calendar"] >= 2  # counted by path, the query left out
    assert ("GET", "/calendar?month=2030-03") in srv.requests


def test_every_case_path_answers_as_catalogued(srv, client):
    for name, case in CASES.items():
        if name in {"never-answers", "trickle", "gzip-bomb"}:
            continue  # tested on their own below
        response = client.get(case["path"])
        if case["expect"] == "http_error":
            assert response.status_code >= 400, name
        elif case["expect"] == "redirect_loop" and not name.startswith(("meta-refresh", "script-", "reload")):  # HTML
            assert response.status_code in (301, 302, 307, 308), name
        elif case["expect"] == "refused":
            assert response.status_code in (202, 403, 429), name
            assert {"cf-mitigated", "x-amzn-waf-action", "retry-after"} & set(response.headers), name
        elif case["expect"] == "not_html":
            assert response.status_code == 200, name
            assert not response.headers["content-type"].startswith("text/html"), name
        elif name == "redirect-ok":
            assert response.status_code == 301
        else:
            assert response.status_code == 200, name
            assert response.headers["content-type"].startswith("text/html"), name


def test_redirect_loop_alternates(client):
    a = client.get("/redirect-loop/a")
    assert a.status_code == 302 and a.headers["location"] == "/redirect-loop/b"
    b = client.get("/redirect-loop/b")
    assert b.status_code == 302 and b.headers["location"] == "/redirect-loop/a"


def test_redirect_chain_is_longer_than_a_browser_allows(client):
    path, hops = "/redirect-chain/0", 0
    while True:
        response = client.get(path)
        if response.status_code != 302:
            break
        path, hops = response.headers["location"], hops + 1
        assert hops < 100
    assert hops == 25  # a browser stops at 20
    assert response.status_code == 200


def test_redirect_ok_arrives_after_three_hops(srv):
    with httpx.Client(follow_redirects=True, trust_env=False, timeout=10) as c:
        response = c.get(srv.url_for("redirect-ok"))
    assert [r.status_code for r in response.history] == [301, 302, 307]
    assert response.status_code == 200 and "Arrived" in response.text


def test_never_answers_times_out_and_sends_nothing(srv):
    with httpx.Client(trust_env=False, timeout=1.0) as c:
        start = time.monotonic()
        with pytest.raises(httpx.ReadTimeout):
            c.get(srv.url_for("never-answers"))
    assert 0.9 < time.monotonic() - start < 3


def test_never_answers_closes_without_a_byte_after_hang_seconds():
    with HostileServer(hang_seconds=0.5) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            sock.sendall(b"GET /never-answers HTTP/1.1\r\nHost: x\r\n\r\n")
            start = time.monotonic()
            assert sock.recv(100) == b""  # EOF, no byte ever
            assert 0.4 < time.monotonic() - start < 3


def test_trickle_sends_headers_then_one_byte_a_second(srv):
    with httpx.Client(trust_env=False, timeout=5) as c, c.stream("GET", srv.url_for("trickle")) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        assert "content-length" not in response.headers
        received = b""
        start = time.monotonic()
        for chunk in response.iter_raw():
            received += chunk
            if time.monotonic() - start > 2.5:
                break
    assert b"<!doctype html>".startswith(received)
    assert 2 <= len(received) <= 5  # one byte at once, then one a second


@pytest.mark.parametrize("status", [404, 500, 503])
def test_error_statuses_have_html_bodies(client, status):
    response = client.get(f"/status/{status}")
    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/html")
    assert f"Error {status}" in response.text
    if status == 503:
        assert response.headers["retry-after"] == "120"


def test_downloads_and_non_html_types(client):
    pdf = client.get("/files/report.pdf")
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-1.4") and pdf.content.rstrip().endswith(b"%%EOF")
    xref = int(re.search(rb"startxref\n(\d+)", pdf.content).group(1))
    assert pdf.content[xref : xref + 4] == b"xref"

    archive = client.get("/files/archive.zip")
    assert archive.headers["content-type"] == "application/zip"
    assert archive.headers["content-disposition"].startswith("attachment")
    assert zipfile.ZipFile(io.BytesIO(archive.content)).namelist() == ["readme.txt"]

    assert client.get("/api/data.json").json()["kind"] == "json"
    assert client.get("/files/readme.txt").headers["content-type"].startswith("text/plain")

    png = client.get("/images/pixel.png")
    assert png.headers["content-type"] == "image/png"
    assert png.content.startswith(b"\x89PNG\r\n\x1a\n")
    idat = png.content.index(b"IDAT")
    length = int.from_bytes(png.content[idat - 4 : idat], "big")
    assert len(zlib.decompress(png.content[idat + 4 : idat + 4 + length])) == 16 * (1 + 16 * 3)


def test_empty_body(client):
    response = client.get("/empty")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["content-length"] == "0" and response.content == b""


def test_huge_page_is_ten_megabytes_of_in_site_links(client):
    response = client.get("/huge")
    assert 9_500_000 < len(response.content) < 11_000_000
    hrefs = links(response.text)
    assert len(hrefs) == 30_000
    assert all(h.startswith("/huge/item-") for h in hrefs)
    item = client.get(hrefs[-1])
    assert item.status_code == 200 and len(item.content) < 2000


def test_gzip_bomb_is_small_on_the_wire_and_inflates_to_a_gibibyte(client):
    with client.stream("GET", "/gzip-bomb") as response:
        assert response.headers["content-encoding"] == "gzip"
        raw = b"".join(response.iter_raw())
    assert len(raw) == int(response.headers["content-length"])
    assert len(raw) < 2 * 1024 * 1024
    inflater = zlib.decompressobj(wbits=31)  # gzip, checks the CRC and the length
    inflated, pending, head = 0, raw, b""
    while pending:
        out = inflater.decompress(pending, 1 << 24)
        if not head:
            head = out[:200]
        inflated += len(out)
        pending = inflater.unconsumed_tail
    inflated += len(inflater.flush())
    assert inflater.eof
    assert inflated >= 1 << 30
    assert head.startswith(b"<!doctype html>")


def test_scripts_are_where_they_should_be(client):
    assert "<script>while(true){}</script></head>" in client.get("/spin-script").text
    assert "addEventListener('load'" in client.get("/spin-after-load").text
    assert client.get("/alert-loop").text.count("alert(") == 2
    assert "beforeunload" in client.get("/beforeunload").text
    assert "window.open('/window-open/popup?n='" in client.get("/window-open").text
    assert "i < 50" in client.get("/window-open").text
    assert "/navigate-away/landed" in client.get("/navigate-away").text
    assert client.get("/navigate-away/landed").status_code == 200
    assert "http://example.invalid/" in client.get("/navigate-offsite").text


def test_memory_hog_is_bounded(srv, client):
    assert "window.__hogMB + 64 <= 256" in client.get("/memory-hog").text  # the fixture's memory_mb
    assert "<= 256" in client.get("/memory-hog?mb=99999").text  # a query cannot raise the bound
    assert HostileServer(memory_mb=10**6).memory_mb == 1536


def test_invalid_utf8_really_is_invalid(client):
    response = client.get("/invalid-utf8")
    assert "charset=utf-8" in response.headers["content-type"]
    with pytest.raises(UnicodeDecodeError):
        response.content.decode("utf-8")


def test_malformed_page_is_malformed(client):
    text = client.get("/malformed").text
    assert "<!doctype" not in text.lower()
    assert text.count("</div>") > text.count("<div")


def test_deep_iframes_nest_thirty_levels(client):
    level, path = 0, "/deep-iframes"
    while True:
        match = re.search(r'<iframe src="([^"]+)"', client.get(path).text)
        if not match:
            break
        path, level = match.group(1), level + 1
        assert level <= 100
    assert level == 30


def test_frameset_has_three_frames(client):
    text = client.get("/frameset").text
    frames = re.findall(r'<frame src="([^"]+)"', text)
    assert "<frameset" in text and len(frames) == 3
    assert all(client.get(f).status_code == 200 for f in frames)


def test_meta_refresh_pages_point_at_each_other(client):
    assert 'content="0; url=/meta-refresh/b"' in client.get("/meta-refresh/a").text
    assert 'content="0; url=/meta-refresh/a"' in client.get("/meta-refresh/b").text


def test_calendar_is_endless_both_ways(client):
    def step(path: str, label: str) -> str:
        text = client.get(path).text
        assert len(re.findall(r"day=\d+", text)) == 28
        return html.unescape(re.search(r'<a href="([^"]+)">[^<]*' + label, text).group(1))

    path = "/calendar?month=2025-11"
    for _ in range(30):
        path = step(path, "Next month")
    assert path == "/calendar?month=2028-05"
    path = "/calendar?month=0001-02"
    for _ in range(3):
        path = step(path, "Previous month")
    assert path == "/calendar?month=0000-11"


def test_faceted_shop_is_endless(client):
    text = client.get("/shop?color=red&size=m&sort=newest").text
    hrefs = links(text)
    assert len(hrefs) >= 20
    params = [parse_qs(urlsplit(h).query) for h in hrefs]
    assert {"color": ["blue"], "size": ["m"], "sort": ["newest"], "page": ["1"]} in params
    next_page = next(h for h in hrefs if "page=2" in h)
    assert "page=3" in client.get(next_page).text


def test_bad_links_page(srv, client):
    hrefs = links(client.get("/bad-links").text)
    assert len(hrefs) == 15  # 14 listed + Home
    for prefix in ("file:", "data:", "javascript:", "ftp:", "mailto:", "tel:", "//example.invalid", "http://[::1:bad"):
        assert any(h.startswith(prefix) for h in hrefs), prefix
    assert "http://127.0.0.1:0/" in hrefs and "http://127.0.0.1:99999/" in hrefs
    assert max(len(h) for h in hrefs) == 100 * 1024
    assert client.get("/bad-links/ok").status_code == 200
    # The 100 KB URL is more than http.server reads in a request line: it answers 414, as many servers do.
    long_url = next(h for h in hrefs if len(h) > 10_000)  # too long for httpx, so by hand
    with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as sock:
        sock.sendall(f"GET {long_url} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        assert sock.recv(100).startswith(b"HTTP/1.1 414")


def test_slow_ok_takes_a_second_and_a_half(client):
    start = time.monotonic()
    response = client.get("/slow-ok")
    assert response.status_code == 200
    assert 1.4 < time.monotonic() - start < 3


def test_normal_page(client):
    text = client.get("/normal").text
    assert '<meta name="viewport"' in text and "<nav>" in text and "<button" in text


def test_head_and_unknown_paths(client):
    head = client.head("/huge")
    assert head.status_code == 200 and int(head.headers["content-length"]) > 9_000_000 and head.content == b""
    assert client.get("/no-such-case").status_code == 404
    assert client.get("/favicon.ico").status_code == 404


def test_client_hanging_up_is_not_a_server_error():
    with HostileServer() as server:
        for path in ("/huge", "/gzip-bomb"):
            with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
                sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
                sock.recv(10)
        assert httpx.get(server.url_for("normal"), trust_env=False).status_code == 200
    assert server.errors == []


def test_shutdown_is_prompt_with_hanging_connections_open():
    server = HostileServer(hang_seconds=60, trickle_seconds=300, slow_seconds=60).start()
    port = server.port
    socks = []
    for path in ("/never-answers", "/trickle", "/slow-ok", None):  # None: connect, never send a request
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        if path:
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        socks.append(sock)
    deadline = time.monotonic() + 5
    while sum(server.hits[p] for p in ("/never-answers", "/trickle", "/slow-ok")) < 3:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    busy: list = []
    while len(busy) < 4:  # the silent connection's thread starts when the server accepts it: give it a moment
        assert time.monotonic() < deadline
        busy = [t for t in threading.enumerate() if t.name == f"hostile-conn-{port}"]
        time.sleep(0.02)
    start = time.monotonic()
    server.stop()
    assert time.monotonic() - start < 3
    assert not any(t.is_alive() for t in busy)
    for sock in socks:  # every client sees the connection end
        sock.settimeout(2)
        while sock.recv(65536):
            pass
        sock.close()
    with pytest.raises(ConnectionRefusedError):  # the port is closed
        socket.create_connection(("127.0.0.1", port), timeout=1)


def test_context_manager_exits_promptly_while_a_client_waits():
    result = {}
    with HostileServer(hang_seconds=60) as server:
        url = server.url_for("never-answers")

        def wait_forever():
            try:
                httpx.get(url, trust_env=False, timeout=30)
            except httpx.HTTPError as exc:
                result["error"] = exc

        waiter = threading.Thread(target=wait_forever, daemon=True)
        waiter.start()
        deadline = time.monotonic() + 5
        while not server.hits["/never-answers"]:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        start = time.monotonic()
    assert time.monotonic() - start < 3
    waiter.join(5)
    assert isinstance(result.get("error"), httpx.RemoteProtocolError)  # closed without a byte
