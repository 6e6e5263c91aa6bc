"""SUMO support-forum questions on the 72-hour clock: the rows, the notice batches, claims, counts.

A question is *answered* at its first answer by someone other than its asker; that answer is stored
once and never changes. Reminders and final notices go out in batches: a batch and its members are
written in one transaction before anything is sent (see ``plan_batch``).
"""

from __future__ import annotations

import enum
import json
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.clock import from_optional_timestamp, from_timestamp, to_timestamp
from bot.storage.database import Database
from bot.storage.figure_cache import counts_since, first_answers_in

_COLUMNS = (
    "id, locale, title, asker, created_at, remind_at, deadline_at, state, left_reason, first_answer_at, "
    "first_answer_by, answers_checked_to, taken_by, taken_until"
)


class QuestionState(enum.StrEnum):
    OPEN = "open"          # waiting for a helper's first answer, window running (or just closed)
    ANSWERED = "answered"  # a helper answered before the window closed
    EXPIRED = "expired"    # the window closed without a helper's answer; the final notice is planned
    LEFT = "left"          # solved, locked, archived, spam or deleted before a helper answered


class Stage(enum.StrEnum):
    REMIND = "remind"
    FINAL = "final"


class QuestionFilter(enum.StrEnum):
    OPEN = "open"    # waiting for a helper's answer
    STALE = "stale"  # waiting, and past the reminder time
    ALL = "all"      # every question of the current window, whatever became of it


@dataclass(frozen=True)
class NewQuestion:
    id: int
    locale: str
    title: str
    asker: str | None
    created_at: datetime
    remind_at: datetime
    deadline_at: datetime


@dataclass(frozen=True)
class TrackedQuestion(NewQuestion):
    """A question on the clock: its window, plus what happened to it."""

    state: QuestionState
    left_reason: str | None
    first_answer_at: datetime | None
    first_answer_by: str | None
    answers_checked_to: int
    taken_by: str | None
    taken_until: datetime | None

    def claim_at(self, now: datetime) -> tuple[str, datetime] | None:
        """Who holds the question now and until when, if anyone does."""
        if self.taken_by is None or self.taken_until is None or self.taken_until <= now:
            return None
        return self.taken_by, self.taken_until


@dataclass(frozen=True)
class Batch:
    id: int
    stage: Stage
    created_at: datetime
    event_id: str | None


class TakeResult(enum.Enum):
    TAKEN = "taken"
    TAKEN_BY_OTHER = "taken by someone else"
    NOT_OPEN = "not waiting for an answer"
    UNKNOWN = "not tracked"


TakeOutcome = tuple[TakeResult, TrackedQuestion | None]


@dataclass(frozen=True)
class QuestionStats:
    """Questions created in a period: what became of them, and how fast helpers answered.

    ``decided`` counts the questions whose window outcome is known (a helper answered, or the window
    closed without one); questions that left the clock and questions still inside their window are
    not part of the share.
    """

    tracked: int
    answered_in_window: int
    expired: int
    left: int
    waiting: int
    median_first_answer: timedelta | None

    @property
    def decided(self) -> int:
        return self.answered_in_window + self.expired

    @property
    def share_answered(self) -> float | None:
        return self.answered_in_window / self.decided if self.decided else None


class QuestionStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    # ---- tracking ------------------------------------------------------------------------------

    async def get(self, question_id: int) -> TrackedQuestion | None:
        row = await self._db.fetch_one(f"SELECT {_COLUMNS} FROM sumo_questions WHERE id = ?", (question_id,))
        return None if row is None else _question(row)

    async def track(self, new: NewQuestion, seen_at: datetime, listed_at: datetime) -> TrackedQuestion:
        """Start tracking a question (a known one keeps its state; its title follows edits), marked
        as seen by the sweep that started at ``listed_at``."""
        await self._db.execute(
            "INSERT INTO sumo_questions (id, locale, title, asker, created_at, remind_at, deadline_at, "
            "first_seen_at, last_listed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET title = excluded.title, locale = excluded.locale, "
            "last_listed_at = excluded.last_listed_at",
            (new.id, new.locale, new.title, new.asker, to_timestamp(new.created_at), to_timestamp(new.remind_at),
             to_timestamp(new.deadline_at), to_timestamp(seen_at), to_timestamp(listed_at)),
        )
        tracked = await self.get(new.id)
        assert tracked is not None
        return tracked

    async def record_first_answer(self, question_id: int, answered_by: str, at: datetime) -> bool:
        """Store the first helper answer unless one is stored; True when this one was first.

        Answered in time, an open question becomes answered. A late answer (seen after downtime,
        or after the final notice) counts for the median and for !top, not for the 72-hour share:
        the question is expired, and no final notice is planned for an answered question.
        """
        changed = await self._db.execute_changes(
            "UPDATE sumo_questions SET first_answer_at = :at, first_answer_by = :by, "
            "state = CASE WHEN state = 'open' AND :at <= deadline_at THEN 'answered' "
            "WHEN state = 'open' THEN 'expired' ELSE state END "
            "WHERE id = :id AND first_answer_at IS NULL AND state IN ('open', 'expired')",
            {"at": to_timestamp(at), "by": answered_by, "id": question_id},
        )
        return changed == 1

    async def answers_checked(self, question_id: int, up_to: int) -> None:
        await self._db.execute(
            "UPDATE sumo_questions SET answers_checked_to = MAX(answers_checked_to, ?) WHERE id = ?",
            (up_to, question_id),
        )

    async def leave_clock(self, question_id: int, reason: str) -> bool:
        changed = await self._db.execute_changes(
            "UPDATE sumo_questions SET state = 'left', left_reason = ? WHERE id = ? AND state = 'open'",
            (reason, question_id),
        )
        return changed == 1

    async def open_not_listed(self, since: datetime, sweep_started: datetime) -> list[TrackedQuestion]:
        """Open questions created after ``since`` that the sweep started at ``sweep_started`` has not seen."""
        rows = await self._db.fetch_all(
            f"SELECT {_COLUMNS} FROM sumo_questions WHERE state = 'open' AND created_at > ? "
            "AND (last_listed_at IS NULL OR last_listed_at < ?) ORDER BY id",
            (to_timestamp(since), to_timestamp(sweep_started)),
        )
        return [_question(r) for r in rows]

    async def listed(self, question_id: int, sweep_started: datetime) -> None:
        await self._db.execute("UPDATE sumo_questions SET last_listed_at = ? WHERE id = ?",
                               (to_timestamp(sweep_started), question_id))

    # ---- batches ----------------------------------------------------------------------------------

    async def plan_batch(self, stage: Stage, as_of: datetime) -> Batch | None:
        """Gather every question that fell due for ``stage`` by ``as_of`` into one new batch.

        In one transaction: the batch row, and each member marked with it (a final batch also
        ends the member's window). Returns None when nothing fell due.
        """
        due_condition = _DUE[stage]
        moment = to_timestamp(as_of)
        async with self._db.transaction():
            rows = await self._db.fetch_all(
                f"SELECT id FROM sumo_questions WHERE {due_condition} ORDER BY deadline_at", {"as_of": moment}
            )
            if not rows:
                return None
            batch_id = await self._db.execute(
                "INSERT INTO sumo_batches (stage, created_at) VALUES (?, ?)", (stage.value, moment)
            )
            member_ids = [row["id"] for row in rows]
            await self._db.execute_many(_MARK_MEMBER[stage], [(batch_id, qid) for qid in member_ids])
        return Batch(batch_id, stage, as_of, None)

    async def unsent_batches(self) -> list[Batch]:
        rows = await self._db.fetch_all(
            "SELECT id, stage, created_at, event_id FROM sumo_batches WHERE sent_at IS NULL ORDER BY id"
        )
        return [_batch(r) for r in rows]

    async def batch_members(self, batch: Batch) -> list[TrackedQuestion]:
        column = "remind_batch" if batch.stage is Stage.REMIND else "final_batch"
        rows = await self._db.fetch_all(
            f"SELECT {_COLUMNS} FROM sumo_questions WHERE {column} = ? ORDER BY deadline_at, id", (batch.id,)
        )
        return [_question(r) for r in rows]

    async def batch_sent(self, batch_id: int, event_id: str, at: datetime) -> None:
        await self._db.execute(
            "UPDATE sumo_batches SET event_id = ?, sent_at = ? WHERE id = ? AND sent_at IS NULL",
            (event_id, to_timestamp(at), batch_id),
        )

    # ---- claims and listings ------------------------------------------------------------------------

    async def take(self, question_id: int, user_id: str, now: datetime, until: datetime) -> TakeOutcome:
        """Claim a question still without a helper's answer unless someone else holds it; taking
        one's own again extends the claim. A question whose window closed still needs an answer."""
        changed = await self._db.execute_changes(
            "UPDATE sumo_questions SET taken_by = ?, taken_until = ? WHERE id = ? "
            "AND state IN ('open', 'expired') AND first_answer_at IS NULL "
            "AND (taken_by IS NULL OR taken_until <= ? OR taken_by = ?)",
            (user_id, to_timestamp(until), question_id, to_timestamp(now), user_id),
        )
        question = await self.get(question_id)
        if changed == 1:
            return TakeResult.TAKEN, question
        if question is None:
            return TakeResult.UNKNOWN, None
        if question.first_answer_at is not None or question.state is QuestionState.LEFT:
            return TakeResult.NOT_OPEN, question
        return TakeResult.TAKEN_BY_OTHER, question

    async def listing(self, which: QuestionFilter, now: datetime, window: timedelta,
                      limit: int) -> tuple[list[TrackedQuestion], int]:
        """Soonest deadline first, at most ``limit`` of them, and how many match in all."""
        condition = _LISTING[which]
        params = {"now": to_timestamp(now), "window_start": to_timestamp(now - window)}
        rows = await self._db.fetch_all(
            f"SELECT {_COLUMNS} FROM sumo_questions WHERE {condition} ORDER BY deadline_at, id LIMIT :limit",
            {**params, "limit": limit},
        )
        total = await self._db.fetch_one(f"SELECT COUNT(*) FROM sumo_questions WHERE {condition}", params)
        return [_question(r) for r in rows], int(total[0]) if total else 0

    async def with_id_ending(self, digits: str, created_after: datetime) -> list[TrackedQuestion]:
        """Questions of the period whose ID ends with the digits (the short IDs of !questions)."""
        rows = await self._db.fetch_all(
            f"SELECT {_COLUMNS} FROM sumo_questions WHERE CAST(id AS TEXT) LIKE ? AND created_at > ? "
            "ORDER BY deadline_at",
            (f"%{digits}", to_timestamp(created_after)),
        )
        return [_question(r) for r in rows]

    async def ids_created_after(self, since: datetime) -> list[int]:
        rows = await self._db.fetch_all(
            "SELECT id FROM sumo_questions WHERE created_at > ?", (to_timestamp(since),)
        )
        return [int(r["id"]) for r in rows]

    # ---- numbers -------------------------------------------------------------------------------------

    async def first_answer_counts(self, since: datetime) -> list[tuple[str, int]]:
        """First helper answers since then, per Matrix user (through their linked SUMO name), most first.

        Counted per SUMO name, whole weeks kept (``figure_cache.counts_since``); the names are
        matched with the links afterwards, so a new link counts at once."""
        latest = await self._db.fetch_one("SELECT MAX(first_answer_at) FROM sumo_questions "
                                          "WHERE first_answer_at IS NOT NULL")
        per_name = await counts_since(self._db, "question_helpers", to_timestamp(since),
                                      latest[0] if latest else None, self._first_answers_in)
        if not per_name:
            return []
        rows = await self._db.fetch_all(
            "SELECT l.matrix_user AS matrix_user, SUM(json_extract(j.value, '$[1]')) AS answers "
            "FROM json_each(?) AS j JOIN identity_links AS l ON l.service = 'sumo' "
            "AND l.username = json_extract(j.value, '$[0]') COLLATE NOCASE "
            "GROUP BY l.matrix_user ORDER BY answers DESC, l.matrix_user",
            (json.dumps(list(per_name.items())),),
        )
        return [(r["matrix_user"], int(r["answers"])) for r in rows]

    async def _first_answers_in(self, ranges: Sequence[tuple[float, float]]) -> list[dict[str, int]]:
        return await first_answers_in(self._db, "sumo_questions", ranges)

    async def stats(self, since: datetime) -> QuestionStats:
        rows = await self._db.fetch_all(
            "SELECT state, created_at, deadline_at, first_answer_at FROM sumo_questions WHERE created_at >= ?",
            (to_timestamp(since),),
        )
        counts = {state: 0 for state in QuestionState}
        waits: list[float] = []
        for row in rows:
            counts[QuestionState(row["state"])] += 1
            if row["first_answer_at"] is not None:
                waits.append(row["first_answer_at"] - row["created_at"])
        median = timedelta(seconds=statistics.median(waits)) if waits else None
        return QuestionStats(
            tracked=len(rows),
            answered_in_window=counts[QuestionState.ANSWERED],
            expired=counts[QuestionState.EXPIRED],
            left=counts[QuestionState.LEFT],
            waiting=counts[QuestionState.OPEN],
            median_first_answer=median,
        )


