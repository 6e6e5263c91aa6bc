"""The one builder of unit-tier worlds: the bot's own features, wired by ``bot.app.wire_features``.

``build_world`` hands the production ``wire_features`` the configuration (``Settings`` made into a
real ``Config``) and stand-ins for what is not the bot's own: a real sqlite file in the test's folder,
a ``FakeClock``, a ``RecordingSender`` on the real outbox instead of the Matrix sender, two fixed room
IDs instead of joined rooms, made-up direct rooms, and the outside services as their fakes (a Bitly
stand-in behind the real shortener, a Kitsune client pointed at ``tests.fakes.kitsune``). The
dispatcher and scheduler are made as ``build_bot`` makes them, the features attached to them, and
``commands.command_families`` / ``build_command_table`` make the table, so a world has every command
the bot has, in the order ``!help`` lists them.

Partial on purpose (each a parameter of ``wire_features`` or a step ``build_bot`` takes and this
does not): the weekly digest's and the retention pruning's first rows are not planned
(``Features.plan_first``; ``bot.app`` plans them at start, here they would land in every test's
exact list of sent messages, and they have tests of their own); the forum poller is not wired, as
no Discourse client is given (``tests/unit/consults/test_forum.py`` adds it to a world); the
dashboard's web pages are built but served by no HTTP endpoint (``!dashboard`` is here, its sign-in
links made as the bot makes them). ``tests/unit/test_world.py`` checks that a world has the command
table and the scheduled work ``build_bot`` makes.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from bot.app import Features, OutsideServices, wire_features
from bot.clock import FakeClock
from bot.config import (
    CheckConfig,
    CommandsConfig,
    Config,
    ConsultsConfig,
    EscalationsConfig,
    ForumConfig,
    HttpConfig,
    MatrixConfig,
    ModeratorsConfig,
    RepliesConfig,
    RoomsConfig,
    SchedulerConfig,
    ShortenerConfig,
    SumoConfig,
    shipped_replies_path,
)
from bot.features.consults.service import ConsultService
from bot.features.escalations.service import EscalationService
from bot.features.launches.service import LaunchService
from bot.features.links.policy import DEFAULT_ALLOWED_HOSTS
from bot.features.links.shortener import LinkShortener
from bot.features.questions.tracker import SumoQuestions
from bot.features.replies.catalog import ReplyCatalog
from bot.features.replies.library import ReplyLibrary
from bot.features.stats.report import StatsReporter
from bot.framework.command import CommandTable
from bot.framework.dispatcher import Dispatcher
from bot.framework.native import Events, NativeInteractions
from bot.matrix.events import IncomingMessage
from bot.matrix.moderators import Moderators
from bot.ops.metrics import Metrics
from bot.scheduler import RetryPolicy, Scheduler
from bot.services.discourse import DiscourseClient
from bot.services.kitsune import KitsuneClient
from bot.storage import Storage
from commands import build_command_table, command_families
from tests.fakes.sender import RecordingSender
from tests.unit import events

CONTRIBUTORS = "!contributors:example.org"
MODERATORS_ROOM = "!moderators:example.org"
BOT = "@fxhelpbot:example.org"
ALICE, EVE, MOD = "@alice:example.org", "@eve:example.org", "@mod:example.org"
VERSION = "test"

_event_numbers = itertools.count(1)


@dataclass
class FixedRooms:
    """The bot's two rooms, already joined (``bot.matrix.rooms.Rooms`` without the homeserver)."""

    contributors: str = CONTRIBUTORS
    moderators: str = MODERATORS_ROOM

    def ids(self) -> list[str]:
        return [self.contributors, self.moderators]


class FixedDirectRooms:
    """``bot.matrix.direct.DirectRooms`` without the homeserver: one direct room per person, made up."""

    async def room_with(self, user_id: str) -> str:
        return f"!dm-{user_id.lstrip('@').split(':')[0]}:example.org"


def _default(section: type[BaseModel], name: str) -> Any:
    """A configuration default, read from the config model rather than typed again here."""
    return section.model_fields[name].default


