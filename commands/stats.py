"""!top and !stats: who answers most, and how the 72-hour window is doing.

Parse → reporter → answer; the answers' words are in ``bot.features.stats.report``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from bot.clock import Clock
from bot.features.stats.report import AnswerSource, StatsReporter, report_message, top_answerers, top_message
from bot.framework.arguments import integer
from bot.framework.command import Command, Permission
from bot.framework.dispatcher import Context

MAX_DAYS = 3650


class StatsCommands:
    def __init__(self, reporter: StatsReporter, answer_sources: Sequence[AnswerSource], clock: Clock) -> None:
        self._reporter = reporter
        self._sources = answer_sources
        self._clock = clock

    def commands(self) -> list[Command]:
        return [
            Command("top", "who gave the most first answers (default: last 90 days)", self.top,
                    args=(integer("days", optional=True, default=90, maximum=MAX_DAYS, help="1 to 3650"),),
                    examples=("!top", "!top 30"), effects=False),
            Command("stats", "consults and forum questions answered within 72 h, median first answer, escalations", self.stats,
                    args=(integer("days", optional=True, default=30, maximum=MAX_DAYS, help="1 to 3650"),),
                    permission=Permission.MODERATORS, examples=("!stats", "!stats 7"), effects=False),
        ]

    async def top(self, ctx: Context, days: int) -> None:
        ranking = await top_answerers(self._sources, self._clock.now() - timedelta(days=days))
        await ctx.reply(top_message(ranking, days, self._sources))

    async def stats(self, ctx: Context, days: int) -> None:
        report = await self._reporter.report(days)
        await ctx.reply(report_message(report, "Stats"))
