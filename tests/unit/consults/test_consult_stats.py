"""The numbers of !stats, !top and the weekly digest: figures, median, ranking, the digest's week."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from bot.clock import FakeClock
from bot.config import DigestConfig
from bot.features.consults.stats import consult_figures, median
from bot.features.stats.digest import KIND as DIGEST
from bot.features.stats.digest import WeeklyDigest, iso_week, next_slot
from bot.features.stats.report import AnswerSource, StatsReporter, report_message, top_answerers
from bot.framework.dispatcher import Dispatcher
from bot.ops.metrics import Metrics
from bot.scheduler import Scheduler
from bot.storage import Storage
from bot.storage.consults import Consult, ConsultState
from tests.fakes.sender import RecordingSender
from tests.unit.consults.world import (
    ALICE,
    CONTRIBUTORS,
    EVE,
    HOURS,
    MOD,
    MODERATORS_ROOM,
    World,
    open_consult,
    room_message,
)

START = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
WINDOW = 72 * HOURS


def consult(consult_id: int, *, answered_after: timedelta | None = None, by: str = EVE,
            closed_after: timedelta | None = None, opened: datetime = START) -> Consult:
    answered_at = opened + answered_after if answered_after is not None else None
    closed_at = opened + closed_after if closed_after is not None else None
    state = ConsultState.DONE if closed_at else ConsultState.ANSWERED if answered_at else ConsultState.OPEN
    return Consult(consult_id, ALICE, CONTRIBUTORS, f"$c{consult_id}", f"$t{consult_id}", "https://x.com/a/status/1",
                   "thoughts", state, opened, opened + WINDOW, answered_at, by if answered_at else None,
                   closed_at, ALICE if closed_at else None)


# ---- figures -------------------------------------------------------------------------------------

def test_median() -> None:
    assert median([]) is None
    assert median([3.0, 1.0, 2.0]) == 2.0
    assert median([4.0, 1.0, 3.0, 2.0]) == 2.5


def test_consult_figures_follow_the_72_hour_rule() -> None:
    now = START + 100 * HOURS
    consults = [
        consult(1, answered_after=2 * HOURS),
        consult(2, answered_after=10 * HOURS),
        consult(3, answered_after=80 * HOURS),                  # expired, then answered late
        consult(4),                                             # expired, never answered
        consult(5, closed_after=HOURS),                         # withdrawn before the window closed
        consult(6, opened=now - HOURS),                         # still inside its window
        consult(7, answered_after=WINDOW),                      # an answer at the last second counts
    ]
    figures = consult_figures(consults, now)
    assert (figures.opened, figures.answered_in_window, figures.expired, figures.answered_late, figures.waiting) == \
        (7, 3, 2, 1, 1)
    assert figures.decided == 5 and figures.share_in_window == pytest.approx(0.6)
    assert figures.median_first_answer == 41 * HOURS  # of 2h, 10h, 72h, 80h


def test_no_consults_no_share() -> None:
    figures = consult_figures([], START)
    assert figures.opened == 0 and figures.share_in_window is None and figures.median_first_answer is None


def test_report_message_reads_well() -> None:
    from bot.features.stats.report import StatsReport

    figures = consult_figures([consult(1, answered_after=2 * HOURS), consult(2)], START + 100 * HOURS)
    report = StatsReport(30, START, WINDOW, figures, {"trending": 2, "paid": 1, "brand": 0}, {"open": 3})
    text = report_message(report, "Stats").plain
    assert "Stats (last 30 days, since 2026-11-24 12:00 UTC)" in text
    assert "Consults: 2 opened" in text
    assert "answered within 72h: 1 of 2 whose window has run (50%)" in text
    assert "median time to first answer: 2h" in text
    assert "expired without an answer: 1" in text
    assert "Escalations: 3" in text and "by reason: trending 2, paid 1" in text and "brand" not in text
    empty = StatsReport(7, START, WINDOW, consult_figures([], START), {"trending": 0}, {"open": 0})
    assert "Consults: none opened." in report_message(empty, "Stats").plain
    assert "Escalations: none." in report_message(empty, "Stats").plain


# ---- !top ---------------------------------------------------------------------------------------

async def test_top_answerers_merge_sources_most_first() -> None:
    async def consults(since: datetime) -> list[tuple[str, int]]:
        return [("@b:x", 3), ("@a:x", 2)]

    async def forum(since: datetime) -> list[tuple[str, int]]:
        return [("@a:x", 1), ("@c:x", 4)] + [(f"@n{i}:x", 1) for i in range(12)]

    ranking = await top_answerers([AnswerSource("consults", consults), AnswerSource("forum", forum)], START)
    assert ranking[:3] == [("@c:x", 4), ("@a:x", 3), ("@b:x", 3)]
    assert len(ranking) == 10


async def test_first_answer_counts_exclude_self_answers_and_old_ones(world: World) -> None:
    old = await open_consult(world)
    await world.service.record_answer(old.id, MOD, world.clock.now())
    world.clock.advance(100 * 24 * HOURS)
    mine = await open_consult(world)
    await world.service.observe_message(room_message(ALICE, "answering myself", thread_root=mine.thread_event_id,
                                                     clock=world.clock))
    await world.service.observe_message(room_message(EVE, "an answer", thread_root=mine.thread_event_id,
                                                     clock=world.clock))
    eves_own = await open_consult(world, requester=EVE)
    await world.service.record_answer(eves_own.id, EVE, world.clock.now())
    another = await open_consult(world, requester=MOD)
    await world.service.record_answer(another.id, EVE, world.clock.now())

    since = world.clock.now() - 90 * 24 * HOURS
    assert await world.storage.consults.first_answer_counts(since) == [(EVE, 2)]


class FakeEscalations:
    """The escalation store's counting side, as ``bot.storage.escalations`` provides it."""

    async def counts_by_reason(self, since: datetime) -> dict[str, int]:
        return {"trending": 1, "no-kb": 0, "paid": 0, "brand": 0, "other": 0}

    async def counts_by_state(self, since: datetime) -> dict[str, int]:
        return {"open": 1, "acked": 0, "resolved": 0}


