"""Escalations end to end: a real Synapse, the real bot process, contributors and moderators."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from typing import Any

from tests.e2e.harness import body, notices_in, pings_in, replies_to

TWEET = "https://x.com/someone/status/{}"
FAST_REPING = {"reping_after": "3s"}
NO_DUPLICATE_TICKS = 2  # scheduler ticks (1 s in the e2e config) to wait for before checking nothing came twice


def number_in(answer: dict[str, Any]) -> int:
    match = re.search(r"#(\d+)", body(answer))
    assert match is not None, body(answer)
    return int(match.group(1))


def answer_to(event_id: str, containing: str) -> Callable[[str, dict[str, Any]], bool]:
    is_reply = replies_to(event_id)
    return lambda room_id, event: is_reply(room_id, event) and containing in event["content"].get("body", "")


async def test_escalate_pings_the_moderators_and_confirms(cast, rooms, bot_factory):
    await bot_factory(rooms)
    tweet = TWEET.format(1001)
    command = await cast.alice.send(rooms.contributors, f"!escalate {tweet} trending")
    confirmation = (await cast.alice.wait_for(replies_to(command)))[0]
    number = number_in(confirmation)
    assert f"Escalation #{number} is open (reason: trending)" in body(confirmation)
    assert "#fxhelp" in body(confirmation)  # the holding reply, ready to paste
    assert confirmation["content"]["m.mentions"] == {}

    notice = (await cast.mod.wait_for(pings_in(rooms.moderators, f"Escalation #{number} — trending",
                                                 sender=cast.bot_user_id)))[0]
    content = notice["content"]
    assert content["m.mentions"] == {"user_ids": [cast.mod.user_id]}
    assert f'<a href="https://matrix.to/#/{cast.mod.user_id}">' in content["formatted_body"]
    assert tweet in content["body"]
    assert f"https://matrix.to/#/{rooms.contributors}/{command}" in content["body"]

    elsewhere = body(await cast.mod.ask(rooms.moderators, f"!escalate {tweet}"))
    assert "Please use !escalate in the contributors' room" in elsewhere
    usage = body(await cast.alice.ask(rooms.contributors, f"!escalate {tweet} someday"))
    assert usage.startswith("Unknown reason 'someday'; valid ones: trending, no-kb, paid, brand, other.")


async def test_moderators_take_and_close_it_and_the_requester_is_told(cast, rooms, bot_factory):
    await bot_factory(rooms)
    thread = await cast.alice.send(rooms.contributors, "someone asks about VPN refunds")
    command = await cast.alice.send(rooms.contributors, "!escalate VPN refunds after cancelling paid",
                                    thread_root=thread)
    number = number_in((await cast.alice.wait_for(replies_to(command)))[0])

    refused = body(await cast.eve.ask(rooms.contributors, f"!ack {number}"))
    assert refused == "Sorry, !ack is for moderators only."
    assert body(await cast.eve.ask(rooms.contributors, f"!resolve {number}")) == \
        "Sorry, !resolve is for moderators only."

    # mod is a moderator by power level, in the moderators' room.
    taken = body(await cast.mod.ask(rooms.moderators, f"!ack {number}"))
    assert taken == f"Escalation #{number} is yours now; its requester has been told."
    told = (await cast.alice.wait_for(answer_to(command, "acknowledged by")))[0]
    assert f"your escalation #{number} was acknowledged by {cast.mod.user_id}" in body(told)
    assert told["content"]["m.relates_to"]["rel_type"] == "m.thread"
    assert told["content"]["m.relates_to"]["event_id"] == thread
    assert told["content"]["m.mentions"] == {"user_ids": [cast.alice.user_id]}

    # cfgmod is a moderator by configuration, and may answer from the contributors' room.
    closed = body(await cast.cfgmod.ask(rooms.contributors, f"!resolve {number} Refunds go through the VPN form"))
    assert closed == f"Escalation #{number} is resolved; its requester has been told."
    relayed = body((await cast.alice.wait_for(answer_to(command, "was resolved by")))[0])
    assert f"resolved by {cast.cfgmod.user_id}. Their note: Refunds go through the VPN form" in relayed

    twice = body(await cast.mod.ask(rooms.moderators, f"!resolve {number}"))
    assert twice.startswith(f"Escalation #{number} was already resolved by {cast.cfgmod.user_id}")
    listed = body(await cast.alice.ask(rooms.contributors, "!escalations all"))
    assert f"#{number} resolved" in listed


async def test_a_second_report_of_the_same_post_joins_it(cast, rooms, bot_factory):
    await bot_factory(rooms)
    number = number_in(await cast.alice.ask(rooms.contributors, f"!escalate {TWEET.format(2002)} no-kb"))

    again = body(await cast.eve.ask(rooms.contributors, "!escalate https://twitter.com/SomeOne/status/2002?s=20"))

    assert f"+1 on escalation #{number}" in again and "now 2 reports" in again
    notice = (await cast.mod.wait_for(notices_in(rooms.moderators, f"Escalation #{number}: +1 from "
                                                                   f"{cast.eve.user_id}, now 2 reports")))[0]
    assert notice["content"]["m.mentions"] == {}  # news, not a new ping
    listed = body(await cast.alice.ask(rooms.contributors, "!escalations"))
    assert f"#{number} open" in listed and "2 reports" in listed


async def test_an_open_escalation_is_pinged_again_once(cast, rooms, bot_factory):
    bot = await bot_factory(rooms, escalations=FAST_REPING)
    waiting = number_in(await cast.alice.ask(rooms.contributors, f"!escalate {TWEET.format(3003)} brand"))
    taken = number_in(await cast.alice.ask(rooms.contributors, f"!escalate {TWEET.format(3004)} brand"))
    await cast.mod.ask(rooms.moderators, f"!ack {taken}")

    still_open = pings_in(rooms.moderators, f"Escalation #{waiting} is still open", sender=cast.bot_user_id)
    reping = (await cast.mod.wait_for(still_open, timeout=15))[0]
    await bot.wait_for_ticks(NO_DUPLICATE_TICKS)
    await cast.mod.caught_up(rooms.moderators)

    assert reping["content"]["m.mentions"] == {"user_ids": [cast.mod.user_id]}
    assert len(cast.mod.matching(still_open)) == 1
    assert cast.mod.matching(pings_in(rooms.moderators, f"Escalation #{taken} is still open")) == []


async def test_the_re_ping_is_sent_once_across_a_crash_just_before_it_is_due(cast, rooms, bot_factory, tmp_path):
    bot = await bot_factory(rooms, folder=tmp_path / "crashing", escalations=FAST_REPING)
    number = number_in(await cast.alice.ask(rooms.contributors, f"!escalate {TWEET.format(4004)} trending"))
    opened = time.monotonic()
    still_open = pings_in(rooms.moderators, f"Escalation #{number} is still open", sender=cast.bot_user_id)

    await asyncio.sleep(1.5)
    bot.kill()
    await asyncio.sleep(max(0.0, opened + 3.5 - time.monotonic()))
    await cast.mod.caught_up(rooms.moderators)  # the bot is down: whatever it sent before is seen now
    assert cast.mod.matching(still_open) == []
    await bot.start()

    await cast.mod.wait_for(still_open, timeout=15)
    await bot.wait_for_ticks(NO_DUPLICATE_TICKS)
    await cast.mod.caught_up(rooms.moderators)
    assert len(cast.mod.matching(still_open)) == 1
