"""!shorten: an mzl.la short link for each Mozilla link, made through Bitly once per link, ever.

Parse → shortener → answer; the answers' words are in ``bot.features.links.messages``."""

from __future__ import annotations

import asyncio

from bot.features.links import messages
from bot.features.links.policy import LinkRefused
from bot.features.links.shortener import LinkShortener, ShortLink
from bot.framework.arguments import words
from bot.framework.command import Command, CommandError
from bot.framework.dispatcher import Context
from bot.matrix.rendering import Fragment
from bot.services.bitly import ShortenError

MAX_LINKS = 5


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
            raise CommandError(messages.NOT_SET_UP)
        if len(url) > MAX_LINKS:
            raise CommandError(messages.too_many_links(len(url), MAX_LINKS, ctx.prefix))
        outcomes = await asyncio.gather(*(self._outcome(one) for one in url))
        await ctx.reply(messages.shortened_links(outcomes))

    async def _outcome(self, url: str) -> ShortLink | Fragment:
        """The short link, or the line explaining why there is none."""
        try:
            return await self._shortener.shorten(url)
        except LinkRefused as refused:
            return messages.not_made(url, refused.reason)
        except ShortenError as error:
            return messages.not_made(url, error.user_message)
