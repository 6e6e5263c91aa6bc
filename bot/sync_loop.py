"""The supervised sync loop: receive, handle, then save the token.

The bot stores the sync token itself, after a batch is handled (matrix-nio would keep it before its
callbacks run), so whatever arrives while it is down is handled once after a restart. A ``limited``
timeline is filled from ``prev_batch`` back to the previous token. The first start skips history.
Invites to configured rooms are accepted; every other invite is declined.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from nio import SyncResponse

from bot.clock import Clock, from_timestamp, to_timestamp
from bot.matrix_client import MatrixClient, MatrixError
from bot.matrix_events import IncomingMessage, parse_room_message
from bot.metrics import Metrics
from bot.rooms import Rooms
from bot.storage.bot_state import BotState

log = logging.getLogger(__name__)

SYNC_TOKEN = "sync.token"
FIRST_START = "sync.first_start"
SYNC_TIMEOUT_MS = 30_000
# A batch holding only the bot's own events (the echo of each answer) need not move the stored
# token at once: replaying it after a crash only shows the bot what it ignores anyway.
TOKEN_SAVE_EVERY = timedelta(seconds=60)

# The first sync only needs a token to start from: no history, no member lists.
_FIRST_SYNC_FILTER = {"room": {"timeline": {"limit": 0}, "state": {"lazy_load_members": True}},
                      "presence": {"not_types": ["*"]}, "account_data": {"not_types": ["*"]}}
# No lazy-loading on incremental syncs: it makes the homeserver compute member lists per batch,
# which costs latency on every command for no gain in a bot's two rooms.
_SYNC_FILTER = {"room": {"ephemeral": {"not_types": ["*"]}, "account_data": {"not_types": ["*"]}},
                "presence": {"not_types": ["*"]}, "account_data": {"not_types": ["*"]}}

BatchHandler = Callable[[list[IncomingMessage]], Awaitable[None]]


class SyncLoop:
    def __init__(self, client: MatrixClient, state: BotState, rooms: Rooms, on_messages: BatchHandler,
                 clock: Clock, metrics: Metrics) -> None:
        self._client = client
        self._state = state
        self._rooms = rooms
        self._on_messages = on_messages
        self._clock = clock
        self._metrics = metrics
        self._first_start: datetime | None = None
        self._saved_at = clock.now()
        self.last_success: datetime | None = None

    async def run(self, stop: asyncio.Event) -> None:
        token = await self._start_token()
        timeout_ms = 0  # the first sync of a run returns at once, so health is known quickly
        while not stop.is_set():
            try:
                response = await self._client.sync(token, timeout_ms, _SYNC_FILTER)
                await self._handle(response, token)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - the loop never ends on a bad batch; the token stays put
                log.exception("sync batch failed; retrying it")
                self._metrics.errors.labels(kind="sync").inc()
                await asyncio.sleep(2)
                continue
            token = response.next_batch
            if _carries_others(response, self._client.user_id) or self._clock.now() - self._saved_at > TOKEN_SAVE_EVERY:
                await self._state.set(SYNC_TOKEN, token)
                self._saved_at = self._clock.now()
            self._synced()
            timeout_ms = SYNC_TIMEOUT_MS

    def _synced(self) -> None:
        self.last_success = self._clock.now()
        self._metrics.last_sync.set(to_timestamp(self.last_success))

    async def _start_token(self) -> str:
        token = await self._state.get(SYNC_TOKEN)
        first = await self._state.get(FIRST_START)
        if first is None:
            self._first_start = self._clock.now()
            await self._state.set(FIRST_START, str(to_timestamp(self._first_start)))
        else:
            self._first_start = from_timestamp(float(first))
        if token is not None:
            return token
        response = await self._client.sync(None, 0, _FIRST_SYNC_FILTER)
        await self._handle_invites(response)
        await self._state.set(SYNC_TOKEN, response.next_batch)
        log.info("first start: history before now is not answered")
        self._synced()
        return response.next_batch

    async def _handle(self, response: SyncResponse, since: str) -> None:
        await self._handle_invites(response)
        messages: list[IncomingMessage] = []
        for room_id, info in response.rooms.join.items():
            if not self._rooms.is_configured(room_id):
                continue
            for event in info.state:
                self._rooms.observe_state_event(room_id, event.source)
            events = [event.source for event in info.timeline.events]
            if info.timeline.limited and info.timeline.prev_batch:
                gap = await self._client.messages_between(room_id, info.timeline.prev_batch, since)
                log.info("room %s: timeline was limited, filled %d events from history", room_id, len(gap))
                events = _without_duplicates(gap + events)
            for raw in events:
                if "state_key" in raw:
                    self._rooms.observe_state_event(room_id, raw)
                message = parse_room_message(room_id, raw)
                if message is not None and self._is_new(message):
                    messages.append(message)
        if messages:
            await self._on_messages(messages)

    def _is_new(self, message: IncomingMessage) -> bool:
        return self._first_start is None or message.sent_at >= self._first_start

    async def _handle_invites(self, response: SyncResponse) -> None:
        for room_id, info in response.rooms.invite.items():
            aliases = [e.canonical_alias for e in info.invite_state if getattr(e, "canonical_alias", None)]
            try:
                if self._rooms.accepts_invite(room_id, aliases):
                    joined = await self._client.join(room_id)
                    await self._rooms.joined(joined)
                    log.info("joined configured room %s", room_id)
                else:
                    await self._client.leave(room_id)
                    log.info("declined an invite to %s (not a configured room)", room_id)
            except MatrixError as error:
                log.warning("could not answer the invite to %s: %s", room_id, error)


def _carries_others(response: SyncResponse, own_user_id: str) -> bool:
    """Anything in the batch besides the bot's own timeline events (a message, state, an invite)."""
    if response.rooms.invite or response.rooms.leave:
        return True
    for info in response.rooms.join.values():
        if info.state or info.timeline.limited:
            return True
        if any(event.source.get("sender") != own_user_id or "state_key" in event.source
               for event in info.timeline.events):
            return True
    return False


def _without_duplicates(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: set[str] = set()
    unique = []
    for event in events:
        event_id = event.get("event_id")
        if event_id in seen:
            continue
        seen.add(event_id)
        unique.append(event)
    return unique
