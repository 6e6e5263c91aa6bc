"""The allow-list and normalisation: only plain Mozilla links get through, in one clean form."""

from __future__ import annotations

import string
from urllib.parse import urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.features.links.policy import DEFAULT_ALLOWED_HOSTS, LinkRefused, is_allowed_host, normalise_link
from bot.services.kitsune import SUMO_LOCALES, SUMO_REDIRECTED_LOCALES


def normalise(url: str) -> str:
    return normalise_link(url, DEFAULT_ALLOWED_HOSTS)


def refusal(url: str) -> str:
    with pytest.raises(LinkRefused) as caught:
        normalise(url)
    return caught.value.reason


# -- hosts -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://support.mozilla.org/kb/x",
        "https://SUPPORT.Mozilla.ORG/kb/x",
        "https://support.mozilla.org./kb/x",
        "http://support.mozilla.org/kb/x",
        "support.mozilla.org/kb/x",
        "//support.mozilla.org/kb/x",
        "https://foo.support.mozilla.org/",
        "https://www.mozilla.org/firefox/new/",
        "https://mozilla.org/",
        "https://addons.mozilla.org/firefox/addon/ublock-origin/",
        "https://developer.mozilla.org/docs/Web",
        "https://bugzilla.mozilla.org/show_bug.cgi?id=1",
        "https://www.firefox.com/",
        "https://relay.firefox.com/",
        "https://vpn.mozilla.org/",
        "https://support.mozilla.org:443/kb/x",
        "http://support.mozilla.org:80/kb/x",
        "support.mozilla.org:443/kb/x",
        "  https://support.mozilla.org/kb/x  ",
    ],
)
def test_links_to_mozilla_sites_are_accepted_as_https(url: str) -> None:
    result = normalise(url)

    parts = urlsplit(result)
    assert parts.scheme == "https"
    assert parts.port is None
    assert parts.hostname is not None and is_allowed_host(parts.hostname, DEFAULT_ALLOWED_HOSTS)


