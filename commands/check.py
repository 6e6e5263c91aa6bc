"""!check: what to fix in a draft before it goes out on X, or a clear pass.

The draft is the raw rest of the line, so its spacing, quotes and line breaks are checked as typed.
The rules live in bot/features/drafts/check.py; this module only asks and answers.
"""

from __future__ import annotations

import asyncio

from bot.features.drafts.check import CheckRules, Finding, assess_draft
from bot.features.replies.catalog import ReplyCatalog
from bot.features.x_text import X_LIMIT
from bot.framework.arguments import text
from bot.framework.command import Command
from bot.framework.dispatcher import Context
from bot.matrix.rendering import Fragment, bold, bullets, lines
from bot.text import shortened

# A finding can quote the draft (every long link in it); a pasted wall of links must still give an
# answer small enough for one Matrix event.
FINDING_LENGTH = 600


class CheckCommands:
    def __init__(self, rules: CheckRules, catalog: ReplyCatalog) -> None:
        self._rules = rules
        self._catalog = catalog

    def commands(self) -> list[Command]:
        return [
            Command("check", "check a draft before you post it: length as X counts it, #fxhelp, links, tone, "
                             "pasted common replies", self.check,
                    args=(text("draft", help="your reply exactly as you would post it"),),
                    examples=("!check @someone Try clearing the cache: https://mzl.la/3abc #fxhelp",),
                    details="It flags only what the Social Support guidelines ask for, never style.", effects=False),
        ]

    async def check(self, ctx: Context, draft: str) -> None:
        # CPU work that grows with the draft: off the event loop, so sync and the scheduler go on.
        assessment = await asyncio.to_thread(assess_draft, draft, self._rules, self._catalog.library)
        findings, length = assessment.findings, assessment.length
        await ctx.reply(_to_fix(findings, length) if findings else _looks_good(length))


def _counted(length: int) -> str:
    return f"{length}/{X_LIMIT} as X counts it"


def _to_fix(findings: list[Finding], length: int) -> Fragment:
    things = "1 thing" if len(findings) == 1 else f"{len(findings)} things"
    return lines(
        f"{things} to fix before posting ({_counted(length)}):",
        bullets(lines(bold(shortened(finding.problem, FINDING_LENGTH)), "→ " + shortened(finding.fix, FINDING_LENGTH)) for finding in findings),
    )




def _looks_good(length: int) -> str:
    return (f"Looks good: {_counted(length)} ({X_LIMIT - length} left), #fxhelp present, no long Mozilla links, "
            "nothing political, rude or shouted, and not a pasted common reply.")
