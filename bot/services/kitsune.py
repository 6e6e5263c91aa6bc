"""A small client for Kitsune's public read API (support.mozilla.org): questions, answers, articles.

The shapes it reads, from Kitsune's own serializers (kitsune/questions/api.py, kitsune/search/views.py):

- ``GET /api/2/question/`` pages of 20 (``REST_FRAMEWORK.PAGE_SIZE`` in kitsune/settings.py):
  ``count``, ``next``, ``previous``, ``results``; each question has ``id``, ``title``, ``locale``,
  ``product`` and ``topic`` (slugs), ``created`` (UTC, ISO 8601), ``creator``, ``is_solved``,
  ``is_locked``, ``is_archived``, ``is_spam``, ``num_answers`` and ``answers`` (answer IDs).
- ``GET /api/2/answer/?question=ID`` pages of answers: ``id``, ``question``, ``created``, ``creator``,
  ``is_spam``.
- ``creator`` is ``{username, display_name, avatar}``, or **null** when the account has no profile
  (common for old accounts) or is a system account (``get_profile`` in kitsune/questions/api.py;
  ``test_creator_without_profile_serializes_as_none`` and
  ``test_system_account_creator_serializes_as_none`` in kitsune/questions/tests/test_api.py). The
  two cannot be told apart from the API; a null creator is an ordinary person here.
- ``GET /{locale}/search/?q=…&format=json&w=1`` the site's own relevance search (w=1: articles only):
  ``results[{type, url, title, search_summary}]`` where ``url`` is a path on the site.

Kitsune's server time zone is US/Pacific and it reads a date filter without an offset as Pacific
time, so every date sent here carries an explicit UTC offset. Reads need no authentication.

Failures: 5xx, timeouts and dropped connections are retried a bounded number of times, then raised
as ``KitsuneUnavailable`` (``KitsuneUnreachable`` when no connection could be made at all). A 429
on these reads is not a rate limit: it is ``FilterByUserAgentMiddleware`` (kitsune/sumo/middleware.py)
refusing a blocked User-Agent, permanently; it raises ``KitsuneBlocked`` and every later call
raises it again without asking. Every request sends an honest User-Agent naming the bot and, when
configured, a contact (``sumo.contact``). A body that is not the JSON we expect raises
``KitsuneMalformed`` at once (asking again rarely turns garbage into data, and the next poll asks
anyway). Callers that must stay polite pass a ``RequestBudget``: when it is spent, the call stops
with ``RequestBudgetSpent`` before asking.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import aiohttp

from bot.services.retrying import with_retries

log = logging.getLogger(__name__)

BOT_DESCRIPTION = "Matrix bot for Mozilla Social Support"


SUMO_HOST = "support.mozilla.org"  # the support site Kitsune serves; its articles are https://<host>/kb/…

# The locales support.mozilla.org serves (Kitsune's settings.SUMO_LANGUAGES, without its test locale).
SUMO_LOCALES = (
    "af", "ar", "az", "bg", "bm", "bn", "bs", "ca", "cs", "da", "de", "dsb", "ee", "el", "en-US", "es", "et",
    "eu", "fa", "fi", "fr", "fy-NL", "ga-IE", "gl", "gn", "gu-IN", "ha", "he", "hi-IN", "hr", "hsb", "hu", "id",
    "ig", "it", "ja", "ka", "km", "kn", "ko", "ln", "lt", "mg", "mk", "ml", "ms", "ne-NP", "nl", "no", "pl",
    "pt-BR", "pt-PT", "ro", "ru", "si", "sk", "sl", "sq", "sr", "sv", "sw", "ta", "ta-LK", "te", "th", "tn",
    "tr", "uk", "ur", "vi", "wo", "xh", "yo", "zh-CN", "zh-TW", "zu",
)
# Kitsune's NON_SUPPORTED_LOCALES: locales support.mozilla.org does not serve but still reads in a path,
# redirecting /ach/kb/… or /br/kb/… to the locale it falls back to (so they are not locales to ask for).
SUMO_REDIRECTED_LOCALES = (
    "ach", "ak", "an", "as", "ast", "be", "br", "cak", "csb", "cy", "eo", "ff", "fur", "gd", "ilo", "is",
    "kab", "kk", "lg", "lij", "lo", "ltg", "lv", "mai", "mn", "mr", "my", "nso", "oc", "or", "rm", "rw",
    "sah", "son", "tl", "uz",
)
_LOCALES_BY_LOWER = MappingProxyType({locale.lower(): locale for locale in SUMO_LOCALES} | {"en": "en-US"})


def sumo_locale(word: str) -> str | None:
    """The SUMO locale a word names (``es``, ``en-us``, ``pt-BR``, ``en``), or None."""
    return _LOCALES_BY_LOWER.get(word.lower())


class KitsuneError(Exception):
    """Kitsune could not give us what we asked for."""


class KitsuneUnavailable(KitsuneError):
    """Kitsune did not answer usefully (5xx, timeout, dropped connection) even after retrying."""


class KitsuneUnreachable(KitsuneUnavailable):
    """No connection could be made at all (no network, no DNS, nothing listening)."""


class KitsuneBlocked(KitsuneError):
    """Kitsune refuses this User-Agent (HTTP 429 from its User-Agent filter): retrying cannot help."""


class KitsuneMalformed(KitsuneError):
    """Kitsune answered, but not with the JSON shape we expect."""


class RequestBudgetSpent(Exception):
    """The caller's budget of requests is used up; nothing failed."""


