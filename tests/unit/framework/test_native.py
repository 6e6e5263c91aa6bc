"""Edited, redacted and reacted-to commands, through the real dispatcher, command table and storage.

Events are built in the shapes the homeserver delivers (parsed by ``parse_timeline_event`` as the
sync loop does); what the bot sends is read back from the recording sender.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from bot.clock import FakeClock, to_timestamp
from bot.features.escalations.service import EscalationService
from bot.framework.native import NativeInteractions
from bot.matrix.relations import Incoming, parse_timeline_event
from bot.ops.metrics import Metrics
from bot.storage import Storage
from tests.fakes.sender import RecordingSender, Sent
from tests.unit.world import Settings, build_world

CONTRIBUTORS = "!contributors:example.org"
MODERATORS_ROOM = "!moderators:example.org"
ALICE, BOB = "@alice:example.org", "@bob:example.org"
MOD, MOD2 = "@mod:example.org", "@mod2:example.org"
BOT = "@fxhelpbot:example.org"
WINDOW = timedelta(hours=1)


class Homeserver:
    """The raw events the bot may look up (an edited message it never answered)."""

    def __init__(self) -> None:
        self.events: dict[str, dict[str, Any]] = {}

    async def event(self, room_id: str, event_id: str) -> dict[str, Any] | None:
        return self.events.get(event_id)


@dataclass
class World:
    storage: Storage
    clock: FakeClock
    sender: RecordingSender
    homeserver: Homeserver
    native: NativeInteractions
    escalations: EscalationService
    numbers: Any
    metrics: Metrics

    def raw(self, sender: str, content: dict[str, Any], kind: str = "m.room.message", room: str = CONTRIBUTORS,
            **top: Any) -> dict[str, Any]:
        event = {"type": kind, "event_id": f"$e{next(self.numbers)}", "sender": sender,
                 "origin_server_ts": int(to_timestamp(self.clock.now()) * 1000), "content": content, **top}
        self.homeserver.events[event["event_id"]] = event
        return event

    async def deliver(self, *events: dict[str, Any], room: str = CONTRIBUTORS) -> list[Sent]:
        """One sync batch; returns what the bot sent for it."""
        before = len(self.sender.sent)
        parsed: list[Incoming] = [p for e in events if (p := parse_timeline_event(room, e)) is not None]
        await self.native.handle_batch(parsed)
        self.clock.advance(timedelta(seconds=5))
        return self.sender.sent[before:]

    async def say(self, sender: str, body: str, room: str = CONTRIBUTORS) -> tuple[str, list[Sent]]:
        event = self.raw(sender, {"msgtype": "m.text", "body": body})
        return event["event_id"], await self.deliver(event, room=room)

    async def edit(self, sender: str, target: str, body: str, room: str = CONTRIBUTORS) -> list[Sent]:
        return await self.deliver(self.edit_event(sender, target, body), room=room)

    def edit_event(self, sender: str, target: str, body: str) -> dict[str, Any]:
        return self.raw(sender, {"msgtype": "m.text", "body": f"* {body}", "m.mentions": {},
                                 "m.new_content": {"msgtype": "m.text", "body": body, "m.mentions": {}},
                                 "m.relates_to": {"rel_type": "m.replace", "event_id": target}})

    async def redact(self, sender: str, target: str) -> list[Sent]:
        return await self.deliver(self.raw(sender, {"redacts": target}, kind="m.room.redaction", redacts=target))

    async def react(self, sender: str, target: str, key: str, room: str = MODERATORS_ROOM) -> list[Sent]:
        content = {"m.relates_to": {"rel_type": "m.annotation", "event_id": target, "key": key}}
        return await self.deliver(self.raw(sender, content, kind="m.reaction"), room=room)


async def build(storage: Storage, clock: FakeClock, homeserver: Homeserver, name: str = "first") -> World:
    """The one world builder's bot (tests/unit/world.py) with the sync side's native interactions on top,
    as ``bot.app`` puts them, the homeserver's event lookup standing in for the Matrix client."""
    bot = await build_world(None, clock, Settings(moderators=(MOD, MOD2), pings=(MOD,), edit_window=WINDOW),
                            storage=storage, sender_name=name)
    native = bot.native(homeserver)
    return World(storage, clock, bot.sender, homeserver, native, bot.escalations, itertools.count(1), bot.metrics)


