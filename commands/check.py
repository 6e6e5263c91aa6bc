"""!check: what to fix in a draft before it goes out on X, or a clear pass.

The draft is the raw rest of the line, so its spacing, quotes and line breaks are checked as typed.
The rules live in bot/features/drafts/check.py and the answers' words in bot/features/drafts/messages.py;
this module only asks and answers.
"""

from __future__ import annotations

import asyncio

from bot.features.drafts import messages
from bot.features.drafts.check import CheckRules, assess_draft
from bot.features.replies.catalog import ReplyCatalog
from bot.framework.arguments import text
from bot.framework.command import Command
from bot.framework.dispatcher import Context


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
        await ctx.reply(messages.assessment(assessment.findings, assessment.length))
