"""A small client for the Discourse API: open a topic, read a topic, find a topic by its external ID.

Discourse wants the ``Api-Key`` and ``Api-Username`` headers on every call. Its errors are JSON,
``{"errors": [...], "error_type": ..., "extras": ...}``; a 429 carries ``Retry-After`` and
``extras.wait_seconds`` (admin API keys share 60 requests a minute). ``GET /t/{id}.json`` holds only
the first chunk of a topic's posts (``post_stream.posts``), which is enough to see its first reply.

The client never sleeps and never retries: its callers are scheduled work and a poller, which come
back later (a sleeping call would hold up the scheduler's whole tick). Every failure is a
``DiscourseError`` whose ``explanation`` is safe to show in a room; ``DiscourseUnavailable`` says
whether the request may have taken effect anyway (a timeout after sending a create).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

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


@dataclass(frozen=True)
class CreatedTopic:
    topic_id: int
    slug: str


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
    posts: tuple[ForumPost, ...]  # the first chunk only


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

    async def create_topic(self, *, title: str, raw: str, category_id: int, external_id: str) -> CreatedTopic:
        payload = {"title": title, "raw": raw, "category": category_id, "external_id": external_id}
        body = await self._request("POST", "/posts.json", payload)
        topic_id, slug = body.get("topic_id"), body.get("topic_slug")
        if not isinstance(topic_id, int):
            # It answered 200: the topic exists, we just cannot read which one. Look it up later.
            raise DiscourseUnavailable("the forum's answer had no topic ID", outcome_unknown=True)
        return CreatedTopic(topic_id, slug if isinstance(slug, str) else "")

    async def topic(self, topic_id: int) -> ForumTopic:
        return _topic(await self._request("GET", f"/t/{topic_id}.json"))

    async def topic_by_external_id(self, external_id: str) -> ForumTopic | None:
        """The topic created with this external ID, or None (Discourse redirects to the topic)."""
        try:
            return _topic(await self._request("GET", f"/t/external_id/{external_id}.json"))
        except DiscourseRefused as refused:
            if refused.status == 404:
                return None
            raise

    async def _request(self, method: str, path: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        may_have_acted = method != "GET"
        try:
            async with self._session.request(method, self.base_url + path, json=payload, headers=self._headers,
                                             timeout=self._timeout) as response:
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
    stream = body.get("post_stream")
    posts = stream.get("posts") if isinstance(stream, dict) else None
    if not isinstance(body.get("id"), int) or not isinstance(posts, list):
        raise DiscourseUnavailable("the forum's topic had an unexpected shape", outcome_unknown=False)
    slug = body.get("slug")
    title = body.get("title")
    return ForumTopic(body["id"], slug if isinstance(slug, str) else "", title if isinstance(title, str) else "",
                      tuple(p for p in (_post(item) for item in posts) if p is not None))


def _post(item: Any) -> ForumPost | None:
    if not isinstance(item, dict) or not isinstance(item.get("id"), int) or not isinstance(item.get("username"), str):
        return None
    try:
        created = datetime.fromisoformat(str(item.get("created_at")))
    except ValueError:
        return None
    created = created.replace(tzinfo=UTC) if created.tzinfo is None else created.astimezone(UTC)
    regular = item.get("post_type", 1) == 1 and not item.get("action_code") and not item.get("user_deleted") \
        and not item.get("hidden")
    return ForumPost(item["id"], int(item.get("post_number") or 0), item["username"], created, regular)
