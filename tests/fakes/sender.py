"""A stand-in for ``bot.matrix.sender.Sender`` at the unit tier: records what would be sent.

``send_once`` keeps the real outbox semantics (a key sent once is never sent again, the outbox row
is written before the "send"), using the real ``Outbox`` on the test's sqlite file, so a restart
with a new ``RecordingSender`` on the same database behaves like the bot. Each ``Sent`` keeps the
fragment and the msgtype the real content builder gives it (``m.text`` for a ping that notifies).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from bot.clock import Clock
from bot.matrix.client import HomeserverUnavailable
from bot.matrix.events import Direct, IncomingMessage, Outgoing, Ping, message_content
from bot.matrix.rendering import Fragment, as_fragment
from bot.storage.outbox import Outbox


@dataclass(frozen=True)
class Sent:
    room_id: str
    message: Fragment
    key: str | None = None
    reply_to: str | None = None
    thread_root: str | None = None
    event_id: str = ""
    msgtype: str = "m.notice"
    kind: str = "message"  # or "edit" (reply_to is the answer edited), "reaction" (on reply_to), "redaction"

    @property
    def text(self) -> str:
        return self.message.plain


def _sent(room_id: str, message: Outgoing, key: str | None = None, reply_to: str | None = None,
          thread_root: str | None = None) -> Sent:
    msgtype = message_content(message)["msgtype"]
    fragment = message.message if isinstance(message, Ping | Direct) else message
    return Sent(room_id, fragment, key, reply_to, thread_root, msgtype=msgtype)


class RecordingSender:
    def __init__(self, outbox: Outbox, clock: Clock, name: str = "fake") -> None:
        self._outbox = outbox
        self._clock = clock
        self._numbers = itertools.count(1)
        self._name = name
        self.sent: list[Sent] = []
        self.fail_next = 0         # the next sends fail as a dropped connection would
        self.unavailable_next = 0  # the next sends fail as the Matrix client reports an unreachable homeserver
        self.unavailable_after = 0  # …once this many more sends have gone through

    async def send_once(self, key: str, room_id: str, message: Outgoing, *, reply_to: str | None = None,
                        thread_root: str | None = None) -> str:
        entry = await self._outbox.begin(key, f"txn-{key}", room_id, self._clock.now())
        if entry.event_id is not None:
            return entry.event_id
        event_id = self._deliver(_sent(room_id, message, key, reply_to, thread_root))
        await self._outbox.complete(key, event_id, self._clock.now())
        return event_id

    async def edit_once(self, key: str, room_id: str, answer_event_id: str, message: Fragment) -> str:
        return await self._once(Sent(room_id, message, key, answer_event_id, kind="edit"))

    async def react_once(self, key: str, room_id: str, event_id: str, emoji: str) -> str:
        return await self._once(Sent(room_id, as_fragment(emoji), key, event_id, kind="reaction"))

    async def redact_once(self, key: str, room_id: str, event_id: str, reason: str | None = None) -> str:
        return await self._once(Sent(room_id, as_fragment(reason or ""), key, event_id, kind="redaction"))

    async def _once(self, sent: Sent) -> str:
        assert sent.key is not None
        entry = await self._outbox.begin(sent.key, f"txn-{sent.key}", sent.room_id, self._clock.now())
        if entry.event_id is not None:
            return entry.event_id
        event_id = self._deliver(sent)
        await self._outbox.complete(sent.key, event_id, self._clock.now())
        return event_id

    def reactions(self) -> list[tuple[str, str]]:
        """(target event, emoji) of every reaction sent."""
        return [(s.reply_to or "", s.text) for s in self.sent if s.kind == "reaction"]

    async def reply(self, to: IncomingMessage, message: Outgoing, txn_id: str) -> str:
        return self._deliver(_sent(to.room_id, message, reply_to=to.event_id, thread_root=to.thread_root))

    def _deliver(self, sent: Sent) -> str:
        if self.unavailable_after:
            self.unavailable_after -= 1
        elif self.unavailable_next:
            self.unavailable_next -= 1
            raise HomeserverUnavailable("send: cannot reach the homeserver")
        if self.fail_next:
            self.fail_next -= 1
            raise ConnectionError("the fake homeserver is away")
        event_id = f"${self._name}{next(self._numbers)}"
        self.sent.append(Sent(sent.room_id, sent.message, sent.key, sent.reply_to, sent.thread_root, event_id,
                              sent.msgtype, sent.kind))
        return event_id

    def keys(self) -> list[str]:
        return [s.key for s in self.sent if s.key is not None]

    def with_key(self, key: str) -> list[Sent]:
        return [s for s in self.sent if s.key == key]
