"""What the scheduler promised to send, keyed by (kind, item, stage).

A row is written with its transaction ID before the send and completed with the event ID after,
so a restart knows whether a promise was kept, was never started, or is in doubt (started, not
confirmed) — the last case is resolved by the sender, not here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.clock import from_timestamp, to_timestamp
from bot.storage.database import Database


@dataclass(frozen=True)
class OutboxEntry:
    key: str
    txn_id: str
    room_id: str
    created_at: datetime
    event_id: str | None

    @property
    def sent(self) -> bool:
        return self.event_id is not None


class Outbox:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, key: str) -> OutboxEntry | None:
        row = await self._db.fetch_one(
            "SELECT key, txn_id, room_id, created_at, event_id FROM outbox WHERE key = ?", (key,)
        )
        if row is None:
            return None
        return OutboxEntry(
            row["key"], row["txn_id"], row["room_id"], from_timestamp(row["created_at"]), row["event_id"]
        )

    async def begin(self, key: str, txn_id: str, room_id: str, at: datetime) -> OutboxEntry:
        """Record the intent to send (idempotent: an existing row is kept as it is)."""
        await self._db.execute(
            "INSERT OR IGNORE INTO outbox (key, txn_id, room_id, created_at) VALUES (?, ?, ?, ?)",
            (key, txn_id, room_id, to_timestamp(at)),
        )
        entry = await self.get(key)
        assert entry is not None
        return entry

    async def complete(self, key: str, event_id: str, at: datetime) -> None:
        await self._db.execute(
            "UPDATE outbox SET event_id = ?, sent_at = ? WHERE key = ? AND event_id IS NULL",
            (event_id, to_timestamp(at), key),
        )

    async def forget_before(self, sent_before: datetime, unconfirmed_before: datetime) -> int:
        """Delete rows sent before ``sent_before``, and never-confirmed rows begun before the other."""
        return await self._db.execute_changes(
            "DELETE FROM outbox WHERE (event_id IS NOT NULL AND sent_at < ?) "
            "OR (event_id IS NULL AND created_at < ?)",
            (to_timestamp(sent_before), to_timestamp(unconfirmed_before)),
        )
