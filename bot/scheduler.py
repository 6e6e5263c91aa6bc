"""One supervised loop for every kind of due work, trusting the database.

Each tick asks one indexed question ("what is due by now?") and hands each row to the handler of its
kind. A handler sends through ``Sender.send_once`` and then marks its row done, so work that fell due
while the bot was down is delivered once when it is back, never twice, never dropped. There is no
timer per item: a million open windows cost one query per tick.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from bot.clock import Clock
from bot.metrics import Metrics
from bot.storage.schedule import DueWork, Schedule

log = logging.getLogger(__name__)

DueHandler = Callable[[DueWork], Awaitable[None]]
PeriodicJob = Callable[[], Awaitable[None]]

BATCH = 100


class Scheduler:
    def __init__(self, schedule: Schedule, clock: Clock, metrics: Metrics, tick: timedelta) -> None:
        self._schedule = schedule
        self._clock = clock
        self._metrics = metrics
        self._tick = tick
        self._handlers: dict[str, DueHandler] = {}
        self._periodic: list[tuple[str, PeriodicJob]] = []
        self._failing: set[str] = set()

    def handle(self, kind: str, handler: DueHandler) -> None:
        if kind in self._handlers:
            raise ValueError(f"a handler for {kind!r} is already registered")
        self._handlers[kind] = handler

    def every_tick(self, name: str, job: PeriodicJob) -> None:
        """Work that runs on each tick itself (a poller deciding whether it is time to poll)."""
        self._periodic.append((name, job))

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.tick()
            try:
                await asyncio.wait_for(stop.wait(), timeout=self._tick.total_seconds())
            except TimeoutError:
                pass

    async def tick(self) -> int:
        """Run everything due now; returns how many items were handled."""
        handled = 0
        for name, job in self._periodic:
            await self._guard(name, job())
        while True:
            due = await self._schedule.due(self._clock.now(), BATCH)
            if not due:
                return handled
            finished = []
            for work in due:
                handler = self._handlers.get(work.kind)
                if handler is None:
                    log.error("no handler for scheduled work of kind %r; dropping %s", work.kind, work)
                    finished.append(work)
                    continue
                if await self._guard(f"{work.kind}:{work.item_id}:{work.stage}", handler(work)):
                    finished.append(work)
                    self._metrics.scheduled_sent.labels(kind=work.kind).inc()
                    handled += 1
            # Handlers are idempotent (their sends go through the outbox), so deleting the batch's
            # rows together is safe: a crash before this line only repeats work already recorded.
            await self._schedule.done_many(finished)
            if not finished or len(due) < BATCH:
                return handled

    async def _guard(self, name: str, job: Awaitable[None]) -> bool:
        """Run one job; a failure is logged once per episode and retried on the next tick."""
        try:
            await job
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - one failing item must not stop the others
            if name not in self._failing:
                log.exception("scheduled work %s failed; it stays due and is retried next tick", name)
                self._failing.add(name)
            self._metrics.errors.labels(kind="scheduler").inc()
            return False
        if name in self._failing:
            log.info("scheduled work %s succeeded after failing", name)
            self._failing.discard(name)
        return True
