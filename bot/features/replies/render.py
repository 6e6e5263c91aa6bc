"""A common reply as it is posted on X: ``@handle text link #fxhelp``, with its length as X counts it.

A text in the library holds none of these: the renderer adds the handle (``HANDLE`` is how one looks, so
that loading can refuse a text that types one and ``copies`` can set them aside), the short link or the
article, and #fxhelp unless the text has it already.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from bot.features.replies.model import Reply
from bot.features.x_text import X_LIMIT, has_fxhelp_hashtag, weighted_length

FXHELP = "#fxhelp"
HANDLE = re.compile(r"(?<![\w@])@\w+")


@dataclass(frozen=True)
class RenderedReply:
    text: str
    weighted_length: int
    remaining: int  # X_LIMIT - weighted_length; negative when too long


def render_reply(reply: Reply, locale: str, handle: str | None, link: str) -> RenderedReply:
    """``@handle text link #fxhelp``, ready to paste on X.

    ``locale`` must be one of ``reply.texts`` (see ``resolve_locale``); ``handle`` may come with
    or without "@", or be None; ``link`` is the short link, or the article when empty."""
    parts = [reply.texts[locale].strip(), link or reply.article]
    normalized_handle = _normalize_handle(handle)
    if normalized_handle:
        parts.insert(0, normalized_handle)
    text = " ".join(parts)
    if not has_fxhelp_hashtag(text):
        text = f"{text} {FXHELP}"
    length = weighted_length(text)
    return RenderedReply(text, length, X_LIMIT - length)


def _normalize_handle(handle: str | None) -> str | None:
    if handle is None:
        return None
    name = handle.strip().lstrip("@")
    return f"@{name}" if name else None


def article_slug(article: str) -> str:
    """The article's name in its link, what the slug evidence file lists."""
    return urlsplit(article).path.rstrip("/").rsplit("/", 1)[-1]