@pytest.fixture
async def world(storage: Storage) -> World:
    return await build(storage, FakeClock(), Homeserver())


def messages(sent: list[Sent]) -> list[Sent]:
    return [s for s in sent if s.kind == "message"]


async def test_an_edited_command_without_effects_edits_the_answer(world: World) -> None:
    command, [answer] = await world.say(ALICE, "!pnig")
    assert "Did you mean" in answer.text
    _, [pong] = await world.say(ALICE, "!ping")
    ping_command = world.sender.sent[-1].reply_to

    [edit] = await world.edit(ALICE, ping_command, "!help ping")

    assert edit.kind == "edit" and edit.reply_to == pong.event_id and edit.room_id == CONTRIBUTORS
    assert edit.text.startswith("!ping — check that the bot is alive")
    assert await world.edit(ALICE, ping_command, "!help ping") == []  # the same answer: nothing to edit
    [again] = await world.edit(ALICE, ping_command, "!help help")  # …latest wins, same answer edited again
    assert again.reply_to == pong.event_id and again.text.startswith("!help [command]")


async def test_an_edit_is_applied_once_and_an_older_edit_loses(world: World) -> None:
    command, [answer] = await world.say(ALICE, "!ping")
    first = world.edit_event(ALICE, command, "!help ping")
    world.clock.advance(timedelta(seconds=1))
    second = world.edit_event(ALICE, command, "!help help")

    sent = await world.deliver(second, first)  # out of order, as after a gap is filled
    sent += await world.deliver(second)          # a replayed batch

    assert [(s.kind, s.reply_to) for s in sent] == [("edit", answer.event_id)]
    assert sent[0].text.startswith("!help [command]")


async def test_an_edited_escalate_opens_nothing_and_says_so_once(world: World) -> None:
    command, sent = await world.say(ALICE, "!escalate https://x.com/a/status/1 trending")
    answer = messages(sent)[-1]
    assert "Escalation #1 is open" in answer.text

    [note] = await world.edit(ALICE, command, "!escalate https://x.com/a/status/2 trending")
    assert await world.edit(ALICE, command, "!escalate https://x.com/a/status/3 paid") == []

    assert note.kind == "edit" and note.reply_to == answer.event_id
    assert note.text.startswith(answer.text)
    assert note.text.endswith("Your edit changed nothing: an edited !escalate is not run again; to report "
                              "another post, send a new !escalate.")
    assert await world.storage.escalations.count(("open", "acknowledged", "resolved")) == 1


async def test_an_escalate_stopped_by_a_typo_runs_for_real_when_edited(world: World) -> None:
    command, [usage] = await world.say(ALICE, "!escalate https://x.com/a/status/1 trendign")
    assert usage.text.startswith("Unknown reason 'trendign'")

    sent = await world.edit(ALICE, command, "!escalate https://x.com/a/status/1 trending")
    [notice] = [s for s in sent if s.room_id == MODERATORS_ROOM]
    [edited] = [s for s in sent if s.kind == "edit"]
    assert "Escalation #1" in notice.text and notice.message.mentions == (MOD,)
    assert edited.reply_to == usage.event_id and "Escalation #1 is open (reason: trending)" in edited.text
    assert len(sent) == 2

    [note] = await world.edit(ALICE, command, "!escalate https://x.com/a/status/2 trending")
    assert "changed nothing" in note.text
    assert await world.storage.escalations.count(("open",)) == 1


