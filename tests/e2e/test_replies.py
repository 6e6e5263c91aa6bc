"""!reply and !check end to end: a real Synapse, the real bot process and the shipped reply library,
with a fake Bitly for the mzl.la links."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.features.replies.library import ReplyLibrary
from tests.e2e.conftest import make_rooms
from tests.e2e.harness import body
from tests.fakes.bitly import FakeBitly, expected_link

TOKEN = "test-token"
SHIPPED = Path(__file__).resolve().parents[2] / "replies"
CLEAR_CACHE = "https://support.mozilla.org/kb/how-clear-firefox-cache"
SYNC_SETUP = "https://support.mozilla.org/kb/how-do-i-set-sync-my-computer"


@pytest.fixture
async def rooms(cast):
    return await make_rooms(cast)


@pytest.fixture
async def bitly() -> AsyncIterator[FakeBitly]:
    async with FakeBitly(token=TOKEN) as fake:
        yield fake


def formatted(answer: dict) -> str:
    return answer["content"]["formatted_body"]


async def test_reply_search_and_reload(cast, rooms, bitly, bot_factory):
    await bot_factory(rooms, shortener={"bitly_token": TOKEN, "api_url": bitly.url})
    library = ReplyLibrary.load(SHIPPED)

    answer = await cast.alice.ask(rooms.contributors, "!reply clear-cache es @someone")
    title, pasted, length = body(answer).splitlines()
    assert title == "Clear the cache (clear-cache, es)"
    assert pasted == f"@someone {library.get('clear-cache').texts['es']} {expected_link(CLEAR_CACHE)} #fxhelp"
    assert length.endswith("left; a link counts 23 whatever its length).")
    assert "<pre><code>@someone " in formatted(answer)
    assert answer["content"]["m.mentions"] == {}

    bitly.down()
    without_short_link = body(await cast.alice.ask(rooms.contributors, "!reply sync-setup @someone"))
    assert without_short_link.splitlines()[1].endswith(f"{SYNC_SETUP} #fxhelp")
    assert "No mzl.la link this time" in without_short_link.splitlines()[-1]
    bitly.up()

    found = body(await cast.alice.ask(rooms.contributors, "!reply search cleer cache"))
    assert "1. clear-cache — Clear the cache" in found

    refused = body(await cast.eve.ask(rooms.contributors, "!reply reload"))
    assert refused == "Sorry, !reply reload is for moderators only."
    reloaded = body(await cast.mod.ask(rooms.contributors, "!reply reload"))
    assert reloaded == (f"Reloaded the reply library: {len(library)} replies in {len(library.topics())} topics.")


async def test_check_finds_what_to_fix_and_passes_a_good_draft(cast, rooms, bot_factory):
    await bot_factory(rooms)

    long_draft = "@maria " + "Firefox is fast and private. " * 12 + "#fxhelp"
    too_long = body(await cast.alice.ask(rooms.contributors, f"!check {long_draft}"))
    assert too_long.startswith("1 thing to fix before posting (")
    assert "characters as X counts them; X allows 280." in too_long

    political = body(await cast.alice.ask(rooms.contributors, "!check @maria Forget the election, update "
                                                              "Firefox! https://mzl.la/3abc #fxhelp"))
    assert "• Political or controversial: election" in political

    good = "@maria Sorry about the crashes! Could you update Firefox and tell us if it still happens? " \
           "https://mzl.la/3abc #fxhelp"
    passed = body(await cast.alice.ask(rooms.contributors, f"!check {good}"))
    assert passed.startswith("Looks good: ")
    assert "/280 as X counts it" in passed

    html_draft = "<b>Hi</b> @room <script>x</script> https://support.mozilla.org/kb/x?a=1&b=2 #fxhelp"
    escaped = await cast.alice.ask(rooms.contributors, f"!check {html_draft}")
    assert "<b>" not in formatted(escaped) and "<script>" not in formatted(escaped)
    assert "https://support.mozilla.org/kb/x?a=1&amp;b=2" in formatted(escaped)
    assert "@room" not in body(escaped) and "@room" not in formatted(escaped)
    assert escaped["content"]["m.mentions"] == {}
