"""!top and !stats: who answers most, and how the 72-hour window is doing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from bot.clock import Clock
from bot.features.stats.report import AnswerSource, StatsReporter, report_message, top_answerers
from bot.framework.arguments import integer
from bot.framework.command import Command, Permission
from bot.framework.dispatcher import Context
from bot.matrix.rendering import bold, lines, numbered

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
        counted = "Counted: first answers to " + " and ".join(s.name for s in self._sources) + \
            " (nobody counts for their own)."
        if not ranking:
            await ctx.reply(lines(f"No first answers in the last {days} days yet.", counted))
            return
        await ctx.reply(lines(
            bold(f"Top {len(ranking)} answerers, last {days} days"),
            numbered(f"{user_id} — {count} first answer{'s' if count != 1 else ''}" for user_id, count in ranking),
            counted,
        ))

    async def stats(self, ctx: Context, days: int) -> None:
        report = await self._reporter.report(days)
        await ctx.reply(report_message(report, "Stats"))
