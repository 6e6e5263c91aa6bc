"""The words of ``!kb``: the articles found, nothing found, and why a search could not be made."""

from __future__ import annotations

from collections.abc import Sequence

from bot.matrix.rendering import Fragment, as_fragment, bold, lines, link, numbered

BLOCKED = ("support.mozilla.org refuses this bot's requests (it blocks the bot's User-Agent); a moderator must "
           "set sumo.contact in the configuration and restart the bot.")
NOT_SET_UP = ("Knowledge-base search is not set up on this bot (the configuration has no sumo section); "
              "ask a moderator.")
LANG_DETAILS = "Italian, Norwegian and Indonesian are written IT, NO and ID (in lower case they are read as words)."


def unreachable(site: str) -> str:
    return f"{site} cannot be reached from the machine this bot runs on (no connection); !kb works again once it can."


def not_answering(site: str) -> str:
    return f"{site}'s search is not answering right now; try again in a few minutes."


def not_a_locale(word: str) -> str:
    return f"{word!r} is not a SUMO locale"


def articles(query: str, locale: str, found: Sequence[tuple[str, str]]) -> Fragment:
    """``found``: (title, link) of each article, best first."""
    if not found:
        return as_fragment(f"No {locale} articles found for “{query}”. Try other words, or another language.")
    return lines(bold(f"support.mozilla.org articles for “{query}” ({locale})"),
                 numbered([link(url, title) for title, url in found]))
