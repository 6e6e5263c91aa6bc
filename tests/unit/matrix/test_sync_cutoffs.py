"""The cut at the bot's own join: what a first start (or a newly joined room) answers."""

from __future__ import annotations

from bot.matrix.events import is_join_of
from bot.matrix.sync import _after_own_join

BOT = "@fxhelpbot:localhost"


def member(user_id: str, membership: str, previous: str | None = None, event_id: str = "$m") -> dict:
    event = {"type": "m.room.member", "state_key": user_id, "sender": user_id, "event_id": event_id,
             "content": {"membership": membership}, "origin_server_ts": 1}
    if previous is not None:
        event["unsigned"] = {"prev_content": {"membership": previous}}
    return event


def message(event_id: str) -> dict:
    return {"type": "m.room.message", "event_id": event_id, "sender": "@alice:localhost",
            "content": {"msgtype": "m.text", "body": "!ping"}, "origin_server_ts": 1}


def test_a_join_is_a_membership_change_to_join_of_that_user():
    assert is_join_of(member(BOT, "join", "invite"), BOT)
    assert is_join_of(member(BOT, "join"), BOT)
    assert not is_join_of(member(BOT, "join", "join"), BOT)  # a display name change
    assert not is_join_of(member(BOT, "invite"), BOT)
    assert not is_join_of(member("@alice:localhost", "join", "invite"), BOT)
    assert not is_join_of(message("$x"), BOT)
    assert not is_join_of({"type": "m.room.member", "state_key": BOT, "content": "join"}, BOT)


def test_only_what_follows_the_last_join_is_kept():
    events = [message("$before"), member(BOT, "join", "invite", "$join1"), message("$between"),
              member(BOT, "leave", "join", "$left"), member(BOT, "join", "leave", "$join2"),
              member(BOT, "join", "join", "$renamed"), message("$after")]
    assert [e["event_id"] for e in _after_own_join(events, BOT)] == ["$renamed", "$after"]


def test_without_a_join_everything_is_kept():
    events = [message("$a"), member("@alice:localhost", "join", "invite", "$alice"), message("$b")]
    assert _after_own_join(events, BOT) == events
