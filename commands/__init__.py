"""The command table: every command family of the bot, in one list.

``bot.app`` builds the services and hands them over as a ``Wiring``; ``command_families`` gives each
family what it needs. Adding a command family (``!faq``) is a module in this package and one line in
``command_families`` (and a field of ``Wiring`` if it needs something new from the wiring).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass

from bot.clock import Clock
from bot.config import SumoConfig
from bot.features.consults.service import ConsultService
from bot.features.drafts.check import CheckRules
from bot.features.escalations.service import EscalationService
from bot.features.kb.service import KbSearch
from bot.features.launches.service import LaunchService
from bot.features.links.shortener import LinkShortener
from bot.features.questions.tracker import SumoQuestions
from bot.features.replies.catalog import ReplyCatalog
from bot.features.stats.report import AnswerSource, StatsReporter
from bot.framework.command import Command, CommandTable
from bot.matrix.rooms import Rooms
from bot.ops.dashboard.access import DashboardAccess
from bot.services.kitsune import KitsuneClient
from bot.storage.identities import Identities
from bot.storage.reply_usage import ReplyUsage
from commands.basics import BasicCommands
from commands.bugs import BugCommands
from commands.check import CheckCommands
from commands.consults import ConsultCommands
from commands.dashboard import DashboardCommands
from commands.escalations import EscalationCommands
from commands.identity import IdentityCommands
from commands.kb import KbCommands
from commands.launch import LaunchCommands
from commands.questions import QuestionCommands
from commands.replies import ReplyCommands
from commands.shorten import ShortenCommands
from commands.stats import StatsCommands


@dataclass(frozen=True)
class Wiring:
    """What ``bot.app`` built that the commands use. ``None`` is a feature that is not configured."""

    table: CommandTable
    clock: Clock
    version: str
    consults: ConsultService
    reporter: StatsReporter
    answer_sources: Sequence[AnswerSource]
    escalations: EscalationService
    rooms: Rooms
    holding_reply: Callable[[], Awaitable[str]]
    shortener: LinkShortener
    replies: ReplyCatalog
    reply_usage: ReplyUsage
    default_locale: str
    check_rules: CheckRules
    sumo_questions: SumoQuestions | None
    kitsune: KitsuneClient | None
    sumo: SumoConfig | None
    identities: Identities
    forum_enabled: bool
    launches: LaunchService
    dashboard_access: DashboardAccess | None = None  # None: no direct rooms, no !dashboard


def command_families(w: Wiring) -> list[Iterable[Command]]:
    """The bot's commands, family by family, in the order ``!help`` lists them."""
    return [
        BasicCommands(w.table, w.clock, w.version).commands(),
        ConsultCommands(w.consults, w.clock).commands(),
        StatsCommands(w.reporter, w.answer_sources, w.clock).commands(),
        DashboardCommands(w.dashboard_access).commands() if w.dashboard_access else [],
        EscalationCommands(w.escalations, w.rooms, w.holding_reply).commands(),
        BugCommands().commands(),
        ShortenCommands(w.shortener).commands(),
        ReplyCommands(w.replies, w.reply_usage, w.shortener, w.clock, w.default_locale).commands(),
        CheckCommands(w.check_rules, w.replies).commands(),
        QuestionCommands(w.sumo_questions).commands(),
        KbCommands(KbSearch(w.kitsune, w.sumo, w.shortener)).commands(),  # stateless: made here
        IdentityCommands(w.identities, w.clock, sumo_enabled=w.sumo is not None,
                         forum_enabled=w.forum_enabled).commands(),
        LaunchCommands(w.launches, w.clock, w.default_locale).commands(),
    ]


def build_command_table(families: Iterable[Iterable[Command]], table: CommandTable | None = None) -> CommandTable:
    table = table if table is not None else CommandTable()
    for family in families:
        for command in family:
            table.add(command)
    return table
