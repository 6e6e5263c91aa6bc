"""!kb: the best support.mozilla.org articles for some words, with short links (bot.features.kb)."""

from __future__ import annotations

from bot.features.kb import messages
from bot.features.kb.service import KbSearch, language
from bot.framework.arguments import word, words
from bot.framework.command import Command
from bot.framework.dispatcher import Context


class KbCommands:
    def __init__(self, kb: KbSearch) -> None:
        self._kb = kb

    def commands(self) -> list[Command]:
        return [
            Command("kb", "the best support.mozilla.org articles for some words, with short links", self.kb,
                    args=(words("words", help="what to look for"),
                          word("lang", convert=language, trailing=True,
                               help="a SUMO locale such as en-US, es, de, fr, pt-BR (default: the first watched "
                                    "locale)")),
                    examples=("!kb clear cookies", "!kb borrar cookies es", "!kb lesezeichen wiederherstellen de"),
                    details=messages.LANG_DETAILS, effects=False),
        ]

    async def kb(self, ctx: Context, words: list[str], lang: str | None) -> None:
        found = await self._kb.search(words, lang)
        await ctx.reply(messages.articles(found.query, found.locale, found.articles))
