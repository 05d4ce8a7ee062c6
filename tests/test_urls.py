"""URL normalisation and scope: one page is audited once, and only pages of the audited site."""

import re

import pytest

from auditor.urls import BadURL, Scope, is_action, listing_kind, normalize, pattern_key, readable, site_key


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://Example.COM", "https://example.com/"),
        ("https://example.com:443/a", "https://example.com/a"),
        ("http://example.com:80/a", "http://example.com/a"),
        ("http://example.com:8080/a", "http://example.com:8080/a"),
        ("https://example.com/a#section", "https://example.com/a"),
        ("https://example.com/a?utm_source=x&id=3&utm_medium=y", "https://example.com/a?id=3"),
        ("https://example.com/a?gclid=1&fbclid=2&msclkid=3", "https://example.com/a"),
        ("https://example.com/a?b=2&a=1", "https://example.com/a?b=2&a=1"),  # order kept
        ("https://example.com/shop.php?PHPSESSID=9f8e7d&cat=2", "https://example.com/shop.php?cat=2"),
        ("https://example.com/cart;jsessionid=A1B2C3?step=1", "https://example.com/cart?step=1"),
        ("https://example.com/a;JSESSIONID=A1/b", "https://example.com/a/b"),
        ("https://example.com/a?ASPSESSIONIDQACRTBDA=XYZ&CFID=1&CFTOKEN=2", "https://example.com/a"),
        ("https://example.com/find?sid=12", "https://example.com/find?sid=12"),  # a bare sid may be content
        ("https://example.com/a;v=2", "https://example.com/a;v=2"),  # other path parameters are the page's
        ("https://user:secret@example.com/a", "https://example.com/a"),  # credentials never kept
        ("  https://example.com/a  ", "https://example.com/a"),
        ("http://010.1.1.1/", "http://010.1.1.1/"),  # 8.1.1.1 to a browser: numbers, each 255 or less
        ("http://my_host.internal/", "http://my_host.internal/"),
    ],
)
def test_normalize(raw, expected):
    assert normalize(raw) == expected


def test_normalize_resolves_relative_links():
    assert normalize("../b?utm_campaign=z#x", "https://example.com/dir/a") == "https://example.com/b"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("example.com", "did you mean https://"),
        ("ftp://example.com/x", "only http and https"),
        ("javascript:alert(1)", "only http and https"),
        ("file:///etc/passwd", "only http and https"),
        ("data:text/html,hi", "only http and https"),
        ("http://", "no host"),
        ("http://127.0.0.1:99999/", "the port must be a number from 1 to 65535"),
        ("http://127.0.0.1:0/", "the port must be a number from 1 to 65535"),
        ("http://127.0.0.1:abc/", "the port must be a number from 1 to 65535"),
        ("http://[::1:bad/", "is not a valid IPv6 address"),
        ("http://[zz]/", "is not a valid IPv6 address"),
        ("https://example.com/" + "a" * 3000, "longer than"),
        ("/pricing", "a path, not a URL: give the whole address, like https://example.com/pricing"),
        ("//cdn.example/x", "no scheme; did you mean https://cdn.example/x?"),  # not https:////cdn.example/x
        # A trial's 256.1.1.1 reached Chromium and came back as 'Protocol error (Page.navigate)'.
        ("http://256.1.1.1/", "256.1.1.1 is not an IP address: each of its four numbers is 0 to 255"),
        ("http://exa mple.com/", "the host name holds a space, an empty part or a character host names cannot hold"),
        ("http://shop..example/", "an empty part"),
        ("http://sh<op>.example/", "a character host names cannot hold"),
    ],
)
def test_bad_urls_are_refused_with_a_reason(raw, reason):
    with pytest.raises(BadURL, match=reason.replace("?", r"\?")):
        normalize(raw)


def test_www_and_bare_domain_are_one_site():
    scope = Scope(["https://www.shop.example/"])
    assert "https://shop.example/cart" in scope
    assert "http://www.shop.example/x" in scope  # another port is another site: see test_scope.py
    assert "https://blog.shop.example/" not in scope
    assert "https://shop.example.evil.test/" not in scope
    assert site_key("https://WWW.Shop.Example./") == "shop.example"


def test_pattern_key_folds_numbers_and_query_values():
    a = pattern_key("https://x.example/calendar/2026/11?view=week")
    b = pattern_key("https://x.example/calendar/1999/02?view=day")
    assert a == b == "x.example/calendar/N/N?view"
    assert pattern_key("https://x.example/shop?color=red") != pattern_key("https://x.example/shop?size=m")


