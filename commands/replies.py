"""!reply: the vetted common replies, ready to paste on X; search them, list them, reload them.

``!reply <key> [lang] [@handle]`` answers with the text to copy (the @handle in front, the article as
an mzl.la link, #fxhelp at the end) and its length as X counts it. ``lang`` may be a variety (es-MX,
de-CH): the text is the language's, the Firefox labels in it that variety's. A short link is a nicety: when
Bitly fails or is slow, the reply still comes, with the full link and a note.
Parse → library → answer; the answers' words are in ``bot.features.replies.messages``.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import timedelta

from bot.clock import Clock
from bot.features.links.policy import LinkRefused
from bot.features.links.shortener import LinkShortener
from bot.features.replies import messages
from bot.features.replies.catalog import ReplyCatalog
from bot.features.replies.model import resolve_locale
from bot.features.replies.render import render_reply
from bot.framework.arguments import word, words
from bot.framework.command import Command, CommandError, Permission
from bot.framework.dispatcher import Context
from bot.services.bitly import ShortenError
from bot.storage.reply_usage import ReplyUsage

SEARCH_RESULTS = 5
STATS_PERIOD = timedelta(days=30)
STATS_ENTRIES = 10
# The reply is useful without its short link: past this, answer with the full link.
SHORT_LINK_WAIT = 4.0

X_HANDLE = re.compile(r"[A-Za-z0-9_]{1,15}")
# Anything shaped like a language tag ("it", "pt-BR", "zh_Hant") is a language we may lack; any
# other word is neither a language nor (without its "@") a handle.
LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*")


@dataclass(frozen=True)
class Recipient:
    """What follows the key: the language asked for and the X user to answer, either may be missing."""

    language: str | None
    handle: str | None  # "@name", checked


class ReplyCommands:
    def __init__(self, catalog: ReplyCatalog, usage: ReplyUsage, shortener: LinkShortener, clock: Clock,
                 default_locale: str, short_link_wait: float = SHORT_LINK_WAIT) -> None:
        self._catalog = catalog
        self._usage = usage
        self._shortener = shortener
        self._clock = clock
        self._default_locale = default_locale
        self._short_link_wait = short_link_wait

    def commands(self) -> list[Command]:
        return [
            Command("reply", "a common reply ready to paste on X: @handle, the mzl.la link and #fxhelp included",
                    self.reply,
                    args=(word("key", help="the reply's key; find it with !reply search or !reply list"),
                          word("lang", optional=True,
                               help=f"{messages.LANGUAGES} (default {self._default_locale}); Firefox's labels follow it"),
                          word("handle", optional=True, help="the X user you answer, like @someone")),
                    examples=("!reply clear-cache", "!reply clear-cache es-MX @someone", "!reply sync-setup @someone"),
                    details="Tailor it before posting: say what the user told you and keep only the steps "
                            "that fit.", effects=False),
            Command("reply search", f"the best {SEARCH_RESULTS} common replies for some words, typos welcome",
                    self.search, args=(words("words", help="what the user asks about, in any language"),),
                    examples=("!reply search clear cache", "!reply search contraseñas"), effects=False),
            Command("reply list", "the topics and their replies' keys, or one topic's replies", self.listing,
                    args=(word("topic", optional=True, help="a topic name from !reply list"),),
                    examples=("!reply list", "!reply list privacy"), effects=False),
            Command("reply reload", "read the reply library again after an edit (a broken edit keeps the last "
                    "good one)", self.reload, permission=Permission.MODERATORS, examples=("!reply reload",),
                    effects=True, after_edit="to read the library again, send a new {prefix}reply reload"),
            Command("reply stats", f"the most used replies of the last {STATS_PERIOD.days} days", self.stats,
                    permission=Permission.MODERATORS, examples=("!reply stats",), effects=False),
        ]

    async def reply(self, ctx: Context, key: str, lang: str | None, handle: str | None) -> None:
        recipient = _recipient(lang, handle, ctx.prefix, key)
        library = self._catalog.library
        reply = library.get(key)
        if reply is None:
            raise CommandError(messages.unknown_key(key, library, ctx.prefix))
        locale, fell_back = resolve_locale(recipient.language, reply.texts, self._default_locale)
        link, why_no_short_link = await self._article_link(reply.article)
        rendered = render_reply(reply, locale, recipient.handle, link)
        await self._usage.record(reply.key, locale, ctx.user_id, self._clock.now(), event_id=ctx.message.event_id)
        await ctx.reply(messages.ready_reply(reply, locale, rendered, fell_back, recipient.language,
                                             why_no_short_link))

    async def search(self, ctx: Context, words: list[str]) -> None:
        asked = " ".join(words)
        hits = self._catalog.library.search(asked, limit=SEARCH_RESULTS)
        if not hits:
            raise CommandError(messages.no_match(asked, ctx.prefix))
        await ctx.reply(messages.search_hits(asked, hits, ctx.prefix))

    async def listing(self, ctx: Context, topic: str | None) -> None:
        library = self._catalog.library
        if topic is None:
            await ctx.reply(messages.all_topics(library, ctx.prefix))
            return
        found = library.topic(topic)
        if found is None:
            raise CommandError(messages.unknown_topic(topic, library, ctx.prefix))
        replies = [reply for key in found.keys if (reply := library.get(key)) is not None]
        await ctx.reply(messages.one_topic(found, replies))

    async def reload(self, ctx: Context) -> None:
        outcome = await self._catalog.reload()
        await ctx.reply(messages.reloaded(outcome) if outcome.loaded else messages.reload_refused(outcome))

    async def stats(self, ctx: Context) -> None:
        since = self._clock.now() - STATS_PERIOD
        counts = await self._usage.most_used(since, STATS_ENTRIES)
        await ctx.reply(messages.usage(counts, self._catalog.library, STATS_PERIOD))

    async def _article_link(self, article: str) -> tuple[str, str | None]:
        """The mzl.la link, or the article itself and why (nothing to explain when shortening is off)."""
        if not self._shortener.enabled:
            return article, None
        try:
            short = await asyncio.wait_for(self._shortener.shorten(article), self._short_link_wait)
        except LinkRefused as refused:
            return article, refused.reason
        except ShortenError as error:
            return article, error.user_message
        except TimeoutError:
            # The shortener keeps trying on its own and saves the link for the next !reply.
            return article, messages.SHORTENER_TOO_SLOW
        return short.short_url, None


# ---- reading what follows the key ----------------------------------------------------------------


def _recipient(first: str | None, second: str | None, prefix: str, key: str) -> Recipient:
    """``[lang] [@handle]``, also written ``@handle`` alone or ``@handle lang``: the "@" tells them apart."""
    language, handle = first, second
    if first is not None and first.startswith("@") and not (second or "").startswith("@"):
        language, handle = second, first
    if language is not None and language.startswith("@"):
        raise CommandError(messages.one_handle_at_a_time(prefix, key))
    if language is not None and not LANGUAGE_TAG.fullmatch(language):
        raise CommandError(messages.not_a_language(language, prefix, key))
    return Recipient(language, _checked_handle(handle) if handle is not None else None)


def _checked_handle(handle: str) -> str:
    name = handle.removeprefix("@")
    if not X_HANDLE.fullmatch(name):
        raise CommandError(messages.not_a_handle(handle))
    return f"@{name}"
