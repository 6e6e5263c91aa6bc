"""A small client for the Discourse API: open a topic, read its posts, find it again.

What Discourse answers, from its source (github.com/discourse/discourse):

- Every call carries the ``Api-Key`` and ``Api-Username`` headers. A key or username it does not
  accept is ``Discourse::InvalidAccess`` with ``invalid_api_credentials``
  (lib/auth/default_current_user_provider.rb): 403 on every call, look-ups included.
- Errors are ``{"errors": [...], "error_type": ..., "extras": ...}``; a 429 carries ``Retry-After``
  and ``extras.wait_seconds`` (admin API keys share 60 requests a minute).
- ``POST /posts.json`` (PostsController#create, lib/new_post_manager.rb, NewPostResultSerializer):
  200 with the post (``topic_id``, ``topic_slug``) when it is created; **200 with
  ``{"action": "enqueued", "pending_post": {"id", ...}, "pending_count": ...}`` and no topic** when
  the post is held for a moderator's review; 422 with ``errors`` when it is refused. An API create
  is memoized for 120 s: the same payload again within that time gets the same answer. A held post
  keeps only ``raw``, ``title`` and ``tags`` (``NewPostManager#enqueue``): once approved, its topic
  has no ``external_id``.
- ``GET /t/{id}.json`` holds the first chunk of posts (20, ``posts_per_page``) and
  ``highest_post_number``; ``GET /t/{id}/posts.json?post_number=N&asc=true`` the next chunk after
  post N (TopicsController#posts → TopicView ``filter_posts_by_post_number``).
- ``GET /t/external_id/{id}.json`` redirects to the topic created with that external ID.
- ``GET /session/current.json`` answers the key's user: a cheap way to ask whether the key works.
- ``GET /posts/{username}/pending.json`` lists that user's posts still held for review
  (PendingPostSerializer: ``id``, ``title``, ``topic_id``, ``created_at``...).
- ``GET /topics/created-by/{username}.json`` lists the user's topics, the latest first
  (``topic_list.topics``: ``id``, ``title``, ``slug``, ``created_at``).

The client never sleeps and never retries: its callers are scheduled work and a poller, which come
back later (a sleeping call would hold up the scheduler's whole tick). Every failure is a
``DiscourseError`` whose ``explanation`` is safe to show in a room; ``DiscourseUnavailable`` says
whether the request may have taken effect anyway (a timeout after sending a create).
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import aiohttp

log = logging.getLogger(__name__)

DEFAULT_RATE_LIMIT_WAIT = 60.0


class DiscourseError(Exception):
    """The forum did not do what we asked; ``explanation`` is friendly and safe to show."""

    def __init__(self, explanation: str) -> None:
        super().__init__(explanation)
        self.explanation = explanation


class DiscourseRateLimited(DiscourseError):
    def __init__(self, wait_seconds: float) -> None:
        super().__init__(f"the forum asks us to slow down for {wait_seconds:.0f} s")
        self.wait_seconds = wait_seconds


class DiscourseUnavailable(DiscourseError):
    """No usable answer: a timeout, a dropped connection, a 5xx or garbage."""

    def __init__(self, explanation: str, *, outcome_unknown: bool) -> None:
        super().__init__(explanation)
        self.outcome_unknown = outcome_unknown


class DiscourseRefused(DiscourseError):
    """A 4xx answer: the request as sent will not succeed."""

    def __init__(self, status: int, errors: tuple[str, ...], error_type: str | None) -> None:
        reasons = "; ".join(errors) or f"HTTP {status}"
        super().__init__(f"the forum refused: {reasons}")
        self.status = status
        self.errors = errors
        self.error_type = error_type

    @property
    def may_be_the_credentials(self) -> bool:
        """A 401 or 403: a key or username Discourse does not accept looks exactly like this."""
        return self.status in (401, 403)


@dataclass(frozen=True)
class CreatedTopic:
    topic_id: int
    slug: str


@dataclass(frozen=True)
class HeldForReview:
    """Discourse took the post but holds it for a moderator's review: there is no topic yet."""

    pending_post_id: int | None
    pending_count: int | None


@dataclass(frozen=True)
class PendingPost:
    id: int
    title: str


@dataclass(frozen=True)
class TopicSummary:
    id: int
    slug: str
    title: str
    created_at: datetime | None


