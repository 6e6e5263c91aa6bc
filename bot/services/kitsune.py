"""A small client for Kitsune's public read API (support.mozilla.org): questions, answers, articles.

The shapes it reads, from Kitsune's own serializers (kitsune/questions/api.py, kitsune/search/views.py):

- ``GET /api/2/question/`` pages of 20: ``count``, ``next``, ``previous``, ``results``; each question
  has ``id``, ``title``, ``locale``, ``product`` and ``topic`` (slugs), ``created`` (UTC, ISO 8601),
  ``creator`` (``{username, display_name, avatar}`` or null for a system account), ``is_solved``,
  ``is_locked``, ``is_archived``, ``is_spam``, ``num_answers`` and ``answers`` (answer IDs).
- ``GET /api/2/answer/?question=ID`` pages of answers: ``id``, ``question``, ``created``, ``creator``,
  ``is_spam``.
- ``GET /{locale}/search/?q=…&format=json&w=1`` the site's own relevance search (w=1: articles only):
  ``results[{type, url, title, search_summary}]`` where ``url`` is a path on the site.

Kitsune's server time zone is US/Pacific and it reads a date filter without an offset as Pacific
time, so every date sent here carries an explicit UTC offset. Reads need no authentication.

Failures: 5xx, 429, timeouts and dropped connections are retried a bounded number of times, then
raised as ``KitsuneUnavailable``; a body that is not the JSON we expect raises ``KitsuneMalformed``
at once (asking again rarely turns garbage into data, and the next poll asks anyway).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import aiohttp

log = logging.getLogger(__name__)

# A listing that keeps offering a next page past this many is broken, not long.
MAX_PAGES = 100


# The locales support.mozilla.org serves (Kitsune's settings.SUMO_LANGUAGES, without its test locale).
SUMO_LOCALES = (
    "af", "ar", "az", "bg", "bm", "bn", "bs", "ca", "cs", "da", "de", "dsb", "ee", "el", "en-US", "es", "et",
    "eu", "fa", "fi", "fr", "fy-NL", "ga-IE", "gl", "gn", "gu-IN", "ha", "he", "hi-IN", "hr", "hsb", "hu", "id",
    "ig", "it", "ja", "ka", "km", "kn", "ko", "ln", "lt", "mg", "mk", "ml", "ms", "ne-NP", "nl", "no", "pl",
    "pt-BR", "pt-PT", "ro", "ru", "si", "sk", "sl", "sq", "sr", "sv", "sw", "ta", "ta-LK", "te", "th", "tn",
    "tr", "uk", "ur", "vi", "wo", "xh", "yo", "zh-CN", "zh-TW", "zu",
)
_LOCALES_BY_LOWER = MappingProxyType({locale.lower(): locale for locale in SUMO_LOCALES} | {"en": "en-US"})


def sumo_locale(word: str) -> str | None:
    """The SUMO locale a word names (``es``, ``en-us``, ``pt-BR``, ``en``), or None."""
    return _LOCALES_BY_LOWER.get(word.lower())


class KitsuneError(Exception):
    """Kitsune could not give us what we asked for."""


class KitsuneUnavailable(KitsuneError):
    """Kitsune did not answer usefully (5xx, 429, timeout, connection) even after retrying."""


class KitsuneMalformed(KitsuneError):
    """Kitsune answered, but not with the JSON shape we expect."""


@dataclass(frozen=True)
class Person:
    username: str
    display_name: str | None


@dataclass(frozen=True)
class Question:
    id: int
    title: str
    locale: str
    product: str | None
    topic: str | None
    created: datetime
    creator: Person | None
    is_solved: bool
    is_locked: bool
    is_archived: bool
    is_spam: bool
    num_answers: int
    answer_ids: tuple[int, ...]

    @property
    def asker(self) -> str | None:
        return self.creator.username if self.creator else None

    @property
    def off_the_clock(self) -> str | None:
        """Why this question no longer waits for an answer, or None while it does."""
        for reason, flag in (("spam", self.is_spam), ("solved", self.is_solved), ("locked", self.is_locked),
                             ("archived", self.is_archived)):
            if flag:
                return reason
        return None


@dataclass(frozen=True)
class Answer:
    id: int
    question_id: int
    created: datetime
    creator: Person | None
    is_spam: bool


@dataclass(frozen=True)
class Article:
    title: str
    url: str  # absolute
    summary: str


class KitsuneClient:
    def __init__(self, session: aiohttp.ClientSession, api_url: str, *, timeout: float = 20, retries: int = 2,
                 backoff: float = 1.0) -> None:
        self._session = session
        self.site_url = api_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._retries = max(0, retries)
        self._backoff = backoff

    def __repr__(self) -> str:
        return f"KitsuneClient({self.site_url!r})"

    def question_url(self, locale: str, question_id: int) -> str:
        return f"{self.site_url}/{locale}/questions/{question_id}"

    # ---- questions and answers -----------------------------------------------------------------

    async def questions(self, *, product: str, locale: str, created_after: datetime) -> list[Question]:
        """Every question of the product and locale created after the moment that is not spam,
        locked or archived, newest first (all pages)."""
        params = {
            "product": product,
            "locale": locale,
            "is_spam": "false",
            "is_locked": "false",
            "is_archived": "false",
            "created__gt": kitsune_time(created_after),
            "ordering": "-created",
        }
        return [_question(item) async for item in self._all_pages("/api/2/question/", params)]

    async def question(self, question_id: int) -> Question | None:
        """One question whatever its state, or None when Kitsune has no such question (deleted)."""
        status, body = await self._get(f"/api/2/question/{question_id}/", {}, missing_ok=True)
        return None if status == 404 else _question(body)

    async def answers(self, question_id: int) -> list[Answer]:
        """The question's answers, oldest first, spam included (the caller decides)."""
        params = {"question": str(question_id), "ordering": "created"}
        return [_answer(item) async for item in self._all_pages("/api/2/answer/", params)]

    # ---- knowledge base -------------------------------------------------------------------------

    async def search_articles(self, words: str, *, locale: str, product: str, limit: int = 5) -> list[Article]:
        """The best knowledge-base articles for the words, by the site's own relevance ranking."""
        params = {"q": words, "format": "json", "w": "1", "product": product, "language": locale}
        _, body = await self._get(f"/{locale}/search/", params)
        results = _field(body, "results", list)
        articles = [_article(item, self.site_url) for item in results if _is_document(item)]
        return articles[:limit]

    # ---- HTTP -----------------------------------------------------------------------------------

    async def _all_pages(self, path: str, params: dict[str, str]) -> AsyncIterator[dict[str, Any]]:
        seen_pages = 0
        while True:
            _, body = await self._get(path, params)
            for item in _field(body, "results", list):
                yield item
            following = body.get("next")
            if not following:
                return
            seen_pages += 1
            if seen_pages >= MAX_PAGES:
                raise KitsuneMalformed(f"{path}: more than {MAX_PAGES} pages; stopping")
            # Only the query of ``next`` is used: behind a proxy its scheme or host can be wrong.
            params = dict(parse_qsl(urlsplit(str(following)).query))

    async def _get(self, path: str, params: dict[str, str], *, missing_ok: bool = False) -> tuple[int, Any]:
        url = self.site_url + path
        for attempt in range(self._retries + 1):
            try:
                return await self._attempt(url, params, missing_ok)
            except KitsuneUnavailable as trouble:
                if attempt == self._retries:
                    raise
                delay = self._backoff * 2**attempt
                log.debug("Kitsune %s: %s; retrying in %.1f s", path, trouble, delay)
                await asyncio.sleep(delay)
        raise AssertionError("unreachable: the loop returns or raises")

    async def _attempt(self, url: str, params: dict[str, str], missing_ok: bool) -> tuple[int, Any]:
        try:
            async with self._session.get(url, params=params, timeout=self._timeout,
                                         headers={"Accept": "application/json"}) as response:
                raw = await response.read()
                status = response.status
        except TimeoutError:
            raise KitsuneUnavailable("no answer within the timeout") from None
        except aiohttp.ClientError as error:
            raise KitsuneUnavailable(f"connection failed ({type(error).__name__})") from None
        if status == 404 and missing_ok:
            return status, None
        if status == 429 or status >= 500:
            raise KitsuneUnavailable(f"HTTP {status}")
        if status != 200:
            raise KitsuneMalformed(f"HTTP {status} for {urlsplit(url).path}")
        try:
            body = json.loads(raw)
        except ValueError:
            raise KitsuneMalformed(f"{urlsplit(url).path} did not answer JSON") from None
        if not isinstance(body, dict):
            raise KitsuneMalformed(f"{urlsplit(url).path} answered JSON that is not an object")
        return status, body


