"""Short links already made, by normalised long URL; the first one saved for a URL is kept."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.clock import from_timestamp, to_timestamp
from bot.storage.database import Database


@dataclass(frozen=True)
class StoredShortLink:
    long_url: str
    short_url: str
    created_at: datetime


class ShortLinks:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, long_url: str) -> StoredShortLink | None:
        row = await self._db.fetch_one(
            "SELECT long_url, short_url, created_at FROM short_links WHERE long_url = ?", (long_url,)
        )
        if row is None:
            return None
        return StoredShortLink(row["long_url"], row["short_url"], from_timestamp(row["created_at"]))

    async def save(self, long_url: str, short_url: str, at: datetime) -> StoredShortLink:
        """Store a new short link; if one was already stored for ``long_url``, that one stays.

        Returns what is stored now, so the caller always hands out the link that won.
        """
        await self._db.execute(
            "INSERT OR IGNORE INTO short_links (long_url, short_url, created_at) VALUES (?, ?, ?)",
            (long_url, short_url, to_timestamp(at)),
        )
        stored = await self.get(long_url)
        assert stored is not None
        return stored

    async def replace(self, long_url: str, short_url: str, at: datetime) -> StoredShortLink:
        """Store ``short_url`` for ``long_url`` in place of what was stored (a link found to be wrong)."""
        await self._db.execute(
            "INSERT INTO short_links (long_url, short_url, created_at) VALUES (?, ?, ?) "
            "ON CONFLICT (long_url) DO UPDATE SET short_url = excluded.short_url, created_at = excluded.created_at",
            (long_url, short_url, to_timestamp(at)),
        )
        return StoredShortLink(long_url, short_url, at)

    async def count(self) -> int:
        row = await self._db.fetch_one("SELECT COUNT(*) FROM short_links")
        return int(row[0]) if row is not None else 0
