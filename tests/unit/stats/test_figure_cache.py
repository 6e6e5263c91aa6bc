"""Kept figures of settled weeks (figure_cache) are always what a computation from scratch gives:
every write to a row of a kept week (through the stores or by any other writer) forgets it, and a
clock set back does not use it."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from bot.clock import to_timestamp
from bot.features.consults.stats import consult_figures
from bot.features.stats.dashboard import iso_week_start
from bot.features.stats.periods import consult_figures_for
from bot.storage import Storage
from bot.storage.consults import NewConsult
from bot.storage.identities import Service
from tests.fakes import history

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
WEEK = timedelta(days=7)
FIRST = iso_week_start(NOW) - WEEK * 5
WEEKS = [(FIRST + WEEK * i, FIRST + WEEK * (i + 1)) for i in range(6)]
HELPER = "@helper:example.org"


async def seeded(storage: Storage) -> Storage:
    rng = random.Random(7)
    await storage.history.consults(history.consults(rng, NOW, timedelta(weeks=6), 300))
    await storage.history.questions(history.questions(rng, NOW, timedelta(weeks=6), 300))
    return storage


async def kept(storage: Storage, kind: str) -> int:
    row = await storage.db.fetch_one("SELECT COUNT(*) FROM figure_cache WHERE kind = ?", (kind,))
    return row[0]


async def from_scratch(storage: Storage, now: datetime = NOW):
    await storage.db.execute("DELETE FROM figure_cache")
    return (await storage.figures.consults(WEEKS, now), await storage.figures.questions(WEEKS, now),
            await storage.consults.first_answer_counts(now - timedelta(days=90)),
            await storage.questions.first_answer_counts(now - timedelta(days=90)))


async def through_the_cache(storage: Storage, now: datetime = NOW):
    return (await storage.figures.consults(WEEKS, now), await storage.figures.questions(WEEKS, now),
            await storage.consults.first_answer_counts(now - timedelta(days=90)),
            await storage.questions.first_answer_counts(now - timedelta(days=90)))


async def test_kept_weeks_equal_the_row_rules_and_only_settled_weeks_are_kept(storage: Storage) -> None:
    await seeded(storage)
    computed = await storage.figures.consults(WEEKS, NOW)
    await storage.figures.questions(WEEKS, NOW)
    # Consults are kept by day: the days that ended with all their windows (72 h) closed by NOW.
    last_close = await storage.db.fetch_one("SELECT MAX(stop) FROM figure_cache WHERE kind = 'consults'")
    assert await kept(storage, "consults") >= 7 * 4 and last_close[0] <= to_timestamp(NOW - history.WINDOW)
    assert await kept(storage, "questions") == 5  # the weeks that are over
    # A median needs no window to have closed: every week that is over keeps its median.
    assert await kept(storage, "consult_medians") == 5
    assert await storage.figures.consults(WEEKS, NOW) == computed
    again = await consult_figures_for(storage, WEEKS, NOW)  # what !stats and the dashboard read
    for (start, stop), figures in zip(WEEKS, again, strict=True):
        rows = [c for c in await storage.consults.opened_since(start) if c.opened_at < stop]
        assert figures == consult_figures(rows, NOW)


async def test_every_write_to_a_kept_week_is_seen_at_once(storage: Storage) -> None:
    await seeded(storage)
    await storage.identities.link("@sumo:example.org", Service.SUMO, "helper1", NOW)
    assert await through_the_cache(storage) == await from_scratch(storage)
    await through_the_cache(storage)
    assert await kept(storage, "consult_helpers") > 0 and await kept(storage, "question_helpers") > 0
    old = [c for c in await storage.consults.opened_since(FIRST) if c.opened_at < FIRST + WEEK * 2]
    late = next(c for c in old if c.first_answer_at is None)
    done = next(c for c in old if c.first_answer_at is not None and c.closed_at is None)
    gone = next(c for c in old if c.id not in (late.id, done.id))
    writes = [
        lambda: storage.consults.record_first_answer(late.id, HELPER, NOW - timedelta(days=1)),  # a late answer
        lambda: storage.consults.close(done.id, HELPER, done.opened_at + timedelta(hours=1)),
        # Another writer (a script, sqlite3 by hand) goes through the triggers all the same.
        lambda: storage.db.execute("DELETE FROM consults WHERE id = ?", (gone.id,)),
        lambda: storage.consults.open(NewConsult(HELPER, history.ROOM, "$imported", "https://x.com/a/status/1",
                                                 "?", FIRST + timedelta(days=1), FIRST + timedelta(days=4))),
        lambda: storage.db.execute("UPDATE sumo_questions SET first_answer_at = created_at + 3600, "
                                   "first_answer_by = 'helper1', state = 'answered' WHERE id = (SELECT MIN(id) "
                                   "FROM sumo_questions WHERE first_answer_at IS NULL AND created_at < ?)",
                                   (to_timestamp(FIRST + WEEK),)),
        lambda: storage.db.execute("UPDATE sumo_questions SET state = 'left' WHERE id = (SELECT MAX(id) FROM "
                                   "sumo_questions WHERE state = 'expired' AND created_at < ?)",
                                   (to_timestamp(FIRST + WEEK * 2),)),
        lambda: storage.identities.link("@other:example.org", Service.SUMO, "HELPER2", NOW),  # names match NOCASE
    ]
    for n, write in enumerate(writes):
        before = await kept(storage, "consults") + await kept(storage, "questions")
        await write()
        if n < len(writes) - 1:  # a new link forgets nothing: names are matched when read
            assert await kept(storage, "consults") + await kept(storage, "questions") < before
        assert await through_the_cache(storage) == await from_scratch(storage)
        await through_the_cache(storage)  # kept again for the next write


async def test_a_clock_set_back_computes_again(storage: Storage) -> None:
    await seeded(storage)
    end = FIRST + WEEK * 3
    await storage.consults.open(NewConsult(HELPER, history.ROOM, "$last", "https://x.com/a/status/2", "?",
                                           end - timedelta(hours=1), end + timedelta(hours=71)))
    assert (await storage.figures.consults(WEEKS, NOW))[2].waiting == 0
    assert await storage.db.fetch_one("SELECT 1 FROM figure_cache WHERE kind = 'consults' AND start = ?",
                                      (to_timestamp(end - timedelta(days=1)),)) is not None
    earlier = end + timedelta(hours=1)  # the third week, kept at NOW, had an open window then
    through = await storage.figures.consults(WEEKS, earlier)
    assert through[2].waiting == 1
    assert through == (await from_scratch(storage, earlier))[0]