@pytest.mark.parametrize(
    ("url", "words_in_reason"),
    [
        ("https://support.mozilla.org.evil.example/kb/x", "not one of the Mozilla sites"),
        ("https://evil-mozilla.org/", "not one of the Mozilla sites"),
        ("https://mozilla.org.evil.example/", "not one of the Mozilla sites"),
        ("https://notmozilla.org/", "not one of the Mozilla sites"),
        ("https://firefox.com.evil/", "not one of the Mozilla sites"),
        ("https://example.com/https://support.mozilla.org/", "not one of the Mozilla sites"),
        ("https://evil.example/?u=https://support.mozilla.org", "not one of the Mozilla sites"),
        ("https://evil.example#@support.mozilla.org", "not one of the Mozilla sites"),
        ("https://evil.example?@support.mozilla.org/", "not one of the Mozilla sites"),
        ("https://support.mozilla.org@evil.example/", "before an @"),
        ("https://user:secret@support.mozilla.org/kb/x", "before an @"),
        ("https://user@support.mozilla.org/kb/x", "before an @"),
        ("https://support.mozilla.org:443@evil.example/", "before an @"),
        ("https://support.mozilla.org%2F@evil.example/", "before an @"),
        ("javascript:alert(1)", "only web links"),
        ("JavaScript:alert(document.domain)//support.mozilla.org", "only web links"),
        ("data:text/html,<script>alert(1)</script>", "only web links"),
        ("ftp://support.mozilla.org/kb/x", "only web links"),
        ("file:///etc/passwd", "only web links"),
        ("vbscript:msgbox", "only web links"),
        ("https:support.mozilla.org/kb/x", "does not look like a web link"),
        ("https:/support.mozilla.org/kb/x", "does not look like a web link"),
        ("https:///support.mozilla.org/kb/x", "does not look like a web link"),
        ("http://127.0.0.1/", "IP address"),
        ("http://2130706433/", "IP address"),
        ("http://0x7f000001/", "IP address"),
        ("http://017700000001/", "IP address"),
        ("http://0x7f.1/", "IP address"),
        ("http://[::1]/", "IP address"),
        ("http://[2001:db8::1]:443/", "IP address"),
        ("https://support.mozilla.org:8080/kb/x", "port"),
        ("https://support.mozilla.org:80/kb/x", "port"),
        ("http://support.mozilla.org:443/kb/x", "port"),
        ("https://support.mozilla.org:65536/", "port"),
        ("https://support.mozilla.org:443:80/", "does not look like a web link"),
        ("https://support.mozilla.org:-1/", "does not look like a web link"),
        ("https://support.m\u043ezilla.org/kb/x", "look-alike"),  # Cyrillic о
        ("https://\u0455upport.mozilla.org/", "look-alike"),  # Cyrillic ѕ
        ("https://xn--mzilla-4ve.org/", "look-alike"),
        ("https://support.xn--mzilla-4ve.org/", "look-alike"),
        ("https://ｓupport.mozilla.org/", "look-alike"),  # full-width s
        ("https://support.mozilla\u3002org/", "look-alike"),  # ideographic full stop
        ("https://support.mozilla.org\\@evil.example/", "backslash"),
        ("https://evil.example\\@support.mozilla.org/", "backslash"),
        ("https:\\\\support.mozilla.org\\kb", "backslash"),
        ("https://support.mozilla.org/kb/x\\..\\..", "backslash"),
        ("https://support%2emozilla.org/", "characters a web address cannot have"),
        ("https://support.mozilla.org%00.evil.example/", "characters a web address cannot have"),
        ("https://support..mozilla.org/", "characters a web address cannot have"),
        ("https://support_x.mozilla.org/", "characters a web address cannot have"),
        ("https://-support.mozilla.org/", "characters a web address cannot have"),
        ("https://support.mozilla.org../", "characters a web address cannot have"),
        ("https://[support.mozilla.org/", "does not look like a web link"),
        ("https://support.mozilla.org]/", "does not look like a web link"),
        ("https://support.mozilla.org /kb/x", "spaces or invisible"),
        ("https://support.mozilla.org/kb/x y", "spaces or invisible"),
        ("https://support.mozilla.org\t.evil.example/", "spaces or invisible"),
        ("https://evil.example\n.support.mozilla.org/", "spaces or invisible"),
        ("https://support.mozilla.org\x00.evil.example/", "spaces or invisible"),
        ("https://support.mozilla.org\u200b.evil.example/", "spaces or invisible"),  # zero-width space
        ("https://\u202egro.allizom.troppus/", "spaces or invisible"),  # right-to-left override
        ("https://support.mozilla.org/kb\u00a0x", "spaces or invisible"),  # no-break space
        ("https://", "does not look like a web link"),
        ("", "no link"),
        ("   ", "no link"),
        ("https://support.mozilla.org/kb/" + "x" * 2048, "longer than 2048"),
    ],
)
def test_tricky_links_are_refused_with_a_reason(url: str, words_in_reason: str) -> None:
    assert words_in_reason in refusal(url)


def test_a_refused_host_is_named_in_the_reason() -> None:
    assert refusal("https://Evil.Example/") == (
        "evil.example is not one of the Mozilla sites this bot shortens links for"
    )


def test_the_reason_is_also_the_exception_text() -> None:
    with pytest.raises(LinkRefused) as caught:
        normalise("ftp://support.mozilla.org/")
    assert str(caught.value) == caught.value.reason


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("support.mozilla.org", True),
        ("SUPPORT.MOZILLA.ORG", True),
        ("support.mozilla.org.", True),
        ("a.b.support.mozilla.org", True),
        ("mozilla.org", True),
        ("evil-mozilla.org", False),
        ("mozilla.org.evil", False),
        ("xmozilla.org", False),
        ("org", False),
        ("", False),
        (".", False),
    ],
)
def test_is_allowed_host(host: str, allowed: bool) -> None:
    assert is_allowed_host(host, DEFAULT_ALLOWED_HOSTS) is allowed


