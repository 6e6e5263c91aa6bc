"""Tracking SUMO questions on the 72-hour clock: a fake clock, a real sqlite file, a fake Kitsune."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest

import bot.features.questions.tracker
from bot.clock import FakeClock
from bot.config import SumoConfig
from bot.features.questions.messages import NO_PROFILE, question_stats_lines
from bot.features.questions.tracker import SWEEP_KEY, SumoQuestions, is_helper_answer
from bot.features.stats.report import StatsReporter, report_message
from bot.matrix.rendering import Fragment
from bot.ops.metrics import Metrics
from bot.services.kitsune import Answer, KitsuneClient, Person
from bot.storage import Database, Storage
from bot.storage.bot_state import BotState
from bot.storage.identities import Identities, Service
from bot.storage.outbox import Outbox
from bot.storage.questions import QuestionFilter, QuestionState, QuestionStats, QuestionStore, TakeResult
from tests.fakes.kitsune import FakeKitsune
from tests.fakes.sender import RecordingSender

H = timedelta(hours=1)
CONTRIBUTORS = "!contributors:localhost"
MODERATORS = "!moderators:localhost"


@dataclass
class StubRooms:
    contributors: str = CONTRIBUTORS
    moderators: str = MODERATORS


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def sumo(clock: FakeClock) -> AsyncIterator[FakeKitsune]:
    async with FakeKitsune(clock=clock.now) as fake:
        yield fake


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as http:
        yield http


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "fxhelp.db")
    yield database
    await database.close()


@pytest.fixture
def sender(db: Database, clock: FakeClock) -> RecordingSender:
    return RecordingSender(Outbox(db), clock)


def bodies(sender: RecordingSender) -> list[str]:
    return [sent.text for sent in sender.sent]


CONFIG = SumoConfig(api_url="http://unused", locales=["en-US", "es"], poll="5m")


def tracker_for(sumo: FakeKitsune, session: aiohttp.ClientSession, db: Database, sender: RecordingSender,
                clock: FakeClock, config: SumoConfig = CONFIG) -> SumoQuestions:
    kitsune = KitsuneClient(session, sumo.url, timeout=2, retries=0)
    return SumoQuestions(config, kitsune, QuestionStore(db), BotState(db), sender, StubRooms(), clock,  # type: ignore[arg-type]
                         moderator_pings=["@mod:localhost"], metrics=Metrics())


@pytest.fixture
def tracker(sumo: FakeKitsune, session: aiohttp.ClientSession, db: Database, sender: RecordingSender,
            clock: FakeClock) -> SumoQuestions:
    return tracker_for(sumo, session, db, sender, clock)


async def tick(tracker: SumoQuestions) -> None:
    """One scheduler tick, waiting for the poll it started (which runs in the background)."""
    await tracker.on_tick()
    await tracker.settle()


async def tick_after(tracker: SumoQuestions, clock: FakeClock, delta: timedelta) -> None:
    clock.advance(delta)
    await tick(tracker)


async def state_of(db: Database, question_id: int) -> QuestionState:
    question = await QuestionStore(db).get(question_id)
    assert question is not None
    return question.state


# ---- who answered ---------------------------------------------------------------------------------


def answer(n: int, author: str | None, minutes: int, spam: bool = False) -> Answer:
    from datetime import UTC, datetime

    return Answer(n, 1, datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=minutes),
                  Person(author, None) if author else None, spam)


def test_a_helper_answer_is_anyone_but_the_asker_and_never_spam() -> None:
    assert is_helper_answer(answer(1, "helper", 40), "asker")
    assert not is_helper_answer(answer(2, "Asker", 10), "asker")
    assert not is_helper_answer(answer(3, "helper", 20, spam=True), "asker")
    assert is_helper_answer(answer(4, "anyone", 5), None)


def test_an_author_without_a_profile_is_a_helper_unless_the_asker_has_none_either() -> None:
    assert is_helper_answer(answer(1, None, 10), "asker")
    assert not is_helper_answer(answer(2, None, 10), None)  # may be the asker's own follow-up


async def test_an_answer_by_an_account_without_a_profile_stops_the_clock(tracker, sumo, db, sender, clock) -> None:
    qid = sumo.add_question("Sync stopped", age=10 * H, asker="maria")
    sumo.answer(qid, None, age=9 * H)  # Kitsune's creator: null, an old account

    await tick(tracker)
    await tick_after(tracker, clock, 70 * H)

    question = await QuestionStore(db).get(qid)
    assert question is not None and question.state is QuestionState.ANSWERED
    assert question.first_answer_by == NO_PROFILE
    assert sender.sent == []  # no false reminder, no false expiry


async def test_the_askers_follow_up_does_not_count(tracker, sumo, db, sender, clock) -> None:
    qid = sumo.add_question("Sync stopped", age=10 * H, asker="maria")
    sumo.answer(qid, "maria", age=9 * H)

    await tick(tracker)
    await tick_after(tracker, clock, 40 * H)  # 50 h old

    assert await state_of(db, qid) is QuestionState.OPEN
    assert len(sender.sent) == 1 and "Sync stopped" in bodies(sender)[0]


async def test_a_helpers_answer_stops_the_clock(tracker, sumo, db, sender, clock) -> None:
    qid = sumo.add_question("Sync stopped", age=10 * H, asker="maria")
    sumo.answer(qid, "maria", age=9 * H)
    sumo.answer(qid, "helper", age=8 * H)

    await tick(tracker)
    await tick_after(tracker, clock, 70 * H)

    question = await QuestionStore(db).get(qid)
    assert question is not None and question.state is QuestionState.ANSWERED
    assert question.first_answer_by == "helper"
    assert question.first_answer_at == clock.now() - 70 * H - 8 * H
    assert sender.sent == []


async def test_answers_are_read_only_when_there_are_new_ones(tracker, sumo, clock) -> None:
    qid = sumo.add_question("q", age=H)
    sumo.answer(qid, "asker")
    sumo.add_question("no answers yet", age=H)

    await tick(tracker)
    await tick_after(tracker, clock, 5 * timedelta(minutes=1))
    assert len(sumo.requests_to("/api/2/answer/")) == 1

    sumo.answer(qid, "asker")
    await tick_after(tracker, clock, 5 * timedelta(minutes=1))
    assert len(sumo.requests_to("/api/2/answer/")) == 2


async def test_polls_wait_for_the_poll_interval(tracker, sumo, clock) -> None:
    await tick(tracker)
    await tick_after(tracker, clock, timedelta(minutes=4))
    assert len(sumo.requests_to("/api/2/question/")) == 2  # one per locale, once
    await tick_after(tracker, clock, timedelta(minutes=1))
    assert len(sumo.requests_to("/api/2/question/")) == 4


# ---- leaving the clock ---------------------------------------------------------------------------


async def test_a_solved_question_leaves_the_clock(tracker, sumo, db, sender, clock) -> None:
    qid = sumo.add_question("q", age=10 * H)
    await tick(tracker)
    sumo.solve(qid, sumo.answer(qid, "asker"))  # the asker found the answer themselves

    await tick_after(tracker, clock, 70 * H)

    assert await state_of(db, qid) is QuestionState.LEFT
    assert sender.sent == []


@pytest.mark.parametrize("flag", ["spam", "locked", "archived"])
async def test_a_flagged_question_leaves_the_clock(tracker, sumo, db, sender, clock, flag) -> None:
    qid = sumo.add_question("q", age=10 * H)
    await tick(tracker)
    sumo.flag(qid, **{flag: True})

    await tick_after(tracker, clock, 40 * H)

    question = await QuestionStore(db).get(qid)
    assert question is not None and question.state is QuestionState.LEFT and question.left_reason == flag
    assert sender.sent == []


async def test_deleted_and_moved_questions_leave_the_clock(tracker, sumo, db, clock) -> None:
    deleted = sumo.add_question("deleted", age=H)
    moved = sumo.add_question("moved", age=H)
    await tick(tracker)
    sumo.delete(deleted)
    sumo.move(moved, product="thunderbird")

    await tick_after(tracker, clock, 10 * H)

    assert await state_of(db, deleted) is QuestionState.LEFT
    assert await state_of(db, moved) is QuestionState.LEFT


# ---- reminders and final notices ----------------------------------------------------------------------


async def test_reminders_are_batched_and_sent_once(tracker, sumo, sender, clock) -> None:
    first = sumo.add_question("First", age=47 * H)
    second = sumo.add_question("Segundo", age=timedelta(hours=47, minutes=30), locale="es")
    third = sumo.add_question("Third", age=40 * H)
    await tick(tracker)
    assert sender.sent == []

    await tick_after(tracker, clock, H)  # first and second cross 48 h
    await tick_after(tracker, clock, timedelta(minutes=5))

    assert len(sender.sent) == 1
    batch = sender.sent[0]
    assert batch.room_id == CONTRIBUTORS and batch.key.startswith("sumo:remind:")
    assert "2 SUMO questions have waited 48h" in batch.message.plain
    assert "First" in batch.message.plain and "Segundo" in batch.message.plain
    assert "Third" not in batch.message.plain
    assert f"/es/questions/{second}" in batch.message.html and f"/en-US/questions/{first}" in batch.message.html

    await tick_after(tracker, clock, 8 * H)  # third crosses 48 h
    assert len(sender.sent) == 2
    assert "1 SUMO question has waited" in bodies(sender)[1] and "Third" in bodies(sender)[1]
    assert str(third) in sender.sent[1].message.html


async def test_the_final_notice_pings_moderators_once(tracker, sumo, db, sender, clock) -> None:
    qid = sumo.add_question("Crash on start", age=71 * H)
    await tick(tracker)  # at 71 h: the reminder
    await tick_after(tracker, clock, H)  # at 72 h: the final notice
    await tick_after(tracker, clock, H)

    assert [s.key.split(":", 1)[1].split(":", 1)[0] for s in sender.sent] == ["remind", "final", "final"]
    notice, ping = sender.sent[1:]
    assert notice.room_id == CONTRIBUTORS and ping.room_id == MODERATORS
    assert "reached 72h without a helper's answer; they still need one" in notice.message.plain
    assert "Crash on start" in notice.message.plain and "Crash on start" in ping.message.plain
    assert ping.message.mentions == ("@mod:localhost",) and notice.message.mentions == ()
    assert (ping.msgtype, notice.msgtype) == ("m.text", "m.notice")  # only the ping notifies
    assert await state_of(db, qid) is QuestionState.EXPIRED


async def test_a_question_first_seen_past_its_deadline_gets_only_the_final_notice(tracker, sumo, sender,
                                                                                 clock) -> None:
    # The bot was away: the last good poll was long ago.
    await tick(tracker)
    clock.advance(100 * H)
    sumo.add_question("old", age=90 * H)

    await tick_after(tracker, clock, timedelta(minutes=5))

    assert [s.key for s in sender.sent] == ["sumo:final:1", "sumo:final:1:moderators"]


async def test_a_crash_before_sending_resends_the_same_batch(sumo, session, db, sender, clock) -> None:
    sumo.add_question("q1", age=49 * H)
    sumo.add_question("q2", age=50 * H)
    sender.fail_next = 1
    crashed = tracker_for(sumo, session, db, sender, clock)
    with pytest.raises(ConnectionError):
        await tick(crashed)  # the batch is planned, the send fails

    sumo.add_question("q3", age=49 * H)  # became due meanwhile: a new batch, not the old one grown
    restarted = tracker_for(sumo, session, db, sender, clock)
    await tick_after(restarted, clock, timedelta(minutes=6))
    await tick_after(restarted, clock, timedelta(minutes=6))

    keys = [s.key for s in sender.sent]
    assert keys == ["sumo:remind:1", "sumo:remind:2"]
    assert "q1" in bodies(sender)[0] and "q2" in bodies(sender)[0] and "q3" not in bodies(sender)[0]
    assert "q3" in bodies(sender)[1]


async def test_a_crash_after_sending_does_not_send_again(sumo, session, db, sender, clock) -> None:
    sumo.add_question("q1", age=49 * H)
    first = tracker_for(sumo, session, db, sender, clock)
    await first.poll()
    batch = (await QuestionStore(db).unsent_batches())[0]
    await sender.send_once(f"sumo:remind:{batch.id}", CONTRIBUTORS, Fragment("sent before the crash"))

    restarted = tracker_for(sumo, session, db, sender, clock)
    await tick(restarted)
    await tick_after(restarted, clock, timedelta(minutes=6))

    assert [s.message.plain for s in sender.sent] == ["sent before the crash"]
    assert await QuestionStore(db).unsent_batches() == []


# ---- SUMO in trouble -------------------------------------------------------------------------------------


async def test_sumo_down_delays_tracking_and_logs_once(tracker, sumo, sender, clock, caplog) -> None:
    sumo.add_question("q", age=timedelta(hours=47, minutes=40))
    await tick(tracker)
    sumo.down()
    caplog.set_level(logging.INFO, logger="bot.features.questions.tracker")

    for _ in range(5):
        await tick_after(tracker, clock, timedelta(minutes=5))

    assert sender.sent == []  # due, but the data is stale: nothing is decided without SUMO
    failures = [r for r in caplog.records if "SUMO poll failed" in r.message]
    assert len(failures) == 1

    sumo.up()
    await tick_after(tracker, clock, timedelta(minutes=5))
    assert len(sender.sent) == 1
    assert any("works again after 5 failed polls" in r.message for r in caplog.records)


async def test_a_catch_up_bigger_than_one_poll_goes_on_across_polls_and_restarts(
        sumo, session, db, sender, clock, monkeypatch) -> None:
    monkeypatch.setattr(bot.features.questions.tracker, "REQUESTS_PER_POLL", 10)
    config = SumoConfig(api_url="http://unused", locales=["en-US"], poll="5m")
    first = tracker_for(sumo, session, db, sender, clock, config)
    await tick(first)  # a first, complete sweep: nothing there yet
    clock.advance(100 * H)  # the bot was away for four days
    ids = [sumo.add_question(f"asked {n}", age=(99 - n) * H) for n in range(90)]  # 5 pages of 20
    for qid in ids[::2]:
        sumo.answer(qid, "helper", age=(99 - ids.index(qid)) * H - timedelta(minutes=30))

    await tick(first)  # 10 requests: the sweep is not over, nothing is decided yet
    assert sender.sent == []
    assert await BotState(db).get(SWEEP_KEY) is not None

    restarted = tracker_for(sumo, session, db, sender, clock, config)  # the cursor is in the database
    for _ in range(15):
        if await BotState(db).get(SWEEP_KEY) is None:
            break
        await tick_after(restarted, clock, timedelta(minutes=5))

    assert await BotState(db).get(SWEEP_KEY) is None, "the sweep completed"
    store = QuestionStore(db)
    states = [(await store.get(qid)).state for qid in ids]  # type: ignore[union-attr]
    assert states[::2] == [QuestionState.ANSWERED] * 45  # every answer given in time was seen
    assert all(state is not QuestionState.ANSWERED for state in states[1::2])
    assert [s.key for s in sender.sent][:2] == ["sumo:remind:1", "sumo:final:2"]
    pages = sumo.requests_to("/api/2/question/")
    assert all("page" not in query for query in pages)
    assert len({query["created__gt"] for query in pages[1:]}) == len(pages) - 1  # each page asked once


async def test_a_user_agent_block_stops_polling_logs_once_and_shows_on_healthz(
        sumo, session, db, sender, clock, caplog) -> None:
    sumo.add_question("q", age=49 * H)
    sumo.block_user_agents("fxhelp-bot")
    kitsune = KitsuneClient(session, sumo.url, user_agent="fxhelp-bot/1 (test)", timeout=2, retries=2)
    tracker = SumoQuestions(CONFIG, kitsune, QuestionStore(db), BotState(db), sender, StubRooms(), clock,  # type: ignore[arg-type]
                            metrics=Metrics())
    assert tracker.health_problems() == []

    for _ in range(4):
        await tick_after(tracker, clock, timedelta(minutes=5))

    assert len(sumo.requests) == 1
    assert len([r for r in caplog.records if "HTTP 429" in r.message]) == 1
    [problem] = tracker.health_problems()
    assert "HTTP 429" in problem and "sumo.contact" in problem
    assert tracker.last_problem is not None and "User-Agent" in tracker.last_problem
    assert sender.sent == []


async def test_garbage_from_sumo_is_a_failed_poll(tracker, sumo, sender, clock) -> None:
    sumo.add_question("q", age=49 * H)
    sumo.garbage_next()

    await tick(tracker)
    assert sender.sent == []
    await tick_after(tracker, clock, timedelta(minutes=5))
    assert len(sender.sent) == 1


async def test_after_an_outage_answers_given_in_time_still_count(tracker, sumo, db, sender, clock) -> None:
    answered = sumo.add_question("answered while we were away", age=60 * H)
    unanswered = sumo.add_question("nobody came", age=60 * H)
    late = sumo.add_question("answered too late", age=60 * H)
    await tick(tracker)  # the 48 h reminder for all three
    sumo.down()
    clock.advance(20 * H)
    sumo.answer(answered, "helper", age=10 * H)  # at 70 h: in time
    sumo.answer(late, "helper", age=0 * H)  # at 80 h: too late
    await tick(tracker)
    clock.advance(6 * H)  # now all three are 86 h old
    sumo.up()

    await tick(tracker)

    assert await state_of(db, answered) is QuestionState.ANSWERED
    assert await state_of(db, unanswered) is QuestionState.EXPIRED
    assert await state_of(db, late) is QuestionState.EXPIRED
    final = [s for s in sender.sent if s.key.startswith("sumo:final:")]
    assert len(final) == 2
    assert "nobody came" in final[0].message.plain
    assert "answered" not in final[0].message.plain.replace("without a helper's answer", "")
    catch_up = sumo.requests_to("/api/2/question/")[-1]["created__gt"]
    assert catch_up.endswith("+00:00")


# ---- claims, listings and numbers ------------------------------------------------------------------------


async def test_take_claims_a_question_for_two_hours(tracker, sumo, clock) -> None:
    qid = sumo.add_question("q", age=H)
    await tick(tracker)
    [question] = await tracker.find(str(qid)[-4:])

    result, held = await tracker.take(question, "@alice:localhost")
    assert result is TakeResult.TAKEN and held is not None
    assert held.claim_at(clock.now()) == ("@alice:localhost", clock.now() + 2 * H)

    result, held = await tracker.take(question, "@eve:localhost")
    assert result is TakeResult.TAKEN_BY_OTHER and held is not None and held.taken_by == "@alice:localhost"

    clock.advance(2 * H)
    result, _ = await tracker.take(question, "@eve:localhost")
    assert result is TakeResult.TAKEN


async def test_the_listing_is_soonest_deadline_first_with_short_ids(tracker, sumo, clock) -> None:
    later = sumo.add_question("later", age=H, question_id=1_500_123)
    sooner = sumo.add_question("sooner", age=30 * H, question_id=1_600_123)  # same last four digits
    other = sumo.add_question("other", age=50 * H, question_id=1_600_777)
    answered = sumo.add_question("answered", age=2 * H)
    sumo.answer(answered, "helper")
    await tick(tracker)

    view = await tracker.view(QuestionFilter.OPEN, limit=10)
    assert [q.id for q in view.questions] == [other, sooner, later]
    assert view.short_ids == {other: "0777", sooner: "1600123", later: "1500123"}
    assert not tracker.is_data_stale(view.data_age)

    stale = await tracker.view(QuestionFilter.STALE, limit=10)
    assert [q.id for q in stale.questions] == [other]
    everything = await tracker.view(QuestionFilter.ALL, limit=2)
    assert everything.total == 4 and len(everything.questions) == 2

    clock.advance(11 * timedelta(minutes=1))
    assert tracker.is_data_stale((await tracker.view(QuestionFilter.OPEN, limit=1)).data_age)


async def test_first_answer_counts_follow_linked_sumo_names(tracker, sumo, db, clock) -> None:
    for n in range(3):
        qid = sumo.add_question(f"q{n}", age=H)
        sumo.answer(qid, "Helper1" if n < 2 else "helper2")
    await tick(tracker)
    identities = Identities(db)
    await identities.link("@alice:localhost", Service.SUMO, "helper1", clock.now())

    counts = await QuestionStore(db).first_answer_counts(clock.now() - 10 * H)

    assert counts == [("@alice:localhost", 2)]


async def test_stats_share_answered_and_median(tracker, sumo, db, clock) -> None:
    fast = sumo.add_question("fast", age=10 * H)
    sumo.answer(fast, "helper", age=8 * H)  # after 2 h
    slow = sumo.add_question("slow", age=20 * H)
    sumo.answer(slow, "helper", age=10 * H)  # after 10 h
    sumo.add_question("nobody", age=10 * H)
    sumo.flag(sumo.add_question("spam", age=10 * H), spam=True)
    await tick(tracker)
    clock.advance(70 * H)
    sumo.add_question("waiting", age=H)
    await tick(tracker)

    stats = await QuestionStore(db).stats(clock.now() - 100 * H)

    assert stats.tracked == 4  # spam is never listed
    assert (stats.answered_in_window, stats.expired, stats.waiting) == (2, 1, 1)
    assert stats.share_answered == pytest.approx(2 / 3)
    assert stats.median_first_answer == 6 * H


def test_stats_lines_say_what_answered_means() -> None:
    stats = QuestionStats(tracked=5, answered_in_window=2, expired=1, left=1, waiting=1, median_first_answer=6 * H)

    text = question_stats_lines(stats, 72 * H).plain

    assert "SUMO forum questions: 5 tracked" in text
    assert "answered within 72h: 2 of 3 whose window has run (67%)" in text
    assert "median time to first helper answer: 6h" in text
    assert "72h passed without a helper's answer: 1" in text
    assert "a first answer by someone other than the asker" in text


async def test_stats_and_the_digest_include_questions_when_sumo_is_set_up(tmp_path: Path, clock: FakeClock) -> None:
    storage = await Storage.open(tmp_path / "stats.db")
    try:
        with_sumo = await StatsReporter(storage, clock, 72 * H, question_window=72 * H).report(30)
        without = await StatsReporter(storage, clock, 72 * H).report(30)
    finally:
        await storage.close()

    assert "SUMO forum questions: none tracked." in report_message(with_sumo, "Stats").plain
    assert "SUMO" not in report_message(without, "Stats").plain


async def test_each_poll_is_counted_when_it_has_ended_by_outcome(sumo, session, db, sender, clock) -> None:
    metrics = Metrics()
    kitsune = KitsuneClient(session, sumo.url, timeout=2, retries=0)
    tracker = SumoQuestions(CONFIG, kitsune, QuestionStore(db), BotState(db), sender, StubRooms(), clock,  # type: ignore[arg-type]
                            metrics=metrics)
    polls = lambda outcome: metrics.registry.get_sample_value("fxhelp_sumo_polls_total", {"outcome": outcome})  # noqa: E731
    sumo.add_question("q", age=49 * H)

    await tracker.on_tick()  # the poll runs in the background: not counted before it has ended
    assert polls("ok") == 0
    await tracker.settle()
    assert (polls("ok"), polls("failed")) == (1, 0)
    await tick(tracker)  # the next poll is 5 minutes later
    assert polls("ok") == 1

    sumo.garbage_next()
    await tick_after(tracker, clock, timedelta(minutes=5))
    assert (polls("ok"), polls("failed")) == (1, 1)
    assert len(sender.sent) == 1