class RequestBudget:
    """How many more requests a caller may make (every attempt counts, retries too)."""

    def __init__(self, requests: int) -> None:
        self.left = requests

    def spend(self) -> None:
        if self.left <= 0:
            raise RequestBudgetSpent()
        self.left -= 1


def user_agent(version: str, contact: str | None) -> str:
    """``fxhelp-bot/1.2 (Matrix bot for Mozilla Social Support; +https://…)``: who asks, and how to
    reach whoever runs it."""
    reach = f"+{contact}" if contact else "no contact configured"
    return f"fxhelp-bot/{version} ({BOT_DESCRIPTION}; {reach})"


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
class QuestionsPage:
    questions: list[Question]
    has_more: bool


@dataclass(frozen=True)
class Article:
    title: str
    url: str  # absolute
    summary: str


class KitsuneClient:
    def __init__(self, session: aiohttp.ClientSession, api_url: str, *, user_agent: str | None = None,
                 timeout: float = 20, retries: int = 2, backoff: float = 1.0) -> None:
        self._session = session
        self.site_url = api_url.rstrip("/")
        self._headers = {"Accept": "application/json"}
        if user_agent is not None:
            self._headers["User-Agent"] = user_agent
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._retries = max(0, retries)
        self._backoff = backoff
        self.blocked = False  # Kitsune refused our User-Agent: nothing more is asked

    def __repr__(self) -> str:
        return f"KitsuneClient({self.site_url!r})"

    def question_url(self, locale: str, question_id: int) -> str:
        return f"{self.site_url}/{locale}/questions/{question_id}"

    # ---- questions and answers -----------------------------------------------------------------

    async def questions_page(self, *, product: str, locale: str, created_after: datetime,
                             budget: RequestBudget | None = None) -> QuestionsPage:
        """The oldest page of questions of the product and locale created after the moment that are
        not spam, locked or archived, oldest first. Callers page on by asking again after the last
        question's ``created``: a cursor that new questions cannot shift, unlike page numbers."""
        params = {
            "product": product,
            "locale": locale,
            "is_spam": "false",
            "is_locked": "false",
            "is_archived": "false",
            "created__gt": kitsune_time(created_after),
            "ordering": "created",
        }
        _, body = await self._get("/api/2/question/", params, budget=budget)
        questions = [_question(item) for item in _field(body, "results", list)]
        return QuestionsPage(questions, has_more=bool(body.get("next")) and bool(questions))

    async def question(self, question_id: int, budget: RequestBudget | None = None) -> Question | None:
        """One question whatever its state, or None when Kitsune has no such question (deleted)."""
        status, body = await self._get(f"/api/2/question/{question_id}/", {}, missing_ok=True, budget=budget)
        return None if status == 404 else _question(body)

    async def answers(self, question_id: int, budget: RequestBudget | None = None) -> AsyncIterator[Answer]:
        """The question's answers, oldest first, spam included (the caller decides); pages are read
        only as far as the caller iterates."""
        params = {"question": str(question_id), "ordering": "created"}
        while True:
            _, body = await self._get("/api/2/answer/", params, budget=budget)
            for item in _field(body, "results", list):
                yield _answer(item)
            following = body.get("next")
            if not following:
                return
            # Only the query of ``next`` is used: behind a proxy its scheme or host can be wrong.
            params = dict(parse_qsl(urlsplit(str(following)).query))

    # ---- knowledge base -------------------------------------------------------------------------

    async def search_articles(self, words: str, *, locale: str, product: str, limit: int = 5) -> list[Article]:
        """The best knowledge-base articles for the words, by the site's own relevance ranking."""
        params = {"q": words, "format": "json", "w": "1", "product": product, "language": locale}
        _, body = await self._get(f"/{locale}/search/", params)
        results = _field(body, "results", list)
        articles = [_article(item, self.site_url) for item in results if _is_document(item)]
        return articles[:limit]

    # ---- HTTP -----------------------------------------------------------------------------------

    async def _get(self, path: str, params: dict[str, str], *, missing_ok: bool = False,
                   budget: RequestBudget | None = None) -> tuple[int, Any]:
        url = self.site_url + path

        async def attempt() -> tuple[int, Any]:
            if self.blocked:
                raise KitsuneBlocked("support.mozilla.org refuses this bot's User-Agent (HTTP 429)")
            if budget is not None:
                budget.spend()
            return await self._attempt(url, params, missing_ok)

        def on_retry(trouble: Exception, delay: float) -> None:
            log.debug("Kitsune %s: %s; retrying in %.1f s", path, trouble, delay)

        return await with_retries(attempt, retry_on=KitsuneUnavailable, retries=self._retries,
                                  backoff=self._backoff, on_retry=on_retry)

    async def _attempt(self, url: str, params: dict[str, str], missing_ok: bool) -> tuple[int, Any]:
        try:
            async with self._session.get(url, params=params, timeout=self._timeout,
                                         headers=self._headers) as response:
                raw = await response.read()
                status = response.status
        except TimeoutError:
            raise KitsuneUnavailable("no answer within the timeout") from None
        except aiohttp.ClientConnectorError as error:
            raise KitsuneUnreachable(f"cannot connect ({type(error).__name__})") from None
        except aiohttp.ClientError as error:
            raise KitsuneUnavailable(f"connection failed ({type(error).__name__})") from None
        if status == 404 and missing_ok:
            return status, None
        if status == 429:
            if not self.blocked:
                log.error("support.mozilla.org answered HTTP 429 to our User-Agent %r: Kitsune blocks User-Agents "
                          "this way, for good; nothing more is asked until the bot restarts (set sumo.contact)",
                          self._headers.get("User-Agent"))
            self.blocked = True
            raise KitsuneBlocked("support.mozilla.org refuses this bot's User-Agent (HTTP 429)")
        if status >= 500:
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
    """An ISO 8601 time in UTC with its offset written out (Kitsune reads naive times as Pacific);
    microseconds are kept, so that the ``created`` of a question read works as a cursor."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: Kitsune would read it as US/Pacific")
    moment = moment.astimezone(UTC)
    return moment.isoformat(timespec="microseconds" if moment.microsecond else "seconds")


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
        return None  # an account without a profile, or a system account
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
