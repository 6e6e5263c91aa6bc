"""The one X-link reader: every spelling of a post link X gives, and what is not one."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.features.x_links import X_HOSTS, X_PAGES, XLink, read_x_link


@pytest.mark.parametrize(("word", "handle", "status"), [
    ("https://x.com/firefox/status/1861234567890", "firefox", "1861234567890"),
    ("https://twitter.com/Some_User/status/123", "Some_User", "123"),
    ("https://mobile.twitter.com/a/status/1?s=20", "a", "1"),
    ("https://www.x.com/a/status/42?s=20&t=AbC-dEf", "a", "42"),
    ("https://mobile.x.com/a/status/42#reply", "a", "42"),
    ("https://www.twitter.com/a/status/42/photo/1", "a", "42"),
    ("https://x.com/a/status/42/video/1", "a", "42"),
    ("http://www.twitter.com/a/status/42/", "a", "42"),
    ("HTTPS://X.COM/a/status/42", "a", "42"),
    ("x.com/a/status/42", "a", "42"),                        # an app's share sheet: no scheme
    ("Twitter.com/a/status/42", "a", "42"),
    ("<https://x.com/a/status/42>", "a", "42"),
    ("  https://x.com/a/status/42  ", "a", "42"),
    ("https://x.com/abcdefghijklmno/status/7", "abcdefghijklmno", "7"),   # 15 characters, the most
    ("https://twitter.com/a/statuses/42", "a", "42"),        # Twitter's old spelling
])
def test_post_links_name_the_account_and_the_post(word: str, handle: str, status: str) -> None:
    link = read_x_link(word)
    assert link == XLink(handle=handle, status_id=status)
    assert link.is_post
    assert link.url == f"https://x.com/{handle}/status/{status}"


@pytest.mark.parametrize(("word", "page"), [
    ("https://x.com/i/status/1861234567890", "i"),
    ("https://x.com/i/web/status/1861234567890", "i"),       # what X's API gives for a long post
    ("https://twitter.com/i/web/status/1861234567890?s=20", "i"),
    ("x.com/i/status/1861234567890/photo/1", "i"),
    ("https://x.com/I/status/1861234567890", "I"),
    ("https://x.com/home/status/1861234567890", "home"),
    ("https://x.com/Search/status/1861234567890", "Search"),
])
def test_a_post_without_the_account_has_its_status_id_and_no_handle(word: str, page: str) -> None:
    link = read_x_link(word)
    assert link == XLink(handle=None, status_id="1861234567890", page=page)
    assert link.url == "https://x.com/i/status/1861234567890"


@pytest.mark.parametrize(("word", "expected"), [
    ("https://x.com/firefox", XLink(handle="firefox")),                  # a profile
    ("https://x.com/firefox/", XLink(handle="firefox")),
    ("https://x.com/firefox/with_replies", XLink(handle="firefox")),
    ("https://x.com/a/status/notanumber", XLink(handle="a")),
    ("https://x.com/a/status/123abc", XLink(handle="a")),                # not post 123
    ("https://x.com/a/status/", XLink(handle="a")),
    ("https://x.com/a/status/" + "1" * 26, XLink(handle="a")),
    ("https://x.com/abcdefghijklmnop/status/7", XLink()),                # 16 characters: no handle
    ("https://x.com/some.one/status/7", XLink()),
    ("https://x.com/", XLink()),
    ("https://x.com", XLink()),
    ("x.com", XLink()),
    ("https://x.com/search?q=firefox", XLink(page="search")),
    ("https://x.com/home", XLink(page="home")),
    ("https://x.com/intent/post?text=hi", XLink(page="intent")),
    ("https://twitter.com/share?url=https://example.org", XLink(page="share")),
    ("https://x.com/settings/account", XLink(page="settings")),
    ("https://x.com/explore/tabs/trending", XLink(page="explore")),
    ("https://x.com/i/bookmarks", XLink(page="i")),
    ("https://x.com/hashtag/firefox", XLink(page="hashtag")),
    ("https://x.com/notifications", XLink(page="notifications")),
])
def test_other_links_on_x_are_read_but_name_no_post(word: str, expected: XLink) -> None:
    link = read_x_link(word)
    assert link == expected
    assert not link.is_post and link.url is None


@pytest.mark.parametrize("word", [
    "https://x.com.evil.example/a/status/1",      # a look-alike host
    "https://evil.example/x.com/a/status/1",
    "https://x.com@evil.example/a/status/1",      # a user part
    "https://someone@x.com/a/status/1",
    "https://x.com:8443/a/status/1",              # a port
    "https://x.com:443/a/status/1",
    "https://t.co/abc",
    "https://bsky.app/profile/someone.bsky.social/post/3kabc2xyzq22l",
    "ftp://x.com/a/status/1",
    "javascript:alert(1)",
    "https://x.com/a/status/1 and more",
    "https://x.com/a b/status/1",
    "thoughts",
    "",
    "http://[x",
])
def test_what_is_not_a_link_on_x_is_none(word: str) -> None:
    assert read_x_link(word) is None


def test_the_pages_of_x_are_the_ones_launches_refused() -> None:
    assert {"home", "search", "explore", "intent", "share", "settings", "i"} <= X_PAGES


# -- properties -----------------------------------------------------------------------------------

_HANDLES = st.from_regex(r"[A-Za-z0-9_]{1,15}", fullmatch=True).filter(lambda h: h.lower() not in X_PAGES)
_STATUS_IDS = st.from_regex(r"[0-9]{1,25}", fullmatch=True)
_HOSTS = st.sampled_from(sorted(X_HOSTS)).flatmap(
    lambda host: st.sampled_from([host, host.upper(), host.title()]))
_SCHEMES = st.sampled_from(["https://", "http://", ""])
_AFTER_NUMBER = st.sampled_from(["", "/", "/photo/1", "/video/1", "/analytics"])
_QUERIES = st.sampled_from(["", "?s=20", "?s=20&t=AbC-dEf_12", "#reply", "?s=46#m"])


@st.composite
def post_links(draw: st.DrawFn) -> tuple[str, str | None, str]:
    """A post link as X spells it, with the handle it names (None for /i/ links) and its status id."""
    handle, status = draw(st.one_of(_HANDLES, st.none())), draw(_STATUS_IDS)
    if handle is None:
        path = draw(st.sampled_from(["/i/status/", "/i/web/status/"])) + status
    else:
        path = f"/{handle}/{draw(st.sampled_from(['status', 'statuses']))}/{status}"
    link = draw(_SCHEMES) + draw(_HOSTS) + path + draw(_AFTER_NUMBER) + draw(_QUERIES)
    return draw(st.sampled_from([link, f"<{link}>", f" {link}\n"])), handle, status


@given(post_links())
def test_every_spelling_of_a_post_reads_as_that_post_and_so_does_its_canonical_link(
        case: tuple[str, str | None, str]) -> None:
    word, handle, status = case
    link = read_x_link(word)
    assert link is not None and link.handle == handle and link.status_id == status
    assert link.url is not None
    again = read_x_link(link.url)
    assert again is not None and again.handle == handle and again.status_id == status
    assert again.url == link.url


_X_ISH = st.builds(lambda scheme, host, rest: scheme + host + rest, _SCHEMES, _HOSTS, st.text(max_size=60))


@given(st.one_of(st.text(), _X_ISH))
def test_any_text_reads_without_raising_and_an_accepted_post_reads_back_the_same(word: str) -> None:
    link = read_x_link(word)
    if link is not None and link.is_post:
        assert link.url is not None
        again = read_x_link(link.url)
        assert again is not None and (again.handle, again.status_id) == (link.handle, link.status_id)
