"""The one scheduler: due work is handled once, failures stay due, an idle tick costs one query."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.clock import FakeClock
from bot.features.consults.service import EXPIRE, KIND, REMIND
from bot.matrix.client import HomeserverUnavailable
from bot.ops.metrics import Metrics
from bot.scheduler import BATCH, RetryPolicy, Scheduler
from bot.storage import Storage
from bot.storage.consults import NewConsult
from bot.storage.schedule import DueWork
from tests.unit.consults.world import (
    ALICE,
    CONTRIBUTORS,
    HOURS,
    World,
    build_world,
    open_consult,
    tick_many,
)


class Recorder:
    def __init__(self, fail_times: int = 0) -> None:
        self.handled: list[DueWork] = []
        self.fail_times = fail_times

    async def __call__(self, work: DueWork) -> None:
        if self.fail_times:
            self.fail_times -= 1
            raise RuntimeError("not now")
        self.handled.append(work)


def scheduler_for(storage: Storage, clock: FakeClock, **handlers: Callable[[DueWork], Awaitable[None]]) -> Scheduler:
    scheduler = Scheduler(storage.schedule, clock, Metrics(), timedelta(seconds=30))
    for kind, handler in handlers.items():
        scheduler.handle(kind, handler)
    return scheduler


def count_queries(storage: Storage, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every statement the database runs from now on, by method and SQL."""
    seen: list[str] = []
    for name in ("execute", "execute_changes", "execute_many", "fetch_one", "fetch_all"):
        original = getattr(storage.db, name)

        def counted(sql: str, *args: Any, _original: Any = original, _name: str = name) -> Any:
            seen.append(f"{_name}: {sql}")
            return _original(sql, *args)

        monkeypatch.setattr(storage.db, name, counted)
    return seen


async def test_due_work_is_handled_once_and_future_work_waits(storage: Storage) -> None:
    clock, recorder = FakeClock(), Recorder()
    scheduler = scheduler_for(storage, clock, thing=recorder)
    await storage.schedule.plan("thing", 1, "now", clock.now())
    await storage.schedule.plan("thing", 2, "later", clock.now() + HOURS)
    for _ in range(5):
        await scheduler.tick()
    assert [(w.item_id, w.stage) for w in recorder.handled] == [("1", "now")]
    clock.advance(HOURS)
    assert await scheduler.tick() == 1
    assert [(w.item_id, w.stage) for w in recorder.handled] == [("1", "now"), ("2", "later")]
    assert await storage.schedule.next_due_at() is None


async def test_a_failing_handler_is_retried_after_a_backoff_and_logged_once(
        storage: Storage, caplog: pytest.LogCaptureFixture) -> None:
    clock, recorder = FakeClock(), Recorder(fail_times=3)
    scheduler = scheduler_for(storage, clock, thing=recorder)
    await storage.schedule.plan("thing", 1, "now", clock.now())
    with caplog.at_level(logging.ERROR, logger="bot.scheduler"):
        for _ in range(3):
            assert await scheduler.tick() == 0
            assert await scheduler.tick() == 0  # backed off: not due again at once
            clock.advance(await storage.schedule.next_due_at() - clock.now())
    assert len([r for r in caplog.records if "failed" in r.getMessage()]) == 1
    assert await scheduler.tick() == 1
    assert len(recorder.handled) == 1
    assert await storage.schedule.next_due_at() is None


async def test_more_than_a_batch_is_handled_in_one_tick(storage: Storage) -> None:
    clock, recorder = FakeClock(), Recorder()
    scheduler = scheduler_for(storage, clock, thing=recorder)
    for item in range(BATCH * 2 + 5):
        await storage.schedule.plan("thing", item, "now", clock.now() - timedelta(seconds=item))
    assert await scheduler.tick() == BATCH * 2 + 5


async def test_work_of_an_unknown_kind_is_dropped_not_retried_forever(storage: Storage) -> None:
    clock = FakeClock()
    scheduler = scheduler_for(storage, clock)
    await storage.schedule.plan("retired-feature", 1, "now", clock.now())
    await scheduler.tick()
    assert await storage.schedule.next_due_at() is None


