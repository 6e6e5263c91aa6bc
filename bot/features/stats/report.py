"""What !stats, !top and the weekly digest show: figures gathered from storage, and their words.

!top merges "answer sources" — each counts first answers per person since a time. Consults are one
source; another feature (answers in the SUMO forum) adds its own to the list in ``bot.app``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.clock import Clock, format_duration, format_utc
from bot.features.consults.stats import ConsultFigures
from bot.features.questions.messages import question_stats_lines
from bot.features.stats.periods import consult_figures_for, question_stats_for
from bot.matrix.rendering import Fragment, bold, bullets, lines, numbered
from bot.storage import Storage
from bot.storage.questions import QuestionStats

TOP_SIZE = 10


@dataclass(frozen=True)
class AnswerSource:
    name: str                                                           # "consults", "forum questions"
    first_answer_counts: Callable[[datetime], Awaitable[list[tuple[str, int]]]]


async def top_answerers(sources: Iterable[AnswerSource], since: datetime,
                        size: int = TOP_SIZE) -> list[tuple[str, int]]:
    """Everyone's first answers summed over the sources; most first, then by user ID."""
    totals: Counter[str] = Counter()
    for source in sources:
        for user_id, count in await source.first_answer_counts(since):
            totals[user_id] += count
    return sorted(totals.items(), key=lambda item: (-item[1], item[0]))[:size]


@dataclass(frozen=True)
class StatsReport:
    days: int
    since: datetime
    window: timedelta
    consults: ConsultFigures
    escalations_by_reason: Mapping[str, int]
    escalations_by_state: Mapping[str, int]
    questions: QuestionStats | None = None  # None: SUMO questions are not tracked on this bot
    question_window: timedelta | None = None


class StatsReporter:
    def __init__(self, storage: Storage, clock: Clock, window: timedelta,
                 question_window: timedelta | None = None) -> None:
        self._storage = storage
        self._clock = clock
        self._window = window
        self._question_window = question_window

    async def report(self, days: int) -> StatsReport:
        now = self._clock.now()
        since = now - timedelta(days=days)
        (consults,) = await consult_figures_for(self._storage, [(since, None)], now)
        escalations = self._storage.escalations
        questions = (await question_stats_for(self._storage, [(since, None)], now))[0] \
            if self._question_window is not None else None
        return StatsReport(days, since, self._window, consults,
                           await escalations.counts_by_reason(since), await escalations.counts_by_state(since),
                           questions, self._question_window)


def top_message(ranking: Sequence[tuple[str, int]], days: int, sources: Iterable[AnswerSource]) -> Fragment:
    """The !top answer: the ranking of ``top_answerers`` over the last ``days``, and what was counted."""
    counted = "Counted: first answers to " + " and ".join(s.name for s in sources) + " (nobody counts for their own)."
    if not ranking:
        return lines(f"No first answers in the last {days} days yet.", counted)
    return lines(
        bold(f"Top {len(ranking)} answerers, last {days} days"),
        numbered(f"{user_id} — {count} first answer{'s' if count != 1 else ''}" for user_id, count in ranking),
        counted,
    )


def report_message(report: StatsReport, title: str) -> Fragment:
    return lines(
        bold(title) + f" (last {report.days} days, since {format_utc(report.since)})",
        _consult_lines(report),
        question_stats_lines(report.questions, report.question_window) if report.questions is not None else None,
        _escalation_lines(report),
    )


def _consult_lines(report: StatsReport) -> Fragment:
    figures, window = report.consults, format_duration(report.window, in_hours=True)
    if figures.opened == 0:
        return lines(bold("Consults:") + " none opened.")
    share = "" if figures.share_in_window is None else f" ({figures.share_in_window:.0%})"
    median = "no answers yet" if figures.median_first_answer is None else format_duration(figures.median_first_answer, in_hours=True)
    late = f", {figures.answered_late} answered later" if figures.answered_late else ""
    return lines(
        bold("Consults:") + f" {figures.opened} opened",
        bullets([
            f"answered within {window}: {figures.answered_in_window} of {figures.decided} whose window has run{share}",
            f"median time to first answer: {median}",
            f"expired without an answer: {figures.expired}{late}",
            f"still inside their window: {figures.waiting}",
        ]),
    )


def _escalation_lines(report: StatsReport) -> Fragment:
    total = sum(report.escalations_by_reason.values())
    if total == 0:
        return lines(bold("Escalations:") + " none.")
    return lines(
        bold("Escalations:") + f" {total}",
        bullets([
            "by reason: " + _counts(report.escalations_by_reason),
            "by state: " + _counts(report.escalations_by_state),
        ]),
    )


def _counts(counts: Mapping[str, int]) -> str:
    ordered = sorted(((name, n) for name, n in counts.items() if n), key=lambda item: (-item[1], item[0]))
    return ", ".join(f"{name} {count}" for name, count in ordered) or "none"