@dataclass(frozen=True)
class ForumPost:
    id: int
    post_number: int
    username: str
    created_at: datetime
    is_regular: bool  # a person's post, not a moderator action or an automatic "closed" note


@dataclass(frozen=True)
class ForumTopic:
    id: int
    slug: str
    title: str
    posts: tuple[ForumPost, ...]  # the first chunk only; ``DiscourseClient.posts`` reads them all
    highest_post_number: int


class DiscourseClient:
    def __init__(self, session: aiohttp.ClientSession, base_url: str, api_key: str, api_username: str, *,
                 timeout: float = 10) -> None:
        self._session = session
        self.base_url = base_url.rstrip("/")
        self.api_username = api_username
        self._headers = {"Api-Key": api_key, "Api-Username": api_username, "Accept": "application/json"}
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    def __repr__(self) -> str:
        return f"DiscourseClient({self.base_url!r}, user={self.api_username!r})"

    def topic_url(self, topic_id: int, slug: str) -> str:
        return f"{self.base_url}/t/{slug or 'topic'}/{topic_id}"

    async def create_topic(self, *, title: str, raw: str, category_id: int,
                           external_id: str) -> CreatedTopic | HeldForReview:
        payload = {"title": title, "raw": raw, "category": category_id, "external_id": external_id}
        body = await self._request("POST", "/posts.json", payload)
        if body.get("action") == "enqueued":
            pending = body.get("pending_post")
            pending_id = pending.get("id") if isinstance(pending, dict) else None
            count = body.get("pending_count")
            return HeldForReview(pending_id if isinstance(pending_id, int) else None,
                                 count if isinstance(count, int) else None)
        topic_id, slug = body.get("topic_id"), body.get("topic_slug")
        if not isinstance(topic_id, int):
            # It answered 200: the topic exists, we just cannot read which one. Look it up later.
            raise DiscourseUnavailable("the forum's answer had no topic ID", outcome_unknown=True)
        return CreatedTopic(topic_id, slug if isinstance(slug, str) else "")

    async def topic(self, topic_id: int) -> ForumTopic:
        return _topic(await self._request("GET", f"/t/{topic_id}.json"))

    async def posts(self, topic_id: int) -> AsyncIterator[ForumPost]:
        """Every post of the topic in order, chunk by chunk, as far as the caller reads."""
        first = await self.topic(topic_id)
        for post in first.posts:
            yield post
        last = max((post.post_number for post in first.posts), default=0)
        while last < first.highest_post_number:
            body = await self._request("GET", f"/t/{topic_id}/posts.json",
                                       params={"post_number": str(last), "asc": "true"})
            chunk = _posts(body)
            if not chunk or max(post.post_number for post in chunk) <= last:
                return  # the rest was deleted or is hidden from us
            for post in chunk:
                yield post
            last = max(post.post_number for post in chunk)

    async def topic_by_external_id(self, external_id: str) -> ForumTopic | None:
        """The topic created with this external ID, or None (Discourse redirects to the topic)."""
        try:
            return _topic(await self._request("GET", f"/t/external_id/{external_id}.json"))
        except DiscourseRefused as refused:
            if refused.status == 404:
                return None
            raise

    async def credentials_work(self) -> bool:
        """Whether Discourse accepts our key and username (False: a 401 or 403 on the session)."""
        try:
            await self._request("GET", "/session/current.json")
        except DiscourseRefused as refused:
            if refused.may_be_the_credentials:
                return False
            raise
        return True

    async def pending_posts(self) -> list[PendingPost]:
        """Our posts still held for review."""
        body = await self._request("GET", f"/posts/{quote(self.api_username)}/pending.json")
        items = body.get("pending_posts")
        return [PendingPost(item["id"], str(item.get("title") or "")) for item in _objects_with_id(items)]

    async def topics_created_by_us(self) -> list[TopicSummary]:
        """Our latest topics (the first page of the list)."""
        body = await self._request("GET", f"/topics/created-by/{quote(self.api_username)}.json")
        listing = body.get("topic_list")
        items = listing.get("topics") if isinstance(listing, dict) else None
        return [TopicSummary(item["id"], str(item.get("slug") or ""), str(item.get("title") or ""),
                             _time(item.get("created_at"))) for item in _objects_with_id(items)]

    async def _request(self, method: str, path: str, payload: dict[str, Any] | None = None,
                       params: dict[str, str] | None = None) -> dict[str, Any]:
        may_have_acted = method != "GET"
        try:
            async with self._session.request(method, self.base_url + path, json=payload, params=params,
                                             headers=self._headers, timeout=self._timeout) as response:
                raw = await response.read()
                status, retry_after = response.status, response.headers.get("Retry-After")
        except aiohttp.ClientConnectorError:
            raise DiscourseUnavailable("the forum cannot be reached", outcome_unknown=False) from None
        except TimeoutError:
            raise DiscourseUnavailable("the forum did not answer in time", outcome_unknown=may_have_acted) from None
        except aiohttp.ClientError as error:
            raise DiscourseUnavailable(f"the connection to the forum failed ({type(error).__name__})",
                                       outcome_unknown=may_have_acted) from None
        body = _json_or_none(raw)
        if status == 429:
            raise DiscourseRateLimited(_wait_seconds(retry_after, body))
        if status >= 500:
            raise DiscourseUnavailable(f"the forum had an error (HTTP {status})", outcome_unknown=may_have_acted)
        if status >= 400:
            errors, error_type = _errors(body)
            log.warning("Discourse refused %s %s: HTTP %d %s %s", method, path, status, error_type, errors)
            raise DiscourseRefused(status, errors, error_type)
        if not isinstance(body, dict):
            raise DiscourseUnavailable("the forum answered something that is not JSON", outcome_unknown=may_have_acted)
        return body


