"""Matrix-native interaction end to end: edits, redactions and reactions on the real Synapse.

Every absence is counted after a positive signal: a later command's answer (the bot handles a room's
events in order, so once it answered that, it has handled what came before).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from tests.e2e.harness import ChatUser, body, open_consult, pings_in, replies_to

TWEET = "https://x.com/someone/status/{}"
Predicate = Callable[[str, dict[str, Any]], bool]


async def edit(user: ChatUser, room_id: str, target: str, new_body: str) -> str:
    """An edit exactly as Element sends it."""
    return await user.send(room_id, f"* {new_body}", extra={
        "m.new_content": {"msgtype": "m.text", "body": new_body, "m.mentions": {}},
        "m.mentions": {},
        "m.relates_to": {"rel_type": "m.replace", "event_id": target},
    })


async def react(user: ChatUser, room_id: str, target: str, key: str) -> str:
    response = await user.client.room_send(room_id, "m.reaction", {
        "m.relates_to": {"rel_type": "m.annotation", "event_id": target, "key": key}})
    return response.event_id


def replacing(event_id: str, sender: str) -> Predicate:
    def predicate(room_id: str, event: dict[str, Any]) -> bool:
        relates = event.get("content", {}).get("m.relates_to", {})
        return (event.get("sender") == sender and relates.get("rel_type") == "m.replace"
                and relates.get("event_id") == event_id)
    return predicate


def answers_to(event_id: str, sender: str) -> Predicate:
    is_reply = replies_to(event_id)
    return lambda room_id, event: event.get("sender") == sender and is_reply(room_id, event)


def reactions_on(event_id: str, sender: str, key: str) -> Predicate:
    def predicate(room_id: str, event: dict[str, Any]) -> bool:
        relates = event.get("content", {}).get("m.relates_to", {})
        return (event.get("type") == "m.reaction" and event.get("sender") == sender
                and relates.get("event_id") == event_id and relates.get("key") == key)
    return predicate


def redaction_of(event_id: str, sender: str) -> Predicate:
    def predicate(room_id: str, event: dict[str, Any]) -> bool:
        redacts = event.get("redacts") or event.get("content", {}).get("redacts")
        return event.get("type") == "m.room.redaction" and event.get("sender") == sender and redacts == event_id
    return predicate


async def signal(user: ChatUser, room_id: str) -> None:
    """The positive signal: the bot answers a later command (it has handled everything before it)."""
    assert body(await user.ask(room_id, "!ping")).startswith("Pong!")


async def test_an_edited_reply_typo_gets_one_answer_and_one_edit_of_it(cast, rooms, bot_factory):
    await bot_factory(rooms)
    bot = cast.bot_user_id
    command = await cast.alice.send(rooms.contributors, "!reply refesh-firefox")
    [answer] = await cast.alice.wait_for(answers_to(command, bot))
    assert "Did you mean" in body(answer) and "refresh-firefox" in body(answer)

    await edit(cast.alice, rooms.contributors, command, "!reply refresh-firefox")
    [replaced] = await cast.alice.wait_for(replacing(answer["event_id"], bot))
    await signal(cast.alice, rooms.contributors)

    new = replaced["content"]["m.new_content"]
    assert "#fxhelp" in new["body"] and "Did you mean" not in new["body"]
    assert replaced["content"]["body"] == "* " + new["body"]
    assert new["msgtype"] == "m.notice" and new["m.mentions"] == {}
    assert len(cast.alice.matching(answers_to(command, bot))) == 1
    assert len(cast.alice.matching(replacing(answer["event_id"], bot))) == 1


async def test_an_edited_escalate_opens_no_second_escalation(cast, rooms, bot_factory):
    await bot_factory(rooms)
    bot = cast.bot_user_id
    command = await cast.alice.send(rooms.contributors, f"!escalate {TWEET.format(501)} trending")
    [answer] = await cast.alice.wait_for(answers_to(command, bot))
    number = int(re.search(r"Escalation #(\d+) is open", body(answer)).group(1))
    await cast.mod.wait_for(pings_in(rooms.moderators, f"Escalation #{number}", sender=bot))

    await edit(cast.alice, rooms.contributors, command, f"!escalate {TWEET.format(502)} trending")
    [replaced] = await cast.alice.wait_for(replacing(answer["event_id"], bot))
    await signal(cast.alice, rooms.contributors)
    await signal(cast.mod, rooms.moderators)

    new_body = replaced["content"]["m.new_content"]["body"]
    assert new_body.startswith(body(answer))
    assert new_body.endswith("to report another post, send a new !escalate.")
    assert len(cast.mod.matching(pings_in(rooms.moderators, "Escalation #", sender=bot))) == 1
    listing = body(await cast.alice.ask(rooms.contributors, "!escalations all"))
    assert f"#{number}" in listing and f"#{number + 1}" not in listing
    assert len(cast.alice.matching(answers_to(command, bot))) == 1


async def test_a_redacted_help_has_its_answer_redacted(cast, rooms, bot_factory):
    await bot_factory(rooms)
    bot = cast.bot_user_id
    command = await cast.alice.send(rooms.contributors, "!help")
    [answer] = await cast.alice.wait_for(answers_to(command, bot))
    assert "Edit your command" in body(answer)

    await cast.alice.client.room_redact(rooms.contributors, command, "typo")
    await cast.alice.wait_for(redaction_of(answer["event_id"], bot))
    await signal(cast.alice, rooms.contributors)
    assert len(cast.alice.matching(redaction_of(answer["event_id"], bot))) == 1


async def test_a_moderators_eyes_acknowledge_once_and_a_contributors_do_nothing(cast, rooms, bot_factory):
    await bot_factory(rooms)
    bot = cast.bot_user_id
    await cast.host.client.room_invite(rooms.moderators, cast.eve.user_id)  # a contributor who can see the ping
    await cast.eve.client.join(rooms.moderators)
    command = await cast.alice.send(rooms.contributors, f"!escalate {TWEET.format(601)} trending")
    [answer] = await cast.alice.wait_for(answers_to(command, bot))
    number = int(re.search(r"Escalation #(\d+) is open", body(answer)).group(1))
    [ping] = await cast.mod.wait_for(pings_in(rooms.moderators, f"Escalation #{number}", sender=bot))

    await react(cast.eve, rooms.moderators, ping["event_id"], "👀")
    await react(cast.mod, rooms.moderators, ping["event_id"], "👀")
    told = f"your escalation #{number} was acknowledged by {cast.mod.user_id}"
    await cast.alice.wait_for(lambda r, e: replies_to(command)(r, e) and told in e["content"].get("body", ""))
    await cast.mod.wait_for(reactions_on(ping["event_id"], bot, "👀"))
    await react(cast.cfgmod, rooms.moderators, ping["event_id"], "👀")
    await signal(cast.cfgmod, rooms.moderators)
    await signal(cast.alice, rooms.contributors)

    to_alice = [e for e in cast.alice.matching(answers_to(command, bot)) if e["event_id"] != answer["event_id"]]
    assert [told in body(e) for e in to_alice] == [True]
    assert len(cast.mod.matching(reactions_on(ping["event_id"], bot, "👀"))) == 1
    listing = body(await cast.alice.ask(rooms.contributors, "!escalations"))
    assert cast.mod.user_id in listing and cast.cfgmod.user_id not in listing and cast.eve.user_id not in listing


async def test_an_answered_consult_carries_one_tick_also_across_a_sigkill(cast, rooms, bot_factory, tmp_path):
    process = await bot_factory(rooms, folder=tmp_path / "killed")
    bot = cast.bot_user_id
    _, calm_root = await open_consult(cast.alice, rooms.contributors, TWEET.format(701), "is the pdf editor gone?")
    _, killed_root = await open_consult(cast.alice, rooms.contributors, TWEET.format(702), "sync lost my tabs")

    await cast.eve.send(rooms.contributors, "It moved to the toolbar", thread_root=calm_root)
    await cast.alice.wait_for(reactions_on(calm_root, bot, "✅"))
    await cast.eve.send(rooms.contributors, "Try signing in again", thread_root=killed_root)
    process.kill()  # right after the answer: the bot may or may not have seen it, reacted or saved its token
    await process.start()  # same folder, same database

    await cast.alice.wait_for(reactions_on(killed_root, bot, "✅"))
    await signal(cast.alice, rooms.contributors)
    assert len(cast.alice.matching(reactions_on(calm_root, bot, "✅"))) == 1
    assert len(cast.alice.matching(reactions_on(killed_root, bot, "✅"))) == 1
