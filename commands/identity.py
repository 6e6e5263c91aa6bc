"""!iam: tell the bot your SUMO and forum usernames, so your answers there count as yours."""

from __future__ import annotations

import re

from bot.clock import Clock
from bot.framework.arguments import UsageError, word
from bot.framework.command import Command, CommandError
from bot.framework.dispatcher import Context
from bot.matrix.rendering import bullets, code, echo, lines
from bot.storage.identities import Identities, NameTaken, Service

# Kitsune and Discourse usernames: letters, digits and . _ - (+ and @ on Kitsune); a leading @ is dropped.
_USERNAME = re.compile(r"[\w.@+\-]{1,150}")

_WHAT_FOR = {
    Service.SUMO: "your first answers on the support forum count for you in {prefix}top",
    Service.FORUM: "your replies on consult topics count as answers, and your own consults' topics know you",
}
_NOT_SET_UP = {
    Service.SUMO: "Support-forum tracking is not set up on this bot (no sumo section); ask a moderator.",
    Service.FORUM: "The consult forum is not set up on this bot (no forum section); ask a moderator.",
}


class IdentityCommands:
    def __init__(self, identities: Identities, clock: Clock, *, sumo_enabled: bool, forum_enabled: bool) -> None:
        self._identities = identities
        self._clock = clock
        self._enabled = {Service.SUMO: sumo_enabled, Service.FORUM: forum_enabled}

    def commands(self) -> list[Command]:
        return [
            Command("iam", "show the SUMO and forum usernames linked to you", self.show, examples=("!iam",), effects=False),
            Command("iam sumo", "link your support.mozilla.org username to you", self.link_sumo,
                    args=(word("username", help="your username on support.mozilla.org"),),
                    examples=("!iam sumo jdoe",),
                    effects=True, after_edit="to link another username, send a new {prefix}iam sumo"),
            Command("iam forum", "link your consult-forum (Discourse) username to you", self.link_forum,
                    args=(word("username", help="your username on the forum"),),
                    examples=("!iam forum jdoe",),
                    effects=True, after_edit="to link another username, send a new {prefix}iam forum"),
        ]

    async def show(self, ctx: Context) -> None:
        links = await self._identities.of_user(ctx.user_id)
        if not links:
            await ctx.reply(f"No usernames linked yet. Use {ctx.prefix}iam sumo <username> and "
                            f"{ctx.prefix}iam forum <username>.")
            return
        items = [f"{service.value}: " + code(link.username) for service, link in sorted(links.items())]
        await ctx.reply(lines("Linked to you:", bullets(items)))

    async def link_sumo(self, ctx: Context, username: str) -> None:
        await self._link(ctx, Service.SUMO, username)

    async def link_forum(self, ctx: Context, username: str) -> None:
        await self._link(ctx, Service.FORUM, username)

    async def _link(self, ctx: Context, service: Service, username: str) -> None:
        if not self._enabled[service]:
            raise CommandError(_NOT_SET_UP[service])
        name = username.removeprefix("@")
        if not _USERNAME.fullmatch(name):
            raise UsageError(f"username may hold letters, digits and . _ - + @ only, not {echo(username)!r}")
        try:
            await self._identities.link(ctx.user_id, service, name, self._clock.now())
        except NameTaken as taken:
            raise CommandError(f"The {service.value} username {name} is already linked to {taken.holder}. "
                               "If it is yours, ask a moderator.") from None
        what_for = _WHAT_FOR[service].format(prefix=ctx.prefix)
        await ctx.reply(f"Got it: you are {name} on {service.value}, so {what_for}.")
