"""!iam: tell the bot your SUMO and forum usernames, so your answers there count as yours.

Parse → storage → answer; the answers' words are in ``bot.features.identities.messages``."""

from __future__ import annotations

import re

from bot.clock import Clock
from bot.features.identities import messages
from bot.framework.arguments import UsageError, word
from bot.framework.command import Command, CommandError
from bot.framework.dispatcher import Context
from bot.storage.identities import Identities, NameTaken, Service

# Kitsune and Discourse usernames: letters, digits and . _ - (+ and @ on Kitsune); a leading @ is dropped.
_USERNAME = re.compile(r"[\w.@+\-]{1,150}")


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
        await ctx.reply(messages.linked_to_you(await self._identities.of_user(ctx.user_id), ctx.prefix))

    async def link_sumo(self, ctx: Context, username: str) -> None:
        await self._link(ctx, Service.SUMO, username)

    async def link_forum(self, ctx: Context, username: str) -> None:
        await self._link(ctx, Service.FORUM, username)

    async def _link(self, ctx: Context, service: Service, username: str) -> None:
        if not self._enabled[service]:
            raise CommandError(messages.not_set_up(service))
        name = username.removeprefix("@")
        if not _USERNAME.fullmatch(name):
            raise UsageError(messages.bad_username(username))
        try:
            await self._identities.link(ctx.user_id, service, name, self._clock.now())
        except NameTaken as taken:
            raise CommandError(messages.name_taken(service, name, taken.holder)) from None
        await ctx.reply(messages.linked(service, name, ctx.prefix))