_DUE = {
    Stage.REMIND: "state = 'open' AND remind_batch IS NULL AND remind_at <= :as_of AND deadline_at > :as_of",
    Stage.FINAL: "state = 'open' AND final_batch IS NULL AND deadline_at <= :as_of",
}

_MARK_MEMBER = {
    Stage.REMIND: "UPDATE sumo_questions SET remind_batch = ? WHERE id = ?",
    Stage.FINAL: "UPDATE sumo_questions SET final_batch = ?, state = 'expired' WHERE id = ?",
}

_LISTING = {
    QuestionFilter.OPEN: "state = 'open'",
    QuestionFilter.STALE: "state = 'open' AND remind_at <= :now",
    QuestionFilter.ALL: "created_at > :window_start",
}



def _question(row: Any) -> TrackedQuestion:
    return TrackedQuestion(
        id=int(row["id"]), locale=row["locale"], title=row["title"], asker=row["asker"],
        created_at=from_timestamp(row["created_at"]), remind_at=from_timestamp(row["remind_at"]),
        deadline_at=from_timestamp(row["deadline_at"]), state=QuestionState(row["state"]),
        left_reason=row["left_reason"], first_answer_at=from_optional_timestamp(row["first_answer_at"]),
        first_answer_by=row["first_answer_by"], answers_checked_to=int(row["answers_checked_to"]),
        taken_by=row["taken_by"], taken_until=from_optional_timestamp(row["taken_until"]),
    )


def _batch(row: Any) -> Batch:
    return Batch(int(row["id"]), Stage(row["stage"]), from_timestamp(row["created_at"]), row["event_id"])
