"""Wiring: config → storage → Matrix client → features → command table → scheduler, in one place.

``wire_features`` builds every feature's service from the configuration and the outside parts it is
handed (the sender, the rooms, the clock, the outside services' clients); ``build_bot`` hands it the
real ones, and the unit tier's world builder (tests/unit/world.py) its stand-ins. ``run_bot`` is the
whole life of the process: open, log in, join, then sync and tick until SIGTERM or Ctrl-C, then
close everything in reverse order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import aiohttp

from bot import __version__
from bot.clock import Clock, SystemClock
from bot.config import Config
from bot.features.consults.forum import KIND as FORUM_TOPIC_KIND
from bot.features.consults.forum import ForumConsults
from bot.features.consults.service import KIND as CONSULT_KIND
from bot.features.consults.service import ConsultService, ConsultSettings
from bot.features.drafts.check import default_check_rules
from bot.features.escalations.service import SCHEDULE_KIND as ESCALATION_KIND
from bot.features.escalations.service import EscalationService, holding_reply_in
from bot.features.launches.service import KIND as LAUNCH_KIND
from bot.features.launches.service import LaunchService
from bot.features.links.policy import DEFAULT_ALLOWED_HOSTS
from bot.features.links.shortener import LinkShortener
from bot.features.questions.tracker import SumoQuestions
from bot.features.replies.catalog import ReplyCatalog, library_path
from bot.features.stats.dashboard import DashboardBuilder
from bot.features.stats.digest import KIND as DIGEST_KIND
from bot.features.stats.digest import WeeklyDigest
from bot.features.stats.report import AnswerSource, StatsReporter
from bot.framework.command import Command, CommandTable
from bot.framework.dispatcher import Dispatcher, MessageObserver
from bot.framework.native import NativeInteractions
from bot.matrix.client import MatrixClient
from bot.matrix.direct import DirectRooms
from bot.matrix.moderators import Moderators
from bot.matrix.rooms import Rooms
from bot.matrix.sender import Sender
from bot.matrix.sync import SyncLoop
from bot.ops.dashboard.access import DashboardAccess
from bot.ops.dashboard.signin import SignIn
from bot.ops.dashboard.web import DashboardSite
from bot.ops.http import HealthServer, WarningSource
from bot.ops.metrics import Metrics
from bot.retention import KIND as PRUNE_KIND
from bot.retention import Retention
from bot.scheduler import DueHandler, PeriodicJob, Scheduler
from bot.services.bitly import BitlyClient
from bot.services.discourse import DiscourseClient
from bot.services.kitsune import KitsuneClient
from bot.services.kitsune import user_agent as kitsune_user_agent
from bot.storage import Storage
from commands import Wiring, build_command_table, command_families

log = logging.getLogger(__name__)

ExtraCommands = Callable[["Bot"], Iterable[Command]]


@dataclass
class Bot:
    config: Config
    clock: Clock
    storage: Storage
    client: MatrixClient
    metrics: Metrics
    moderators: Moderators
    rooms: Rooms
    sender: Sender
    features: Features
    table: CommandTable
    dispatcher: Dispatcher
    scheduler: Scheduler
    sync_loop: SyncLoop
    health: HealthServer | None
    closers: list[Callable[[], object]]


@dataclass(frozen=True)
class OutsideServices:
    """The clients of the services outside Matrix; ``None``: not configured."""

    bitly: BitlyClient | None = None
    kitsune: KitsuneClient | None = None
    discourse: DiscourseClient | None = None


@dataclass
class Features:
    """What ``wire_features`` built: the ``Wiring`` the command table is made from, and the work the
    features hand to the rest of the bot."""

    wiring: Wiring
    due: dict[str, DueHandler] = field(default_factory=dict)       # scheduler row kind → its handler
    every_tick: dict[str, PeriodicJob] = field(default_factory=dict)
    observers: list[MessageObserver] = field(default_factory=list)  # messages that are not commands
    first_plans: list[PeriodicJob] = field(default_factory=list)   # at start: the digest's and pruning's rows
    health_warnings: list[WarningSource] = field(default_factory=list)
    closers: list[Callable[[], object]] = field(default_factory=list)
    forum: ForumConsults | None = None
    dashboard: DashboardSite | None = None  # its pages, for the HTTP endpoint

    def attach(self, scheduler: Scheduler, dispatcher: Dispatcher) -> None:
        for kind, handler in self.due.items():
            scheduler.handle(kind, handler)
        for name, job in self.every_tick.items():
            scheduler.every_tick(name, job)
        for observer in self.observers:
            dispatcher.add_observer(observer)

    async def plan_first(self) -> None:
        for plan in self.first_plans:
            await plan()


async def build_bot(config: Config, clock: Clock | None = None, extra_commands: ExtraCommands | None = None) -> Bot:
    clock = clock or SystemClock()
    # Before anything is opened: a broken reply library stops the start, naming each problem.
    replies = await ReplyCatalog.load(library_path(config.replies))
    storage = await Storage.open(config.storage.path)
    metrics = Metrics()

    client = MatrixClient(config.matrix.homeserver, config.matrix.user_id, config.matrix.device_name, storage.state)
    moderators = Moderators(config.moderators.users, config.moderators.min_power_level)
    rooms = Rooms(client, config.rooms.contributors, config.rooms.moderators, moderators)
    sender = Sender(client, storage.outbox, clock)

    http = aiohttp.ClientSession(headers={"User-Agent": f"fxhelp-bot/{__version__}"})
    features = wire_features(config, storage, sender, clock, rooms, moderators, metrics, replies,
                             outside_services(config, http), DirectRooms(client))

    table = features.wiring.table
    dispatcher = Dispatcher(table, config.commands.prefix, config.matrix.user_id, rooms.ids, moderators, sender,
                            storage.handled_events, clock, metrics)
    scheduler = Scheduler(storage.schedule, clock, metrics, config.scheduler.tick)
    features.attach(scheduler, dispatcher)
    await features.plan_first()

    native = NativeInteractions(dispatcher, storage.answers, storage.handled_events, sender, client, moderators, clock,
                                metrics, config.commands.edit_window)
    sync_loop = SyncLoop(client, storage.state, rooms, native.handle_batch, clock, metrics)
    health = None
    if (listen := config.http.host_and_port()) is not None:
        health = HealthServer(listen[0], listen[1], metrics, clock, rooms, lambda: sync_loop.last_success, __version__,
                              [scheduler.health_warnings, *features.health_warnings])
        if features.dashboard is not None:
            health.add_routes(features.dashboard.add_routes)
    bot = Bot(config, clock, storage, client, metrics, moderators, rooms, sender, features, table, dispatcher,
              scheduler, sync_loop, health, closers=[http.close, *features.closers])

    families = command_families(features.wiring)
    if extra_commands is not None:
        families.append(extra_commands(bot))
    build_command_table(families, table)
    return bot


def outside_services(config: Config, http: aiohttp.ClientSession) -> OutsideServices:
    """The clients of the configured outside services, all on the one HTTP session."""
    bitly, kitsune, discourse = None, None, None
    if (shortener := config.shortener) is not None and shortener.bitly_token is not None:
        bitly = BitlyClient(http, shortener.api_url, shortener.bitly_token.get_secret_value(), shortener.domain,
                            shortener.group_guid)
    if config.sumo is not None:
        if config.sumo.contact is None:
            log.warning("sumo.contact is not set: support.mozilla.org cannot tell who runs this bot; set it to a "
                        "URL or e-mail address where you can be reached")
        kitsune = KitsuneClient(http, config.sumo.api_url,
                                user_agent=kitsune_user_agent(__version__, config.sumo.contact))
    if config.forum is not None:
        discourse = DiscourseClient(http, config.forum.base_url, config.forum.api_key.get_secret_value(),
                                    config.forum.api_username)
    return OutsideServices(bitly, kitsune, discourse)


def wire_features(config: Config, storage: Storage, sender: Sender, clock: Clock, rooms: Rooms,
                  moderators: Moderators, metrics: Metrics, replies: ReplyCatalog, services: OutsideServices,
                  direct_rooms: DirectRooms | None, *, version: str = __version__,
                  shortener: LinkShortener | None = None) -> Features:
    """Every feature's service, built from ``config`` and the outside parts it is handed.

    ``replies``: the reply library, already read; ``services``: the outside services' clients (the
    SUMO tracker needs ``kitsune`` when ``config.sumo`` is set; the forum is wired when ``discourse``
    is given); ``direct_rooms``: ``None`` leaves ``!dashboard`` out; ``shortener``: a stand-in for
    the one made from ``config.shortener`` and ``services.bitly`` (tests only)."""
    if shortener is None:
        shortener = _link_shortener(config, storage, services.bitly, clock)
    health_warnings: list[WarningSource] = [shortener.health_problems]
    due: dict[str, DueHandler] = {}
    every_tick: dict[str, PeriodicJob] = {}
    closers: list[Callable[[], object]] = []
    dashboard_url = config.http.dashboard_url()

    consults = ConsultService(storage, sender, clock, rooms, ConsultSettings(
        config.consults.window, config.consults.remind_after, tuple(config.moderators.ping), config.commands.prefix))
    due[CONSULT_KIND] = consults.handle_due
    reporter = StatsReporter(storage, clock, config.consults.window, config.sumo.window if config.sumo else None)
    answer_sources = [AnswerSource("consults", storage.consults.first_answer_counts)]
    weekly_digest = WeeklyDigest(storage.schedule, sender, rooms, reporter, clock, config.digest,
                                 f"{dashboard_url}/dashboard" if dashboard_url else None)
    due[DIGEST_KIND] = weekly_digest.handle_due
    retention = Retention(storage.handled_events, storage.outbox, storage.schedule, storage.state, clock,
                          answers=storage.answers, sessions=storage.dashboard_sessions, figures=storage.figures.cache)
    due[PRUNE_KIND] = retention.handle_due

    escalations = EscalationService(storage.escalations, storage.schedule, sender, clock, rooms,
                                    config.moderators.ping, config.escalations.reping_after, config.commands.prefix)
    due[ESCALATION_KIND] = escalations.handle_due

    launches = LaunchService(storage, sender, clock, rooms, replies, shortener, config.replies.default_locale,
                             config.commands.prefix)
    due[LAUNCH_KIND] = launches.handle_due

    async def current_holding_reply() -> str:
        return holding_reply_in(replies.library, config.replies.default_locale)

    kitsune = services.kitsune if config.sumo is not None else None
    sumo_questions = None
    if config.sumo is not None:
        if kitsune is None:
            raise ValueError("sumo is configured: the SUMO tracker needs a Kitsune client")
        sumo_questions = SumoQuestions(config.sumo, kitsune, storage.questions, storage.state, sender, rooms, clock,
                                       config.moderators.ping, metrics=metrics)
        every_tick["sumo questions"] = sumo_questions.on_tick
        health_warnings.append(sumo_questions.health_problems)
        closers.append(sumo_questions.close)
        answer_sources.append(AnswerSource("forum questions", storage.questions.first_answer_counts))
    forum = None
    if config.forum is not None and services.discourse is not None:
        forum = ForumConsults(config.forum, services.discourse, storage, consults, sender, clock,
                              config.consults.window, metrics=metrics)
        consults.add_opened_listener(forum.consult_opened)
        due[FORUM_TOPIC_KIND] = forum.handle_due
        every_tick["forum replies"] = forum.on_tick
        health_warnings.append(forum.health_problems)

    signin, dashboard = None, None
    if dashboard_url is not None:
        signin = SignIn(storage.dashboard_sessions, clock, dashboard_url)
        builder = DashboardBuilder(storage, clock, reporter, answer_sources, config.http.dashboard_weeks,
                                   kitsune.question_url if kitsune is not None else None)
        dashboard = DashboardSite(signin, builder, moderators.is_moderator, config.consults.window)

    wiring = Wiring(
        table=CommandTable(), clock=clock, version=version, consults=consults, reporter=reporter,
        answer_sources=answer_sources, escalations=escalations, rooms=rooms, holding_reply=current_holding_reply,
        shortener=shortener, replies=replies, reply_usage=storage.reply_usage,
        default_locale=config.replies.default_locale,
        check_rules=default_check_rules(config.check.political or (), config.check.profanity or (),
                                        shortener.allowed_hosts),
        sumo_questions=sumo_questions, kitsune=kitsune, sumo=config.sumo, identities=storage.identities,
        forum_enabled=config.forum is not None, launches=launches,
        dashboard_access=DashboardAccess(signin, direct_rooms, sender) if direct_rooms is not None else None,
    )
    return Features(wiring, due, every_tick, [consults.observe_message], [weekly_digest.plan_next, retention.plan_first],
                    health_warnings, closers, forum, dashboard)


def _link_shortener(config: Config, storage: Storage, bitly: BitlyClient | None, clock: Clock) -> LinkShortener:
    """Always a shortener; without a Bitly client it is disabled and the commands say so."""
    allowed_hosts = DEFAULT_ALLOWED_HOSTS
    if config.shortener is not None and config.shortener.allowed_hosts is not None:
        allowed_hosts = tuple(config.shortener.allowed_hosts)
    return LinkShortener(storage.short_links, bitly, allowed_hosts, clock, storage.state)


async def run_bot(config: Config, extra_commands: ExtraCommands | None = None) -> None:
    bot = await build_bot(config, extra_commands=extra_commands)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await bot.client.start_session(
            config.matrix.password.get_secret_value() if config.matrix.password else None,
            config.matrix.access_token.get_secret_value() if config.matrix.access_token else None,
        )
        if bot.health is not None:
            await bot.health.start()
        await bot.rooms.join_all()
        log.info("fxhelp-bot %s running as %s (device %s)", __version__, config.matrix.user_id, bot.client.device_id)
        tasks = [
            asyncio.create_task(bot.sync_loop.run(stop), name="sync"),
            asyncio.create_task(bot.scheduler.run(stop), name="scheduler"),
        ]
        stopper = asyncio.create_task(stop.wait(), name="stop")
        done, _ = await asyncio.wait([*tasks, stopper], return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if task is not stopper and task.exception() is not None:
                log.error("%s ended unexpectedly", task.get_name(), exc_info=task.exception())
        stop.set()
        for task in tasks:
            await _ended(task)
        log.info("stopping")
    finally:
        for close in reversed(bot.closers):
            with contextlib.suppress(Exception):
                result = close()
                if asyncio.iscoroutine(result):
                    await result
        if bot.health is not None:
            await bot.health.stop()
        await bot.client.close()
        await bot.storage.close()


async def _ended(task: asyncio.Task[None]) -> None:
    """Cancel ``task`` until it has ended. On Python 3.11 a cancel that lands as an HTTP request's own
    timeout fires is taken for that timeout, and the Matrix client retries: one cancel can be lost."""
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=1)
    if not task.cancelled() and task.exception() is not None:
        log.debug("%s ended with %r while stopping", task.get_name(), task.exception())
