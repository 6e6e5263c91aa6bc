"""The Discourse topic of each consult: pending until created once, then watched for a first reply.

A pending topic may be held for review on the forum (``held_post_id`` set): then nothing is posted
again; the poller looks for the topic once the review lets it through.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.clock import from_optional_timestamp, from_timestamp, to_timestamp
from bot.storage.database import Database

_COLUMNS = (
    "consult_id, external_id, requester, room_id, thread_root, title, raw, state, attempts, in_doubt, "
    "last_error, topic_id, topic_url, requested_at, created_at, watch_until, answered_at, answered_by, "
    "held_post_id, held_at"
)


class TopicState(enum.StrEnum):
    PENDING = "pending"  # not created yet; a forum_topic schedule row will try (again), unless held
    CREATED = "created"
    REFUSED = "refused"  # the forum refused it for good; explained in the consult's thread


@dataclass(frozen=True)
class NewTopic:
    consult_id: int
    external_id: str
    requester: str
    room_id: str
    thread_root: str | None
    title: str
    raw: str
    requested_at: datetime
    watch_until: datetime


@dataclass(frozen=True)
class ForumTopicRow(NewTopic):
    """A stored topic request: what to post, plus how the attempts went."""

    state: TopicState
    attempts: int
    in_doubt: bool
    last_error: str | None
    topic_id: int | None
    topic_url: str | None
    created_at: datetime | None
    answered_at: datetime | None
    answered_by: str | None
    held_post_id: int | None = None  # the forum's pending post while the topic waits for review
    held_at: datetime | None = None

    @property
    def held(self) -> bool:
        return self.state is TopicState.PENDING and self.held_at is not None


class ForumTopics:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, new: NewTopic) -> bool:
        """Record a topic to create; False when the consult already has one (a replayed command)."""
        changed = await self._db.execute_changes(
            "INSERT INTO forum_topics (consult_id, external_id, requester, room_id, thread_root, title, raw, "
            "requested_at, watch_until) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (consult_id) DO NOTHING",
            (new.consult_id, new.external_id, new.requester, new.room_id, new.thread_root, new.title, new.raw,
             to_timestamp(new.requested_at), to_timestamp(new.watch_until)),
        )
        return changed == 1

    async def get(self, consult_id: int) -> ForumTopicRow | None:
        row = await self._db.fetch_one(f"SELECT {_COLUMNS} FROM forum_topics WHERE consult_id = ?", (consult_id,))
        return None if row is None else _row(row)

    async def attempt_starting(self, consult_id: int) -> None:
        """Written before each create request: if we never learn its outcome, we look before retrying."""
        await self._db.execute(
            "UPDATE forum_topics SET attempts = attempts + 1, in_doubt = 1 WHERE consult_id = ?", (consult_id,)
        )

    async def attempt_failed(self, consult_id: int, error: str, *, in_doubt: bool) -> None:
        await self._db.execute(
            "UPDATE forum_topics SET last_error = ?, in_doubt = ? WHERE consult_id = ?",
            (error, int(in_doubt), consult_id),
        )

    async def created(self, consult_id: int, topic_id: int, topic_url: str, at: datetime) -> None:
        await self._db.execute(
            "UPDATE forum_topics SET state = 'created', topic_id = ?, topic_url = ?, created_at = ?, in_doubt = 0, "
            "last_error = NULL WHERE consult_id = ?",
            (topic_id, topic_url, to_timestamp(at), consult_id),
        )

    async def held(self, consult_id: int, pending_post_id: int | None, at: datetime) -> None:
        """The forum holds the topic for review: it exists there as a pending post, not yet a topic."""
        await self._db.execute(
            "UPDATE forum_topics SET held_post_id = ?, held_at = ?, in_doubt = 0, last_error = NULL "
            "WHERE consult_id = ? AND state = 'pending'",
            (pending_post_id, to_timestamp(at), consult_id),
        )

    async def held_for_review(self, now: datetime) -> list[ForumTopicRow]:
        """Topics the forum holds for review, within their watch."""
        return await self._within_watch("state = 'pending' AND held_at IS NOT NULL", now)

    async def refused(self, consult_id: int, error: str) -> None:
        await self._db.execute(
            "UPDATE forum_topics SET state = 'refused', in_doubt = 0, last_error = ? WHERE consult_id = ?",
            (error, consult_id),
        )

    async def watched(self, now: datetime) -> list[ForumTopicRow]:
        """Created topics still waiting for a first reply, within their watch."""
        return await self._within_watch("state = 'created' AND answered_at IS NULL", now)

    async def _within_watch(self, condition: str, now: datetime) -> list[ForumTopicRow]:
        rows = await self._db.fetch_all(
            f"SELECT {_COLUMNS} FROM forum_topics WHERE {condition} AND watch_until > ? ORDER BY consult_id",
            (to_timestamp(now),),
        )
        return [_row(r) for r in rows]

    async def answered(self, consult_id: int, username: str, at: datetime) -> None:
        await self._db.execute(
            "UPDATE forum_topics SET answered_at = ?, answered_by = ? WHERE consult_id = ? AND answered_at IS NULL",
            (to_timestamp(at), username, consult_id),
        )

    async def stop_watching(self, consult_id: int, at: datetime) -> None:
        await self._db.execute(
            "UPDATE forum_topics SET watch_until = MIN(watch_until, ?) WHERE consult_id = ?",
            (to_timestamp(at), consult_id),
        )



def _row(row: Any) -> ForumTopicRow:
    return ForumTopicRow(
        consult_id=int(row["consult_id"]), external_id=row["external_id"], requester=row["requester"],
        room_id=row["room_id"], thread_root=row["thread_root"], title=row["title"], raw=row["raw"],
        state=TopicState(row["state"]), attempts=int(row["attempts"]), in_doubt=bool(row["in_doubt"]),
        last_error=row["last_error"], topic_id=row["topic_id"], topic_url=row["topic_url"],
        requested_at=from_timestamp(row["requested_at"]), created_at=from_optional_timestamp(row["created_at"]),
        watch_until=from_timestamp(row["watch_until"]), answered_at=from_optional_timestamp(row["answered_at"]),
        answered_by=row["answered_by"], held_post_id=row["held_post_id"],
        held_at=from_optional_timestamp(row["held_at"]),
    )
