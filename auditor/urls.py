"""URL normalisation and site scope: one page is audited once, and only pages of the audited site.

Tracking parameters, session IDs and fragments do not make a new page; `www.example.com` and `example.com` are one site.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

MAX_URL_LENGTH = 2048

# Parameters that mark a visit's origin, never its content.
TRACKING_PARAMS = frozenset(
    {
        "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "fbclid", "msclkid", "yclid", "twclid", "ttclid",
        "li_fat_id", "igshid", "mc_cid", "mc_eid", "_ga", "_gl", "_hsenc", "_hsmi", "mkt_tok", "ref_src",
        "oly_anon_id", "oly_enc_id", "vero_id", "rb_clickid", "s_cid", "srsltid",
    }
)
# Session IDs that old PHP, Java, ASP and ColdFusion sites put into their links: every visit would see
# every page under a new URL. (A bare `sid` is left: on some sites it names a store or a section.)
SESSION_PARAMS = frozenset({"phpsessid", "jsessionid", "sessionid", "session_id", "cfid", "cftoken", "zenid", "oscsid"})
_PATH_SESSION = re.compile(r";(jsessionid|phpsessid|sessionid)=[^/?#]*", re.IGNORECASE)
_DEFAULT_PORTS = {"http": 80, "https": 443}


class BadURL(ValueError):
    """A URL the auditor cannot or will not visit; the message says why in one line. The caller names the URL
    (`notaurl: not a valid URL`): the message does not repeat it."""


class PathGiven(BadURL):
    """A path (/pricing) where a whole URL was wanted; the message shows it on `origin` (another start URL's)."""

    def __init__(self, path: str, origin: str = "https://example.com") -> None:
        self.path = path
        super().__init__(f"a path, not a URL: give the whole address, like {origin}{path[:200]}")


def normalize(url: str, base: str | None = None) -> str:
    """Canonical form of an http(s) URL; raise BadURL for anything else.

    Lower-cases scheme and host, drops the fragment, default port, tracking parameters and session IDs
    (`?PHPSESSID=`, `;jsessionid=` in the path), and gives an empty path a `/`. Query parameter order is
    kept (some sites depend on it).
    """
    if base is not None:
        url = urljoin(base, url)
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        raise BadURL(f"URL is longer than {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
    except ValueError:  # urllib's "Invalid IPv6 URL": a [ without its ], or no IPv6 address inside them
        raise BadURL("not a valid URL (the address in [ ] is not a valid IPv6 address)") from None
    try:
        port = parts.port
    except ValueError:  # urllib: "Port could not be cast to integer value", "Port out of range 0-65535"
        port = 0
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        if not scheme or _HOST_AND_PORT.match(url):  # localhost:3000 is no scheme `localhost:`
            if url.startswith("/") and not url.startswith("//"):  # /pricing: start_urls_from names a likelier site
                raise PathGiven(url)
            if re.search(r"\s", url) or _is_word(url):  # words, not an address: nothing to guess
                raise BadURL("not a valid URL (give a site's address, like https://example.com)")
            raise BadURL(f"not a valid URL (no scheme; did you mean {_with_scheme(url)[:200]}?)")
        raise BadURL(f"only http and https URLs can be audited, not {scheme}:")
    host = (parts.hostname or "").lower().rstrip(".")
    if not host:
        raise BadURL("not a valid URL (no host name)")
    if port == 0:
        raise BadURL("the port must be a number from 1 to 65535")
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    elif not host.isascii():  # café.example as typed: the browser asks for xn--caf-dma.example
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise BadURL("not a valid URL (the host name is not a valid international name)") from None
    if not host.startswith("["):
        _check_host(host)
    # user:password@ is left out on purpose: credentials never travel in a URL we store or report.
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        kept = [(k, v) for k, v in pairs if not _is_tracking(k)]
        query = urlencode(kept, doseq=True) if len(kept) != len(pairs) else query
    path = _PATH_SESSION.sub("", parts.path) if ";" in parts.path else parts.path
    # Escaped as a browser escapes what is typed (a link's href already is): one page has one URL, and a
    # report shows no raw control or bidi character from a URL.
    return urlunsplit((scheme, netloc, _escape(path) or "/", _escape(query), ""))


_HOST_NAME = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*")  # after IDNA: labels of letters, digits, - and _
_DOTTED_NUMBERS = re.compile(r"\d+(\.\d+){3}")


def _check_host(host: str) -> None:
    """What the browser would refuse, refused here with its reason: a typo caught before the crawl starts,
    not a DevTools error ('Cannot navigate to invalid URL') after it."""
    if not _HOST_NAME.fullmatch(host):
        raise BadURL("not a valid URL (the host name holds a space, an empty part or a character host names cannot hold)")
    if _DOTTED_NUMBERS.fullmatch(host) and any(int(part) > 255 for part in host.split(".")):
        raise BadURL(f"not a valid URL ({host[:40]} is not an IP address: each of its four numbers is 0 to 255)")


# `localhost:3000/x`, `staging.example.com:8080`: a host and a port that urllib reads as a scheme and a path.
_HOST_AND_PORT = re.compile(r"(?i)(localhost|[a-z0-9-]+(\.[a-z0-9-]+)+):\d{1,5}(?=[/?#]|$)")


def _with_scheme(url: str) -> str:
    """The address a URL typed without its scheme likely means. http:// for this machine, an IP address or a
    port other than 443 (a dev server, a staging box, a router), which seldom serve https; https:// for a
    domain name."""
    typo = re.match(r"(?i)(https?)//", url)  # http//host: the colon forgotten
    if typo:
        return f"{typo.group(1).lower()}://{url[typo.end():]}"
    rest = url.removeprefix("//")  # //cdn.example/x, a protocol-relative link, lacks only the scheme
    try:
        parts = urlsplit(f"https://{rest}")
        host, port = (parts.hostname or "").rstrip("."), parts.port
    except ValueError:
        host, port = "", None
    plain = host == "localhost" or host.endswith(".localhost") or _is_ip(host) or port not in (None, 443)
    return f"{'http' if plain else 'https'}://{rest}"


def _is_word(url: str) -> bool:
    """`notaurl`, `audit`: one word, no dot, no port, no path; not localhost. https://notaurl is no guess."""
    return re.fullmatch(r"[^\W_]+", url) is not None and url.lower() != "localhost"


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


_UNSAFE = re.compile(r"[^\x21-\x7e]+")


def _escape(text: str) -> str:
    return _UNSAFE.sub(lambda m: "".join(f"%{b:02X}" for b in m.group(0).encode("utf-8", "surrogatepass")), text)


_INDEX_FILE = re.compile(r"/index\.html?$")  # lower case only: /INDEX.HTML may well be a broken link


def path_of(url: str) -> str:
    """A page's path and query: what a page is called on any host of the site (a review app's, main's)."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def page_key(url: str) -> str:
    """What makes two normalised URLs one page: `/dir/index.html` is what a server sends for `/dir/`, so
    a site that links both gets one audit (of whichever form the crawl met first)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=_INDEX_FILE.sub("/", parts.path)))


