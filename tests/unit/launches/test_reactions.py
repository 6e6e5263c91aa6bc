"""✅ on a message of a launch thread marks the people in it answered, through the real native layer,
dispatcher and the bot's whole command table (launch and escalation commands side by side: both use ✅), real sqlite
and the real outbox. Events come in the shapes the homeserver delivers, parsed as the sync loop does."""

from __future__ import annotations

import itertools
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.clock import FakeClock, to_timestamp
from bot.features.escalations.service import EscalationService
from bot.features.launches.service import LaunchService
from bot.framework.native import NativeInteractions
from bot.matrix.relations import Incoming, parse_timeline_event
from bot.storage import Storage
from bot.storage.database import Database, shipped_migrations
from tests.fakes.sender import RecordingSender, Sent
from tests.unit.world import BOT, CONTRIBUTORS, MOD, MODERATORS_ROOM
from tests.unit.world import build_world as build_bot_world

ALICE, EVE, BOB = "@alice:example.org", "@eve:example.org", "@bob:example.org"
START = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


class Homeserver:
    async def event(self, room_id: str, event_id: str) -> dict[str, Any] | None:
        return None


@dataclass
class World:
    storage: Storage
    clock: FakeClock
    sender: RecordingSender
    launches: LaunchService
    escalations: EscalationService
    native: NativeInteractions
    numbers: Any

    def raw(self, sender: str, content: dict[str, Any], kind: str = "m.room.message", **top: Any) -> dict[str, Any]:
        return {"type": kind, "event_id": f"$e{next(self.numbers)}", "sender": sender,
                "origin_server_ts": int(to_timestamp(self.clock.now()) * 1000), "content": content, **top}

    async def deliver(self, *events: dict[str, Any], room: str = CONTRIBUTORS) -> list[Sent]:
        """One sync batch; what the bot sent for it."""
        before = len(self.sender.sent)
        parsed: list[Incoming] = [p for e in events if (p := parse_timeline_event(room, e)) is not None]
        assert await self.native.handle_batch(parsed) == []
        self.clock.advance(timedelta(seconds=5))
        return self.sender.sent[before:]

    async def say(self, sender: str, body: str, room: str = CONTRIBUTORS) -> list[Sent]:
        return await self.deliver(self.raw(sender, {"msgtype": "m.text", "body": body}), room=room)

    def reaction(self, sender: str, target: str, key: str = "✅") -> dict[str, Any]:
        return self.raw(sender, {"m.relates_to": {"rel_type": "m.annotation", "event_id": target, "key": key}},
                        kind="m.reaction")

    async def react(self, sender: str, target: str, key: str = "✅", room: str = CONTRIBUTORS) -> list[Sent]:
        return await self.deliver(self.reaction(sender, target, key), room=room)

    def posted(self, key: str) -> Sent:
        [sent] = self.sender.with_key(key)
        return sent

    async def pending(self) -> list[int]:
        return [e.number for e in await self.storage.launches.entries("150") if not e.done]


async def build_world(path: Path, clock: FakeClock, name: str = "first") -> World:
    """The one world builder's bot (tests/unit/world.py), every command of the bot in its table, with the
    native interactions on top as ``bot.app`` puts them."""
    bot = await build_bot_world(path, clock, sender_name=name)
    return World(bot.storage, clock, bot.sender, bot.launches, bot.escalations, bot.native(Homeserver()),
                 itertools.count(1))


@pytest.fixture
async def world(tmp_path: Path):
    built = await build_world(tmp_path / "react.db", FakeClock(START))
    yield built
    await built.storage.close()


async def launched(world: World, people: int) -> None:
    for n in range(people):
        await world.say(ALICE, f"!launch add 150 https://x.com/person{n}/status/{1000 + n}")
    await world.say(MOD, "!launch go 150")


def numbers_in(sent: Sent) -> list[int]:
    return [int(n) for n in re.findall(r"^(\d+)\. @", sent.text, re.M)]


def thread_answers(sent: list[Sent]) -> list[Sent]:
    return [s for s in sent if s.key and ":marked:" in s.key]


# ---- which message holds whom ------------------------------------------------------------------

async def test_each_posted_message_knows_its_people_chunks_of_ten_and_a_late_one_alone(world):
    await launched(world, 23)
    await world.say(EVE, "!launch add 150 https://x.com/late_one/status/9")
    for chunk, expected in [(1, range(1, 11)), (2, range(11, 21)), (3, range(21, 24)), (4, [24])]:
        message = world.posted(f"launch:150:chunk:{chunk}")
        posted = await world.launches.posted_message(CONTRIBUTORS, message.event_id)
        assert posted is not None and posted.launch.label == "150"
        assert [e.number for e in posted.entries] == list(expected) == numbers_in(message)
    root = world.posted("launch:150:root").event_id
    assert await world.launches.posted_message(CONTRIBUTORS, root) is None
    chunk_1 = world.posted("launch:150:chunk:1").event_id
    assert await world.launches.posted_message(MODERATORS_ROOM, chunk_1) is None  # not where the thread is
    assert "react ✅ on a message below" in world.posted("launch:150:root").text


