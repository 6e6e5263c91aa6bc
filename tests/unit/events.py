"""Realistic incoming events for the unit tier, parsed the way the sync loop parses them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from bot.clock import to_timestamp
from bot.matrix.events import IncomingMessage, parse_room_message


def room_message(room_id: str, sender: str, body: str, *, thread_root: str | None = None,
                 reply_to: str | None = None, msgtype: str = "m.text", sent_at: datetime | None = None,
                 event_id: str | None = None) -> IncomingMessage:
    content: dict[str, Any] = {"msgtype": msgtype, "body": body}
    if reply_to is not None:
        content["m.relates_to"] = {"m.in_reply_to": {"event_id": reply_to}}
    if thread_root is not None:
        content["m.relates_to"] = {"rel_type": "m.thread", "event_id": thread_root, "is_falling_back": True,
                                   "m.in_reply_to": {"event_id": thread_root}}
    event = {"type": "m.room.message", "event_id": event_id or f"${uuid.uuid4().hex}", "sender": sender,
             "origin_server_ts": int(to_timestamp(sent_at) * 1000) if sent_at else 1_795_000_000_000,
             "content": content}
    message = parse_room_message(room_id, event)
    assert message is not None
    return message
