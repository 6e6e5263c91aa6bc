"""Daily pruning keeps handled_events, outbox, command_answers and the dashboard's sign-ins bounded,
and never forgets what exactly-once, an edit or a live session needs."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

from bot.clock import FakeClock, to_timestamp
from bot.config import MAX_EDIT_WINDOW
from bot.matrix.sync import SYNC_SAVED_AT
from bot.ops.dashboard.signin import LINK_VALID, SESSION_VALID
from bot.ops.metrics import Metrics
from bot.retention import KEPT, KIND, UNCONFIRMED_KEPT, Pruned, Retention
from bot.scheduler import Scheduler
from bot.storage import Storage
from bot.storage.answers import CommandAnswer

ROOM = "!contributors:localhost"
COMMANDS_A_DAY = 30
SCHEDULED_A_DAY = 5
# A year at this rate is ~11,000 commands and ~13,000 outbox rows; without pruning the file is ~4 MB.
STATED_LIMIT_BYTES = 512 * 1024


def retention_for(storage: Storage, clock: FakeClock) -> Retention:
    return Retention(storage.handled_events, storage.outbox, storage.schedule, storage.state, clock,
                     answers=storage.answers, sessions=storage.dashboard_sessions, figures=storage.figures.cache)


async def synced(storage: Storage, clock: FakeClock) -> None:
    await storage.state.set(SYNC_SAVED_AT, str(to_timestamp(clock.now())))


def file_size(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path.stat().st_size + (path.with_name(path.name + "-wal").stat().st_size
                                  if path.with_name(path.name + "-wal").exists() else 0)


async def count(storage: Storage, table: str) -> int:
    row = await storage.db.fetch_one(f"SELECT COUNT(*) AS n FROM {table}")  # a fixed table name
    return row["n"]


async def test_a_year_of_traffic_keeps_the_database_under_the_stated_size(tmp_path):
    path = tmp_path / "fxhelp.db"
    storage = await Storage.open(path)
    try:
        clock = FakeClock()
        retention = retention_for(storage, clock)
        scheduler = Scheduler(storage.schedule, clock, Metrics(), timedelta(seconds=30))
        scheduler.handle(KIND, retention.handle_due)
        await retention.plan_first()
        sizes = {}
        for day in range(365):
            for n in range(COMMANDS_A_DAY):
                event_id = f"$command-{day}-{n}:localhost"
                await storage.handled_events.mark_handled(event_id, ROOM, clock.now())
                entry = await storage.outbox.begin(f"answer:{event_id}", f"fxhelp-{day:04d}{n:036d}", ROOM, clock.now())
                await storage.outbox.complete(entry.key, f"$answer-{day}-{n}:localhost", clock.now())
            for n in range(SCHEDULED_A_DAY):
                key = f"consult:{day * SCHEDULED_A_DAY + n}:reminder"
                entry = await storage.outbox.begin(key, f"fxhelp-s{day:04d}{n:035d}", ROOM, clock.now())
                await storage.outbox.complete(key, f"$reminder-{day}-{n}:localhost", clock.now())
            await synced(storage, clock)
            clock.advance(timedelta(days=1))
            await scheduler.tick()
            if day in (30, 364):
                sizes[day] = file_size(path)
        per_day = COMMANDS_A_DAY + SCHEDULED_A_DAY
        assert await count(storage, "handled_events") <= (KEPT.days + 1) * COMMANDS_A_DAY
        assert await count(storage, "outbox") <= (KEPT.days + 1) * per_day
        assert sizes[364] < STATED_LIMIT_BYTES
        assert sizes[364] <= sizes[30] * 1.1  # bounded: a month in, the file has its final size
    finally:
        await storage.close()


async def test_nothing_is_forgotten_before_the_bot_has_caught_up_after_a_downtime(storage):
    clock = FakeClock()
    retention = retention_for(storage, clock)
    await storage.handled_events.mark_handled("$old:localhost", ROOM, clock.now())
    entry = await storage.outbox.begin("answer:x", "fxhelp-x", ROOM, clock.now())
    await storage.outbox.complete(entry.key, "$answer:localhost", clock.now())
    await synced(storage, clock)  # then the bot was down for 60 days
    clock.advance(timedelta(days=60))
    assert await retention.prune() == Pruned()
    assert await storage.handled_events.was_handled("$old:localhost")
    await synced(storage, clock)  # back, and caught up
    assert await retention.prune() == Pruned(handled=1, outbox=1)
    assert not await storage.handled_events.was_handled("$old:localhost")


async def test_recent_rows_and_unconfirmed_sends_are_kept(storage):
    clock = FakeClock()
    retention = retention_for(storage, clock)
    await storage.outbox.begin("consult:1:expiry", "fxhelp-unconfirmed", ROOM, clock.now())  # in doubt
    clock.advance(KEPT + timedelta(days=1))
    await storage.handled_events.mark_handled("$recent:localhost", ROOM, clock.now())
    await synced(storage, clock)
    assert await retention.prune() == Pruned()
    assert (await storage.outbox.get("consult:1:expiry")) is not None
    clock.advance(UNCONFIRMED_KEPT)
    await synced(storage, clock)
    assert await retention.prune() == Pruned(handled=1, outbox=1)


async def test_pruning_waits_while_other_scheduled_work_is_overdue(storage):
    clock = FakeClock()
    retention = retention_for(storage, clock)
    await retention.plan_first()
    entry = await storage.outbox.begin("consult:7:reminder", "fxhelp-7", ROOM, clock.now())
    await storage.outbox.complete(entry.key, "$reminder:localhost", clock.now())
    # Sent just before a long downtime; its stage was not yet marked done when the bot died.
    await storage.schedule.plan("consult", 7, "reminder", clock.now())
    clock.advance(timedelta(days=40))
    await synced(storage, clock)
    (prune,) = await prune_runs(storage, clock.now())
    await retention.handle_due(prune)
    await storage.schedule.done_many([prune])  # as the scheduler does after a handler
    assert (await storage.outbox.get("consult:7:reminder")) is not None
    (postponed,) = await prune_runs(storage, clock.now() + timedelta(hours=1))
    assert postponed.due_at == clock.now() + timedelta(hours=1)
    await storage.schedule.cancel_item("consult", 7)  # the reminder's stage is done
    await retention.handle_due(postponed)
    await storage.schedule.done_many([postponed])
    assert (await storage.outbox.get("consult:7:reminder")) is None
    (next_run,) = await prune_runs(storage, clock.now() + timedelta(days=1))
    assert next_run.due_at == clock.now() + timedelta(days=1)


async def prune_runs(storage: Storage, until: datetime) -> list:
    return [work for work in await storage.schedule.due(until) if work.kind == KIND]


MOD = "@mod:localhost"


async def test_used_or_expired_links_and_ended_or_expired_sessions_are_deleted_live_ones_kept(storage):
    clock = FakeClock()
    retention = retention_for(storage, clock)
    sessions = storage.dashboard_sessions

    async def link(user: str = MOD):
        return await sessions.new_link(user, clock.now(), clock.now() + LINK_VALID)

    async def redeem(token):
        return await sessions.redeem_link(token, clock.now(), clock.now() + SESSION_VALID)

    expired_link = await link()
    _, expiring = await redeem(await link())        # a session that will run out
    clock.advance(SESSION_VALID - timedelta(hours=1))
    used_link = await link()
    _, ended = await redeem(used_link)
    assert await sessions.end_session(ended, clock.now())  # /logout
    _, live = await redeem(await link())
    clock.advance(timedelta(hours=1))               # `expiring` and `expired_link` run out
    assert await sessions.session_user(expiring, clock.now()) is None
    fresh_link = await link()

    pruned = await retention.prune()  # never synced: the sign-ins go by the clock all the same
    assert (pruned.sign_in_links, pruned.sessions) == (4, 2)
    assert await count(storage, "dashboard_links") == 1 and await count(storage, "dashboard_sessions") == 1
    assert await sessions.session_user(live, clock.now()) == MOD
    assert await redeem(used_link) is None and await redeem(expired_link) is None
    assert (await redeem(fresh_link))[0] == MOD     # still unused and inside its 10 minutes
    assert (await retention.prune()).sign_in_links == 1 and await count(storage, "dashboard_links") == 0


def answer_to(event_id: str, at: datetime) -> CommandAnswer:
    return CommandAnswer(event_id, ROOM, MOD, None, at, "ping", False, f"$answer-{event_id}", "pong", "pong", at)


async def test_command_answers_go_with_the_handled_events_and_not_before_the_bot_caught_up(storage):
    clock = FakeClock()
    retention = retention_for(storage, clock)
    old = clock.now()
    await storage.answers.record(answer_to("$old:localhost", old))
    clock.advance(timedelta(days=2))
    await storage.answers.record(answer_to("$recent:localhost", clock.now()))
    await synced(storage, clock)   # then the bot was down for 60 days
    clock.advance(timedelta(days=60))
    assert (await retention.prune()).command_answers == 0

    async def caught_up_to(moment: datetime) -> int:
        await storage.state.set(SYNC_SAVED_AT, str(to_timestamp(moment)))
        return (await retention.prune()).command_answers

    assert await caught_up_to(old + KEPT - timedelta(hours=1)) == 0
    assert await storage.answers.get("$old:localhost") is not None
    assert await caught_up_to(old + KEPT + timedelta(hours=1)) == 1
    assert await storage.answers.get("$old:localhost") is None
    assert await storage.answers.get("$recent:localhost") is not None
    assert await caught_up_to(clock.now()) == 1 and await count(storage, "command_answers") == 0


def test_no_edit_window_reaches_back_past_what_the_bot_remembers():
    # An edit inside the window of a command already forgotten would run that command again.
    assert MAX_EDIT_WINDOW < KEPT
