"""The one computation behind every 72-hour figure: !stats, the weekly digest and the dashboard.

``period_figures`` turns the storage layer's aggregates into the figures the words and charts use;
a period is ``[start, stop)`` (``stop`` None: up to now). ``bot.features.consults.stats`` keeps the
same rules written over rows, which the unit tests use to check this one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from bot.features.consults.stats import ConsultFigures
from bot.storage import Storage
from bot.storage.figures import ConsultCounts, Period, QuestionCounts
from bot.storage.questions import QuestionStats


def _duration(seconds: float | None) -> timedelta | None:
    return None if seconds is None else timedelta(seconds=seconds)


def consult_figures_of(counts: ConsultCounts) -> ConsultFigures:
    return ConsultFigures(counts.opened, counts.answered_in_window, counts.expired, counts.answered_late,
                          counts.waiting, _duration(counts.median_seconds))


def question_stats_of(counts: QuestionCounts) -> QuestionStats:
    return QuestionStats(counts.tracked, counts.answered_in_window, counts.expired, counts.left, counts.waiting,
                         _duration(counts.median_seconds))


async def consult_figures_for(storage: Storage, periods: Sequence[Period], now: datetime) -> list[ConsultFigures]:
    return [consult_figures_of(c) for c in await storage.figures.consults(periods, now)]


async def question_stats_for(storage: Storage, periods: Sequence[Period], now: datetime) -> list[QuestionStats]:
    return [question_stats_of(q) for q in await storage.figures.questions(periods, now)]
