"""The Kitsune client against a local fake that answers with Kitsune's shapes."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from bot.services.kitsune import (
    KitsuneBlocked,
    KitsuneClient,
    KitsuneMalformed,
    KitsuneUnavailable,
    KitsuneUnreachable,
    RequestBudget,
    RequestBudgetSpent,
    kitsune_time,
    user_agent,
)
from tests.fakes.kitsune import FakeKitsune


@pytest.fixture
async def sumo() -> AsyncIterator[FakeKitsune]:
    async with FakeKitsune() as fake:
        yield fake


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as http:
        yield http


def client_for(sumo: FakeKitsune, session: aiohttp.ClientSession, **options: object) -> KitsuneClient:
    settings: dict = {"timeout": 2.0, "backoff": 0.001, **options}
    return KitsuneClient(session, sumo.url, **settings)


def an_hour_ago() -> datetime:
    return datetime.now(UTC) - timedelta(hours=1)


async def first_page(client: KitsuneClient, locale: str = "en-US", since: datetime | None = None) -> list:
    page = await client.questions_page(product="firefox", locale=locale, created_after=since or an_hour_ago())
    return page.questions


async def all_answers(client: KitsuneClient, question_id: int, budget: RequestBudget | None = None) -> list:
    return [answer async for answer in client.answers(question_id, budget)]


async def test_questions_are_parsed_into_records(sumo: FakeKitsune, session: aiohttp.ClientSession) -> None:
    qid = sumo.add_question("Bookmarks gone after update", age=timedelta(minutes=5), asker="maria")
    sumo.answer(qid, "helper")

    [question] = await first_page(client_for(sumo, session))

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

    await first_page(client_for(sumo, session), locale="es", since=since)

    [query] = sumo.requests_to("/api/2/question/")
    assert query == {"product": "firefox", "locale": "es", "is_spam": "false", "is_locked": "false",
                     "is_archived": "false", "created__gt": "2026-11-24T20:00:00+00:00", "ordering": "created"}


def test_times_sent_to_kitsune_always_carry_an_offset() -> None:
    assert kitsune_time(datetime(2026, 11, 24, 12, 0, tzinfo=UTC)) == "2026-11-24T12:00:00+00:00"
    assert kitsune_time(datetime(2026, 11, 24, 12, 0, 1, 250, tzinfo=UTC)) == "2026-11-24T12:00:01.000250+00:00"
    with pytest.raises(ValueError):
        kitsune_time(datetime(2026, 11, 24, 12, 0))


async def test_pages_are_read_oldest_first_from_a_cursor(sumo: FakeKitsune, session: aiohttp.ClientSession) -> None:
    ids = [sumo.add_question(f"question {n}", age=timedelta(minutes=45 - n)) for n in range(45)]
    client = client_for(sumo, session)

    seen, after, pages = [], an_hour_ago(), 0
    while True:
        page = await client.questions_page(product="firefox", locale="en-US", created_after=after)
        pages += 1
        seen += [q.id for q in page.questions]
        if not page.has_more:
            break
        after = page.questions[-1].created

    assert seen == ids  # oldest first, none skipped or repeated
    assert pages == 3
    assert "page" not in sumo.requests_to("/api/2/question/")[2]  # the cursor, not a page number


async def test_a_null_creator_is_a_person_without_a_profile(sumo: FakeKitsune, session: aiohttp.ClientSession) -> None:
    qid = sumo.add_question("old account asks", asker=None)
    sumo.answer(qid, None)

    [question] = await first_page(client_for(sumo, session))
    [answer] = await all_answers(client_for(sumo, session), qid)

    assert question.creator is None and question.asker is None
    assert answer.creator is None


async def test_an_honest_user_agent_is_sent(sumo: FakeKitsune, session: aiohttp.ClientSession) -> None:
    agent = user_agent("1.2.3", "https://wiki.example.org/fxhelp-bot")
    await first_page(client_for(sumo, session, user_agent=agent))

    assert sumo.user_agents == ["fxhelp-bot/1.2.3 (Matrix bot for Mozilla Social Support; "
                                "+https://wiki.example.org/fxhelp-bot)"]
    assert user_agent("1.2.3", None) == "fxhelp-bot/1.2.3 (Matrix bot for Mozilla Social Support; no contact configured)"


async def test_a_429_is_a_user_agent_block_and_nothing_more_is_asked(
        sumo: FakeKitsune, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture) -> None:
    sumo.block_user_agents("fxhelp-bot")
    client = client_for(sumo, session, user_agent=user_agent("1.0", None), retries=3)

    for _ in range(3):
        with pytest.raises(KitsuneBlocked):
            await first_page(client)
    with pytest.raises(KitsuneBlocked):
        await client.search_articles("cookies", locale="en-US", product="firefox")

    assert len(sumo.requests) == 1  # not retried, and not asked again
    assert client.blocked
    assert len([r for r in caplog.records if "HTTP 429" in r.message]) == 1


async def test_a_budget_stops_before_asking(sumo: FakeKitsune, session: aiohttp.ClientSession) -> None:
    qid = sumo.add_question("q")
    for _ in range(45):
        sumo.answer(qid, "helper")
    budget = RequestBudget(2)

    with pytest.raises(RequestBudgetSpent):
        await all_answers(client_for(sumo, session), qid, budget)

    assert len(sumo.requests_to("/api/2/answer/")) == 2


async def test_spam_locked_archived_and_other_products_are_not_listed(
        sumo: FakeKitsune, session: aiohttp.ClientSession) -> None:
    keep = sumo.add_question("keep")
    for flag in ("spam", "locked", "archived"):
        sumo.flag(sumo.add_question(flag), **{flag: True})
    sumo.add_question("thunderbird", product="thunderbird")
    sumo.add_question("too old", age=timedelta(hours=2))

    questions = await first_page(client_for(sumo, session))

    assert [q.id for q in questions] == [keep]


async def test_answers_come_oldest_first_with_their_authors(sumo: FakeKitsune, session: aiohttp.ClientSession) -> None:
    qid = sumo.add_question("q", age=timedelta(hours=3))
    late = sumo.answer(qid, "helper", age=timedelta(hours=1))
    early = sumo.answer(qid, "asker", age=timedelta(hours=2), is_spam=True)

    answers = await all_answers(client_for(sumo, session), qid)

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
    sumo.fail_next(503)

    questions = await first_page(client_for(sumo, session, retries=2))

    assert len(questions) == 1
    assert len(sumo.requests_to("/api/2/question/")) == 3


async def test_retries_are_bounded(sumo: FakeKitsune, session: aiohttp.ClientSession) -> None:
    sumo.down()

    with pytest.raises(KitsuneUnavailable, match="HTTP 503"):
        await all_answers(client_for(sumo, session, retries=2), 1)

    assert len(sumo.requests) == 3


async def test_an_unreachable_site_is_told_apart(session: aiohttp.ClientSession) -> None:
    async with FakeKitsune() as gone:
        url = gone.url
    client = KitsuneClient(session, url, timeout=2.0, retries=1, backoff=0.001)

    with pytest.raises(KitsuneUnreachable):
        await first_page(client)


async def test_a_slow_answer_times_out(sumo: FakeKitsune, session: aiohttp.ClientSession) -> None:
    sumo.slow_next(1.0, times=2)
    started = time.monotonic()

    with pytest.raises(KitsuneUnavailable, match="timeout"):
        await all_answers(client_for(sumo, session, timeout=0.2, retries=1), 1)

    assert time.monotonic() - started < 1.0


async def test_garbage_is_a_clear_error(sumo: FakeKitsune, session: aiohttp.ClientSession) -> None:
    sumo.garbage_next()

    with pytest.raises(KitsuneMalformed, match="did not answer JSON"):
        await first_page(client_for(sumo, session))
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