@pytest.fixture
async def stats_chat(world: World) -> Dispatcher:
    world.storage.escalations = FakeEscalations()  # type: ignore[assignment] - a stand-in for the escalation store
    assert world.bot.settings.consult_window == WINDOW
    return world.dispatcher


async def ask(world: World, dispatcher: Dispatcher, sender: str, body: str) -> str:
    message = room_message(sender, body, clock=world.clock)
    await dispatcher.handle(message)
    return next(s.text for s in world.sender.sent if s.reply_to == message.event_id)


async def test_top_and_stats_commands(world: World, stats_chat: Dispatcher) -> None:
    assert "No first answers in the last 90 days yet." in await ask(world, stats_chat, EVE, "!top")
    first = await open_consult(world)
    world.clock.advance(3 * HOURS)
    await world.service.record_answer(first.id, EVE, world.clock.now())
    await open_consult(world)

    top = await ask(world, stats_chat, ALICE, "!top 30")
    assert "Top 1 answerers, last 30 days" in top and "1. @eve:example.org — 1 first answer" in top
    assert "Counted: first answers to consults (nobody counts for their own)." in top
    assert "Usage: !top [days]" in await ask(world, stats_chat, ALICE, "!top 4000")

    assert "for moderators only" in await ask(world, stats_chat, EVE, "!stats")
    stats = await ask(world, stats_chat, MOD, "!stats 7")
    assert "Stats (last 7 days" in stats and "Consults: 2 opened" in stats
    assert "median time to first answer: 3h" in stats and "still inside their window: 1" in stats
    assert "by reason: trending 1" in stats


# ---- the weekly digest -----------------------------------------------------------------------