def _json_or_none(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _wait_seconds(retry_after: str | None, body: Any) -> float:
    """How long Discourse asks us to wait: Retry-After, else extras.wait_seconds, else a minute."""
    candidates: list[Any] = [retry_after]
    if isinstance(body, dict) and isinstance(body.get("extras"), dict):
        candidates.append(body["extras"].get("wait_seconds"))
    for candidate in candidates:
        try:
            seconds = float(candidate)
        except (TypeError, ValueError):
            continue
        if seconds >= 0:
            return seconds
    return DEFAULT_RATE_LIMIT_WAIT


def _errors(body: Any) -> tuple[tuple[str, ...], str | None]:
    if not isinstance(body, dict):
        return (), None
    errors = body.get("errors")
    if isinstance(errors, str):
        errors = [errors]
    if not isinstance(errors, list):
        errors = [body["error"]] if isinstance(body.get("error"), str) else []
    error_type = body.get("error_type")
    return tuple(str(e) for e in errors), error_type if isinstance(error_type, str) else None


def _topic(body: dict[str, Any]) -> ForumTopic:
    if not isinstance(body.get("id"), int):
        raise DiscourseUnavailable("the forum's topic had an unexpected shape", outcome_unknown=False)
    posts = _posts(body)
    slug = body.get("slug")
    title = body.get("title")
    highest = body.get("highest_post_number")
    if not isinstance(highest, int):
        highest = max((post.post_number for post in posts), default=0)
    return ForumTopic(body["id"], slug if isinstance(slug, str) else "", title if isinstance(title, str) else "",
                      posts, highest)


def _posts(body: dict[str, Any]) -> tuple[ForumPost, ...]:
    stream = body.get("post_stream")
    posts = stream.get("posts") if isinstance(stream, dict) else None
    if not isinstance(posts, list):
        raise DiscourseUnavailable("the forum's posts had an unexpected shape", outcome_unknown=False)
    return tuple(p for p in (_post(item) for item in posts) if p is not None)


def _objects_with_id(items: Any) -> list[dict[str, Any]]:
    if not isinstance(items, list):
        return []
    return [item for item in items if isinstance(item, dict) and isinstance(item.get("id"), int)]


def _time(value: Any) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _post(item: Any) -> ForumPost | None:
    if not isinstance(item, dict) or not isinstance(item.get("id"), int) or not isinstance(item.get("username"), str):
        return None
    created = _time(item.get("created_at"))
    if created is None:
        return None
    regular = item.get("post_type", 1) == 1 and not item.get("action_code") and not item.get("user_deleted") \
        and not item.get("hidden")
    return ForumPost(item["id"], int(item.get("post_number") or 0), item["username"], created, regular)
