"""The words of the messages the bot posts about a consult: its thread root and what follows in it,
and the answers of !consult, !consults and !done.

Kept apart from ``bot.features.consults.service`` and ``commands/consults.py`` so the service reads as a
flow, the command as parse -> service -> answer, and these read as text. The moderators' expiry ping
and the requester told of a first answer are ``Ping``s, sent so that they notify; the rest are notices.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.clock import format_duration, format_utc
from bot.features.consults.tweet_links import ConsultLink
from bot.matrix.events import Ping
from bot.matrix.rendering import Fragment, bold, bullets, code, join, lines, link, mention
from bot.storage.consults import Consult, ConsultFilter, ConsultState

if TYPE_CHECKING:  # the service imports these words
    from bot.features.consults.service import OpenedConsult


def consult_number(consult: Consult) -> str:
    return f"#{consult.id}"


def thread_root(consult: Consult, now: datetime) -> Fragment:
    left = format_duration(consult.window_closes_at - now, in_hours=True)
    return lines(
        bold(f"Consult {consult_number(consult)}") + " from " + mention(consult.requester),
        consult.thoughts,
        "Tweet: " + link(consult.tweet_url),
        f"The window closes {format_utc(consult.window_closes_at)} (in {left}). Answer in this thread.",
    )


def reminder(consult: Consult, window: timedelta, now: datetime) -> Fragment:
    left = format_duration(consult.window_closes_at - now, in_hours=True)
    return lines(
        bold(f"Reminder: consult {consult_number(consult)} has no answer yet.") + f" {left} left in its "
        f"{format_duration(window, in_hours=True)} window (closes {format_utc(consult.window_closes_at)}). Can someone help?",
    )


def expiry_notice(consult: Consult, window: timedelta) -> Fragment:
    return lines(
        bold(f"Consult {consult_number(consult)} got no answer within {format_duration(window, in_hours=True)}.")
        + " The moderators have been told. A late answer is still welcome here.",
    )


def moderators_ping(consult: Consult, window: timedelta, pings: Sequence[str], thread_link: str) -> Ping:
    who = join([mention(user) for user in pings], " ") + ": " if pings else Fragment()
    return Ping(lines(
        who + bold(f"consult {consult_number(consult)}") + f" from {consult.requester} got no answer within "
        f"{format_duration(window, in_hours=True)}. " + link(thread_link, "Open the thread"),
        "Tweet: " + link(consult.tweet_url),
    ))


def answered_for_requester(consult: Consult, answered_by: str) -> Ping:
    return Ping(mention(consult.requester) + ": " + bold(f"consult {consult_number(consult)}")
                + f" has its first answer, from {answered_by}. Have a look in this thread.")


def similar_note(consult: Consult, similar: Sequence[Consult], prefix: str, lookback: timedelta) -> Fragment:
    numbers = ", ".join(consult_number(c) for c in similar)
    return lines(
        f"This reads like {numbers} from the last {lookback.days} days.",
        "When several people ask the same thing, consider "
        + code(f"{prefix}escalate {consult.tweet_url} trending") + ".",
    )


# ---- the answers of !consult, !consults and !done ------------------------------------------------------

NOT_A_CONSULT_LINK = "start with the tweet's link, like https://x.com/user/status/123"

_LISTING_TITLES = {
    ConsultFilter.OPEN: "Open consults",
    ConsultFilter.STALE: "Stale consults (no answer after the reminder time)",
    ConsultFilter.ALL: "All consults",
}


def thoughts_too_long(length: int, limit: int) -> str:
    return f"Your thoughts are {length:,} characters; keep them to {limit:,} and put the rest in the thread once it is open."


def opened_answer(opened: OpenedConsult, consult_link: ConsultLink) -> Fragment:
    consult = opened.consult
    window = format_duration(consult.window_closes_at - consult.opened_at, in_hours=True)
    not_a_tweet = None if consult_link.is_tweet else (
        "Note: that link is not a tweet (" + code("https://x.com/<user>/status/<number>") + "); I kept it as it is.")
    similar = None
    if len(opened.similar) >= 2:
        similar = "It reads like " + ", ".join(f"#{c.id}" for c in opened.similar) + ": see the thread."
    return lines(
        bold(f"Consult #{consult.id} is open") + ": " + link(opened.thread_link, "thread")
        + f". The {window} window closes {format_utc(consult.window_closes_at)}.",
        not_a_tweet,
        similar,
    )


def listing(which: ConsultFilter, found: Sequence[Consult], total: int, now: datetime,
            thread_link: Callable[[Consult], str]) -> Fragment | str:
    if not found:
        return f"No {which.value} consults right now."
    more = f"…and {total - len(found)} more." if total > len(found) else None
    return lines(bold(_LISTING_TITLES[which]) + " (newest first)",
                 bullets(_listing_line(c, now, thread_link(c)) for c in found), more)


def _listing_line(consult: Consult, now: datetime, thread_link: str) -> Fragment:
    parts = [bold(f"#{consult.id}"), consult.requester, f"{format_duration(now - consult.opened_at)} old",
             _progress(consult, now), link(thread_link, "thread")]
    return join(parts, " · ")


def _progress(consult: Consult, now: datetime) -> str:
    if consult.answered and consult.first_answer_at is not None:
        late = "" if consult.answered_in_window else " (late)"
        waited = format_duration(consult.first_answer_at - consult.opened_at)
        return f"answered by {consult.first_answer_by} after {waited}{late}"
    if consult.state is ConsultState.DONE:
        return "closed, unanswered"
    if now >= consult.window_closes_at:
        return "unanswered, window closed"
    return f"unanswered, {format_duration(consult.window_closes_at - now)} left"


def no_such_consult(number: int, prefix: str) -> str:
    return f"There is no consult #{number}. {prefix}consults all lists them."


def not_yours_to_close(consult: Consult, number: int) -> str:
    return f"Sorry, only {consult.requester} (who opened #{number}) or a moderator can close it."


def already_closed(consult: Consult, number: int) -> str:
    return f"Consult #{number} is already closed ({_closed_by(consult)})."


def closed(number: int) -> str:
    return f"Consult #{number} is closed. Thank you!"


def _closed_by(consult: Consult) -> str:
    when = f" on {format_utc(consult.closed_at)}" if consult.closed_at else ""
    return f"by {consult.closed_by}{when}" if consult.closed_by else "earlier"
