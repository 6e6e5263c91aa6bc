"""!dashboard: a one-time sign-in link to the web dashboard, by direct message; !dashboard revoke."""

from __future__ import annotations

from bot.framework.arguments import choice
from bot.framework.command import Command, Permission
from bot.framework.dispatcher import Context
from bot.matrix.client import transaction_id
from bot.matrix.direct import DirectRooms
from bot.matrix.rendering import bold, code, lines, link
from bot.ops.dashboard.signin import SignIn


class DashboardCommands:
    def __init__(self, signin: SignIn | None, direct: DirectRooms) -> None:
        self._signin = signin   # None: the HTTP endpoint is off (http.listen: null)
        self._direct = direct

    def commands(self) -> list[Command]:
        return [
            Command("dashboard", "a one-time sign-in link to the web dashboard, sent to you by direct message",
                    self.dashboard,
                    args=(choice("revoke", ("revoke",), optional=True,
                                 help="revoke: end all your dashboard sessions and unused links"),),
                    permission=Permission.MODERATORS,
                    details="The link works once, for 10 minutes; the session it starts lasts 12 hours.",
                    examples=("!dashboard", "!dashboard revoke"),
                    # Effects: it makes a sign-in link and sends it by direct message (not through
                    # ctx.post, which a re-run would hold back), or ends sessions. An edit re-running
                    # it would send a second link, or revoke what the first run did not.
                    effects=True,
                    after_edit="for another sign-in link, send a new {prefix}dashboard; to end your sessions, "
                               "{prefix}dashboard revoke"),
        ]

    async def dashboard(self, ctx: Context, revoke: str | None) -> None:
        if self._signin is None:
            await ctx.reply("The dashboard is not set up: the bot's HTTP endpoint is off (http.listen).")
            return
        if revoke is not None:
            ended = await self._signin.revoke_all(ctx.user_id)
            await ctx.reply(f"Ended {ended} dashboard session{'' if ended == 1 else 's'} of yours, "
                            "and voided your unused sign-in links.")
            return
        url = await self._signin.new_link(ctx.user_id)
        room_id = await self._direct.room_with(ctx.user_id)
        await ctx.sender.message_person(room_id, lines(
            bold("Your sign-in link to the fxhelp-bot dashboard:") + " " + link(url, url),
            "It works once, for 10 minutes, and signs you in for 12 hours. Do not share it. "
            "To end every session: " + code("!dashboard revoke") + ".",
        ), txn_id=transaction_id("dashboard-link", ctx.message.event_id))
        await ctx.reply("I sent you a link in a direct message.")
