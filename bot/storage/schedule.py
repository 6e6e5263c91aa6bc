"""Due work of every kind in one indexed table; the scheduler's only question is "what is due?"."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.clock import from_timestamp, to_timestamp
from bot.storage.database import Database


@dataclass(frozen=True)
class DueWork:
    kind: str
    item_id: str
    stage: str
    due_at: datetime


class Schedule:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def plan(self, kind: str, item_id: str | int, stage: str, due_at: datetime) -> None:
        """Schedule (or move) one stage of one item."""
        await self._db.execute(
            "INSERT INTO schedule (kind, item_id, stage, due_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (kind, item_id, stage) DO UPDATE SET due_at = excluded.due_at",
            (kind, str(item_id), stage, to_timestamp(due_at)),
        )

    async def due(self, now: datetime, limit: int = 100) -> list[DueWork]:
        rows = await self._db.fetch_all(
            "SELECT kind, item_id, stage, due_at FROM schedule WHERE due_at <= ? "
            "ORDER BY due_at LIMIT ?",
            (to_timestamp(now), limit),
        )
        return [DueWork(r["kind"], r["item_id"], r["stage"], from_timestamp(r["due_at"])) for r in rows]

    async def next_due_at(self) -> datetime | None:
        row = await self._db.fetch_one("SELECT MIN(due_at) AS due_at FROM schedule")
        return None if row is None or row["due_at"] is None else from_timestamp(row["due_at"])

    async def done(self, work: DueWork) -> None:
        await self._db.execute(
            "DELETE FROM schedule WHERE kind = ? AND item_id = ? AND stage = ?",
            (work.kind, work.item_id, work.stage),
        )

    async def done_many(self, works: list[DueWork]) -> None:
        """Delete a tick's finished rows in one statement (one commit instead of one per row)."""
        await self._db.execute_many(
            "DELETE FROM schedule WHERE kind = ? AND item_id = ? AND stage = ?",
            [(w.kind, w.item_id, w.stage) for w in works],
        )

    async def cancel_item(self, kind: str, item_id: str | int) -> None:
        """Drop every remaining stage of an item (it was answered or closed)."""
        await self._db.execute(
            "DELETE FROM schedule WHERE kind = ? AND item_id = ?", (kind, str(item_id))
        )

    async def stages_of(self, kind: str, item_id: str | int) -> list[DueWork]:
        rows = await self._db.fetch_all(
            "SELECT kind, item_id, stage, due_at FROM schedule WHERE kind = ? AND item_id = ? "
            "ORDER BY due_at",
            (kind, str(item_id)),
        )
        return [DueWork(r["kind"], r["item_id"], r["stage"], from_timestamp(r["due_at"])) for r in rows]

    async def has_kind(self, kind: str) -> bool:
        row = await self._db.fetch_one("SELECT 1 FROM schedule WHERE kind = ? LIMIT 1", (kind,))
        return row is not None
