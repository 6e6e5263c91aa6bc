"""The Bitly client against a local fake that answers the way Bitly's v4 API does."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.services.bitly import BitlyClient, BitlyMonthlyLimit, BitlyRateLimited, ShortenError
from tests.fakes.bitly import FakeBitly, expected_link

TOKEN = "s3cret-bitly-token"
LONG_URL = "https://support.mozilla.org/kb/clear-cookies"


@pytest.fixture
async def bitly() -> AsyncIterator[FakeBitly]:
    async with FakeBitly(token=TOKEN) as fake:
        yield fake


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as http:
        yield http


def client_for(bitly: FakeBitly, session: aiohttp.ClientSession, **options: object) -> BitlyClient:
    settings: dict = {"token": TOKEN, "timeout": 2.0, "backoff": 0.001, **options}
    return BitlyClient(session, bitly.url, **settings)


async def failure(client: BitlyClient, long_url: str = LONG_URL) -> ShortenError:
    with pytest.raises(ShortenError) as caught:
        await client.shorten(long_url)
    return caught.value


# -- success ------------------------------------------------------------------------------------


async def test_a_new_link_is_made(bitly: FakeBitly, session: aiohttp.ClientSession) -> None:
    link = await client_for(bitly, session).shorten(LONG_URL)

    assert link == expected_link(LONG_URL)
    assert bitly.calls == 1
    assert bitly.requests == [{"long_url": LONG_URL, "domain": "mzl.la"}]


async def test_a_link_bitly_already_has_comes_back_with_200(
    bitly: FakeBitly, session: aiohttp.ClientSession
) -> None:
    client = client_for(bitly, session)
    first = await client.shorten(LONG_URL)

    again = await client.shorten(LONG_URL)

    assert again == first
    assert bitly.calls_for(LONG_URL) == 2


async def test_the_group_is_sent_when_configured(session: aiohttp.ClientSession) -> None:
    async with FakeBitly(token=TOKEN, group_guid="Bfx123") as bitly:
        await client_for(bitly, session, group_guid="Bfx123").shorten(LONG_URL)

    assert bitly.requests == [{"long_url": LONG_URL, "domain": "mzl.la", "group_guid": "Bfx123"}]


async def test_the_api_url_may_end_with_a_slash(bitly: FakeBitly, session: aiohttp.ClientSession) -> None:
    client = BitlyClient(session, bitly.url + "/", TOKEN)

    assert await client.shorten(LONG_URL) == expected_link(LONG_URL)


# -- errors that are explained at once ---------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "message", "error_code", "field", "code", "user_message"),
    [
        (400, "INVALID_ARG_LONG_URL", "invalid", "long_url", "invalid_url", "Bitly refused that URL"),
        (400, "INVALID_ARG_DOMAIN", "invalid", "domain", "domain_not_set_up",
         "the mzl.la domain is not set up for this account — tell a moderator"),
        (417, "EXPECTATION_FAILED", None, None, "domain_not_set_up",
         "the mzl.la domain is not set up for this account — tell a moderator"),
        (403, "FORBIDDEN", None, None, "token_rejected", "the token was rejected — tell a moderator"),
        (429, "MONTHLY_LIMIT_EXCEEDED", None, None, "monthly_limit",
         "the Bitly account has used up its links for this month — tell a moderator"),
        (429, "API_USAGE_LIMIT_EXCEEDED", None, None, "monthly_limit",
         "the Bitly account has used up its links for this month — tell a moderator"),
        (429, "RATE_LIMIT_EXCEEDED", None, None, "monthly_limit",
         "the Bitly account has used up its links for this month — tell a moderator"),
        (404, "NOT_FOUND", None, None, "unexpected",
         "Bitly gave an unexpected answer (HTTP 404); tell a moderator if it keeps happening"),
    ],
)
async def test_errors_that_retrying_cannot_fix_are_explained_after_one_call(
    bitly: FakeBitly,
    session: aiohttp.ClientSession,
    status: int,
    message: str,
    error_code: str | None,
    field: str | None,
    code: str,
    user_message: str,
) -> None:
    bitly.fail_next(status, error_code=error_code, message=message, field=field, times=5)

    error = await failure(client_for(bitly, session))

    assert (error.code, error.user_message) == (code, user_message)
    assert bitly.calls == 1


async def test_a_wrong_token_is_rejected(bitly: FakeBitly, session: aiohttp.ClientSession) -> None:
    error = await failure(client_for(bitly, session, token="not-the-token"))

    assert error.code == "token_rejected"
    assert bitly.calls == 1


async def test_a_domain_the_account_lacks_is_explained(
    bitly: FakeBitly, session: aiohttp.ClientSession
) -> None:
    error = await failure(client_for(bitly, session, domain="brand.example"))

    assert error.code == "domain_not_set_up"


# -- Bitly's limits ---------------------------------------------------------------------------------


async def test_a_403_with_a_rate_limit_reason_is_a_short_rate_limit_not_a_rejected_token(
    bitly: FakeBitly, session: aiohttp.ClientSession
) -> None:
    bitly.rate_limit_next(times=5)

    error = await failure(client_for(bitly, session, retries=3))

    assert isinstance(error, BitlyRateLimited)
    assert error.code == "rate_limited"
    assert error.user_message == ("Bitly's limit of links per minute or per hour is reached; try again in a few "
                                  "minutes")
    assert "token" not in error.user_message
    assert bitly.calls == 1  # a per-minute window outlasts any wait a command can make


async def test_a_rate_limit_passes_and_the_next_link_is_made(bitly: FakeBitly, session: aiohttp.ClientSession) -> None:
    client = client_for(bitly, session)
    bitly.rate_limit_next()
    await failure(client)

    assert await client.shorten(LONG_URL) == expected_link(LONG_URL)


async def test_the_monthly_limit_is_a_429_and_not_retried(bitly: FakeBitly, session: aiohttp.ClientSession) -> None:
    bitly.use_up_the_month()

    error = await failure(client_for(bitly, session, retries=3))

    assert isinstance(error, BitlyMonthlyLimit)
    assert bitly.calls == 1


async def test_a_link_on_another_domain_is_refused(bitly: FakeBitly, session: aiohttp.ClientSession) -> None:
    bitly.links_on("bit.ly")

    error = await failure(client_for(bitly, session, retries=3))

    assert error.code == "wrong_domain"
    assert error.user_message == ("Bitly made a bit.ly link instead of a mzl.la one (the Bitly group may lack the "
                                  "mzl.la domain) — tell a moderator")
    assert bitly.calls == 1


# -- errors worth retrying ------------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_a_server_error_is_retried(
    bitly: FakeBitly, session: aiohttp.ClientSession, status: int
) -> None:
    bitly.fail_next(status, times=2)

    assert await client_for(bitly, session).shorten(LONG_URL) == expected_link(LONG_URL)
    assert bitly.calls == 3


async def test_server_errors_that_last_are_explained(
    bitly: FakeBitly, session: aiohttp.ClientSession
) -> None:
    bitly.down()

    error = await failure(client_for(bitly, session, retries=2))

    assert error.code == "unavailable"
    assert error.user_message == "Bitly is not answering right now, try again in a few minutes"
    assert bitly.calls == 3


async def test_dropped_connections_are_retried_then_explained(
    bitly: FakeBitly, session: aiohttp.ClientSession
) -> None:
    bitly.down(close_connections=True)

    error = await failure(client_for(bitly, session, retries=2))

    assert error.code == "unavailable"
    assert bitly.calls == 3


async def test_bitly_coming_back_ends_the_trouble(bitly: FakeBitly, session: aiohttp.ClientSession) -> None:
    client = client_for(bitly, session, retries=0)
    bitly.down()
    await failure(client)

    bitly.up()

    assert await client.shorten(LONG_URL) == expected_link(LONG_URL)


async def test_an_unreachable_bitly_is_explained(session: aiohttp.ClientSession) -> None:
    async with FakeBitly(token=TOKEN) as gone:
        url = gone.url
    client = BitlyClient(session, url, TOKEN, retries=1, backoff=0.001)

    error = await failure(client)

    assert error.code == "unavailable"


async def test_a_slow_answer_times_out(bitly: FakeBitly, session: aiohttp.ClientSession) -> None:
    bitly.slow_next(1.0)
    started = time.monotonic()

    error = await failure(client_for(bitly, session, timeout=0.2, retries=0))

    assert error.code == "unavailable"
    assert time.monotonic() - started < 0.9


async def test_a_slow_answer_is_retried(bitly: FakeBitly, session: aiohttp.ClientSession) -> None:
    bitly.slow_next(1.0)

    link = await client_for(bitly, session, timeout=0.2, retries=1).shorten(LONG_URL)

    assert link == expected_link(LONG_URL)
    assert bitly.calls == 2


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (200, "{not json"),
        (201, '{"id": "mzl.la/abc"}'),  # JSON, but no link in it
        (200, "[]"),
        (502, "<html><body>Bad gateway</body></html>"),
    ],
)
async def test_a_malformed_answer_is_retried(
    bitly: FakeBitly, session: aiohttp.ClientSession, status: int, body: str
) -> None:
    bitly.fail_next(status, body=body)

    assert await client_for(bitly, session).shorten(LONG_URL) == expected_link(LONG_URL)
    assert bitly.calls == 2


async def test_malformed_answers_that_last_are_explained(
    bitly: FakeBitly, session: aiohttp.ClientSession
) -> None:
    bitly.fail_next(200, body="{not json", times=10)

    error = await failure(client_for(bitly, session, retries=3))

    assert error.code == "unavailable"
    assert bitly.calls == 4


async def test_no_retries_means_one_call(bitly: FakeBitly, session: aiohttp.ClientSession) -> None:
    bitly.fail_next(503, times=5)

    await failure(client_for(bitly, session, retries=0))

    assert bitly.calls == 1


# -- the token stays secret -----------------------------------------------------------------------


async def test_the_token_is_never_logged_or_shown(
    bitly: FakeBitly, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = client_for(bitly, session, retries=1)
    errors = []
    faults = [(429, "MONTHLY_LIMIT_EXCEEDED"), (403, "FORBIDDEN"), (400, "INVALID_ARG_LONG_URL"), (503, None)]
    for status, message in faults:
        bitly.fail_next(status, message=message, times=2)
        errors.append(await failure(client))
    bitly.rate_limit_next(times=2)
    errors.append(await failure(client))
    bitly.down(close_connections=True)
    errors.append(await failure(client))

    shown = [caplog.text, repr(client), str(client)]
    shown += [f"{error!s} {error!r} {error.user_message} {error.code}" for error in errors]
    assert all(TOKEN not in text for text in shown)
    assert caplog.text, "the failures were logged"
