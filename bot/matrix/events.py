"""Every Matrix event shape the bot reads or writes lives here.

Incoming: a room message becomes an ``IncomingMessage`` with the legacy reply fallback stripped
and its thread (if any) recorded. Outgoing: ``message_content`` builds what the bot sends — HTML,
``m.mentions`` always present, a rich reply and thread relation — as an ``m.notice`` for ordinary
answers, or as an ``m.text`` for a ``Ping`` (a message whose purpose is to reach the people it
mentions). Under the spec's default push rules ``.m.rule.suppress_notices`` comes before every mention
rule, so a notice never notifies anyone; only a ping's ``m.text`` does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.matrix.rendering import Fragment
from bot.text import without_lone_surrogates

POWER_LEVELS = "m.room.power_levels"
CREATE = "m.room.create"
ENCRYPTION = "m.room.encryption"

# A custom key in every scheduled message, so the bot can find what it sent in a room's history.
OUTBOX_KEY_FIELD = "org.mozilla.fxhelp.outbox_key"



@dataclass(frozen=True)
class IncomingMessage:
    event_id: str
    room_id: str
    sender: str
    body: str
    msgtype: str
    sent_at: datetime
    thread_root: str | None = None
    in_reply_to: str | None = None

    @property
    def is_notice(self) -> bool:
        return self.msgtype == "m.notice"


def parse_room_message(room_id: str, event: dict[str, Any]) -> IncomingMessage | None:
    """A raw ``m.room.message`` event → IncomingMessage; None for anything else or malformed."""
    if event.get("type") != "m.room.message" or "state_key" in event:
        return None
    content = event.get("content")
    event_id, sender = event.get("event_id"), event.get("sender")
    if not isinstance(content, dict) or not isinstance(event_id, str) or not isinstance(sender, str):
        return None
    body, msgtype = content.get("body"), content.get("msgtype")
    if not isinstance(body, str) or not isinstance(msgtype, str):
        return None
    body = without_lone_surrogates(body)
    relates = content.get("m.relates_to") if isinstance(content.get("m.relates_to"), dict) else {}
    thread_root = relates.get("event_id") if relates.get("rel_type") == "m.thread" else None
    in_reply = relates.get("m.in_reply_to")
    in_reply_to = in_reply.get("event_id") if isinstance(in_reply, dict) else None
    if in_reply_to is not None:
        body = strip_reply_fallback(body)
    timestamp = event.get("origin_server_ts")
    sent_at = datetime.fromtimestamp(timestamp / 1000, UTC) if isinstance(timestamp, int) else datetime.now(UTC)
    return IncomingMessage(
        event_id=event_id, room_id=room_id, sender=sender, body=body, msgtype=msgtype,
        sent_at=sent_at, thread_root=thread_root if isinstance(thread_root, str) else None,
        in_reply_to=in_reply_to if isinstance(in_reply_to, str) else None,
    )


def strip_reply_fallback(body: str) -> str:
    """Drop the ``> `` quote lines a legacy rich reply puts before the real text."""
    lines = body.split("\n")
    index = 0
    while index < len(lines) and lines[index].startswith(">"):
        index += 1
    if index and index < len(lines) and lines[index] == "":
        index += 1
    return "\n".join(lines[index:])


@dataclass(frozen=True)
class Ping:
    """A message meant to reach the people it mentions (a moderators' ping, a requester told).

    The message modules wrap what they build in ``Ping`` to choose the notifying shape; a ping that
    mentions nobody (no one configured to ping) is sent as an ordinary notice.
    """

    message: Fragment

    @property
    def notifies(self) -> bool:
        return bool(self.message.mentions)


@dataclass(frozen=True)
class Direct:
    """A message to one person in the direct room the bot shares with them (a sign-in link): an
    ``m.text``, since ``.m.rule.suppress_notices`` would keep a notice from notifying them there."""

    message: Fragment


Outgoing = Fragment | Ping | Direct


def message_content(
    message: Outgoing,
    *,
    reply_to: str | None = None,
    thread_root: str | None = None,
    outbox_key: str | None = None,
) -> dict[str, Any]:
    """The content of a message the bot sends: a notice, or for a ``Ping`` that mentions someone, an
    ``m.text`` (the bot only ever sends one per promised event, keyed in the outbox or by the command,
    and never in answer to another bot's message, so two bots cannot ping-pong on it)."""
    if isinstance(message, Ping | Direct):
        content = notice_content(message.message, reply_to=reply_to, thread_root=thread_root, outbox_key=outbox_key)
        if isinstance(message, Direct) or message.notifies:
            content["msgtype"] = "m.text"
        return content
    return notice_content(message, reply_to=reply_to, thread_root=thread_root, outbox_key=outbox_key)


def notice_content(
    message: Fragment,
    *,
    reply_to: str | None = None,
    thread_root: str | None = None,
    outbox_key: str | None = None,
) -> dict[str, Any]:
    """The content of every message the bot sends.

    ``m.mentions`` is always present: empty unless the fragment holds intentional mentions, so
    clients apply the intentional-mentions push rules and nothing else in the text pings anyone
    (homeservers skip the legacy body-matching rules, ``@room`` included, when ``m.mentions`` is
    there). It never carries ``room: true``: the bot cannot ping a whole room.
    """
    content: dict[str, Any] = {
        "msgtype": "m.notice",
        "body": message.plain,
        "format": "org.matrix.custom.html",
        "formatted_body": message.html,
        "m.mentions": {"user_ids": list(message.mentions)} if message.mentions else {},
    }
    relation: dict[str, Any] = {}
    if thread_root is not None:
        relation = {"rel_type": "m.thread", "event_id": thread_root, "is_falling_back": reply_to is None}
        relation["m.in_reply_to"] = {"event_id": reply_to or thread_root}
        if reply_to is not None:
            relation["is_falling_back"] = True
    elif reply_to is not None:
        relation = {"m.in_reply_to": {"event_id": reply_to}}
    if relation:
        content["m.relates_to"] = relation
    if outbox_key is not None:
        content[OUTBOX_KEY_FIELD] = outbox_key
    return content


# Element reads this room state as the room's default for URL previews; a preview fetched by the
# homeserver would spend a one-time sign-in link before its owner clicks it.
NO_URL_PREVIEWS = {"type": "org.matrix.room.preview_urls", "state_key": "", "content": {"disable": True}}
DIRECT_ROOMS = "m.direct"   # account data: {user ID: [room IDs]}


def permalink(room_id: str, event_id: str) -> str:
    return f"https://matrix.to/#/{room_id}/{event_id}"


def event_content_key(event: dict[str, Any]) -> str | None:
    content = event.get("content")
    if isinstance(content, dict) and isinstance(content.get(OUTBOX_KEY_FIELD), str):
        return content[OUTBOX_KEY_FIELD]
    return None


@dataclass(frozen=True)
class RoomStateEvent:
    type: str
    content: dict[str, Any]
    raw: dict[str, Any]


def read_room_state_event(event: dict[str, Any]) -> RoomStateEvent | None:
    """A room-wide state event (empty state key) the bot cares about, or None."""
    if event.get("state_key") != "" or event.get("type") not in (POWER_LEVELS, CREATE, ENCRYPTION):
        return None
    content = event.get("content")
    if not isinstance(content, dict):
        return None
    return RoomStateEvent(event["type"], content, event)


@dataclass(frozen=True)
class PowerLevels:
    """Who may do what in a room, including room v12 creators who are not in the ``users`` map."""

    users: dict[str, int]
    users_default: int
    creators: frozenset[str]

    def level_of(self, user_id: str) -> float:
        if user_id in self.creators:
            return float("inf")
        return self.users.get(user_id, self.users_default)


def power_levels_from_state(power_levels: dict[str, Any] | None, create: dict[str, Any] | None) -> PowerLevels:
    """Read ``m.room.power_levels`` content and the ``m.room.create`` event.

    From room version 12 the creators (the create event's sender and ``additional_creators``) hold
    unlimited power and are absent from ``users``; earlier versions list the creator in ``users``.
    """
    content = power_levels or {}
    users = {u: int(level) for u, level in (content.get("users") or {}).items() if _is_int(level)}
    default = int(content["users_default"]) if _is_int(content.get("users_default")) else 0
    creators: set[str] = set()
    if create:
        room_version = str((create.get("content") or {}).get("room_version", "1"))
        if _creators_have_infinite_power(room_version):
            if isinstance(create.get("sender"), str):
                creators.add(create["sender"])
            extra = (create.get("content") or {}).get("additional_creators") or []
            creators.update(u for u in extra if isinstance(u, str))
        elif power_levels is None and isinstance(create.get("sender"), str):
            users.setdefault(create["sender"], 100)
    return PowerLevels(users, default, frozenset(creators))


def _is_int(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, str) and value.lstrip("-").isdigit()


def _creators_have_infinite_power(room_version: str) -> bool:
    return room_version.isdigit() and int(room_version) >= 12 or room_version.startswith("org.matrix.hydra")


def is_join_of(event: dict[str, Any], user_id: str) -> bool:
    """Is this raw event ``user_id`` joining the room (not a profile change of a member already in)?"""
    if event.get("type") != "m.room.member" or event.get("state_key") != user_id:
        return False
    content = event.get("content")
    if not isinstance(content, dict) or content.get("membership") != "join":
        return False
    unsigned = event.get("unsigned") if isinstance(event.get("unsigned"), dict) else {}
    previous = unsigned.get("prev_content") if isinstance(unsigned.get("prev_content"), dict) else {}
    return previous.get("membership") != "join"


def event_timestamp_ms(event: dict[str, Any]) -> int | None:
    timestamp = event.get("origin_server_ts")
    return timestamp if isinstance(timestamp, int) else None
