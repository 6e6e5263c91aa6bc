"""The words of what the bot says about SUMO forum questions: the 48-hour reminder, the 72-hour final
notice and the moderators' ping, the !questions listing and the !take answers, the questions part of
!stats and the weekly digest, and why polling is behind.

Kept apart from ``bot.features.questions.tracker`` so the tracker reads as the 72-hour rules and the
polling, and these read as text. The moderators' final notice is a ``Ping``, sent so that it notifies.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from bot.clock import format_duration
from bot.matrix.events import Ping
from bot.matrix.rendering import Fragment, bold, bullets, code, echo, join, lines, link, mention
from bot.storage.questions import QuestionFilter, QuestionState, QuestionStats, TakeResult, TrackedQuestion

QuestionUrl = Callable[[TrackedQuestion], str]

# The name recorded for an answer whose author has no profile (Kitsune's ``creator: null``).
NO_PROFILE = "(a SUMO account without a profile)"

NOT_SET_UP = ("Support-forum questions are not set up on this bot (the configuration has no sumo section); "
              "ask a moderator.")

_HEADINGS = {
    QuestionFilter.OPEN: "SUMO questions waiting for a helper's answer",
    QuestionFilter.STALE: "SUMO questions past their reminder time without a helper's answer",
    QuestionFilter.ALL: "Every SUMO question of the current window",
}


def _hours(duration: timedelta) -> str:
    return format_duration(duration, in_hours=True)


def _questions(count: int) -> str:
    return f"{count} SUMO question" + (" has" if count == 1 else "s have")


# ---- why polling is behind (shown by !questions, and on /healthz) -------------------------------------

def blocked(reason: object) -> str:
    return f"{reason}; polling has stopped"


def unreachable(host: str, error: object) -> str:
    return f"{host} cannot be reached: {error}"


UNEXPECTED = "unexpected error"
CATCHING_UP = "catching up after a gap: the list may be incomplete"
BLOCKED_HEALTH = ("SUMO refuses the bot's User-Agent (HTTP 429, Kitsune's permanent User-Agent block): question "
                  "tracking has stopped; set sumo.contact to a way to reach you and restart the bot")


# ---- the batches: reminder, final notice, moderators' ping --------------------------------------------

def _title_line(question: TrackedQuestion, url: QuestionUrl) -> Fragment:
    return code(question.locale) + " " + link(url(question), question.title)


def reminder(members: Sequence[TrackedQuestion], remind_after: timedelta, now: datetime, url: QuestionUrl) -> Fragment:
    heading = f"⏰ {_questions(len(members))} waited {_hours(remind_after)} without a helper's answer:"
    items = bullets(_title_line(q, url) + f" — {_hours(now - q.created_at)} old, {_hours(q.deadline_at - now)} left"
                    for q in members)
    return lines(heading, items)


def _final_heading(members: Sequence[TrackedQuestion], window: timedelta) -> str:
    return f"⌛ {_questions(len(members))} reached {_hours(window)} without a helper's answer"


def _final_items(members: Sequence[TrackedQuestion], url: QuestionUrl) -> Fragment:
    return bullets(_title_line(q, url) + f" — asked {q.created_at:%Y-%m-%d %H:%M} UTC" for q in members)


def final_notice(members: Sequence[TrackedQuestion], window: timedelta, url: QuestionUrl) -> Fragment:
    return lines(_final_heading(members, window) + "; they still need one:", _final_items(members, url))


def final_ping(members: Sequence[TrackedQuestion], window: timedelta, pings: Sequence[str], url: QuestionUrl) -> Ping:
    who = join([mention(user) for user in pings], " ")
    return Ping(lines(_final_heading(members, window) + (": " + who if who else ":"), _final_items(members, url)))


# ---- !questions -------------------------------------------------------------------------------------

def listing(which: QuestionFilter, total: int, shown: Sequence[Fragment], freshness: str | None,
            prefix: str) -> Fragment:
    heading = bold(_HEADINGS[which]) + f" ({total})"
    body: Fragment | str = bullets(shown) if shown else "None right now. 🎉"
    more = f"…and {total - len(shown)} more." if total > len(shown) else None
    hint = f"Claim one with {prefix}take <id> so nobody answers it twice." if shown else None
    return lines(heading, body, more, freshness, hint)


def listing_line(question: TrackedQuestion, short_id: str, now: datetime, window: timedelta,
                 url: QuestionUrl) -> Fragment:
    title = code(short_id) + " " + _title_line(question, url)
    parts = [_status(question, now, window)]
    claim = question.claim_at(now)
    if claim is not None and question.first_answer_at is None:
        holder, until = claim
        parts.append(f"taken by {holder} for {format_duration(until - now)} more")
    return title + " — " + " · ".join(parts)


def _status(question: TrackedQuestion, now: datetime, window: timedelta) -> str:
    if question.first_answer_at is not None:
        after = _hours(question.first_answer_at - question.created_at)
        late = "" if question.state is QuestionState.ANSWERED else f" (past the {_hours(window)})"
        return f"answered by {question.first_answer_by} after {after}{late}"
    if question.state is QuestionState.LEFT:
        return f"left the clock ({question.left_reason})"
    if question.state is QuestionState.EXPIRED or question.deadline_at <= now:
        return f"{_hours(window)} passed without a helper's answer"
    return f"{_hours(question.deadline_at - now)} left"


def stale_data(data_age: timedelta | None, problem: str | None) -> str:
    why = f" ({problem})" if problem else ""
    if data_age is None:
        return f"⚠ SUMO has not answered yet since the bot started{why}: this list may be incomplete."
    minutes = int(data_age.total_seconds() // 60)
    return f"⚠ This data is {minutes} minutes old: SUMO has not answered the last polls{why}."


# ---- !take ------------------------------------------------------------------------------------------

def bad_question_number(given: str) -> str:
    return f"id must be a question number like 2345, not {echo(given)!r}"


def not_tracked(reference: str, window: timedelta, prefix: str) -> str:
    return (f"I am not tracking a question {reference}: it may be older than {_hours(window)}, or in a locale "
            f"I don't watch. See {prefix}questions for the numbers.")


def several_match(reference: str, matches: Sequence[TrackedQuestion]) -> str:
    numbers = ", ".join(str(q.id) for q in matches[:5])
    return f"Several questions end in {reference}: {numbers}. Give the full number."


def take_answer(result: TakeResult, question: TrackedQuestion, now: datetime, claim_length: timedelta,
                url: QuestionUrl, prefix: str) -> Fragment:
    title = link(url(question), question.title)
    if result is TakeResult.TAKEN:
        return f"It's yours for {format_duration(claim_length)}: " + title + (
            f". Others see it as taken in {prefix}questions.")
    claim = question.claim_at(now)
    if result is TakeResult.TAKEN_BY_OTHER and claim is not None:
        holder, until = claim
        return (f"Question {question.id} is taken by {holder} for {format_duration(until - now)} more, "
                f"so they are probably answering it; pick another one from {prefix}questions. ") + title
    if question.first_answer_at is not None:
        return f"Question {question.id} already has a helper's answer (by {question.first_answer_by}): " + title
    if question.state is QuestionState.LEFT:
        return f"Question {question.id} left the clock ({question.left_reason}); nothing to take: " + title
    return f"Question {question.id} changed hands just now; look at {prefix}questions and try again."


# ---- !stats and the weekly digest -------------------------------------------------------------------

def question_stats_lines(stats: QuestionStats, window: timedelta | None) -> Fragment:
    """The SUMO questions part of !stats and the weekly digest."""
    label = _hours(window) if window is not None else "the window"
    if stats.tracked == 0:
        return lines(bold("SUMO forum questions:") + " none tracked.")
    share = "" if stats.share_answered is None else f" ({stats.share_answered:.0%})"
    median = "no answers yet" if stats.median_first_answer is None else _hours(stats.median_first_answer)
    return lines(
        bold("SUMO forum questions:") + f" {stats.tracked} tracked",
        bullets([
            f"answered within {label}: {stats.answered_in_window} of {stats.decided} whose window has run{share}",
            f"median time to first helper answer: {median}",
            f"{label} passed without a helper's answer: {stats.expired}",
            f"left the clock (solved by the asker, locked, archived, spam, deleted): {stats.left}",
            f"still inside their window: {stats.waiting}",
        ]),
        "Answered means a first answer by someone other than the asker; SUMO's own \"responded within "
        "72 hours\" counts any answer, the asker's follow-ups too.",
    )
