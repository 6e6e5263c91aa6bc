"""The dashboard as HTML (Jinja2 templates shipped in the package, SVG charts inline), JSON and CSV."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import jinja2

from bot.clock import format_duration, format_utc
from bot.features.consults.stats import ConsultFigures
from bot.features.stats.dashboard import Dashboard, WeekFigures
from bot.ops.dashboard.charts import Chart, line_chart, nice_top, stacked_bars
from bot.storage.escalations import REASONS
from bot.storage.questions import QuestionStats

HOUR = 3600.0


def templates() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("bot.ops.dashboard", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["duration"] = lambda delta: "–" if delta is None else format_duration(delta)
    environment.filters["window"] = lambda delta: format_duration(delta, in_hours=True)
    environment.filters["utc"] = format_utc
    environment.filters["share"] = lambda share: "–" if share is None else f"{share:.0%}"
    return environment


def _share(figures: ConsultFigures | QuestionStats | None) -> float | None:
    if figures is None:
        return None
    share = figures.share_in_window if isinstance(figures, ConsultFigures) else figures.share_answered
    return None if share is None else share * 100


def _median_hours(figures: ConsultFigures | QuestionStats | None) -> float | None:
    if figures is None or figures.median_first_answer is None:
        return None
    return figures.median_first_answer.total_seconds() / HOUR


def charts(dashboard: Dashboard, window: timedelta) -> list[Chart]:
    window_hours = round(window.total_seconds() / HOUR)
    weeks = dashboard.weeks
    labels = [w.label for w in weeks]
    span = f"{labels[0]} to {labels[-1]}" if labels else "no weeks"
    with_questions = dashboard.questions_tracked
    share_series = [("consults", "consults", [_share(w.consults) for w in weeks])]
    median_series = [("consults", "consults", [_median_hours(w.consults) for w in weeks])]
    if with_questions:
        share_series.append(("forum questions", "questions", [_share(w.questions) for w in weeks]))
        median_series.append(("forum questions", "questions", [_median_hours(w.questions) for w in weeks]))
    longest = max((v for _, _, values in median_series for v in values if v is not None), default=0.0)
    return [
        line_chart("share", f"Answered within {format_duration(window, in_hours=True)}, by week",
                   f"Weekly share of consults{' and forum questions' if with_questions else ''} answered within "
                   f"{window_hours} hours, of those whose window has run, {span}. A gap is a week with none decided.",
                   labels, share_series, 100, "%"),
        line_chart("median", "Median time to first answer, by week",
                   f"Median hours from opening to the first answer, by the week the item was opened, {span}.",
                   labels, median_series, nice_top(max(longest, window_hours)), "h", "{:.1f}"),
        stacked_bars("escalations", "Escalations by reason, by week",
                     f"Escalations opened each week, stacked by reason, {span}.", labels,
                     [(reason, f"reason-{reason}", [w.escalations.get(reason, 0) for w in weeks]) for reason in REASONS]),
    ]


def render_page(environment: jinja2.Environment, dashboard: Dashboard, *, window: timedelta, user_id: str) -> str:
    return environment.get_template("dashboard.html").render(
        d=dashboard, report=dashboard.last_days, charts=charts(dashboard, window), window=window,
        user_id=user_id,
    )


# ---- JSON and CSV ----------------------------------------------------------------------------------

def _seconds(delta: timedelta | None) -> float | None:
    return None if delta is None else delta.total_seconds()


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def consult_json(f: ConsultFigures) -> dict[str, Any]:
    return {"opened": f.opened, "answered_in_window": f.answered_in_window, "decided": f.decided,
            "share_in_window": f.share_in_window, "expired": f.expired, "answered_late": f.answered_late,
            "waiting": f.waiting, "median_first_answer_seconds": _seconds(f.median_first_answer)}


def question_json(q: QuestionStats | None) -> dict[str, Any] | None:
    if q is None:
        return None
    return {"tracked": q.tracked, "answered_in_window": q.answered_in_window, "decided": q.decided,
            "share_in_window": q.share_answered, "expired": q.expired, "left": q.left, "waiting": q.waiting,
            "median_first_answer_seconds": _seconds(q.median_first_answer)}


def _week_json(w: WeekFigures) -> dict[str, Any]:
    return {"week": w.label, "start": _iso(w.start), "consults": consult_json(w.consults),
            "questions": question_json(w.questions), "escalations": dict(w.escalations)}


def dashboard_json(d: Dashboard) -> str:
    report = d.last_days
    body: Mapping[str, Any] = {
        "generated_at": _iso(d.generated_at),
        "last_days": {
            "days": report.days, "since": _iso(report.since), "window_seconds": _seconds(report.window),
            "consults": consult_json(report.consults), "questions": question_json(report.questions),
            "escalations_by_reason": dict(report.escalations_by_reason),
            "escalations_by_state": dict(report.escalations_by_state),
        },
        "cards": {"open_consults": d.open_consults, "waiting_consults": d.waiting_consults,
                  "consults_at_risk": d.consults_at_risk, "questions_at_risk": d.questions_at_risk,
                  "open_escalations": d.open_escalations, "unheld_escalations": d.unheld_escalations},
        "weeks": [_week_json(w) for w in d.weeks],
        "queue": [{"kind": q.kind, "id": q.id, "title": q.title, "url": q.url, "deadline": _iso(q.deadline),
                   "seconds_left": q.time_left.total_seconds(), "holder": q.holder} for q in d.queue],
        "escalations": [{"id": e.id, "reason": e.reason, "state": e.state, "description": e.description,
                         "link": e.link, "age_seconds": e.age.total_seconds(), "holder": e.holder,
                         "reports": e.reports} for e in d.escalations],
        "top_helpers": {"days": d.top_days,
                        "ranking": [{"user_id": user, "first_answers": n} for user, n in d.top_helpers]},
    }
    return json.dumps(body, indent=1)


CSV_HEADER = (
    "week", "week_start",
    "consults_opened", "consults_answered_in_window", "consults_decided", "consults_share_in_window",
    "consults_median_first_answer_hours",
    "questions_tracked", "questions_answered_in_window", "questions_decided", "questions_share_in_window",
    "questions_median_first_answer_hours",
    *(f"escalations_{reason}" for reason in REASONS), "escalations_total",
)


def _number(value: float | None, digits: int) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def weekly_csv(d: Dashboard) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for w in d.weeks:
        c, q = w.consults, w.questions
        writer.writerow([
            w.label, w.start.date().isoformat(),
            c.opened, c.answered_in_window, c.decided, _number(c.share_in_window, 4), _number(_median_hours(c), 2),
            *(("", "", "", "", "") if q is None else
              (q.tracked, q.answered_in_window, q.decided, _number(q.share_answered, 4), _number(_median_hours(q), 2))),
            *(w.escalations.get(reason, 0) for reason in REASONS), w.escalations_total,
        ])
    return out.getvalue()
