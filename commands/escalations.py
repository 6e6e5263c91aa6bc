"""!escalate, !escalations, !ack, !resolve: bringing the moderators in, and closing the loop.

Parse → service → answer: the service tells the moderators and the requesters, once each; the handler
answers the command."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.features.escalations import messages
from bot.features.escalations.service import (
    ACK_MARK,
    RESOLVED_MARK,
    EscalationService,
    Outcome,
    escalation_request,
)
from bot.framework.arguments import choice, integer, text
from bot.framework.command import Command, CommandError, Permission, ReactionTrigger
from bot.framework.dispatcher import Context
from bot.matrix.rooms import Rooms
from bot.storage.escalations import REASONS

LIST_LIMIT = 15
# The reason is the last word when it is one (messages.PARSING_RULE): ``"new logo complaints" brand``.
ESCALATE_ARGS = (
    text("url or text", help="a link to the post, what is going on, or both"),
    choice("reason", REASONS, trailing=True, help="why (default other)"),
)
# A resolve note is sent to every requester; like an escalation's description, it stays short.
MAX_NOTE = 1_000


class EscalationCommands:
    def __init__(self, service: EscalationService, rooms: Rooms, holding_reply: Callable[[], Awaitable[str]]) -> None:
        self._service = service
        self._rooms = rooms
        self._holding_reply = holding_reply

    def commands(self) -> list[Command]:
        reasons = "\n".join(f"• {reason}: {meaning}" for reason, meaning in messages.REASON_MEANINGS.items())
        return [
            Command(
                "escalate", "bring the moderators in: opens escalation #N and pings them", self.escalate,
                args=ESCALATE_ARGS,
                details=f"{messages.PARSING_RULE}\nReasons:\n{reasons}",
                examples=(
                    "!escalate https://x.com/someone/status/1234567890 trending",
                    "!escalate people are asking why their VPN was charged twice paid",
                    '!escalate "new logo complaints" brand',
                ),
                effects=True, after_edit="to report another post, send a new {prefix}escalate",
            ),
            Command(
                "escalations", "escalations, newest first, with state, age and who holds them", self.escalations,
                args=(choice("which", ("open", "all"), optional=True, default="open",
                             help="open (open or acknowledged; the default) or all"),),
                examples=("!escalations", "!escalations all"), effects=False
            ),
            Command(
                "ack", "take an escalation; its requesters are told", self.ack,
                args=(integer("N", help="the escalation's number, like 12 or #12"),),
                permission=Permission.MODERATORS, examples=("!ack 12",),
                reaction=ReactionTrigger(ACK_MARK, self._pinged, "on its ping in the moderators' room",
                                         on="an escalation's ping"),
                effects=True, after_edit="to take another escalation, send a new {prefix}ack",
            ),
            Command(
                "resolve", "close an escalation; the note goes to its requesters", self.resolve,
                args=(integer("N", help="the escalation's number"),
                      text("note", optional=True, help="what was done, for the requesters")),
                permission=Permission.MODERATORS,
                examples=("!resolve 12", "!resolve 12 Known issue, fixed in Firefox 135"),
                reaction=ReactionTrigger(RESOLVED_MARK, self._pinged, "on its ping in the moderators' room",
                                         on="an escalation's ping"),
                effects=True, after_edit="to close another escalation, send a new {prefix}resolve",
            ),
        ]

    async def _pinged(self, room_id: str, event_id: str) -> str | None:
        number = await self._service.number_pinged_by(room_id, event_id)
        return None if number is None else str(number)

    async def escalate(self, ctx: Context, url_or_text: str, reason: str | None) -> None:
        if ctx.message.room_id != self._rooms.contributors:
            raise CommandError(messages.wrong_room(ctx.prefix))
        reported = await self._service.report(escalation_request(url_or_text, reason), ctx.message)
        if reported.outcome is Outcome.OPENED:
            await ctx.reply(messages.opened(reported.escalation, await self._holding_reply()))
        elif reported.outcome is Outcome.JOINED:
            await ctx.reply(messages.joined(reported.escalation))
        else:
            await ctx.reply(messages.already_reported(reported.escalation))

    async def escalations(self, ctx: Context, which: str) -> None:
        listing = await self._service.listing(which, LIST_LIMIT)
        await ctx.reply(messages.listing(listing.escalations, listing.more, which, listing.as_of))

    async def ack(self, ctx: Context, N: int) -> None:  # the argument is called N in usage
        told = await self._service.acknowledge(N, ctx.user_id)
        await ctx.reply(messages.acknowledged(told.escalation, told.requesters))

    async def resolve(self, ctx: Context, N: int, note: str) -> None:
        if len(note) > MAX_NOTE:
            raise CommandError(messages.note_too_long(len(note), MAX_NOTE))
        told = await self._service.resolve(N, ctx.user_id, note)
        await ctx.reply(messages.resolved(told.escalation, told.requesters))
