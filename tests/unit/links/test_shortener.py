"""The link shortener with a real sqlite file and the fake Bitly: once per link, ever."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from bot.clock import FakeClock
from bot.features.links.policy import DEFAULT_ALLOWED_HOSTS, LinkRefused
from bot.features.links.shortener import LinkShortener, ShortenerNotConfigured, ShortLink, monthly_limit_lifts
from bot.services.bitly import BitlyClient, ShortenError
from bot.storage.bot_state import BotState
from bot.storage.database import Database
from bot.storage.short_links import ShortLinks
from tests.fakes.bitly import FakeBitly, expected_link

TOKEN = "fake-token"
ARTICLE = "https://support.mozilla.org/kb/clear-cookies"


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "x.db")
    yield database
    await database.close()


@pytest.fixture
def short_links(db: Database) -> ShortLinks:
    return ShortLinks(db)


@pytest.fixture
async def bitly() -> AsyncIterator[FakeBitly]:
    async with FakeBitly(token=TOKEN) as fake:
        yield fake


@pytest.fixture
async def bitly_client(bitly: FakeBitly) -> AsyncIterator[BitlyClient]:
    async with aiohttp.ClientSession() as session:
        yield BitlyClient(session, bitly.url, TOKEN, timeout=2.0, retries=1, backoff=0.001)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def shortener(short_links: ShortLinks, bitly_client: BitlyClient, clock: FakeClock, db: Database) -> LinkShortener:
    return LinkShortener(short_links, bitly_client, DEFAULT_ALLOWED_HOSTS, clock, BotState(db))


# -- once per link ------------------------------------------------------------------------------


async def test_a_first_link_is_made_by_bitly_and_stored(
    shortener: LinkShortener, short_links: ShortLinks, bitly: FakeBitly, clock: FakeClock
) -> None:
    link = await shortener.shorten("https://support.mozilla.org/en-US/kb/clear-cookies?utm_source=x")

    assert link == ShortLink(ARTICLE, expected_link(ARTICLE), reused=False)
    assert bitly.requests == [{"long_url": ARTICLE, "domain": "mzl.la"}]
    stored = await short_links.get(ARTICLE)
    assert stored is not None
    assert (stored.short_url, stored.created_at) == (link.short_url, clock.now())


async def test_the_same_link_again_comes_from_the_database(
    shortener: LinkShortener, bitly: FakeBitly
) -> None:
    first = await shortener.shorten(ARTICLE)

    again = await shortener.shorten(ARTICLE)

    assert again == dataclasses.replace(first, reused=True)
    assert bitly.calls == 1


@pytest.mark.parametrize(
    "equivalent",
    [
        "support.mozilla.org/kb/clear-cookies",
        "http://SUPPORT.mozilla.org./de/kb/clear-cookies",
        "https://support.mozilla.org/kb/clear-cookies?utm_source=twitter&utm_medium=social",
        "https://support.mozilla.org:443/pt-BR/kb/clear-cookies#:~:text=cookies",
    ],
)
async def test_an_equivalent_link_reuses_the_stored_one(
    shortener: LinkShortener, bitly: FakeBitly, equivalent: str
) -> None:
    first = await shortener.shorten(ARTICLE)

    again = await shortener.shorten(equivalent)

    assert (again.short_url, again.reused) == (first.short_url, True)
    assert bitly.calls == 1


async def test_stored_links_survive_a_restart(
    tmp_path: Path, bitly: FakeBitly, bitly_client: BitlyClient
) -> None:
    for _ in range(2):
        db = await Database.open(tmp_path / "restart.db")
        try:
            shortener = LinkShortener(ShortLinks(db), bitly_client, DEFAULT_ALLOWED_HOSTS, FakeClock())
            await shortener.shorten(ARTICLE)
        finally:
            await db.close()

    assert bitly.calls == 1


async def test_concurrent_requests_for_one_link_make_one_call(
    shortener: LinkShortener, short_links: ShortLinks, bitly: FakeBitly
) -> None:
    bitly.slow_next(0.05)  # keep the first call open while the others arrive

    links = await asyncio.gather(*(shortener.shorten(ARTICLE) for _ in range(10)))

    assert bitly.calls == 1
    assert {link.short_url for link in links} == {expected_link(ARTICLE)}
    assert await short_links.count() == 1


async def test_concurrent_requests_for_different_links_each_make_their_call(
    shortener: LinkShortener, bitly: FakeBitly
) -> None:
    urls = [f"https://support.mozilla.org/kb/article-{n}" for n in range(5)]

    links = await asyncio.gather(*(shortener.shorten(url) for url in urls * 2))

    assert bitly.calls == 5
    assert [link.short_url for link in links] == [expected_link(url) for url in urls * 2]


async def test_one_caller_giving_up_does_not_cancel_the_others(
    shortener: LinkShortener, bitly: FakeBitly
) -> None:
    bitly.slow_next(0.1)
    impatient = asyncio.create_task(shortener.shorten(ARTICLE))
    patient = asyncio.create_task(shortener.shorten(ARTICLE))
    await asyncio.sleep(0.02)

    impatient.cancel()

    assert (await patient).short_url == expected_link(ARTICLE)
    assert impatient.cancelled()
    assert bitly.calls == 1


# -- refusals and failures ------------------------------------------------------------------------


async def test_a_refused_link_costs_no_call(
    shortener: LinkShortener, short_links: ShortLinks, bitly: FakeBitly
) -> None:
    with pytest.raises(LinkRefused) as caught:
        await shortener.shorten("https://support.mozilla.org.evil.example/kb/x")

    assert "not one of the Mozilla sites" in caught.value.reason
    assert bitly.calls == 0
    assert await short_links.count() == 0


async def test_the_allowed_hosts_come_from_the_configuration(
    short_links: ShortLinks, bitly_client: BitlyClient, clock: FakeClock, bitly: FakeBitly
) -> None:
    shortener = LinkShortener(short_links, bitly_client, ["blog.mozilla.org"], clock)

    with pytest.raises(LinkRefused):
        await shortener.shorten(ARTICLE)
    await shortener.shorten("https://blog.mozilla.org/en/firefox/")

    assert bitly.calls == 1


async def test_a_failure_is_not_stored(
    shortener: LinkShortener, short_links: ShortLinks, bitly: FakeBitly
) -> None:
    bitly.fail_next(403, message="FORBIDDEN")
    with pytest.raises(ShortenError) as caught:
        await shortener.shorten(ARTICLE)
    assert caught.value.code == "token_rejected"
    assert await short_links.count() == 0

    link = await shortener.shorten(ARTICLE)

    assert (link.short_url, link.reused) == (expected_link(ARTICLE), False)
    assert bitly.calls == 2


async def test_concurrent_requests_share_a_failure_and_the_next_one_tries_again(
    shortener: LinkShortener, bitly: FakeBitly
) -> None:
    bitly.fail_next(400, message="INVALID_ARG_LONG_URL", error_code="invalid")

    outcomes = await asyncio.gather(*(shortener.shorten(ARTICLE) for _ in range(5)), return_exceptions=True)

    assert all(isinstance(outcome, ShortenError) for outcome in outcomes)
    assert bitly.calls == 1
    assert (await shortener.shorten(ARTICLE)).short_url == expected_link(ARTICLE)
    assert bitly.calls == 2


async def test_without_a_bitly_token_shortening_is_not_set_up(
    short_links: ShortLinks, clock: FakeClock
) -> None:
    shortener = LinkShortener(short_links, None, DEFAULT_ALLOWED_HOSTS, clock)

    assert shortener.enabled is False
    with pytest.raises(ShortenerNotConfigured) as caught:
        await shortener.shorten(ARTICLE)
    assert isinstance(caught.value, ShortenError)
    assert caught.value.code == "not_configured"
    assert caught.value.user_message == (
        "shortening is not set up on this bot: it needs a Bitly access token (shortener.bitly_token in the "
        "configuration, or the FXHELP_BITLY_TOKEN environment variable); ask a moderator"
    )


async def test_a_refusal_is_explained_even_without_a_token(short_links: ShortLinks, clock: FakeClock) -> None:
    shortener = LinkShortener(short_links, None, DEFAULT_ALLOWED_HOSTS, clock)

    with pytest.raises(LinkRefused):
        await shortener.shorten("javascript:alert(1)")


def test_a_configured_shortener_is_enabled(shortener: LinkShortener) -> None:
    assert shortener.enabled is True


# -- Bitly's limits and domain ---------------------------------------------------------------------

OTHER_ARTICLES = [f"https://support.mozilla.org/kb/article-{n}" for n in range(4)]


async def test_a_short_rate_limit_costs_one_call_then_passes(
    shortener: LinkShortener, bitly: FakeBitly, clock: FakeClock
) -> None:
    bitly.rate_limit_next()
    for url in [ARTICLE, *OTHER_ARTICLES]:
        with pytest.raises(ShortenError) as caught:
            await shortener.shorten(url)
        assert caught.value.code == "rate_limited"
        assert "try again in a few minutes" in caught.value.user_message
    assert bitly.calls == 1

    clock.advance(timedelta(seconds=61))

    assert (await shortener.shorten(ARTICLE)).short_url == expected_link(ARTICLE)
    assert bitly.calls == 2


async def test_the_monthly_limit_is_remembered_until_it_can_have_reset(
    tmp_path: Path, bitly: FakeBitly, bitly_client: BitlyClient
) -> None:
    clock = FakeClock(datetime(2026, 11, 24, 12, 0, tzinfo=UTC))
    bitly.use_up_the_month()
    db = await Database.open(tmp_path / "month.db")
    try:
        shortener = LinkShortener(ShortLinks(db), bitly_client, DEFAULT_ALLOWED_HOSTS, clock, BotState(db))
        for url in [ARTICLE, *OTHER_ARTICLES]:
            with pytest.raises(ShortenError) as caught:
                await shortener.shorten(url)
            assert caught.value.code == "monthly_limit"
    finally:
        await db.close()
    assert caught.value.user_message == ("the Bitly account has used up its links for this month — tell a moderator "
                                         "(I try Bitly again from 2026-11-30 10:00 UTC)")
    assert bitly.calls == 1

    clock.advance(timedelta(days=3))  # a restart later in the month: still remembered
    db = await Database.open(tmp_path / "month.db")
    try:
        shortener = LinkShortener(ShortLinks(db), bitly_client, DEFAULT_ALLOWED_HOSTS, clock, BotState(db))
        with pytest.raises(ShortenError):
            await shortener.shorten(ARTICLE)
        assert bitly.calls == 1

        bitly.new_month()
        clock.advance(timedelta(days=3))  # 2026-11-30 12:00 UTC: the 1st somewhere east
        assert (await shortener.shorten(ARTICLE)).short_url == expected_link(ARTICLE)
        assert bitly.calls == 2
    finally:
        await db.close()


@pytest.mark.parametrize(
    ("now", "lifts"),
    [
        (datetime(2026, 11, 24, 12, 0, tzinfo=UTC), datetime(2026, 11, 30, 10, 0, tzinfo=UTC)),
        (datetime(2026, 12, 20, 9, 0, tzinfo=UTC), datetime(2026, 12, 31, 10, 0, tzinfo=UTC)),
        # while the month turns somewhere on Earth: one try an hour
        (datetime(2026, 11, 30, 11, 0, tzinfo=UTC), datetime(2026, 11, 30, 12, 0, tzinfo=UTC)),
        (datetime(2026, 12, 1, 5, 0, tzinfo=UTC), datetime(2026, 12, 1, 6, 0, tzinfo=UTC)),
        # past midnight at UTC-12 on the 1st: the limit is this month's, until the next month
        (datetime(2026, 12, 1, 12, 30, tzinfo=UTC), datetime(2026, 12, 31, 10, 0, tzinfo=UTC)),
    ],
)
def test_when_the_monthly_limit_can_have_reset(now: datetime, lifts: datetime) -> None:
    assert monthly_limit_lifts(now) == lifts


async def test_a_link_on_another_domain_is_never_stored(
    shortener: LinkShortener, short_links: ShortLinks, bitly: FakeBitly
) -> None:
    bitly.links_on("bit.ly")
    with pytest.raises(ShortenError) as caught:
        await shortener.shorten(ARTICLE)

    assert caught.value.code == "wrong_domain"
    assert await short_links.count() == 0


async def test_a_stored_link_on_another_domain_is_replaced(
    shortener: LinkShortener, short_links: ShortLinks, bitly: FakeBitly, clock: FakeClock
) -> None:
    await short_links.save(ARTICLE, "https://bit.ly/3xYz", clock.now())

    link = await shortener.shorten(ARTICLE)

    assert (link.short_url, link.reused) == (expected_link(ARTICLE), False)
    assert (await short_links.get(ARTICLE)).short_url == expected_link(ARTICLE)
    assert (await shortener.shorten(ARTICLE)).reused is True
    assert bitly.calls == 1


# -- the table ------------------------------------------------------------------------------------


async def test_the_first_short_link_saved_for_a_url_wins(short_links: ShortLinks, clock: FakeClock) -> None:
    first = await short_links.save(ARTICLE, "https://mzl.la/first", clock.now())
    clock.advance(timedelta(minutes=5))

    second = await short_links.save(ARTICLE, "https://mzl.la/second", clock.now())

    assert second == first
    assert (await short_links.get(ARTICLE)) == first
    assert first.short_url == "https://mzl.la/first"
    assert await short_links.count() == 1


async def test_an_unknown_url_has_no_short_link(short_links: ShortLinks) -> None:
    assert await short_links.get(ARTICLE) is None
    assert await short_links.count() == 0


async def test_bitly_limits_show_on_healthz_while_they_last(
    shortener: LinkShortener, bitly: FakeBitly, clock: FakeClock
) -> None:
    assert shortener.health_problems() == []
    bitly.rate_limit_next()
    with pytest.raises(ShortenError):
        await shortener.shorten(ARTICLE)
    [warning] = shortener.health_problems()
    assert "Bitly" in warning and "rate limit" in warning
    clock.advance(timedelta(seconds=61))
    assert shortener.health_problems() == []

    bitly.use_up_the_month()
    with pytest.raises(ShortenError):
        await shortener.shorten(ARTICLE)
    [warning] = shortener.health_problems()
    assert "monthly" in warning and "2026-11-30 10:00 UTC" in warning
