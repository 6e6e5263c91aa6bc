"""A local stand-in for the Discourse API the bot uses, driven by a scenario the test controls.

    async with FakeDiscourse(api_key="k", api_username="fxhelp-bot", category_id=7) as forum:
        forum.rate_limit_next(wait_seconds=1)        # 429 with Retry-After and extras.wait_seconds
        forum.lose_next_response()                   # creates the topic, then never answers
        forum.reply(topic_id, "helper", "Try a refresh")

Endpoints: ``POST /posts.json`` (a new topic with ``title``, ``raw``, ``category``, ``external_id``),
``GET /t/{id}.json`` (``post_stream`` holds the first 20 posts only), ``GET /t/external_id/{id}.json``
(a redirect to the topic, as Discourse does). Errors are Discourse-shaped:
``{"errors": [...], "error_type": ..., "extras": ...}``.
"""

from __future__ import annotations

import asyncio
import itertools
import re
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from tests.fakes.server import FakeServer

FIRST_CHUNK = 20


@dataclass(frozen=True)
class FakePost:
    id: int
    post_number: int
    username: str
    raw: str
    created_at: datetime
    post_type: int = 1


@dataclass
class FakeTopic:
    id: int
    title: str
    slug: str
    category_id: int
    external_id: str | None
    posts: list[FakePost] = field(default_factory=list)


@dataclass(frozen=True)
class _Fault:
    status: int | None = None
    wait_seconds: float = 0.0
    errors: tuple[str, ...] = ()
    lose_response: float = 0.0  # act, then answer only after this many seconds


def discourse_error(status: int, errors: list[str], error_type: str, extras: dict[str, Any] | None = None,
                    headers: dict[str, str] | None = None) -> web.Response:
    body: dict[str, Any] = {"errors": errors, "error_type": error_type}
    if extras is not None:
        body["extras"] = extras
    return web.json_response(body, status=status, headers=headers)


