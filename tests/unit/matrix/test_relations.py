"""Edits, redactions and reactions, parsed from the event shapes Element sends (and older clients)."""

from __future__ import annotations

from fnmatch import fnmatchcase

from bot.matrix import sync
from bot.matrix.events import IncomingMessage
from bot.matrix.relations import (
    Edit,
    Reaction,
    Redaction,
    edit_content,
    parse_timeline_event,
    reaction_content,
)
from bot.matrix.rendering import bold, text

ROOM = "!contributors:localhost"
TS = 1_795_000_000_000


def element_edit(new_body: str, *, target: str = "$original", new_extra: dict | None = None,
                 extra: dict | None = None) -> dict:
    """An edit as Element Web sends it (intentional mentions on: both levels carry m.mentions)."""
    return {
        "type": "m.room.message", "event_id": "$edit", "sender": "@alice:localhost", "origin_server_ts": TS,
        "unsigned": {"age": 12},
        "content": {
            "msgtype": "m.text", "body": f"* {new_body}",
            "m.new_content": {"msgtype": "m.text", "body": new_body, "m.mentions": {}, **(new_extra or {})},
            "m.mentions": {},
            "m.relates_to": {"rel_type": "m.replace", "event_id": target},
            **(extra or {}),
        },
    }


def test_an_edit_reads_the_new_content_not_the_star_fallback():
    edit = parse_timeline_event(ROOM, element_edit("!reply refresh-firefox"))
    assert edit == Edit("$edit", ROOM, "@alice:localhost", "$original", "!reply refresh-firefox", "m.text",
                        edit.sent_at)
    assert edit.sent_at.timestamp() == TS / 1000


def test_half_a_surrogate_pair_in_an_edit_becomes_a_replacement_character():
    edit = parse_timeline_event(ROOM, element_edit("!escalate \ud800"))
    assert edit.body == "!escalate \ufffd"
    edit.body.encode("utf-8")  # what the database stores: it must encode


def test_an_edit_with_mentions_and_html():
    pill = '<a href="https://matrix.to/#/@bob:localhost">Bob</a>'
    event = element_edit("!check @Bob try this #fxhelp", new_extra={
        "format": "org.matrix.custom.html", "formatted_body": f"!check {pill} try this #fxhelp",
        "m.mentions": {"user_ids": ["@bob:localhost"]}},
        extra={"m.mentions": {"user_ids": ["@bob:localhost"]}, "format": "org.matrix.custom.html",
               "formatted_body": f"* !check {pill} try this #fxhelp"})
    edit = parse_timeline_event(ROOM, event)
    assert isinstance(edit, Edit) and edit.body == "!check @Bob try this #fxhelp"


def test_an_edit_without_m_mentions_from_an_older_client():
    event = element_edit("!help")
    del event["content"]["m.mentions"]
    del event["content"]["m.new_content"]["m.mentions"]
    assert parse_timeline_event(ROOM, event).body == "!help"


def test_an_edit_in_a_thread_carries_only_the_replace_relation():
    # Element keeps the thread relation on the original; the edit relates by m.replace alone.
    edit = parse_timeline_event(ROOM, element_edit("!kb sync passwords", target="$in-thread"))
    assert isinstance(edit, Edit) and edit.replaces == "$in-thread"


def test_a_legacy_reply_fallback_inside_new_content_is_stripped():
    event = element_edit("> <@bob:localhost> how do I refresh?\n> it is slow\n\n!reply refresh-firefox", new_extra={
        "format": "org.matrix.custom.html",
        "formatted_body": "<mx-reply><blockquote>…</blockquote></mx-reply>!reply refresh-firefox"})
    assert parse_timeline_event(ROOM, event).body == "!reply refresh-firefox"


def test_a_plain_message_and_a_thread_reply_stay_messages():
    plain = element_edit("x")
    plain["content"] = {"msgtype": "m.text", "body": "!ping"}
    assert isinstance(parse_timeline_event(ROOM, plain), IncomingMessage)
    plain["content"]["m.relates_to"] = {"rel_type": "m.thread", "event_id": "$root", "is_falling_back": True,
                                        "m.in_reply_to": {"event_id": "$root"}}
    assert parse_timeline_event(ROOM, plain).thread_root == "$root"


