"""!dashboard: a one-time sign-in link to the web dashboard, by direct message; !dashboard revoke."""

from __future__ import annotations

from bot.framework.arguments import choice
from bot.framework.command import Command, CommandError, Permission
from bot.framework.dispatcher import Context
from bot.ops.dashboard import messages
from bot.ops.dashboard.access import DashboardAccess


class DashboardCommands:
    def __init__(self, access: DashboardAccess) -> None:
        self._access = access

    def commands(self) -> list[Command]:
        return [
            Command("dashboard", "a one-time sign-in link to the web dashboard, sent to you by direct message",
                    self.dashboard,
                    args=(choice("revoke", ("revoke",), optional=True,
                                 help="revoke: end all your dashboard sessions and unused links"),),
                    permission=Permission.MODERATORS,
                    details="The link works once, for 10 minutes; the session it starts lasts 12 hours.",
                    examples=("!dashboard", "!dashboard revoke"),
                    # Effects: it makes a sign-in link and sends it by direct message, or ends sessions.
                    # An edit running it again would send a second link, or revoke what the first run
                    # did not.
                    effects=True,
                    after_edit="for another sign-in link, send a new {prefix}dashboard; to end your sessions, "
                               "{prefix}dashboard revoke"),
        ]

    async def dashboard(self, ctx: Context, revoke: str | None) -> None:
        if not self._access.available:
            raise CommandError(messages.NOT_SET_UP)
        if revoke is not None:
            await ctx.reply(messages.revoked(await self._access.revoke(ctx.user_id)))
            return
        await self._access.send_link(ctx.user_id, ctx.message.event_id, ctx.prefix)
        await ctx.reply(messages.LINK_SENT)
