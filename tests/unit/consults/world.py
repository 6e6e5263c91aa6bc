"""A consult world for unit tests: real sqlite file, FakeClock, recording sender, real scheduler.

The ``world`` fixture (tests/unit/conftest.py) is one of these, on a fresh database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

from bot.clock import FakeClock
from bot.features.consults.service import KIND, ConsultService, ConsultSettings
from bot.features.consults.tweet_links import read_consult_link
from bot.matrix.events import IncomingMessage
from bot.ops.metrics import Metrics
from bot.scheduler import Scheduler
from bot.storage import Storage
from bot.storage.consults import Consult
from tests.fakes.sender import RecordingSender
from tests.unit import events

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


def room_message(sender: str, body: str, *, thread_root: str | None = None, reply_to: str | None = None,
                 msgtype: str = "m.text", clock: FakeClock | None = None,
                 room_id: str = CONTRIBUTORS) -> IncomingMessage:
    return events.room_message(room_id, sender, body, thread_root=thread_root, reply_to=reply_to, msgtype=msgtype,
                               sent_at=clock.now() if clock is not None else None)


async def open_consult(world: World, thoughts: str = "Asks whether Firefox sells data. I'd link the privacy "
                       "notice; too defensive?", url: str = TWEET, requester: str = ALICE) -> Consult:
    link = read_consult_link(url)
    assert link is not None
    command = room_message(requester, f"!consult {url} {thoughts}", clock=world.clock)
    return (await world.service.open(requester, command.event_id, link, thoughts)).consult


async def tick_many(world: World, times: int = 5) -> None:
    for _ in range(times):
        await world.scheduler.tick()
