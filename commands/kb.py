"""!kb: the best support.mozilla.org articles for some words, with mzl.la links.

The search is the site's own JSON search (``/{locale}/search/?q=…&format=json&w=1``), which ranks
articles by relevance across title, summary and content. Kitsune's ``/api/1/kb/`` was the other
candidate, but it only filters titles containing the whole query as one substring and returns no
article URLs, so "firefox slow startup" would find nothing there.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

from bot.config import SumoConfig
from bot.features.links.policy import LinkRefused
from bot.features.links.shortener import LinkShortener
from bot.framework.arguments import UsageError, word, words
from bot.framework.command import Command, CommandError
from bot.framework.dispatcher import Context
from bot.matrix.rendering import bold, echo, lines, link, numbered
from bot.services.bitly import ShortenError
from bot.services.kitsune import KitsuneBlocked, KitsuneClient, KitsuneError, KitsuneUnreachable, sumo_locale

RESULTS = 5
# Locale codes that are everyday English words: only written in capitals do they mean a language.
_WORDS_NOT_LANGUAGES = frozenset({"it", "no", "id"})

BLOCKED = ("support.mozilla.org refuses this bot's requests (it blocks the bot's User-Agent); a moderator must "
           "set sumo.contact in the configuration and restart the bot.")
NOT_SET_UP = ("Knowledge-base search is not set up on this bot (the configuration has no sumo section); "
              "ask a moderator.")


class KbCommands:
    def __init__(self, kitsune: KitsuneClient | None, config: SumoConfig | None,
                 shortener: LinkShortener | None) -> None:
        self._kitsune = kitsune
        self._config = config
        self._shortener = shortener

    def commands(self) -> list[Command]:
        return [
            Command("kb", "the best support.mozilla.org articles for some words, with short links", self.kb,
                    args=(words("words", help="what to look for"),
                          word("lang", convert=_language, trailing=True,
                               help="a SUMO locale such as en-US, es, de, fr, pt-BR (default: the first watched "
                                    "locale)")),
                    examples=("!kb clear cookies", "!kb borrar cookies es", "!kb lesezeichen wiederherstellen de"),
                    details="Italian, Norwegian and Indonesian are written IT, NO and ID (in lower case they are "
                            "read as words).", effects=False),
        ]

    async def kb(self, ctx: Context, words: list[str], lang: str | None) -> None:
        if self._kitsune is None or self._config is None:
            raise CommandError(NOT_SET_UP)
        query, locale = " ".join(words).strip(), lang or self._config.locales[0]
        if not query:
            raise UsageError("words are missing")
        try:
            articles = await self._kitsune.search_articles(query, locale=locale, product=self._config.product,
                                                           limit=RESULTS)
        except KitsuneBlocked:
            raise CommandError(BLOCKED) from None
        except KitsuneUnreachable:
            raise CommandError(f"{self._site()} cannot be reached from the machine this bot runs on (no "
                               "connection); !kb works again once it can.") from None
        except KitsuneError:
            raise CommandError(f"{self._site()}'s search is not answering right now; try again in a few "
                               "minutes.") from None
        if not articles:
            await ctx.reply(f"No {locale} articles found for “{query}”. Try other words, or another language.")
            return
        links = await asyncio.gather(*(self._best_link(a.url) for a in articles))
        items = [link(url, article.title) for article, url in zip(articles, links, strict=True)]
        await ctx.reply(lines(bold(f"support.mozilla.org articles for “{query}” ({locale})"), numbered(items)))

    def _site(self) -> str:
        assert self._kitsune is not None
        return urlsplit(self._kitsune.site_url).netloc or self._kitsune.site_url

    async def _best_link(self, url: str) -> str:
        """The mzl.la link when the shortener can make one; the full link otherwise."""
        if self._shortener is None or not self._shortener.enabled:
            return url
        try:
            return (await self._shortener.shorten(url)).short_url
        except (LinkRefused, ShortenError):
            return url


def _language(word_: str) -> str:
    """The SUMO locale a trailing word names; raises UsageError for any other word (a search word)."""
    locale = None if word_ in _WORDS_NOT_LANGUAGES else sumo_locale(word_)
    if locale is None:
        raise UsageError(f"{echo(word_)!r} is not a SUMO locale")
    return locale