async def test_a_tick_on_a_message_posted_just_before_a_crash_still_marks_its_people(world):
    await launched(world, 3)
    chunk = world.posted("launch:150:chunk:1")
    # The crash: the message went out, but the bot died before recording which one it was.
    await world.storage.db.execute("UPDATE launch_entries SET posted_at = NULL, event_id = NULL WHERE release = '150'")

    sent = await world.react(EVE, chunk.event_id)

    assert [s.text for s in thread_answers(sent)] == [f"✅ {EVE} marked numbers #1, #2, #3 answered. Everyone is answered!"]
    assert world.sender.with_key("launch:150:chunk:1") == [chunk]  # not posted a second time
    assert await world.pending() == []


async def test_a_tick_on_a_chunk_marks_everyone_still_pending_in_it_and_the_thread_hears_what_and_who(world):
    await launched(world, 12)
    await world.say(BOB, "!launch done 150 2")
    chunk = world.posted("launch:150:chunk:1")

    sent = await world.react(EVE, chunk.event_id, "✅\ufe0f")  # Element adds the variation selector

    [answer] = sent
    assert answer.text == (f"✅ {EVE} marked numbers #1, #3, #4, #5, #6, #7, #8, #9, #10 answered. "
                           "2 people still to answer.")
    assert answer.room_id == CONTRIBUTORS and answer.reply_to == chunk.event_id
    assert answer.thread_root == world.posted("launch:150:root").event_id
    assert answer.message.mentions == ()
    assert await world.pending() == [11, 12]
    entries = {e.number: e for e in await world.storage.launches.entries("150")}
    assert entries[2].done_by == BOB and all(entries[n].done_by == EVE for n in (1, 3, 10))
    listing = await world.say(ALICE, "!launch list 150")
    assert "Answered 10, pending 2" in listing[0].text and f"✅ answered by {EVE}" in listing[0].text


async def test_a_tick_on_a_late_entrys_message_marks_that_one_and_all_done_comes_once(world):
    await launched(world, 2)
    await world.say(EVE, "!launch add 150 https://x.com/late_one/status/9")
    await world.react(EVE, world.posted("launch:150:chunk:1").event_id)
    assert await world.pending() == [3]
    assert world.sender.with_key("launch:150:all-done:3") == []

    sent = await world.react(BOB, world.posted("launch:150:chunk:2").event_id)

    assert [s.text for s in sent] == [
        f"✅ {BOB} marked number #3 answered. Everyone is answered!",
        "All 3 people on the Firefox 150 list got their answer. Thank you!",
    ]
    assert sent[1].key == "launch:150:all-done:3"
    assert await world.pending() == []


async def test_a_second_tick_a_replay_and_a_restart_mark_nothing_and_say_nothing(tmp_path):
    clock = FakeClock(START)
    first = await build_world(tmp_path / "r.db", clock)
    try:
        await launched(first, 2)
        chunk = first.posted("launch:150:chunk:1").event_id
        tick = first.reaction(EVE, chunk)
        sent = await first.deliver(tick)
        assert [s.key for s in sent] == [f"launch:150:marked:{tick['event_id']}", "launch:150:all-done:2"]

        assert await first.react(BOB, chunk) == []     # another person's ✅ on the same message
        assert await first.deliver(tick) == []         # the same batch again
    finally:
        await first.storage.close()
    second = await build_world(tmp_path / "r.db", clock, "second")
    try:
        assert await second.deliver(tick) == []        # and after a restart
        assert await second.react(MOD, chunk) == []
        entries = await second.storage.launches.entries("150")
        assert [(e.done_by, e.done_event_id) for e in entries] == [(EVE, tick["event_id"])] * 2
    finally:
        await second.storage.close()


async def test_a_tick_whose_thread_answer_could_not_go_is_answered_once_when_the_batch_comes_again(world):
    await launched(world, 3)
    chunk = world.posted("launch:150:chunk:1").event_id
    batch = [parse_timeline_event(CONTRIBUTORS, world.reaction(EVE, chunk))]
    world.sender.unavailable_next = 1
    before = len(world.sender.sent)
    assert await world.native.handle_batch(batch) == batch  # the sync loop keeps its token
    assert await world.pending() == []                       # marked, but the thread not told yet
    assert await world.native.handle_batch(batch) == []
    assert await world.native.handle_batch(batch) == []

    texts = [s.text for s in world.sender.sent[before:]]
    assert texts == [f"✅ {EVE} marked numbers #1, #2, #3 answered. Everyone is answered!",
                     "All 3 people on the Firefox 150 list got their answer. Thank you!"]


# ---- ✅ is also the escalations' key ------------------------------------------------------------