async def test_a_command_edited_into_words_loses_its_answer_and_a_later_command_gets_a_new_one(world: World) -> None:
    command, [answer] = await world.say(ALICE, "!help")
    [redaction] = await world.edit(ALICE, command, "never mind")
    assert (redaction.kind, redaction.reply_to) == ("redaction", answer.event_id)

    [fresh] = await world.edit(ALICE, command, "!ping")
    assert fresh.kind == "message" and fresh.reply_to == command and fresh.text.startswith("Pong!")


async def test_words_or_an_unknown_command_edited_into_a_command_are_answered_as_a_reply(world: World) -> None:
    words, nothing = await world.say(ALICE, "hello all")
    assert nothing == []
    [answer] = await world.edit(ALICE, words, "!ping")
    assert answer.kind == "message" and answer.reply_to == words and answer.text.startswith("Pong!")

    typo, [hint] = await world.say(ALICE, "!escalat https://x.com/a/status/9")
    assert "Did you mean" in hint.text
    sent = await world.edit(ALICE, typo, "!escalate https://x.com/a/status/9")
    assert [s.reply_to for s in messages(sent)][-1] == typo
    assert "Escalation #1 is open" in messages(sent)[-1].text
    # …and now it is a command with effects: a further edit opens nothing.
    [note] = await world.edit(ALICE, typo, "!escalate https://x.com/a/status/10")
    assert note.kind == "edit" and "changed nothing" in note.text
    assert await world.storage.escalations.count(("open",)) == 1


async def test_edits_by_someone_else_after_the_window_or_of_notices_are_ignored(world: World) -> None:
    command, _ = await world.say(ALICE, "!ping")
    assert await world.edit(BOB, command, "!help") == []
    world.clock.advance(WINDOW + timedelta(minutes=1))
    assert await world.edit(ALICE, command, "!help") == []
    words, _ = await world.say(ALICE, "hi")
    world.clock.advance(WINDOW + timedelta(minutes=1))
    assert await world.edit(ALICE, words, "!ping") == []


async def test_edits_work_the_same_after_a_restart(world: World) -> None:
    command, [answer] = await world.say(ALICE, "!ping")
    restarted = await build(world.storage, world.clock, world.homeserver, name="second")
    restarted.numbers = world.numbers
    [edit] = await restarted.edit(ALICE, command, "!help ping")
    assert edit.kind == "edit" and edit.reply_to == answer.event_id


async def test_redacting_a_command_without_effects_redacts_the_answer_once(world: World) -> None:
    command, [answer] = await world.say(ALICE, "!help")
    assert await world.redact(BOB, command) == []  # not their command
    [redaction] = await world.redact(ALICE, command)
    assert (redaction.kind, redaction.reply_to) == ("redaction", answer.event_id)
    assert await world.redact(ALICE, command) == []

    escalate, _ = await world.say(ALICE, "!escalate https://x.com/a/status/1")
    assert await world.redact(ALICE, escalate) == []  # the answer stays, a record of what was done


async def ping_of(world: World) -> tuple[str, str, int]:
    """An open escalation: its command, its ping in the moderators' room and its number."""
    command, sent = await world.say(ALICE, "!escalate https://x.com/a/status/1 trending")
    [ping] = [s for s in sent if s.room_id == MODERATORS_ROOM]
    return command, ping.event_id, 1


async def test_a_moderators_eyes_on_the_ping_acknowledge_once(world: World) -> None:
    command, ping, number = await ping_of(world)

    eyes = world.raw(MOD, {"m.relates_to": {"rel_type": "m.annotation", "event_id": ping, "key": "👀"}},
                     kind="m.reaction")
    sent = await world.deliver(eyes, room=MODERATORS_ROOM)
    second = await world.react(MOD2, ping, "👀")
    replayed = await world.deliver(eyes, room=MODERATORS_ROOM)

    [told] = messages(sent)
    assert told.reply_to == command and told.message.mentions == (ALICE,)
    assert f"escalation #{number} was acknowledged by {MOD}" in told.text
    assert [(s.kind, s.reply_to, s.text) for s in sent if s.kind == "reaction"] == [("reaction", ping, "👀")]
    assert second == [] and replayed == []
    assert (await world.storage.escalations.get(number)).acknowledged_by == MOD


