"""The supervised sync loop: receive, handle, then save the token.

The bot stores the sync token itself, after a batch is handled (matrix-nio would keep it before its
callbacks run), so whatever arrives while it is down is handled once after a restart. A batch whose
commands could not be answered because the homeserver is away is not done: the token stays, and
the batch is fetched and handled again (what was answered is skipped by ``handled_events``).

A ``limited`` timeline is filled from ``prev_batch`` back to the last event the bot saw in that room
(kept with the token), or back to the previous token when none is kept.

The first start answers nothing from before the bot's own join: the first sync has a timeline, and
history is paged back until that join is found; what follows it is handled, so a command sent the
instant the bot joined is not lost. A room the bot was already in (its join is older than the
pages looked at) answers only what was sent since this first start. The same cut applies to a room
joined later on an invite: nothing from before the bot's join in it is answered.
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
from bot.matrix.client import MatrixClient, MatrixError
from bot.matrix.events import event_timestamp_ms, is_join_of
from bot.matrix.relations import Incoming, parse_timeline_event
from bot.matrix.rooms import Rooms
from bot.ops.metrics import Metrics
from bot.storage.bot_state import BotState

log = logging.getLogger(__name__)

SYNC_TOKEN = "sync.token"
SYNC_SAVED_AT = "sync.saved_at"
FIRST_START = "sync.first_start"
LAST_EVENT = "sync.last_event:"  # + room ID: "<event ID> <origin_server_ts>"
SYNC_TIMEOUT_MS = 30_000
# On a first start, how far back to look for the bot's own join before deciding it is old.
FIRST_START_PAGES = 10
FIRST_START_LOOKBACK = timedelta(hours=1)
# A batch holding only the bot's own events (the echo of each answer) need not move the stored
# token at once: replaying it after a crash only shows the bot what it ignores anyway.
TOKEN_SAVE_EVERY = timedelta(seconds=60)

_QUIET = {"presence": {"not_types": ["*"]}, "account_data": {"not_types": ["*"]}}
# The first sync: enough timeline to find the bot's own join; no member lists.
_FIRST_SYNC_FILTER = {"room": {"timeline": {"limit": 100}, "state": {"lazy_load_members": True},
                               "ephemeral": {"not_types": ["*"]}, "account_data": {"not_types": ["*"]}}, **_QUIET}
# No lazy-loading on incremental syncs: it makes the homeserver compute member lists per batch,
# which costs latency on every command for no gain in a bot's two rooms.
_SYNC_FILTER = {"room": {"ephemeral": {"not_types": ["*"]}, "account_data": {"not_types": ["*"]}}, **_QUIET}

# Handles a batch of messages, edits, redactions and reactions, in timeline order; returns
# those it could not finish because the homeserver was away.
BatchHandler = Callable[[list[Incoming]], Awaitable[list[Incoming]]]


class BatchNotDone(Exception):
    """Some commands of the batch are not answered yet: the token must stay where it is."""


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
        token = await self._first_sync()
        while not stop.is_set():
            try:
                # The first sync of a run returns at once, so health is known quickly.
                response = await self._client.sync(token, SYNC_TIMEOUT_MS if self.last_success else 0, _SYNC_FILTER)
                self._fresh()
                marks = await self._handle(response, token)
            except asyncio.CancelledError:
                raise
            except BatchNotDone as not_done:
                log.warning("%s; the batch is fetched and handled again", not_done)
                await asyncio.sleep(2)
                continue
            except Exception:  # the loop never ends on a bad batch; the token stays put
                log.exception("sync batch failed; retrying it")
                self._metrics.errors.labels(kind="sync").inc()
                await asyncio.sleep(2)
                continue
            token = response.next_batch
            if _carries_others(response, self._client.user_id) \
                    or self._clock.now() - self._saved_at > TOKEN_SAVE_EVERY:
                await self._save(token, marks)

    async def _save(self, token: str, marks: dict[str, str]) -> None:
        # One transaction: the token and the last events seen with it, never one without the other.
        await self._state.set_many({**marks, SYNC_TOKEN: token, SYNC_SAVED_AT: str(to_timestamp(self._clock.now()))})
        self._saved_at = self._clock.now()
        self._fresh()

    def _fresh(self) -> None:
        # The homeserver answers syncs: healthy, even while a long batch is still being answered
        # (behind a rate limit, say) and its token not yet saved.
        self.last_success = self._clock.now()
        self._metrics.last_sync.set(to_timestamp(self.last_success))

    async def _first_sync(self) -> str:
        token = await self._state.get(SYNC_TOKEN)
        first = await self._state.get(FIRST_START)
        if first is None:
            self._first_start = self._clock.now()
            await self._state.set(FIRST_START, str(to_timestamp(self._first_start)))
        else:
            self._first_start = from_timestamp(float(first))
        if token is not None:
            return token
        while True:
            try:
                response = await self._client.sync(None, 0, _FIRST_SYNC_FILTER)
                self._fresh()
                marks = await self._handle(response, None)
                break
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - as in the loop: the first batch is retried
                log.warning("first sync not done (%s); retrying it", error)
                await asyncio.sleep(2)
        await self._save(response.next_batch, marks)
        log.info("first start: history before the bot's join is not answered")
        return response.next_batch

    async def _handle(self, response: SyncResponse, since: str | None) -> dict[str, str]:
        """Handle one batch; returns the last event seen per room, to be saved with the next token."""
        await self._handle_invites(response)
        messages: list[Incoming] = []
        marks: dict[str, str] = {}
        for room_id, info in response.rooms.join.items():
            if not self._rooms.is_configured(room_id):
                continue
            events = [event.source for event in info.timeline.events]
            # The room's state as of the batch's end: the state block, then the timeline's own state
            # events, all of them (also those before the bot's join; history pages are older, so not those).
            for raw in [event.source for event in info.state] + events:
                if "state_key" in raw:
                    self._rooms.observe_state_event(room_id, raw)
            if events and isinstance(events[-1].get("event_id"), str):
                marks[LAST_EVENT + room_id] = f"{events[-1]['event_id']} {event_timestamp_ms(events[-1]) or ''}"
            if since is None:
                events = await self._after_first_join(room_id, events, info.timeline.limited,
                                                      info.timeline.prev_batch)
            else:
                if info.timeline.limited and info.timeline.prev_batch:
                    seen = await self._last_seen(room_id)
                    gap = await self._client.messages_between(room_id, info.timeline.prev_batch, since, stop_at=seen)
                    log.info("room %s: timeline was limited, filled %d events from history", room_id, len(gap))
                    events = _without_duplicates(gap + events)
                events = _after_own_join(events, self._client.user_id)
            for raw in events:
                message = parse_timeline_event(room_id, raw)
                if message is not None:
                    messages.append(message)
        if messages:
            unfinished = await self._on_messages(messages)
            if unfinished:
                raise BatchNotDone(f"{len(unfinished)} of {len(messages)} messages could not be answered yet")
        return marks

    async def _last_seen(self, room_id: str) -> tuple[str, int | None] | None:
        value = await self._state.get(LAST_EVENT + room_id)
        if not value:
            return None
        event_id, _, timestamp = value.partition(" ")
        return event_id, int(timestamp) if timestamp.isdigit() else None

    async def _after_first_join(self, room_id: str, events: list[dict[str, Any]], limited: bool,
                                prev_batch: str | None) -> list[dict[str, Any]]:
        """On a first start: the events after the bot's own join, paging back until it is found."""
        user_id = self._client.user_id
        assert self._first_start is not None
        oldest_wanted = to_timestamp(self._first_start - FIRST_START_LOOKBACK) * 1000
        token = prev_batch if limited else None
        pages = 0
        while not any(is_join_of(event, user_id) for event in events) and token and pages < FIRST_START_PAGES:
            page, token = await self._client.history_page(room_id, token)
            events = page + events
            pages += 1
            oldest = event_timestamp_ms(page[0]) if page else None
            if oldest is not None and oldest < oldest_wanted:
                break
        if any(is_join_of(event, user_id) for event in events):
            after = _after_own_join(events, user_id)
            log.info("first start in room %s: %d events after the bot's join are handled", room_id, len(after))
            return after
        # Joined long before this first start (a new database for an old account): only what is new.
        since_ms = to_timestamp(self._first_start) * 1000
        return [event for event in events if (event_timestamp_ms(event) or 0) >= since_ms]

    async def _handle_invites(self, response: SyncResponse) -> None:
        for room_id in response.rooms.invite:
            try:
                if await self._rooms.accepts_invite(room_id):  # by room ID; never the invite's stripped state
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


def _after_own_join(events: list[dict[str, Any]], user_id: str) -> list[dict[str, Any]]:
    """Drop what came before the bot's last join in this list of events (history it was not in)."""
    for index in range(len(events) - 1, -1, -1):
        if is_join_of(events[index], user_id):
            return events[index + 1:]
    return events
