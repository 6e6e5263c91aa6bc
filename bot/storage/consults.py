"""Consults: the rows behind !consult, their 72-hour window, first answers and closing.

A consult is *answered* once someone other than its requester posts in its thread; the first such
answer is stored once (the first wins) and never changes afterwards.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.clock import from_optional_timestamp, from_timestamp, to_timestamp
from bot.storage.database import Database
from bot.storage.figure_cache import counts_since, first_answers_in

_COLUMNS = (
    "id, requester, room_id, command_event_id, thread_event_id, tweet_url, thoughts, state, opened_at, "
    "window_closes_at, first_answer_at, first_answer_by, closed_at, closed_by"
)


class ConsultState(enum.StrEnum):
    OPEN = "open"            # waiting for a first answer, window running
    ANSWERED = "answered"    # someone other than the requester answered
    EXPIRED = "expired"      # the window closed without an answer (a late answer is still recorded)
    DONE = "done"            # closed with !done


class ConsultFilter(enum.StrEnum):
    OPEN = "open"    # not closed with !done
    STALE = "stale"  # not closed, unanswered, older than the reminder time
    ALL = "all"


@dataclass(frozen=True)
class Consult:
    id: int
    requester: str
    room_id: str
    command_event_id: str
    thread_event_id: str | None
    tweet_url: str
    thoughts: str
    state: ConsultState
    opened_at: datetime
    window_closes_at: datetime
    first_answer_at: datetime | None
    first_answer_by: str | None
    closed_at: datetime | None
    closed_by: str | None

    @property
    def answered(self) -> bool:
        return self.first_answer_at is not None

    @property
    def answered_in_window(self) -> bool:
        return self.first_answer_at is not None and self.first_answer_at <= self.window_closes_at

    @property
    def closed(self) -> bool:
        return self.state is ConsultState.DONE


@dataclass(frozen=True)
class NewConsult:
    requester: str
    room_id: str
    command_event_id: str
    tweet_url: str
    thoughts: str
    opened_at: datetime
    window_closes_at: datetime


class ConsultStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def open(self, new: NewConsult) -> tuple[Consult, bool]:
        """Insert the consult; a replayed command gets the existing one back. Returns (consult, created)."""
        inserted = await self._db.fetch_one(
            "INSERT INTO consults (requester, room_id, command_event_id, tweet_url, thoughts, opened_at, "
            "window_closes_at) VALUES (?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (command_event_id) DO NOTHING RETURNING id",
            _new_row(new),
        )
        row = await self._db.fetch_one(
            f"SELECT {_COLUMNS} FROM consults WHERE command_event_id = ?", (new.command_event_id,)
        )
        assert row is not None
        return _consult(row), inserted is not None

    async def get(self, consult_id: int) -> Consult | None:
        row = await self._db.fetch_one(f"SELECT {_COLUMNS} FROM consults WHERE id = ?", (consult_id,))
        return None if row is None else _consult(row)

    async def by_thread(self, thread_event_id: str) -> Consult | None:
        row = await self._db.fetch_one(
            f"SELECT {_COLUMNS} FROM consults WHERE thread_event_id = ?", (thread_event_id,)
        )
        return None if row is None else _consult(row)

    async def discard(self, consult_id: int) -> None:
        """Remove a consult that never got its thread (ids are AUTOINCREMENT: never given again)."""
        await self._db.execute("DELETE FROM consults WHERE id = ? AND thread_event_id IS NULL", (consult_id,))

    async def set_thread(self, consult_id: int, thread_event_id: str) -> None:
        await self._db.execute(
            "UPDATE consults SET thread_event_id = ? WHERE id = ?", (thread_event_id, consult_id)
        )

    async def record_first_answer(self, consult_id: int, answered_by: str, at: datetime) -> bool:
        """Store the first answer unless one is stored already; True when this one was first."""
        changed = await self._db.execute_changes(
            "UPDATE consults SET first_answer_at = ?, first_answer_by = ?, "
            "state = CASE WHEN state = 'open' THEN 'answered' ELSE state END "
            "WHERE id = ? AND first_answer_at IS NULL AND requester != ?",
            (to_timestamp(at), answered_by, consult_id, answered_by),
        )
        return changed == 1

    async def mark_expired(self, consult_id: int) -> bool:
        changed = await self._db.execute_changes(
            "UPDATE consults SET state = 'expired' WHERE id = ? AND state = 'open'", (consult_id,)
        )
        return changed == 1

    async def close(self, consult_id: int, closed_by: str, at: datetime) -> bool:
        """Close with !done; False when it was closed already."""
        changed = await self._db.execute_changes(
            "UPDATE consults SET state = 'done', closed_at = ?, closed_by = ? WHERE id = ? AND state != 'done'",
            (to_timestamp(at), closed_by, consult_id),
        )
        return changed == 1

    async def listing(self, which: ConsultFilter, stale_before: datetime, limit: int) -> tuple[list[Consult], int]:
        """Newest first, at most ``limit`` of them, and how many match in all."""
        condition, params = _LISTING_CONDITIONS[which], _listing_params(which, stale_before)
        rows = await self._db.fetch_all(
            f"SELECT {_COLUMNS} FROM consults WHERE {condition} ORDER BY id DESC LIMIT ?", (*params, limit)
        )
        total = await self._db.fetch_one(f"SELECT COUNT(*) FROM consults WHERE {condition}", params)
        return [_consult(r) for r in rows], int(total[0]) if total else 0

    async def opened_since(self, since: datetime) -> list[Consult]:
        rows = await self._db.fetch_all(
            f"SELECT {_COLUMNS} FROM consults WHERE opened_at >= ? ORDER BY opened_at", (to_timestamp(since),)
        )
        return [_consult(r) for r in rows]

    async def first_answer_counts(self, since: datetime) -> list[tuple[str, int]]:
        """Who gave the first answer to how many consults since then, most first.

        Self-answers are never stored as answers; the requester check here only guards old rows.
        Whole weeks' counts are kept (``figure_cache.counts_since``).
        """
        latest = await self._db.fetch_one("SELECT MAX(first_answer_at) FROM consults WHERE first_answer_at IS NOT NULL")
        totals = await counts_since(self._db, "consult_helpers", to_timestamp(since), latest[0] if latest else None,
                                    self._first_answers_in)
        return sorted(totals.items(), key=lambda item: (-item[1], item[0]))

    async def _first_answers_in(self, ranges: Sequence[tuple[float, float]]) -> list[dict[str, int]]:
        # A requester answering their own consult is not a helper.
        return await first_answers_in(self._db, "consults", ranges,
                                      extra_condition="AND t.first_answer_by != t.requester")


_LISTING_CONDITIONS = {
    ConsultFilter.OPEN: "state != 'done'",
    ConsultFilter.STALE: "state != 'done' AND first_answer_at IS NULL AND opened_at <= ?",
    ConsultFilter.ALL: "1 = 1",
}


def _listing_params(which: ConsultFilter, stale_before: datetime) -> tuple[Any, ...]:
    return (to_timestamp(stale_before),) if which is ConsultFilter.STALE else ()


def _new_row(new: NewConsult) -> tuple[Any, ...]:
    return (new.requester, new.room_id, new.command_event_id, new.tweet_url, new.thoughts,
            to_timestamp(new.opened_at), to_timestamp(new.window_closes_at))



def _consult(row: Any) -> Consult:
    return Consult(
        id=row["id"], requester=row["requester"], room_id=row["room_id"],
        command_event_id=row["command_event_id"], thread_event_id=row["thread_event_id"],
        tweet_url=row["tweet_url"], thoughts=row["thoughts"], state=ConsultState(row["state"]),
        opened_at=from_timestamp(row["opened_at"]), window_closes_at=from_timestamp(row["window_closes_at"]),
        first_answer_at=from_optional_timestamp(row["first_answer_at"]), first_answer_by=row["first_answer_by"],
        closed_at=from_optional_timestamp(row["closed_at"]), closed_by=row["closed_by"],
    )