@dataclass
class Settings:
    """The configuration values a test may change (the config's defaults, unless given); ``config``
    makes the real ``Config`` that ``wire_features`` reads."""

    prefix: str = _default(CommandsConfig, "prefix")
    edit_window: timedelta = _default(CommandsConfig, "edit_window")
    default_locale: str = _default(RepliesConfig, "default_locale")
    moderators: Sequence[str] = (MOD,)
    min_power_level: int = _default(ModeratorsConfig, "min_power_level")
    pings: Sequence[str] = (MOD,)
    consult_window: timedelta = _default(ConsultsConfig, "window")
    consult_remind_after: timedelta = _default(ConsultsConfig, "remind_after")
    reping_after: timedelta = _default(EscalationsConfig, "reping_after")
    allowed_hosts: tuple[str, ...] = DEFAULT_ALLOWED_HOSTS
    political: Sequence[str] = ()
    profanity: Sequence[str] = ()
    library: Path = field(default_factory=shipped_replies_path)
    tick: timedelta = _default(SchedulerConfig, "tick")
    sumo: SumoConfig | None = None
    forum_enabled: bool = False  # identities ask for a forum name; the poller needs a Discourse client
    forum: ForumConfig | None = None  # the forum's settings, when a test talks to a fake forum
    dashboard_url: str | None = None  # http.public_url; None: the HTTP endpoint is off

    def config(self) -> Config:
        return Config(
            matrix=MatrixConfig(homeserver="http://127.0.0.1:1", user_id=BOT, password="unused"),  # type: ignore[arg-type]
            rooms=RoomsConfig(contributors=CONTRIBUTORS, moderators=MODERATORS_ROOM),
            moderators=ModeratorsConfig(users=list(self.moderators), min_power_level=self.min_power_level,
                                        ping=list(self.pings)),
            commands=CommandsConfig(prefix=self.prefix, edit_window=self.edit_window),
            replies=RepliesConfig(path=self.library, default_locale=self.default_locale),  # type: ignore[arg-type]
            check=CheckConfig(political=list(self.political), profanity=list(self.profanity)),
            shortener=ShortenerConfig(allowed_hosts=list(self.allowed_hosts)),
            consults=ConsultsConfig(window=self.consult_window, remind_after=self.consult_remind_after),
            escalations=EscalationsConfig(reping_after=self.reping_after),
            sumo=self.sumo,
            forum=self.forum or (ForumConfig(base_url="http://127.0.0.1:1", api_key="unused",  # type: ignore[arg-type]
                                                 api_username="fxhelp-bot", category_id=1)
                                     if self.forum_enabled else None),
            scheduler=SchedulerConfig(tick=self.tick),
            http=HttpConfig(listen=None if self.dashboard_url is None else "127.0.0.1:0",
                            public_url=self.dashboard_url),
        )


@dataclass
class BotWorld:
    storage: Storage
    clock: FakeClock
    sender: RecordingSender
    metrics: Metrics
    rooms: FixedRooms
    moderators: Moderators
    settings: Settings
    catalog: ReplyCatalog
    shortener: LinkShortener
    consults: ConsultService
    escalations: EscalationService
    launches: LaunchService
    reporter: StatsReporter
    sumo_questions: SumoQuestions | None
    kitsune: KitsuneClient | None
    table: CommandTable
    dispatcher: Dispatcher
    scheduler: Scheduler
    features: Features

    def message(self, who: str, body: str, *, room_id: str = CONTRIBUTORS, event_id: str | None = None,
                **where: Any) -> IncomingMessage:
        """A realistic room message sent now (``where``: thread_root, reply_to, msgtype)."""
        return events.room_message(room_id, who, body, event_id=event_id or f"$world{next(_event_numbers)}",
                                   sent_at=self.clock.now(), **where)

    async def handle(self, message: IncomingMessage) -> list[str]:
        """Hand one message to the dispatcher; the plain text of every message the bot sent for it."""
        before = len(self.sender.sent)
        await self.dispatcher.handle(message)
        return [sent.text for sent in self.sender.sent[before:] if sent.kind == "message"]

    async def answer(self, who: str, body: str, **where: Any) -> str:
        """Send one command; the bot's one answer to it."""
        message = self.message(who, body, **where)
        before = len(self.sender.sent)
        await self.dispatcher.handle(message)
        answers = [s for s in self.sender.sent[before:] if s.reply_to == message.event_id and s.kind == "message"]
        assert len(answers) == 1, self.sender.sent[before:]
        return answers[0].text

    def native(self, events: Events) -> NativeInteractions:
        """The sync side's native interactions (edits, reactions) on top, as ``bot.app`` puts them;
        ``events``: the homeserver's event lookup, standing in for the Matrix client."""
        return NativeInteractions(self.dispatcher, self.storage.answers, self.storage.handled_events,
                                  self.sender, events, self.moderators, self.clock, self.metrics,  # type: ignore[arg-type]
                                  self.settings.edit_window)

    async def tick(self, times: int = 1) -> None:
        for _ in range(times):
            await self.scheduler.tick()

    async def close(self) -> None:
        for close in reversed(self.features.closers):
            result = close()
            if result is not None:
                await result
        await self.storage.close()


