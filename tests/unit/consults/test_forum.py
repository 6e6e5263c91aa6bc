"""Consult topics on Discourse: created once through the scheduler, replies counted as answers."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest

from bot.clock import FakeClock
from bot.config import ForumConfig
from bot.features.consults.forum import KIND, ForumConsults, is_answer, next_stage, topic_title
from bot.features.consults.tweet_links import read_consult_link
from bot.ops.metrics import Metrics
from bot.services.discourse import DiscourseClient, ForumPost
from bot.storage.consults import Consult
from bot.storage.forum_topics import TopicState
from bot.storage.identities import Service
from tests.fakes.discourse import FakeDiscourse
from tests.unit.consults.world import ALICE, EVE, HOURS, TWEET, World, build_world

KEY, USER, CATEGORY = "forum-key", "fxhelp-bot", 7
CONFIG = ForumConfig(base_url="http://unused", api_key=KEY, api_username=USER, category_id=CATEGORY, poll="5m")


@dataclass
class ForumWorld:
    world: World
    forum: FakeDiscourse
    service: ForumConsults
    metrics: Metrics

    async def open_consult(self, thoughts: str = "How do we answer a question about sync?") -> Consult:
        opened = await self.world.service.open(ALICE, f"${uuid.uuid4().hex}", read_consult_link(TWEET), thoughts)
        return opened.consult

    async def tick(self, after: timedelta = timedelta(0)) -> None:
        self.world.clock.advance(after)
        await self.world.scheduler.tick()

    def thread_notes(self, consult: Consult) -> list[str]:
        return [s.text for s in self.world.sender.sent if s.key and s.key.startswith(f"forum:{consult.id}:")
                and s.thread_root == consult.thread_event_id]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def forum(clock: FakeClock) -> AsyncIterator[FakeDiscourse]:
    async with FakeDiscourse(api_key=KEY, api_username=USER, category_id=CATEGORY, clock=clock.now) as fake:
        yield fake


@pytest.fixture
async def fw(tmp_path: Path, forum: FakeDiscourse, clock: FakeClock) -> AsyncIterator[ForumWorld]:
    async with aiohttp.ClientSession() as session:
        # The forum wired by the world as bot.app wires it, except the poll on every scheduler tick:
        # these tests call on_tick themselves, to decide when the forum is read and count its requests.
        world = await build_world(tmp_path / "forum.db", clock, forum=CONFIG, tick_jobs=False,
                                  discourse=DiscourseClient(session, forum.url, KEY, USER, timeout=0.5))
        service = world.bot.features.forum
        assert service is not None
        yield ForumWorld(world, forum, service, world.bot.metrics)
        await world.storage.close()


# ---- opening the topic --------------------------------------------------------------------------


async def test_a_consult_opens_one_topic_linked_in_its_thread(fw: ForumWorld) -> None:
    consult = await fw.open_consult()
    await fw.service.consult_opened(consult)  # a replayed command calls the listener again

    await fw.tick()
    await fw.tick(timedelta(minutes=1))

    topic = fw.forum.only_topic()
    assert topic.title == topic_title(consult) and topic.category_id == CATEGORY
    assert TWEET in topic.posts[0].raw
    [note] = fw.thread_notes(consult)
    assert f"/t/{topic.slug}/{topic.id}" in note and "also on the forum" in note


async def test_a_429_is_honoured_and_the_topic_created_once(fw: ForumWorld) -> None:
    fw.forum.rate_limit_next(wait_seconds=40)
    consult = await fw.open_consult()

    await fw.tick()
    assert fw.forum.topics == {} and fw.forum.create_attempts == 1
    await fw.tick(timedelta(seconds=30))
    assert fw.forum.create_attempts == 1  # Retry-After is 40 s
    await fw.tick(timedelta(seconds=10))

    assert fw.forum.create_attempts == 2
    assert len(fw.forum.topics) == 1
    assert len(fw.thread_notes(consult)) == 1  # a rate limit is a delay, not news


async def test_a_lost_answer_is_looked_up_before_trying_again(fw: ForumWorld) -> None:
    fw.forum.lose_next_response(delay=2)
    consult = await fw.open_consult()

    await fw.tick()
    row = await fw.world.storage.forum_topics.get(consult.id)
    assert row is not None and row.state is TopicState.PENDING and row.in_doubt
    await fw.tick(timedelta(minutes=1))

    assert fw.forum.create_attempts == 1
    assert len(fw.forum.topics) == 1
    row = await fw.world.storage.forum_topics.get(consult.id)
    assert row is not None and row.state is TopicState.CREATED and row.topic_id == fw.forum.only_topic().id
    assert ("GET", f"/t/external_id/{row.external_id}.json") in fw.forum.requests


async def test_a_forum_that_is_down_delays_the_topic_and_says_so_once(fw: ForumWorld) -> None:
    fw.forum.down()
    consult = await fw.open_consult()

    for _ in range(4):
        await fw.tick(timedelta(minutes=30))
    assert fw.forum.topics == {}
    notes = fw.thread_notes(consult)
    assert len(notes) == 1 and "delayed" in notes[0] and "HTTP 502" in notes[0]

    fw.forum.up()
    await fw.tick(timedelta(minutes=30))
    assert len(fw.forum.topics) == 1
    assert len(fw.thread_notes(consult)) == 2


async def test_a_refusal_is_explained_and_not_retried(fw: ForumWorld) -> None:
    fw.forum.fail_next(422, ("Title seems unclear, is it a complete sentence?",))
    consult = await fw.open_consult()

    await fw.tick()
    await fw.tick(timedelta(hours=1))

    assert fw.forum.create_attempts == 1
    [note] = fw.thread_notes(consult)
    assert "could not open a forum topic" in note and "Title seems unclear" in note
    assert await fw.world.storage.schedule.stages_of(KIND, consult.id) == []


async def test_created_but_not_announced_before_a_crash_is_announced(fw: ForumWorld) -> None:
    consult = await fw.open_consult()
    await fw.world.storage.forum_topics.created(consult.id, 55, "https://forum.example/t/x/55", fw.world.clock.now())

    await fw.tick()

    assert fw.forum.create_attempts == 0
    assert any("https://forum.example/t/x/55" in note for note in fw.thread_notes(consult))


async def test_a_topic_held_for_review_is_posted_once_and_linked_when_approved(fw: ForumWorld) -> None:
    fw.forum.hold_new_topics_for_review()
    consult = await fw.open_consult()

    await fw.tick()
    for _ in range(6):  # well past Discourse's 120-second memo of an API create
        await fw.tick(timedelta(minutes=5))
        await fw.service.on_tick()

    assert fw.forum.create_attempts == 1 and len(fw.forum.pending) == 1 and fw.forum.topics == {}
    [note] = fw.thread_notes(consult)
    assert note == (f"The forum holds the topic for consult #{consult.id} for its moderators' review. I won't post "
                    "it again; once it is approved I link it here.")
    row = await fw.world.storage.forum_topics.get(consult.id)
    assert row is not None and row.held and row.held_post_id == next(iter(fw.forum.pending))

    topic = fw.forum.approve(row.held_post_id)
    assert topic.external_id is None  # as Discourse does: a held post keeps no external_id
    fw.world.clock.advance(timedelta(minutes=5))
    await fw.service.on_tick()

    row = await fw.world.storage.forum_topics.get(consult.id)
    assert row is not None and row.state is TopicState.CREATED and row.topic_id == topic.id
    assert f"/t/{topic.slug}/{topic.id}" in fw.thread_notes(consult)[-1]
    fw.forum.reply(topic.id, "helper")
    fw.world.clock.advance(timedelta(minutes=5))
    await fw.service.on_tick()
    stored = await fw.world.storage.consults.get(consult.id)
    assert stored is not None and stored.first_answer_by == "helper (forum)"
    assert fw.forum.create_attempts == 1


async def test_a_topic_the_review_rejects_is_explained_once(fw: ForumWorld) -> None:
    fw.forum.hold_new_topics_for_review()
    consult = await fw.open_consult()
    await fw.tick()
    fw.forum.reject(next(iter(fw.forum.pending)))

    for _ in range(4):
        fw.world.clock.advance(timedelta(minutes=5))
        await fw.service.on_tick()

    notes = fw.thread_notes(consult)
    assert len(notes) == 2 and "could not open a forum topic" in notes[1]
    assert "review on the forum did not let it through" in notes[1]
    row = await fw.world.storage.forum_topics.get(consult.id)
    assert row is not None and row.state is TopicState.REFUSED
    assert fw.forum.create_attempts == 1


async def test_a_lost_answer_to_a_held_post_finds_it_in_the_queue(fw: ForumWorld) -> None:
    fw.forum.hold_new_topics_for_review()
    fw.forum.lose_next_response(delay=2)
    consult = await fw.open_consult()

    await fw.tick()
    await fw.tick(timedelta(minutes=5))  # past the memo: a second create would be a second post

    assert fw.forum.create_attempts == 1 and len(fw.forum.pending) == 1
    row = await fw.world.storage.forum_topics.get(consult.id)
    assert row is not None and row.held


async def test_a_refused_key_pauses_the_forum_logs_once_tells_each_thread_once(fw: ForumWorld, caplog) -> None:
    caplog.set_level(logging.INFO, logger="bot.features.consults.forum")
    fw.forum.api_key = "rotated-on-the-forum"  # the bot's key is no longer accepted
    consult = await fw.open_consult()
    other = await fw.open_consult("Where did the PDF editor go after the update?")

    for _ in range(10):  # five minutes of ticks every 30 s
        await fw.tick(timedelta(seconds=30))
        await fw.service.on_tick()

    assert fw.forum.requests.count(("POST", "/posts.json")) == 1  # the first consult's; then paused
    assert len([r for r in caplog.records if "refuses the bot's API key" in r.message]) == 1
    for one in (consult, other):
        [note] = fw.thread_notes(one)
        assert "the forum refuses the bot's API key or username (HTTP 403)" in note and "forum.api_key" in note
    [problem] = fw.service.health_problems()
    assert "refuses the bot's API key" in problem
    requests_while_paused = len(fw.forum.requests)
    await fw.tick(timedelta(minutes=20))
    assert len(fw.forum.requests) == requests_while_paused  # nothing asked before the hourly check

    fw.forum.api_key = KEY  # fixed on the forum
    await fw.tick(timedelta(hours=1))
    await fw.tick(timedelta(seconds=30))

    assert len(fw.forum.topics) == 2
    assert fw.service.health_problems() == []
    assert any("accepts the bot's API key again" in r.message for r in caplog.records)
    assert len(fw.thread_notes(consult)) == 2 and "also on the forum" in fw.thread_notes(consult)[1]


async def test_a_key_refused_while_watching_pauses_without_forgetting_the_topics(fw: ForumWorld) -> None:
    consult, topic_id = await created_topic(fw)
    fw.forum.api_key = "rotated-on-the-forum"

    fw.world.clock.advance(timedelta(minutes=5))
    await fw.service.on_tick()
    assert len(fw.service.health_problems()) == 1
    assert len(await fw.world.storage.forum_topics.watched(fw.world.clock.now())) == 1  # still watched

    fw.forum.api_key = KEY
    fw.forum.reply(topic_id, "helper")
    fw.world.clock.advance(timedelta(hours=1))
    await fw.service.on_tick()
    stored = await fw.world.storage.consults.get(consult.id)
    assert stored is not None and stored.first_answer_by == "helper (forum)"


def test_each_retry_is_a_new_stage() -> None:
    assert next_stage("create") == "retry-1"
    assert next_stage("retry-1") == "retry-2"


# ---- replies as answers ------------------------------------------------------------------------------


async def created_topic(fw: ForumWorld,
                        thoughts: str = "How do we answer a question about sync?") -> tuple[Consult, int]:
    consult = await fw.open_consult(thoughts)
    await fw.tick()
    row = await fw.world.storage.forum_topics.get(consult.id)
    assert row is not None and row.topic_id is not None
    return consult, row.topic_id


async def test_the_requesters_own_reply_does_not_count(fw: ForumWorld) -> None:
    await fw.world.storage.identities.link(ALICE, Service.FORUM, "alice_f", fw.world.clock.now())
    consult, topic_id = await created_topic(fw)
    fw.forum.reply(topic_id, "Alice_F", "More context: it is about sync")
    fw.forum.reply(topic_id, USER, "A note from the bot account")

    await fw.service.on_tick()

    stored = await fw.world.storage.consults.get(consult.id)
    assert stored is not None and not stored.answered


async def test_a_helpers_reply_answers_the_consult(fw: ForumWorld) -> None:
    await fw.world.storage.identities.link(EVE, Service.FORUM, "eve_f", fw.world.clock.now())
    consult, topic_id = await created_topic(fw)
    fw.forum.reply(topic_id, "eve_f", "Point them to the sync article")

    await fw.service.on_tick()

    stored = await fw.world.storage.consults.get(consult.id)
    assert stored is not None and stored.answered and stored.first_answer_by == EVE


async def test_an_unlinked_helper_is_named_by_forum_name(fw: ForumWorld) -> None:
    consult, topic_id = await created_topic(fw)
    fw.forum.reply(topic_id, "stranger", "Try this")

    await fw.service.on_tick()

    stored = await fw.world.storage.consults.get(consult.id)
    assert stored is not None and stored.first_answer_by == "stranger (forum)"


async def test_topics_are_read_once_per_poll_and_not_after_an_answer(fw: ForumWorld) -> None:
    consult, topic_id = await created_topic(fw)
    reads = lambda: sum(1 for method, path in fw.forum.requests if path.startswith(f"/t/{topic_id}"))  # noqa: E731

    await fw.service.on_tick()
    await fw.service.on_tick()
    assert reads() == 1

    await fw.world.service.record_answer(consult.id, EVE, fw.world.clock.now())  # answered in the thread
    fw.world.clock.advance(timedelta(minutes=5))
    await fw.service.on_tick()
    assert reads() == 1


def test_an_answer_is_a_reply_by_someone_else_not_the_opening_post_or_an_action() -> None:
    from datetime import UTC, datetime

    at = datetime(2026, 1, 1, tzinfo=UTC)
    posts = [ForumPost(1, 1, "fxhelp-bot", at, True), ForumPost(2, 2, "closer", at, False),
             ForumPost(3, 3, "Alice", at, True), ForumPost(4, 4, "helper", at + HOURS, True)]
    assert [p.id for p in posts if is_answer(p, ["fxhelp-bot", "alice"])] == [4]
    assert [p.id for p in posts if is_answer(p, ["fxhelp-bot", None])] == [3, 4]
    assert not is_answer(ForumPost(5, 1, "someone", at, True), [])  # the opening post


async def test_a_reply_past_the_first_chunk_of_posts_answers_the_consult(fw: ForumWorld) -> None:
    await fw.world.storage.identities.link(ALICE, Service.FORUM, "alice_f", fw.world.clock.now())
    consult, topic_id = await created_topic(fw)
    for n in range(30):
        fw.forum.reply(topic_id, "alice_f", f"more context, part {n}")  # the requester's own posts
    fw.forum.reply(topic_id, "helper", "Point them to the sync article")  # post 32

    await fw.service.on_tick()

    stored = await fw.world.storage.consults.get(consult.id)
    assert stored is not None and stored.first_answer_by == "helper (forum)"
    assert ("GET", f"/t/{topic_id}/posts.json") in fw.forum.requests


async def test_a_deleted_topic_is_no_longer_watched(fw: ForumWorld) -> None:
    consult, topic_id = await created_topic(fw)
    other, other_topic_id = await created_topic(fw, "Where did the PDF editor go after the update?")
    del fw.forum.topics[topic_id]
    fw.forum.reply(other_topic_id, "helper")

    await fw.service.on_tick()

    assert await fw.world.storage.forum_topics.watched(fw.world.clock.now()) == []
    stored = await fw.world.storage.consults.get(other.id)
    assert stored is not None and stored.first_answer_by == "helper (forum)"


async def test_consult_text_reaches_the_forum_as_text_not_as_markdown(fw: ForumWorld) -> None:
    # Discourse renders a post's raw as markdown: mentions, images, links and HTML must arrive inert.
    typed = "@everyone look ![tracker](https://evil.example/p.png) **now** <b>hi</b> [x](https://evil.example) :fire:"
    consult = await fw.open_consult(typed)

    await fw.tick()

    raw = fw.forum.only_topic().posts[0].raw
    quoted = next(line for line in raw.splitlines() if "everyone" in line)
    assert quoted == ("> @\u2060everyone look \\!\\[tracker\\]\\(https\\://evil\\.example/p\\.png\\) \\*\\*now\\*\\* "
                      "\\<b\\>hi\\</b\\> \\[x\\]\\(https\\://evil\\.example\\) \\:fire\\:")
    assert consult.thoughts == typed  # stored as typed; escaped only for the forum


def polls(fw: ForumWorld, outcome: str) -> float | None:
    return fw.metrics.registry.get_sample_value("fxhelp_forum_polls_total", {"outcome": outcome})


async def test_each_poll_that_ended_is_counted_by_outcome_and_a_tick_between_polls_is_not(fw: ForumWorld) -> None:
    consult, topic_id = await created_topic(fw)
    assert (polls(fw, "ok"), polls(fw, "failed"), polls(fw, "paused")) == (0, 0, 0)

    await fw.service.on_tick()
    await fw.service.on_tick()  # the next poll is 5 minutes later
    assert polls(fw, "ok") == 1

    fw.forum.down()
    fw.world.clock.advance(timedelta(minutes=5))
    await fw.service.on_tick()
    assert (polls(fw, "ok"), polls(fw, "failed")) == (1, 1)

    fw.forum.up()
    fw.forum.api_key = "rotated-on-the-forum"
    fw.world.clock.advance(timedelta(minutes=5))
    await fw.service.on_tick()  # finds the key refused: paused from here on
    fw.world.clock.advance(timedelta(minutes=5))
    await fw.service.on_tick()
    assert (polls(fw, "ok"), polls(fw, "failed"), polls(fw, "paused")) == (1, 1, 2)
    stored = await fw.world.storage.consults.get(consult.id)
    assert stored is not None and not stored.answered and topic_id