def test_same_origin_is_stricter_than_scope():
    scope = Scope(["https://www.shop.example/"])
    assert scope.same_origin("https://shop.example/cart") and scope.same_origin("https://www.shop.example:443/x")
    assert not scope.same_origin("http://shop.example/")  # another scheme
    assert not scope.same_origin("https://shop.example:8443/")  # another port
    assert not scope.same_origin("https://cdn.example/x") and not scope.same_origin("data:text/plain,x")
    assert not scope.same_origin("http://[::1:bad/")


@pytest.mark.parametrize(("url", "key"), [
    ("https://a.test/index.html", "https://a.test/"),
    ("https://a.test/docs/index.htm?x=1", "https://a.test/docs/?x=1"),
    ("https://a.test/INDEX.HTML", "https://a.test/INDEX.HTML"),  # on most servers another, missing, page
    ("https://a.test/docs/", "https://a.test/docs/"),
    ("https://a.test/myindex.html", "https://a.test/myindex.html"),
    ("https://a.test/index.html/more", "https://a.test/index.html/more"),
])
def test_page_key_folds_index_files(url, key):
    from auditor.urls import page_key

    assert page_key(url) == key


@pytest.mark.parametrize("url", [
    "https://shop.example/?add-to-cart=123",  # WooCommerce
    "https://shop.example/product/x?add-to-cart=9&quantity=2",
    "https://shop.example/cart/add?id=4411",  # Shopify
    "https://shop.example/cart/clear",
    "https://shop.example/account/logout",
    "https://shop.example/Log-Out/",
    "https://blog.example/wp-login.php?action=logout&_wpnonce=1a2b3c",
    "https://blog.example/wp-admin/post.php?post=5&action=delete",
    "https://shop.example/cart?remove_item=abc",
])
def test_links_that_act_are_recognised(url):
    assert is_action(url)


@pytest.mark.parametrize("url", [
    "https://shop.example/cart",  # a page a visitor sees
    "https://shop.example/products/add-ons",
    "https://shop.example/blog/how-to-log-out-of-everything",
    "https://shop.example/search?action=search&q=boots",
    "https://shop.example/checkout",
])
def test_pages_are_not_mistaken_for_actions(url):
    assert not is_action(url)


@pytest.mark.parametrize("url, kind", [
    ("https://x.example/blog/page/3", "pagination"),
    ("https://x.example/blog/tag/boots/page/2/", "pagination"),
    ("https://x.example/shop?page=2&sort=new", "pagination"),
    ("https://x.example/?paged=4", "pagination"),
    ("https://x.example/shop?page=1", None),  # the list itself
    ("https://x.example/page/about-us", None),
    ("https://x.example/?p=123", None),  # WordPress's post IDs
    ("https://x.example/?s=boots", "search"),
    ("https://x.example/search?q=red+boots", "search"),
    ("https://x.example/search/boots/page/2", "search"),
    ("https://x.example/research/findings", None),
    ("https://x.example/shop?q=", None),  # an empty search box's link
])
def test_listing_kinds(url, kind):
    assert listing_kind(url) == kind


@pytest.mark.parametrize(("url", "shown"), [
    ("http://127.0.0.1:8104/caf%C3%A9.html", "http://127.0.0.1:8104/café.html"),
    ("https://x.example/%E4%B8%AD%E6%96%87.html?q=%D8%B9%D8%B1%D8%A8%D9%8A", "https://x.example/中文.html?q=عربي"),
    # Hosts stay as the browser asks for them: a decoded one could be a lookalike (pаypal with a Cyrillic а).
    ("https://xn--caf-dma.example/menu", "https://xn--caf-dma.example/menu"),
    ("https://xn--pypal-4ve.com/", "https://xn--pypal-4ve.com/"),
    # Lookalike slashes, blank letters and stacked accents stay escaped.
    ("https://x.example/a%E2%81%84b%EF%BC%8Fc", "https://x.example/a%E2%81%84b%EF%BC%8Fc"),
    ("https://x.example/pay%E3%85%A4ment", "https://x.example/pay%E3%85%A4ment"),
    ("https://x.example/e%CC%81%CC%81%CC%81", "https://x.example/e%CC%81%CC%81%CC%81"),
    ("https://x.example/e%CC%81", "https://x.example/e\u0301"),
    # Reserved characters keep their escapes: decoded, they would change what the URL says.
    ("https://x.example/a%2Fb%20c%23d%3F", "https://x.example/a%2Fb%20c%23d%3F"),
    # Text that would not print as itself stays escaped: a right-to-left override, invalid UTF-8, a bad IDN.
    ("https://x.example/%E2%80%AEfdp.exe", "https://x.example/%E2%80%AEfdp.exe"),
    ("https://x.example/%FF%FE", "https://x.example/%FF%FE"),
    ("https://xn--zz.example/", "https://xn--zz.example/"),
    ("https://x.example/plain", "https://x.example/plain"),
])
def test_readable_url_decodes_only_what_prints_as_itself(url, shown):
    assert readable(url) == shown


