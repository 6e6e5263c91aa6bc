"""Which links the bot will shorten, and the one clean form each is shortened in.

The mzl.la brand must never become anyone's open redirect, so a link is refused unless its host is
plainly one of Mozilla's sites. "Plainly" means the way a browser would read it too: anything a
browser and a Python parser could read differently (backslashes, ``user@host``, percent signs or
look-alike letters in the host, numeric IP forms) is refused rather than interpreted.

Accepted links are normalised so equivalent links share one short link: https, lower-case host,
no port, no tracking parameters, and no locale in support.mozilla.org paths (each reader then
lands in their own language).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from urllib.parse import quote, urlsplit

from bot.services.kitsune import SUMO_HOST, SUMO_LOCALES, SUMO_REDIRECTED_LOCALES

# Mozilla's sites, the one list: ``!shorten`` shortens links to these (and their subdomains) unless the
# config's shortener.allowed_hosts replaces it, and ``!check`` calls a link to these a long Mozilla link.
DEFAULT_ALLOWED_HOSTS: tuple[str, ...] = (
    "support.mozilla.org",
    "www.mozilla.org",
    "mozilla.org",
    "addons.mozilla.org",
    "blog.mozilla.org",
    "developer.mozilla.org",
    "bugzilla.mozilla.org",
    "connect.mozilla.org",
    "www.firefox.com",
    "firefox.com",
    "monitor.firefox.com",
    "relay.firefox.com",
    "vpn.mozilla.org",
)

MAX_URL_LENGTH = 2048

TRACKING_PARAMETER_PREFIXES = ("utm_",)
TRACKING_PARAMETERS = frozenset(
    {
        "fbclid", "gclid", "mc_cid", "mc_eid", "_hsenc", "_hsmi", "ref_src",
        # Click IDs of X/Twitter, Microsoft Ads and Instagram, and Marketo's token.
        "twclid", "msclkid", "igshid", "mkt_tok",
    }
)

# The bare language codes support.mozilla.org reads as a locale at the start of a path: the locales it
# serves and those it redirects (bot.services.kitsune keeps both lists). A bare code is only treated as
# a locale when listed, so a section such as /kb/ is safe.
_PATH_LANGUAGES = frozenset(
    locale.lower() for locale in (*SUMO_LOCALES, *SUMO_REDIRECTED_LOCALES) if "-" not in locale
)
# Language plus region or script (en-US, pt-BR, es-419, sr-Latn, ja-JP-mac): a region is 2 letters or
# 3 digits and a script 4 letters, so a hyphenated section such as "get-involved" stays in the path.
_REGIONAL_LOCALE = re.compile(r"[a-z]{2,3}(?=-)(?:-[a-z]{4})?(?:-(?:[a-z]{2}|[0-9]{3}))?(?:-mac)?", re.IGNORECASE)

_SCHEME_PREFIX = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
_HOST_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")
# WHATWG URL parsers read a host whose last label is a number (decimal, 0x-hex, octal) as IPv4.
_NUMERIC_LABEL = re.compile(r"(0x[0-9a-f]*|[0-9]+)")
_DEFAULT_PORTS = {"http": 80, "https": 443}
# Characters that may stay as they are in a path, query or fragment; others are percent-encoded.
_URL_SAFE = "/?:@!$&'()*+,;=%~#"

_NOT_A_LINK = (
    "that does not look like a web link; paste the whole address, like https://support.mozilla.org/kb/…"
)
_TOO_LONG = (
    f"that link is longer than {MAX_URL_LENGTH} characters; link to the article's plain address instead"
)


class LinkRefused(Exception):
    """A link the bot will not shorten; ``reason`` says why in words a volunteer understands."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def is_allowed_host(host: str, allowed_hosts: Iterable[str]) -> bool:
    """True when ``host`` is an allowed host or a subdomain of one (``foo.support.mozilla.org``)."""
    host = _canonical_host(host)
    if not host:
        return False
    for allowed in allowed_hosts:
        allowed = _canonical_host(allowed)
        if allowed and (host == allowed or host.endswith("." + allowed)):
            return True
    return False


def normalise_link(url: str, allowed_hosts: Iterable[str]) -> str:
    """The one https form of ``url`` to shorten; raises LinkRefused when it must not be shortened."""
    allowed_hosts = tuple(allowed_hosts)
    text = url.strip()
    _refuse_unsafe_text(text)
    scheme, rest = _split_scheme(text)
    try:
        parts = urlsplit(f"{scheme}://{rest}")
    except ValueError:
        raise LinkRefused(_NOT_A_LINK) from None
    host = _checked_host(parts.netloc, scheme, allowed_hosts)
    path = _clean_path(parts.path, host)
    query = _without_tracking(parts.query)
    fragment = _clean_fragment(parts.fragment)
    normalised = "https://" + host + _encoded(path)
    if query:
        normalised += "?" + _encoded(query)
    if fragment:
        normalised += "#" + _encoded(fragment)
    if len(normalised) > MAX_URL_LENGTH:
        raise LinkRefused(_TOO_LONG)
    return normalised


