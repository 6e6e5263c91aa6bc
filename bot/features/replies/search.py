"""Finding replies by what a volunteer types: the typo-tolerant search and the "did you mean" names.

``SearchIndex`` is built once per library (at load and at every reload) and answers ``!reply search``;
``closest_names`` suggests keys and topics for a name nobody has. Every tuning constant of both is here:
the weight of each field, the similarity cutoffs, how far a word or a prefix expands.
"""

from __future__ import annotations

import heapq
import math
import re
from bisect import bisect_left

from rapidfuzz import fuzz, process, utils

from bot.features.replies.model import Reply
from bot.features.replies.ui_strings import BASE_VARIETIES
from bot.text import folded

# A reply's key and title say what it is about; tags less so; its text mentions many words in passing.
KEY_AND_TITLE_WEIGHT = 1.0
TAG_WEIGHT = 0.9
TEXT_WEIGHT = 0.7
WORD_SIMILARITY_CUTOFF = 75  # fuzz.ratio: one typo in a 4-letter word is 75
PREFIX_SIMILARITY = 90  # "passw" finds "passwords"
MIN_PREFIX_LENGTH = 4
MAX_EXPANSIONS_PER_WORD = 12
MAX_QUERY_WORDS = 8
MIN_SEARCH_SCORE = 30.0
CLOSEST_KEY_CUTOFF = 70  # fuzz.WRatio; below it suggestions are mostly noise
_WORD = re.compile(r"\w\w+")


def words_of(text: str) -> list[str]:
    """The words of ``text`` as search (and the library's audit of openings) compares them: folded, two letters or more."""
    return _WORD.findall(folded(text))


def _inverse_document_frequency(replies_with_word: int, reply_count: int) -> float:
    """BM25's idf, floored at 0: a word found in half the replies or more ("firefox",
    "the", "und") tells them apart no better than chance, so it adds nothing."""
    return max(0.0, math.log((reply_count - replies_with_word + 0.5) / (replies_with_word + 0.5)))


