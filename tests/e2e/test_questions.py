"""SUMO questions end to end: a real Synapse, the bot as a process, a fake Kitsune, an 8-second window."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import pytest

from tests.e2e.harness import ask_until, body, keyed
from tests.fakes.kitsune import FakeKitsune

Predicate = Callable[[str, dict[str, Any]], bool]
SECONDS = timedelta(seconds=1)


@pytest.fixture
async def sumo() -> AsyncIterator[FakeKitsune]:
    async with FakeKitsune() as fake:
        yield fake


def sumo_section(sumo: FakeKitsune) -> dict[str, Any]:
    return {"api_url": sumo.url, "poll": "1s", "window": "8s", "remind_after": "4s", "locales": ["en-US"]}




async def test_a_stale_question_is_announced_once_across_a_restart(cast, rooms, bot_factory, sumo, tmp_path):
    stale = sumo.add_question("Firefox crashes when printing", age=SECONDS)
    followed_up = sumo.add_question("Bookmarks gone after update", age=SECONDS, asker="maria")
    sumo.answer(followed_up, "maria")  # the asker's own follow-up is not an answer
    helped = sumo.add_question("Video has no sound", age=SECONDS)
    sumo.answer(helped, "helper1")
    bot = await bot_factory(rooms, folder=tmp_path / "sumo", sumo=sumo_section(sumo))

    reminder = (await cast.alice.wait_for(keyed(rooms.contributors, r"sumo:remind:\d+"), timeout=15))[0]
    text = body(reminder)
    assert "Firefox crashes when printing" in text and "Bookmarks gone after update" in text
    assert "Video has no sound" not in text
    assert f"/en-US/questions/{stale}" in reminder["content"]["formatted_body"]

    bot.kill()  # SIGKILL between the reminder and the end of the window
    await asyncio.sleep(1)
    await bot.start()  # same folder, same database

    notice = (await cast.alice.wait_for(keyed(rooms.contributors, r"sumo:final:\d+"), timeout=15))[0]
    assert "Firefox crashes when printing" in body(notice) and "Video has no sound" not in body(notice)
    ping = (await cast.mod.wait_for(keyed(rooms.moderators, r"sumo:final:\d+:moderators"), timeout=10))[0]
    assert ping["content"]["m.mentions"] == {"user_ids": [cast.mod.user_id]}

    await bot.wait_for_polls("sumo", 2)  # more polls, then ticks to send what they planned: nothing may come twice
    await bot.wait_for_ticks(2)
    await cast.alice.caught_up(rooms.contributors)
    await cast.mod.caught_up(rooms.moderators)
    mentioning = [body(e) for e in cast.alice.matching(keyed(rooms.contributors, r"sumo:.*"))]
    assert sum("Firefox crashes when printing" in text for text in mentioning) == 2  # one reminder, one notice
    assert not any("Video has no sound" in text for text in mentioning)
    assert len(cast.mod.matching(keyed(rooms.moderators, r"sumo:final:.*"))) == 1


async def test_take_shows_in_the_list_and_forum_answers_count_in_top(cast, rooms, bot_factory, sumo):
    question = sumo.add_question("Sync keeps signing me out", age=SECONDS)
    answered = sumo.add_question("Where did my toolbar go?", age=SECONDS)
    sumo.answer(answered, "Helper_One")
    no_profile = sumo.add_question("Passwords vanished", age=SECONDS)
    sumo.answer(no_profile, None)  # Kitsune's creator: null, an old account without a profile
    contact = "https://wiki.example.org/fxhelp-e2e"
    await bot_factory(rooms, sumo={**sumo_section(sumo), "window": "1h", "remind_after": "30m", "contact": contact})

    listing = await ask_until(cast.alice, rooms.contributors, "!questions", "Sync keeps signing me out")
    short_id = str(question)[-4:]
    assert f"{short_id} en-US Sync keeps signing me out" in listing and "Where did my toolbar go?" not in listing
    assert "Passwords vanished" not in listing  # answered, by someone without a profile
    assert sumo.user_agents and all(agent.endswith(f"(Matrix bot for Mozilla Social Support; +{contact})")
                                    for agent in sumo.user_agents)
    assert "59m left" in listing or "1h left" in listing

    taken = body(await cast.alice.ask(rooms.contributors, f"!take {short_id}"))
    assert "It's yours for 2h" in taken
    seen_by_eve = body(await cast.eve.ask(rooms.contributors, "!questions"))
    assert f"taken by {cast.alice.user_id} for 1h 59m more" in seen_by_eve
    refused = body(await cast.eve.ask(rooms.contributors, f"!take {question}"))
    assert f"taken by {cast.alice.user_id}" in refused and "pick another one" in refused

    linked = body(await cast.eve.ask(rooms.contributors, "!iam sumo helper_one"))
    assert "you are helper_one on sumo" in linked
    top = body(await cast.alice.ask(rooms.contributors, "!top"))
    assert f"{cast.eve.user_id} — 1 first answer" in top and "forum questions" in top


async def test_without_a_sumo_section_the_commands_say_so(cast, rooms, bot_factory):
    await bot_factory(rooms)
    for command in ("!questions", "!take 1234", "!kb clear cookies", "!iam sumo me"):
        assert "not set up" in body(await cast.alice.ask(rooms.contributors, command)), command
