"""The dashboard's figures, charts, tables, JSON and CSV, from a real database and a fake clock."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta

from bot.clock import FakeClock
from bot.features.stats.dashboard import DashboardBuilder, iso_week_start, week_label
from bot.features.stats.report import AnswerSource, StatsReporter, top_answerers
from bot.ops.dashboard.charts import nice_top
from bot.ops.dashboard.render import CSV_HEADER, dashboard_json, render_page, templates, weekly_csv
from bot.storage import Storage
from bot.storage.consults import Consult, ConsultState
from bot.storage.escalations import Escalation
from tests.fakes import history

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)   # a Tuesday, ISO week 2026-W48
WINDOW = timedelta(hours=72)
HOUR = timedelta(hours=1)


def sumo_url(locale: str, question_id: int) -> str:
    return f"https://support.mozilla.org/{locale}/questions/{question_id}"


def builder(storage: Storage, weeks: int = 12, questions: bool = True) -> DashboardBuilder:
    clock = FakeClock(NOW)
    reporter = StatsReporter(storage, clock, WINDOW, WINDOW if questions else None)
    return DashboardBuilder(storage, clock, reporter, [AnswerSource("consults", storage.consults.first_answer_counts)],
                            weeks, sumo_url if questions else None)


def waiting_consult(n: int, closes_in: timedelta, tweet: str = "https://x.com/a/status/1") -> Consult:
    opened = NOW + closes_in - WINDOW
    return Consult(0, "@ana:example.org", "!room:example.org", f"$cmd{n}", f"$thread{n}", tweet, "?",
                   ConsultState.OPEN, opened, opened + WINDOW, None, None, None, None)


def escalation(n: int, state: str, age: timedelta, description: str, reason: str = "paid") -> Escalation:
    created = NOW - age
    return Escalation("@ana:example.org", "!room:example.org", f"$esc{n}", None, description, None, None, reason,
                      created, id=0, state=state, reports=1,
                      acknowledged_by="@mod:example.org" if state == "acknowledged" else None,
                      acknowledged_at=created if state == "acknowledged" else None)


def test_weeks_are_iso_weeks_from_monday() -> None:
    assert iso_week_start(NOW) == datetime(2026, 11, 23, tzinfo=UTC)
    assert week_label(iso_week_start(NOW)) == "2026-W48"
    assert week_label(datetime(2027, 1, 1, tzinfo=UTC)) == "2026-W53"
    assert [nice_top(v) for v in (0, 0.7, 3, 7, 72, 101)] == [1, 1, 5, 10, 100, 200]


async def test_cards_queue_and_escalation_tables(storage: Storage) -> None:
    await storage.history.consults([
        waiting_consult(1, 30 * HOUR), waiting_consult(2, 5 * HOUR, "https://x.com/b/status/2"),
        waiting_consult(3, 23 * HOUR),
    ])
    await storage.history.escalations([
        escalation(1, "open", 3 * HOUR, "VPN charged twice"),
        escalation(2, "acknowledged", 40 * HOUR, "logo", reason="brand"),
        escalation(3, "resolved", 2 * HOUR, "old news"),
    ])
    d = await builder(storage, questions=False).build()
    assert (d.open_consults, d.waiting_consults, d.consults_at_risk) == (3, 3, 2)
    assert d.questions_at_risk is None and not d.questions_tracked
    assert [(q.kind, q.time_left) for q in d.queue] == [("consult", 5 * HOUR), ("consult", 23 * HOUR),
                                                        ("consult", 30 * HOUR)]
    assert d.queue[0].url == "https://matrix.to/#/!room:example.org/$thread2"
    assert (d.open_escalations, d.unheld_escalations) == (2, 1)
    assert [(e.description, e.age, e.holder) for e in d.escalations] == [
        ("logo", 40 * HOUR, "@mod:example.org"), ("VPN charged twice", 3 * HOUR, None)]
    this_week = d.weeks[-1]
    assert this_week.label == "2026-W48" and this_week.escalations["paid"] == 2 and this_week.escalations_total == 2
    assert d.weeks[-2].escalations["brand"] == 1  # Sunday 20:00: the week before


async def test_the_weekly_series_is_the_stats_computation_per_week(storage: Storage) -> None:
    await history.seed(storage, NOW, weeks=6, consult_count=300, question_count=300, escalation_count=30)
    d = await builder(storage, weeks=6).build()
    assert len(d.weeks) == 6 and d.weeks[0].label == "2026-W43"
    assert sum(w.consults.opened for w in d.weeks) == 300 - sum(  # the generator's first days fall before W43
        1 for c in await storage.consults.opened_since(NOW - timedelta(weeks=7)) if c.opened_at < d.weeks[0].start)
    clock = FakeClock(NOW)
    # The 7-day cards are !stats 7 itself.
    assert d.last_days == await StatsReporter(storage, clock, WINDOW, WINDOW).report(7)
    assert d.top_helpers == await top_answerers([AnswerSource("consults", storage.consults.first_answer_counts)],
                                                NOW - timedelta(days=90))


async def test_the_page_has_accessible_svg_charts_and_escapes_what_people_typed(storage: Storage) -> None:
    await history.seed(storage, NOW, weeks=3, consult_count=60, question_count=60, escalation_count=6)
    await storage.history.escalations([escalation(9, "open", HOUR, '<script>alert("x")</script> & co')])
    d = await builder(storage, weeks=3).build()
    html = render_page(templates(), d, window=WINDOW, user_id="@mod:example.org")
    assert html.count("<svg") == 3
    for chart in ("share", "median", "escalations"):
        assert f'<title id="chart-{chart}-title">' in html and f'<desc id="chart-{chart}-desc">' in html
        assert f'aria-labelledby="chart-{chart}-title chart-{chart}-desc"' in html
    assert html.count("<table>") == 3  # the numbers of each chart
    assert "<script>" not in html and "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; co" in html
    assert re.search(r'<meta name="viewport" content="width=device-width', html)
    share = d.last_days.consults.share_in_window
    assert f"{share:.0%}" in html


async def test_json_and_csv_carry_the_same_figures(storage: Storage) -> None:
    await history.seed(storage, NOW, weeks=4, consult_count=120, question_count=120, escalation_count=12)
    d = await builder(storage, weeks=4).build()
    body = json.loads(dashboard_json(d))
    assert body["last_days"]["consults"]["opened"] == d.last_days.consults.opened
    assert body["last_days"]["consults"]["share_in_window"] == d.last_days.consults.share_in_window
    assert [w["week"] for w in body["weeks"]] == [w.label for w in d.weeks]
    assert body["cards"]["open_consults"] == d.open_consults
    rows = list(csv.reader(io.StringIO(weekly_csv(d))))
    assert tuple(rows[0]) == CSV_HEADER and len(rows) == 5
    for row, week in zip(rows[1:], d.weeks, strict=True):
        record = dict(zip(CSV_HEADER, row, strict=True))
        assert record["week"] == week.label
        assert int(record["consults_opened"]) == week.consults.opened
        assert int(record["questions_decided"]) == week.questions.decided
        assert int(record["escalations_total"]) == week.escalations_total


async def test_an_empty_bot_renders(storage: Storage) -> None:
    d = await builder(storage, questions=False).build()
    html = render_page(templates(), d, window=WINDOW, user_id="@mod:example.org")
    assert "Nothing is waiting for a first answer." in html and "No open escalations." in html
    assert all(w.consults.opened == 0 for w in d.weeks)
    assert weekly_csv(d).count("\r\n") == 13