def kitsune_time(moment: datetime) -> str:
    """An ISO 8601 time in UTC with its offset written out (Kitsune reads naive times as Pacific)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: Kitsune would read it as US/Pacific")
    return moment.astimezone(UTC).isoformat(timespec="seconds")


# ---- parsing --------------------------------------------------------------------------------------


def _field(body: Any, name: str, kind: type | tuple[type, ...]) -> Any:
    if not isinstance(body, dict) or name not in body:
        raise KitsuneMalformed(f"expected a field {name!r}")
    value = body[name]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
        raise KitsuneMalformed(f"field {name!r} has an unexpected type ({type(value).__name__})")
    return value


def _optional(body: dict[str, Any], name: str, kind: type) -> Any:
    value = body.get(name)
    return value if isinstance(value, kind) else None


def _time(body: dict[str, Any], name: str) -> datetime:
    text = _field(body, name, str)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise KitsuneMalformed(f"field {name!r} is not an ISO 8601 time: {text[:40]!r}") from None
    # Kitsune renders these fields with DateTimeUTCField: without an offset they are UTC.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _person(value: Any) -> Person | None:
    if not isinstance(value, dict) or not isinstance(value.get("username"), str):
        return None  # a system account or a deleted user
    display = value.get("display_name")
    return Person(value["username"], display if isinstance(display, str) and display else None)


def _question(item: Any) -> Question:
    if not isinstance(item, dict):
        raise KitsuneMalformed("a question is not an object")
    answers = item.get("answers") or []
    if not isinstance(answers, list) or not all(isinstance(a, int) for a in answers):
        raise KitsuneMalformed("field 'answers' is not a list of IDs")
    return Question(
        id=_field(item, "id", int),
        title=_field(item, "title", str),
        locale=_field(item, "locale", str),
        product=_optional(item, "product", str),
        topic=_optional(item, "topic", str),
        created=_time(item, "created"),
        creator=_person(item.get("creator")),
        is_solved=bool(item.get("is_solved")) or item.get("solution") is not None,
        is_locked=bool(item.get("is_locked")),
        is_archived=bool(item.get("is_archived")),
        is_spam=bool(item.get("is_spam")),
        num_answers=_optional(item, "num_answers", int) or 0,
        answer_ids=tuple(answers),
    )


def _answer(item: Any) -> Answer:
    if not isinstance(item, dict):
        raise KitsuneMalformed("an answer is not an object")
    return Answer(
        id=_field(item, "id", int),
        question_id=_field(item, "question", int),
        created=_time(item, "created"),
        creator=_person(item.get("creator")),
        is_spam=bool(item.get("is_spam")),
    )


def _is_document(item: Any) -> bool:
    return isinstance(item, dict) and item.get("type", "document") == "document"


def _article(item: dict[str, Any], site_url: str) -> Article:
    url = _field(item, "url", str)
    if url.startswith("/"):
        url = site_url + url
    summary = item.get("search_summary")
    return Article(_field(item, "title", str), url, summary if isinstance(summary, str) else "")