class SearchIndex:
    """A fuzzy inverted index over the words of the library.

    Scoring every reply's text with a fuzzy string scorer costs far too much at
    thousands of replies (rapidfuzz's scorers are fast, but a 250-character text in four
    locales, times thousands, is still milliseconds). Instead each query word is matched
    with ``fuzz.ratio`` against the library's vocabulary (a few thousand distinct words,
    precomputed at load; ratio is a normalized edit-distance similarity, exactly the
    measure for a typo in one word), and the matched words point to the replies using
    them. A reply's score is the idf-weighted average, over query words, of the best
    similarity times the weight of the field the word was found in.
    """

    def __init__(self, replies: list[Reply]):
        self._keys = [reply.key for reply in replies]
        self._postings: dict[str, dict[int, float]] = {}
        for position, reply in enumerate(replies):
            for weight, text in _searchable_fields(reply):
                for word in set(words_of(text)):
                    best = self._postings.setdefault(word, {})
                    if best.get(position, 0.0) < weight:
                        best[position] = weight
        self._vocabulary = sorted(self._postings)
        self._idf = {
            word: _inverse_document_frequency(len(replies_with_word), len(replies))
            for word, replies_with_word in self._postings.items()
        }

    def search(self, words: str, limit: int) -> list[tuple[str, float]]:
        similar_per_word = [self._similar_words(word) for word in _query_words(words)]
        scores = self._scores(similar_per_word)
        # Among equal scores the shorter key first: "clear cache" is clear-cache before clear-cache-cookies.
        best = heapq.nlargest(
            limit, scores.items(), key=lambda item: (item[1], -len(self._keys[item[0]]), -item[0])
        )
        return [
            (self._keys[position], round(score, 1)) for position, score in best if score >= MIN_SEARCH_SCORE
        ]

    def _scores(self, similar_per_word: list[dict[str, float]]) -> dict[int, float]:
        """0-100 for each reply using a word like one asked for. A query word that matches
        nothing is left out rather than held against every reply."""
        weights = [self._closest_idf(similar) for similar in similar_per_word]
        if not any(weights):  # only everyday words asked for: count them all the same
            weights = [1.0 if similar else 0.0 for similar in similar_per_word]
        total_weight = sum(weights) or 1.0
        scores: dict[int, float] = {}
        for similar, weight in zip(similar_per_word, weights, strict=True):
            if not weight:
                continue
            for position, closeness in self._best_closeness(similar).items():
                scores[position] = scores.get(position, 0.0) + 100 * weight * closeness / total_weight
        return scores

    def _similar_words(self, word: str) -> dict[str, float]:
        """Vocabulary words like ``word``, with their similarity (0-100)."""
        similar = {
            choice: score
            for choice, score, _index in process.extract(
                word,
                self._vocabulary,
                scorer=fuzz.ratio,
                processor=None,
                score_cutoff=WORD_SIMILARITY_CUTOFF,
                limit=MAX_EXPANSIONS_PER_WORD,
            )
        }
        if len(word) >= MIN_PREFIX_LENGTH:
            for completion in self._completions(word):
                similar[completion] = max(similar.get(completion, 0.0), PREFIX_SIMILARITY)
        return self._without_everyday_words(similar)

    def _without_everyday_words(self, similar: dict[str, float]) -> dict[str, float]:
        """Drop look-alikes far more common than the closest word: they are other,
        everyday words ("dans" for "dns", "oder" for "over"), not spellings of it."""
        if not similar:
            return similar
        closest_idf = self._closest_idf(similar)
        return {
            word: score
            for word, score in similar.items()
            if self._idf[word] >= closest_idf / 2
        }

    def _completions(self, prefix: str) -> list[str]:
        start = bisect_left(self._vocabulary, prefix)
        found = []
        for word in self._vocabulary[start : start + MAX_EXPANSIONS_PER_WORD]:
            if not word.startswith(prefix):
                break
            found.append(word)
        return found

    def _closest_idf(self, similar: dict[str, float]) -> float:
        """The idf of the closest vocabulary word (the rarest one among equals)."""
        if not similar:
            return 0.0
        closest = max(similar.values())
        return max(self._idf[word] for word, score in similar.items() if score == closest)

    def _best_closeness(self, similar: dict[str, float]) -> dict[int, float]:
        """For each reply using any of the ``similar`` words: the best similarity (0-1)
        times the weight of the field it appears in."""
        best: dict[int, float] = {}
        for word, score in similar.items():
            for position, field_weight in self._postings[word].items():
                closeness = score / 100 * field_weight
                if closeness > best.get(position, 0.0):
                    best[position] = closeness
        return best


def _searchable_fields(reply: Reply) -> list[tuple[float, str]]:
    return [
        (KEY_AND_TITLE_WEIGHT, reply.key.replace("-", " ")),
        (KEY_AND_TITLE_WEIGHT, reply.title),
        (TAG_WEIGHT, " ".join(reply.tags)),
        (TAG_WEIGHT, reply.topic.replace("-", " ")),
        *((TEXT_WEIGHT, reply.texts[variety]) for variety in BASE_VARIETIES if variety in reply.texts),
    ]


def _query_words(words: str) -> list[str]:
    unique = dict.fromkeys(words_of(words))
    return list(unique)[:MAX_QUERY_WORDS]


def closest_names(name: str, names: list[str], limit: int) -> list[str]:
    """The ``names`` that look like ``name``, best first, for "unknown key, did you mean ...".

    WRatio because people type fragments ("sync" for "sync-setup") and swap words;
    it blends plain, partial and word-order-free similarity. The default processor
    lower-cases and turns dashes into spaces on both sides."""
    matches = process.extract(
        name,
        names,
        scorer=fuzz.WRatio,
        processor=utils.default_process,
        limit=limit,
        score_cutoff=CLOSEST_KEY_CUTOFF,
    )
    return [choice for choice, _score, _index in matches]
