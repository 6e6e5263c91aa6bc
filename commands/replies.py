"""!reply: the vetted common replies, ready to paste on X; search them, list them, reload them.

``!reply <key> [lang] [@handle]`` answers with the text to copy (the @handle in front, the article as
an mzl.la link, #fxhelp at the end) and its length as X counts it. ``lang`` may be a variety (es-MX,
de-CH): the text is the language's, the Firefox labels in it that variety's. A short link is a nicety: when
Bitly fails or is slow, the reply still comes, with the full link and a note.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import timedelta

from bot.clock import Clock
from bot.features.links.policy import LinkRefused
from bot.features.links.shortener import LinkShortener
from bot.features.replies.catalog import ReloadOutcome, ReplyCatalog
from bot.features.replies.library import ReplyLibrary
from bot.features.replies.model import LOCALES, Reply, resolve_locale
from bot.features.replies.render import render_reply
from bot.features.replies.ui_strings import VARIETIES
from bot.features.x_text import X_LIMIT
from bot.framework.arguments import word, words
from bot.framework.command import Command, CommandError, Permission
from bot.framework.dispatcher import Context
from bot.matrix.rendering import Fragment, bold, bullets, code, code_block, italic, join, lines, numbered
from bot.services.bitly import ShortenError
from bot.storage.reply_usage import ReplyCount, ReplyUsage
from bot.text import shortened

SEARCH_RESULTS = 5
_LANGUAGES = (f"{', '.join(LOCALES)} (Firefox's labels of a variety with "
              f"{', '.join(name for name in VARIETIES if name not in LOCALES)})")
STATS_PERIOD = timedelta(days=30)
STATS_ENTRIES = 10
PROBLEMS_SHOWN = 10
# A reload problem can quote a whole YAML value back; the rest is in the log.
PROBLEM_LENGTH = 300
# What someone typed, quoted back in an answer, is cut to this many characters.
TYPED_LENGTH = 60
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
                               help=f"{_LANGUAGES} (default {self._default_locale}); Firefox's labels follow it"),
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
            raise CommandError(_unknown_key(key, library, ctx.prefix))
        locale, fell_back = resolve_locale(recipient.language, reply.texts, self._default_locale)
        link, why_no_short_link = await self._article_link(reply.article)
        rendered = render_reply(reply, locale, recipient.handle, link)
        await self._usage.record(reply.key, locale, ctx.user_id, self._clock.now(), event_id=ctx.message.event_id)
        await ctx.reply(lines(
            bold(reply.title) + " (" + code(reply.key) + f", {locale})",
            code_block(rendered.text),
            _length(rendered.weighted_length),
            _fallback_note(recipient.language, locale) if fell_back else None,
            _long_link_note(why_no_short_link) if why_no_short_link else None,
        ))

    async def search(self, ctx: Context, words: list[str]) -> None:
        asked = " ".join(words)
        hits = self._catalog.library.search(asked, limit=SEARCH_RESULTS)
        if not hits:
            raise CommandError(f"No common reply matches “{shortened(asked, TYPED_LENGTH)}”. "
                               f"{ctx.prefix}reply list shows every topic and its keys.")
        await ctx.reply(lines(
            f"Best matches for “{shortened(asked, TYPED_LENGTH)}”:",
            numbered(code(hit.reply.key) + f" — {hit.reply.title}" for hit in hits),
            f"{ctx.prefix}reply <key> [lang] [@handle] gives one ready to paste.",
        ))

    async def listing(self, ctx: Context, topic: str | None) -> None:
        library = self._catalog.library
        if topic is None:
            await ctx.reply(_all_topics(library, ctx.prefix))
            return
        found = library.topic(topic)
        if found is None:
            raise CommandError(_unknown_topic(topic, library, ctx.prefix))
        replies = [reply for key in found.keys if (reply := library.get(key)) is not None]
        await ctx.reply(lines(
            bold(found.title) + " (" + code(found.name) + "):",
            bullets(code(reply.key) + f" — {reply.title}" for reply in replies),
        ))

    async def reload(self, ctx: Context) -> None:
        outcome = await self._catalog.reload()
        await ctx.reply(_reloaded(outcome) if outcome.loaded else _reload_refused(outcome))

    async def stats(self, ctx: Context) -> None:
        since = self._clock.now() - STATS_PERIOD
        counts = await self._usage.most_used(since, STATS_ENTRIES)
        if not counts:
            await ctx.reply(f"No common reply was used in the last {STATS_PERIOD.days} days.")
            return
        await ctx.reply(lines(
            f"Most used common replies, last {STATS_PERIOD.days} days:",
            numbered(_usage_line(count, self._catalog.library) for count in counts),
        ))

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
            return article, "Bitly did not answer in time"
        return short.short_url, None


# -- reading what follows the key ----------------------------------------------------------------


def _recipient(first: str | None, second: str | None, prefix: str, key: str) -> Recipient:
    """``[lang] [@handle]``, also written ``@handle`` alone or ``@handle lang``: the "@" tells them apart."""
    language, handle = first, second
    if first is not None and first.startswith("@") and not (second or "").startswith("@"):
        language, handle = second, first
    if language is not None and language.startswith("@"):
        raise CommandError(f"One @handle at a time, please: {prefix}reply {key} [lang] [@handle]")
    if language is not None and not LANGUAGE_TAG.fullmatch(language):
        raise CommandError(
            f"“{shortened(language, TYPED_LENGTH)}” is not a language I know. The replies come in {_LANGUAGES}. "
            f"To answer someone, put @ before their handle: {prefix}reply {key} @{shortened(language, 15)}")
    return Recipient(language, _checked_handle(handle) if handle is not None else None)


def _checked_handle(handle: str) -> str:
    name = handle.removeprefix("@")
    if not X_HANDLE.fullmatch(name):
        raise CommandError(f"“{shortened(handle, TYPED_LENGTH)}” is not an X handle: those are 1 to 15 letters, digits or "
                           f"underscores, like @firefox or @Mozilla_Support.")
    return f"@{name}"


# -- answers ---------------------------------------------------------------------------------------


def _length(weighted_length: int) -> str:
    left = X_LIMIT - weighted_length
    room = f"{left} left" if left >= 0 else f"{-left} too many"
    return f"{weighted_length}/{X_LIMIT} as X counts it ({room}; a link counts 23 whatever its length)."


def _fallback_note(asked: str | None, locale: str) -> Fragment:
    return italic(f"There is no “{asked}” text; this is {locale}. The replies come in {_LANGUAGES}.")


def _long_link_note(reason: str) -> Fragment:
    return italic(f"No mzl.la link this time ({reason}); the full link works just as well, and X counts it "
                  f"23 either way.")


def _unknown_key(key: str, library: ReplyLibrary, prefix: str) -> str:
    closest = library.closest_keys(key)
    hint = f" Did you mean {_one_of(closest)}?" if closest else ""
    return (f"There is no common reply “{shortened(key, TYPED_LENGTH)}”.{hint} Find one with {prefix}reply search <words>, "
            f"or see them all with {prefix}reply list.")


def _all_topics(library: ReplyLibrary, prefix: str) -> Fragment:
    return lines(
        f"Common replies by topic ({len(library)} in all):",
        bullets(bold(topic.title) + " (" + code(topic.name) + "): " + join(code(key) for key in topic.keys)
                for topic in library.topics()),
        f"{prefix}reply list <topic> shows one topic with titles; {prefix}reply <key> gives a reply.",
    )


def _unknown_topic(topic: str, library: ReplyLibrary, prefix: str) -> str:
    closest = library.closest_topics(topic)
    hint = f" Did you mean {_one_of(closest)}?" if closest else ""
    return f"There is no topic “{shortened(topic, TYPED_LENGTH)}”.{hint} {prefix}reply list shows them all."


def _reloaded(outcome: ReloadOutcome) -> str:
    return f"Reloaded the reply library: {outcome.replies} replies in {outcome.topics} topics."


def _reload_refused(outcome: ReloadOutcome) -> Fragment:
    count = len(outcome.problems)
    shown = [shortened(problem, PROBLEM_LENGTH) for problem in outcome.problems[:PROBLEMS_SHOWN]]
    more = f"…and {count - PROBLEMS_SHOWN} more (the bot's log lists them all)." if count > PROBLEMS_SHOWN else None
    return lines(
        f"The edited library has {count} problem{'s' if count != 1 else ''}, so the last good one "
        f"({outcome.replies} replies) stays in use:",
        bullets(shown),
        more,
    )


def _usage_line(count: ReplyCount, library: ReplyLibrary) -> Fragment:
    reply: Reply | None = library.get(count.key)
    title = f" — {reply.title}" if reply is not None else " (no longer in the library)"
    return code(count.key) + title + f": {count.uses} time{'s' if count.uses != 1 else ''}"


def _one_of(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


