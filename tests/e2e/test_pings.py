"""Pings notify, as users meet them: each user's notifications read back from the real Synapse.

Under the spec's default push rules ``.m.rule.suppress_notices`` comes before every mention rule, so
only the bot's pings (m.text with ``m.mentions``) may notify; its ordinary answers (notices) must not
be among anyone's notifications, and a ping highlights only the people it means to reach — not a
user whose ID merely appears in the text, and not the whole room when someone typed ``@room``.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from typing import Any

import aiohttp
from nio import RoomPutStateResponse

from tests.e2e.harness import ChatUser, body, keyed, open_consult, replies_to

TWEET = "https://x.com/someone/status/{}"
Predicate = Callable[[str, dict[str, Any]], bool]


def from_bot(room: str, containing: str, bot: str) -> Predicate:
    def predicate(room_id: str, event: dict[str, Any]) -> bool:
        return (room_id == room and event.get("sender") == bot
                and containing in event.get("content", {}).get("body", ""))
    return predicate


def reply_containing(event_id: str, containing: str) -> Predicate:
    is_reply = replies_to(event_id)
    return lambda room_id, event: is_reply(room_id, event) and containing in event["content"].get("body", "")


async def notifications(synapse_url: str, user: ChatUser) -> dict[str, list[Any]]:
    """``GET /notifications`` of one user: event ID → push actions."""
    found: dict[str, list[Any]] = {}
    params: dict[str, str] = {"limit": "100"}
    headers = {"Authorization": f"Bearer {user.client.access_token}"}
    async with aiohttp.ClientSession() as session:
        while True:
            async with session.get(f"{synapse_url}/_matrix/client/v3/notifications", params=params,
                                   headers=headers) as response:
                assert response.status == 200, await response.text()
                page = await response.json()
            for item in page["notifications"]:
                found[item["event"]["event_id"]] = item["actions"]
            if not page.get("next_token"):
                return found
            params["from"] = page["next_token"]


def highlights(actions: list[Any]) -> bool:
    return any(isinstance(a, dict) and a.get("set_tweak") == "highlight" and a.get("value", True) for a in actions)


def notifies(actions: list[Any]) -> bool:
    return "notify" in actions


async def notifications_once_present(synapse_url: str, user: ChatUser, wanted: set[str],
                                     timeout: float = 10) -> dict[str, list[Any]]:
    """The user's notifications, read once every wanted event is among them (the positive signal)."""
    deadline = time.monotonic() + timeout
    while True:
        found = await notifications(synapse_url, user)
        if wanted <= found.keys() or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.3)


async def give_the_bot_room_ping_power(host: ChatUser, room_id: str, bot: str) -> None:
    """Power 100, so that nothing but the bot's own restraint stops an ``@room`` from notifying."""
    state = await host.client.room_get_state_event(room_id, "m.room.power_levels")
    content = dict(state.content)
    content["users"] = {**content.get("users", {}), bot: 100}
    put = await host.client.room_put_state(room_id, "m.room.power_levels", content)
    assert isinstance(put, RoomPutStateResponse), put


async def test_pings_notify_the_people_they_mean_and_nothing_else_notifies(synapse, cast, rooms, bot_factory):
    bot = cast.bot_user_id
    for room in (rooms.contributors, rooms.moderators):
        await give_the_bot_room_ping_power(cast.host, room, bot)
    await bot_factory(rooms, escalations={"reping_after": "3s"}, consults={"window": "5s", "remind_after": "2s"})

    # Ordinary answers, to both people who will be pinged.
    await cast.mod.ask(rooms.moderators, "!ping")
    await cast.alice.ask(rooms.contributors, "!help")

    # !escalate (with an "@room" typed in it) → the moderators' ping; left open → the re-ping.
    command = await cast.alice.send(rooms.contributors, f"!escalate {TWEET.format(9001)} @room look at this brand")
    number = int(re.search(r"#(\d+)", body((await cast.alice.wait_for(replies_to(command)))[0])).group(1))
    escalation_ping = (await cast.mod.wait_for(from_bot(rooms.moderators, f"Escalation #{number} — brand", bot)))[0]
    reping = (await cast.mod.wait_for(from_bot(rooms.moderators, f"Escalation #{number} is still open", bot),
                                      timeout=15))[0]

    # !ack and !resolve → the requester is told, each time.
    await cast.mod.ask(rooms.moderators, f"!ack {number}")
    told_ack = (await cast.alice.wait_for(reply_containing(command, "acknowledged by")))[0]
    await cast.cfgmod.ask(rooms.contributors, f"!resolve {number} handled by the brand team")
    told_resolved = (await cast.alice.wait_for(reply_containing(command, "was resolved by")))[0]

    # A consult answered in its thread → its requester is told; one nobody answers → the expiry ping.
    answered, answered_root = await open_consult(cast.alice, rooms.contributors, TWEET.format(9002), "pdf editor gone?")
    waiting, _ = await open_consult(cast.alice, rooms.contributors, TWEET.format(9003), "a question nobody takes")
    await cast.eve.send(rooms.contributors, "It moved to the toolbar", thread_root=answered_root)
    told_answer = (await cast.alice.wait_for(keyed(rooms.contributors, f"consult:{answered}:answered")))[0]
    await cast.alice.wait_for(keyed(rooms.contributors, f"consult:{waiting}:remind"), timeout=10)
    await cast.alice.wait_for(keyed(rooms.contributors, f"consult:{waiting}:expire"), timeout=10)
    expiry_ping = (await cast.mod.wait_for(keyed(rooms.moderators, f"consult:{waiting}:expire:moderators"),
                                           timeout=10))[0]

    pings = [(escalation_ping, cast.mod.user_id), (reping, cast.mod.user_id), (expiry_ping, cast.mod.user_id),
             (told_ack, cast.alice.user_id), (told_resolved, cast.alice.user_id), (told_answer, cast.alice.user_id)]
    targets = {event["event_id"]: target for event, target in pings}
    for event, target in pings:
        assert event["content"]["msgtype"] == "m.text", body(event)
        assert event["content"]["m.mentions"] == {"user_ids": [target]}
        assert f'href="https://matrix.to/#/{target}"' in event["content"]["formatted_body"]

    checked_ordinary = 0
    for user in (cast.mod, cast.alice, cast.cfgmod):
        meant_for_user = {event_id for event_id, target in targets.items() if target == user.user_id}
        seen = await notifications_once_present(synapse.url, user, meant_for_user)
        bot_messages = user.matching(lambda room_id, e: e.get("sender") == bot and e.get("type") == "m.room.message"
                                     and room_id in (rooms.contributors, rooms.moderators))
        for event in bot_messages:
            event_id, text = event["event_id"], body(event)[:60]
            if event_id in meant_for_user:
                assert event_id in seen, f"{user.localpart} was not notified of {text!r}"
                assert notifies(seen[event_id]) and highlights(seen[event_id]), (text, seen[event_id])
            elif event_id in targets:  # someone else's ping: at most the room's plain "new message"
                assert not highlights(seen.get(event_id, [])), f"{user.localpart} highlighted by {text!r}"
            else:
                assert event_id not in seen, f"{user.localpart} notified of an ordinary answer {text!r}"
                checked_ordinary += 1
    # The confirmations, the consult roots, the reminder and the expiry notice, !ping and !help.
    assert checked_ordinary >= 10
