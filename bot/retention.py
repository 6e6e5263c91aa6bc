"""Daily pruning of the tables that grow with traffic: ``handled_events`` and ``outbox``, and beside
them ``command_answers``, the dashboard's sign-in links and sessions, and old kept figures.

What exactly-once needs from them, and so how long rows are kept:

- A handled event is needed while the bot can see that event again: a batch handled but whose
  token was not saved (a crash), the overlap of a gap filled from history, a homeserver replaying a
  sync. All of these happen before the bot has caught up past the event, and the bot is caught up
  whenever it saves a sync token. So the clock of retention is the last saved sync, not now: rows
  are kept ``KEPT`` (7 days) before it. After a downtime of any length nothing is forgotten until
  the bot has synced again, and 7 days is far more than any re-delivery takes while running
  (seconds), Synapse's transaction memory (24 h) and the edit window (1 h by default).
- A sent outbox row (a scheduled message or a command's answer) is needed while the work that
  sent it may run again: a scheduled stage not yet marked done, a command not yet marked handled.
  Sent rows older than ``KEPT`` before the last saved sync go, but only when no other scheduled
  work is overdue, so a stage that was sent just before a long downtime and is still due finds its
  row. Rows whose send was never confirmed are in doubt and are kept ``UNCONFIRMED_KEPT`` (30 days).

- A command's answer (``command_answers``) lets an edit of the command within the edit window re-run
  it and a redaction take the answer along. It goes with the handled events, ``KEPT`` before the
  last saved sync: far past any edit window (1 h by default) and, like them, never while the bot
  has not caught up after a downtime. A redaction of a command older than that leaves its answer.
- Dashboard sign-in links that were used or expired, and sessions that ended or expired, can never
  sign anyone in again: they go by the clock (now), not by the sync.
- Kept figures (``figure_cache``) of periods that ended ``FIGURES_KEPT`` ago: longer than the
  longest chart (104 weeks); one asked for again is only computed again.

It runs once a day as scheduled work (kind ``prune``), so it survives restarts like the rest.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.clock import Clock, from_timestamp, to_timestamp
from bot.matrix.sync import SYNC_SAVED_AT
from bot.storage.answers import CommandAnswers
from bot.storage.bot_state import BotState
from bot.storage.dashboard_sessions import DashboardSessions
from bot.storage.figure_cache import FigureCache
from bot.storage.handled_events import HandledEvents
from bot.storage.outbox import Outbox
from bot.storage.schedule import DueWork, Schedule

log = logging.getLogger(__name__)

KIND = "prune"
STAGE = "run"
EVERY = timedelta(days=1)
KEPT = timedelta(days=7)
UNCONFIRMED_KEPT = timedelta(days=30)
POSTPONE = timedelta(hours=1)
FIGURES_KEPT = timedelta(weeks=106)


@dataclass(frozen=True)
class Pruned:
    handled: int = 0
    outbox: int = 0
    command_answers: int = 0
    sign_in_links: int = 0
    sessions: int = 0
    figures: int = 0


class Retention:
    def __init__(self, handled: HandledEvents, outbox: Outbox, schedule: Schedule, state: BotState,
                 clock: Clock, *, answers: CommandAnswers | None = None, sessions: DashboardSessions | None = None,
                 figures: FigureCache | None = None) -> None:
        """``answers``, ``sessions``, ``figures``: the other tables to prune (``bot.app`` gives all)."""
        self._answers = answers
        self._sessions = sessions
        self._figures = figures
        self._handled = handled
        self._outbox = outbox
        self._schedule = schedule
        self._state = state
        self._clock = clock

    async def plan_first(self) -> None:
        """At start: a prune is planned once; an existing plan (perhaps overdue) is kept."""
        if not await self._schedule.has_kind(KIND):
            await self._plan(self._clock.now() + EVERY)

    async def handle_due(self, work: DueWork) -> None:
        now = self._clock.now()
        overdue = [due for due in await self._schedule.due(now, 2) if due.kind != KIND]
        if overdue:
            # Promises that fell due (perhaps during a downtime) are kept first; they may need their rows.
            await self._plan(now + POSTPONE)
            return
        await self.prune()
        await self._plan(now + EVERY)

    async def _plan(self, at: datetime) -> None:
        # One row per run, named by its time: the scheduler deletes the row that ran after this returns.
        await self._schedule.plan(KIND, at.strftime("%Y-%m-%dT%H:%M:%S"), STAGE, at)

    async def prune(self) -> Pruned:
        """Forget what exactly-once, edits and sign-ins no longer need; returns how many rows went."""
        now = self._clock.now()
        links, sessions = await self._sessions.forget_finished(now) if self._sessions is not None else (0, 0)
        figures = await self._figures.forget_before(to_timestamp(now - FIGURES_KEPT)) if self._figures else 0
        saved = await self._state.get(SYNC_SAVED_AT)
        if saved is None:
            # Never caught up: nothing is known to be behind the bot yet.
            return Pruned(sign_in_links=links, sessions=sessions, figures=figures)
        caught_up = min(now, from_timestamp(float(saved)))
        handled = await self._handled.forget_before(caught_up - KEPT)
        outbox = await self._outbox.forget_before(caught_up - KEPT, caught_up - UNCONFIRMED_KEPT)
        answers = await self._answers.forget_before(caught_up - KEPT) if self._answers is not None else 0
        log.info("pruned %d handled events, %d outbox entries and %d command answers (kept the last %d days), "
                 "%d used or expired sign-in links, %d ended or expired dashboard sessions, %d old kept figures",
                 handled, outbox, answers, KEPT.days, links, sessions, figures)
        return Pruned(handled, outbox, answers, links, sessions, figures)
