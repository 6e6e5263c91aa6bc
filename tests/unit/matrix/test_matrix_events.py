"""Event shapes: incoming parsing, reply fallbacks, outgoing notices, power levels of room v12."""

from __future__ import annotations

import json

from bot.matrix.events import (
    Ping,
    message_content,
    notice_content,
    parse_room_message,
    power_levels_from_state,
    strip_reply_fallback,
)
from bot.matrix.rendering import bold, mention, text


def raw(body, **content):
    return {"type": "m.room.message", "event_id": "$e", "sender": "@a:x", "origin_server_ts": 1_700_000_000_000,
            "content": {"msgtype": "m.text", "body": body, **content}}


def test_legacy_reply_fallback_is_stripped_before_reading_a_command():
    event = raw("> <@b:x> earlier text\n> more\n\n!ping", **{"m.relates_to": {"m.in_reply_to": {"event_id": "$p"}}})
    message = parse_room_message("!r", event)
    assert message.body == "!ping" and message.in_reply_to == "$p"
    assert strip_reply_fallback("no fallback") == "no fallback"


def test_thread_root_is_read():
    event = raw("!ping", **{"m.relates_to": {"rel_type": "m.thread", "event_id": "$root"}})
    assert parse_room_message("!r", event).thread_root == "$root"


def test_malformed_events_are_skipped():
    assert parse_room_message("!r", {"type": "m.room.message", "content": "nope"}) is None
    assert parse_room_message("!r", {**raw("x"), "content": {"body": 5, "msgtype": "m.text"}}) is None
    assert parse_room_message("!r", {**raw("x"), "type": "m.reaction"}) is None


def test_notice_content_always_has_mentions_and_no_fallback():
    content = notice_content(text("<b>@room</b>"), reply_to="$cmd")
    assert content["msgtype"] == "m.notice"
    assert content["m.mentions"] == {}
    assert content["m.relates_to"] == {"m.in_reply_to": {"event_id": "$cmd"}}
    assert "&lt;b&gt;" in content["formatted_body"] and "@room" not in content["body"]
    assert not content["body"].startswith(">")


def test_thread_replies_stay_in_the_thread():
    content = notice_content(bold("hi"), reply_to="$cmd", thread_root="$root")
    assert content["m.relates_to"] == {"rel_type": "m.thread", "event_id": "$root", "is_falling_back": True,
                                       "m.in_reply_to": {"event_id": "$cmd"}}


def test_mentions_are_intentional():
    content = notice_content(text("ping ") + mention("@mod:x"))
    assert content["m.mentions"] == {"user_ids": ["@mod:x"]}
    assert 'href="https://matrix.to/#/@mod:x"' in content["formatted_body"]


def test_a_ping_is_text_so_it_notifies_and_still_cannot_ping_the_room():
    content = message_content(Ping(mention("@mod:x") + text(": look at @room <now>")), reply_to="$n")
    assert content["msgtype"] == "m.text"
    assert content["m.mentions"] == {"user_ids": ["@mod:x"]}  # never "room": true
    assert 'href="https://matrix.to/#/@mod:x"' in content["formatted_body"]
    assert "@room" not in content["body"] and "@room" not in content["formatted_body"]
    assert content["m.relates_to"] == {"m.in_reply_to": {"event_id": "$n"}}


def test_a_ping_that_mentions_nobody_stays_a_notice():
    assert message_content(Ping(text("no one is configured to ping")))["msgtype"] == "m.notice"
    assert message_content(text("an answer"))["msgtype"] == "m.notice"


def test_room_v12_creators_have_unlimited_power():
    create = {"sender": "@creator:x", "content": {"room_version": "12", "additional_creators": ["@co:x"]}}
    levels = power_levels_from_state({"users": {"@mod:x": 50}, "users_default": 0}, create)
    assert levels.level_of("@creator:x") == float("inf")
    assert levels.level_of("@co:x") == float("inf")
    assert levels.level_of("@mod:x") == 50
    assert levels.level_of("@nobody:x") == 0


def test_older_rooms_read_the_users_map():
    create = {"sender": "@creator:x", "content": {"room_version": "10"}}
    levels = power_levels_from_state({"users": {"@creator:x": 100}}, create)
    assert levels.level_of("@creator:x") == 100
    assert levels.creators == frozenset()


def test_half_a_utf16_pair_in_a_body_becomes_a_replacement_character():
    # What Synapse's JSON "\ud800" decodes to: a str that no UTF-8 encoder (nor the database) accepts.
    event = json.loads('{"type": "m.room.message", "event_id": "$e", "sender": "@a:x", '
                       '"content": {"msgtype": "m.text", "body": "!escalate \\ud800 caf\\u00e9 \\ud83d\\ude00"}}')

    message = parse_room_message("!r:x", event)

    assert message is not None and message.body == "!escalate \ufffd café 😀"
    message.body.encode("utf-8")
