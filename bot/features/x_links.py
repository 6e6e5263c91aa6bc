"""Reading X post links: the one place that knows how X spells a link to a post.

A post is ``https://x.com/<handle>/status/<digits>``; the same post is also written with twitter.com,
www. or mobile., http://, no scheme at all (an app's share sheet), ``?s=20&t=…`` or ``#…`` after it,
``/photo/1`` or ``/`` after the number, the old ``/statuses/``, and without the account as
``/i/status/<digits>`` or ``/i/web/status/<digits>`` (the form X's API gives for long posts). A user
part or a port (``x.com@evil.example``, ``x.com:8443``) is not how X links look: not an X link.

``read_x_link`` says only what the link names; each feature keeps its own rules on top (consults take
other links too, launches refuse a link without the account, escalations key reports by status id).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

X_HOSTS = frozenset({
    "x.com", "www.x.com", "mobile.x.com",
    "twitter.com", "www.twitter.com", "mobile.twitter.com",
})

# X's own first path segments: they fit the handle grammar but name no account (they are pages of X,
# so nobody can take them as a handle).
X_PAGES = frozenset({
    "i", "home", "search", "explore", "intent", "share", "settings",
    "notifications", "messages", "compose", "hashtag", "login", "logout", "signup", "tos", "privacy",
})

# Handles are 1-15 letters, digits or underscores; status ids are decimal snowflakes.
_HANDLE = r"[A-Za-z0-9_]{1,15}"
_STATUS = r"(?P<status>\d{1,25})(?:/.*)?"
_POST_PATH = re.compile(rf"/(?P<first>{_HANDLE})/status(?:es)?/{_STATUS}")
_I_WEB_PATH = re.compile(rf"/(?P<first>[iI])/web/status/{_STATUS}")
_FIRST_SEGMENT = re.compile(rf"/(?P<first>{_HANDLE})(?:/.*)?")


@dataclass(frozen=True)
class XLink:
    """A link on X: whose post (``handle``, as spelled, without the @) and which (``status_id``).

    ``page`` is X's own first path segment as spelled ("i", "home", …), then ``handle`` is None.
    """

    handle: str | None = None
    status_id: str | None = None
    page: str | None = None

    @property
    def is_post(self) -> bool:
        return self.status_id is not None

    @property
    def url(self) -> str | None:
        """The canonical link to the post (``/i/status/<id>`` when the link does not name the account)."""
        if self.status_id is None:
            return None
        return f"https://x.com/{self.handle or 'i'}/status/{self.status_id}"


def read_x_link(word: str) -> XLink | None:
    """What an X link names, or None when the word is not a link on X (another site, not a link)."""
    parts = _split_x_url(word)
    if parts is None:
        return None
    path = parts.path
    match = _POST_PATH.fullmatch(path) or _I_WEB_PATH.fullmatch(path) or _FIRST_SEGMENT.fullmatch(path)
    if match is None:
        return XLink()
    first, status = match["first"], match.groupdict().get("status")
    if first.lower() in X_PAGES:
        return XLink(status_id=status, page=first)
    return XLink(handle=first, status_id=status)


def with_scheme(word: str) -> str:
    """``x.com/user/status/1`` as pasted from an app's share sheet is still a link."""
    host = word.split("/", 1)[0].lower()
    return f"https://{word}" if host in X_HOSTS else word


def _split_x_url(word: str) -> SplitResult | None:
    """The parts of ``word`` when it is an http(s) link on one of X's hosts, else None."""
    url = with_scheme(word.strip().strip("<>"))
    if any(c.isspace() for c in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    # netloc, not hostname: a user part or a port is not how X links look.
    if parts.scheme.lower() not in ("http", "https") or parts.netloc.lower() not in X_HOSTS:
        return None
    return parts