def _refuse_unsafe_text(text: str) -> None:
    if not text:
        raise LinkRefused("there is no link to shorten; paste the whole address")
    if len(text) > MAX_URL_LENGTH:
        raise LinkRefused(_TOO_LONG)
    if any(_is_invisible_or_space(char) for char in text):
        raise LinkRefused(
            "that link contains spaces or invisible characters; copy it again from the address bar"
        )
    if "\\" in text:
        raise LinkRefused(
            "that link contains a backslash (\\), which browsers read differently from how it looks"
        )


def _is_invisible_or_space(char: str) -> bool:
    # Cc: control characters; Cf: zero-width and direction marks; Z*: every kind of space;
    # Co/Cs/Cn: private-use, surrogate and unassigned code points.
    return char.isspace() or unicodedata.category(char) in {"Cc", "Cf", "Co", "Cs", "Cn", "Zs", "Zl", "Zp"}


def _split_scheme(text: str) -> tuple[str, str]:
    """``(scheme, everything after "//")``; a link written without a scheme is taken as https."""
    if text.startswith("//"):
        return "https", text[2:]
    match = _SCHEME_PREFIX.match(text)
    # "support.mozilla.org:443/kb" also matches the scheme pattern; real schemes have no dots.
    if match is None or "." in match.group(1):
        return "https", text
    scheme = match.group(1).lower()
    if scheme not in _DEFAULT_PORTS:
        raise LinkRefused(f"only web links (https://…) can be shortened, not '{scheme}:' links")
    rest = text[match.end():]
    if not rest.startswith("//"):
        raise LinkRefused(_NOT_A_LINK)
    return scheme, rest[2:]


def _checked_host(netloc: str, scheme: str, allowed_hosts: tuple[str, ...]) -> str:
    if "@" in netloc:
        raise LinkRefused(
            "that link has something before an @ in its address (a user name or password), "
            "a trick that hides where a link really goes"
        )
    if netloc.startswith("["):
        raise LinkRefused("that link points to a bare IP address, not to a Mozilla site")
    host_text, _, port_text = netloc.partition(":")
    _refuse_unusual_port(port_text, scheme)
    host = _canonical_host(host_text)
    if not host:
        raise LinkRefused(_NOT_A_LINK)
    if _is_internationalised(host) and host not in {_canonical_host(h) for h in allowed_hosts}:
        raise LinkRefused(
            "that address uses look-alike letters (non-Latin or 'xn--' punycode) that can "
            "imitate a Mozilla address"
        )
    if not all(_HOST_LABEL.fullmatch(label) for label in host.split(".")):
        raise LinkRefused(
            "that site name has characters a web address cannot have (such as %, _ or two dots in a row)"
        )
    if _NUMERIC_LABEL.fullmatch(host.rsplit(".", 1)[-1]):
        raise LinkRefused("that link points to a bare IP address, not to a Mozilla site")
    if not is_allowed_host(host, allowed_hosts):
        raise LinkRefused(f"{host} is not one of the Mozilla sites this bot shortens links for")
    return host


def _is_internationalised(host: str) -> bool:
    return not host.isascii() or any(label.startswith("xn--") for label in host.split("."))


def _refuse_unusual_port(port_text: str, scheme: str) -> None:
    if not port_text:
        return
    if not port_text.isascii() or not port_text.isdigit():
        raise LinkRefused(_NOT_A_LINK)
    if int(port_text) != _DEFAULT_PORTS[scheme]:
        raise LinkRefused(
            f"that link names a port (:{port_text}); only ordinary web addresses can be shortened"
        )


def _canonical_host(host: str) -> str:
    host = host.lower()
    return host[:-1] if host.endswith(".") else host


def _clean_path(path: str, host: str) -> str:
    if host == SUMO_HOST:
        path = _without_locale(path)
    # A path starting "//" reads as another host to any page that echoes it into a redirect.
    return "/" + path.lstrip("/")


def _without_locale(path: str) -> str:
    segments = path.split("/")
    # segments[0] is the empty text before the leading "/"; drop every locale that follows it.
    while len(segments) > 1 and _is_sumo_locale(segments[1]):
        del segments[1]
    return "/".join(segments)


def _is_sumo_locale(segment: str) -> bool:
    return segment.lower() in _PATH_LANGUAGES or _REGIONAL_LOCALE.fullmatch(segment) is not None


def _without_tracking(query: str) -> str:
    kept = [pair for pair in query.split("&") if pair and not _is_tracking_pair(pair)]
    return "&".join(kept)


def _is_tracking_pair(pair: str) -> bool:
    name = pair.partition("=")[0].lower()
    return name in TRACKING_PARAMETERS or name.startswith(TRACKING_PARAMETER_PREFIXES)


def _clean_fragment(fragment: str) -> str:
    # A text fragment ("#:~:text=…", or after a real anchor: "#intro:~:text=…") only highlights.
    fragment = fragment.partition(":~:")[0]
    pairs = [pair for pair in fragment.split("&") if pair]
    if pairs and all(_is_tracking_pair(pair) for pair in pairs):
        return ""
    return fragment


def _encoded(part: str) -> str:
    """Percent-encode what may not appear raw in a URL (non-ASCII, quotes, <>); keep the rest."""
    return quote(part, safe=_URL_SAFE)
