"""A local stand-in for Kitsune's public read API, driven by a scenario the test controls.

    async with FakeKitsune() as sumo:
        qid = sumo.add_question("Firefox won't start", age=timedelta(hours=50))
        sumo.answer(qid, "asker", age=timedelta(hours=49))      # the asker's own follow-up
        sumo.answer(qid, "helper", age=timedelta(hours=1))
        sumo.fail_next(503, times=2)

It follows Kitsune's own code (github.com/mozilla/kitsune): pages of 20 (``REST_FRAMEWORK`` in
kitsune/settings.py: ``PageNumberPagination``, ``PAGE_SIZE`` 20, with ``count``, ``next``,
``previous``, ``results``); the question filters and orderings the bot uses (``QuestionFilter`` and
``QuestionViewSet.ordering_fields`` in kitsune/questions/api.py: ``product``, ``locale``,
``is_spam``, ``is_locked``, ``is_archived``, ``created__gt`` — a time without an offset is read as
US/Pacific, Kitsune's ``TIME_ZONE`` — and ``ordering=created``/``-created``/``id``); answers by
question; a question by ID (404 when deleted); the site's JSON search. ``creator`` is a profile
object, or null for an account without a profile (``get_profile`` in kitsune/questions/api.py and
``test_creator_without_profile_serializes_as_none`` in kitsune/questions/tests/test_api.py): give
``asker=None`` or ``author=None``. A 429 comes only from ``FilterByUserAgentMiddleware``
(kitsune/sumo/middleware.py): an empty 429 with ``Vary: User-Agent`` for every request whose
User-Agent contains a blocked fragment, for good (``block_user_agents``). ``created`` times are
given as an age relative to the fake's clock, so windows of seconds work end to end.

Faults are queued and each is used by one request, in order: ``fail_next`` (an HTTP error),
``slow_next`` (a late answer), ``garbage_next`` (a 200 that is not JSON). ``down()`` fails every
request until ``up()``. ``user_agents`` lists the User-Agent of every request.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from aiohttp import web

from tests.fakes.server import FakeServer

PAGE_SIZE = 20
KITSUNE_TIME_ZONE = ZoneInfo("America/Los_Angeles")


@dataclass
class FakeQuestion:
    id: int
    title: str
    locale: str
    product: str
    topic: str
    created: datetime
    asker: str | None
    is_spam: bool = False
    is_locked: bool = False
    is_archived: bool = False
    solution: int | None = None
    answer_ids: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class FakeAnswer:
    id: int
    question_id: int
    author: str | None
    created: datetime
    is_spam: bool = False


@dataclass(frozen=True)
class FakeArticle:
    title: str
    slug: str
    locale: str
    summary: str
    products: tuple[str, ...]


@dataclass(frozen=True)
class _Fault:
    delay: float = 0.0
    status: int | None = None
    garbage: bool = False


class FakeKitsune(FakeServer):
    def __init__(self, clock: Callable[[], datetime] | None = None) -> None:
        self._clock = clock or (lambda: datetime.now(UTC))
        self.questions: dict[int, FakeQuestion] = {}
        self.answers: dict[int, FakeAnswer] = {}
        self.articles: list[FakeArticle] = []
        self.requests: list[tuple[str, dict[str, str]]] = []  # (path, query) of every request
        self.user_agents: list[str] = []
        self._blocked_agents: tuple[str, ...] = ()
        self._ids = itertools.count(1_512_001)
        self._answer_ids = itertools.count(9_000_001)
        self._faults: deque[_Fault] = deque()
        self._down = False

    # -- lifecycle ---------------------------------------------------------------------------

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/api/2/question/", self._list_questions)
        app.router.add_get("/api/2/question/{id}/", self._one_question)
        app.router.add_get("/api/2/answer/", self._list_answers)
        app.router.add_get("/{locale}/search/", self._search)

    # -- the scenario ----------------------------------------------------------------------------

    def add_question(self, title: str, *, age: timedelta = timedelta(0), locale: str = "en-US",
                     asker: str | None = "asker", product: str = "firefox", topic: str = "fix-problems",
                     question_id: int | None = None) -> int:
        qid = question_id if question_id is not None else next(self._ids)
        self.questions[qid] = FakeQuestion(qid, title, locale, product, topic, self._clock() - age, asker)
        return qid

    def answer(self, question_id: int, author: str | None, *, age: timedelta = timedelta(0),
               is_spam: bool = False) -> int:
        aid = next(self._answer_ids)
        self.answers[aid] = FakeAnswer(aid, question_id, author, self._clock() - age, is_spam)
        self.questions[question_id].answer_ids.append(aid)
        return aid

    def solve(self, question_id: int, answer_id: int) -> None:
        self.questions[question_id].solution = answer_id

    def flag(self, question_id: int, *, spam: bool = False, locked: bool = False, archived: bool = False) -> None:
        question = self.questions[question_id]
        question.is_spam = question.is_spam or spam
        question.is_locked = question.is_locked or locked
        question.is_archived = question.is_archived or archived

    def delete(self, question_id: int) -> None:
        question = self.questions.pop(question_id)
        for aid in question.answer_ids:
            self.answers.pop(aid, None)

    def move(self, question_id: int, *, product: str) -> None:
        self.questions[question_id].product = product

    def add_article(self, title: str, slug: str, *, locale: str = "en-US", summary: str = "",
                    products: tuple[str, ...] = ("firefox",)) -> None:
        self.articles.append(FakeArticle(title, slug, locale, summary, products))

    # -- faults ---------------------------------------------------------------------------------

    def fail_next(self, status: int, times: int = 1) -> None:
        """An error answer; not 429, which Kitsune gives only to blocked User-Agents."""
        assert status != 429, "use block_user_agents: Kitsune's only 429 on reads is its User-Agent filter"
        self._faults.extend([_Fault(status=status)] * times)

    def slow_next(self, seconds: float, times: int = 1) -> None:
        self._faults.extend([_Fault(delay=seconds)] * times)

    def garbage_next(self, times: int = 1) -> None:
        self._faults.extend([_Fault(garbage=True)] * times)

    def block_user_agents(self, *fragments: str) -> None:
        """Kitsune's USER_AGENT_FILTERS: a User-Agent containing any fragment gets 429, always."""
        self._blocked_agents = tuple(fragment.lower() for fragment in fragments)

    def down(self) -> None:
        self._down = True

    def up(self) -> None:
        self._down = False

    def requests_to(self, path: str) -> list[dict[str, str]]:
        return [query for requested, query in self.requests if requested == path]

    # -- the endpoints ------------------------------------------------------------------------------

    async def _fault(self, request: web.Request) -> web.StreamResponse | None:
        self.requests.append((request.path, dict(request.query)))
        agent = request.headers.get("User-Agent", "")
        self.user_agents.append(agent)
        if any(fragment in agent.lower() for fragment in self._blocked_agents):
            return web.Response(status=429, headers={"Vary": "User-Agent"})
        if self._down:
            return web.Response(status=503, text="<html>Service Unavailable</html>", content_type="text/html")
        if not self._faults:
            return None
        fault = self._faults.popleft()
        await asyncio.sleep(fault.delay)
        if fault.garbage:
            return web.Response(status=200, text="<html>maintenance</html>", content_type="text/html")
        if fault.status is not None:
            return web.json_response({"detail": f"fake error {fault.status}"}, status=fault.status)
        return None

    async def _list_questions(self, request: web.Request) -> web.StreamResponse:
        if (faulty := await self._fault(request)) is not None:
            return faulty
        query = request.query
        try:
            created_after = _kitsune_datetime(query["created__gt"]) if "created__gt" in query else None
        except ValueError:
            return web.json_response({"created__gt": ["Enter a valid date/time."]}, status=400)
        matching = [q for q in self.questions.values() if _question_matches(q, query, created_after)]
        ordering = query.get("ordering", "-id")
        key = (lambda q: q.created) if ordering.lstrip("-") == "created" else (lambda q: q.id)
        matching.sort(key=key, reverse=ordering.startswith("-"))
        return self._page(request, [self._question_json(q) for q in matching])

    async def _one_question(self, request: web.Request) -> web.StreamResponse:
        if (faulty := await self._fault(request)) is not None:
            return faulty
        question = self.questions.get(int(request.match_info["id"]))
        if question is None:
            return web.json_response({"detail": "Not found."}, status=404)
        return web.json_response(self._question_json(question))

    async def _list_answers(self, request: web.Request) -> web.StreamResponse:
        if (faulty := await self._fault(request)) is not None:
            return faulty
        query = request.query
        matching = list(self.answers.values())
        if "question" in query:
            matching = [a for a in matching if str(a.question_id) == query["question"]]
        if "is_spam" in query:
            matching = [a for a in matching if a.is_spam == _boolean(query["is_spam"])]
        ordering = query.get("ordering", "-id")
        key = (lambda a: a.created) if ordering.lstrip("-") == "created" else (lambda a: a.id)
        matching.sort(key=key, reverse=ordering.startswith("-"))
        return self._page(request, [_answer_json(a) for a in matching])

    async def _search(self, request: web.Request) -> web.StreamResponse:
        if (faulty := await self._fault(request)) is not None:
            return faulty
        query = request.query
        if not query.get("q"):
            return web.json_response({"error": "Invalid search data."}, status=400)
        locale = request.match_info["locale"]
        words = query["q"].lower().split()
        product = query.get("product")
        scored = []
        for article in self.articles:
            if article.locale != locale or (product and product not in article.products):
                continue
            text = f"{article.title} {article.summary}".lower()
            score = sum(word in text for word in words)
            if score:
                scored.append((score, article))
        scored.sort(key=lambda pair: -pair[0])
        results = [{"type": "document", "url": f"/{a.locale}/kb/{a.slug}", "title": a.title, "score": float(s),
                    "search_summary": a.summary, "id": a.slug} for s, a in scored]
        return web.json_response({"num_results": len(results), "total": len(results), "results": results,
                                  "q": query["q"], "w": int(query.get("w", 3))})

    # -- shapes -----------------------------------------------------------------------------------

    def _page(self, request: web.Request, items: list[dict[str, Any]]) -> web.Response:
        page = int(request.query.get("page", "1"))
        start = (page - 1) * PAGE_SIZE
        chunk = items[start:start + PAGE_SIZE]
        if page > 1 and not chunk:
            return web.json_response({"detail": "Invalid page."}, status=404)

        def link(number: int) -> str | None:
            if number < 1 or (number - 1) * PAGE_SIZE >= len(items):
                return None
            params = {k: v for k, v in request.query.items() if k != "page"}
            if number > 1:
                params["page"] = str(number)
            return f"{request.scheme}://{request.host}{request.path}?{urlencode(params)}"

        return web.json_response({"count": len(items), "next": link(page + 1), "previous": link(page - 1),
                                  "results": chunk})

    def _question_json(self, question: FakeQuestion) -> dict[str, Any]:
        return {
            "id": question.id,
            "title": question.title,
            "content": f"<p>{question.title}</p>",
            "created": _drf_time(question.created),
            "updated": _drf_time(question.created),
            "creator": _profile(question.asker),
            "involved": [_profile(question.asker)],
            "is_archived": question.is_archived,
            "is_locked": question.is_locked,
            "is_solved": question.solution is not None,
            "is_spam": question.is_spam,
            "is_taken": False,
            "last_answer": question.answer_ids[-1] if question.answer_ids else None,
            "locale": question.locale,
            "metadata": [],
            "tags": [],
            "num_answers": len(question.answer_ids),
            "num_votes_past_week": 0,
            "num_votes": 0,
            "product": question.product,
            "solution": question.solution,
            "solved_by": None,
            "taken_until": None,
            "taken_by": None,
            "topic": question.topic,
            "updated_by": None,
            "answers": list(question.answer_ids),
        }


