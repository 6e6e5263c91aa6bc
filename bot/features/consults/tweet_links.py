"""Reading the link a consult is about: ideally a tweet, ``https://x.com/<user>/status/<digits>``.

X's spellings of a post link are read by ``bot.features.x_links``; a consult also takes another
http(s) link (a forum post, a Reddit thread), and the caller tells the requester it is not a tweet.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from bot.features.x_links import read_x_link, with_scheme


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
    url = with_scheme(word.strip().strip("<>"))
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in url):
        return None
    x_link = read_x_link(url)
    if x_link is not None and x_link.is_post:
        return ConsultLink(url, x_link.handle, x_link.status_id)
    return ConsultLink(url)
