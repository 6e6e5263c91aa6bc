"""!questions and !take: support-forum questions waiting for a helper's first answer."""

from __future__ import annotations

import re
from datetime import datetime

from bot.clock import format_duration
from bot.features.questions.tracker import CLAIM_LENGTH, QuestionsView, SumoQuestions
from bot.framework.arguments import UsageError, choice, word
from bot.framework.command import Command, CommandError
from bot.framework.dispatcher import Context
from bot.matrix.rendering import Fragment, bold, bullets, code, echo, lines, link
from bot.storage.questions import QuestionFilter, QuestionState, TakeResult, TrackedQuestion

PAGE = 15
_QUESTION_NUMBER = re.compile(r"#?\d{1,10}")

NOT_SET_UP = ("Support-forum questions are not set up on this bot (the configuration has no sumo section); "
              "ask a moderator.")

_HEADINGS = {
    QuestionFilter.OPEN: "SUMO questions waiting for a helper's answer",
    QuestionFilter.STALE: "SUMO questions past their reminder time without a helper's answer",
    QuestionFilter.ALL: "Every SUMO question of the current window",
}


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
            raise CommandError(NOT_SET_UP)
        return self._questions

    # ---- !questions -------------------------------------------------------------------------------

    async def list_questions(self, ctx: Context, which: str) -> None:
        tracker = self._tracker()
        listing = QuestionFilter(which)
        view = await tracker.view(listing, PAGE)
        heading = bold(_HEADINGS[listing]) + f" ({view.total})"
        if not view.questions:
            body: Fragment | str = "None right now. 🎉"
        else:
            body = bullets(self._line(tracker, q, view, listing) for q in view.questions)
        more = f"…and {view.total - len(view.questions)} more." if view.total > len(view.questions) else None
        hint = f"Claim one with {ctx.prefix}take <id> so nobody answers it twice." if view.questions else None
        await ctx.reply(lines(heading, body, more, _freshness(tracker, view), hint))

    def _line(self, tracker: SumoQuestions, question: TrackedQuestion, view: QuestionsView,
              listing: QuestionFilter) -> Fragment:
        title = code(view.short_ids[question.id]) + " " + code(question.locale) + " " + link(
            tracker.question_url(question), question.title)
        parts = [_status(question, view.now, tracker)]
        claim = question.claim_at(view.now)
        if claim is not None and question.first_answer_at is None:
            holder, until = claim
            parts.append(f"taken by {holder} for {format_duration(until - view.now)} more")
        return title + " — " + " · ".join(parts)

    # ---- !take ----------------------------------------------------------------------------------------

    async def take(self, ctx: Context, id: str) -> None:  # the argument's name in usage
        tracker = self._tracker()
        if not _QUESTION_NUMBER.fullmatch(id):
            raise UsageError(f"id must be a question number like 2345, not {echo(id)!r}")
        question = await self._one_question(tracker, id, ctx.prefix)
        result, now_held = await tracker.take(question, ctx.user_id)
        await ctx.reply(_take_answer(tracker, result, now_held or question, ctx.prefix))

    async def _one_question(self, tracker: SumoQuestions, reference: str, prefix: str) -> TrackedQuestion:
        matches = await tracker.find(reference)
        if not matches:
            raise CommandError(f"I am not tracking a question {reference}: it may be older than "
                               f"{format_duration(tracker.config.window, in_hours=True)}, or in a locale I don't watch. "
                               f"See {prefix}questions for the numbers.")
        if len(matches) > 1:
            numbers = ", ".join(str(q.id) for q in matches[:5])
            raise CommandError(f"Several questions end in {reference}: {numbers}. Give the full number.")
        return matches[0]


def _status(question: TrackedQuestion, now: datetime, tracker: SumoQuestions) -> str:
    if question.first_answer_at is not None:
        after = format_duration(question.first_answer_at - question.created_at, in_hours=True)
        late = "" if question.state is QuestionState.ANSWERED else f" (past the {format_duration(tracker.config.window, in_hours=True)})"
        return f"answered by {question.first_answer_by} after {after}{late}"
    if question.state is QuestionState.LEFT:
        return f"left the clock ({question.left_reason})"
    if question.state is QuestionState.EXPIRED or question.deadline_at <= now:
        return f"{format_duration(tracker.config.window, in_hours=True)} passed without a helper's answer"
    return f"{format_duration(question.deadline_at - now, in_hours=True)} left"


def _freshness(tracker: SumoQuestions, view: QuestionsView) -> str | None:
    if not tracker.is_data_stale(view.data_age):
        return None
    why = f" ({tracker.last_problem})" if tracker.last_problem else ""
    if view.data_age is None:
        return f"⚠ SUMO has not answered yet since the bot started{why}: this list may be incomplete."
    minutes = int(view.data_age.total_seconds() // 60)
    return f"⚠ This data is {minutes} minutes old: SUMO has not answered the last polls{why}."


def _take_answer(tracker: SumoQuestions, result: TakeResult, question: TrackedQuestion, prefix: str) -> Fragment:
    title = link(tracker.question_url(question), question.title)
    if result is TakeResult.TAKEN:
        return f"It's yours for {format_duration(CLAIM_LENGTH)}: " + title + (
            f". Others see it as taken in {prefix}questions.")
    claim = question.claim_at(tracker.now())
    if result is TakeResult.TAKEN_BY_OTHER and claim is not None:
        holder, until = claim
        return (f"Question {question.id} is taken by {holder} for {format_duration(until - tracker.now())} more, "
                f"so they are probably answering it; pick another one from {prefix}questions. ") + title
    if question.first_answer_at is not None:
        return f"Question {question.id} already has a helper's answer (by {question.first_answer_by}): " + title
    if question.state is QuestionState.LEFT:
        return f"Question {question.id} left the clock ({question.left_reason}); nothing to take: " + title
    return f"Question {question.id} changed hands just now; look at {prefix}questions and try again."
