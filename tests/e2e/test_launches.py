"""Launch-day lists end to end: a real Synapse, the bot as a process, a launch a few seconds ahead."""

from __future__ import annotations

import asyncio
import re
import time
from datetime import UTC, datetime

from nio import RoomSendResponse

from tests.e2e.harness import ChatUser, body, keyed

X_POST = "https://x.com/QuantumFan/status/1861234567890"
SAME_PERSON_OTHER_POST = "https://twitter.com/quantumfan/status/1861234567999"
MASTODON_POST = "https://mastodon.social/@tootfan/113456789012345678"


async def react(user: ChatUser, room_id: str, target: str, key: str = "✅") -> str:
    response = await user.client.room_send(room_id, "m.reaction", {
        "m.relates_to": {"rel_type": "m.annotation", "event_id": target, "key": key}})
    assert isinstance(response, RoomSendResponse), response
    return response.event_id


def launch_time(seconds_ahead: float) -> tuple[str, float]:
    """``YYYY-MM-DD HH:MM:SS`` (UTC) that far ahead, and its epoch time (the bot runs on this machine's clock)."""
    at = int(time.time() + seconds_ahead) + 1
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M:%S"), float(at)


async def add_three(cast, room: str) -> None:
    first = body(await cast.alice.ask(room, f"!launch add 150 {X_POST}"))
    assert "Added @QuantumFan (X, en-US) to the Firefox 150 list as number 1" in first
    second = body(await cast.eve.ask(room, f"!launch add 150 {MASTODON_POST} es"))
    assert "Added @tootfan@mastodon.social (Mastodon, es)" in second and "number 2" in second
    refused = body(await cast.mod.ask(room, f"!launch add 150 {SAME_PERSON_OTHER_POST}"))
    assert f"@QuantumFan is already on the Firefox 150 list (number 1), added by {cast.alice.user_id}" in refused


async def test_three_adds_and_a_launch_two_seconds_ahead_give_one_thread_with_two_ready_replies(cast, rooms,
                                                                                                bot_factory):
    bot = await bot_factory(rooms)
    room = rooms.contributors
    await add_three(cast, room)
    assert "for moderators only" in body(await cast.eve.ask(room, "!launch at 150 2030-01-01 10:00"))
    when, _ = launch_time(2)
    scheduled = body(await cast.mod.ask(room, f"!launch at 150 {when}"))
    assert "Firefox 150 launches" in scheduled, scheduled

    root = (await cast.alice.wait_for(keyed(room, "launch:150:root"), timeout=15))[0]
    assert body(root).startswith("Firefox 150 is out: 2 people asked to be told.")
    assert "late" not in body(root).lower()
    chunk = (await cast.alice.wait_for(keyed(room, "launch:150:chunk:1"), timeout=10))[0]
    relation = chunk["content"]["m.relates_to"]
    assert relation["rel_type"] == "m.thread" and relation["event_id"] == root["event_id"]
    text = body(chunk)
    assert "1. @QuantumFan on X" in text and "2. @tootfan@mastodon.social on Mastodon" in text
    assert "@QuantumFan You asked us to tell you when it's out" in text
    assert "@tootfan@mastodon.social Nos pediste que te avisáramos" in text
    assert text.count("update-firefox-latest-release #fxhelp") == 2
    assert "/280 as X counts it" in text and "/500 as Mastodon counts it" in text
    assert chunk["content"]["m.mentions"] == {}  # a list, not a ping

    # A later answer proves the bot is past the launch; still one thread, one list.
    listing = body(await cast.alice.ask(room, "!launch list 150"))
    assert "Answered 0, pending 2" in listing and "Launched" in listing
    await bot.wait_for_ticks(2)  # a few more ticks
    await cast.alice.caught_up(room)
    assert len(cast.alice.matching(keyed(room, "launch:150:root"))) == 1
    assert len(cast.alice.matching(keyed(room, r"launch:150:chunk:\d+"))) == 1

    done = body(await cast.eve.ask(room, "!launch done 150 2"))
    assert "Marked number #2 answered. 1 person still to answer." == done
    listing = body(await cast.alice.ask(room, "!launch list 150"))
    assert "Answered 1, pending 1" in listing and f"✅ answered by {cast.eve.user_id}" in listing
    assert "Everyone is answered!" in body(await cast.alice.ask(room, "!launch done 150 1"))
    all_done = await cast.alice.wait_for(keyed(room, "launch:150:all-done:2"), timeout=10)
    assert all_done[0]["content"]["m.relates_to"]["event_id"] == root["event_id"]


