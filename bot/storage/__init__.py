"""The storage layer: every SQL statement of the bot lives in this package.

``Storage`` opens the database and gives one repository per concept; rows come back as small
frozen dataclasses.
"""

from __future__ import annotations

from pathlib import Path

from bot.storage.answers import CommandAnswers
from bot.storage.bot_state import BotState
from bot.storage.consults import ConsultStore
from bot.storage.dashboard_sessions import DashboardSessions
from bot.storage.database import Database, DatabaseTooNew
from bot.storage.escalations import EscalationStore
from bot.storage.figures import Figures
from bot.storage.forum_topics import ForumTopics
from bot.storage.handled_events import HandledEvents
from bot.storage.history import HistoryImport
from bot.storage.identities import Identities
from bot.storage.launches import LaunchStore
from bot.storage.outbox import Outbox
from bot.storage.questions import QuestionStore
from bot.storage.reply_usage import ReplyUsage
from bot.storage.schedule import Schedule
from bot.storage.short_links import ShortLinks

__all__ = ["Database", "DatabaseTooNew", "Storage"]


class Storage:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.state = BotState(db)
        self.handled_events = HandledEvents(db)
        self.outbox = Outbox(db)
        self.schedule = Schedule(db)
        self.short_links = ShortLinks(db)
        self.escalations = EscalationStore(db)
        self.consults = ConsultStore(db)
        self.questions = QuestionStore(db)
        self.identities = Identities(db)
        self.forum_topics = ForumTopics(db)
        self.reply_usage = ReplyUsage(db)
        self.launches = LaunchStore(db)
        self.answers = CommandAnswers(db)
        self.figures = Figures(db)
        self.dashboard_sessions = DashboardSessions(db)
        self.history = HistoryImport(db)

    @classmethod
    async def open(cls, path: Path) -> Storage:
        return cls(await Database.open(path))

    async def close(self) -> None:
        await self.db.close()
