"""!kb's search: the best support.mozilla.org articles for some words, with mzl.la links.

The search is the site's own JSON search (``/{locale}/search/?q=…&format=json&w=1``), which ranks
articles by relevance across title, summary and content. Kitsune's ``/api/1/kb/`` was the other
candidate, but it only filters titles containing the whole query as one substring and returns no
article URLs, so "firefox slow startup" would find nothing there.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from urllib.parse import urlsplit

from bot.config import SumoConfig
from bot.features.kb import messages
from bot.features.links.policy import LinkRefused
from bot.features.links.shortener import LinkShortener
from bot.framework.arguments import UsageError
from bot.framework.command import CommandError
from bot.matrix.rendering import echo
from bot.services.bitly import ShortenError
from bot.services.kitsune import KitsuneBlocked, KitsuneClient, KitsuneError, KitsuneUnreachable, sumo_locale

RESULTS = 5
# Locale codes that are everyday English words: only written in capitals do they mean a language.
_WORDS_NOT_LANGUAGES = frozenset({"it", "no", "id"})


def language(word: str) -> str:
    """The SUMO locale a word names (``es``, ``pt-br`` → ``pt-BR``, ``IT``); raises UsageError for any
    other word, so as ``!kb``'s trailing argument such a word stays one of the search words."""
    locale = None if word in _WORDS_NOT_LANGUAGES else sumo_locale(word)
    if locale is None:
        raise UsageError(messages.not_a_locale(echo(word)))
    return locale


@dataclass(frozen=True)
class Found:
    query: str
    locale: str
    articles: list[tuple[str, str]]  # (title, link: the mzl.la one when the shortener made one), best first


class KbSearch:
    """``kitsune`` and ``config`` are None when the bot has no sumo section: every search says so."""

    def __init__(self, kitsune: KitsuneClient | None, config: SumoConfig | None,
                 shortener: LinkShortener | None) -> None:
        self._kitsune = kitsune
        self._config = config
        self._shortener = shortener

    async def search(self, words: list[str], locale: str | None) -> Found:
        """Raises CommandError (its words are the answer) when the search cannot be made."""
        if self._kitsune is None or self._config is None:
            raise CommandError(messages.NOT_SET_UP)
        query = " ".join(words).strip()
        if not query:
            raise UsageError("words are missing")
        locale = locale or self._config.locales[0]
        try:
            articles = await self._kitsune.search_articles(query, locale=locale, product=self._config.product,
                                                           limit=RESULTS)
        except KitsuneBlocked:
            raise CommandError(messages.BLOCKED) from None
        except KitsuneUnreachable:
            raise CommandError(messages.unreachable(self._site())) from None
        except KitsuneError:
            raise CommandError(messages.not_answering(self._site())) from None
        links = await asyncio.gather(*(self._best_link(article.url) for article in articles))
        return Found(query, locale, [(article.title, url) for article, url in zip(articles, links, strict=True)])

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
