"""The one builder of unit-tier worlds: the bot's real command table, wired the way ``bot.app`` wires it.

The services are built as ``bot.app.build_bot`` builds them and handed to the production
``commands.Wiring``; ``commands.command_families`` and ``build_command_table`` make the table, so a
world has every command the bot has, in the order ``!help`` lists them. What is not the bot's own is
a stand-in at the edge: a real sqlite file in the test's folder, a ``FakeClock``, a
``RecordingSender`` on the real outbox instead of the Matrix sender, two fixed room IDs instead of
joined rooms, and the outside services as their fakes (a Bitly stand-in behind the real shortener, a
Kitsune client pointed at ``tests.fakes.kitsune``).

Not wired here, on purpose: the weekly digest and the retention pruning (``bot.app`` plans their
first rows at start; here they would land in every test's exact list of sent messages, and they have
tests of their own), the forum poller (``tests/unit/consults/test_forum.py`` adds it to a world),
and the dashboard's web pages (``!dashboard`` is here, its sign-in links made as the bot makes them).
``tests/unit/test_world.py`` checks that a world's command table is the one ``build_bot`` makes.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.clock import FakeClock
from bot.config import SumoConfig, shipped_replies_path
from bot.features.consults.service import KIND as CONSULT_KIND
from bot.features.consults.service import ConsultService, ConsultSettings
from bot.features.drafts.check import default_check_rules
from bot.features.escalations.service import EscalationService, holding_reply_in
from bot.features.launches.service import KIND as LAUNCH_KIND
from bot.features.launches.service import LaunchService
from bot.features.links.policy import DEFAULT_ALLOWED_HOSTS
from bot.features.links.shortener import LinkShortener
from bot.features.questions.tracker import SumoQuestions
from bot.features.replies.catalog import ReplyCatalog
from bot.features.replies.library import ReplyLibrary
from bot.features.stats.report import AnswerSource, StatsReporter
from bot.framework.command import CommandTable
from bot.framework.dispatcher import Dispatcher
from bot.matrix.events import IncomingMessage
from bot.matrix.moderators import Moderators
from bot.ops.dashboard.signin import SignIn
from bot.ops.metrics import Metrics
from bot.scheduler import RetryPolicy, Scheduler
from bot.services.kitsune import KitsuneClient
from bot.storage import Storage
from commands import Wiring, build_command_table, command_families
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


@dataclass
class Settings:
    """The configuration values ``bot.app`` reads when it wires the commands (its defaults, unless given)."""

    prefix: str = "!"
    default_locale: str = "en-US"
    moderators: Sequence[str] = (MOD,)
    min_power_level: int = 50
    pings: Sequence[str] = (MOD,)
    consult_window: timedelta = timedelta(hours=72)
    consult_remind_after: timedelta = timedelta(hours=48)
    reping_after: timedelta = timedelta(hours=4)
    allowed_hosts: tuple[str, ...] = DEFAULT_ALLOWED_HOSTS
    political: Sequence[str] = ()
    profanity: Sequence[str] = ()
    library: Path = field(default_factory=shipped_replies_path)
    tick: timedelta = timedelta(seconds=30)
    sumo: SumoConfig | None = None
    forum_enabled: bool = False
    dashboard_url: str | None = None  # http.public_url; None: the HTTP endpoint is off


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

    async def tick(self, times: int = 1) -> None:
        for _ in range(times):
            await self.scheduler.tick()

    async def close(self) -> None:
        if self.sumo_questions is not None:
            await self.sumo_questions.close()
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
                      shortener: LinkShortener | None = None) -> BotWorld:
    """A world on the sqlite file at ``path`` (or on ``storage``, already open, e.g. across a "restart").

    ``bitly``: what the shortener asks (None: shortening is not set up); ``kitsune``: a client of a
    fake SUMO, needed with ``settings.sumo``; ``shortener``: only for a test that must replace the
    real one (it says why)."""
    clock = clock or FakeClock()
    settings = settings or Settings()
    if storage is None:
        assert path is not None, "a world needs a database file or an open storage"
        storage = await Storage.open(path)
    metrics = Metrics()
    sender = RecordingSender(storage.outbox, clock, sender_name)
    rooms = FixedRooms()
    moderators = Moderators(list(settings.moderators), settings.min_power_level)
    catalog = await _catalog(settings.library)
    table = CommandTable()
    dispatcher = Dispatcher(table, settings.prefix, BOT, rooms.ids, moderators, sender,  # type: ignore[arg-type]
                            storage.handled_events, clock, metrics)
    scheduler = Scheduler(storage.schedule, clock, metrics, settings.tick, retry)
    if shortener is None:
        shortener = LinkShortener(storage.short_links, bitly, settings.allowed_hosts, clock, storage.state)

    # From here on, as bot.app.build_bot wires it.
    consults = ConsultService(storage, sender, clock, rooms, ConsultSettings(  # type: ignore[arg-type]
        settings.consult_window, settings.consult_remind_after, tuple(settings.pings), settings.prefix))
    scheduler.handle(CONSULT_KIND, consults.handle_due)
    dispatcher.add_observer(consults.observe_message)
    sumo = settings.sumo
    reporter = StatsReporter(storage, clock, settings.consult_window, sumo.window if sumo else None)
    answer_sources = [AnswerSource("consults", storage.consults.first_answer_counts)]
    escalations = EscalationService(storage.escalations, storage.schedule, sender, clock,  # type: ignore[arg-type]
                                    lambda: rooms.moderators, settings.pings, settings.reping_after, settings.prefix)
    scheduler.handle("escalation", escalations.handle_due)
    launches = LaunchService(storage, sender, clock, rooms, catalog, shortener, settings.default_locale,
                             settings.prefix)
    scheduler.handle(LAUNCH_KIND, launches.handle_due)

    async def current_holding_reply() -> str:
        return holding_reply_in(catalog.library, settings.default_locale)

    sumo_questions = None
    if sumo is not None:
        assert kitsune is not None, "a world with SUMO needs a Kitsune client (of a fake SUMO)"
        sumo_questions = SumoQuestions(sumo, kitsune, storage.questions, storage.state, sender, rooms,  # type: ignore[arg-type]
                                       clock, settings.pings, metrics=metrics)
        scheduler.every_tick("sumo questions", sumo_questions.on_tick)
        answer_sources.append(AnswerSource("forum questions", storage.questions.first_answer_counts))

    signin = None
    if settings.dashboard_url is not None:
        signin = SignIn(storage.dashboard_sessions, clock, settings.dashboard_url)

    families = command_families(Wiring(
        table=table, clock=clock, version=VERSION, consults=consults, reporter=reporter,
        answer_sources=answer_sources, escalations=escalations, rooms=rooms,  # type: ignore[arg-type]
        holding_reply=current_holding_reply, shortener=shortener, replies=catalog, reply_usage=storage.reply_usage,
        default_locale=settings.default_locale,
        check_rules=default_check_rules(settings.political or (), settings.profanity or ()),
        sumo_questions=sumo_questions, kitsune=kitsune if sumo is not None else None, sumo=sumo,
        identities=storage.identities, forum_enabled=settings.forum_enabled, launches=launches,
        dashboard_signin=signin, direct_rooms=FixedDirectRooms(),  # type: ignore[arg-type]
    ))
    build_command_table(families, table)
    return BotWorld(storage, clock, sender, metrics, rooms, moderators, settings, catalog, shortener, consults, escalations,
                    launches, reporter, sumo_questions, kitsune, table, dispatcher, scheduler)