async def test_killed_before_the_launch_and_restarted_after_it_still_one_thread_saying_it_is_late(
        cast, rooms, bot_factory, tmp_path):
    bot = await bot_factory(rooms, folder=tmp_path / "killed")
    room = rooms.contributors
    await add_three(cast, room)
    when, due = launch_time(3)
    assert "Firefox 150 launches" in body(await cast.mod.ask(room, f"!launch at 150 {when}"))
    bot.kill()  # SIGKILL before the launch time
    assert time.time() < due, "the kill came after the launch time; the machine is too slow for this test"
    await asyncio.sleep(max(0.0, due + 1.0 - time.time()))
    await cast.alice.caught_up(room)  # the bot is down: whatever it sent before is seen now
    assert cast.alice.matching(keyed(room, "launch:150:root")) == []
    await bot.start()  # same folder, same database

    root = (await cast.alice.wait_for(keyed(room, "launch:150:root"), timeout=15))[0]
    assert "Posted late: the launch was set for" in body(root)
    await cast.alice.wait_for(keyed(room, "launch:150:chunk:1"), timeout=10)
    assert "Launched" in body(await cast.alice.ask(room, "!launch list 150"))
    await bot.wait_for_ticks(2)
    await cast.alice.caught_up(room)
    assert len(cast.alice.matching(keyed(room, "launch:150:root"))) == 1
    assert len(cast.alice.matching(keyed(room, r"launch:150:chunk:\d+"))) == 1


async def test_a_tick_on_a_list_message_marks_its_people_once_and_a_second_tick_changes_nothing(cast, rooms,
                                                                                                 bot_factory):
    await bot_factory(rooms)
    room = rooms.contributors
    await add_three(cast, room)
    assert "Firefox 150 is launched" in body(await cast.mod.ask(room, "!launch go 150"))
    root = (await cast.alice.wait_for(keyed(room, "launch:150:root"), timeout=15))[0]
    chunk = (await cast.alice.wait_for(keyed(room, "launch:150:chunk:1"), timeout=10))[0]

    tick = await react(cast.eve, room, chunk["event_id"], "✅\ufe0f")  # as Element sends it
    answer = (await cast.alice.wait_for(keyed(room, f"launch:150:marked:{re.escape(tick)}"), timeout=15))[0]
    assert body(answer) == f"✅ {cast.eve.user_id} marked numbers #1, #2 answered. Everyone is answered!"
    relation = answer["content"]["m.relates_to"]
    assert relation["rel_type"] == "m.thread" and relation["event_id"] == root["event_id"]
    assert relation["m.in_reply_to"]["event_id"] == chunk["event_id"]
    assert answer["content"]["m.mentions"] == {}
    all_done = (await cast.alice.wait_for(keyed(room, "launch:150:all-done:2"), timeout=10))[0]
    assert all_done["content"]["m.relates_to"]["event_id"] == root["event_id"]
    listing = body(await cast.alice.ask(room, "!launch list 150"))
    assert "Answered 2, pending 0" in listing and listing.count(f"✅ answered by {cast.eve.user_id}") == 2

    # Another person's ✅ on the same message. The bot handles reactions in timeline order, so once it
    # answered a later ✅ (on the message of someone added after the launch), it has handled this one.
    await react(cast.alice, room, chunk["event_id"])
    late = body(await cast.mod.ask(room, "!launch add 150 https://bsky.app/profile/late.bsky.social/post/3kabc"))
    assert "goes into the launch thread" in late
    late_message = (await cast.alice.wait_for(keyed(room, "launch:150:chunk:2"), timeout=10))[0]
    assert late_message["content"]["m.relates_to"]["event_id"] == root["event_id"]
    last_tick = await react(cast.mod, room, late_message["event_id"])
    last = (await cast.alice.wait_for(keyed(room, f"launch:150:marked:{re.escape(last_tick)}"), timeout=15))[0]
    assert body(last) == f"✅ {cast.mod.user_id} marked number #3 answered. Everyone is answered!"
    await cast.alice.wait_for(keyed(room, "launch:150:all-done:3"), timeout=10)

    assert len(cast.alice.matching(keyed(room, r"launch:150:marked:.*"))) == 2
    assert len(cast.alice.matching(keyed(room, "launch:150:all-done:2"))) == 1
    listing = body(await cast.alice.ask(room, "!launch list 150"))
    assert "Answered 3, pending 0" in listing
    assert listing.count(f"✅ answered by {cast.eve.user_id}") == 2 and f"answered by {cast.alice.user_id}" not in listing