@functools.cache
def _shipped_library(path: Path) -> ReplyLibrary:
    return ReplyLibrary.load(path)


async def _catalog(path: Path) -> ReplyCatalog:
    """The shipped library is read once per test session (it never changes under a test, and reading it
    is most of a world's build time); any other folder is read each time, as a test may edit it."""
    if path == shipped_replies_path():
        return ReplyCatalog(path, _shipped_library(path))
    return await ReplyCatalog.load(path)


async def build_world(path: Path | None, clock: FakeClock | None = None, settings: Settings | None = None, *,
                      bitly: Any = None, kitsune: KitsuneClient | None = None, sender_name: str = "fake",
                      retry: RetryPolicy | None = None, storage: Storage | None = None,
                      shortener: LinkShortener | None = None, discourse: DiscourseClient | None = None,
                      tick_jobs: bool = True) -> BotWorld:
    """A world on the sqlite file at ``path`` (or on ``storage``, already open, e.g. across a "restart").

    ``bitly``: what the shortener asks (None: shortening is not set up); ``kitsune``: a client of a
    fake SUMO, needed with ``settings.sumo``; ``discourse``: a client of a fake forum, with
    ``settings.forum_enabled`` (without it the forum poller is not wired); ``shortener``: only for a test that must replace the
    real one (it says why); ``tick_jobs=False``: the pollers' per-tick jobs are not attached to the
    scheduler, for a test that calls them itself to decide when an outside service is read."""
    clock = clock or FakeClock()
    settings = settings or Settings()
    if storage is None:
        assert path is not None, "a world needs a database file or an open storage"
        storage = await Storage.open(path)
    metrics = Metrics()
    sender = RecordingSender(storage.outbox, clock, sender_name)
    rooms = FixedRooms()
    config = settings.config()
    moderators = Moderators(config.moderators.users, config.moderators.min_power_level)
    features = wire_features(config, storage, sender, clock, rooms, moderators, metrics,  # type: ignore[arg-type]
                             await _catalog(settings.library), OutsideServices(bitly, kitsune, discourse),
                             FixedDirectRooms(), version=VERSION, shortener=shortener)  # type: ignore[arg-type]
    # The rest as bot.app.build_bot does it, but for features.plan_first (see the module's docstring).
    wiring = features.wiring
    dispatcher = Dispatcher(wiring.table, config.commands.prefix, BOT, rooms.ids, moderators, sender,  # type: ignore[arg-type]
                            storage.handled_events, clock, metrics)
    scheduler = Scheduler(storage.schedule, clock, metrics, config.scheduler.tick, retry)
    if not tick_jobs:
        features.every_tick.clear()
    features.attach(scheduler, dispatcher)
    build_command_table(command_families(wiring), wiring.table)
    return BotWorld(storage, clock, sender, metrics, rooms, moderators, settings, wiring.replies, wiring.shortener,
                    wiring.consults, wiring.escalations, wiring.launches, wiring.reporter, wiring.sumo_questions,
                    wiring.kitsune, wiring.table, dispatcher, scheduler, features)
