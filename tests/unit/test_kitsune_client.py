"""The Kitsune client against a local fake that answers with Kitsune's shapes."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from bot.services.kitsune import KitsuneClient, KitsuneMalformed, KitsuneUnavailable, kitsune_time
from tests.fakes.kitsune import FakeKitsune


@pytest.fixture
async def sumo() -> AsyncIterator[FakeKitsune]:
    async with FakeKitsune() as fake:
        yield fake


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as http:
        yield http


def client_for(sumo: FakeKitsune, session: aiohttp.ClientSession, **options: float) -> KitsuneClient:
    settings = {"timeout": 2.0, "backoff": 0.001, **options}
    return KitsuneClient(session, sumo.url, **settings)


def an_hour_ago() -> datetime:
    return datetime.now(UTC) - timedelta(hours=1)


async def test_questions_are_parsed_into_records(sumo: FakeKitsune, session: aiohttp.ClientSession) -> None:
    qid = sumo.add_question("Bookmarks gone after update", age=timedelta(minutes=5), asker="maria")
    sumo.answer(qid, "helper")

    [question] = await client_for(sumo, session).questions(product="firefox", locale="en-US",
                                                           created_after=an_hour_ago())

    assert question.id == qid
    assert question.title == "Bookmarks gone after update"
    assert question.asker == "maria"
    assert question.creator is not None and question.creator.display_name == "Maria"
    assert question.created.tzinfo is not None
    assert abs((datetime.now(UTC) - question.created) - timedelta(minutes=5)) < timedelta(seconds=5)
    assert question.num_answers == 1 and len(question.answer_ids) == 1
    assert question.off_the_clock is None


async def test_the_query_asks_for_live_questions_with_an_explicit_utc_offset(
        sumo: FakeKitsune, session: aiohttp.ClientSession) -> None:
    since = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)

    await client_for(sumo, session).questions(product="firefox", locale="es", created_after=since)

    [query] = sumo.requests_to("/api/2/question/")
    assert query == {"product": "firefox", "locale": "es", "is_spam": "false", "is_locked": "false",
                     "is_archived": "false", "created__gt": "2026-11-24T20:00:00+00:00", "ordering": "-created"}


def test_times_sent_to_kitsune_always_carry_an_offset() -> None:
    assert kitsune_time(datetime(2026, 11, 24, 12, 0, tzinfo=UTC)) == "2026-11-24T12:00:00+00:00"
    with pytest.raises(ValueError):
        kitsune_time(datetime(2026, 11, 24, 12, 0))


async def test_every_page_is_followed(sumo: FakeKitsune, session: aiohttp.ClientSession) -> None:
    ids = [sumo.add_question(f"question {n}", age=timedelta(minutes=n)) for n in range(45)]

    questions = await client_for(sumo, session).questions(product="firefox", locale="en-US",
                                                          created_after=an_hour_ago())

    assert [q.id for q in questions] == ids  # newest (smallest age) first
    assert len(sumo.requests_to("/api/2/question/")) == 3
    assert sumo.requests_to("/api/2/question/")[2]["page"] == "3"


async def test_spam_locked_archived_and_other_products_are_not_listed(
        sumo: FakeKitsune, session: aiohttp.ClientSession) -> None:
    keep = sumo.add_question("keep")
    for flag in ("spam", "locked", "archived"):
        sumo.flag(sumo.add_question(flag), **{flag: True})
    sumo.add_question("thunderbird", product="thunderbird")
    sumo.add_question("too old", age=timedelta(hours=2))

    questions = await client_for(sumo, session).questions(product="firefox", locale="en-US",
                                                          created_after=an_hour_ago())

    assert [q.id for q in questions] == [keep]


async def test_answers_come_oldest_first_with_their_authors(sumo: FakeKitsune, session: aiohttp.ClientSession) -> None:
    qid = sumo.add_question("q", age=timedelta(hours=3))
    late = sumo.answer(qid, "helper", age=timedelta(hours=1))
    early = sumo.answer(qid, "asker", age=timedelta(hours=2), is_spam=True)

    answers = await client_for(sumo, session).answers(qid)

    assert [a.id for a in answers] == [early, late]
    assert answers[0].creator is not None and answers[0].creator.username == "asker"
    assert answers[0].is_spam and not answers[1].is_spam
    assert sumo.requests_to("/api/2/answer/")[0] == {"question": str(qid), "ordering": "created"}


async def test_one_question_and_a_deleted_one(sumo: FakeKitsune, session: aiohttp.ClientSession) -> None:
    qid = sumo.add_question("q")
    sumo.flag(qid, spam=True)
    client = client_for(sumo, session)

    question = await client.question(qid)
    assert question is not None and question.off_the_clock == "spam"

    sumo.delete(qid)
    assert await client.question(qid) is None


async def test_a_solved_question_is_off_the_clock(sumo: FakeKitsune, session: aiohttp.ClientSession) -> None:
    qid = sumo.add_question("q")
    sumo.solve(qid, sumo.answer(qid, "helper"))

    question = await client_for(sumo, session).question(qid)

    assert question is not None and question.off_the_clock == "solved"


async def test_server_errors_are_retried(sumo: FakeKitsune, session: aiohttp.ClientSession) -> None:
    sumo.add_question("q")
    sumo.fail_next(502)
    sumo.fail_next(429)

    questions = await client_for(sumo, session, retries=2).questions(
        product="firefox", locale="en-US", created_after=an_hour_ago())

    assert len(questions) == 1
    assert len(sumo.requests_to("/api/2/question/")) == 3


async def test_retries_are_bounded(sumo: FakeKitsune, session: aiohttp.ClientSession) -> None:
    sumo.down()

    with pytest.raises(KitsuneUnavailable, match="HTTP 503"):
        await client_for(sumo, session, retries=2).answers(1)

    assert len(sumo.requests) == 3


async def test_a_slow_answer_times_out(sumo: FakeKitsune, session: aiohttp.ClientSession) -> None:
    sumo.slow_next(1.0, times=2)
    started = time.monotonic()

    with pytest.raises(KitsuneUnavailable, match="timeout"):
        await client_for(sumo, session, timeout=0.2, retries=1).answers(1)

    assert time.monotonic() - started < 1.0


async def test_garbage_is_a_clear_error(sumo: FakeKitsune, session: aiohttp.ClientSession) -> None:
    sumo.garbage_next()

    with pytest.raises(KitsuneMalformed, match="did not answer JSON"):
        await client_for(sumo, session).questions(product="firefox", locale="en-US", created_after=an_hour_ago())
    assert len(sumo.requests) == 1  # garbage is not retried: the next poll asks again


async def test_a_malformed_question_is_a_clear_error(sumo: FakeKitsune, session: aiohttp.ClientSession) -> None:
    qid = sumo.add_question("q")
    sumo.questions[qid].created = "yesterday"  # type: ignore[assignment]

    with pytest.raises(KitsuneMalformed):
        await client_for(sumo, session).question(qid)


async def test_articles_from_the_sites_json_search(sumo: FakeKitsune, session: aiohttp.ClientSession) -> None:
    sumo.add_article("Clear cookies and site data", "clear-cookies", summary="Remove cookies")
    sumo.add_article("Borrar cookies", "borrar-cookies", locale="es", summary="cookies")
    for n in range(7):
        sumo.add_article(f"Cookies article {n}", f"cookies-{n}")

    articles = await client_for(sumo, session).search_articles("clear cookies", locale="en-US", product="firefox")

    assert len(articles) == 5
    assert articles[0].title == "Clear cookies and site data"
    assert articles[0].url == f"{sumo.url}/en-US/kb/clear-cookies"
    [query] = sumo.requests_to("/en-US/search/")
    assert query == {"q": "clear cookies", "format": "json", "w": "1", "product": "firefox", "language": "en-US"}
