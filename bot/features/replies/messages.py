"""The words of the !reply answers: a reply ready to paste with its length, search hits, topics,
reload outcomes, usage counts, and the errors.

Kept apart from ``commands/replies.py`` so the command reads as parse -> library -> answer and these
read as text. Not to be mixed with ``ui_strings``: those are Firefox's own labels that go *into* a
reply's text, per locale; these are the bot's sentences around it, in English.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from bot.features.replies.catalog import ReloadOutcome
from bot.features.replies.library import ReplyLibrary, SearchHit
from bot.features.replies.model import LOCALES, Reply, Topic
from bot.features.replies.render import RenderedReply
from bot.features.replies.ui_strings import VARIETIES
from bot.features.x_text import X_LIMIT
from bot.matrix.rendering import Fragment, bold, bullets, code, code_block, italic, join, lines, numbered
from bot.storage.reply_usage import ReplyCount
from bot.text import shortened

LANGUAGES = (f"{', '.join(LOCALES)} (Firefox's labels of a variety with "
             f"{', '.join(name for name in VARIETIES if name not in LOCALES)})")
PROBLEMS_SHOWN = 10
# A reload problem can quote a whole YAML value back; the rest is in the log.
PROBLEM_LENGTH = 300
# What someone typed, quoted back in an answer, is cut to this many characters.
TYPED_LENGTH = 60

# ---- !reply <key> ----------------------------------------------------------------------------------


def ready_reply(reply: Reply, locale: str, rendered: RenderedReply, fell_back: bool, asked: str | None,
                why_no_short_link: str | None) -> Fragment:
    """``fell_back``: the reply has no text in ``asked``, the language asked for, so it is in ``locale``."""
    return lines(
        bold(reply.title) + " (" + code(reply.key) + f", {locale})",
        code_block(rendered.text),
        _length(rendered.weighted_length),
        _fallback_note(asked, locale) if fell_back else None,
        _long_link_note(why_no_short_link) if why_no_short_link else None,
    )


def _length(weighted_length: int) -> str:
    left = X_LIMIT - weighted_length
    room = f"{left} left" if left >= 0 else f"{-left} too many"
    return f"{weighted_length}/{X_LIMIT} as X counts it ({room}; a link counts 23 whatever its length)."


def _fallback_note(asked: str | None, locale: str) -> Fragment:
    return italic(f"There is no “{asked}” text; this is {locale}. The replies come in {LANGUAGES}.")


def _long_link_note(reason: str) -> Fragment:
    return italic(f"No mzl.la link this time ({reason}); the full link works just as well, and X counts it "
                  f"23 either way.")


SHORTENER_TOO_SLOW = "Bitly did not answer in time"


def one_handle_at_a_time(prefix: str, key: str) -> str:
    return f"One @handle at a time, please: {prefix}reply {key} [lang] [@handle]"


def not_a_language(language: str, prefix: str, key: str) -> str:
    return (f"“{shortened(language, TYPED_LENGTH)}” is not a language I know. The replies come in {LANGUAGES}. "
            f"To answer someone, put @ before their handle: {prefix}reply {key} @{shortened(language, 15)}")


def not_a_handle(handle: str) -> str:
    return (f"“{shortened(handle, TYPED_LENGTH)}” is not an X handle: those are 1 to 15 letters, digits or "
            f"underscores, like @firefox or @Mozilla_Support.")


def unknown_key(key: str, library: ReplyLibrary, prefix: str) -> str:
    closest = library.closest_keys(key)
    hint = f" Did you mean {_one_of(closest)}?" if closest else ""
    return (f"There is no common reply “{shortened(key, TYPED_LENGTH)}”.{hint} Find one with {prefix}reply search <words>, "
            f"or see them all with {prefix}reply list.")


# ---- !reply search, !reply list ------------------------------------------------------------------


def no_match(asked: str, prefix: str) -> str:
    return (f"No common reply matches “{shortened(asked, TYPED_LENGTH)}”. "
            f"{prefix}reply list shows every topic and its keys.")


def search_hits(asked: str, hits: Sequence[SearchHit], prefix: str) -> Fragment:
    return lines(
        f"Best matches for “{shortened(asked, TYPED_LENGTH)}”:",
        numbered(code(hit.reply.key) + f" — {hit.reply.title}" for hit in hits),
        f"{prefix}reply <key> [lang] [@handle] gives one ready to paste.",
    )


def all_topics(library: ReplyLibrary, prefix: str) -> Fragment:
    return lines(
        f"Common replies by topic ({len(library)} in all):",
        bullets(bold(topic.title) + " (" + code(topic.name) + "): " + join(code(key) for key in topic.keys)
                for topic in library.topics()),
        f"{prefix}reply list <topic> shows one topic with titles; {prefix}reply <key> gives a reply.",
    )


def one_topic(topic: Topic, replies: Sequence[Reply]) -> Fragment:
    return lines(
        bold(topic.title) + " (" + code(topic.name) + "):",
        bullets(code(reply.key) + f" — {reply.title}" for reply in replies),
    )


def unknown_topic(topic: str, library: ReplyLibrary, prefix: str) -> str:
    closest = library.closest_topics(topic)
    hint = f" Did you mean {_one_of(closest)}?" if closest else ""
    return f"There is no topic “{shortened(topic, TYPED_LENGTH)}”.{hint} {prefix}reply list shows them all."


# ---- !reply reload, !reply stats ------------------------------------------------------------------


def reloaded(outcome: ReloadOutcome) -> str:
    return f"Reloaded the reply library: {outcome.replies} replies in {outcome.topics} topics."


def reload_refused(outcome: ReloadOutcome) -> Fragment:
    count = len(outcome.problems)
    shown = [shortened(problem, PROBLEM_LENGTH) for problem in outcome.problems[:PROBLEMS_SHOWN]]
    more = f"…and {count - PROBLEMS_SHOWN} more (the bot's log lists them all)." if count > PROBLEMS_SHOWN else None
    return lines(
        f"The edited library has {count} problem{'s' if count != 1 else ''}, so the last good one "
        f"({outcome.replies} replies) stays in use:",
        bullets(shown),
        more,
    )


def usage(counts: Sequence[ReplyCount], library: ReplyLibrary, period: timedelta) -> Fragment | str:
    if not counts:
        return f"No common reply was used in the last {period.days} days."
    return lines(
        f"Most used common replies, last {period.days} days:",
        numbered(_usage_line(count, library) for count in counts),
    )


def _usage_line(count: ReplyCount, library: ReplyLibrary) -> Fragment:
    reply: Reply | None = library.get(count.key)
    title = f" — {reply.title}" if reply is not None else " (no longer in the library)"
    return code(count.key) + title + f": {count.uses} time{'s' if count.uses != 1 else ''}"


def _one_of(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
