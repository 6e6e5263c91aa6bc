"""The storage layer: every SQL statement of the bot lives in this package.

``Storage`` opens the database and gives one repository per concept; rows come back as small
frozen dataclasses.
"""

from __future__ import annotations

from pathlib import Path

from bot.storage.bot_state import BotState
from bot.storage.database import Database, DatabaseTooNew
from bot.storage.handled_events import HandledEvents
from bot.storage.outbox import Outbox
from bot.storage.schedule import Schedule

__all__ = ["Database", "DatabaseTooNew", "Storage"]


class Storage:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.state = BotState(db)
        self.handled_events = HandledEvents(db)
        self.outbox = Outbox(db)
        self.schedule = Schedule(db)

    @classmethod
    async def open(cls, path: Path) -> Storage:
        return cls(await Database.open(path))

    async def close(self) -> None:
        await self.db.close()
