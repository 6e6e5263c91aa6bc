"""!bug: a prefilled Bugzilla link, and what a good bug report needs."""

from __future__ import annotations

from bot.features.bugzilla import GOOD_REPORT, MAX_SUMMARY, ONE_PROBLEM_PER_BUG, bug_summary, enter_bug_url
from bot.framework.arguments import text
from bot.framework.command import Command
from bot.framework.dispatcher import Context
from bot.matrix.rendering import bold, bullets, lines, link


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
        title = bug_summary(summary)
        shortened = "The title was shortened; the whole text is in the description." if title != summary else None
        await ctx.reply(lines(
            bold("File it on Bugzilla: ") + link(enter_bug_url(summary), "open the prefilled bug form"),
            shortened,
            "A good report has:",
            bullets(GOOD_REPORT),
            ONE_PROBLEM_PER_BUG,
        ))
