"""The words of the messages the bot posts about a consult: its thread root and what follows in it.

Kept apart from ``bot.features.consults.service`` so the service reads as a flow and these read as text. The
moderators' expiry ping and the requester told of a first answer are ``Ping``s, sent so that they
notify; the rest are notices.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from bot.clock import format_duration, format_utc
from bot.matrix.events import Ping
from bot.matrix.rendering import Fragment, bold, code, join, lines, link, mention
from bot.storage.consults import Consult


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
