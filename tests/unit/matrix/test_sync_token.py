"""When the stored sync token moves: after any batch with something for the bot, not after its own echo."""

from __future__ import annotations

from typing import Any

from nio import SyncResponse

from bot.matrix.sync import _carries_others

BOT = "@fxhelpbot:example.org"


def sync_response(*timeline: dict[str, Any], state: list[dict[str, Any]] | None = None,
                  invite: bool = False) -> SyncResponse:
    rooms: dict[str, Any] = {"join": {"!r:example.org": {
        "timeline": {"events": list(timeline), "limited": False, "prev_batch": "p1"},
        "state": {"events": state or []}, "ephemeral": {"events": []}, "account_data": {"events": []},
    }}}
    if invite:
        rooms["invite"] = {"!new:example.org": {"invite_state": {"events": []}}}
    response = SyncResponse.from_dict({"next_batch": "s2", "rooms": rooms})
    assert isinstance(response, SyncResponse), response
    return response


def message(sender: str, body: str = "hello") -> dict[str, Any]:
    return {"type": "m.room.message", "event_id": f"${sender}{body}", "sender": sender,
            "origin_server_ts": 1_700_000_000_000, "content": {"msgtype": "m.notice", "body": body}}


def test_the_bots_own_echo_alone_does_not_need_the_token_saved():
    assert not _carries_others(sync_response(message(BOT), message(BOT, "again")), BOT)
    assert not _carries_others(sync_response(), BOT)


def test_anything_else_does():
    assert _carries_others(sync_response(message(BOT), message("@alice:example.org", "!ping")), BOT)
    member = {"type": "m.room.member", "event_id": "$m", "sender": "@alice:example.org", "state_key": "@alice:example.org",
              "origin_server_ts": 1_700_000_000_000, "content": {"membership": "join"}}
    assert _carries_others(sync_response(state=[member]), BOT)
    assert _carries_others(sync_response(invite=True), BOT)
