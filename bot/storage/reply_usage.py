"""Which common replies are handed out, and how often: one row per ``!reply <key>`` answer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.clock import to_timestamp
from bot.storage.database import Database


@dataclass(frozen=True)
class ReplyCount:
    key: str
    uses: int


class ReplyUsage:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def record(self, key: str, locale: str, user_id: str, at: datetime, *, event_id: str) -> None:
        """Count one use; the same command event is counted once however often it is handled."""
        await self._db.execute(
            "INSERT OR IGNORE INTO reply_usage (command_event_id, reply_key, locale, user_id, used_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (event_id, key, locale, user_id, to_timestamp(at)),
        )

    async def most_used(self, since: datetime, limit: int = 10) -> list[ReplyCount]:
        """The replies used most since ``since``, most used first (ties by key)."""
        rows = await self._db.fetch_all(
            "SELECT reply_key, COUNT(*) AS uses FROM reply_usage WHERE used_at >= ?"
            " GROUP BY reply_key ORDER BY uses DESC, reply_key LIMIT ?",
            (to_timestamp(since), limit),
        )
        return [ReplyCount(row["reply_key"], int(row["uses"])) for row in rows]
