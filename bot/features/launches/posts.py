"""Reading whose post a link is, from the link alone (no network call): X, Mastodon, Bluesky.

- X: ``https://x.com/<handle>/status/<digits>`` (also twitter.com, mobile., www., without a scheme;
  ``bot.features.x_links`` reads X's spellings).
- Mastodon: ``https://<instance>/@<user>/<digits>`` (or ``@<user>@<home instance>`` for a remote
  account seen on another instance, and the ActivityPub form ``/users/<user>/statuses/<digits>``).
- Bluesky: ``https://bsky.app/profile/<handle>/post/<record key>``; a ``did:`` in place of the handle
  names nobody one can @-mention without asking the network, so it is refused with a way out.

Anything else is refused with the reason, so the command can say what it expected.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from bot.features.x_links import XLink, read_x_link


class Network(enum.StrEnum):
    X = "X"
    MASTODON = "Mastodon"
    BLUESKY = "Bluesky"


@dataclass(frozen=True)
class PostLink:
    network: Network
    handle: str      # as it is written in a reply: "@user", "@user@instance", "@name.bsky.social"
    post_id: str     # what names the post on its network (with the instance for Mastodon)
    url: str         # the canonical link to the post, without tracking parameters

    @property
    def handle_key(self) -> str:
        """The same person whatever the spelling: handles are case-insensitive on all three."""
        return f"{self.network.value}:{self.handle.lower()}"

    @property
    def post_key(self) -> str:
        return f"{self.network.value}:{self.post_id.lower() if self.network is Network.BLUESKY else self.post_id}"


class PostRefused(ValueError):
    """Not a post link the bot can read a handle from; the message says why, for the user."""


EXAMPLES = ("https://x.com/<handle>/status/<number>", "https://<instance>/@<user>/<number>",
            "https://bsky.app/profile/<handle>/post/<id>")

_ONLY_THESE = "I can read handles from X, Mastodon and Bluesky post links only: " + ", ".join(EXAMPLES)

BLUESKY_HOSTS = frozenset({"bsky.app", "www.bsky.app"})

_HOSTNAME = re.compile(r"(?=.{4,253}\Z)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]\Z")
_MASTODON_USER = r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,28}[A-Za-z0-9_])?"
_MASTODON_PATH = re.compile(
    rf"^/@(?P<user>{_MASTODON_USER})(?:@(?P<home>[^/@]+))?/(?P<id>\d{{1,25}})/?$")
_MASTODON_AP_PATH = re.compile(rf"^/users/(?P<user>{_MASTODON_USER})/statuses/(?P<id>\d{{1,25}})/?$")
_BLUESKY_PATH = re.compile(r"^/profile/(?P<actor>[^/]+)/post/(?P<rkey>[A-Za-z0-9._~:-]{1,512})/?$")


def read_post_link(word: str) -> PostLink:
    """The post and its author's handle, or ``PostRefused`` saying what is wrong."""
    raw = word.strip().strip("<>")
    if not raw:
        raise PostRefused("that is empty, not a post link")
    if "://" not in raw:
        raw = f"https://{raw}"  # pasted from an app's share sheet: "bsky.app/profile/...", "x.com/..."
    x_link = read_x_link(raw)  # X's spellings of a post link
    if x_link is not None:
        return _x_post(x_link)
    try:
        parts = urlsplit(raw)
    except ValueError:
        raise PostRefused(_ONLY_THESE) from None
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in raw):
        raise PostRefused(_ONLY_THESE)
    host = parts.hostname.lower()
    if parts.username is not None or parts.password is not None or parts.port is not None:
        raise PostRefused("post links have no user name or port in them")
    if host in BLUESKY_HOSTS:
        return _bluesky_post(parts.path)
    return _mastodon_post(parts.scheme, host, parts.path)


def _x_post(link: XLink) -> PostLink:
    if link.page is not None and link.page.lower() == "i":
        raise PostRefused("that X link does not name the account (it is an /i/ link); open the post and copy "
                          "its link, which has the @handle in it")
    if link.status_id is None:
        raise PostRefused("that X link is not a post; it should look like " + EXAMPLES[0])
    if link.handle is None:
        raise PostRefused(f"“{link.page}” in that X link is a page of X, not an account")
    return PostLink(Network.X, f"@{link.handle}", link.status_id, f"https://x.com/{link.handle}/status/{link.status_id}")


def _bluesky_post(path: str) -> PostLink:
    match = _BLUESKY_PATH.match(path)
    if match is None:
        raise PostRefused("that Bluesky link is not a post; it should look like " + EXAMPLES[2])
    actor, rkey = match["actor"], match["rkey"]
    if actor.lower().startswith("did:"):
        raise PostRefused("that Bluesky link names the account by its DID, not its handle; open the post in "
                          "bsky.app and copy the link that shows the handle (like alice.bsky.social)")
    handle = actor.lower()
    if not _HOSTNAME.match(handle):
        raise PostRefused(f"“{actor[:60]}” is not a Bluesky handle (those look like alice.bsky.social)")
    return PostLink(Network.BLUESKY, f"@{handle}", f"{handle}/{rkey}",
                    f"https://bsky.app/profile/{handle}/post/{rkey}")


def _mastodon_post(scheme: str, host: str, path: str) -> PostLink:
    if scheme != "https":
        raise PostRefused("Mastodon posts are https:// links, like " + EXAMPLES[1])
    if not _HOSTNAME.match(host):
        raise PostRefused(f"“{host[:60]}” is not an instance's name")
    match = _MASTODON_PATH.match(path) or _MASTODON_AP_PATH.match(path)
    if match is None:
        raise PostRefused(_ONLY_THESE)
    user, post = match["user"], match["id"]
    home = (match.groupdict().get("home") or host).lower()
    if not _HOSTNAME.match(home):
        raise PostRefused(f"“{home[:60]}” is not an instance's name")
    canonical = f"https://{host}/@{user}" + (f"@{home}" if home != host else "") + f"/{post}"
    return PostLink(Network.MASTODON, f"@{user}@{home}", f"{host}/{post}", canonical)
