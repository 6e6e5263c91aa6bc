"""The words of the !shorten answers: each short link made (or why not), and why short links at all.

Kept apart from ``commands/shorten.py`` so the command reads as parse -> shortener -> answer and these
read as text. Why a link is refused is said by ``policy`` (``LinkRefused.reason``) and, for Bitly's
failures, by ``bot.services.bitly`` (``ShortenError.user_message``); this module only frames it.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.features.links.shortener import ShortLink
from bot.matrix.rendering import Fragment, bullets, code, echo, italic, lines, link

NOT_SET_UP = ("Shortening is not set up on this bot: it needs a Bitly access token, given as shortener.bitly_token "
              "in the configuration or in the FXHELP_BITLY_TOKEN environment variable (the configuration needs a "
              "shortener section either way); ask a moderator.")
WHY_SHORT_LINKS = ("On X a short link saves no characters (every link counts as 23), but it reads better, "
                   "is trusted as Mozilla's, and counts clicks.")


def too_many_links(sent: int, limit: int, prefix: str) -> str:
    return (f"I shorten at most {limit} links at a time and you sent {sent}; "
            f"please send the rest in another {prefix}shorten.")


def not_made(url: str, reason: str) -> Fragment:
    # echo cuts what is quoted back: a refused link may be up to 2048 characters of noise.
    return code(echo(url)) + f" — not shortened: {reason}"


def shortened_links(outcomes: Sequence[ShortLink | Fragment]) -> Fragment:
    """One line per link asked for: the short link made, or the ``not_made`` line in its place."""
    made_any = any(isinstance(outcome, ShortLink) for outcome in outcomes)
    items = [_made(outcome) if isinstance(outcome, ShortLink) else outcome for outcome in outcomes]
    return lines(bullets(items), WHY_SHORT_LINKS if made_any else None)


def _made(short: ShortLink) -> Fragment:
    line = link(short.short_url) + " → " + link(short.long_url)
    if short.reused:
        line += italic(" (made earlier)")
    return line
