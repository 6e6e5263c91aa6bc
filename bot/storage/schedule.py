"""Due work of every kind in one indexed table; the scheduler's only question is "what is due?".

A stage that keeps failing is moved later (``retry_later``) and, after the scheduler's cap, parked:
moved to ``schedule_parked`` with its last error, out of the loop's way until it is planned again,
its item is closed, or a restart gives it one more try.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.clock import from_timestamp, to_timestamp
from bot.storage.database import Database

PlanListener = Callable[[datetime], None]


@dataclass(frozen=True)
class DueWork:
    kind: str
    item_id: str
    stage: str
    due_at: datetime
    attempts: int = 0  # failures so far

    @property
    def name(self) -> str:
        return f"{self.kind}:{self.item_id}:{self.stage}"


@dataclass(frozen=True)
class ParkedWork(DueWork):
    error: str = ""
    parked_at: datetime | None = None


def _due_work(row: object) -> DueWork:
    return DueWork(row["kind"], row["item_id"], row["stage"], from_timestamp(row["due_at"]),  # type: ignore[index]
                   row["attempts"])  # type: ignore[index]


class Schedule:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._listeners: list[PlanListener] = []

    def on_plan(self, listener: PlanListener) -> None:
        """Be told each time a stage is planned (the scheduler wakes when it is sooner than its sleep)."""
        self._listeners.append(listener)

    async def plan(self, kind: str, item_id: str | int, stage: str, due_at: datetime) -> None:
        """Schedule (or move) one stage of one item; a parked copy of it is dropped (this is the new plan)."""
        key = (kind, str(item_id), stage)
        await self._db.execute(
            "INSERT INTO schedule (kind, item_id, stage, due_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (kind, item_id, stage) DO UPDATE SET due_at = excluded.due_at, attempts = 0",
            (*key, to_timestamp(due_at)),
        )
        await self._db.execute("DELETE FROM schedule_parked WHERE kind = ? AND item_id = ? AND stage = ?", key)
        for listener in self._listeners:
            listener(due_at)

    async def due(self, now: datetime, limit: int = 100) -> list[DueWork]:
        rows = await self._db.fetch_all(
            "SELECT kind, item_id, stage, due_at, attempts FROM schedule WHERE due_at <= ? "
            "ORDER BY due_at LIMIT ?",
            (to_timestamp(now), limit),
        )
        return [_due_work(r) for r in rows]

    async def due_and_next(self, now: datetime, limit: int = 100) -> tuple[list[DueWork], datetime | None]:
        """The oldest ``limit`` rows due by ``now`` and when the first later one falls due: one statement,
        both halves a range scan of ``schedule_by_due``."""
        rows = await self._db.fetch_all(
            "SELECT * FROM (SELECT kind, item_id, stage, due_at, attempts FROM schedule WHERE due_at <= :now "
            "ORDER BY due_at LIMIT :limit) "
            "UNION ALL "
            "SELECT * FROM (SELECT kind, item_id, stage, due_at, attempts FROM schedule WHERE due_at > :now "
            "ORDER BY due_at LIMIT 1)",
            {"now": to_timestamp(now), "limit": limit},
        )
        works = [_due_work(r) for r in rows]
        if works and works[-1].due_at > now:
            return works[:-1], works[-1].due_at
        return works, None

    async def next_due_at(self) -> datetime | None:
        row = await self._db.fetch_one("SELECT MIN(due_at) AS due_at FROM schedule")
        return None if row is None or row["due_at"] is None else from_timestamp(row["due_at"])

    async def done_many(self, works: list[DueWork]) -> None:
        """Delete a tick's finished rows in one statement (one commit instead of one per row)."""
        await self._db.execute_many(
            "DELETE FROM schedule WHERE kind = ? AND item_id = ? AND stage = ?",
            [(w.kind, w.item_id, w.stage) for w in works],
        )

    async def retry_later(self, work: DueWork, due_at: datetime, attempts: int) -> None:
        """Move a failed stage to ``due_at`` with its count of failures."""
        await self._db.execute(
            "UPDATE schedule SET due_at = ?, attempts = ? WHERE kind = ? AND item_id = ? AND stage = ?",
            (to_timestamp(due_at), attempts, work.kind, work.item_id, work.stage),
        )

    async def park(self, work: DueWork, attempts: int, error: str, now: datetime) -> None:
        async with self._db.transaction():
            await self._db.execute(
                "INSERT OR REPLACE INTO schedule_parked (kind, item_id, stage, due_at, attempts, error, parked_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (work.kind, work.item_id, work.stage, to_timestamp(work.due_at), attempts, error, to_timestamp(now)),
            )
            await self._db.execute(
                "DELETE FROM schedule WHERE kind = ? AND item_id = ? AND stage = ?",
                (work.kind, work.item_id, work.stage),
            )

    async def parked(self, limit: int = 1000) -> list[ParkedWork]:
        rows = await self._db.fetch_all(
            "SELECT kind, item_id, stage, due_at, attempts, error, parked_at FROM schedule_parked "
            "ORDER BY parked_at LIMIT ?",
            (limit,),
        )
        return [ParkedWork(r["kind"], r["item_id"], r["stage"], from_timestamp(r["due_at"]), r["attempts"],
                           r["error"], from_timestamp(r["parked_at"])) for r in rows]

    async def parked_count(self) -> int:
        row = await self._db.fetch_one("SELECT COUNT(*) FROM schedule_parked")
        return int(row[0]) if row else 0

    async def unpark_all(self, due_at: datetime, attempts: int) -> int:
        """Put every parked stage back, due at ``due_at`` with ``attempts`` failures counted; returns how many."""
        async with self._db.transaction():
            moved = await self._db.execute_changes(
                "INSERT OR IGNORE INTO schedule (kind, item_id, stage, due_at, attempts) "
                "SELECT kind, item_id, stage, ?, ? FROM schedule_parked",
                (to_timestamp(due_at), attempts),
            )
            await self._db.execute("DELETE FROM schedule_parked")
        if moved:
            for listener in self._listeners:
                listener(due_at)
        return moved

    async def cancel_item(self, kind: str, item_id: str | int) -> None:
        """Drop every remaining stage of an item (it was answered or closed), parked ones included."""
        await self._db.execute(
            "DELETE FROM schedule WHERE kind = ? AND item_id = ?", (kind, str(item_id))
        )
        await self._db.execute(
            "DELETE FROM schedule_parked WHERE kind = ? AND item_id = ?", (kind, str(item_id))
        )

    async def stages_of(self, kind: str, item_id: str | int) -> list[DueWork]:
        rows = await self._db.fetch_all(
            "SELECT kind, item_id, stage, due_at, attempts FROM schedule WHERE kind = ? AND item_id = ? "
            "ORDER BY due_at",
            (kind, str(item_id)),
        )
        return [_due_work(r) for r in rows]

    async def has_kind(self, kind: str) -> bool:
        row = await self._db.fetch_one("SELECT 1 FROM schedule WHERE kind = ? LIMIT 1", (kind,))
        return row is not None
