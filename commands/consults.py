"""!consult, !consults and !done: ask the community about a tweet, see what waits, close your own.

Parse → service → answer; the answers' words are in ``bot.features.consults.messages``."""

from __future__ import annotations

from bot.clock import Clock
from bot.features.consults import messages
from bot.features.consults.service import CloseOutcome, ConsultService
from bot.features.consults.tweet_links import read_consult_link
from bot.framework.arguments import UsageError, choice, integer, text, word
from bot.framework.command import Command, CommandError
from bot.framework.dispatcher import Context
from bot.storage.consults import ConsultFilter

LIST_LIMIT = 15
# The thoughts are the thread's root message (and a forum post): long enough for a real question,
# far below Matrix's 64 KiB event limit.
MAX_THOUGHTS = 2_000


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
            raise UsageError(messages.NOT_A_CONSULT_LINK)
        if len(thoughts) > MAX_THOUGHTS:
            raise CommandError(messages.thoughts_too_long(len(thoughts), MAX_THOUGHTS))
        opened = await self._service.open(ctx.user_id, ctx.message.event_id, consult_link, thoughts)
        await ctx.reply(messages.opened_answer(opened, consult_link))

    async def consults(self, ctx: Context, which: str) -> None:
        listing = ConsultFilter(which)
        found, total = await self._service.listing(listing, LIST_LIMIT)
        await ctx.reply(messages.listing(listing, found, total, self._clock.now(), self._service.thread_link))

    async def done(self, ctx: Context, N: int) -> None:  # the argument is <N> in usage lines
        number = N
        result = await self._service.close(number, ctx.user_id, ctx.is_moderator)
        consult = result.consult
        if result.outcome is CloseOutcome.UNKNOWN or consult is None:
            raise CommandError(messages.no_such_consult(number, ctx.prefix))
        if result.outcome is CloseOutcome.NOT_ALLOWED:
            raise CommandError(messages.not_yours_to_close(consult, number))
        if result.outcome is CloseOutcome.ALREADY_CLOSED:
            raise CommandError(messages.already_closed(consult, number))
        await ctx.reply(messages.closed(number))