def _is_tracking(name: str) -> bool:
    name = name.lower()
    return name.startswith("utm_") or name in TRACKING_PARAMS or name in SESSION_PARAMS or name.startswith("aspsessionid")


def origin_of(url: str) -> str:
    """scheme://host[:port] of a URL, as browsers and robots.txt scope things."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def site_key(url: str) -> str:
    """The host that defines a site: `www.` and the bare domain are one site."""
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    return host[4:] if host.startswith("www.") else host


class Scope:
    """The sites a crawl may visit: the hosts of its start URLs (www. or not), over http or https on their
    default ports (an http -> https upgrade stays on the site) or on a port a start URL of that host names.
    Another port is another origin to a browser: a dev server or an admin panel on :8080 is not the shop."""

    def __init__(self, start_urls: list[str]) -> None:
        self.sites = {site_key(u) for u in start_urls}
        self.ports = {(site_key(u), urlsplit(u).port) for u in start_urls if urlsplit(u).port is not None}
        self.origins = {_origin_key(u) for u in start_urls}

    def __contains__(self, url: str) -> bool:
        site = site_key(url)
        if site not in self.sites:
            return False
        parts = urlsplit(url)
        try:
            port = parts.port
        except ValueError:
            return False
        scheme = parts.scheme.lower()
        return scheme in _DEFAULT_PORTS and (port in (None, _DEFAULT_PORTS[scheme]) or (site, port) in self.ports)

    def admits(self, url: str) -> bool:
        """For a URL as the browser reports it (unnormalised, maybe not http at all): is it on the sites?"""
        try:
            return normalize(url) in self
        except BadURL:
            return False

    def same_origin(self, url: str) -> bool:
        """Stricter than scope: scheme, host (www. or not) and port of a start URL. Secrets go only here."""
        try:
            return _origin_key(url) in self.origins
        except ValueError:
            return False


def _origin_key(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, site_key(url), parts.port or _DEFAULT_PORTS.get(scheme)


# Links that do something rather than show a page: following them would fill carts and end sessions on
# the client's live shop every night, and show nothing a visitor would land on.
_ACTION_PARAMS = frozenset({"add-to-cart", "add_to_cart", "addtocart", "remove_item", "removeitem", "empty-cart",
                            "empty_cart", "_wpnonce"})
_ACTION_VALUES = frozenset({"logout", "log-out", "signout", "sign-out", "delete", "remove", "add", "addtocart", "add-to-cart"})
_ACTION_PATH = re.compile(r"/(log-?out|sign-?out|cart/(add|change|clear|update)(\.js)?)/?$", re.IGNORECASE)


def is_action(url: str) -> bool:
    """Whether a link acts (adds to the cart, logs out, deletes) instead of showing a page."""
    parts = urlsplit(url)
    if _ACTION_PATH.search(parts.path):
        return True
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        name = name.lower()
        if name in _ACTION_PARAMS or (name in ("action", "do", "cmd") and value.lower() in _ACTION_VALUES):
            return True
    return False


_PAGINATION_PATH = re.compile(r"/page/\d+/?$", re.IGNORECASE)
_PAGINATION_PARAMS = frozenset({"page", "paged", "pg", "pagenum", "page_num", "pagenumber"})
_SEARCH_PARAMS = frozenset({"s", "q", "query", "search", "keyword", "keywords", "term"})


def listing_kind(url: str) -> str | None:
    """"pagination" for page 2 and on of a list (/blog/page/3, ?page=3), "search" for the site's search
    results; None for other pages. Each list of a blog (every tag, category and author) has its own
    pages, so these are capped as one kind across the site, not per URL shape."""
    parts = urlsplit(url)
    params = parse_qsl(parts.query, keep_blank_values=True)
    if "search" in parts.path.lower().split("/") or any(k.lower() in _SEARCH_PARAMS and v for k, v in params):
        return "search"
    if _PAGINATION_PATH.search(parts.path) or any(k.lower() in _PAGINATION_PARAMS and v.isdigit() and v != "1" for k, v in params):
        return "pagination"
    return None


_NUMERIC = re.compile(r"\d+")

# A page where visitors convert, by its path: a checkout, cart, pricing, contact, demo, quote, signup,
# booking or trial page (score.page_value weighs them; the crawl visits them first when the budget is short).
_CONVERSION_SEGMENT = re.compile(
    r"^(checkout|cart|basket|bag|pricing|plans|contact(-us)?|(request-|book-a-)?demo|(get-a-)?quote|sign-?up|"
    r"register|subscribe|booking|book-now|(free-)?trial|order)(\.\w+)?$", re.I)


def is_conversion_path(url: str) -> bool:
    return any(_CONVERSION_SEGMENT.match(s) for s in urlsplit(url).path.split("/") if s)


def section_key(url: str) -> str:
    """Which pages are siblings, for spreading a short page budget: /products/1 and /products/red-shoe are
    one section (their folder); a top-level page (/about, /pricing) is a section of its own."""
    segments = [s for s in _NUMERIC.sub("N", urlsplit(url).path).split("/") if s]
    return f"{site_key(url)}/{'/'.join(segments[:-1] if len(segments) > 1 else segments)}"


def pattern_key(url: str) -> str:
    """The shape of a URL, for spotting crawl traps: digits folded, query values dropped.

    `/calendar/2026/11?view=week` and `/calendar/2031/02?view=day` share the pattern
    `/calendar/N/N?view`, so an endless calendar is capped like any other repeated pattern.
    """
    parts = urlsplit(url)
    names = sorted({k for k, _ in parse_qsl(parts.query, keep_blank_values=True)})
    path = _NUMERIC.sub("N", parts.path)
    return f"{site_key(url)}{path}?{'&'.join(names)}"


_ESCAPED_NON_ASCII = re.compile(r"(?:%[89A-Fa-f][0-9A-Fa-f])+")
# Letters, digits and their marks are shown; symbols and punctuation stay escaped (⁄ and ／ pass for a
# slash), as do letters that print as nothing (Hangul fillers) and runs of stacked marks.
_SHOWN_AS_IS = {"Ll", "Lu", "Lt", "Lm", "Lo", "Mn", "Mc", "Nd", "Nl", "No"}
_BLANK_LETTERS = {"\u115f", "\u1160", "\u3164", "\uffa0", "\u17b4", "\u17b5"}


def readable(url: str) -> str:
    """A URL's path and query as a reader writes them: /café and 中文 instead of /caf%C3%A9 and
    %E4%B8%AD%E6%96%87. For display only, and only where the text cannot mislead: reserved characters
    (%2F, %20, %23), symbols, punctuation, controls, bidi marks, blank letters and invalid UTF-8 stay
    escaped, and the host stays as the browser asks for it (punycode), lookalike letters and all."""

    def decode(match: re.Match) -> str:
        try:
            text = bytes.fromhex(match.group(0).replace("%", "")).decode("utf-8")
        except UnicodeDecodeError:
            return match.group(0)
        marks = 0
        for char in text:
            category = unicodedata.category(char)
            marks = marks + 1 if category.startswith("M") else 0
            if category not in _SHOWN_AS_IS or char in _BLANK_LETTERS or marks > 2:
                return match.group(0)
        return text

    return _ESCAPED_NON_ASCII.sub(decode, url)