def test_the_allow_list_can_be_configured() -> None:
    assert normalise_link("https://example.org/a", ["Example.org."]) == "https://example.org/a"
    with pytest.raises(LinkRefused):
        normalise_link("https://support.mozilla.org/kb/x", ["example.org"])


def test_an_empty_allow_list_refuses_everything() -> None:
    with pytest.raises(LinkRefused):
        normalise_link("https://support.mozilla.org/kb/x", [])


def test_a_punycode_host_is_accepted_when_it_is_on_the_list_itself() -> None:
    punycode_host = "xn--mzilla-4ve.org"
    assert normalise_link(f"https://{punycode_host}/", [punycode_host]) == f"https://{punycode_host}/"


# -- normalisation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://support.mozilla.org/kb/x", "https://support.mozilla.org/kb/x"),
        ("support.mozilla.org/kb/x", "https://support.mozilla.org/kb/x"),
        ("HTTPS://Support.Mozilla.ORG./kb/X", "https://support.mozilla.org/kb/X"),
        ("https://support.mozilla.org", "https://support.mozilla.org/"),
        ("https://www.mozilla.org:443", "https://www.mozilla.org/"),
        # locales on support.mozilla.org
        (
            "https://support.mozilla.org/en-US/kb/clear-cookies",
            "https://support.mozilla.org/kb/clear-cookies",
        ),
        ("https://support.mozilla.org/de/kb/x", "https://support.mozilla.org/kb/x"),
        ("https://support.mozilla.org/es/questions/123", "https://support.mozilla.org/questions/123"),
        (
            "https://support.mozilla.org/pt-BR/products/firefox",
            "https://support.mozilla.org/products/firefox",
        ),
        ("https://support.mozilla.org/en-us/kb/x", "https://support.mozilla.org/kb/x"),
        ("https://support.mozilla.org/zh-TW/kb/x", "https://support.mozilla.org/kb/x"),
        ("https://support.mozilla.org/sr-Latn/kb/x", "https://support.mozilla.org/kb/x"),
        ("https://support.mozilla.org/hsb/kb/x", "https://support.mozilla.org/kb/x"),
        ("https://support.mozilla.org/en-US/", "https://support.mozilla.org/"),
        ("https://support.mozilla.org/en-US", "https://support.mozilla.org/"),
        ("https://support.mozilla.org/kb/x", "https://support.mozilla.org/kb/x"),
        (
            "https://support.mozilla.org/1/firefox/120.0/Linux/en-US/prefs",
            "https://support.mozilla.org/1/firefox/120.0/Linux/en-US/prefs",
        ),
        ("https://support.mozilla.org/api/2/", "https://support.mozilla.org/api/2/"),
        # other sites keep their locale: it is part of their addresses
        ("https://www.mozilla.org/de/firefox/", "https://www.mozilla.org/de/firefox/"),
        ("https://developer.mozilla.org/en-US/docs/Web", "https://developer.mozilla.org/en-US/docs/Web"),
        # tracking parameters
        (
            "https://support.mozilla.org/kb/x?utm_source=twitter&utm_medium=social&utm_campaign=fx",
            "https://support.mozilla.org/kb/x",
        ),
        (
            "https://support.mozilla.org/kb/x?as=u&utm_source=inproduct&b=2&fbclid=IwAR0&gclid=abc",
            "https://support.mozilla.org/kb/x?as=u&b=2",
        ),
        (
            "https://www.mozilla.org/?mc_cid=1&mc_eid=2&_hsenc=3&_hsmi=4&ref_src=twsrc%5Etfw&twclid=5",
            "https://www.mozilla.org/",
        ),
        (
            "https://support.mozilla.org/search?q=cookies&UTM_Source=x",
            "https://support.mozilla.org/search?q=cookies",
        ),
        ("https://support.mozilla.org/search?b=2&a=1", "https://support.mozilla.org/search?b=2&a=1"),
        ("https://support.mozilla.org/kb/x?", "https://support.mozilla.org/kb/x"),
        ("https://support.mozilla.org/kb/x?&&a=1&", "https://support.mozilla.org/kb/x?a=1"),
        # fragments
        (
            "https://support.mozilla.org/kb/x#w_clear-cookies",
            "https://support.mozilla.org/kb/x#w_clear-cookies",
        ),
        ("https://support.mozilla.org/kb/x#:~:text=clear%20cookies", "https://support.mozilla.org/kb/x"),
        (
            "https://support.mozilla.org/kb/x#w_clear-cookies:~:text=clear",
            "https://support.mozilla.org/kb/x#w_clear-cookies",
        ),
        (
            "https://support.mozilla.org/kb/x#utm_source=newsletter&utm_medium=email",
            "https://support.mozilla.org/kb/x",
        ),
        ("https://support.mozilla.org/kb/x#", "https://support.mozilla.org/kb/x"),
        # all together
        (
            "HTTP://Support.Mozilla.Org.:80/en-US/kb/clear-cookies?utm_source=x&as=u#w_firefox:~:text=x",
            "https://support.mozilla.org/kb/clear-cookies?as=u#w_firefox",
        ),
        # characters that cannot appear raw in a URL are percent-encoded; encoded ones stay
        ("https://support.mozilla.org/kb/Über", "https://support.mozilla.org/kb/%C3%9Cber"),
        ("https://support.mozilla.org/search?q=\"tabs\"", "https://support.mozilla.org/search?q=%22tabs%22"),
        ("https://support.mozilla.org/kb/a%20b", "https://support.mozilla.org/kb/a%20b"),
        # a path that starts with "//" must not read as another host if echoed into a redirect
        ("https://support.mozilla.org//evil.example/", "https://support.mozilla.org/evil.example/"),
        ("https://support.mozilla.org/en-US//evil.example/", "https://support.mozilla.org/evil.example/"),
    ],
)
def test_normalisation(url: str, expected: str) -> None:
    assert normalise(url) == expected


