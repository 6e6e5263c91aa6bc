"""A consult world for unit tests: real sqlite file, FakeClock, recording sender, real scheduler.

``world`` is a fixture: import it into a test module to use it.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from bot.clock import FakeClock, to_timestamp
from bot.consults import KIND, ConsultService, ConsultSettings
from bot.matrix_events import IncomingMessage, parse_room_message
from bot.metrics import Metrics
from bot.scheduler import Scheduler
from bot.storage import Storage
from bot.storage.consults import Consult
from bot.tweet_links import read_consult_link
from tests.fakes.sender import RecordingSender

CONTRIBUTORS = "!contributors:example.org"
MODERATORS_ROOM = "!moderators:example.org"
ALICE, EVE, MOD = "@alice:example.org", "@eve:example.org", "@mod:example.org"
BOT = "@fxhelpbot:example.org"
TWEET = "https://x.com/someone/status/1861234567890"
HOURS = timedelta(hours=1)
SETTINGS = ConsultSettings(window=72 * HOURS, remind_after=48 * HOURS, moderator_pings=(MOD,))


@dataclass
class World:
    """Everything a consult needs, built the way ``bot.app`` builds it."""

    storage: Storage
    clock: FakeClock
    sender: RecordingSender
    service: ConsultService
    scheduler: Scheduler


async def build_world(path: Path, clock: FakeClock, name: str = "first") -> World:
    storage = await Storage.open(path)
    sender = RecordingSender(storage.outbox, clock, name)
    rooms = SimpleNamespace(contributors=CONTRIBUTORS, moderators=MODERATORS_ROOM)
    service = ConsultService(storage, sender, clock, rooms, SETTINGS)
    scheduler = Scheduler(storage.schedule, clock, Metrics(), tick=timedelta(seconds=30))
    scheduler.handle(KIND, service.handle_due)
    return World(storage, clock, sender, service, scheduler)


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    built = await build_world(tmp_path / "x.db", FakeClock())
    yield built
    await built.storage.close()


def room_message(sender: str, body: str, *, thread_root: str | None = None, reply_to: str | None = None,
                 msgtype: str = "m.text", clock: FakeClock | None = None,
                 room_id: str = CONTRIBUTORS) -> IncomingMessage:
    """A realistic ``m.room.message`` event, parsed the way the sync loop parses it."""
    content: dict[str, Any] = {"msgtype": msgtype, "body": body}
    if reply_to is not None:
        content["m.relates_to"] = {"m.in_reply_to": {"event_id": reply_to}}
    if thread_root is not None:
        content["m.relates_to"] = {"rel_type": "m.thread", "event_id": thread_root, "is_falling_back": True,
                                   "m.in_reply_to": {"event_id": thread_root}}
    sent_at = clock.now() if clock is not None else None
    event = {"type": "m.room.message", "event_id": f"${uuid.uuid4().hex}", "sender": sender,
             "origin_server_ts": int(to_timestamp(sent_at) * 1000) if sent_at else 1_700_000_000_000,
             "content": content}
    message = parse_room_message(room_id, event)
    assert message is not None
    return message


async def open_consult(world: World, thoughts: str = "Asks whether Firefox sells data. I'd link the privacy "
                       "notice; too defensive?", url: str = TWEET, requester: str = ALICE) -> Consult:
    link = read_consult_link(url)
    assert link is not None
    command = room_message(requester, f"!consult {url} {thoughts}", clock=world.clock)
    return (await world.service.open(requester, command.event_id, link, thoughts)).consult


async def tick_many(world: World, times: int = 5) -> None:
    for _ in range(times):
        await world.scheduler.tick()
