"""!dashboard has effects (a sign-in link by direct message, or sessions ended): an edit of it does
not run it again, through the real dispatcher, edit handling and storage."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

from bot.clock import FakeClock, to_timestamp
from bot.framework.command import CommandTable
from bot.framework.dispatcher import Dispatcher
from bot.framework.native import NativeInteractions
from bot.matrix.moderators import Moderators
from bot.matrix.relations import parse_timeline_event
from bot.ops.dashboard.access import DashboardAccess
from bot.ops.dashboard.signin import SignIn
from bot.ops.metrics import Metrics
from bot.storage import Storage
from commands.dashboard import DashboardCommands
from tests.fakes.sender import RecordingSender, Sent

ROOM = "!moderators:example.org"
MOD = "@mod:example.org"
BOT = "@fxhelpbot:example.org"


class FakeDirectRooms:
    async def room_with(self, user_id: str) -> str:
        return f"!dm-{user_id}"


class Bot:
    def __init__(self, storage: Storage) -> None:
        self.clock = FakeClock()
        self.sender = RecordingSender(storage.outbox, self.clock)
        self.signin = SignIn(storage.dashboard_sessions, self.clock, "http://127.0.0.1:9108")
        table = CommandTable(DashboardCommands(DashboardAccess(self.signin, FakeDirectRooms(), self.sender)).commands())
        moderators = Moderators([MOD], 50)
        metrics = Metrics()
        dispatcher = Dispatcher(table, "!", BOT, lambda: [ROOM], moderators, self.sender, storage.handled_events,
                                self.clock, metrics)
        self.native = NativeInteractions(dispatcher, storage.answers, storage.handled_events, self.sender, self, moderators,
                                         self.clock, metrics, timedelta(hours=1))
        self.events: dict[str, dict[str, Any]] = {}
        self.numbers = itertools.count(1)

    async def event(self, room_id: str, event_id: str) -> dict[str, Any] | None:
        return self.events.get(event_id)

    async def deliver(self, content: dict[str, Any]) -> tuple[str, list[Sent]]:
        event = {"type": "m.room.message", "event_id": f"$e{next(self.numbers)}", "sender": MOD,
                 "origin_server_ts": int(to_timestamp(self.clock.now()) * 1000), "content": content}
        self.events[event["event_id"]] = event
        before = len(self.sender.sent)
        parsed = parse_timeline_event(ROOM, event)
        assert parsed is not None
        await self.native.handle_batch([parsed])
        self.clock.advance(timedelta(seconds=5))
        return event["event_id"], self.sender.sent[before:]

    async def say(self, body: str) -> tuple[str, list[Sent]]:
        return await self.deliver({"msgtype": "m.text", "body": body})

    async def edit(self, target: str, body: str) -> list[Sent]:
        return (await self.deliver({"msgtype": "m.text", "body": f"* {body}", "m.new_content": {
            "msgtype": "m.text", "body": body}, "m.relates_to": {"rel_type": "m.replace", "event_id": target}}))[1]


def links(sent: list[Sent]) -> list[Sent]:
    return [s for s in sent if s.room_id == f"!dm-{MOD}" and "/login/" in s.text]


async def test_an_edited_dashboard_sends_no_second_link_and_ends_no_session(storage: Storage) -> None:
    bot = Bot(storage)
    command, sent = await bot.say("!dashboard")
    (link,) = links(sent)
    assert any(s.room_id == ROOM and "sent you a link in a direct message" in s.text for s in sent)
    signed_in = await bot.signin.redeem(link.text.split("/login/")[1].split()[0])
    assert signed_in is not None

    for body in ("!dashboard", "!dashboard revoke"):
        edited = await bot.edit(command, body)
        assert links(edited) == []
    (refusal,) = [s for s in bot.sender.sent if s.kind == "edit"]  # said once, the second edit changes nothing
    assert "an edited !dashboard is not run again; for another sign-in link, send a new !dashboard" in refusal.text
    assert await bot.signin.session_user(signed_in.session.text) == MOD


async def test_a_dashboard_stopped_by_a_typo_sends_its_link_when_edited(storage: Storage) -> None:
    bot = Bot(storage)
    command, sent = await bot.say("!dashboard revok")
    assert links(sent) == []
    assert len(links(await bot.edit(command, "!dashboard"))) == 1
    assert links(await bot.edit(command, "!dashboard")) == []


async def test_a_dashboard_handled_again_after_its_answer_was_refused_sends_one_link(storage: Storage) -> None:
    bot = Bot(storage)
    bot.sender.unavailable_after, bot.sender.unavailable_next = 1, 1  # the link goes, the answer in the room not
    command = {"msgtype": "m.text", "body": "!dashboard"}
    event = {"type": "m.room.message", "event_id": "$again", "sender": MOD,
             "origin_server_ts": int(to_timestamp(bot.clock.now()) * 1000), "content": command}
    parsed = parse_timeline_event(ROOM, event)
    assert parsed is not None
    assert await bot.native.handle_batch([parsed]) == [parsed]  # kept for the next sync
    assert await bot.native.handle_batch([parsed]) == []

    (link,) = links(bot.sender.sent)
    assert link.msgtype == "m.text"  # a direct message that notifies
    assert [s.text for s in bot.sender.sent if s.room_id == ROOM] == ["I sent you a link in a direct message."]
