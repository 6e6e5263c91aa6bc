"""Reading the handle behind a post link, for X, Mastodon and Bluesky, with no network call."""

from __future__ import annotations

import pytest

from bot.features.launches.posts import Network, PostRefused, read_post_link


@pytest.mark.parametrize("url", [
    "https://x.com/SomeOne_1/status/1861234567890",
    "https://twitter.com/SomeOne_1/status/1861234567890",
    "https://mobile.twitter.com/SomeOne_1/status/1861234567890",
    "https://www.x.com/SomeOne_1/status/1861234567890?s=20&t=abc",
    "http://twitter.com/SomeOne_1/status/1861234567890/photo/1",
    "x.com/SomeOne_1/status/1861234567890",
    "<https://x.com/SomeOne_1/status/1861234567890>",
])
def test_x_post_links_in_every_spelling_name_the_same_person_and_post(url):
    post = read_post_link(url)
    assert post.network is Network.X
    assert post.handle == "@SomeOne_1"
    assert post.url == "https://x.com/SomeOne_1/status/1861234567890"
    assert post.post_key == "X:1861234567890"
    assert post.handle_key == "X:@someone_1"


def test_x_handles_differ_only_in_case_are_one_person():
    first = read_post_link("https://x.com/Firefox/status/1")
    second = read_post_link("https://twitter.com/firefox/status/2")
    assert first.handle_key == second.handle_key and first.post_key != second.post_key


def test_twitters_old_statuses_spelling_is_a_post():
    post = read_post_link("https://twitter.com/SomeOne_1/statuses/1861234567890")
    assert post.handle == "@SomeOne_1" and post.url == "https://x.com/SomeOne_1/status/1861234567890"


@pytest.mark.parametrize(("url", "reason"), [
    ("https://x.com/I/status/1861234567890", "does not name the account"),   # X's /i/, in capitals
    ("https://x.com/i/status/1861234567890", "does not name the account"),
    ("https://x.com/home/status/1861234567890", "“home” in that X link is a page of X"),
    ("https://x.com/Explore/status/1861234567890", "“Explore” in that X link is a page of X"),
    ("https://x.com/notifications/status/1861234567890", "“notifications” in that X link is a page of X"),
])
def test_x_links_that_name_no_account_are_refused(url, reason):
    with pytest.raises(PostRefused) as refused:
        read_post_link(url)
    assert reason in str(refused.value)


@pytest.mark.parametrize(("url", "handle", "canonical"), [
    ("https://mastodon.social/@someone/113456789012345678", "@someone@mastodon.social",
     "https://mastodon.social/@someone/113456789012345678"),
    ("https://Fosstodon.org/@Some_One/113456789012345678/", "@Some_One@fosstodon.org",
     "https://fosstodon.org/@Some_One/113456789012345678"),
    # a remote account as another instance shows it: the handle is at the account's home
    ("https://mastodon.social/@someone@hachyderm.io/113456789012345678", "@someone@hachyderm.io",
     "https://mastodon.social/@someone@hachyderm.io/113456789012345678"),
    ("https://mastodon.social/users/someone/statuses/113456789012345678", "@someone@mastodon.social",
     "https://mastodon.social/@someone/113456789012345678"),
    ("mastodon.social/@someone/113456789012345678", "@someone@mastodon.social",
     "https://mastodon.social/@someone/113456789012345678"),
])
def test_mastodon_post_links_give_the_full_handle(url, handle, canonical):
    post = read_post_link(url)
    assert post.network is Network.MASTODON
    assert post.handle == handle
    assert post.url == canonical


@pytest.mark.parametrize("url", [
    "https://bsky.app/profile/someone.bsky.social/post/3kabc2xyzq22l",
    "https://bsky.app/profile/SomeOne.bsky.social/post/3kabc2xyzq22l/",
    "bsky.app/profile/someone.bsky.social/post/3kabc2xyzq22l",
])
def test_bluesky_post_links_give_the_handle(url):
    post = read_post_link(url)
    assert post.network is Network.BLUESKY
    assert post.handle == "@someone.bsky.social"
    assert post.url == "https://bsky.app/profile/someone.bsky.social/post/3kabc2xyzq22l"


def test_a_custom_domain_bluesky_handle_is_read_as_it_is():
    assert read_post_link("https://bsky.app/profile/mozilla.org/post/3kabc2xyzq22l").handle == "@mozilla.org"


@pytest.mark.parametrize(("url", "reason"), [
    ("", "empty"),
    ("not a link at all", "X, Mastodon and Bluesky"),
    ("https://x.com/someone", "not a post"),
    ("https://x.com/i/web/status/1861234567890", "does not name the account"),
    ("https://x.com/search?q=firefox", "not a post"),
    ("https://x.com:8080/someone/status/1", "no user name or port"),
    ("https://x.com@evil.example/someone/status/1", "no user name or port"),
    ("https://bsky.app/profile/did:plc:z72i7hdynmk6r22z27h6tvur/post/3kabc2xyzq22l", "DID"),
    ("https://bsky.app/profile/someone.bsky.social", "not a post"),
    ("https://bsky.app/profile/no_dots/post/3kabc2xyzq22l", "not a Bluesky handle"),
    ("http://mastodon.social/@someone/113456789012345678", "https://"),
    ("https://mastodon.social/@someone", "X, Mastodon and Bluesky"),
    ("https://mastodon.social/@someone/not-a-number", "X, Mastodon and Bluesky"),
    ("https://www.reddit.com/r/firefox/comments/abc/title/", "X, Mastodon and Bluesky"),
    ("https://support.mozilla.org/questions/1234567", "X, Mastodon and Bluesky"),
    ("ftp://mastodon.social/@someone/1", "X, Mastodon and Bluesky"),
    ("https://localhost/@someone/1", "not an instance"),
    ("https://mastodon.social/@someone@bad_host/1", "not an instance"),
])
def test_anything_else_is_refused_with_the_reason(url, reason):
    with pytest.raises(PostRefused) as refused:
        read_post_link(url)
    assert reason in str(refused.value)
