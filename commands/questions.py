"""!questions and !take: support-forum questions waiting for a helper's first answer."""

from __future__ import annotations

import re

from bot.features.questions import messages
from bot.features.questions.tracker import CLAIM_LENGTH, SumoQuestions
from bot.framework.arguments import UsageError, choice, word
from bot.framework.command import Command, CommandError
from bot.framework.dispatcher import Context
from bot.storage.questions import QuestionFilter, TrackedQuestion

PAGE = 15
_QUESTION_NUMBER = re.compile(r"#?\d{1,10}")


class QuestionCommands:
    def __init__(self, questions: SumoQuestions | None) -> None:
        self._questions = questions

    def commands(self) -> list[Command]:
        return [
            Command("questions", "support-forum questions without a helper's answer, soonest deadline first",
                    self.list_questions,
                    args=(choice("which", ("open", "stale", "all"), optional=True, default="open",
                                 help="open (default): waiting; stale: past the reminder time; all: the whole "
                                      "window, answered ones too"),),
                    examples=("!questions", "!questions stale", "!questions all"),
                    details="Answered means a first answer by someone other than the asker.", effects=False),
            Command("take", "claim a support-forum question for 2 hours so two people don't answer it", self.take,
                    args=(word("id", help="the question's number as !questions shows it (or the full number)"),),
                    examples=("!take 2345",),
                    effects=True, after_edit="to claim another question, send a new {prefix}take"),
        ]

    def _tracker(self) -> SumoQuestions:
        if self._questions is None:
            raise CommandError(messages.NOT_SET_UP)
        return self._questions

    # ---- !questions -------------------------------------------------------------------------------

    async def list_questions(self, ctx: Context, which: str) -> None:
        tracker = self._tracker()
        listing = QuestionFilter(which)
        view = await tracker.view(listing, PAGE)
        shown = [messages.listing_line(q, view.short_ids[q.id], view.now, tracker.config.window, tracker.question_url)
                 for q in view.questions]
        stale = messages.stale_data(view.data_age, tracker.last_problem) if tracker.is_data_stale(view.data_age) else None
        await ctx.reply(messages.listing(listing, view.total, shown, stale, ctx.prefix))

    # ---- !take ----------------------------------------------------------------------------------------

    async def take(self, ctx: Context, id: str) -> None:  # the argument's name in usage
        tracker = self._tracker()
        if not _QUESTION_NUMBER.fullmatch(id):
            raise UsageError(messages.bad_question_number(id))
        question = await self._one_question(tracker, id, ctx.prefix)
        result, now_held = await tracker.take(question, ctx.user_id)
        await ctx.reply(messages.take_answer(result, now_held or question, tracker.now(), CLAIM_LENGTH,
                                             tracker.question_url, ctx.prefix))

    async def _one_question(self, tracker: SumoQuestions, reference: str, prefix: str) -> TrackedQuestion:
        matches = await tracker.find(reference)
        if not matches:
            raise CommandError(messages.not_tracked(reference, tracker.config.window, prefix))
        if len(matches) > 1:
            raise CommandError(messages.several_match(reference, matches))
        return matches[0]