def _question_matches(question: FakeQuestion, query: Any, created_after: datetime | None) -> bool:
    checks = [
        ("product", lambda v: question.product == v),
        ("locale", lambda v: question.locale == v),
        ("is_spam", lambda v: question.is_spam == _boolean(v)),
        ("is_locked", lambda v: question.is_locked == _boolean(v)),
        ("is_archived", lambda v: question.is_archived == _boolean(v)),
        ("is_solved", lambda v: (question.solution is not None) == _boolean(v)),
    ]
    if any(name in query and not check(query[name]) for name, check in checks):
        return False
    return created_after is None or question.created > created_after


def _kitsune_datetime(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    # Kitsune's TIME_ZONE is US/Pacific: a time without an offset is read as Pacific time.
    return moment.replace(tzinfo=KITSUNE_TIME_ZONE) if moment.tzinfo is None else moment


def _boolean(value: str) -> bool:
    return value.lower() in ("true", "1", "yes")


def _drf_time(moment: datetime | str) -> str:
    """As Django REST framework renders a UTC DateTimeField: microseconds and a ``Z``."""
    if isinstance(moment, str):
        return moment  # a test planting a malformed time
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _profile(username: str | None) -> dict[str, Any] | None:
    if username is None:
        return None
    return {"username": username, "display_name": username.title(), "avatar": f"https://example.org/{username}.png"}


def _answer_json(answer: FakeAnswer) -> dict[str, Any]:
    return {
        "id": answer.id,
        "question": answer.question_id,
        "content": "<p>an answer</p>",
        "created": _drf_time(answer.created),
        "creator": _profile(answer.author),
        "updated": _drf_time(answer.created),
        "updated_by": None,
        "is_spam": answer.is_spam,
        "num_helpful_votes": 0,
        "num_unhelpful_votes": 0,
    }
