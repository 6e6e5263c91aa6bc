"""The common-replies library: every reply and topic, found by key, topic, search words or a pasted draft.

``ReplyLibrary`` is what the rest of the bot holds (through ``catalog.ReplyCatalog``); its methods are the
whole public API. What it is built from lives beside it (the package docstring maps them): ``loading``
reads and checks the YAML files, ``search`` and ``copies`` are the indexes it builds at load, ``render``
turns a reply into a post for X. ``audit`` checks what loading cannot see, for the content tests.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from bot.features.replies.copies import CopyIndex
from bot.features.replies.loading import read_library
from bot.features.replies.model import Reply, Topic
from bot.features.replies.render import article_slug
from bot.features.replies.search import SearchIndex, closest_names, words_of
from bot.features.replies.ui_strings import BASE_VARIETIES

# Two replies opening with the same words read as a form letter to someone who gets both.
OPENING_WORDS = 4


@dataclass(frozen=True)
class SearchHit:
    reply: Reply
    score: float  # 0-100


class ReplyLibrary:
    def __init__(self, topics: Iterable[Topic], replies: Iterable[Reply]):
        self._topics = sorted(topics, key=lambda topic: topic.name)
        self._replies = {reply.key: reply for reply in replies}
        self._sorted_keys = sorted(self._replies)
        self._search_index = SearchIndex(list(self._replies.values()))
        self._copy_index = CopyIndex(self._replies.values())

    @classmethod
    def load(cls, path: Path) -> ReplyLibrary:
        """Load every ``*.yaml`` file in the folder ``path``; raise ``ReplyLibraryError`` listing
        every problem found (see ``bot.features.replies.loading``)."""
        topics, replies = read_library(path)
        return cls(topics, replies)

    def get(self, key: str) -> Reply | None:
        return self._replies.get(key.strip().lower())

    def closest_keys(self, key: str, limit: int = 3) -> list[str]:
        """Keys that look like ``key``, best first, for "unknown key, did you mean ..." (see ``closest_names``)."""
        return closest_names(key, self._sorted_keys, limit)

    def search(self, words: str, limit: int = 5) -> list[SearchHit]:
        """Replies matching ``words``, best first; typo tolerant over keys, titles, tags
        and the texts in every locale."""
        return [
            SearchHit(self._replies[key], score)
            for key, score in self._search_index.search(words, limit)
        ]

    def topics(self) -> list[Topic]:
        return list(self._topics)

    def topic(self, name: str) -> Topic | None:
        wanted = name.strip().lower()
        return next((topic for topic in self._topics if topic.name == wanted), None)

    def closest_topics(self, name: str, limit: int = 3) -> list[str]:
        """Topic names that look like ``name``, best first (the same measure as ``closest_keys``)."""
        return closest_names(name, [topic.name for topic in self._topics], limit)

    def keys(self) -> list[str]:
        return list(self._sorted_keys)

    def near_copy(self, draft: str, threshold: int = 90, *, links_removed: bool = False) -> Reply | None:
        """The reply whose text (in any locale) ``draft`` copies verbatim or nearly, once
        @handles, #fxhelp, links, case and spacing are set aside; None if none does.
        ``links_removed``: the caller took the links out already (!check measures a draft once)."""
        return self._copy_index.find(draft, threshold, links_removed)

    def __len__(self) -> int:
        return len(self._replies)


def audit(library: ReplyLibrary, documented_articles: Iterable[str]) -> list[str]:
    """What the loader cannot see: articles missing from the slug evidence file, and replies of one
    language that open with the same words."""
    documented = set(documented_articles)
    problems = [
        f"reply {reply.key!r}: article {reply.article!r} has no entry in the slug evidence file"
        for reply in library._replies.values()
        if article_slug(reply.article) not in documented
    ]
    for variety in BASE_VARIETIES:
        first_with: dict[tuple[str, ...], str] = {}
        for key in library.keys():
            opening = tuple(words_of(library.get(key).texts[variety]))[:OPENING_WORDS]
            if opening in first_with:
                problems.append(f"{variety}: {first_with[opening]!r} and {key!r} both open with "
                                f"{' '.join(opening)!r}")
            else:
                first_with[opening] = key
    return problems
