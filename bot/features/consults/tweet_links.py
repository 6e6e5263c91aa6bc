"""Reading the link a consult is about: ideally a tweet, ``https://x.com/<user>/status/<digits>``.

X links come in several spellings (x.com, twitter.com, www., mobile., with ``?s=20`` or
``/photo/1`` after the status number); all of them name the same tweet. Another http(s) link is
accepted too (a forum post, a Reddit thread), and the caller tells the requester it is not a tweet.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

TWEET_HOSTS = frozenset({
    "x.com", "www.x.com", "mobile.x.com",
    "twitter.com", "www.twitter.com", "mobile.twitter.com",
})

# X handles are 1-15 letters, digits or underscores; status IDs are decimal snowflakes.
_TWEET_PATH = re.compile(r"^/(?P<author>[A-Za-z0-9_]{1,15})/status/(?P<status>\d{1,25})(?:/.*)?$")


@dataclass(frozen=True)
class ConsultLink:
    url: str
    author: str | None = None     # the tweet's @handle, without the @
    status_id: str | None = None

    @property
    def is_tweet(self) -> bool:
        return self.status_id is not None


def read_consult_link(word: str) -> ConsultLink | None:
    """The link a consult is about, or None when the word is not an http(s) link at all."""
    url = _with_scheme(word.strip().strip("<>"))
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in url):
        return None
    if _is_plain_tweet_host(parts.netloc):
        tweet = _TWEET_PATH.match(parts.path)
        if tweet is not None:
            return ConsultLink(url, tweet["author"], tweet["status"])
    return ConsultLink(url)


def _with_scheme(url: str) -> str:
    """``x.com/user/status/1`` as pasted from an app's share sheet is still a tweet link."""
    host = url.split("/", 1)[0].lower()
    return f"https://{url}" if host in TWEET_HOSTS else url


def _is_plain_tweet_host(netloc: str) -> bool:
    # A user part or a port ("x.com@evil.example", "x.com:8080") is not how X links look.
    return netloc.lower() in TWEET_HOSTS
