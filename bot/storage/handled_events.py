"""Command events already answered: the second line of defence against answering twice."""

from __future__ import annotations

from datetime import datetime

from bot.clock import to_timestamp
from bot.storage.database import Database


class HandledEvents:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def was_handled(self, event_id: str) -> bool:
        row = await self._db.fetch_one("SELECT 1 FROM handled_events WHERE event_id = ?", (event_id,))
        return row is not None

    async def mark_handled(self, event_id: str, room_id: str, at: datetime) -> None:
        await self._db.write(
            "INSERT OR IGNORE INTO handled_events (event_id, room_id, handled_at) VALUES (?, ?, ?)",
            (event_id, room_id, to_timestamp(at)),
        )

    async def forget_before(self, moment: datetime) -> int:
        return await self._db.execute_changes(
            "DELETE FROM handled_events WHERE handled_at < ?", (to_timestamp(moment),)
        )
