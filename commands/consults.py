"""!consult, !consults and !done: ask the community about a tweet, see what waits, close your own."""

from __future__ import annotations

from datetime import datetime

from bot.clock import Clock, format_duration, format_utc
from bot.features.consults.service import CloseOutcome, ConsultService, OpenedConsult
from bot.features.consults.tweet_links import ConsultLink, read_consult_link
from bot.framework.arguments import UsageError, choice, integer, text, word
from bot.framework.command import Command, CommandError
from bot.framework.dispatcher import Context
from bot.matrix.rendering import Fragment, bold, bullets, code, join, lines, link
from bot.storage.consults import Consult, ConsultFilter, ConsultState

LIST_LIMIT = 15
# The thoughts are the thread's root message (and a forum post): long enough for a real question,
# far below Matrix's 64 KiB event limit.
MAX_THOUGHTS = 2_000

_LISTING_TITLES = {
    ConsultFilter.OPEN: "Open consults",
    ConsultFilter.STALE: "Stale consults (no answer after the reminder time)",
    ConsultFilter.ALL: "All consults",
}


class ConsultCommands:
    def __init__(self, service: ConsultService, clock: Clock) -> None:
        self._service = service
        self._clock = clock

    def commands(self) -> list[Command]:
        return [
            Command("consult", "ask the community how to answer a tweet; the 72-hour window starts", self.consult,
                    args=(word("tweet url", help="the tweet's link, like https://x.com/user/status/123"),
                          text("thoughts", help="what you would answer, or what you are unsure of")),
                    examples=("!consult https://x.com/someone/status/1234567890 Asks if Firefox sells data; "
                              "I'd link the privacy notice. Too defensive?",),
                    effects=True, after_edit="to ask about another tweet, send a new {prefix}consult"),
            Command("consults", "list consults: age, time left, answered or not", self.consults,
                    args=(choice("which", [w.value for w in ConsultFilter], optional=True, default=ConsultFilter.OPEN.value,
                                 help="open (default), stale (unanswered past the reminder) or all"),),
                    examples=("!consults", "!consults stale"), effects=False),
            Command("done", "close a consult (its requester or a moderator)", self.done,
                    args=(integer("N", help="the consult's number"),), examples=("!done 12",),
                    effects=True, after_edit="to close another consult, send a new {prefix}done"),
        ]

    async def consult(self, ctx: Context, tweet_url: str, thoughts: str) -> None:
        consult_link = read_consult_link(tweet_url)
        if consult_link is None:
            raise UsageError("start with the tweet's link, like https://x.com/user/status/123")
        if len(thoughts) > MAX_THOUGHTS:
            raise CommandError(f"Your thoughts are {len(thoughts):,} characters; keep them to {MAX_THOUGHTS:,} "
                               "and put the rest in the thread once it is open.")
        opened = await self._service.open(ctx.user_id, ctx.message.event_id, consult_link, thoughts)
        await ctx.reply(_opened_answer(opened, consult_link))

    async def consults(self, ctx: Context, which: str) -> None:
        listing = ConsultFilter(which)
        found, total = await self._service.listing(listing, LIST_LIMIT)
        if not found:
            await ctx.reply(f"No {listing.value} consults right now.")
            return
        now = self._clock.now()
        more = f"…and {total - len(found)} more." if total > len(found) else None
        await ctx.reply(lines(bold(_LISTING_TITLES[listing]) + " (newest first)",
                              bullets(self._line(c, now) for c in found), more))

    async def done(self, ctx: Context, N: int) -> None:  # the argument is <N> in usage lines
        number = N
        result = await self._service.close(number, ctx.user_id, ctx.is_moderator)
        consult = result.consult
        if result.outcome is CloseOutcome.UNKNOWN or consult is None:
            raise CommandError(f"There is no consult #{number}. {ctx.prefix}consults all lists them.")
        if result.outcome is CloseOutcome.NOT_ALLOWED:
            raise CommandError(f"Sorry, only {consult.requester} (who opened #{number}) or a moderator can close it.")
        if result.outcome is CloseOutcome.ALREADY_CLOSED:
            raise CommandError(f"Consult #{number} is already closed ({_closed_by(consult)}).")
        await ctx.reply(f"Consult #{number} is closed. Thank you!")

    def _line(self, consult: Consult, now: datetime) -> Fragment:
        parts = [bold(f"#{consult.id}"), consult.requester, f"{format_duration(now - consult.opened_at)} old",
                 _progress(consult, now), link(self._service.thread_link(consult), "thread")]
        return join(parts, " · ")


def _opened_answer(opened: OpenedConsult, consult_link: ConsultLink) -> Fragment:
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


def _closed_by(consult: Consult) -> str:
    when = f" on {format_utc(consult.closed_at)}" if consult.closed_at else ""
    return f"by {consult.closed_by}{when}" if consult.closed_by else "earlier"
