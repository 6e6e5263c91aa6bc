"""One supervised loop for every kind of due work, trusting the database.

Each pass asks one indexed question ("what is due by now, and when is the next one?"), hands each
due row to the handler of its kind, then sleeps until the next due time — never longer than the
tick, and woken at once when a stage is planned sooner than that. A handler sends through
``Sender.send_once`` and then its row is deleted, so work that fell due while the bot was down is
delivered once when it is back, never twice, never dropped. There is no timer per item: a million
open windows cost one query per pass.

A row whose handler fails is moved later with a growing delay and, after ``RetryPolicy.park_after``
failures, parked: reported in the log, on /healthz and in the metrics, and no longer tried by the
loop. So one bad item never holds up the others. A homeserver outage is nobody's item's fault: it
delays the row but does not count towards parking.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.clock import Clock, format_utc
from bot.logging_setup import FailureEpisodes
from bot.matrix.client import HomeserverUnavailable
from bot.ops.metrics import Metrics
from bot.storage.schedule import DueWork, Schedule

log = logging.getLogger(__name__)

DueHandler = Callable[[DueWork], Awaitable[None]]
PeriodicJob = Callable[[], Awaitable[None]]

BATCH = 100
ERROR_TEXT_LIMIT = 300
HEALTH_EXAMPLES = 3


@dataclass(frozen=True)
class RetryPolicy:
    first: timedelta = timedelta(seconds=15)
    cap: timedelta = timedelta(minutes=30)
    park_after: int = 10  # failures; with the defaults, about 2.5 hours of retrying

    def delay(self, failures: int) -> timedelta:
        """The wait after the ``failures``-th failure: first, doubled each time, at most cap."""
        return min(self.first * 2 ** min(max(failures - 1, 0), 32), self.cap)


class Scheduler:
    def __init__(self, schedule: Schedule, clock: Clock, metrics: Metrics, tick: timedelta,
                 retry: RetryPolicy | None = None) -> None:
        self._schedule = schedule
        self._clock = clock
        self._metrics = metrics
        self._tick = tick
        self._retry = retry or RetryPolicy()
        self._handlers: dict[str, DueHandler] = {}
        self._periodic: list[tuple[str, PeriodicJob]] = []
        self._failing = FailureEpisodes()  # logged once per episode, not every retry
        self._handled = 0
        self._wake = asyncio.Event()
        self._sleeping_until: datetime | None = None
        schedule.on_plan(self._planned)

    def handle(self, kind: str, handler: DueHandler) -> None:
        if kind in self._handlers:
            raise ValueError(f"a handler for {kind!r} is already registered")
        self._handlers[kind] = handler

    def every_tick(self, name: str, job: PeriodicJob) -> None:
        """Work that runs on each tick itself (a poller deciding whether it is time to poll)."""
        self._periodic.append((name, job))

    async def run(self, stop: asyncio.Event) -> None:
        await self.restore_parked()
        periodic_at = self._clock.now()
        while not stop.is_set():
            self._wake.clear()
            # The periodic jobs keep the tick's pace; due work wakes the loop in between.
            periodic = self._clock.now() >= periodic_at
            if periodic:
                periodic_at = self._clock.now() + self._tick
            try:
                next_due = await self._pass(periodic)
            except asyncio.CancelledError:
                raise
            except Exception:  # the database hiccuped; the loop must go on
                log.exception("a scheduler pass failed; trying again in one tick")
                self._metrics.errors.labels(kind="scheduler").inc()
                next_due = None
            await self._wait(stop, periodic_at if next_due is None else min(next_due, periodic_at))

    async def tick(self) -> int:
        """One pass: the periodic jobs, then everything due now; returns how many items were handled."""
        before = self._handled
        await self._pass(periodic=True)
        return self._handled - before

    async def _pass(self, periodic: bool) -> datetime | None:
        """Run everything due (and the periodic jobs); returns when the next stage falls due (None: nothing planned)."""
        if not periodic:
            return await self._run_due()
        for name, job in self._periodic:
            await self._guard(name, job())
        next_due = await self._run_due()
        self._metrics.scheduler_ticks.inc()  # at the end: the tick's work is done
        return next_due

    async def _run_due(self) -> datetime | None:
        while True:
            now = self._clock.now()
            due, next_due = await self._schedule.due_and_next(now, BATCH)
            finished = []
            for work in due:
                if await self._run_one(work):
                    finished.append(work)
            # Handlers are idempotent (their sends go through the outbox), so deleting the batch's
            # rows together is safe: a crash before this line only repeats work already recorded.
            if finished:
                await self._schedule.done_many(finished)
            # Every row of the batch is now done, moved later or parked, so the next batch is new work.
            if len(due) < BATCH:
                return next_due

    async def _run_one(self, work: DueWork) -> bool:
        handler = self._handlers.get(work.kind)
        if handler is None:
            log.error("no handler for scheduled work of kind %r; dropping %s", work.kind, work)
            return True
        try:
            await handler(work)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - one failing item must not stop the others
            await self._failed(work, error)
            return False
        if self._failing.recovered(work.name):
            log.info("scheduled work %s succeeded after failing", work.name)
        self._metrics.scheduled_sent.labels(kind=work.kind).inc()
        self._handled += 1
        return True

    async def _failed(self, work: DueWork, error: Exception) -> None:
        self._metrics.errors.labels(kind="scheduler").inc()
        now = self._clock.now()
        if isinstance(error, HomeserverUnavailable):
            retry_at = now + self._retry.first
            log.warning("scheduled work %s: %s; trying again at %s", work.name, error, format_utc(retry_at))
            await self._schedule.retry_later(work, retry_at, work.attempts)
            return
        failures = work.attempts + 1
        text = f"{type(error).__name__}: {error}"[:ERROR_TEXT_LIMIT]
        if failures >= self._retry.park_after:
            log.error("scheduled work %s failed %d times and is parked: it is no longer tried until it is "
                      "planned again or the bot restarts; last error %s", work.name, failures, text)
            await self._schedule.park(work, failures, text, now)
            self._metrics.scheduled_parked.labels(kind=work.kind).inc()
            self._failing.recovered(work.name)  # parked: a later planning starts a new episode
            return
        retry_at = now + self._retry.delay(failures)
        if self._failing.failed(work.name):
            log.exception("scheduled work %s failed; trying again at %s", work.name, format_utc(retry_at),
                          exc_info=error)
        else:
            log.warning("scheduled work %s failed again (%d times): %s; trying again at %s", work.name, failures,
                        text, format_utc(retry_at))
        self._metrics.scheduled_retries.labels(kind=work.kind).inc()
        await self._schedule.retry_later(work, retry_at, failures)

    async def restore_parked(self) -> None:
        """At start: each parked stage gets one more try (the operator may have fixed its cause)."""
        restored = await self._schedule.unpark_all(self._clock.now(), max(self._retry.park_after - 1, 0))
        if restored:
            log.warning("%d parked scheduled items get one more try after the restart", restored)

    async def health_warnings(self) -> list[str]:
        """For /healthz: parked work, which needs an operator."""
        parked = await self._schedule.parked(HEALTH_EXAMPLES)
        if not parked:
            return []
        count = await self._schedule.parked_count()
        examples = "; ".join(f"{p.name} ({p.attempts} failures, last: {p.error})" for p in parked)
        more = f" and {count - len(parked)} more" if count > len(parked) else ""
        return [f"{count} scheduled item(s) parked after repeated failures: {examples}{more}"]

    # ---- sleeping until the next due time ------------------------------------------------------

    def _planned(self, due_at: datetime) -> None:
        if self._sleeping_until is not None and due_at < self._sleeping_until:
            self._wake.set()

    async def _wait(self, stop: asyncio.Event, until: datetime) -> None:
        self._sleeping_until = until
        try:
            if self._wake.is_set():  # planned sooner while the pass ran
                return
            seconds = max((until - self._clock.now()).total_seconds(), 0.0)
            waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait()),
                     asyncio.ensure_future(self._clock.sleep(seconds))]
            try:
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiting in waits:
                    waiting.cancel()
                for waiting in waits:
                    with contextlib.suppress(asyncio.CancelledError):
                        await waiting
        finally:
            self._sleeping_until = None

    async def _guard(self, name: str, job: Awaitable[None]) -> bool:
        """Run one periodic job; a failure is logged once per episode and retried on the next tick."""
        try:
            await job
        except asyncio.CancelledError:
            raise
        except Exception:  # one failing job must not stop the others
            if self._failing.failed(name):
                log.exception("scheduled work %s failed; it is retried next tick", name)
            self._metrics.errors.labels(kind="scheduler").inc()
            return False
        if self._failing.recovered(name):
            log.info("scheduled work %s succeeded after failing", name)
        return True
