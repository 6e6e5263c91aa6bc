"""The Discourse client against a local fake that answers the way Discourse does."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.demo.local_synapse import free_port
from bot.services.discourse import (
    CreatedTopic,
    DiscourseClient,
    DiscourseRateLimited,
    DiscourseRefused,
    DiscourseUnavailable,
    HeldForReview,
)
from tests.fakes.discourse import FakeDiscourse

KEY, USER, CATEGORY = "s3cret-key", "fxhelp-bot", 7
TITLE = "#fxhelp consult 1: how do we answer this?"
RAW = "A contributor asks how to answer https://x.com/a/status/1"


@pytest.fixture
async def forum() -> AsyncIterator[FakeDiscourse]:
    async with FakeDiscourse(api_key=KEY, api_username=USER, category_id=CATEGORY) as fake:
        yield fake


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as http:
        yield http


def client_for(forum: FakeDiscourse, session: aiohttp.ClientSession, *, key: str = KEY,
               timeout: float = 2.0) -> DiscourseClient:
    return DiscourseClient(session, forum.url, key, USER, timeout=timeout)


async def create(client: DiscourseClient, external_id: str = "fxhelp-consult-1", category: int = CATEGORY):
    return await client.create_topic(title=TITLE, raw=RAW, category_id=category, external_id=external_id)


async def test_a_topic_is_created_in_the_category(forum: FakeDiscourse, session: aiohttp.ClientSession) -> None:
    created = await create(client_for(forum, session))

    topic = forum.only_topic()
    assert created.topic_id == topic.id and created.slug == topic.slug
    assert (topic.title, topic.category_id, topic.external_id) == (TITLE, CATEGORY, "fxhelp-consult-1")
    assert client_for(forum, session).topic_url(topic.id, topic.slug) == f"{forum.url}/t/{topic.slug}/{topic.id}"


async def test_a_429_says_how_long_to_wait(forum: FakeDiscourse, session: aiohttp.ClientSession) -> None:
    forum.rate_limit_next(wait_seconds=12)

    with pytest.raises(DiscourseRateLimited) as caught:
        await create(client_for(forum, session))

    assert caught.value.wait_seconds == 12
    assert forum.topics == {}


async def test_errors_are_explained(forum: FakeDiscourse, session: aiohttp.ClientSession) -> None:
    with pytest.raises(DiscourseRefused) as caught:
        await create(client_for(forum, session), category=99)

    assert caught.value.status == 422
    assert caught.value.explanation == "the forum refused: Category can't be blank"


async def test_a_wrong_key_is_explained(forum: FakeDiscourse, session: aiohttp.ClientSession) -> None:
    with pytest.raises(DiscourseRefused) as caught:
        await create(client_for(forum, session, key="wrong"))

    assert caught.value.status == 403 and caught.value.error_type == "invalid_access"
    assert "API username or key is invalid" in caught.value.explanation


async def test_a_server_error_leaves_a_create_in_doubt(forum: FakeDiscourse, session: aiohttp.ClientSession) -> None:
    forum.down()
    client = client_for(forum, session)

    with pytest.raises(DiscourseUnavailable) as on_create:
        await create(client)
    with pytest.raises(DiscourseUnavailable) as on_read:
        await client.topic(1)

    assert on_create.value.outcome_unknown and not on_read.value.outcome_unknown
    assert "HTTP 502" in on_create.value.explanation


async def test_a_lost_answer_leaves_a_create_in_doubt(forum: FakeDiscourse, session: aiohttp.ClientSession) -> None:
    forum.lose_next_response(delay=2)
    client = client_for(forum, session, timeout=0.3)

    with pytest.raises(DiscourseUnavailable) as caught:
        await create(client)

    assert caught.value.outcome_unknown
    found = await client.topic_by_external_id("fxhelp-consult-1")
    assert found is not None and found.id == forum.only_topic().id


async def test_an_unreachable_forum_did_nothing(session: aiohttp.ClientSession) -> None:
    client = DiscourseClient(session, f"http://127.0.0.1:{free_port()}", KEY, USER, timeout=1)

    with pytest.raises(DiscourseUnavailable) as caught:
        await create(client)

    assert not caught.value.outcome_unknown


async def test_a_topic_by_external_id(forum: FakeDiscourse, session: aiohttp.ClientSession) -> None:
    client = client_for(forum, session)
    assert await client.topic_by_external_id("fxhelp-consult-1") is None

    created = await create(client)

    found = await client.topic_by_external_id("fxhelp-consult-1")
    assert found is not None and found.id == created.topic_id and found.title == TITLE


async def test_a_topic_holds_its_first_chunk_of_posts(forum: FakeDiscourse, session: aiohttp.ClientSession) -> None:
    client = client_for(forum, session)
    created = await create(client)
    for n in range(25):
        forum.reply(created.topic_id, f"user{n}")
    forum.reply(created.topic_id, "system", post_type=3)

    topic = await client.topic(created.topic_id)

    assert len(topic.posts) == 20 and topic.highest_post_number == 27
    assert topic.posts[0].username == USER and topic.posts[0].post_number == 1
    assert topic.posts[1].username == "user0" and topic.posts[1].is_regular
    assert topic.posts[1].created_at.tzinfo is not None


async def test_every_post_of_a_long_topic_is_read_in_order(forum: FakeDiscourse, session: aiohttp.ClientSession) -> None:
    client = client_for(forum, session)
    created = await create(client)
    for n in range(45):
        forum.reply(created.topic_id, f"user{n}")

    posts = [post async for post in client.posts(created.topic_id)]

    assert [post.post_number for post in posts] == list(range(1, 47))
    assert forum.requests.count(("GET", f"/t/{created.topic_id}/posts.json")) == 2  # two more chunks of 20


async def test_reading_stops_where_the_caller_stops(forum: FakeDiscourse, session: aiohttp.ClientSession) -> None:
    client = client_for(forum, session)
    created = await create(client)
    for n in range(45):
        forum.reply(created.topic_id, f"user{n}")

    async for post in client.posts(created.topic_id):
        if post.username == "user3":
            break

    assert ("GET", f"/t/{created.topic_id}/posts.json") not in forum.requests


async def test_a_post_held_for_review_has_no_topic(forum: FakeDiscourse, session: aiohttp.ClientSession) -> None:
    forum.hold_new_topics_for_review()
    client = client_for(forum, session)

    outcome = await create(client)

    [held_id] = forum.pending
    assert outcome == HeldForReview(pending_post_id=held_id, pending_count=1)
    assert forum.topics == {}
    assert [(p.id, p.title) for p in await client.pending_posts()] == [(held_id, TITLE)]
    assert await client.topic_by_external_id("fxhelp-consult-1") is None

    topic = forum.approve(held_id)
    assert await client.pending_posts() == []
    [ours] = await client.topics_created_by_us()
    assert (ours.id, ours.title, ours.slug) == (topic.id, TITLE, topic.slug) and ours.created_at is not None
    assert await client.topic_by_external_id("fxhelp-consult-1") is None  # approved posts lose it


async def test_the_same_create_within_two_minutes_gets_the_same_answer(
        session: aiohttp.ClientSession) -> None:
    async with FakeDiscourse(api_key=KEY, api_username=USER, category_id=CATEGORY) as forum:
        client = client_for(forum, session)
        first = await create(client)
        again = await create(client)

    assert isinstance(first, CreatedTopic) and again == first
    assert len(forum.topics) == 1


async def test_whether_the_key_works(forum: FakeDiscourse, session: aiohttp.ClientSession) -> None:
    assert await client_for(forum, session).credentials_work() is True
    assert await client_for(forum, session, key="wrong").credentials_work() is False
    forum.down()
    with pytest.raises(DiscourseUnavailable):
        await client_for(forum, session).credentials_work()
