"""Edits, redactions and reactions: the event shapes of Matrix-native interaction, in and out.

Incoming (as Element sends them):
- an edit is an ``m.room.message`` with ``m.relates_to: {rel_type: m.replace, event_id}``; its top-level
  ``body`` is the ``* `` fallback and the real new text is ``m.new_content`` (which carries no relation:
  the thread and reply of the original stay the original's). Older clients put the legacy reply quote
  into ``m.new_content.body`` too, so it is stripped the same way as in a message.
- a redaction names its target in ``content.redacts`` (room v11+) or at the top level (older rooms).
- a reaction is ``m.reaction`` with ``m.relates_to: {rel_type: m.annotation, event_id, key}``.

Outgoing: the bot's edit of its own answer (``m.new_content`` with the whole new answer, ``body`` with
the ``* `` fallback) and its own reactions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.matrix.events import OUTBOX_KEY_FIELD, IncomingMessage, notice_content, parse_room_message, strip_reply_fallback
from bot.matrix.rendering import Fragment
from bot.text import without_lone_surrogates

REPLACE = "m.replace"
ANNOTATION = "m.annotation"
REACTION = "m.reaction"
REDACTION = "m.room.redaction"
_VARIATION_SELECTOR = "\ufe0f"


@dataclass(frozen=True)
class Edit:
    """A new text for an earlier message (``replaces``) of the same sender."""

    event_id: str
    room_id: str
    sender: str
    replaces: str
    body: str
    msgtype: str
    sent_at: datetime

    @property
    def is_notice(self) -> bool:
        return self.msgtype == "m.notice"


@dataclass(frozen=True)
class Redaction:
    event_id: str
    room_id: str
    sender: str
    redacts: str
    sent_at: datetime


@dataclass(frozen=True)
class Reaction:
    event_id: str
    room_id: str
    sender: str
    target: str
    key: str  # the emoji, without the variation selector some clients add (✅ and ✅️ are one)
    sent_at: datetime


Incoming = IncomingMessage | Edit | Redaction | Reaction


def parse_timeline_event(room_id: str, event: dict[str, Any]) -> Incoming | None:
    """Any timeline event the bot acts on, or None (state events, other types, malformed ones)."""
    if "state_key" in event:
        return None
    kind = event.get("type")
    if kind == "m.room.message":
        return parse_edit(room_id, event) or parse_room_message(room_id, event)
    if kind == REDACTION:
        return parse_redaction(room_id, event)
    if kind == REACTION:
        return parse_reaction(room_id, event)
    return None


def _ids(event: dict[str, Any]) -> tuple[dict[str, Any], str, str, datetime] | None:
    content, event_id, sender = event.get("content"), event.get("event_id"), event.get("sender")
    if not isinstance(content, dict) or not isinstance(event_id, str) or not isinstance(sender, str):
        return None
    timestamp = event.get("origin_server_ts")
    sent_at = datetime.fromtimestamp(timestamp / 1000, UTC) if isinstance(timestamp, int) else datetime.now(UTC)
    return content, event_id, sender, sent_at


def parse_edit(room_id: str, event: dict[str, Any]) -> Edit | None:
    """An ``m.replace`` message → Edit with the text of ``m.new_content``; None when it is not an edit."""
    if event.get("type") != "m.room.message" or (ids := _ids(event)) is None:
        return None
    content, event_id, sender, sent_at = ids
    relates = content.get("m.relates_to")
    if not isinstance(relates, dict) or relates.get("rel_type") != REPLACE:
        return None
    target, new = relates.get("event_id"), content.get("m.new_content")
    if not isinstance(target, str) or not isinstance(new, dict):
        return None
    body, msgtype = new.get("body"), new.get("msgtype")
    if not isinstance(body, str) or not isinstance(msgtype, str):
        return None
    return Edit(event_id, room_id, sender, target, strip_reply_fallback(without_lone_surrogates(body)), msgtype, sent_at)


def parse_redaction(room_id: str, event: dict[str, Any]) -> Redaction | None:
    if event.get("type") != REDACTION or (ids := _ids(event)) is None:
        return None
    content, event_id, sender, sent_at = ids
    redacts = content.get("redacts", event.get("redacts"))
    if not isinstance(redacts, str):
        return None
    return Redaction(event_id, room_id, sender, redacts, sent_at)


def parse_reaction(room_id: str, event: dict[str, Any]) -> Reaction | None:
    if event.get("type") != REACTION or (ids := _ids(event)) is None:
        return None
    content, event_id, sender, sent_at = ids
    relates = content.get("m.relates_to")
    if not isinstance(relates, dict) or relates.get("rel_type") != ANNOTATION:
        return None
    target, key = relates.get("event_id"), relates.get("key")
    if not isinstance(target, str) or not isinstance(key, str) or not key.strip():
        return None
    return Reaction(event_id, room_id, sender, target, reaction_key(key), sent_at)


def reaction_key(key: str) -> str:
    return key.replace(_VARIATION_SELECTOR, "").strip()


# ---- outgoing ---------------------------------------------------------------------------------

def edit_content(original_event_id: str, message: Fragment, *, outbox_key: str | None = None) -> dict[str, Any]:
    """An edit of one of the bot's own notices: the whole new answer in ``m.new_content``.

    ``m.new_content`` carries no relation (the answer keeps its reply and thread); the top level is
    what clients without edits show: the ``* `` fallback.
    """
    new = notice_content(message)
    content: dict[str, Any] = {
        "msgtype": new["msgtype"],
        "body": "* " + new["body"],
        "format": new["format"],
        "formatted_body": "* " + new["formatted_body"],
        "m.mentions": {},  # an edit never pings again (the spec applies m.new_content's mentions)
        "m.new_content": new,
        "m.relates_to": {"rel_type": REPLACE, "event_id": original_event_id},
    }
    if outbox_key is not None:
        content[OUTBOX_KEY_FIELD] = outbox_key
    return content


def reaction_content(target_event_id: str, key: str, *, outbox_key: str | None = None) -> dict[str, Any]:
    content: dict[str, Any] = {"m.relates_to": {"rel_type": ANNOTATION, "event_id": target_event_id, "key": key}}
    if outbox_key is not None:
        content[OUTBOX_KEY_FIELD] = outbox_key
    return content
