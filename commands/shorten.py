"""!shorten: an mzl.la short link for each Mozilla link, made through Bitly once per link, ever."""

from __future__ import annotations

import asyncio

from bot.features.links.policy import LinkRefused
from bot.features.links.shortener import LinkShortener, ShortLink
from bot.framework.arguments import words
from bot.framework.command import Command, CommandError
from bot.framework.dispatcher import Context
from bot.matrix.rendering import Fragment, bullets, code, echo, italic, lines, link
from bot.services.bitly import ShortenError

MAX_LINKS = 5
# Longer text is cut when echoed back: a refused link may be up to 2048 characters of noise.

NOT_SET_UP = ("Shortening is not set up on this bot: it needs a Bitly access token, given as shortener.bitly_token "
              "in the configuration or in the FXHELP_BITLY_TOKEN environment variable (the configuration needs a "
              "shortener section either way); ask a moderator.")
WHY_SHORT_LINKS = ("On X a short link saves no characters (every link counts as 23), but it reads better, "
                   "is trusted as Mozilla's, and counts clicks.")


class ShortenCommands:
    def __init__(self, shortener: LinkShortener) -> None:
        self._shortener = shortener

    def commands(self) -> list[Command]:
        return [
            Command("shorten", f"an mzl.la link for each Mozilla link (at most {MAX_LINKS} at a time)", self.shorten,
                    args=(words("url", help="a link on a Mozilla site, such as support.mozilla.org"),),
                    examples=("!shorten https://support.mozilla.org/kb/clear-cookies-and-site-data-firefox",
                              "!shorten https://www.mozilla.org/firefox/new/ https://addons.mozilla.org/firefox/"),
                    details="Equivalent links (another locale, tracking parameters) share one short link.", effects=False),
        ]

    async def shorten(self, ctx: Context, url: list[str]) -> None:
        if not self._shortener.enabled:
            raise CommandError(NOT_SET_UP)
        if len(url) > MAX_LINKS:
            raise CommandError(f"I shorten at most {MAX_LINKS} links at a time and you sent {len(url)}; "
                               f"please send the rest in another {ctx.prefix}shorten.")
        outcomes = await asyncio.gather(*(self._outcome(one) for one in url))
        made_any = any(isinstance(outcome, ShortLink) for outcome in outcomes)
        items = [_made(outcome) if isinstance(outcome, ShortLink) else outcome for outcome in outcomes]
        await ctx.reply(lines(bullets(items), WHY_SHORT_LINKS if made_any else None))

    async def _outcome(self, url: str) -> ShortLink | Fragment:
        """The short link, or the line explaining why there is none."""
        try:
            return await self._shortener.shorten(url)
        except LinkRefused as refused:
            return _not_made(url, refused.reason)
        except ShortenError as error:
            return _not_made(url, error.user_message)


def _made(short: ShortLink) -> Fragment:
    line = link(short.short_url) + " → " + link(short.long_url)
    if short.reused:
        line += italic(" (made earlier)")
    return line


def _not_made(url: str, reason: str) -> Fragment:
    return code(echo(url)) + f" — not shortened: {reason}"
