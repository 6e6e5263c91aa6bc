"""!questions, !take, !kb and !iam through the real dispatcher, with a fake Kitsune and a fake clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest

from bot.clock import FakeClock
from bot.config import SumoConfig
from bot.features.links.policy import DEFAULT_ALLOWED_HOSTS
from bot.features.links.shortener import ShortLink
from bot.features.questions.tracker import SumoQuestions
from bot.services.bitly import ShortenError
from bot.services.kitsune import KitsuneClient, sumo_locale
from tests.fakes.kitsune import FakeKitsune
from tests.fakes.sender import RecordingSender
from tests.unit.consults.world import ALICE, EVE
from tests.unit.world import BotWorld, Settings, build_world

H = timedelta(hours=1)


class StubShortener:
    """Shortens every link but the ones it is told to fail on."""

    enabled = True
    allowed_hosts = DEFAULT_ALLOWED_HOSTS  # what !check reads from the shortener, as from the real one

    def __init__(self, failing: set[str]) -> None:
        self._failing = failing

    def health_problems(self) -> list[str]:
        return []

    async def shorten(self, url: str) -> ShortLink:
        if url in self._failing:
            raise ShortenError("Bitly is not answering right now", "unavailable")
        return ShortLink(url, f"https://mzl.la/{url.rsplit('/', 1)[-1][:6]}", reused=False)


@dataclass
class Chat:
    world: BotWorld
    sumo: FakeKitsune
    failing_links: set[str]

    @property
    def sender(self) -> RecordingSender:
        return self.world.sender

    @property
    def clock(self) -> FakeClock:
        return self.world.clock

    @property
    def tracker(self) -> SumoQuestions:
        assert self.world.sumo_questions is not None
        return self.world.sumo_questions

    async def say(self, who: str, text: str) -> str:
        message = self.world.message(who, text)
        before = len(self.sender.sent)
        await self.world.dispatcher.handle(message)
        answers = [s for s in self.sender.sent[before:] if s.reply_to == message.event_id]
        return answers[0].text if answers else ""

    async def poll(self) -> None:
        await self.tracker.on_tick()
        await self.tracker.settle()


async def sumo_world(path: Path, url: str, session: aiohttp.ClientSession, failing: set[str] | None = None,
                     clock: FakeClock | None = None, **sumo: object) -> BotWorld:
    """The one world builder's bot with SUMO set up at ``url``. The fake SUMO serves its articles from
    its own loopback URL, which the real link policy rightly refuses (http, a port, not a Mozilla
    host), so the shortener is a stand-in that shortens every link but the failing ones."""
    settings = Settings(sumo=SumoConfig(api_url=url, **sumo))  # type: ignore[arg-type]
    kitsune = KitsuneClient(session, url, timeout=2, retries=0)
    return await build_world(path, clock, settings, kitsune=kitsune,
                             shortener=StubShortener(failing if failing is not None else set()))  # type: ignore[arg-type]


@pytest.fixture
async def chat(tmp_path: Path) -> AsyncIterator[Chat]:
    failing: set[str] = set()
    clock = FakeClock()
    async with FakeKitsune(clock=clock.now) as sumo, aiohttp.ClientSession() as session:
        world = await sumo_world(tmp_path / "commands.db", sumo.url, session, failing, clock,
                                 locales=["en-US", "es"])
        yield Chat(world, sumo, failing)
        await world.close()


# ---- !questions and !take -------------------------------------------------------------------------


async def test_questions_lists_what_waits_with_time_left_and_claims(chat: Chat) -> None:
    soon = chat.sumo.add_question("Firefox <b>won't</b> start", age=60 * H, question_id=1_512_345)
    chat.sumo.add_question("Marcadores", age=H, locale="es", question_id=1_512_999)
    helped = chat.sumo.add_question("Helped already", age=H)
    chat.sumo.answer(helped, "helper")
    await chat.poll()

    assert "It's yours for 2h" in await chat.say(ALICE, "!take 2345")
    chat.clock.advance(timedelta(minutes=20))
    await chat.poll()
    listing = await chat.say(EVE, "!questions")

    assert "SUMO questions waiting for a helper's answer (2)" in listing
    assert listing.index("2345 en-US Firefox <b>won't</b> start") < listing.index("2999 es Marcadores")
    assert "11h 40m left · taken by @alice:example.org for 1h 40m more" in listing
    assert "70h 40m left" in listing
    assert "Helped already" not in listing and "minutes old" not in listing
    assert f"/en-US/questions/{soon}" in chat.sender.sent[-1].message.html

    everything = await chat.say(EVE, "!questions all")
    assert "Helped already" in everything and "answered by helper after 1h" in everything
    assert "Marcadores" not in await chat.say(EVE, "!questions stale")


async def test_take_explains_each_refusal(chat: Chat) -> None:
    chat.sumo.add_question("first", age=H, question_id=1_500_123)
    chat.sumo.add_question("second", age=H, question_id=1_600_123)
    answered = chat.sumo.add_question("answered", age=H, question_id=1_700_777)
    chat.sumo.answer(answered, "helper")
    await chat.poll()

    assert "Several questions end in 0123: 1500123, 1600123" in await chat.say(ALICE, "!take 0123")
    assert "It's yours" in await chat.say(ALICE, "!take 1500123")
    assert "It's yours" in await chat.say(ALICE, "!take 1500123")  # taking it again extends the claim
    refused = await chat.say(EVE, "!take 1500123")
    assert "taken by @alice:example.org for 2h more" in refused and "pick another one from !questions" in refused
    assert "already has a helper's answer (by helper)" in await chat.say(EVE, "!take 0777")
    assert "I am not tracking a question 4242" in await chat.say(EVE, "!take 4242")
    assert "Usage: !take <id>" in await chat.say(EVE, "!take first")


async def test_questions_warns_when_the_data_is_old(chat: Chat) -> None:
    assert "SUMO has not answered yet since the bot started" in await chat.say(ALICE, "!questions")
    chat.sumo.add_question("q", age=H)
    await chat.poll()
    chat.sumo.down()
    chat.clock.advance(timedelta(minutes=16))
    await chat.poll()

    assert "This data is 16 minutes old" in await chat.say(ALICE, "!questions")


async def test_without_sumo_the_commands_say_it_is_not_set_up(tmp_path: Path) -> None:
    world = await build_world(tmp_path / "off.db")
    chat = Chat(world, None, set())  # type: ignore[arg-type]
    try:
        for command in ("!questions", "!take 1234", "!kb cookies", "!iam sumo me", "!iam forum me"):
            assert "not set up" in await chat.say(ALICE, command), command
    finally:
        await world.close()


# ---- !kb ---------------------------------------------------------------------------------------------


async def test_kb_lists_the_best_articles_with_short_links(chat: Chat) -> None:
    chat.sumo.add_article("Clear cookies and site data", "clear-cookies", summary="cookies")
    chat.sumo.add_article("Enhanced Tracking Protection", "etp", summary="blocks cookies trackers")
    chat.failing_links.add(f"{chat.sumo.url}/en-US/kb/etp")

    answer = await chat.say(ALICE, "!kb clear cookies")

    assert "support.mozilla.org articles for “clear cookies” (en-US)" in answer
    assert "1. Clear cookies and site data (https://mzl.la/clear-)" in answer
    assert f"2. Enhanced Tracking Protection ({chat.sumo.url}/en-US/kb/etp)" in answer  # the fallback


async def test_kb_takes_a_language_at_the_end(chat: Chat) -> None:
    chat.sumo.add_article("Borrar cookies", "borrar-cookies", locale="es", summary="cookies")

    assert "Borrar cookies" in await chat.say(ALICE, "!kb borrar cookies es")
    assert chat.sumo.requests_to("/es/search/")[0]["q"] == "borrar cookies"
    assert "No en-US articles found for “borrar cookies”" in await chat.say(ALICE, "!kb borrar cookies")
    await chat.say(ALICE, "!kb how to fix it")  # "it" is a word here, not Italian
    assert chat.sumo.requests_to("/en-US/search/")[-1]["q"] == "how to fix it"
    await chat.say(ALICE, "!kb cancellare i cookie IT")  # in capitals it is the language
    assert chat.sumo.requests_to("/it/search/")[0]["q"] == "cancellare i cookie"
    assert "Usage: !kb" in await chat.say(ALICE, "!kb")


def test_sumo_locales_are_recognised_in_any_case() -> None:
    assert sumo_locale("es") == "es" and sumo_locale("en-us") == "en-US" and sumo_locale("PT-br") == "pt-BR"
    assert sumo_locale("en") == "en-US" and sumo_locale("klingon") is None


async def test_kb_says_when_sumo_does_not_answer(chat: Chat) -> None:
    chat.sumo.down()
    assert "search is not answering right now" in await chat.say(ALICE, "!kb cookies")


async def test_kb_and_questions_say_when_sumo_blocks_the_bot(chat: Chat) -> None:
    chat.sumo.block_user_agents("python")  # aiohttp's own User-Agent: the client sent no honest one
    await chat.poll()

    assert await chat.say(ALICE, "!kb cookies") == (
        "support.mozilla.org refuses this bot's requests (it blocks the bot's User-Agent); a moderator must set "
        "sumo.contact in the configuration and restart the bot.")
    listing = await chat.say(ALICE, "!questions")
    assert "SUMO has not answered yet since the bot started (support.mozilla.org refuses this bot's User-Agent " \
           "(HTTP 429); polling has stopped)" in listing


async def test_kb_and_questions_say_when_sumo_cannot_be_reached(tmp_path: Path) -> None:
    async with FakeKitsune() as gone:
        url = gone.url  # nothing listens there any more
    async with aiohttp.ClientSession() as session:
        world = await sumo_world(tmp_path / "unreachable.db", url, session)
        chat = Chat(world, None, set())  # type: ignore[arg-type]
        try:
            await chat.poll()

            kb = await chat.say(ALICE, "!kb cookies")
            listing = await chat.say(ALICE, "!questions")
        finally:
            await world.close()

    host = url.removeprefix("http://")
    assert kb == (f"{host} cannot be reached from the machine this bot runs on (no connection); !kb works again "
                  "once it can.")
    assert f"SUMO has not answered yet since the bot started ({host} cannot be reached: cannot connect (" in listing


# ---- !iam ---------------------------------------------------------------------------------------------


async def test_iam_links_one_name_per_person(chat: Chat) -> None:
    assert "No usernames linked yet" in await chat.say(ALICE, "!iam")
    assert "you are jdoe on sumo" in await chat.say(ALICE, "!iam sumo @jdoe")
    assert "sumo: jdoe" in await chat.say(ALICE, "!iam")
    taken = await chat.say(EVE, "!iam sumo JDoe")
    assert "already linked to @alice:example.org" in taken
    assert "you are jane on sumo" in await chat.say(ALICE, "!iam sumo jane")  # a new name replaces the old
    assert "you are jdoe on sumo" in await chat.say(EVE, "!iam sumo jdoe")
    assert "Usage: !iam sumo <username>" in await chat.say(EVE, "!iam sumo <b>")
    assert "not set up" in await chat.say(EVE, "!iam forum eve")