class FakeDiscourse(FakeServer):
    def __init__(self, api_key: str = "fake-discourse-key", api_username: str = "fxhelp-bot",
                 category_id: int = 7) -> None:
        self.api_key = api_key
        self.api_username = api_username
        self.category_id = category_id
        self.topics: dict[int, FakeTopic] = {}
        self.requests: list[tuple[str, str]] = []  # (method, path)
        self.create_attempts = 0
        self._topic_ids = itertools.count(101)
        self._post_ids = itertools.count(5001)
        self._faults: deque[_Fault] = deque()
        self._down = False

    # -- lifecycle ---------------------------------------------------------------------------

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/posts.json", self._create)
        app.router.add_get("/t/external_id/{external_id}.json", self._by_external_id)
        app.router.add_get(r"/t/{topic_id:\d+}.json", self._topic)
        app.router.add_get(r"/t/{slug}/{topic_id:\d+}.json", self._topic)

    # -- the scenario ----------------------------------------------------------------------------

    def reply(self, topic_id: int, username: str, raw: str = "A suggestion for you.", *, post_type: int = 1) -> int:
        topic = self.topics[topic_id]
        post = FakePost(next(self._post_ids), len(topic.posts) + 1, username, raw, datetime.now(UTC), post_type)
        topic.posts.append(post)
        return post.id

    def only_topic(self) -> FakeTopic:
        assert len(self.topics) == 1, f"{len(self.topics)} topics"
        return next(iter(self.topics.values()))

    # -- faults ---------------------------------------------------------------------------------

    def rate_limit_next(self, wait_seconds: float = 1, times: int = 1) -> None:
        self._faults.extend([_Fault(status=429, wait_seconds=wait_seconds)] * times)

    def fail_next(self, status: int, errors: tuple[str, ...] = (), times: int = 1) -> None:
        self._faults.extend([_Fault(status=status, errors=errors)] * times)

    def lose_next_response(self, delay: float = 30.0) -> None:
        """The next request takes effect, but its answer comes too late for the client."""
        self._faults.append(_Fault(lose_response=delay))

    def down(self) -> None:
        self._down = True

    def up(self) -> None:
        self._down = False

    # -- the endpoints ------------------------------------------------------------------------------

    def _refusal(self, request: web.Request) -> web.Response | None:
        self.requests.append((request.method, request.path))
        if self._down:
            return web.Response(status=502, text="<html>Bad Gateway</html>", content_type="text/html")
        if request.headers.get("Api-Key") != self.api_key or request.headers.get("Api-Username") != self.api_username:
            return discourse_error(403, ["You are not permitted to view the requested resource. The API username "
                                         "or key is invalid."], "invalid_access")
        return None

    def _next_fault(self) -> _Fault | None:
        return self._faults.popleft() if self._faults else None

    def _fault_response(self, fault: _Fault) -> web.Response | None:
        if fault.status == 429:
            wait = fault.wait_seconds
            return discourse_error(
                429, [f"You’ve performed this action too many times. Please wait {wait:.0f} seconds before trying "
                      "again."], "rate_limit", {"wait_seconds": wait, "time_left": f"{wait:.0f} seconds"},
                headers={"Retry-After": f"{wait:.0f}"})
        if fault.status is not None:
            return discourse_error(fault.status, list(fault.errors) or [f"fake error {fault.status}"],
                                   "invalid_parameters" if fault.status < 500 else "server_error")
        return None

    async def _create(self, request: web.Request) -> web.StreamResponse:
        if (refused := self._refusal(request)) is not None:
            return refused
        self.create_attempts += 1
        fault = self._next_fault()
        if fault is not None and (response := self._fault_response(fault)) is not None:
            return response
        payload = await request.json()
        problems = self._invalid(payload)
        if problems:
            return web.json_response({"action": "create_post", "errors": problems}, status=422)
        topic = self._new_topic(payload)
        if fault is not None and fault.lose_response:
            await asyncio.sleep(fault.lose_response)
        first = topic.posts[0]
        return web.json_response({"id": first.id, "post_number": 1, "username": self.api_username,
                                  "topic_id": topic.id, "topic_slug": topic.slug, "raw": first.raw,
                                  "created_at": _time(first.created_at)})

    def _invalid(self, payload: Any) -> list[str]:
        if not isinstance(payload, dict):
            return ["Invalid request body"]
        problems = []
        if len(str(payload.get("title", ""))) < 15:
            problems.append("Title is too short (minimum is 15 characters)")
        if len(str(payload.get("raw", ""))) < 20:
            problems.append("Body is too short (minimum is 20 characters)")
        if payload.get("category") != self.category_id:
            problems.append("Category can't be blank")
        external_id = payload.get("external_id")
        if external_id and any(t.external_id == external_id for t in self.topics.values()):
            problems.append("External ID has already been taken")
        return problems

    def _new_topic(self, payload: dict[str, Any]) -> FakeTopic:
        title = str(payload["title"])
        slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "topic"
        topic = FakeTopic(next(self._topic_ids), title, slug, int(payload["category"]), payload.get("external_id"))
        self.topics[topic.id] = topic
        topic.posts.append(FakePost(next(self._post_ids), 1, self.api_username, str(payload["raw"]),
                                    datetime.now(UTC)))
        return topic

    async def _topic(self, request: web.Request) -> web.StreamResponse:
        if (refused := self._refusal(request)) is not None:
            return refused
        fault = self._next_fault()
        if fault is not None and (response := self._fault_response(fault)) is not None:
            return response
        topic = self.topics.get(int(request.match_info["topic_id"]))
        if topic is None:
            return discourse_error(404, ["The requested URL or resource could not be found."], "not_found")
        return web.json_response(_topic_json(topic))

    async def _by_external_id(self, request: web.Request) -> web.StreamResponse:
        if (refused := self._refusal(request)) is not None:
            return refused
        for topic in self.topics.values():
            if topic.external_id == request.match_info["external_id"]:
                raise web.HTTPFound(f"/t/{topic.slug}/{topic.id}.json")
        return discourse_error(404, ["The requested URL or resource could not be found."], "not_found")


def _time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _topic_json(topic: FakeTopic) -> dict[str, Any]:
    posts = [{
        "id": post.id, "post_number": post.post_number, "username": post.username, "name": post.username.title(),
        "created_at": _time(post.created_at), "cooked": f"<p>{post.raw}</p>", "post_type": post.post_type,
        "action_code": None if post.post_type == 1 else "closed.enabled", "hidden": False, "user_deleted": False,
    } for post in topic.posts[:FIRST_CHUNK]]
    return {
        "id": topic.id, "title": topic.title, "fancy_title": topic.title, "slug": topic.slug,
        "category_id": topic.category_id, "posts_count": len(topic.posts), "external_id": topic.external_id,
        "post_stream": {"posts": posts, "stream": [post.id for post in topic.posts]},
    }
