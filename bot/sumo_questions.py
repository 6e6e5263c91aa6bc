"""SUMO support-forum questions on the 72-hour clock.

Each poll lists the live questions of every watched locale, reads the answers of those that got new
ones, and records the first answer by someone other than the asker (the asker's own follow-ups do not
count, whatever ``num_answers`` says). A question that is solved, locked, archived, spam or deleted
before a helper answered leaves the clock.

After a successful poll, the questions that fell due are gathered into one batch per stage — one
reminder message at ``remind_after``, one final notice at ``window`` — written to the database before
the message is sent, and sent with an outbox key derived from the batch. A crash resends the same
batch; nothing is ever announced twice, and what fell due while the bot or SUMO was away is
announced once when both are back.

Polling runs on the scheduler's tick (``Scheduler.every_tick``) and decides itself whether it is time:
the poller must back off on its own when SUMO is down (a due row in the schedule table would be retried
on every tick), and the batches cannot be per-item schedule rows since one message covers many items.
The windows themselves live in the database as ``remind_at`` / ``deadline_at``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.clock import Clock, format_duration, from_timestamp, to_timestamp
from bot.config import SumoConfig
from bot.rendering import Fragment, bold, bullets, code, join, link, lines, mention
from bot.rooms import Rooms
from bot.sender import Sender
from bot.services.kitsune import Answer, KitsuneClient, KitsuneError, Question
from bot.storage.bot_state import BotState
from bot.storage.questions import (
    Batch,
    Listing,
    NewQuestion,
    QuestionState,
    QuestionStats,
    QuestionStore,
    Stage,
    TakeOutcome,
    TrackedQuestion,
)

log = logging.getLogger(__name__)

LAST_POLL_KEY = "sumo.last_successful_poll"
# After a long outage, look back at most this far beyond the window (older outcomes are history).
MAX_CATCH_UP = timedelta(days=7)
CLAIM_LENGTH = timedelta(hours=2)
SHORT_ID_DIGITS = 4


def first_helper_answer(answers: Iterable[Answer], asker: str | None) -> Answer | None:
    """The earliest answer by a person other than the asker; spam and system accounts do not count."""
    for answer in sorted(answers, key=lambda a: (a.created, a.id)):
        if answer.is_spam or answer.creator is None:
            continue
        if asker is not None and answer.creator.username.casefold() == asker.casefold():
            continue
        return answer
    return None


@dataclass(frozen=True)
class QuestionsView:
    """What !questions shows: a page of questions, how many there are, and how fresh the data is."""

    questions: list[TrackedQuestion]
    total: int
    short_ids: dict[int, str]
    data_age: timedelta | None  # None: no successful poll yet
    now: datetime


class SumoQuestions:
    def __init__(self, config: SumoConfig, kitsune: KitsuneClient, store: QuestionStore, state: BotState,
                 sender: Sender, rooms: Rooms, clock: Clock, moderator_pings: Sequence[str] = ()) -> None:
        self.config = config
        self._kitsune = kitsune
        self._store = store
        self._state = state
        self._sender = sender
        self._rooms = rooms
        self._clock = clock
        self._moderator_pings = tuple(moderator_pings)
        self._next_poll_at: datetime | None = None
        self._polling: asyncio.Task[bool] | None = None
        self._failed_polls = 0

    # ---- the scheduler's tick ---------------------------------------------------------------------

    async def on_tick(self) -> None:
        """Start a poll when one is due (in the background: a slow SUMO must not hold up the
        scheduler's other work), then send what earlier polls planned."""
        polling = self._polling is not None and not self._polling.done()
        if not polling and (self._next_poll_at is None or self._clock.now() >= self._next_poll_at):
            self._next_poll_at = self._clock.now() + self.config.poll
            self._polling = asyncio.create_task(self.poll_politely(), name="sumo-poll")
        await self.send_due_notices()

    async def settle(self) -> None:
        """Wait for a running poll, then send what it planned (for shutdown and tests)."""
        if self._polling is not None:
            await asyncio.shield(self._polling)
        await self.send_due_notices()

    async def close(self) -> None:
        if self._polling is not None and not self._polling.done():
            self._polling.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._polling

    async def poll_politely(self) -> bool:
        """Poll now; a trouble episode (SUMO down, slow, answering garbage) is logged once."""
        try:
            await self.poll()
        except KitsuneError as error:
            self._poll_failed(str(error))
            return False
        except Exception:  # noqa: BLE001 - a bug must not end polling; it is logged with its traceback
            if self._failed_polls == 0:
                log.exception("SUMO poll failed unexpectedly")
            self._poll_failed("unexpected error")
            return False
        if self._failed_polls:
            log.info("SUMO poll works again after %d failed polls", self._failed_polls)
            self._failed_polls = 0
        return True

    def _poll_failed(self, problem: str) -> None:
        if self._failed_polls == 0:
            log.warning("SUMO poll failed (%s); question tracking is delayed, retrying every %s",
                        problem, format_duration(self.config.poll))
        self._failed_polls += 1

    # ---- polling ----------------------------------------------------------------------------------

    async def poll(self) -> None:
        """Read SUMO and bring every tracked question up to date, then plan what fell due."""
        started = self._clock.now()
        since = await self._listing_start(started)
        listed = await self._list_live_questions(since)
        for question in listed.values():
            await self._observe(question)
        await self._recheck_missing(set(listed), since)
        await self._state.set(LAST_POLL_KEY, repr(to_timestamp(started)))
        # The data is as fresh as the poll's start: only what fell due by then is decided.
        for stage in (Stage.REMIND, Stage.FINAL):
            batch = await self._store.plan_batch(stage, started)
            if batch is not None:
                log.info("SUMO: %s batch %d planned", stage.value, batch.id)

    async def _listing_start(self, now: datetime) -> datetime:
        """List every question that was inside its window at any time since the last good poll.

        After an outage, this includes the questions whose window closed meanwhile, so answers
        given before their deadline are still seen and counted.
        """
        last = await self.last_successful_poll()
        newest_known = min(last, now) if last is not None else now
        return max(newest_known - self.config.window, now - self.config.window - MAX_CATCH_UP)

    async def _list_live_questions(self, since: datetime) -> dict[int, Question]:
        listed: dict[int, Question] = {}
        for locale in self.config.locales:
            for question in await self._kitsune.questions(product=self.config.product, locale=locale,
                                                          created_after=since):
                listed[question.id] = question
        return listed

    async def _observe(self, question: Question) -> None:
        tracked = await self._store.track(self._new_question(question), self._clock.now())
        waiting = tracked.first_answer_at is None and tracked.state in (QuestionState.OPEN, QuestionState.EXPIRED)
        if waiting and max(question.answer_ids, default=0) > tracked.answers_checked_to:
            await self._read_answers(question)
        # Answers first: a helper's answer that was then marked as the solution still counts.
        reason = question.off_the_clock
        if reason is None and question.product not in (None, self.config.product):
            reason = "moved to another product"
        if reason is not None and await self._store.leave_clock(question.id, reason):
            log.info("SUMO question %d left the clock: %s", question.id, reason)

    def _new_question(self, question: Question) -> NewQuestion:
        return NewQuestion(
            id=question.id, locale=question.locale, title=question.title, asker=question.asker,
            created_at=question.created, remind_at=question.created + self.config.remind_after,
            deadline_at=question.created + self.config.window,
        )

    async def _read_answers(self, question: Question) -> None:
        answers = await self._kitsune.answers(question.id)
        first = first_helper_answer(answers, question.asker)
        if first is not None and first.creator is not None:
            await self._store.record_first_answer(question.id, first.creator.username, first.created)
        newest = max([*question.answer_ids, *(a.id for a in answers)], default=0)
        await self._store.answers_checked(question.id, newest)

    async def _recheck_missing(self, listed: set[int], since: datetime) -> None:
        """Ask about each open question the listing no longer shows: it became spam, locked,
        archived, moved or deleted (or slipped between pages while SUMO changed)."""
        for tracked in await self._store.open_created_after(since):
            if tracked.id in listed:
                continue
            question = await self._kitsune.question(tracked.id)
            if question is None:
                await self._store.leave_clock(tracked.id, "deleted")
            else:
                await self._observe(question)

    async def last_successful_poll(self) -> datetime | None:
        stored = await self._state.get(LAST_POLL_KEY)
        return None if stored is None else from_timestamp(float(stored))

    # ---- notices ------------------------------------------------------------------------------------

    async def send_due_notices(self) -> None:
        """Send every planned batch not yet sent (the same batch, under the same key, after a crash)."""
        for batch in await self._store.unsent_batches():
            members = await self._store.batch_members(batch)
            event_ids = [await self._sender.send_once(key, room_id, message)
                         for key, room_id, message in self._notices(batch, members)]
            await self._store.batch_sent(batch.id, event_ids[0], self._clock.now())

    def _notices(self, batch: Batch, members: list[TrackedQuestion]) -> list[tuple[str, str, Fragment]]:
        """(outbox key, room, message) of a batch: a reminder for contributors; at the end of the
        window, a notice for contributors and a ping for moderators."""
        key = f"sumo:{batch.stage.value}:{batch.id}"
        count = _questions(len(members))
        if batch.stage is Stage.REMIND:
            heading = f"⏰ {count} waited {hours(self.config.remind_after)} without a helper's answer:"
            items = bullets(self._reminder_line(q, batch.created_at) for q in members)
            return [(key, self._rooms.contributors, lines(heading, items))]
        heading = f"⌛ {count} reached {hours(self.config.window)} without a helper's answer"
        items = bullets(self._final_line(q) for q in members)
        pings = join([mention(user) for user in self._moderator_pings], " ")
        return [
            (key, self._rooms.contributors, lines(heading + "; they still need one:", items)),
            (f"{key}:moderators", self._rooms.moderators, lines(heading + (": " + pings if pings else ":"), items)),
        ]

    def _reminder_line(self, question: TrackedQuestion, now: datetime) -> Fragment:
        age = hours(now - question.created_at)
        left = hours(question.deadline_at - now)
        return self._title_line(question) + f" — {age} old, {left} left"

    def _final_line(self, question: TrackedQuestion) -> Fragment:
        return self._title_line(question) + f" — asked {question.created_at:%Y-%m-%d %H:%M} UTC"

    def _title_line(self, question: TrackedQuestion) -> Fragment:
        return code(question.locale) + " " + link(self.question_url(question), question.title)

    def question_url(self, question: TrackedQuestion) -> str:
        return self._kitsune.question_url(question.locale, question.id)

    # ---- what the commands ask ----------------------------------------------------------------------

    def now(self) -> datetime:
        return self._clock.now()

    async def view(self, which: Listing, limit: int) -> QuestionsView:
        now = self._clock.now()
        questions, total = await self._store.listing(which, now, self.config.window, limit)
        short_ids = await self._short_ids(questions, now)
        last = await self.last_successful_poll()
        return QuestionsView(questions, total, short_ids, None if last is None else now - last, now)

    def is_data_stale(self, age: timedelta | None) -> bool:
        return age is None or age > 2 * self.config.poll

    async def find(self, reference: str) -> list[TrackedQuestion]:
        """The tracked questions a !take reference means: a full ID, or the end of one (a short ID)."""
        digits = reference.lstrip("#")
        since = self._clock.now() - self.config.window - MAX_CATCH_UP
        if len(digits) > SHORT_ID_DIGITS:
            question = await self._store.get(int(digits))
            return [question] if question is not None else []
        return await self._store.with_id_ending(digits, since)

    async def take(self, question: TrackedQuestion, user_id: str) -> TakeOutcome:
        now = self._clock.now()
        return await self._store.take(question.id, user_id, now, now + CLAIM_LENGTH)

    async def _short_ids(self, questions: list[TrackedQuestion], now: datetime) -> dict[int, str]:
        """The last digits of each ID, or the whole ID where another recent question ends alike."""
        recent = await self._store.ids_created_after(now - self.config.window - MAX_CATCH_UP)
        tails: dict[str, int] = {}
        for qid in recent:
            tail = str(qid)[-SHORT_ID_DIGITS:]
            tails[tail] = tails.get(tail, 0) + 1
        return {q.id: (str(q.id)[-SHORT_ID_DIGITS:] if tails.get(str(q.id)[-SHORT_ID_DIGITS:], 0) <= 1
                       else str(q.id)) for q in questions}


def hours(delta: timedelta) -> str:
    """A span as people say it on this clock: 48h or 49h 30m rather than 2d."""
    seconds = int(abs(delta.total_seconds()))
    if seconds < 3600:
        return format_duration(delta)
    whole_hours, minutes = seconds // 3600, seconds % 3600 // 60
    return f"{whole_hours}h {minutes}m" if minutes else f"{whole_hours}h"


def question_stats_lines(stats: QuestionStats, window: timedelta | None) -> Fragment:
    """The SUMO questions part of !stats and the weekly digest."""
    label = hours(window) if window is not None else "the window"
    if stats.tracked == 0:
        return lines(bold("SUMO forum questions:") + " none tracked.")
    share = "" if stats.share_answered is None else f" ({stats.share_answered:.0%})"
    median = "no answers yet" if stats.median_first_answer is None else hours(stats.median_first_answer)
    return lines(
        bold("SUMO forum questions:") + f" {stats.tracked} tracked",
        bullets([
            f"answered within {label}: {stats.answered_in_window} of {stats.decided} whose window has run{share}",
            f"median time to first helper answer: {median}",
            f"{label} passed without a helper's answer: {stats.expired}",
            f"left the clock (solved by the asker, locked, archived, spam, deleted): {stats.left}",
            f"still inside their window: {stats.waiting}",
        ]),
        "Answered means a first answer by someone other than the asker; SUMO's own \"responded within "
        "72 hours\" counts any answer, the asker's follow-ups too.",
    )


def _questions(count: int) -> str:
    return f"{count} SUMO question" + (" has" if count == 1 else "s have")
