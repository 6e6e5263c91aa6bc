"""One computation for every 72-hour figure: the SQL aggregates give what the row-by-row rules give."""

from __future__ import annotations

import random
import re
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.clock import FakeClock
from bot.features.consults.stats import consult_figures
from bot.features.stats.periods import consult_figures_for, question_stats_for
from bot.features.stats.report import StatsReporter, report_message
from bot.storage import Storage
from bot.storage.consults import ConsultState
from tests.fakes import history

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
WINDOW = timedelta(hours=72)


async def _seeded(folder: Path, seed: int, consults: int, questions: int) -> Storage:
    storage = await Storage.open(folder / f"figures-{seed}.db")
    rng = random.Random(seed)
    await storage.history.consults(history.consults(rng, NOW, timedelta(weeks=6), consults))
    await storage.history.questions(history.questions(rng, NOW, timedelta(weeks=6), questions))
    return storage


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000), consults=st.integers(0, 60), questions=st.integers(0, 60),
       days=st.integers(1, 50))
async def test_the_sql_figures_equal_the_row_rules(seed: int, consults: int, questions: int, days: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        storage = await _seeded(Path(folder), seed, consults, questions)
        try:
            since = NOW - timedelta(days=days)
            rows = await storage.consults.opened_since(since)
            (sql,) = await consult_figures_for(storage, [(since, None)], NOW)
            assert sql == consult_figures(rows, NOW)
            (sql_questions,) = await question_stats_for(storage, [(since, None)], NOW)
            assert sql_questions == await storage.questions.stats(since)
            # Weekly periods split the same rows: each week equals the rules over that week's rows.
            weeks = [(since + timedelta(days=7 * i), since + timedelta(days=7 * (i + 1))) for i in range(3)]
            for (start, stop), figures in zip(weeks, await consult_figures_for(storage, weeks, NOW), strict=True):
                assert figures == consult_figures([c for c in rows if start <= c.opened_at < stop], NOW)
        finally:
            await storage.close()


async def test_medians_of_an_even_count_take_the_mean_of_the_middle_two(storage: Storage) -> None:
    rows = [c for c in history.consults(random.Random(1), NOW, timedelta(days=10), 40)][:4]
    answered = [c.__class__(**{**c.__dict__, "opened_at": NOW - timedelta(days=5), "first_answer_at":
                               NOW - timedelta(days=5) + timedelta(hours=h), "window_closes_at": NOW - timedelta(days=2),
                               "state": ConsultState.ANSWERED, "first_answer_by": "@x:example.org",
                               "closed_at": None, "closed_by": None})
                for c, h in zip(rows, (1, 2, 10, 30), strict=True)]
    await storage.history.consults(answered)
    (figures,) = await consult_figures_for(storage, [(NOW - timedelta(days=7), None)], NOW)
    assert figures.median_first_answer == timedelta(hours=6)
    assert figures.opened == 4 and figures.answered_in_window == 4 and figures.share_in_window == 1.0


async def test_stats_and_the_dashboard_cards_share_the_report(storage: Storage) -> None:
    await history.seed(storage, NOW, weeks=4, consult_count=80, question_count=80, escalation_count=10)
    reporter = StatsReporter(storage, FakeClock(NOW), WINDOW, WINDOW)
    report = await reporter.report(7)
    since = NOW - timedelta(days=7)
    assert report.consults == consult_figures(await storage.consults.opened_since(since), NOW)
    assert report.questions == await storage.questions.stats(since)
    assert sum(report.escalations_by_reason.values()) == sum(
        (await storage.figures.escalations_by_reason([(since, None)]))[0].values())


async def test_stats_writes_every_duration_one_way(storage: Storage) -> None:
    """`!stats` once said "within 72 h" for consults and "within 72h" for forum questions."""
    await history.seed(storage, NOW, weeks=4, consult_count=80, question_count=80, escalation_count=10)
    text = report_message(await StatsReporter(storage, FakeClock(NOW), WINDOW, WINDOW).report(7), "Stats").plain
    assert text.count("within 72h") >= 2, text
    assert not re.search(r"\d [hmsd]\b", text), text


async def test_no_period_is_refused(storage: Storage) -> None:
    with pytest.raises(ValueError):
        await storage.figures.consults([], NOW)
