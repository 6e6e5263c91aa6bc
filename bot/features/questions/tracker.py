"""SUMO support-forum questions on the 72-hour clock.

A sweep lists the live questions of every watched locale that were inside their window at any time
since the last complete sweep, reads the answers of those that got new ones, and records the first
answer by someone other than the asker (the asker's own follow-ups do not count, whatever
``num_answers`` says). A question that is solved, locked, archived, spam or deleted before a helper
answered leaves the clock. An answer by an account without a profile (Kitsune's ``creator: null``)
counts like any other; only when the asker has no profile either can the two not be told apart,
and such an answer is not counted.

A sweep is bounded and resumable: each poll may make at most ``REQUESTS_PER_POLL`` requests; it
lists oldest first from a cursor (the ``created`` of the last question handled, per locale) kept in
the database, so after an outage the catch-up goes on across polls — and restarts — instead of
failing every poll, and nothing is skipped. The questions a sweep no longer lists are asked about one
by one at its end. Only a complete sweep decides what fell due.

After a complete sweep, the questions that fell due are gathered into one batch per stage — one
reminder message at ``remind_after``, one final notice at ``window`` — written to the database before
the message is sent, and sent with an outbox key derived from the batch. A crash resends the same
batch; nothing is ever announced twice, and what fell due while the bot or SUMO was away is
announced once when both are back.

Polling runs on the scheduler's tick (``Scheduler.every_tick``) and decides itself whether it is time:
the poller must back off on its own when SUMO is down (a due row in the schedule table would be retried
on every tick), and the batches cannot be per-item schedule rows since one message covers many items.
The windows themselves live in the database as ``remind_at`` / ``deadline_at``. What the bot says
about questions (the batches, !questions, !take, the !stats lines) is in ``messages``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from bot.clock import Clock, format_duration, from_timestamp, to_timestamp
from bot.config import SumoConfig
from bot.features.questions import messages
from bot.features.questions.messages import NO_PROFILE
from bot.logging_setup import FailureEpisodes
from bot.matrix.events import Outgoing
from bot.matrix.rooms import RoomIds
from bot.matrix.sender import Sends
from bot.ops.metrics import Metrics
from bot.services.kitsune import (
    Answer,
    KitsuneBlocked,
    KitsuneClient,
    KitsuneError,
    KitsuneUnreachable,
    Question,
    RequestBudget,
    RequestBudgetSpent,
)
from bot.storage.bot_state import BotState
from bot.storage.questions import (
    Batch,
    NewQuestion,
    QuestionFilter,
    QuestionState,
    QuestionStore,
    Stage,
    TakeOutcome,
    TrackedQuestion,
)

log = logging.getLogger(__name__)

LAST_POLL_KEY = "sumo.last_successful_poll"  # the start of the last complete sweep
SWEEP_KEY = "sumo.sweep"  # the sweep under way: its start, where it lists from, each locale's cursor
# At most this many requests per poll (retries count): at SUMO's 20 per page, 4,000 questions
# at most, and a catch-up after an outage takes several polls rather than one enormous one.
REQUESTS_PER_POLL = 200
# After a long outage, look back at most this far beyond the window (older outcomes are history).
MAX_CATCH_UP = timedelta(days=7)
CLAIM_LENGTH = timedelta(hours=2)
SHORT_ID_DIGITS = 4


def is_helper_answer(answer: Answer, asker: str | None) -> bool:
    """An answer by someone other than the asker. An author without a profile (``creator: null``)
    is someone else unless the asker has no profile either: then they may be the same person."""
    if answer.is_spam:
        return False
    if answer.creator is None:
        return asker is not None
    return asker is None or answer.creator.username.casefold() != asker.casefold()


def answered_by(answer: Answer) -> str:
    return answer.creator.username if answer.creator is not None else NO_PROFILE


@dataclass
class Sweep:
    """One pass over every question that may still matter, possibly spread over several polls."""

    started: datetime
    since: datetime
    cursors: dict[str, datetime | None] = field(default_factory=dict)  # locale -> last created; None: done

    def to_json(self) -> str:
        return json.dumps({"started": to_timestamp(self.started), "since": to_timestamp(self.since),
                           "cursors": {k: None if v is None else to_timestamp(v) for k, v in self.cursors.items()}})

    @classmethod
    def from_json(cls, text: str) -> Sweep:
        data = json.loads(text)
        return cls(from_timestamp(data["started"]), from_timestamp(data["since"]),
                   {k: None if v is None else from_timestamp(v) for k, v in data["cursors"].items()})


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
                 sender: Sends, rooms: RoomIds, clock: Clock, moderator_pings: Sequence[str] = (), *,
                 metrics: Metrics) -> None:
        self.config = config
        self._kitsune = kitsune
        self._store = store
        self._state = state
        self._sender = sender
        self._rooms = rooms
        self._clock = clock
        self._moderator_pings = tuple(moderator_pings)
        self._polls = metrics.sumo_polls
        self._next_poll_at: datetime | None = None
        self._polling: asyncio.Task[bool] | None = None
        self._poll_failures = FailureEpisodes()
        self.last_problem: str | None = None  # why the last poll did not complete, for !questions

    # ---- the scheduler's tick ---------------------------------------------------------------------

    async def on_tick(self) -> None:
        """Start a poll when one is due (in the background: a slow SUMO must not hold up the
        scheduler's other work), then send what earlier polls planned."""
        polling = self._polling is not None and not self._polling.done()
        # Kitsune refusing our User-Agent is for good: asking again cannot help.
        may_poll = not polling and not self._kitsune.blocked
        if may_poll and (self._next_poll_at is None or self._clock.now() >= self._next_poll_at):
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
        polled = await self._poll_and_tell()
        self._polls.labels(outcome="ok" if polled else "failed").inc()  # at the end: the poll's work is done
        return polled

    async def _poll_and_tell(self) -> bool:
        try:
            complete = await self.poll()
        except KitsuneBlocked as blocked:
            self.last_problem = messages.blocked(blocked)
            self._poll_failures.failed()
            return False
        except KitsuneUnreachable as error:
            self._poll_failed(messages.unreachable(urlsplit(self._kitsune.site_url).netloc, error))
            return False
        except KitsuneError as error:
            self._poll_failed(str(error))
            return False
        except Exception:  # a bug must not end polling; it is logged with its traceback
            if not self._poll_failures.failing():
                log.exception("SUMO poll failed unexpectedly")
            self._poll_failed(messages.UNEXPECTED)
            return False
        failed = self._poll_failures.recovered()
        if failed:
            log.info("SUMO poll works again after %d failed polls", failed)
        self.last_problem = None if complete else messages.CATCHING_UP
        return True

    def _poll_failed(self, problem: str) -> None:
        if self._poll_failures.failed():
            log.warning("SUMO poll failed (%s); question tracking is delayed, retrying every %s",
                        problem, format_duration(self.config.poll))
        self.last_problem = problem

    def health_problems(self) -> list[str]:
        """For /healthz: what needs an operator."""
        if not self._kitsune.blocked:
            return []
        return [messages.BLOCKED_HEALTH]

    # ---- polling ----------------------------------------------------------------------------------

    async def poll(self) -> bool:
        """Carry the sweep on as far as this poll's request budget goes; True when it completed.

        A complete sweep brings every tracked question up to date, then plans what fell due."""
        budget = RequestBudget(REQUESTS_PER_POLL)
        sweep = await self._sweep_under_way()
        try:
            for locale in self.config.locales:
                await self._list_locale(sweep, locale, budget)
            await self._recheck_missing(sweep, budget)
        except RequestBudgetSpent:
            log.info("SUMO: %d requests made; the sweep since %s goes on at the next poll", REQUESTS_PER_POLL,
                     sweep.since.isoformat(timespec="seconds"))
            return False
        await self._state.set(LAST_POLL_KEY, repr(to_timestamp(sweep.started)))
        await self._state.delete(SWEEP_KEY)
        # The data is as fresh as the sweep's start: only what fell due by then is decided.
        for stage in (Stage.REMIND, Stage.FINAL):
            batch = await self._store.plan_batch(stage, sweep.started)
            if batch is not None:
                log.info("SUMO: %s batch %d planned", stage.value, batch.id)
        return True

    async def _sweep_under_way(self) -> Sweep:
        stored = await self._state.get(SWEEP_KEY)
        if stored is not None:
            return Sweep.from_json(stored)
        started = self._clock.now()
        return Sweep(started, await self._listing_start(started))

    async def _listing_start(self, now: datetime) -> datetime:
        """List every question that was inside its window at any time since the last complete sweep.

        After an outage, this includes the questions whose window closed meanwhile, so answers
        given before their deadline are still seen and counted.
        """
        last = await self.last_successful_poll()
        newest_known = min(last, now) if last is not None else now
        return max(newest_known - self.config.window, now - self.config.window - MAX_CATCH_UP)

    async def _list_locale(self, sweep: Sweep, locale: str, budget: RequestBudget) -> None:
        """Page through a locale oldest first from its cursor, saving the cursor after each question."""
        if locale in sweep.cursors and sweep.cursors[locale] is None:
            return
        while True:
            after = sweep.cursors.get(locale) or sweep.since
            page = await self._kitsune.questions_page(product=self.config.product, locale=locale,
                                                      created_after=after, budget=budget)
            for question in page.questions:
                await self._observe(question, sweep, budget)
                sweep.cursors[locale] = question.created
                await self._state.set(SWEEP_KEY, sweep.to_json())
            if not page.has_more:
                sweep.cursors[locale] = None
                await self._state.set(SWEEP_KEY, sweep.to_json())
                return

    async def _observe(self, question: Question, sweep: Sweep, budget: RequestBudget) -> None:
        tracked = await self._store.track(self._new_question(question), self._clock.now(), listed_at=sweep.started)
        waiting = tracked.first_answer_at is None and tracked.state in (QuestionState.OPEN, QuestionState.EXPIRED)
        if waiting and max(question.answer_ids, default=0) > tracked.answers_checked_to:
            await self._read_answers(question, budget)
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

    async def _read_answers(self, question: Question, budget: RequestBudget) -> None:
        """Read answers oldest first until the first helper's; the rest need no reading."""
        newest = max(question.answer_ids, default=0)
        first = await _first(self._kitsune.answers(question.id, budget), question.asker)
        if first is not None:
            await self._store.record_first_answer(question.id, answered_by(first), first.created)
            newest = max(newest, first.id)
        await self._store.answers_checked(question.id, newest)

    async def _recheck_missing(self, sweep: Sweep, budget: RequestBudget) -> None:
        """Ask about each open question this sweep did not list: it became spam, locked, archived,
        moved or deleted (or slipped between pages while SUMO changed)."""
        for tracked in await self._store.open_not_listed(sweep.since, sweep.started):
            question = await self._kitsune.question(tracked.id, budget)
            if question is None:
                await self._store.leave_clock(tracked.id, "deleted")
                await self._store.listed(tracked.id, sweep.started)
            else:
                await self._observe(question, sweep, budget)

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

    def _notices(self, batch: Batch, members: list[TrackedQuestion]) -> list[tuple[str, str, Outgoing]]:
        """(outbox key, room, message) of a batch: a reminder for contributors; at the end of the
        window, a notice for contributors and a ping for moderators (sent so that it notifies)."""
        key = f"sumo:{batch.stage.value}:{batch.id}"
        if batch.stage is Stage.REMIND:
            return [(key, self._rooms.contributors,
                     messages.reminder(members, self.config.remind_after, batch.created_at, self.question_url))]
        return [
            (key, self._rooms.contributors, messages.final_notice(members, self.config.window, self.question_url)),
            (f"{key}:moderators", self._rooms.moderators,
             messages.final_ping(members, self.config.window, self._moderator_pings, self.question_url)),
        ]

    def question_url(self, question: TrackedQuestion) -> str:
        return self._kitsune.question_url(question.locale, question.id)

    # ---- what the commands ask ----------------------------------------------------------------------

    def now(self) -> datetime:
        return self._clock.now()

    async def view(self, which: QuestionFilter, limit: int) -> QuestionsView:
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


async def _first(answers: AsyncIterable[Answer], asker: str | None) -> Answer | None:
    async for answer in answers:  # oldest first, as Kitsune sends them
        if is_helper_answer(answer, asker):
            return answer
    return None