@pytest.mark.parametrize("now, expected", [
    (datetime(2026, 11, 23, 8, 59, tzinfo=UTC), datetime(2026, 11, 23, 9, 0, tzinfo=UTC)),   # Monday before 9
    (datetime(2026, 11, 23, 9, 0, tzinfo=UTC), datetime(2026, 11, 30, 9, 0, tzinfo=UTC)),    # exactly at: next week
    (datetime(2026, 11, 24, 12, 0, tzinfo=UTC), datetime(2026, 11, 30, 9, 0, tzinfo=UTC)),   # Tuesday
    (datetime(2026, 11, 29, 23, 0, tzinfo=UTC), datetime(2026, 11, 30, 9, 0, tzinfo=UTC)),   # Sunday night
])
def test_next_slot(now: datetime, expected: datetime) -> None:
    assert next_slot(now, "monday", 9) == expected


def test_iso_week_names_the_week() -> None:
    assert iso_week(datetime(2026, 11, 30, 9, tzinfo=UTC)) == "2026-W49"
    assert iso_week(datetime(2027, 1, 1, 9, tzinfo=UTC)) == "2026-W53"


async def build_digest(path: Path, clock: FakeClock, name: str,
                       settings: DigestConfig | None = None) -> tuple[Storage, RecordingSender, Scheduler]:
    settings = settings or DigestConfig()
    storage = await Storage.open(path)
    storage.escalations = FakeEscalations()  # type: ignore[assignment] - a stand-in for the escalation store
    sender = RecordingSender(storage.outbox, clock, name)
    rooms = SimpleNamespace(contributors=CONTRIBUTORS, moderators=MODERATORS_ROOM)
    digest = WeeklyDigest(storage.schedule, sender, rooms, StatsReporter(storage, clock, WINDOW), clock, settings)
    scheduler = Scheduler(storage.schedule, clock, Metrics(), timedelta(seconds=30))
    scheduler.handle(DIGEST, digest.handle_due)
    await digest.plan_next()
    return storage, sender, scheduler


async def test_the_digest_is_sent_once_per_week_across_restarts(tmp_path: Path) -> None:
    clock = FakeClock(datetime(2026, 11, 24, 12, 0, tzinfo=UTC))  # a Tuesday
    storage, sender, scheduler = await build_digest(tmp_path / "x.db", clock, "first")
    assert [(w.item_id, w.due_at) for w in await storage.schedule.stages_of(DIGEST, "2026-W49")] == \
        [("2026-W49", datetime(2026, 11, 30, 9, 0, tzinfo=UTC))]
    clock.advance(timedelta(days=6))  # Monday 12:00, three hours late
    for _ in range(3):
        await scheduler.tick()
    assert sender.keys() == ["digest:2026-W49"]
    assert sender.sent[0].room_id == MODERATORS_ROOM and "Weekly digest 2026-W49 (last 7 days" in sender.sent[0].text
    await storage.close()

    storage, sender, scheduler = await build_digest(tmp_path / "x.db", clock, "second")  # a restart
    await scheduler.tick()
    assert sender.sent == []
    assert await storage.schedule.stages_of(DIGEST, "2026-W50") != []
    clock.advance(timedelta(days=7))
    await scheduler.tick()
    assert sender.keys() == ["digest:2026-W50"]
    await storage.close()


async def test_a_long_outage_sends_one_late_digest_not_a_backlog(tmp_path: Path) -> None:
    clock = FakeClock(datetime(2026, 11, 24, 12, 0, tzinfo=UTC))
    storage, sender, scheduler = await build_digest(tmp_path / "x.db", clock, "first")
    clock.advance(timedelta(days=20))
    await scheduler.tick()
    assert sender.keys() == ["digest:2026-W49"]
    assert (await storage.schedule.next_due_at()) > clock.now()
    await storage.close()


async def test_a_disabled_digest_plans_and_sends_nothing(tmp_path: Path) -> None:
    clock = FakeClock()
    storage, sender, scheduler = await build_digest(tmp_path / "x.db", clock, "off", DigestConfig(enabled=False))
    assert await storage.schedule.next_due_at() is None
    await storage.close()