@pytest.mark.parametrize(("typed", "url"), [
    # A start URL typed with raw text is escaped as the browser escapes it: one page, one URL, and no raw
    # right-to-left override reaches a report.
    ("http://127.0.0.1:8708/inv\u202eoice.html", "http://127.0.0.1:8708/inv%E2%80%AEoice.html"),
    ("http://127.0.0.1/café.html?q=عربي&x=1", "http://127.0.0.1/caf%C3%A9.html?q=%D8%B9%D8%B1%D8%A8%D9%8A&x=1"),
    ("https://café.example/a b", "https://xn--caf-dma.example/a%20b"),
    ("https://x.example/caf%C3%A9.html", "https://x.example/caf%C3%A9.html"),
])
def test_typed_urls_are_escaped_as_the_browser_escapes_them(typed, url):
    assert normalize(typed) == url


@pytest.mark.parametrize("raw", [
    "notaurl", "not a url", "example.com/shop", "http://", "http://[zz]/", "https://" + "\u00e9" * 70 + ".example/",
    "ftp://example.com/", "http://127.0.0.1:abc/", "https://example.com/" + "a" * 3000,
])
def test_a_bad_start_url_is_named_once(raw):
    """`notaurl: not a valid URL: 'notaurl'` said the input twice: the caller names it, the reason does not."""
    from auditor.audit import UsageError, start_urls_from

    with pytest.raises(BadURL) as reason:
        normalize(raw)
    unsuggested = re.sub(r"\(no scheme; did you mean .*\?\)$", "", str(reason.value))  # a guess holds the input
    assert raw[:40] not in unsuggested
    with pytest.raises(UsageError) as caught:
        start_urls_from([raw])
    told = re.sub(r"\(no scheme; did you mean .*\?\)$", "", str(caught.value))
    assert told.startswith(f"{raw[:200]}: ") and told.count(raw[:40]) == 1


@pytest.mark.parametrize(("typed", "guess"), [
    ("127.0.0.1:8104", "http://127.0.0.1:8104"),
    ("127.0.0.1", "http://127.0.0.1"),
    ("localhost:3000/shop", "http://localhost:3000/shop"),  # urllib reads `localhost:` as a scheme
    ("app.localhost", "http://app.localhost"),
    ("192.168.1.20/admin", "http://192.168.1.20/admin"),
    ("[::1]:8080/", "http://[::1]:8080/"),
    ("staging.example.com:8080/x", "http://staging.example.com:8080/x"),  # ditto `staging.example.com:`
    ("//127.0.0.1:8104/x", "http://127.0.0.1:8104/x"),
    ("example.com", "https://example.com"),
    ("example.com:443/x", "https://example.com:443/x"),
    ("shop.example/?next=localhost:3000", "https://shop.example/?next=localhost:3000"),
])
def test_a_url_without_a_scheme_is_guessed_http_where_people_serve_http(typed, guess):
    """This machine, an IP address or a port other than 443 (a dev server, a staging box) is mostly plain
    http: `127.0.0.1:8104` was told 'did you mean https://127.0.0.1:8104?', which fails on such a server."""
    with pytest.raises(BadURL) as caught:
        normalize(typed)
    assert str(caught.value) == f"not a valid URL (no scheme; did you mean {guess}?)"


@pytest.mark.parametrize("url", ["tel:5551234", "mailto:x@y.example", "localhost:x"])
def test_other_schemes_are_not_taken_for_a_host_and_port(url):
    with pytest.raises(BadURL, match="only http and https URLs can be audited, not "):
        normalize(url)
