"""Staging credentials open the site, and never reach a report, the run store, or the output."""

from __future__ import annotations

import base64
import os
import subprocess
import sys

import pytest

from tests.test_crawl import page
from tests.test_resilience import RecordingServer

SECRET = "pa55-w0rd-xyz"


def guarded(secret_user: str = "staging", secret: str = SECRET) -> dict:
    """A site that answers 401 with a Basic challenge unless the right credentials come."""
    good = "Basic " + base64.b64encode(f"{secret_user}:{secret}".encode()).decode()
    pages = {"/": page("Staging home", ["/next.html"], "<button>Buy</button>"), "/next.html": page("Next", [])}

    def serve(path):
        return lambda attempt: (200, pages[path])

    return {path: serve(path) for path in pages}, good


class AuthServer(RecordingServer):
    def __init__(self, body: bytes = b"<h1>Login required</h1>") -> None:
        routes, self.good = guarded()
        super().__init__(routes)
        handler = self.server.RequestHandlerClass
        original = handler.do_GET
        outer = self

        self.authorizations: list[str | None] = []

        def do_get(self) -> None:
            outer.authorizations.append(self.headers.get("Authorization"))
            if self.headers.get("Authorization") != outer.good and not self.path.startswith("/robots"):
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="staging"')
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            original(self)

        handler.do_GET = do_get


def received(server: RecordingServer, header: str) -> list[str | None]:
    """The values of `header` in every request `server` gets from now on (None where it was not sent)."""
    values: list[str | None] = []
    handler = server.server.RequestHandlerClass
    original = handler.do_GET

    def spy(self) -> None:
        values.append(self.headers.get(header))
        original(self)

    handler.do_GET = spy
    return values


def audit(args: list[str], env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "auditor", "audit", *args], capture_output=True, text=True,
                          timeout=180, env={**os.environ, **(env or {})})


def assert_secret_nowhere(out, result) -> None:
    assert SECRET not in result.stdout + result.stderr
    encoded = base64.b64encode(f"staging:{SECRET}".encode()).decode()
    for path in out.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert SECRET.encode() not in data and encoded.encode() not in data, path


@pytest.mark.parametrize("how", ["flag", "env", "url"])
def test_staging_auth_opens_the_site_and_stays_secret(how, tmp_path):
    out = tmp_path / "r"
    with AuthServer() as server:
        url = server.url
        args, env = [url, "--out", str(out), "--devices", "desktop,mobile"], None
        if how == "flag":
            args += ["--auth", f"staging:{SECRET}"]
        elif how == "env":
            env = {"CRO_AUDIT_AUTH": f"staging:{SECRET}"}
        else:
            args[0] = url.replace("http://", f"http://staging:{SECRET}@")
        result = audit(args, env)
    assert result.returncode == 0, result.stderr
    import json

    report = json.loads((out / "report.json").read_text())
    assert [p["error"] for p in report["pages"]] == [None, None]
    assert report["start_urls"] == [url]
    assert_secret_nowhere(out, result)


def test_without_credentials_it_says_how_to_give_them(tmp_path):
    with AuthServer() as server:
        result = audit([server.url, "--out", str(tmp_path / "r"), "--devices", "desktop"])
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "asks for a login (HTTP 401): pass --auth user:password" in result.stderr
    import json

    report = json.loads((tmp_path / "r" / "report.json").read_text())
    assert report["pages"][0]["error"]["kind"] == "http_error" and report["pages"][0]["status_code"] == 401


def test_extra_headers_go_to_the_audited_site_only(tmp_path):
    with RecordingServer({"/pixel.png": "x"}) as other:
        with RecordingServer({"/": page("Home", [], f'<img src="{other.url}pixel.png"><button>Go</button>')}) as site:
            site_headers, other_headers = received(site, "X-Staging-Token"), received(other, "X-Staging-Token")
            result = audit([site.url, "--out", str(tmp_path / "r"), "--devices", "desktop",
                            "--header", f"X-Staging-Token: {SECRET}"])
    assert result.returncode == 0, result.stderr
    assert SECRET in site_headers  # the page itself got it
    assert other_headers and SECRET not in other_headers  # the third-party image did not
    assert SECRET not in (tmp_path / "r" / "report.json").read_text()


def test_credentials_are_not_offered_to_other_origins(tmp_path):
    """A page that pulls a resource from another origin which challenges: the staging password stays home."""
    with AuthServer() as other:
        seen: list[str] = []
        third_party = other.url + "pixel.png"
        with RecordingServer({"/": page("Home", [], f'<img src="{third_party}"><button>Go</button>')}) as site:
            result = audit([site.url, "--out", str(tmp_path / "r"), "--devices", "desktop", "--auth", f"staging:{SECRET}"])
        seen = list(other.authorizations)
    assert result.returncode == 0, result.stderr
    assert seen and not any(seen)  # the third party was asked for its image, challenged, and got no credentials
    assert_secret_nowhere(tmp_path / "r", result)


def test_a_batch_gives_each_site_its_own_login_and_no_other_site_a_password(tmp_path):
    """A login written in one site's line of a sites file was dropped (that site failed with 401), and a
    batch-wide --auth went unasked with robots.txt and sitemap.xml to every client's server."""
    import json

    with AuthServer() as staging, RecordingServer({"/": page("Shop", [], "<button>Buy</button>")}) as shop:
        shop_auth = received(shop, "Authorization")
        sites = tmp_path / "sites.txt"
        sites.write_text(f"{staging.url.replace('http://', f'http://staging:{SECRET}@')}\n{shop.url}\n")
        common = [sys.executable, "-m", "auditor", "batch", str(sites), "--devices", "desktop", "--max-depth", "0"]
        own = subprocess.run([*common, "--out", str(tmp_path / "own")], capture_output=True, text=True, timeout=180)
        sites.write_text(f"{staging.url}\n{shop.url}\n")
        shared = subprocess.run([*common, "--out", str(tmp_path / "shared"), "--auth", f"staging:{SECRET}"],
                                capture_output=True, text=True, timeout=180)
    for result, out in ((own, tmp_path / "own"), (shared, tmp_path / "shared")):
        assert result.returncode == 0, result.stderr
        index = json.loads((out / "index.json").read_text())
        assert [(s["score"] is not None, s["error"]) for s in index["sites"]] == [(True, None), (True, None)]
        assert_secret_nowhere(out, result)
    assert shop_auth and not any(shop_auth)  # robots.txt, sitemap.xml and the page: never a password


@pytest.mark.parametrize("body", [True, False], ids=["with-body", "empty-401"])
def test_a_wrong_password_is_said_to_be_wrong(tmp_path, body):
    """It said only 'The server answered HTTP 401.', where a missing login gets a hint."""
    import json

    with AuthServer(body=b"<h1>Login required</h1>" if body else b"") as server:  # proxies often send no body
        result = audit([server.url, "--out", str(tmp_path / "r"), "--devices", "desktop", "--auth", "staging:not-it"])
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "refused the login given (HTTP 401): check the user name and password" in result.stderr
    assert "not-it" not in result.stderr + (tmp_path / "r" / "report.json").read_text()
    page = json.loads((tmp_path / "r" / "report.json").read_text())["pages"][0]
    assert page["error"]["kind"] == "http_error" and page["status_code"] == 401
