"""The whole bot from ``build_bot``, with the homeserver's send endpoint replaced by a recorder.

Only the network calls of ``MatrixClient`` are replaced (``send``/``send_event``, and the room-state reads that
joining does); the dispatcher, the command table, every service, the ``Sender`` and the event shapes
of ``bot.matrix.events`` are the real ones. The recorder refuses what Synapse refuses: an event over
the spec's 65,536-byte limit gets ``M_TOO_LARGE``.

``World.say`` hands one message to the dispatcher and measures what it cost the event loop: the CPU
time of the loop's own thread while the message was handled (work moved to a thread with
``asyncio.to_thread`` does not count, which is the point of moving it), and the longest stretch the
loop went without running a heartbeat.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.app import Bot, build_bot
from bot.clock import FakeClock
from bot.config import config_from_mapping
from bot.matrix.client import MatrixError
from bot.matrix.events import IncomingMessage
from bot.storage.consults import ConsultFilter
from tests.unit.events import room_message

CONTRIBUTORS = "!contributors:example.org"
MODERATORS_ROOM = "!moderators:example.org"
BOT_USER = "@fxhelpbot:example.org"
CONTRIBUTOR = "@contributor:example.org"
MODERATOR = "@moderator:example.org"

# The Matrix spec: "The complete event MUST NOT be larger than 65536 bytes" (canonical JSON, with its
# signatures and hashes). ENVELOPE is a generous allowance for what the homeserver adds to the content.
MAX_EVENT_BYTES = 65_536
ENVELOPE_BYTES = 1_536


def event_size(content: dict[str, Any]) -> int:
    encoded = json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass")
    return len(encoded) + ENVELOPE_BYTES


@dataclass(frozen=True)
class SentEvent:
    room_id: str
    content: dict[str, Any]
    event_id: str

    @property
    def body(self) -> str:
        return self.content.get("body", "")


@dataclass
class Cost:
    loop_cpu: float          # seconds of CPU on the event loop's thread while the message was handled
    longest_stall: float     # seconds the heartbeat was kept waiting past its period
    sent: list[SentEvent]
    refused: list[int]       # sizes of the events refused as too large


@dataclass
class RecordingHomeserver:
    sent: list[SentEvent] = field(default_factory=list)
    refused: list[int] = field(default_factory=list)
    refuse_next: int = 0     # refuse that many sends as too large, whatever their size
    _numbers: itertools.count = field(default_factory=lambda: itertools.count(1))

    async def send(self, room_id: str, content: dict[str, Any], txn_id: str) -> str:
        return await self.send_event(room_id, "m.room.message", content, txn_id)

    async def send_event(self, room_id: str, event_type: str, content: dict[str, Any], txn_id: str) -> str:
        size = event_size(content)
        if size > MAX_EVENT_BYTES or self.refuse_next:
            self.refuse_next = max(0, self.refuse_next - 1)
            self.refused.append(size)
            raise MatrixError("send", "M_TOO_LARGE", "event too large")
        event_id = f"$sent{next(self._numbers)}"
        self.sent.append(SentEvent(room_id, content, event_id))
        return event_id

    async def state_event(self, room_id: str, event_type: str, state_key: str = "") -> dict[str, Any] | None:
        return None

    async def full_state_event(self, room_id: str, event_type: str) -> dict[str, Any] | None:
        return None


class Heartbeat:
    """A task that wakes every ``period`` seconds and records how late it woke."""

    def __init__(self, period: float = 0.002) -> None:
        self.period = period
        self.longest = 0.0
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Heartbeat:
        self._task = asyncio.create_task(self._beat())
        await asyncio.sleep(0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        try:
            await self._task
        except asyncio.CancelledError:
            pass

    async def _beat(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(self.period)
            self.longest = max(self.longest, time.perf_counter() - before - self.period)


@dataclass
class World:
    bot: Bot
    homeserver: RecordingHomeserver
    clock: FakeClock
    _events: itertools.count = field(default_factory=lambda: itertools.count(1))

    def message(self, body: str, sender: str = CONTRIBUTOR, room_id: str = CONTRIBUTORS) -> IncomingMessage:
        return room_message(room_id, sender, body, event_id=f"$cmd{next(self._events)}")

    async def say(self, body: str, sender: str = CONTRIBUTOR, room_id: str = CONTRIBUTORS) -> Cost:
        """One message through the real dispatcher (as a sync batch of one); what it cost and sent."""
        del self.homeserver.sent[:-200], self.homeserver.refused[:-200]  # a long run keeps a small heap
        first_sent, first_refused = len(self.homeserver.sent), len(self.homeserver.refused)
        message = self.message(body, sender, room_id)
        # The cyclic collector runs when allocations say so, whatever the message: its pauses are
        # not this message's cost, so it waits until the message is handled.
        gc.disable()
        try:
            async with Heartbeat() as heartbeat:
                cpu_before = time.thread_time()
                await self.bot.dispatcher.handle_batch([message])
                loop_cpu = time.thread_time() - cpu_before
        finally:
            gc.enable()
        return Cost(loop_cpu, heartbeat.longest, self.homeserver.sent[first_sent:],
                    self.homeserver.refused[first_refused:])

    async def consults(self) -> int:
        listing, total = await self.bot.storage.consults.listing(ConsultFilter.ALL, self.clock.now(), 1)
        return total

    async def was_handled(self, event_id: str) -> bool:
        return await self.bot.storage.handled_events.was_handled(event_id)

    async def close(self) -> None:
        for close in reversed(self.bot.closers):
            result = close()
            if asyncio.iscoroutine(result):
                await result
        await self.bot.client.close()
        await self.bot.storage.close()


def world_config(folder: Path, **sections: Any) -> dict[str, Any]:
    return {
        "matrix": {"homeserver": "http://127.0.0.1:1", "user_id": BOT_USER, "password": "pw"},
        "rooms": {"contributors": CONTRIBUTORS, "moderators": MODERATORS_ROOM},
        "moderators": {"users": [MODERATOR], "ping": [MODERATOR]},
        "storage": {"path": str(folder / "data" / "fxhelp.db")},
        "http": {"listen": None},
        **sections,
    }


async def open_world(folder: Path, **sections: Any) -> World:
    clock = FakeClock()
    config = config_from_mapping(world_config(folder, **sections), folder, {})
    bot = await build_bot(config, clock=clock)
    homeserver = RecordingHomeserver()
    # The network side of MatrixClient, and only that, is the recorder.
    bot.client.send = homeserver.send  # type: ignore[method-assign]
    bot.client.send_event = homeserver.send_event  # type: ignore[method-assign]
    bot.client.state_event = homeserver.state_event  # type: ignore[method-assign]
    bot.client.full_state_event = homeserver.full_state_event  # type: ignore[method-assign]
    for room_id in (CONTRIBUTORS, MODERATORS_ROOM):
        await bot.rooms.joined(room_id)
    return World(bot, homeserver, clock)