async def test_an_idle_tick_is_one_query(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    for _ in range(20):
        await open_consult(world)
    queries = count_queries(world.storage, monkeypatch)
    await world.scheduler.tick()
    assert len(queries) == 1 and "FROM schedule WHERE due_at <=" in queries[0]


async def test_overdue_work_is_delivered_after_a_restart(tmp_path: Path) -> None:
    clock = FakeClock()
    first = await build_world(tmp_path / "x.db", clock, "first")
    consults = [await open_consult(first) for _ in range(3)]
    await first.storage.close()

    clock.advance(100 * HOURS)  # down through both stages of every consult
    second = await build_world(tmp_path / "x.db", clock, "second")
    await tick_many(second)
    keys = sorted(s.key for s in second.sender.sent if s.kind == "message")
    assert keys == sorted(f"consult:{c.id}:{stage}" for c in consults for stage in ("expire", "expire:moderators"))
    assert sorted(second.sender.reactions()) == sorted((c.thread_event_id, "⌛") for c in consults)
    await second.storage.close()


async def test_bulk_opened_consults_fall_due_like_single_ones(world: World) -> None:
    now = world.clock.now()
    consults = (NewConsult(ALICE, CONTRIBUTORS, f"$bulk{n}", f"https://x.com/a/status/{n}", "thoughts", now,
                           now + 72 * HOURS) for n in range(50))
    await world.storage.history.open_consults(consults, KIND, [(REMIND, 48 * HOURS), (EXPIRE, 72 * HOURS)])
    world.clock.advance(48 * HOURS)
    assert await world.scheduler.tick() == 50
    assert len([key for key in world.sender.keys() if key.endswith(":remind")]) == 50


class Poisoned:
    """A handler for which some items always fail (a thread that can never be posted, say)."""

    def __init__(self, poisoned: set[str]) -> None:
        self.poisoned = poisoned
        self.handled: list[tuple[DueWork, object]] = []
        self.attempts: dict[str, int] = {}

    async def __call__(self, work: DueWork) -> None:
        if work.item_id in self.poisoned:
            self.attempts[work.item_id] = self.attempts.get(work.item_id, 0) + 1
            raise RuntimeError(f"M_TOO_LARGE for item {work.item_id}")
        self.handled.append((work, None))


async def test_a_thousand_poisoned_items_do_not_delay_a_good_one(storage: Storage) -> None:
    clock = FakeClock()
    poisoned = {f"bad{n}" for n in range(1000)}
    handler = Poisoned(poisoned)
    scheduler = scheduler_for(storage, clock, thing=handler)
    for n, item in enumerate(sorted(poisoned)):  # all older than the good one
        await storage.schedule.plan("thing", item, "now", clock.now() - timedelta(seconds=1000 - n))
    await storage.schedule.plan("thing", "good", "now", clock.now())
    assert await scheduler.tick() == 1
    assert [w.item_id for w, _ in handler.handled] == ["good"]
    assert len(handler.attempts) == 1000

    # Every later tick finds the poisoned items backed off, and a fresh good item runs at once.
    await storage.schedule.plan("thing", "good2", "now", clock.now())
    assert await scheduler.tick() == 1
    assert [w.item_id for w, _ in handler.handled] == ["good", "good2"]
    assert set(handler.attempts.values()) == {1}


async def test_a_failing_item_backs_off_exponentially_then_is_parked(
        storage: Storage, caplog: pytest.LogCaptureFixture) -> None:
    clock, handler = FakeClock(), Poisoned({"bad"})
    metrics = Metrics()
    retry = RetryPolicy(first=timedelta(seconds=10), cap=timedelta(seconds=60), park_after=6)
    scheduler = Scheduler(storage.schedule, clock, metrics, timedelta(seconds=30), retry=retry)
    scheduler.handle("thing", handler)
    await storage.schedule.plan("thing", "bad", "now", clock.now())
    gaps = []
    with caplog.at_level(logging.INFO, logger="bot.scheduler"):
        for _ in range(5):
            await scheduler.tick()
            [stage] = await storage.schedule.stages_of("thing", "bad")
            gaps.append((stage.due_at - clock.now()).total_seconds())
            assert stage.attempts == len(gaps)
            clock.advance(stage.due_at - clock.now())
        await scheduler.tick()  # the sixth failure parks it
    assert gaps == [10, 20, 40, 60, 60]
    assert handler.attempts == {"bad": 6}
    assert await storage.schedule.stages_of("thing", "bad") == []
    [parked] = await storage.schedule.parked()
    assert (parked.kind, parked.item_id, parked.stage, parked.attempts) == ("thing", "bad", "now", 6)
    assert "M_TOO_LARGE for item bad" in parked.error and parked.parked_at == clock.now()

    clock.advance(timedelta(days=1))
    await scheduler.tick()
    assert handler.attempts == {"bad": 6}  # parked: never tried again by the loop
    tracebacks = [r for r in caplog.records if r.exc_info]
    assert len(tracebacks) == 1  # the first failure; the retries are one line each
    [parking] = [r for r in caplog.records if "parked" in r.getMessage()]
    assert parking.levelno == logging.ERROR and "thing:bad:now" in parking.getMessage()
    rendered = metrics.render().decode()
    assert 'fxhelp_scheduled_parked_total{kind="thing"} 1.0' in rendered
    assert 'fxhelp_scheduled_retries_total{kind="thing"} 5.0' in rendered
    warnings = await scheduler.health_warnings()
    assert len(warnings) == 1 and "thing:bad:now" in warnings[0] and "parked" in warnings[0]


async def test_planning_a_parked_stage_again_unparks_it_and_a_closed_item_clears_it(storage: Storage) -> None:
    clock, handler = FakeClock(), Poisoned({"bad", "worse"})
    scheduler = Scheduler(storage.schedule, clock, Metrics(), timedelta(seconds=30),
                          retry=RetryPolicy(first=timedelta(seconds=1), cap=timedelta(seconds=1), park_after=1))
    scheduler.handle("thing", handler)
    await storage.schedule.plan("thing", "bad", "now", clock.now())
    await storage.schedule.plan("thing", "worse", "now", clock.now())
    await scheduler.tick()
    assert len(await storage.schedule.parked()) == 2
    handler.poisoned.clear()
    await storage.schedule.plan("thing", "bad", "now", clock.now())
    await storage.schedule.cancel_item("thing", "worse")
    assert await storage.schedule.parked() == []
    assert await scheduler.health_warnings() == []
    assert await scheduler.tick() == 1
    assert [w.item_id for w, _ in handler.handled] == ["bad"]


async def test_parked_work_gets_one_more_try_after_a_restart(storage: Storage) -> None:
    clock, handler = FakeClock(), Poisoned({"bad"})
    retry = RetryPolicy(first=timedelta(seconds=1), cap=timedelta(seconds=1), park_after=2)
    first = Scheduler(storage.schedule, clock, Metrics(), timedelta(seconds=30), retry=retry)
    first.handle("thing", handler)
    await storage.schedule.plan("thing", "bad", "now", clock.now())
    for _ in range(3):
        await first.tick()
        clock.advance(timedelta(seconds=1))
    assert handler.attempts == {"bad": 2} and len(await storage.schedule.parked()) == 1

    handler.poisoned.clear()  # the operator fixed the cause and restarted the bot
    second = Scheduler(storage.schedule, clock, Metrics(), timedelta(seconds=30), retry=retry)
    second.handle("thing", handler)
    await second.restore_parked()
    assert await second.tick() == 1
    assert await storage.schedule.parked() == []


async def test_a_homeserver_outage_backs_off_but_never_parks(storage: Storage) -> None:
    clock = FakeClock()
    failures = 0

    async def homeserver_away(work: DueWork) -> None:
        nonlocal failures
        failures += 1
        raise HomeserverUnavailable("send: cannot reach the homeserver")

    retry = RetryPolicy(first=timedelta(seconds=10), cap=timedelta(seconds=40), park_after=3)
    scheduler = Scheduler(storage.schedule, clock, Metrics(), timedelta(seconds=30), retry=retry)
    scheduler.handle("thing", homeserver_away)
    await storage.schedule.plan("thing", 1, "now", clock.now())
    for _ in range(10):
        await scheduler.tick()
        [stage] = await storage.schedule.stages_of("thing", 1)
        clock.advance(stage.due_at - clock.now())
    assert failures == 10
    assert await storage.schedule.parked() == []
    assert (stage.due_at - clock.now()) <= timedelta(seconds=40)


class Running:
    """The scheduler's own loop on a FakeClock, with a handler that records when (fake time) it ran."""

    def __init__(self, storage: Storage, clock: FakeClock, tick: timedelta = timedelta(seconds=30)) -> None:
        self.clock = clock
        self.ran: list[tuple[DueWork, object]] = []
        self.ran_event = asyncio.Event()
        self.scheduler = Scheduler(storage.schedule, clock, Metrics(), tick)
        self.scheduler.handle("thing", self._handle)
        self.stop = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def _handle(self, work: DueWork) -> None:
        self.ran.append((work, self.clock.now()))
        self.ran_event.set()

    async def __aenter__(self) -> Running:
        self.task = asyncio.create_task(self.scheduler.run(self.stop))
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.stop.set()
        assert self.task is not None
        await asyncio.wait_for(self.task, 5)

    async def sleeps_until(self, other_than: object = None) -> object:
        """The end of the loop's next sleep (a different one than ``other_than``)."""
        async def changed() -> object:
            while True:
                end = await self.clock.sleeping()
                if end != other_than:
                    return end
                await asyncio.sleep(0)
        return await asyncio.wait_for(changed(), 5)

    async def ran_one(self) -> tuple[DueWork, object]:
        await asyncio.wait_for(self.ran_event.wait(), 5)
        self.ran_event.clear()
        return self.ran[-1]


async def test_the_loop_sleeps_until_the_earliest_due_time_and_runs_it_then(storage: Storage) -> None:
    clock = FakeClock()
    start = clock.now()
    due = start + timedelta(seconds=7.25)
    await storage.schedule.plan("thing", 1, "now", due)
    await storage.schedule.plan("thing", 2, "now", clock.now() + HOURS)
    async with Running(storage, clock) as running:
        assert await running.sleeps_until() == due  # not a whole tick
        clock.advance(due - clock.now())
        work, ran_at = await running.ran_one()
        assert work.item_id == "1" and ran_at == due
        # Nothing else is due before the tick ends: the next sleep is capped by the 30 s tick.
        assert await running.sleeps_until(due) == start + timedelta(seconds=30)


async def test_work_planned_sooner_wakes_the_sleeping_loop(storage: Storage) -> None:
    clock = FakeClock()
    start = clock.now()
    async with Running(storage, clock) as running:
        first = await running.sleeps_until()
        assert first == start + timedelta(seconds=30)  # nothing planned: one tick
        soon = clock.now() + timedelta(seconds=2)
        await storage.schedule.plan("thing", 1, "now", soon)
        assert await running.sleeps_until(first) == soon
        clock.advance(timedelta(seconds=2))
        work, ran_at = await running.ran_one()
        assert work.item_id == "1" and ran_at == soon

        # Work due at once runs at once, without any time passing.
        later = await running.sleeps_until(soon)
        await storage.schedule.plan("thing", 2, "now", clock.now())
        work, ran_at = await running.ran_one()
        assert work.item_id == "2" and ran_at == soon
        assert later == start + timedelta(seconds=30)


async def test_work_planned_later_than_the_sleep_does_not_wake_the_loop(
        storage: Storage, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock()
    async with Running(storage, clock) as running:
        first = await running.sleeps_until()
        queries = count_queries(storage, monkeypatch)
        await storage.schedule.plan("thing", 1, "now", clock.now() + HOURS)
        await storage.schedule.plan("thing", 2, "now", clock.now() + timedelta(seconds=3))  # the positive signal
        assert await running.sleeps_until(first) == clock.now() + timedelta(seconds=3)
        passes = [q for q in queries if "FROM schedule WHERE due_at <=" in q]
        assert len(passes) == 1  # woken once, by the second plan only


async def test_periodic_jobs_keep_the_tick_s_pace_while_due_work_wakes_the_loop(storage: Storage) -> None:
    clock = FakeClock()
    polls: list[object] = []

    async def poll() -> None:
        polls.append(clock.now())

    async with Running(storage, clock) as running:
        running.scheduler.every_tick("poller", poll)  # registered before the loop's first pass runs
        start = clock.now()
        first = await running.sleeps_until()
        assert polls == [start] and first == start + timedelta(seconds=30)
        for n in range(1, 4):  # three stages due inside one tick: three wakes, no extra poll
            await storage.schedule.plan("thing", n, "now", start + timedelta(seconds=n))
        end = first
        for n in range(1, 4):
            end = await running.sleeps_until(end)
            clock.advance(start + timedelta(seconds=n) - clock.now())
            await running.ran_one()
        assert len(running.ran) == 3 and polls == [start]
        await running.sleeps_until(start + timedelta(seconds=3))
        clock.advance(start + timedelta(seconds=30) - clock.now())
        await running.sleeps_until(start + timedelta(seconds=30))
        assert polls == [start, start + timedelta(seconds=30)]


async def test_a_tick_is_counted_once_its_periodic_jobs_and_due_work_are_done(storage: Storage) -> None:
    clock = FakeClock()
    metrics = Metrics()
    ticks = lambda: metrics.registry.get_sample_value("fxhelp_scheduler_ticks_total")  # noqa: E731
    seen_by_handler: list[float | None] = []
    seen_by_job: list[float | None] = []

    async def handler(work: DueWork) -> None:
        seen_by_handler.append(ticks())

    async def job() -> None:
        seen_by_job.append(ticks())

    scheduler = Scheduler(storage.schedule, clock, metrics, timedelta(seconds=30))
    scheduler.handle("thing", handler)
    scheduler.every_tick("job", job)
    await storage.schedule.plan("thing", 1, "only", clock.now())
    assert ticks() == 0

    await scheduler.tick()
    await scheduler.tick()
    assert (seen_by_job, seen_by_handler, ticks()) == ([0, 1], [0], 2)