def test_malformed_edits_are_skipped_not_read_as_messages():
    broken = element_edit("!help")
    broken["content"]["m.new_content"] = "nope"
    assert parse_timeline_event(ROOM, broken).__class__ is IncomingMessage  # only its "* " body: no command
    assert parse_timeline_event(ROOM, broken).body == "* !help"


def test_redactions_in_new_and_old_room_versions():
    v11 = {"type": "m.room.redaction", "event_id": "$r", "sender": "@alice:localhost", "origin_server_ts": TS,
           "redacts": "$cmd", "content": {"redacts": "$cmd"}}
    old = {"type": "m.room.redaction", "event_id": "$r", "sender": "@alice:localhost", "origin_server_ts": TS,
           "redacts": "$cmd", "content": {"reason": "typo"}}
    for event in (v11, old):
        redaction = parse_timeline_event(ROOM, event)
        assert isinstance(redaction, Redaction) and redaction.redacts == "$cmd"
    assert parse_timeline_event(ROOM, {**old, "redacts": None}) is None


def test_reactions_with_and_without_the_variation_selector():
    def reaction(key: str) -> dict:
        return {"type": "m.reaction", "event_id": "$re", "sender": "@mod:localhost", "origin_server_ts": TS,
                "content": {"m.relates_to": {"rel_type": "m.annotation", "event_id": "$ping", "key": key}}}

    eyes = parse_timeline_event(ROOM, reaction("👀"))
    assert eyes == Reaction("$re", ROOM, "@mod:localhost", "$ping", "👀", eyes.sent_at)
    assert parse_timeline_event(ROOM, reaction("✅\ufe0f")).key == "✅"
    assert parse_timeline_event(ROOM, reaction("  ")) is None
    wrong = reaction("👀")
    wrong["content"]["m.relates_to"]["rel_type"] = "m.reference"
    assert parse_timeline_event(ROOM, wrong) is None


def test_state_events_are_not_timeline_actions():
    assert parse_timeline_event(ROOM, {"type": "m.room.member", "state_key": "@a:x", "event_id": "$m",
                                       "sender": "@a:x", "content": {"membership": "join"}}) is None


def test_the_bots_edit_replaces_its_answer_with_the_whole_new_answer():
    content = edit_content("$answer", bold("refresh-firefox") + text(" <ready>"), outbox_key="edit:$e")
    assert content["m.relates_to"] == {"rel_type": "m.replace", "event_id": "$answer"}
    assert content["body"] == "* refresh-firefox <ready>"
    assert content["formatted_body"] == "* <strong>refresh-firefox</strong> &lt;ready&gt;"
    new = content["m.new_content"]
    assert new["msgtype"] == "m.notice" and new["body"] == "refresh-firefox <ready>"
    assert new["m.mentions"] == {} and "m.relates_to" not in new
    assert content["m.mentions"] == {}


def test_the_bots_reaction():
    assert reaction_content("$root", "✅")["m.relates_to"] == {"rel_type": "m.annotation", "event_id": "$root",
                                                              "key": "✅"}


def _timeline_passes(sync_filter: dict, event_type: str) -> bool:
    """The Matrix filter rule for a room timeline: ``not_types`` wins, then ``types`` (absent: all)."""
    timeline = sync_filter.get("room", {}).get("timeline", {})
    if any(fnmatchcase(event_type, pattern) for pattern in timeline.get("not_types", [])):
        return False
    types = timeline.get("types")
    return types is None or any(fnmatchcase(event_type, pattern) for pattern in types)


def test_the_sync_filter_lets_reactions_and_redactions_through():
    for event_type in ("m.room.message", "m.reaction", "m.room.redaction"):
        assert _timeline_passes(sync._SYNC_FILTER, event_type), event_type