def test_equivalent_links_normalise_to_the_same_text() -> None:
    variants = [
        "support.mozilla.org/kb/clear-cookies",
        "https://support.mozilla.org/en-US/kb/clear-cookies",
        "http://SUPPORT.mozilla.org./de/kb/clear-cookies?utm_source=twitter",
        "https://support.mozilla.org:443/pt-BR/kb/clear-cookies#:~:text=cookies",
    ]
    assert {normalise(url) for url in variants} == {"https://support.mozilla.org/kb/clear-cookies"}


# -- properties ---------------------------------------------------------------------------------

SCHEMES = ["", "https://", "http://", "HTTPS://", "//", "https:", "https:/", "javascript:", "ftp://", "data:"]
USERINFO = ["user@", "user:pw@", "support.mozilla.org@", "@", ":@"]
HOSTS = [
    *DEFAULT_ALLOWED_HOSTS,
    "SUPPORT.MOZILLA.ORG.",
    "foo.support.mozilla.org",
    "support.mozilla.org.evil.example",
    "evil-mozilla.org",
    "evil.example",
    "127.0.0.1",
    "2130706433",
    "[::1]",
    "xn--mzilla-4ve.org",
    "support.m\u043ezilla.org",
    "support.mozilla.org\\",
    "support.mozilla.org%2e",
]
PORTS = [":", ":443", ":80", ":8080", ":0443", ":99999", ":x"]
SEPARATORS = ["/", "\\", "?", "#", "@", ":", ";", "%2F", "/\\", "//", "\t", " "]
# What URLs are made of, plus look-alike letters (test_any_text_is_refused_or_safe tries the rest).
URL_ALPHABET = string.ascii_letters + string.digits + "-._~:/?#[]@!$&'()*+,;=%" + "\u00fc\u043e\u3002"
url_text = st.text(alphabet=URL_ALPHABET, max_size=40)