async def test_a_tick_on_an_escalation_ping_resolves_it_and_touches_no_launch_and_the_reverse(world):
    await launched(world, 2)
    escalated = await world.say(ALICE, "!escalate https://x.com/a/status/1 trending")
    [ping] = [s for s in escalated if s.room_id == MODERATORS_ROOM]
    chunk = world.posted("launch:150:chunk:1").event_id
    assert await world.escalations.number_pinged_by(CONTRIBUTORS, chunk) is None
    assert await world.launches.posted_message(MODERATORS_ROOM, ping.event_id) is None

    on_ping = await world.react(MOD, ping.event_id, room=MODERATORS_ROOM)
    assert (await world.storage.escalations.get(1)).state == "resolved"
    assert await world.pending() == [1, 2]
    assert thread_answers(on_ping) == [] and not any(s.key and s.key.startswith("launch:") for s in on_ping)

    await world.say(ALICE, "!escalate https://x.com/b/status/2 trending")
    on_chunk = await world.react(MOD, chunk)
    assert [s.text for s in thread_answers(on_chunk)] == [f"✅ {MOD} marked numbers #1, #2 answered. "
                                                          "Everyone is answered!"]
    assert (await world.storage.escalations.get(2)).state == "open"
    assert all(s.room_id == CONTRIBUTORS and s.kind == "message" for s in on_chunk)


async def test_a_tick_on_anything_else_does_nothing(world, caplog):
    caplog.set_level(logging.INFO, logger="bot.framework.native")
    await launched(world, 2)
    root = world.posted("launch:150:root").event_id
    chunk = world.posted("launch:150:chunk:1").event_id
    [answer] = await world.say(ALICE, "!launch list 150")
    [words] = [world.raw(ALICE, {"msgtype": "m.text", "body": "I answered the first two"})]
    await world.deliver(words)
    before = len(world.sender.sent)

    for target in (root, answer.event_id, words["event_id"], "$not-an-event"):
        assert await world.react(EVE, target) == []
    assert await world.react(EVE, chunk, "👍") == []            # another emoji
    assert await world.react(EVE, chunk, room=MODERATORS_ROOM) == []  # the event is not in that room
    assert await world.deliver(world.reaction(BOT, chunk)) == []  # the bot's own ✅

    assert world.sender.sent[before:] == []
    assert await world.pending() == [1, 2]
    assert "ran !launch done" not in caplog.text


async def test_taking_the_tick_back_unmarks_nobody_and_says_nothing(world):
    await launched(world, 2)
    tick = world.reaction(EVE, world.posted("launch:150:chunk:1").event_id)
    await world.deliver(tick)
    redaction = world.raw(EVE, {"redacts": tick["event_id"]}, kind="m.room.redaction", redacts=tick["event_id"])
    assert await world.deliver(redaction) == []
    assert await world.pending() == []


async def test_help_tells_everyone_about_the_tick(world):
    [overview] = await world.say(ALICE, "!help")
    assert "React instead of typing: ✅ on a message of a launch thread is !launch done." in overview.text
    assert "Moderators, react instead of typing" not in overview.text
    [for_moderators] = await world.say(MOD, "!help")
    assert "Moderators, react instead of typing: 👀 on an escalation's ping is !ack; ✅ on an escalation's ping " \
           "is !resolve." in for_moderators.text
    [launch_help] = await world.say(ALICE, "!help launch")
    assert "Or react ✅ on a message of the launch thread: everyone still pending in it is marked answered" \
           in launch_help.text
    assert "taking the ✅ back unmarks nobody" in launch_help.text


async def test_lists_launched_before_the_upgrade_learn_their_messages_from_the_outbox(tmp_path):
    path = tmp_path / "old.db"
    old = await Database.open(path, [m for m in shipped_migrations() if m.version < 15])
    at = to_timestamp(START)
    await old.execute("INSERT INTO launches (release, label, state, created_at, launched_at, thread_event_id) "
                      "VALUES ('150', '150', 'launched', ?, ?, '$root')", (at, at))
    for number, chunk in [(1, 1), (2, 1), (3, 2)]:
        await old.execute(
            "INSERT INTO launch_entries (release, number, network, handle, handle_key, post_key, post_url, locale, "
            "added_by, added_at, command_event_id, chunk, posted_at) VALUES ('150', ?, 'X', ?, ?, ?, ?, 'en-US', ?, "
            "?, '$cmd', ?, ?)", (number, f"@p{number}", f"p{number}", f"x/{number}", f"https://x.com/p{number}/status/1",
                                 ALICE, at, chunk, at))
    # chunk 1's outbox row is still kept; chunk 2's was pruned
    await old.execute("INSERT INTO outbox (key, txn_id, room_id, created_at, event_id, sent_at) "
                      "VALUES ('launch:150:chunk:1', 't', ?, ?, '$chunk1', ?)", (CONTRIBUTORS, at, at))
    await old.close()

    world = await build_world(path, FakeClock(START))
    try:
        assert [e.number for e in await world.storage.launches.in_message("$chunk1")] == [1, 2]
        sent = await world.react(EVE, "$chunk1")
        assert [s.text for s in sent] == [f"✅ {EVE} marked numbers #1, #2 answered. 1 person still to answer."]
        assert sent[0].thread_root == "$root" and sent[0].reply_to == "$chunk1"
        assert [e.event_id for e in await world.storage.launches.entries("150")] == ["$chunk1", "$chunk1", None]
    finally:
        await world.storage.close()
