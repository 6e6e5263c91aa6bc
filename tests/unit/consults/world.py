"""A consult world for unit tests: the one world builder's (real wiring, sqlite file, FakeClock,
recording sender, real scheduler), seen from the consults.

The ``world`` fixture (tests/unit/conftest.py) is one of these, on a fresh database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.clock import FakeClock
from bot.config import ForumConfig
from bot.features.consults.service import ConsultService, ConsultSettings
from bot.features.consults.tweet_links import read_consult_link
from bot.framework.dispatcher import Dispatcher
from bot.matrix.events import IncomingMessage
from bot.scheduler import Scheduler
from bot.storage import Storage
from bot.storage.consults import Consult
from tests.fakes.sender import RecordingSender
from tests.unit import events
from tests.unit.world import BOT as BOT  # the rooms and people of every world, named here too
from tests.unit.world import CONTRIBUTORS as CONTRIBUTORS
from tests.unit.world import MOD as MOD
from tests.unit.world import MODERATORS_ROOM as MODERATORS_ROOM
from tests.unit.world import BotWorld, Settings
from tests.unit.world import build_world as build_bot_world

ALICE, EVE = "@alice:example.org", "@eve:example.org"
TWEET = "https://x.com/someone/status/1861234567890"
HOURS = timedelta(hours=1)
SETTINGS = ConsultSettings(window=72 * HOURS, remind_after=48 * HOURS, moderator_pings=(MOD,))


@dataclass
class World:
    """What a consult test needs, from the one world builder (tests/unit/world.py): the bot's real
    wiring, so ``dispatcher`` has every command and the consult service is the one it answers with."""

    storage: Storage
    clock: FakeClock
    sender: RecordingSender
    service: ConsultService
    scheduler: Scheduler
    dispatcher: Dispatcher
    bot: BotWorld


async def build_world(path: Path, clock: FakeClock, name: str = "first", *, forum: ForumConfig | None = None,
                      **outside: Any) -> World:
    """``forum`` and ``outside`` (a ``discourse`` client, ``tick_jobs``): as ``tests.unit.world.build_world``."""
    settings = Settings(consult_window=SETTINGS.window, consult_remind_after=SETTINGS.remind_after,
                        pings=SETTINGS.moderator_pings, forum=forum)
    bot = await build_bot_world(path, clock, settings, sender_name=name, **outside)
    return World(bot.storage, clock, bot.sender, bot.consults, bot.scheduler, bot.dispatcher, bot)


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