def sometimes(choices: list[str]) -> st.SearchStrategy[str]:
    """Nothing half of the time, so that plenty of generated links get through the policy."""
    return st.one_of(st.just(""), st.sampled_from(choices))


composed_urls = st.builds(
    lambda *parts: "".join(parts),
    st.sampled_from(SCHEMES),
    sometimes(USERINFO),
    st.sampled_from(HOSTS),
    sometimes(PORTS),
    sometimes(SEPARATORS),
    url_text,
    sometimes(SEPARATORS),
    sometimes(HOSTS),
    url_text,
)


def assert_safe(result: str) -> None:
    parts = urlsplit(result)
    assert parts.scheme == "https"
    assert parts.hostname is not None and is_allowed_host(parts.hostname, DEFAULT_ALLOWED_HOSTS)
    assert parts.username is None and parts.password is None
    assert parts.port is None
    assert len(result) <= 2048
    assert result.isascii() and result.isprintable() and " " not in result and "\\" not in result
    assert normalise(result) == result, "normalising twice changes nothing"


@settings(max_examples=300)
@given(st.text())
def test_any_text_is_refused_or_safe(text: str) -> None:
    try:
        result = normalise(text)
    except LinkRefused as refused:
        assert refused.reason
        return
    assert_safe(result)


@settings(max_examples=1000)
@given(composed_urls)
def test_any_composed_url_is_refused_or_safe(url: str) -> None:
    try:
        result = normalise(url)
    except LinkRefused as refused:
        assert refused.reason
        return
    assert_safe(result)


@settings(max_examples=500)
@given(
    st.sampled_from(["https://", "http://", "HTTPS://", "//", ""]),
    st.sampled_from(DEFAULT_ALLOWED_HOSTS),
    st.sampled_from(["", ".", ":443"]),
    st.sampled_from(["/", "?", "#", "/en-US/", "/de/kb/", "/kb/x?utm_source=x&", "/kb#:~:text="]),
    url_text,
)
def test_allowed_hosts_keep_their_host_whatever_follows(
    scheme: str, host: str, suffix: str, separator: str, rest: str
) -> None:
    port = ":80" if scheme == "http://" and suffix == ":443" else suffix
    try:
        result = normalise(f"{scheme}{host.upper()}{port}{separator}{rest}")
    except LinkRefused:
        return
    assert urlsplit(result).hostname == host
    assert_safe(result)


@pytest.mark.parametrize("section", ["get-involved", "kb", "products", "questions"])
def test_a_hyphenated_sumo_section_is_not_taken_for_a_locale(section):
    assert normalise_link(f"https://support.mozilla.org/en-US/{section}", DEFAULT_ALLOWED_HOSTS) == (
        f"https://support.mozilla.org/{section}")


@pytest.mark.parametrize("locale", ["en-US", "pt-BR", "zh-TW", "es-419", "sr-Latn"])
def test_regional_locales_are_still_dropped(locale):
    assert normalise_link(f"https://support.mozilla.org/{locale}/kb/clear-cache", DEFAULT_ALLOWED_HOSTS) == (
        "https://support.mozilla.org/kb/clear-cache")


@pytest.mark.parametrize("locale", [*SUMO_LOCALES, *SUMO_REDIRECTED_LOCALES])
def test_every_locale_kitsune_reads_in_a_path_is_dropped(locale):
    """The link policy takes its locales from the Kitsune service's lists, so they cannot drift."""
    assert normalise_link(f"https://support.mozilla.org/{locale}/kb/clear-cache", DEFAULT_ALLOWED_HOSTS) == (
        "https://support.mozilla.org/kb/clear-cache"
    )
