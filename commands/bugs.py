"""!bug: a prefilled Bugzilla link, and what a good bug report needs (words and link: bot.features.bugzilla)."""

from __future__ import annotations

from bot.features.bugzilla import MAX_SUMMARY, bug_answer
from bot.framework.arguments import text
from bot.framework.command import Command
from bot.framework.dispatcher import Context


class BugCommands:
    def commands(self) -> list[Command]:
        return [
            Command(
                "bug", "a prefilled Bugzilla link for a Firefox bug, and what a good report needs", self.bug,
                args=(text("summary", help="the problem in one line; it becomes the bug's title"),),
                details=f"The title holds up to {MAX_SUMMARY} characters; longer or multi-line text is kept "
                        "in the bug's description.",
                examples=("!bug Videos on some sites stutter after updating to Firefox 135",), effects=False
            ),
        ]

    async def bug(self, ctx: Context, summary: str) -> None:
        await ctx.reply(bug_answer(summary))
