"""The moderators' dashboard: every figure of the page, gathered in one pass from storage.

The 7-day cards are ``!stats 7`` (the same ``StatsReporter``), the weekly series are the same
computation over ISO weeks (Monday 00:00 UTC; the last one is the week under way), and the top
helpers are ``!top 90``. Nothing here knows about HTML: ``bot.ops.dashboard`` renders it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.clock import Clock
from bot.features.consults.stats import ConsultFigures
from bot.features.stats.periods import consult_figures_for, question_stats_for
from bot.features.stats.report import AnswerSource, StatsReport, StatsReporter, top_answerers
from bot.matrix.events import permalink
from bot.storage import Storage
from bot.storage.escalations import REASONS
from bot.storage.questions import QuestionStats

CARD_DAYS = 7
TOP_DAYS = 90
AT_RISK = timedelta(hours=24)
QUEUE_SIZE = 10
WEEK = timedelta(days=7)

QuestionUrl = Callable[[str, int], str]


@dataclass(frozen=True)
class WeekFigures:
    label: str               # ISO week, "2026-W49"
    start: datetime
    consults: ConsultFigures
    questions: QuestionStats | None
    escalations: Mapping[str, int]   # every reason, 0 when none

    @property
    def escalations_total(self) -> int:
        return sum(self.escalations.values())


@dataclass(frozen=True)
class QueueItem:
    kind: str                # "consult" or "question"
    id: int
    title: str
    url: str | None
    deadline: datetime
    time_left: timedelta
    holder: str | None       # who claimed a question (!take)


@dataclass(frozen=True)
class OpenEscalation:
    id: int
    reason: str
    state: str
    description: str
    link: str | None
    age: timedelta
    holder: str | None
    reports: int


@dataclass(frozen=True)
class Dashboard:
    generated_at: datetime
    last_days: StatsReport             # the same figures as !stats 7
    open_consults: int                 # no answer yet, not closed with !done (inside their window or past it)
    waiting_consults: int              # unanswered, inside their window
    consults_at_risk: int              # of those, under 24 h left
    questions_at_risk: int | None      # None: SUMO questions are not tracked on this bot
    open_escalations: int              # open or acknowledged
    unheld_escalations: int            # open, nobody took them
    weeks: Sequence[WeekFigures]
    queue: Sequence[QueueItem]         # consults and questions closest to their deadline
    escalations: Sequence[OpenEscalation]
    top_helpers: Sequence[tuple[str, int]]
    top_days: int = TOP_DAYS

    @property
    def questions_tracked(self) -> bool:
        return self.questions_at_risk is not None


def iso_week_start(moment: datetime) -> datetime:
    midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight - timedelta(days=moment.weekday())


def week_label(start: datetime) -> str:
    year, week, _ = start.isocalendar()
    return f"{year}-W{week:02d}"


class DashboardBuilder:
    def __init__(self, storage: Storage, clock: Clock, reporter: StatsReporter, answer_sources: Sequence[AnswerSource],
                 weeks: int, question_url: QuestionUrl | None) -> None:
        self._storage = storage
        self._clock = clock
        self._reporter = reporter
        self._sources = answer_sources
        self._weeks = weeks
        self._question_url = question_url  # None: SUMO questions are not tracked

    async def build(self) -> Dashboard:
        now = self._clock.now()
        figures = self._storage.figures
        last_days = await self._reporter.report(CARD_DAYS)
        first = iso_week_start(now) - WEEK * (self._weeks - 1)
        starts = [first + WEEK * i for i in range(self._weeks)]
        periods = [(start, start + WEEK) for start in starts]
        consults = await consult_figures_for(self._storage, periods, now)
        tracked = self._question_url is not None
        questions: Sequence[QuestionStats | None] = \
            await question_stats_for(self._storage, periods, now) if tracked else [None] * len(periods)
        escalations = await figures.escalations_by_reason(periods)
        weeks = [WeekFigures(week_label(start), start, c, q, {reason: e.get(reason, 0) for reason in REASONS})
                 for start, c, q, e in zip(starts, consults, questions, escalations, strict=True)]

        waiting, waiting_total = await figures.waiting_consults(now, QUEUE_SIZE)
        queue = [QueueItem("consult", c.id, c.tweet_url, permalink(c.room_id, c.thread_event_id or c.command_event_id),
                           c.window_closes_at, c.window_closes_at - now, None) for c in waiting]
        questions_at_risk = None
        if self._question_url is not None:
            question_url = self._question_url
            queue += [QueueItem("question", q.id, q.title, question_url(q.locale, q.id), q.deadline_at,
                                q.deadline_at - now, q.taken_by)
                      for q in await figures.waiting_questions(now, QUEUE_SIZE)]
            questions_at_risk = await figures.questions_closing_between(now, now + AT_RISK)
        queue.sort(key=lambda item: (item.deadline, item.kind, item.id))

        active, active_total = await figures.active_escalations(QUEUE_SIZE * 2)
        return Dashboard(
            generated_at=now,
            last_days=last_days,
            open_consults=await figures.open_consults(),
            waiting_consults=waiting_total,
            consults_at_risk=await figures.consults_closing_between(now, now + AT_RISK),
            questions_at_risk=questions_at_risk,
            open_escalations=active_total,
            unheld_escalations=await figures.unheld_escalations(),
            weeks=weeks,
            queue=queue[:QUEUE_SIZE],
            escalations=[OpenEscalation(e.id, e.reason, e.state, e.description, e.link, now - e.created_at,
                                        e.acknowledged_by, e.reports) for e in active],
            top_helpers=await top_answerers(self._sources, now - timedelta(days=TOP_DAYS)),
        )
