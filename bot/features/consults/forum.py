"""Consults on Discourse: each consult also gets a forum topic, and a reply there counts as an answer.

Opening a topic is a scheduler item (kind ``forum_topic``) written together with the topic's row, so a
forum that is down delays the topic and never loses it. Each try is a new stage (``create``,
``retry-1``, ``retry-2`` …) planned for when the forum asks us to come back (429: ``Retry-After``)
or after a growing pause (outages); the scheduler deletes only the stage it ran.

A topic is created once. Every create carries an ``external_id`` derived from the consult; before a
create is retried after an attempt whose outcome is unknown (a timeout, a dropped connection, a 5xx, a
crash mid-request), the forum is asked for that external ID first, and a topic found there is adopted
(and for a post of ours held for review with the same title).

Discourse may hold the new topic for its moderators' review (200 ``{"action": "enqueued"}``, no
topic): that is recorded, the consult's thread is told once, and nothing is posted again — a second
post would only pile up in the review queue. The poller then watches our pending posts; once ours
has left the queue, it looks for the topic among our latest topics by its title (an approved post
loses its ``external_id``), links it in the thread, or says the review did not let it through.

A key or username the forum refuses (403 on the create and on the look-ups, confirmed by
``/session/current.json``) is not retried every tick: the forum side pauses, the problem is logged
once and shown on /healthz, each waiting consult's thread is told once, and the key is tried again
once an hour (it may be fixed on the forum, without touching the bot).

A poller (on the scheduler's tick, every ``forum.poll``) reads each watched topic's posts in order,
every chunk, until the first reply by anyone but the bot's forum user and the requester's forum
user (``!iam forum``); that reply goes to ``ConsultService.record_answer``.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from bot.clock import Clock, format_duration, format_utc
from bot.config import ForumConfig
from bot.logging_setup import FailureEpisodes
from bot.matrix.rendering import Fragment, link
from bot.matrix.sender import Sends
from bot.ops.metrics import Metrics
from bot.services.discourse import (
    CreatedTopic,
    DiscourseClient,
    DiscourseError,
    DiscourseRateLimited,
    DiscourseRefused,
    DiscourseUnavailable,
    ForumPost,
    HeldForReview,
    TopicSummary,
)
from bot.storage import Storage
from bot.storage.consults import Consult
from bot.storage.forum_topics import ForumTopicRow, ForumTopics, NewTopic, TopicState
from bot.storage.identities import Identities, Service
from bot.storage.schedule import DueWork
from bot.text import shortened

log = logging.getLogger(__name__)

KIND = "forum_topic"
FIRST_TRY = "create"
FIRST_PAUSE = timedelta(seconds=30)
LONGEST_PAUSE = timedelta(minutes=30)
TITLE_WORDS_LENGTH = 90
CREDENTIALS_RECHECK = timedelta(hours=1)
# An approved topic is created after the request; allow for the two clocks disagreeing a little.
CLOCK_SKEW = timedelta(minutes=10)
NOT_APPROVED = "its review on the forum did not let it through (or its title no longer names the consult)"


class AnswerRecorder(Protocol):
    async def record_answer(self, consult_id: int, answered_by: str, at: datetime) -> bool: ...


def external_id_for(consult: Consult) -> str:
    """Unique per consult across bots and databases (the command's event ID is globally unique)."""
    digest = hashlib.sha256(consult.command_event_id.encode()).hexdigest()[:12]
    return f"fxhelp-consult-{consult.id}-{digest}"


def topic_title(consult: Consult) -> str:
    return f"#fxhelp consult {consult.id}: {shortened(consult.thoughts, TITLE_WORDS_LENGTH, one_line=True)}"


# Discourse renders a post as markdown (CommonMark, plus @mentions, :emoji: and HTML): what a
# contributor typed is shown as typed, so every markdown punctuation is backslash-escaped, and "@"
# gets a word joiner after it (no mention pattern matches across it; an escape would not stop one).
_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_{}\[\]()#+\-.!<>|~:&])")


def forum_text(text: str) -> str:
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", text).replace("@", "@\u2060")


def topic_body(consult: Consult, requester_forum_name: str | None) -> str:
    asked_by = f"@{requester_forum_name}" if requester_forum_name else "A Social Support contributor"
    quoted = "\n".join(f"> {forum_text(line)}" for line in consult.thoughts.splitlines() or [""])
    return (f"{asked_by} asks how to answer this post:\n\n{consult.tweet_url}\n\n{quoted}\n\n"
            f"Reply here with your suggestion. The first reply by someone other than the requester counts as the "
            f"consult's answer; its window closes {format_utc(consult.window_closes_at)}.")


def is_answer(post: ForumPost, excluded_usernames: Iterable[str | None]) -> bool:
    """A reply (not the opening post, not a moderator action) by a person who is not excluded."""
    excluded = {name.casefold() for name in excluded_usernames if name}
    return post.post_number > 1 and post.is_regular and post.username.casefold() not in excluded


def names_consult(summary: TopicSummary, topic: ForumTopicRow) -> bool:
    """Whether one of our topics is this consult's: its title names the consult, and it was made after
    the request (a database started afresh numbers its consults from 1 again)."""
    made_after = summary.created_at is None or summary.created_at >= topic.requested_at - CLOCK_SKEW
    return f"consult {topic.consult_id}:" in summary.title.casefold() and made_after


def next_stage(stage: str) -> str:
    """The stage name of the next try: always new, so the scheduler's deletion of the current one
    cannot take the next with it."""
    number = int(stage.removeprefix("retry-")) if stage.startswith("retry-") else 0
    return f"retry-{number + 1}"


def pause_after(attempts: int) -> timedelta:
    return min(FIRST_PAUSE * 2 ** max(0, attempts - 1), LONGEST_PAUSE)


@dataclass
class _Lockout:
    """The forum refuses our key or username: nothing is asked until ``next_check``."""

    since: datetime
    next_check: datetime
    explanation: str


class _LockedOut(Exception):
    """Raised inside a forum operation when the credentials turn out to be refused."""


class ForumConsults:
    def __init__(self, config: ForumConfig, client: DiscourseClient, storage: Storage, answers: AnswerRecorder,
                 sender: Sends, clock: Clock, window: timedelta, *, metrics: Metrics) -> None:
        self._config = config
        self._client = client
        self._storage = storage
        self._topics: ForumTopics = storage.forum_topics
        self._identities: Identities = storage.identities
        self._answers = answers
        self._sender = sender
        self._clock = clock
        self._window = window
        self._polls = metrics.forum_polls
        self._next_poll_at: datetime | None = None
        self._poll_failures = FailureEpisodes()
        self._lockout: _Lockout | None = None
        self._left_the_queue: set[int] = set()  # held topics not in the queue at the last poll

    # ---- opening a topic --------------------------------------------------------------------

    async def consult_opened(self, consult: Consult) -> None:
        """The consults service's listener: record the topic to open and plan its first try."""
        requester_name = await self._identities.username(consult.requester, Service.FORUM)
        now = self._clock.now()
        new = NewTopic(
            consult_id=consult.id, external_id=external_id_for(consult), requester=consult.requester,
            room_id=consult.room_id, thread_root=consult.thread_event_id, title=topic_title(consult),
            raw=topic_body(consult, requester_name), requested_at=now,
            watch_until=consult.window_closes_at + self._window,
        )
        async with self._storage.db.transaction():
            if await self._topics.add(new):
                await self._storage.schedule.plan(KIND, consult.id, FIRST_TRY, now)

    async def handle_due(self, work: DueWork) -> None:
        topic = await self._topics.get(int(work.item_id))
        if topic is None or topic.state is TopicState.REFUSED or topic.held:
            return  # a held topic is followed by the poller: nothing is posted again
        if topic.state is TopicState.CREATED:
            await self._announce(topic)  # created before a crash, perhaps not announced yet
            return
        try:
            await self._check_credentials_if_paused()
            outcome = await self._create_or_find(topic)
        except _LockedOut:
            assert self._lockout is not None
            await self._try_again(topic, work.stage, self._lockout.next_check - self._clock.now())
            await self._tell_thread(topic, "locked-out", f"The forum topic for consult #{topic.consult_id} waits: "
                                    f"{self._lockout.explanation}. A moderator must fix forum.api_key and "
                                    "forum.api_username (or the key on the forum); I try again every hour and open "
                                    "the topic once it works.")
            return
        except DiscourseRateLimited as limited:
            log.info("forum topic for consult #%d: rate limited, next try in %.0f s", topic.consult_id,
                     limited.wait_seconds)
            await self._try_again(topic, work.stage, timedelta(seconds=limited.wait_seconds))
            return
        except DiscourseUnavailable as trouble:
            log.warning("forum topic for consult #%d: %s; trying again later", topic.consult_id, trouble)
            await self._try_again(topic, work.stage, pause_after(topic.attempts + 1))
            await self._say_delayed(topic, trouble)
            return
        except DiscourseRefused as refused:
            await self._refuse(topic, refused.explanation)
            return
        if isinstance(outcome, HeldForReview):
            log.info("forum topic for consult #%d is held for review on the forum (pending post %s)",
                     topic.consult_id, outcome.pending_post_id)
            await self._topics.held(topic.consult_id, outcome.pending_post_id, self._clock.now())
            await self._tell_thread(topic, "held", f"The forum holds the topic for consult #{topic.consult_id} for "
                                    "its moderators' review. I won't post it again; once it is approved I link it "
                                    "here.")
            return
        await self._adopt(topic, outcome.topic_id, outcome.slug)

    async def _create_or_find(self, topic: ForumTopicRow) -> CreatedTopic | HeldForReview:
        """Create the topic, or find the one an earlier try made; a refusal that may be the key is checked."""
        try:
            return await self._create_once(topic)
        except DiscourseRefused as refused:
            await self._unless_locked_out(refused)
            found = await self._client.topic_by_external_id(topic.external_id)
            if found is None:
                raise
            return CreatedTopic(found.id, found.slug)  # an earlier try had created it after all

    async def _create_once(self, topic: ForumTopicRow) -> CreatedTopic | HeldForReview:
        if topic.in_doubt:
            found = await self._client.topic_by_external_id(topic.external_id)
            if found is not None:
                log.info("forum topic for consult #%d: found topic %d from an earlier try", topic.consult_id,
                         found.id)
                return CreatedTopic(found.id, found.slug)
            held = next((p for p in await self._client.pending_posts() if p.title == topic.title), None)
            if held is not None:
                return HeldForReview(held.id, None)
        await self._topics.attempt_starting(topic.consult_id)
        try:
            return await self._client.create_topic(title=topic.title, raw=topic.raw,
                                                   category_id=self._config.category_id,
                                                   external_id=topic.external_id)
        except DiscourseUnavailable as trouble:
            await self._topics.attempt_failed(topic.consult_id, trouble.explanation,
                                              in_doubt=trouble.outcome_unknown)
            raise
        except DiscourseError as error:
            await self._topics.attempt_failed(topic.consult_id, error.explanation, in_doubt=False)
            raise

    async def _adopt(self, topic: ForumTopicRow, topic_id: int, slug: str) -> None:
        await self._topics.created(topic.consult_id, topic_id, self._client.topic_url(topic_id, slug),
                                   self._clock.now())
        await self._announce(await self._topics.get(topic.consult_id) or topic)

    # ---- a key or username the forum refuses -------------------------------------------------------

    async def _unless_locked_out(self, refused: DiscourseRefused) -> None:
        """After a 401/403: if the forum refuses our key altogether, pause (raises _LockedOut)."""
        if not refused.may_be_the_credentials or await self._client.credentials_work():
            return
        now = self._clock.now()
        self._lockout = _Lockout(now, now + CREDENTIALS_RECHECK,
                                 f"the forum refuses the bot's API key or username (HTTP {refused.status})")
        log.error("%s: forum topics and replies are paused; fix forum.api_key / forum.api_username. The key is "
                  "tried again every %s", self._lockout.explanation, format_duration(CREDENTIALS_RECHECK))
        raise _LockedOut()

    async def _check_credentials_if_paused(self) -> None:
        """While paused, raise _LockedOut until the hourly check finds the key accepted again."""
        if self._lockout is None:
            return
        now = self._clock.now()
        if now < self._lockout.next_check:
            raise _LockedOut()
        if not await self._client.credentials_work():
            self._lockout.next_check = now + CREDENTIALS_RECHECK
            raise _LockedOut()
        log.info("the forum accepts the bot's API key again (refused since %s)", format_utc(self._lockout.since))
        self._lockout = None

    def health_problems(self) -> list[str]:
        """For /healthz: what needs an operator."""
        if self._lockout is None:
            return []
        return [f"{self._lockout.explanation} since {format_utc(self._lockout.since)}: forum topics and replies are "
                "paused; fix forum.api_key / forum.api_username (checked again every hour)"]

    async def _try_again(self, topic: ForumTopicRow, stage: str, pause: timedelta) -> None:
        pause = max(pause, timedelta(0))
        await self._storage.schedule.plan(KIND, topic.consult_id, next_stage(stage), self._clock.now() + pause)

    async def _announce(self, topic: ForumTopicRow) -> None:
        assert topic.topic_url is not None
        message = (f"📣 Consult #{topic.consult_id} is also on the forum: " + link(topic.topic_url)
                   + ". A reply there by someone other than the requester counts as an answer.")
        await self._tell_thread(topic, "topic", message)

    async def _say_delayed(self, topic: ForumTopicRow, trouble: DiscourseError) -> None:
        await self._tell_thread(topic, "delayed", f"The forum topic for consult #{topic.consult_id} is delayed: "
                                f"{trouble.explanation}. I keep trying; nothing is lost.")

    async def _refuse(self, topic: ForumTopicRow, explanation: str) -> None:
        await self._topics.refused(topic.consult_id, explanation)
        await self._tell_thread(topic, "refused", f"I could not open a forum topic for consult "
                                f"#{topic.consult_id}: {explanation}. The consult goes on here; "
                                "a moderator may want to check the forum settings.")

    async def _tell_thread(self, topic: ForumTopicRow, what: str, message: Fragment | str) -> None:
        fragment = message if isinstance(message, Fragment) else Fragment() + message
        await self._sender.send_once(f"forum:{topic.consult_id}:{what}", topic.room_id, fragment,
                                     thread_root=topic.thread_root)

    # ---- watching for replies ----------------------------------------------------------------------

    async def on_tick(self) -> None:
        now = self._clock.now()
        if self._next_poll_at is not None and now < self._next_poll_at:
            return
        self._next_poll_at = now + self._config.poll
        self._polls.labels(outcome=await self._poll(now)).inc()

    async def _poll(self, now: datetime) -> str:
        """One poll: reviews followed, watched topics read; returns its outcome (ok, failed, paused)."""
        outcome = "ok"
        try:
            await self._check_credentials_if_paused()
            await self._follow_reviews(now)
            for topic in await self._topics.watched(now):
                await self._check(topic, now)
        except _LockedOut:
            return "paused"  # logged when it began; /healthz shows it
        except DiscourseRateLimited as limited:
            self._next_poll_at = now + timedelta(seconds=limited.wait_seconds)
            outcome = "failed"
        except DiscourseError as error:
            if self._poll_failures.failed():
                log.warning("reading forum topics failed (%s); answers there are noticed later", error)
            return "failed"
        failed = self._poll_failures.recovered()
        if failed:
            log.info("reading forum topics works again after %d failed polls", failed)
        return outcome

    async def _follow_reviews(self, now: datetime) -> None:
        """For topics held for review: once ours has left the queue, find the approved topic."""
        held = await self._topics.held_for_review(now)
        if not held:
            return
        try:
            queue = await self._client.pending_posts()
        except DiscourseRefused as refused:
            await self._unless_locked_out(refused)
            raise
        waiting_ids, waiting_titles = {p.id for p in queue}, {p.title for p in queue}
        left = [t for t in held if t.held_post_id not in waiting_ids and t.title not in waiting_titles]
        if not left:
            return
        ours = await self._client.topics_created_by_us()
        for topic in left:
            found = next((summary for summary in ours if names_consult(summary, topic)), None)
            if found is not None:
                log.info("forum topic for consult #%d was approved: topic %d", topic.consult_id, found.id)
                self._left_the_queue.discard(topic.consult_id)
                await self._adopt(topic, found.id, found.slug)
            elif topic.consult_id in self._left_the_queue:  # gone from the queue at two polls running
                self._left_the_queue.discard(topic.consult_id)
                await self._refuse(topic, NOT_APPROVED)
            else:
                self._left_the_queue.add(topic.consult_id)

    async def _check(self, topic: ForumTopicRow, now: datetime) -> None:
        consult = await self._storage.consults.get(topic.consult_id)
        if consult is None or consult.answered or consult.closed or topic.topic_id is None:
            await self._topics.stop_watching(topic.consult_id, now)
            return
        requester_name = await self._identities.username(topic.requester, Service.FORUM)
        excluded = (self._client.api_username, requester_name)
        try:
            reply = None
            async for post in self._client.posts(topic.topic_id):
                if is_answer(post, excluded):
                    reply = post
                    break
        except DiscourseRefused as refused:
            await self._unless_locked_out(refused)
            # Deleted, or made private: this topic will not answer anything any more.
            log.warning("forum topic %d of consult #%d: %s; no longer watched", topic.topic_id, topic.consult_id,
                        refused)
            await self._topics.stop_watching(topic.consult_id, now)
            return
        if reply is None:
            return
        holder = await self._identities.holder_of(Service.FORUM, reply.username)
        answered_by = holder.matrix_user if holder is not None else f"{reply.username} (forum)"
        await self._answers.record_answer(topic.consult_id, answered_by, reply.created_at)
        await self._topics.answered(topic.consult_id, reply.username, reply.created_at)
