"""Bulk rows the bot's own paths never write: past consults, forum questions and escalations, as rows
that already happened, and many open consults at once with their schedule rows.

For benchmarks, screenshots and imports from another tracker: one transaction per call, rows
streamed to ``executemany``. Past rows get nothing scheduled; ``open_consults`` plans their stages.
The SQL stays here, in bot/storage/, rather than in bench/.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from bot.clock import from_timestamp, to_timestamp
from bot.storage.consults import Consult, NewConsult
from bot.storage.database import Database
from bot.storage.escalations import Escalation
from bot.storage.questions import TrackedQuestion


def _ts(moment: datetime | None) -> float | None:
    return None if moment is None else to_timestamp(moment)


class HistoryImport:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def consults(self, rows: Iterable[Consult]) -> None:
        async with self._db.transaction():
            await self._db.execute_many(
                "INSERT INTO consults (requester, room_id, command_event_id, thread_event_id, tweet_url, thoughts, "
                "state, opened_at, window_closes_at, first_answer_at, first_answer_by, closed_at, closed_by) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                ((c.requester, c.room_id, c.command_event_id, c.thread_event_id, c.tweet_url, c.thoughts, c.state.value,
                  _ts(c.opened_at), _ts(c.window_closes_at), _ts(c.first_answer_at), c.first_answer_by,
                  _ts(c.closed_at), c.closed_by) for c in rows))

    async def questions(self, rows: Iterable[TrackedQuestion]) -> None:
        async with self._db.transaction():
            await self._db.execute_many(
                "INSERT INTO sumo_questions (id, locale, title, asker, created_at, remind_at, deadline_at, state, "
                "left_reason, first_answer_at, first_answer_by, taken_by, taken_until, first_seen_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                ((q.id, q.locale, q.title, q.asker, _ts(q.created_at), _ts(q.remind_at), _ts(q.deadline_at),
                  q.state.value, q.left_reason, _ts(q.first_answer_at), q.first_answer_by, q.taken_by,
                  _ts(q.taken_until), _ts(q.created_at)) for q in rows))

    async def escalations(self, rows: Iterable[Escalation]) -> None:
        async with self._db.transaction():
            for e in rows:
                escalation_id = await self._db.execute(
                    "INSERT INTO escalations (requester, room_id, command_event_id, thread_root, description, link, "
                    "link_key, reason, state, created_at, acknowledged_by, acknowledged_at, resolved_by, resolved_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (e.requester, e.room_id, e.command_event_id, e.thread_root, e.description, e.link, e.link_key,
                     e.reason, e.state, _ts(e.created_at), e.acknowledged_by, _ts(e.acknowledged_at), e.resolved_by,
                     _ts(e.resolved_at)))
                await self._db.execute(
                    "INSERT INTO escalation_reports (escalation_id, reporter, room_id, command_event_id, thread_root, "
                    "reported_at) VALUES (?, ?, ?, ?, ?, ?)",
                    (escalation_id, e.requester, e.room_id, e.command_event_id, e.thread_root, _ts(e.created_at)))

    async def open_consults(self, consults: Iterable[NewConsult], kind: str,
                            stages: Sequence[tuple[str, timedelta]]) -> None:
        """Insert many open consults with their schedule rows (of ``kind``) in one transaction.

        ``stages`` are (stage name, time after opening); rows are streamed, never held in a list.
        """
        async with self._db.transaction():
            row = await self._db.fetch_one("SELECT COALESCE(MAX(id), 0) + 1 FROM consults")
            first_id = int(row[0]) if row else 1
            await self._db.execute_many(
                "INSERT INTO consults (requester, room_id, command_event_id, tweet_url, thoughts, opened_at, "
                "window_closes_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                ((new.requester, new.room_id, new.command_event_id, new.tweet_url, new.thoughts,
                  to_timestamp(new.opened_at), to_timestamp(new.window_closes_at)) for new in consults),
            )
            for stage, after in stages:
                await self._db.execute(
                    "INSERT INTO schedule (kind, item_id, stage, due_at) "
                    "SELECT ?, CAST(id AS TEXT), ?, opened_at + ? FROM consults WHERE id >= ?",
                    (kind, stage, after.total_seconds(), first_id),
                )

    async def open_consult_deadlines(self) -> list[tuple[int, datetime]]:
        """Every open consult's window end: what a timer-per-consult design must load at start (the
        scheduler benchmark's baseline)."""
        rows = await self._db.fetch_all("SELECT id, window_closes_at FROM consults WHERE state = 'open'")
        return [(r[0], from_timestamp(r[1])) for r in rows]
