"""Small named facts: the Matrix session, the sync token, whether history was skipped."""

from __future__ import annotations

from bot.storage.database import Database


class BotState:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, key: str) -> str | None:
        row = await self._db.fetch_one("SELECT value FROM bot_state WHERE key = ?", (key,))
        return None if row is None else row["value"]

    async def set(self, key: str, value: str) -> None:
        await self._db.write(
            "INSERT INTO bot_state (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    async def set_many(self, values: dict[str, str]) -> None:
        """Several facts in one transaction: all are written, or none (a sync token with its marks)."""
        async with self._db.transaction():
            for key, value in values.items():
                await self.set(key, value)

    async def delete(self, key: str) -> None:
        await self._db.execute("DELETE FROM bot_state WHERE key = ?", (key,))
