"""The one way the bot sends: every message goes through ``Sender``.

It builds the content (notice or ping, rich reply, thread, mentions) with ``matrix_events`` and sends it with
a transaction ID chosen by the caller, so a retried or replayed send never makes a second message.
``send_once`` adds the outbox: a promised message (a reminder, a re-ping) is sent exactly once, even
across a crash between sending and recording, and even after the homeserver forgot the transaction.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any, Protocol

from bot.clock import Clock
from bot.matrix.client import MatrixClient, transaction_id
from bot.matrix.events import IncomingMessage, Outgoing, event_content_key, message_content
from bot.matrix.relations import REACTION, edit_content, reaction_content
from bot.matrix.rendering import Fragment
from bot.storage.outbox import Outbox

log = logging.getLogger(__name__)

# Synapse remembers a device's transaction IDs for 24 hours; past that the outbox must decide.
TRANSACTION_MEMORY = timedelta(hours=23)
HISTORY_SEARCH_LIMIT = 500


class Sends(Protocol):
    """What a feature needs to keep a promise of a message: ``Sender.send_once``, the exactly-once send."""

    async def send_once(self, key: str, room_id: str, message: Outgoing, *, reply_to: str | None = None,
                        thread_root: str | None = None) -> str: ...


class SendsAndReacts(Sends, Protocol):
    """A feature that also marks its own events once (a status reaction: ✅, ⌛, 👀)."""

    async def react_once(self, key: str, room_id: str, event_id: str, emoji: str) -> str: ...


class Sender:
    def __init__(self, client: MatrixClient, outbox: Outbox, clock: Clock) -> None:
        self._client = client
        self._outbox = outbox
        self._clock = clock

    async def reply(self, to: IncomingMessage, message: Outgoing, txn_id: str) -> str:
        """Answer a message: a rich reply, in its thread if it was in one.

        Through the outbox (keyed by the transaction ID), so a command run again after a long
        outage finds the answer it already sent instead of sending a second one.
        """
        return await self.send_once(f"answer:{txn_id}", to.room_id, message, reply_to=to.event_id,
                                    thread_root=to.thread_root, txn_id=txn_id)

    async def send_once(self, key: str, room_id: str, message: Outgoing, *, reply_to: str | None = None,
                        thread_root: str | None = None, txn_id: str | None = None) -> str:
        """Send the message promised under ``key`` unless it was already sent; returns its event ID."""
        content = message_content(message, reply_to=reply_to, thread_root=thread_root, outbox_key=key)
        return await self._event_once(key, room_id, "m.room.message", content, txn_id)

    async def edit_once(self, key: str, room_id: str, answer_event_id: str, message: Fragment) -> str:
        """Replace one of the bot's own answers with ``message`` (once per key)."""
        return await self._event_once(key, room_id, "m.room.message",
                                      edit_content(answer_event_id, message, outbox_key=key))

    async def react_once(self, key: str, room_id: str, event_id: str, emoji: str) -> str:
        """The bot's own reaction on an event, once per key (a status mark: ✅, ⌛, 👀)."""
        return await self._event_once(key, room_id, REACTION, reaction_content(event_id, emoji, outbox_key=key))

    async def redact_once(self, key: str, room_id: str, event_id: str, reason: str | None = None) -> str:
        """Redact one of the bot's events; the transaction ID makes a retried redaction one."""
        entry = await self._outbox.begin(key, transaction_id("outbox", key), room_id, self._clock.now())
        if entry.event_id is not None:
            return entry.event_id
        redaction_id = await self._client.redact(room_id, event_id, entry.txn_id, reason)
        await self._outbox.complete(key, redaction_id, self._clock.now())
        return redaction_id

    async def _event_once(self, key: str, room_id: str, event_type: str, content: dict[str, Any],
                          txn_id: str | None = None) -> str:
        now = self._clock.now()
        entry = await self._outbox.begin(key, txn_id or transaction_id("outbox", key), room_id, now)
        if entry.event_id is not None:
            return entry.event_id
        if now - entry.created_at > TRANSACTION_MEMORY:
            # An earlier attempt may have reached the room before the crash, and the homeserver no
            # longer remembers its transaction ID: look for the message itself before sending again.
            found = await self._find_sent(room_id, key)
            if found is not None:
                log.info("outbox %s: found in the room's history, not sending again", key)
                await self._outbox.complete(key, found, now)
                return found
        event_id = await self._client.send_event(room_id, event_type, content, entry.txn_id)
        await self._outbox.complete(key, event_id, self._clock.now())
        return event_id

    async def _find_sent(self, room_id: str, key: str) -> str | None:
        for event in await self._client.recent_events(room_id, HISTORY_SEARCH_LIMIT):
            if event.get("sender") == self._client.user_id and event_content_key(event) == key:
                return event.get("event_id")
        return None
