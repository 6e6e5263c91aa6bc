"""A local stand-in for the Discourse API the bot uses, driven by a scenario the test controls.

    async with FakeDiscourse(api_key="k", api_username="fxhelp-bot", category_id=7) as forum:
        forum.rate_limit_next(wait_seconds=1)        # 429 with Retry-After and extras.wait_seconds
        forum.lose_next_response()                   # creates the topic, then never answers
        forum.hold_new_topics_for_review()           # creates answer {"action": "enqueued", ...}
        forum.approve(pending_id)                    # the review queue lets one through
        forum.reply(topic_id, "helper", "Try a refresh")

It follows Discourse's source (github.com/discourse/discourse):

- ``POST /posts.json`` (PostsController#create, ``backwards_compatible_json``; lib/new_post_manager.rb;
  NewPostResultSerializer): a created topic's first post with ``topic_id`` and ``topic_slug``; a
  post held for review is 200 ``{"action": "enqueued", "success": true, "pending_post": {id, raw,
  created_at}, "pending_count": n}`` with no topic; refusals are 422 ``{"action": "create_post",
  "errors": [...]}``. An API create is memoized for 120 s (``DistributedMemoizer.memoize(...,
  120)``): the same payload again within that time gets the first answer and does nothing.
- A held post keeps only ``raw``, ``title`` and ``tags`` (``NewPostManager#enqueue``); approving it
  (ReviewableQueuedPost#perform_approve_post) creates the topic from those, so it has no
  ``external_id``.
- ``GET /t/{id}.json``: ``post_stream.posts`` holds the first 20 posts (``posts_per_page``), with
  ``stream``, ``posts_count`` and ``highest_post_number``; ``GET /t/{id}/posts.json`` with
  ``post_ids[]``, or ``post_number=N&asc=true`` for the 20 posts after post N (TopicsController#posts,
  TopicView ``filter_posts_by_post_number``), answering ``{"id", "post_stream": {"posts"}}``.
- ``GET /t/external_id/{id}.json`` redirects to the topic (TopicsController#show_by_external_id).
- ``GET /session/current.json`` (SessionController#current) answers ``{"current_user": ...}``.
- ``GET /posts/{username}/pending.json`` (PostsController#pending, PendingPostSerializer) and
  ``GET /topics/created-by/{username}.json`` (ListController#topics_by, latest first).
- A key or username it does not accept: 403 ``invalid_access`` with the ``invalid_api_credentials``
  text on every endpoint (lib/auth/default_current_user_provider.rb). Errors are
  ``{"errors": [...], "error_type": ..., "extras": ...}``.

Post times come from ``clock`` (wall time by default), so a test's fake clock can drive the
120-second memo.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from tests.fakes.server import FakeServer

CHUNK = 20
MEMO = timedelta(seconds=120)
INVALID_API_CREDENTIALS = ("You are not permitted to view the requested resource. The API username or key is "
                           "invalid.")


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
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass
class FakePendingPost:
    """A post held in the review queue (a ReviewableQueuedPost): only raw, title and category kept."""

    id: int
    title: str
    raw: str
    category_id: int
    created_at: datetime


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


def _not_found() -> web.Response:
    return discourse_error(404, ["The requested URL or resource could not be found."], "not_found")


class FakeDiscourse(FakeServer):
    def __init__(self, api_key: str = "fake-discourse-key", api_username: str = "fxhelp-bot",
                 category_id: int = 7, clock: Callable[[], datetime] | None = None) -> None:
        self.api_key = api_key
        self.api_username = api_username
        self.category_id = category_id
        self._clock = clock or (lambda: datetime.now(UTC))
        self.topics: dict[int, FakeTopic] = {}
        self.pending: dict[int, FakePendingPost] = {}  # the review queue
        self.requests: list[tuple[str, str]] = []  # (method, path)
        self.create_attempts = 0
        self.hold_for_review = False
        self._topic_ids = itertools.count(101)
        self._post_ids = itertools.count(5001)
        self._pending_ids = itertools.count(9001)
        self._memo: dict[str, tuple[datetime, web.Response]] = {}
        self._faults: deque[_Fault] = deque()
        self._down = False

    # -- lifecycle ---------------------------------------------------------------------------

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/posts.json", self._create)
        app.router.add_get("/t/external_id/{external_id}.json", self._by_external_id)
        app.router.add_get(r"/t/{topic_id:\d+}.json", self._topic)
        app.router.add_get(r"/t/{slug}/{topic_id:\d+}.json", self._topic)
        app.router.add_get(r"/t/{topic_id:\d+}/posts.json", self._topic_posts)
        app.router.add_get("/session/current.json", self._current_session)
        app.router.add_get("/posts/{username}/pending.json", self._pending_posts)
        app.router.add_get("/topics/created-by/{username}.json", self._topics_by)

    # -- the scenario ----------------------------------------------------------------------------

    def reply(self, topic_id: int, username: str, raw: str = "A suggestion for you.", *, post_type: int = 1) -> int:
        topic = self.topics[topic_id]
        post = FakePost(next(self._post_ids), len(topic.posts) + 1, username, raw, self._clock(), post_type)
        topic.posts.append(post)
        return post.id

    def only_topic(self) -> FakeTopic:
        assert len(self.topics) == 1, f"{len(self.topics)} topics"
        return next(iter(self.topics.values()))

    def hold_new_topics_for_review(self, hold: bool = True) -> None:
        """New topics by the API user need approval (approve_new_topics_unless_allowed_groups)."""
        self.hold_for_review = hold

    def approve(self, pending_id: int, *, title: str | None = None) -> FakeTopic:
        """A moderator approves the held post (perhaps editing its title): the topic is created."""
        held = self.pending.pop(pending_id)
        return self._new_topic(title or held.title, held.raw, held.category_id, external_id=None)

    def reject(self, pending_id: int) -> None:
        del self.pending[pending_id]

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
            return discourse_error(403, [INVALID_API_CREDENTIALS], "invalid_access")
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
        signature = json.dumps(payload, sort_keys=True)
        memo = self._memo.get(signature)
        if memo is not None and self._clock() - memo[0] < MEMO:
            return web.json_response(json.loads(memo[1].text or "{}"), status=memo[1].status)
        response = self._perform_create(payload)
        self._memo[signature] = (self._clock(), response)
        if fault is not None and fault.lose_response:
            await asyncio.sleep(fault.lose_response)
        return response

    def _perform_create(self, payload: Any) -> web.Response:
        problems = self._invalid(payload)
        if problems:
            return web.json_response({"action": "create_post", "errors": problems}, status=422)
        if self.hold_for_review:
            held = FakePendingPost(next(self._pending_ids), str(payload["title"]), str(payload["raw"]),
                                   int(payload["category"]), self._clock())
            self.pending[held.id] = held
            return web.json_response({"action": "enqueued", "success": True, "pending_count": len(self.pending),
                                      "pending_post": {"id": held.id, "raw": held.raw,
                                                       "created_at": _time(held.created_at)}})
        topic = self._new_topic(str(payload["title"]), str(payload["raw"]), int(payload["category"]),
                                payload.get("external_id"))
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

    def _new_topic(self, title: str, raw: str, category_id: int, external_id: str | None) -> FakeTopic:
        slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "topic"
        topic = FakeTopic(next(self._topic_ids), title, slug, category_id, external_id, created_at=self._clock())
        self.topics[topic.id] = topic
        topic.posts.append(FakePost(next(self._post_ids), 1, self.api_username, raw, self._clock()))
        return topic

    async def _topic(self, request: web.Request) -> web.StreamResponse:
        if (refused := self._refusal(request)) is not None:
            return refused
        fault = self._next_fault()
        if fault is not None and (response := self._fault_response(fault)) is not None:
            return response
        topic = self.topics.get(int(request.match_info["topic_id"]))
        if topic is None:
            return _not_found()
        return web.json_response(_topic_json(topic))

    async def _topic_posts(self, request: web.Request) -> web.StreamResponse:
        if (refused := self._refusal(request)) is not None:
            return refused
        topic = self.topics.get(int(request.match_info["topic_id"]))
        if topic is None:
            return _not_found()
        wanted_ids = {int(value) for value in request.query.getall("post_ids[]", [])}
        if wanted_ids:
            posts = [post for post in topic.posts if post.id in wanted_ids]
        elif "post_number" in request.query:
            after = int(request.query["post_number"])
            if request.query.get("asc") == "true":
                posts = [post for post in topic.posts if post.post_number > after][:CHUNK]
            else:
                posts = [post for post in topic.posts if post.post_number < after][-CHUNK:]
        else:
            return discourse_error(400, ["param is missing or the value is empty: post_ids"], "invalid_parameters")
        return web.json_response({"id": topic.id, "post_stream": {"posts": [_post_json(p) for p in posts]}})

    async def _by_external_id(self, request: web.Request) -> web.StreamResponse:
        if (refused := self._refusal(request)) is not None:
            return refused
        for topic in self.topics.values():
            if topic.external_id == request.match_info["external_id"]:
                raise web.HTTPFound(f"/t/{topic.slug}/{topic.id}.json")
        return _not_found()

    async def _current_session(self, request: web.Request) -> web.StreamResponse:
        if (refused := self._refusal(request)) is not None:
            return refused
        return web.json_response({"current_user": {"id": 2, "username": self.api_username}})

    async def _pending_posts(self, request: web.Request) -> web.StreamResponse:
        if (refused := self._refusal(request)) is not None:
            return refused
        if request.match_info["username"].lower() != self.api_username.lower():
            return _not_found()
        return web.json_response({"pending_posts": [
            {"id": held.id, "title": held.title, "raw_text": held.raw, "category_id": held.category_id,
             "created_at": _time(held.created_at), "topic_id": None, "topic_url": None,
             "username": self.api_username} for held in sorted(self.pending.values(), key=lambda h: -h.id)]})

    async def _topics_by(self, request: web.Request) -> web.StreamResponse:
        if (refused := self._refusal(request)) is not None:
            return refused
        if request.match_info["username"].lower() != self.api_username.lower():
            return _not_found()
        latest = sorted(self.topics.values(), key=lambda t: t.created_at, reverse=True)[:30]
        return web.json_response({"users": [], "topic_list": {"topics": [
            {"id": t.id, "title": t.title, "fancy_title": t.title, "slug": t.slug, "created_at": _time(t.created_at),
             "posts_count": len(t.posts), "category_id": t.category_id} for t in latest]}})


def _time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _post_json(post: FakePost) -> dict[str, Any]:
    return {
        "id": post.id, "post_number": post.post_number, "username": post.username, "name": post.username.title(),
        "created_at": _time(post.created_at), "cooked": f"<p>{post.raw}</p>", "post_type": post.post_type,
        "action_code": None if post.post_type == 1 else "closed.enabled", "hidden": False, "user_deleted": False,
    }


def _topic_json(topic: FakeTopic) -> dict[str, Any]:
    return {
        "id": topic.id, "title": topic.title, "fancy_title": topic.title, "slug": topic.slug,
        "category_id": topic.category_id, "posts_count": len(topic.posts), "external_id": topic.external_id,
        "highest_post_number": max((post.post_number for post in topic.posts), default=0),
        "post_stream": {"posts": [_post_json(post) for post in topic.posts[:CHUNK]],
                        "stream": [post.id for post in topic.posts]},
    }