async def test_a_tick_resolves_and_other_peoples_reactions_do_nothing(world: World, caplog) -> None:
    caplog.set_level(logging.INFO, logger="bot.framework.native")
    command, ping, number = await ping_of(world)
    assert await world.react(BOB, ping, "👀") == []
    assert "may not ack" in caplog.text
    assert await world.react(MOD, ping, "👍") == []
    assert await world.react(MOD, ping, "👀", room=CONTRIBUTORS) == []
    assert (await world.storage.escalations.get(number)).state == "open"

    sent = await world.react(MOD, ping, "✅\ufe0f")

    assert "was resolved by" in messages(sent)[0].text
    assert world.sender.reactions() == [(ping, "✅")]


async def test_commands_run_by_a_reaction_or_an_edit_are_counted_like_typed_ones(world: World) -> None:
    def runs(command: str) -> float:
        return world.metrics.registry.get_sample_value(
            "fxhelp_commands_total", {"command": command, "outcome": "ok"}) or 0.0

    _, ping, _ = await ping_of(world)
    await world.react(MOD, ping, "👀")
    assert runs("ack") == 1
    command, _ = await world.say(ALICE, "!ping")
    await world.edit(ALICE, command, "!help ping")
    assert (runs("ping"), runs("help")) == (1, 1)


async def test_a_typed_ack_marks_the_ping_too_and_a_typed_resolve_adds_the_tick(world: World) -> None:
    _, ping, number = await ping_of(world)
    await world.say(MOD, f"!ack {number}", room=MODERATORS_ROOM)
    await world.say(MOD, f"!ack {number}", room=MODERATORS_ROOM)  # refused, and no second mark
    await world.say(MOD, f"!resolve {number}", room=MODERATORS_ROOM)
    assert world.sender.reactions() == [(ping, "👀"), (ping, "✅")]


async def test_help_tells_about_edits_and_moderators_about_reactions(world: World) -> None:
    _, [overview] = await world.say(ALICE, "!help")
    _, [for_moderators] = await world.say(MOD, "!help")
    _, [ack] = await world.say(MOD, "!help ack")

    assert "Edit your command" in overview.text and "Delete your command" in overview.text
    assert "✅ an answered consult" in overview.text
    assert "react instead of typing" not in overview.text
    assert "Moderators, react instead of typing: 👀 on an escalation's ping is !ack; ✅ on an escalation's ping " \
           "is !resolve." in for_moderators.text
    assert "Or react 👀 on its ping in the moderators' room." in ack.text


async def test_a_batch_the_homeserver_could_not_take_is_handled_again_whole_and_answered_once(world: World) -> None:
    command = world.raw(ALICE, {"msgtype": "m.text", "body": "!help"})
    edit = world.edit_event(ALICE, command["event_id"], "!help escalate")
    batch = [parse_timeline_event(CONTRIBUTORS, event) for event in (command, edit)]
    world.sender.unavailable_next = 1
    # The command's answer could not go: the command and the edit behind it wait (the sync loop keeps its token).
    assert [item.event_id for item in await world.native.handle_batch(batch)] == [command["event_id"], edit["event_id"]]
    assert world.sender.sent == []
    assert await world.native.handle_batch(batch) == []  # the same batch, fetched again
    assert await world.native.handle_batch(batch) == []  # and once more: nothing new
    (answer,) = messages(world.sender.sent)
    assert answer.reply_to == command["event_id"]
    (edited,) = [s for s in world.sender.sent if s.kind == "edit"]
    assert edited.reply_to == answer.event_id and "escalate" in edited.text
