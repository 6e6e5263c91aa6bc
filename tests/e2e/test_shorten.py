"""!shorten end to end: a real Synapse, the real bot process, and a fake Bitly it talks to over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.e2e.harness import body
from tests.fakes.bitly import FakeBitly, expected_link

TOKEN = "test-token"
GROUP = "Bfxhelp-e2e"
ARTICLE = "https://support.mozilla.org/kb/clear-cookies-and-site-data-firefox"
WHY_SHORT_LINKS = "On X a short link saves no characters (every link counts as 23)"


@pytest.fixture
async def bitly() -> AsyncIterator[FakeBitly]:
    async with FakeBitly(token=TOKEN, group_guid=GROUP) as fake:
        yield fake


def shortener_section(bitly: FakeBitly) -> dict[str, Any]:
    return {"bitly_token": TOKEN, "api_url": bitly.url, "group_guid": GROUP}


async def test_a_link_is_made_once_and_reused_even_after_a_restart(cast, rooms, bitly, bot_factory):
    bot = await bot_factory(rooms, shortener=shortener_section(bitly))

    made = await cast.alice.ask(rooms.contributors, "!shorten https://support.mozilla.org/en-US/kb/"
                                                    "clear-cookies-and-site-data-firefox?utm_source=twitter")
    assert body(made) == (f"• {expected_link(ARTICLE)} → {ARTICLE}\n"
                          f"{WHY_SHORT_LINKS}, but it reads better, is trusted as Mozilla's, and counts clicks.")
    assert f'<a href="{expected_link(ARTICLE)}">' in made["content"]["formatted_body"]
    assert made["content"]["m.mentions"] == {}
    assert bitly.calls_for(ARTICLE) == 1

    # Written differently (no scheme, another locale, a tracking parameter): the same link, from the database.
    again = await cast.alice.ask(rooms.contributors, "!shorten support.mozilla.org/de/kb/"
                                                     "clear-cookies-and-site-data-firefox?utm_medium=social")
    assert f"• {expected_link(ARTICLE)} → {ARTICLE} (made earlier)" in body(again)
    assert bitly.calls == 1

    bot.stop()
    await bot.start()
    after_restart = await cast.alice.ask(rooms.contributors, f"!shorten {ARTICLE}")
    assert f"• {expected_link(ARTICLE)} → {ARTICLE} (made earlier)" in body(after_restart)
    assert bitly.calls == 1


async def test_a_refused_link_gets_its_reason_and_the_others_their_links(cast, rooms, bitly, bot_factory):
    await bot_factory(rooms, shortener=shortener_section(bitly))
    firefox = "https://www.mozilla.org/firefox/new/"

    answer = body(await cast.alice.ask(
        rooms.contributors, f"!shorten https://support.mozilla.org.evil.example/x {firefox}"))
    refused, made, why = answer.splitlines()
    assert refused == ("• https://support.mozilla.org.evil.example/x — not shortened: "
                       "support.mozilla.org.evil.example is not one of the Mozilla sites this bot shortens links for")
    assert made == f"• {expected_link(firefox)} → {firefox}"
    assert why.startswith(WHY_SHORT_LINKS)
    assert bitly.requests == [{"long_url": firefox, "domain": "mzl.la", "group_guid": GROUP}]

    alone = body(await cast.alice.ask(rooms.contributors, "!shorten https://support.mozilla.org.evil.example/x"))
    assert "not shortened: support.mozilla.org.evil.example is not one of the Mozilla sites" in alone
    assert WHY_SHORT_LINKS not in alone  # no link made, nothing to explain
    assert bitly.calls == 1


async def test_bitly_down_is_explained_and_the_link_is_made_once_it_is_back(cast, rooms, bitly, bot_factory):
    await bot_factory(rooms, shortener=shortener_section(bitly))

    bitly.down()
    # The client retries with backoff (1 + 2 + 4 s) before it gives up.
    failed = body(await cast.alice.ask(rooms.contributors, f"!shorten {ARTICLE}", timeout=30))
    assert failed == f"• {ARTICLE} — not shortened: Bitly is not answering right now, try again in a few minutes"
    attempts = bitly.calls
    assert attempts > 1

    bitly.up()
    made = body(await cast.alice.ask(rooms.contributors, f"!shorten {ARTICLE}"))
    assert made.startswith(f"• {expected_link(ARTICLE)} → {ARTICLE}\n")  # made now, not "made earlier"
    assert bitly.calls == attempts + 1


async def test_at_most_five_links_at_a_time(cast, rooms, bitly, bot_factory):
    await bot_factory(rooms, shortener=shortener_section(bitly))
    six = " ".join(f"{ARTICLE}?page={n}" for n in range(6))

    answer = body(await cast.alice.ask(rooms.contributors, f"!shorten {six}"))
    assert answer == "I shorten at most 5 links at a time and you sent 6; please send the rest in another !shorten."
    assert bitly.calls == 0


async def test_without_a_shortener_section_it_says_so(cast, rooms, bot_factory):
    await bot_factory(rooms)

    answer = body(await cast.alice.ask(rooms.contributors, f"!shorten {ARTICLE}"))
    assert answer == ("Shortening is not set up on this bot: it needs a Bitly access token, given as "
                      "shortener.bitly_token in the configuration or in the FXHELP_BITLY_TOKEN environment variable "
                      "(the configuration needs a shortener section either way); ask a moderator.")


async def test_a_burst_hitting_bitlys_rate_limit_is_told_as_a_short_limit(cast, rooms, bitly, bot_factory):
    await bot_factory(rooms, shortener=shortener_section(bitly))
    firefox = "https://www.mozilla.org/firefox/new/"
    limited = "not shortened: Bitly's limit of links per minute or per hour is reached; try again in a few minutes"

    bitly.rate_limit_next(times=2)  # Bitly's per-minute limit: 403 with X-Ratelimit-Reason
    answer = body(await cast.alice.ask(rooms.contributors, f"!shorten {ARTICLE} {firefox}"))
    assert answer == f"• {ARTICLE} — {limited}\n• {firefox} — {limited}"
    assert "token" not in answer
    calls = bitly.calls  # 1 or 2: the second link may ask before the first answer is in

    again = body(await cast.alice.ask(rooms.contributors, "!shorten https://addons.mozilla.org/firefox/"))
    assert again == f"• https://addons.mozilla.org/firefox/ — {limited}"
    assert bitly.calls == calls  # the pause is remembered: no call for a minute


async def test_the_monthly_limit_is_told_once_per_link_and_not_asked_again_all_month(
        cast, rooms, bitly, bot_factory):
    await bot_factory(rooms, shortener=shortener_section(bitly))
    bitly.use_up_the_month()

    first = body(await cast.alice.ask(rooms.contributors, f"!shorten {ARTICLE}"))
    second = body(await cast.alice.ask(rooms.contributors, "!shorten https://www.mozilla.org/firefox/new/"))

    for answer in (first, second):
        assert "not shortened: the Bitly account has used up its links for this month — tell a moderator " \
               "(I try Bitly again from " in answer
    assert bitly.calls == 1
