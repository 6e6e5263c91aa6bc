"""The one scheduler: due work is handled once, failures stay due, an idle tick costs one query."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.clock import FakeClock
from bot.consults import EXPIRE, KIND, REMIND
from bot.metrics import Metrics
from bot.scheduler import BATCH, Scheduler
from bot.storage import Storage
from bot.storage.consults import NewConsult
from bot.storage.schedule import DueWork
from tests.unit.consult_world import (  # noqa: F401 - world is a fixture
    ALICE, CONTRIBUTORS, HOURS, World, build_world, open_consult, tick_many, world,
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


async def test_a_failing_handler_stays_due_and_is_logged_once(storage: Storage,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    clock, recorder = FakeClock(), Recorder(fail_times=3)
    scheduler = scheduler_for(storage, clock, thing=recorder)
    await storage.schedule.plan("thing", 1, "now", clock.now())
    with caplog.at_level(logging.ERROR, logger="bot.scheduler"):
        for _ in range(3):
            assert await scheduler.tick() == 0
    assert len([r for r in caplog.records if "failed" in r.getMessage()]) == 1
    assert await scheduler.tick() == 1
    assert len(recorder.handled) == 1


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
    assert len(queries) == 1 and "FROM schedule WHERE due_at <= ?" in queries[0]


async def test_overdue_work_is_delivered_after_a_restart(tmp_path: Path) -> None:
    clock = FakeClock()
    first = await build_world(tmp_path / "x.db", clock, "first")
    consults = [await open_consult(first) for _ in range(3)]
    await first.storage.close()

    clock.advance(100 * HOURS)  # down through both stages of every consult
    second = await build_world(tmp_path / "x.db", clock, "second")
    await tick_many(second)
    keys = sorted(second.sender.keys())
    assert keys == sorted(f"consult:{c.id}:{stage}" for c in consults for stage in ("expire", "expire:moderators"))
    await second.storage.close()


async def test_bulk_opened_consults_fall_due_like_single_ones(world: World) -> None:
    now = world.clock.now()
    consults = (NewConsult(ALICE, CONTRIBUTORS, f"$bulk{n}", f"https://x.com/a/status/{n}", "thoughts", now,
                           now + 72 * HOURS) for n in range(50))
    await world.storage.consults.bulk_open(consults, KIND, [(REMIND, 48 * HOURS), (EXPIRE, 72 * HOURS)])
    world.clock.advance(48 * HOURS)
    assert await world.scheduler.tick() == 50
    assert len([key for key in world.sender.keys() if key.endswith(":remind")]) == 50
