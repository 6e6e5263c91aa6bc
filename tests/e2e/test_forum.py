"""Consults on Discourse end to end: a real Synapse, the bot as a process, a fake Discourse."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from bot.matrix.events import event_content_key
from tests.e2e.harness import ask_until, body, open_consult
from tests.fakes.discourse import FakeDiscourse

TWEET = "https://x.com/someone/status/1861234567890"
KEY, USER, CATEGORY = "e2e-forum-key", "fxhelp-bot", 7


@pytest.fixture
async def forum() -> AsyncIterator[FakeDiscourse]:
    async with FakeDiscourse(api_key=KEY, api_username=USER, category_id=CATEGORY) as fake:
        yield fake


def forum_section(forum: FakeDiscourse) -> dict[str, Any]:
    return {"base_url": forum.url, "api_key": KEY, "api_username": USER, "category_id": CATEGORY, "poll": "1s"}




async def test_a_consult_topic_is_created_once_after_a_429_and_a_reply_answers_it(cast, rooms, bot_factory, forum):
    forum.rate_limit_next(wait_seconds=1)
    bot = await bot_factory(rooms, forum=forum_section(forum))
    room = rooms.contributors
    assert "you are alice_f on forum" in body(await cast.alice.ask(room, "!iam forum alice_f"))
    assert "you are eve_f on forum" in body(await cast.eve.ask(room, "!iam forum eve_f"))

    number, root = await open_consult(cast.alice, room, TWEET, "how do we answer a question about sync?")
    link = (await cast.alice.wait_for(lambda r, e: r == room and event_content_key(e) == f"forum:{number}:topic",
                                      timeout=15))[0]
    topic = forum.only_topic()
    assert forum.create_attempts == 2  # the 429, then the topic
    assert link["content"]["m.relates_to"]["event_id"] == root
    assert f"/t/{topic.slug}/{topic.id}" in body(link)
    assert "@alice_f asks" in topic.posts[0].raw and TWEET in topic.posts[0].raw

    forum.reply(topic.id, "alice_f", "More context: it is about sync")  # the requester: not an answer
    await bot.wait_for_polls("forum", 2)  # polls that read the requester's reply
    assert "answered by" not in body(await cast.alice.ask(room, "!consults all"))
    forum.reply(topic.id, "eve_f", "Point them to the sync article")
    await ask_until(cast.alice, room, "!consults all", f"answered by {cast.eve.user_id}")

    await bot.wait_for_polls("forum", 2)
    await bot.wait_for_ticks(2)
    await cast.alice.caught_up(room)
    assert len(forum.topics) == 1 and forum.create_attempts == 2
    notes = cast.alice.matching(lambda r, e: r == room and (event_content_key(e) or "").startswith("forum:"))
    assert len(notes) == 1


async def test_a_refused_topic_is_explained_in_the_thread(cast, rooms, bot_factory, forum):
    await bot_factory(rooms, forum={**forum_section(forum), "category_id": 99})
    number, root = await open_consult(cast.alice, rooms.contributors, TWEET, "is the pdf editor gone for everyone?")

    note = (await cast.alice.wait_for(
        lambda r, e: r == rooms.contributors and event_content_key(e) == f"forum:{number}:refused", timeout=15))[0]
    assert note["content"]["m.relates_to"]["event_id"] == root
    assert "Category can't be blank" in body(note)


def thread_note(cast, room, number, what):
    return cast.alice.wait_for(lambda r, e: r == room and event_content_key(e) == f"forum:{number}:{what}", timeout=15)


async def test_a_topic_held_for_review_is_told_once_never_posted_again_and_linked_once_approved(
        cast, rooms, bot_factory, forum):
    forum.hold_new_topics_for_review()
    bot = await bot_factory(rooms, forum=forum_section(forum))
    room = rooms.contributors
    number, root = await open_consult(cast.alice, room, TWEET, "is the new sidebar on by default for everyone?")

    held = (await thread_note(cast, room, number, "held"))[0]
    assert held["content"]["m.relates_to"]["event_id"] == root
    assert "holds the topic" in body(held) and "won't post it again" in body(held)
    await bot.wait_for_polls("forum", 3)  # several polls: nothing is posted again
    assert forum.create_attempts == 1 and len(forum.pending) == 1

    topic = forum.approve(next(iter(forum.pending)))
    link = (await thread_note(cast, room, number, "topic"))[0]
    assert f"/t/{topic.slug}/{topic.id}" in body(link)
    forum.reply(topic.id, "helper_f", "It is, for new profiles")
    await ask_until(cast.alice, room, "!consults all", "answered by helper_f (forum)")
    assert forum.create_attempts == 1


async def test_a_refused_forum_key_is_told_once_shown_on_healthz_and_not_retried_every_tick(
        cast, rooms, bot_factory, forum):
    bot = await bot_factory(rooms, forum={**forum_section(forum), "api_key": "not-the-forum-key"})
    room = rooms.contributors
    number, _ = await open_consult(cast.alice, room, TWEET, "why does the pdf editor not save my signature?")

    note = body((await thread_note(cast, room, number, "locked-out"))[0])
    assert "the forum refuses the bot's API key or username (HTTP 403)" in note and "forum.api_key" in note
    async with aiohttp.ClientSession() as session, session.get(bot.health_url) as resp:
        assert resp.status == 200  # the forum's trouble, not the bot's: a warning
        health = await resp.json()
    assert health["status"] == "warning" and health["problems"] == []
    assert any("refuses the bot's API key" in warning for warning in health["warnings"])
    requests = len(forum.requests)
    await bot.wait_for_polls("forum", 3, outcome="paused")  # several forum polls, each at a scheduler tick
    assert len(forum.requests) == requests
    assert bot.log_text().count("refuses the bot's API key or username") == 1
