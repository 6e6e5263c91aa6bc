"""Daily pruning of the two tables that grow with traffic: ``handled_events`` and ``outbox``.

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

It runs once a day as scheduled work (kind ``prune``), so it survives restarts like the rest.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from bot.clock import Clock, from_timestamp
from bot.matrix.sync import SYNC_SAVED_AT
from bot.storage.bot_state import BotState
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


class Retention:
    def __init__(self, handled: HandledEvents, outbox: Outbox, schedule: Schedule, state: BotState,
                 clock: Clock) -> None:
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

    async def prune(self) -> tuple[int, int]:
        """Forget what exactly-once no longer needs; returns (handled events, outbox rows) deleted."""
        saved = await self._state.get(SYNC_SAVED_AT)
        if saved is None:
            return 0, 0  # never caught up: nothing is known to be behind the bot yet
        caught_up = min(self._clock.now(), from_timestamp(float(saved)))
        handled = await self._handled.forget_before(caught_up - KEPT)
        outbox = await self._outbox.forget_before(caught_up - KEPT, caught_up - UNCONFIRMED_KEPT)
        log.info("pruned %d handled events and %d outbox entries (kept the last %d days)",
                 handled, outbox, KEPT.days)
        return handled, outbox
