"""Escalations at the unit tier: the parsing rule, link normalisation, the service on a real sqlite
file with a fake clock (re-ping planned, sent once, cancelled), and the commands through the real
dispatcher with realistic events."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.clock import FakeClock
from bot.features.escalations.messages import FALLBACK_HOLDING_REPLY
from bot.features.escalations.service import (
    EscalationError,
    EscalationRequest,
    EscalationService,
    Outcome,
    escalation_request,
    holding_reply_in,
    post_key,
)
from bot.features.replies.library import ReplyLibrary
from bot.framework.arguments import UsageError, parse_arguments
from bot.framework.dispatcher import Dispatcher
from bot.matrix.events import IncomingMessage
from bot.matrix.rendering import text
from bot.scheduler import Scheduler
from bot.storage import Storage
from commands.escalations import ESCALATE_ARGS
from tests.fakes.sender import RecordingSender
from tests.unit.events import room_message
from tests.unit.world import BotWorld, Settings
from tests.unit.world import build_world as build_bot_world

CONTRIBUTORS = "!contributors:example.org"
MODERATORS_ROOM = "!moderators:example.org"
BOT = "@fxhelpbot:example.org"
ALICE = "@alice:example.org"
BOB = "@bob:example.org"
MOD = "@mod:example.org"
PING = "@oncall:example.org"
TWEET = "https://x.com/someone/status/1234567890"
REPING_AFTER = timedelta(hours=4)


# -- the parsing rule -----------------------------------------------------------------------------


def parse_escalation(typed: str) -> EscalationRequest:
    """What ``!escalate <typed>`` hands the service: the declared arguments' parse, then the rule."""
    parsed = parse_arguments(ESCALATE_ARGS, typed)
    return escalation_request(parsed["url or text"], parsed["reason"])



@pytest.mark.parametrize(("typed", "description", "reason"), [
    (f"{TWEET} trending", TWEET, "trending"),
    (f"{TWEET} NO-KB", TWEET, "no-kb"),
    (f"{TWEET} 'paid'", TWEET, "paid"),
    (TWEET, TWEET, "other"),
    ("many people ask about VPN refunds paid", "many people ask about VPN refunds", "paid"),
    ('"Firefox crashes on startup" no-kb', "Firefox crashes on startup", "no-kb"),
    ('people say "Firefox Suggest" is ads brand', 'people say "Firefox Suggest" is ads', "brand"),
    ('"everyone asks about the logo paid"', "everyone asks about the logo paid", "other"),
    ("the new logo", "the new logo", "other"),
    ("crashes   other", "crashes", "other"),
    (f"{TWEET} is getting a lot of replies", f"{TWEET} is getting a lot of replies", "other"),
])
def test_the_last_word_is_the_reason_when_it_is_one(typed: str, description: str, reason: str) -> None:
    request = parse_escalation(typed)

    assert (request.description, request.reason) == (description, reason)


def test_a_link_and_one_more_word_needs_that_word_to_be_a_reason() -> None:
    with pytest.raises(UsageError) as refused:
        parse_escalation(f"{TWEET} soon")

    assert str(refused.value) == "unknown reason 'soon'; valid ones: trending, no-kb, paid, brand, other"


def test_two_words_without_a_link_are_a_description() -> None:
    assert parse_escalation("crashes everywhere") == EscalationRequest("crashes everywhere", "other", None)


@pytest.mark.parametrize("typed", ["", "   ", "paid", '"trending"'])
def test_no_description_is_a_usage_error_never_an_empty_escalation(typed: str) -> None:
    with pytest.raises(UsageError):
        parse_escalation(typed)


def test_a_very_long_description_is_refused() -> None:
    with pytest.raises(UsageError, match="keep it under 1000"):
        parse_escalation("word " * 300)


def test_the_first_link_is_found_without_the_sentence_around_it() -> None:
    request = parse_escalation(f"lots of replies on ({TWEET}). brand")

    assert request.link == TWEET
    assert request.reason == "brand"


# -- links ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("spelling", [
    "https://x.com/someone/status/1234567890",
    "https://X.com/SomeOne/status/1234567890?s=20&t=abc",
    "http://twitter.com/someone/status/1234567890#reply",
    "https://mobile.twitter.com/someone/status/1234567890/photo/1",
    "https://www.x.com/someone/status/1234567890/",
])
def test_one_post_is_one_link_however_it_is_spelled(spelling: str) -> None:
    assert post_key(spelling) == "https://x.com/i/status/1234567890"


@pytest.mark.parametrize("spelling", [
    "https://x.com/i/status/1234567890",
    "https://twitter.com/i/web/status/1234567890",   # the form X's API gives for a long post
    "https://twitter.com/someone/statuses/1234567890",
])
def test_links_without_the_account_meet_the_post_they_name(spelling: str) -> None:
    assert post_key(spelling) == post_key("https://x.com/someone/status/1234567890")


@pytest.mark.parametrize(("link", "key"), [
    ("https://x.com/someone/status/1234567890abc", "https://x.com/someone/status/1234567890abc"),
    ("https://twitter.com/some.one/status/1234567890/", "https://x.com/some.one/status/1234567890"),
    ("https://x.com:8443/someone/status/1234567890", "https://x.com:8443/someone/status/1234567890"),
])
def test_what_is_not_a_post_link_of_x_is_not_keyed_as_one(link: str, key: str) -> None:
    assert post_key(link) == key


def test_other_links_lose_query_fragment_and_host_case_but_keep_their_path() -> None:
    assert post_key("https://SUPPORT.Mozilla.org/kb/Clear-Cookies/?utm_source=x#top") == \
        "https://support.mozilla.org/kb/Clear-Cookies"
    assert post_key("https://www.reddit.com/r/firefox/comments/abc/") == \
        "https://www.reddit.com/r/firefox/comments/abc"


# -- the service ----------------------------------------------------------------------------------


@dataclass
class World:
    storage: Storage
    clock: FakeClock
    sender: RecordingSender
    service: EscalationService
    scheduler: Scheduler
    dispatcher: Dispatcher
    bot: BotWorld


_event_numbers = itertools.count(1)


def command(sender: str, body: str, room: str = CONTRIBUTORS, thread_root: str | None = None) -> IncomingMessage:
    return room_message(room, sender, body, thread_root=thread_root, event_id=f"$event{next(_event_numbers)}")


async def build_world(storage: Storage, clock: FakeClock) -> World:
    """The escalations of the one world builder's bot (tests/unit/world.py) on ``storage``."""
    bot = await build_bot_world(None, clock, Settings(pings=(PING,), reping_after=REPING_AFTER,
                                                              tick=timedelta(seconds=1)), storage=storage)
    return World(storage, clock, bot.sender, bot.escalations, bot.scheduler, bot.dispatcher, bot)


@pytest.fixture
async def world(storage: Storage) -> World:
    return await build_world(storage, FakeClock())


async def escalate(world: World, who: str, typed: str, **where: Any) -> tuple[IncomingMessage, Any]:
    message = command(who, f"!escalate {typed}", **where)
    return message, await world.service.report(parse_escalation(typed), message)


async def test_an_escalation_is_stored_open_with_its_re_ping_planned(world: World) -> None:
    message, reported = await escalate(world, ALICE, f"{TWEET} trending")

    escalation = reported.escalation
    assert reported.outcome is Outcome.OPENED
    assert (escalation.state, escalation.reason, escalation.reports) == ("open", "trending", 1)
    assert (escalation.requester, escalation.command_event_id, escalation.link) == (ALICE, message.event_id, TWEET)
    assert escalation.created_at == world.clock.now()
    stages = await world.storage.schedule.stages_of("escalation", escalation.id)
    assert [(s.stage, s.due_at) for s in stages] == [("reping", world.clock.now() + REPING_AFTER)]


async def test_a_replayed_command_never_opens_two(world: World) -> None:
    message, first = await escalate(world, ALICE, f"{TWEET} trending")

    again = await world.service.report(parse_escalation(f"{TWEET} trending"), message)

    assert again.escalation.id == first.escalation.id
    assert again.outcome is Outcome.OPENED
    assert (await world.service.listing("all", 15)).escalations == [again.escalation]


async def test_the_same_post_from_someone_else_joins_it_once(world: World) -> None:
    _, first = await escalate(world, ALICE, f"{TWEET} trending")

    _, second = await escalate(world, BOB, "https://twitter.com/SOMEONE/status/1234567890?s=20")
    _, bob_again = await escalate(world, BOB, f"{TWEET} paid")

    assert second.outcome is Outcome.JOINED
    assert second.escalation.id == first.escalation.id
    assert second.escalation.reports == 2
    assert bob_again.outcome is Outcome.ALREADY_REPORTED
    assert bob_again.escalation.reports == 2
    reporters = [r.reporter for r in await world.service.reports(first.escalation)]
    assert reporters == [ALICE, BOB]


async def test_a_resolved_post_reported_again_opens_a_new_escalation(world: World) -> None:
    _, first = await escalate(world, ALICE, TWEET)
    await world.service.resolve(first.escalation.id, MOD, "answered")

    _, second = await escalate(world, BOB, TWEET)

    assert second.outcome is Outcome.OPENED
    assert second.escalation.id != first.escalation.id


async def test_acknowledging_cancels_the_re_ping_and_records_who(world: World) -> None:
    _, reported = await escalate(world, ALICE, TWEET)

    acknowledged = (await world.service.acknowledge(reported.escalation.id, MOD)).escalation
    before = len(world.sender.sent)  # the moderators' notice, the requester told, the 👀 mark

    assert (acknowledged.state, acknowledged.acknowledged_by, acknowledged.acknowledged_at) == \
        ("acknowledged", MOD, world.clock.now())
    assert await world.storage.schedule.stages_of("escalation", acknowledged.id) == []
    world.clock.advance(REPING_AFTER * 2)
    await world.scheduler.tick()
    assert world.sender.sent[before:] == []


async def test_resolving_keeps_the_note_and_cancels_the_re_ping(world: World) -> None:
    _, reported = await escalate(world, ALICE, TWEET)

    resolved = (await world.service.resolve(reported.escalation.id, MOD, "Known issue, fixed in 135")).escalation

    assert (resolved.state, resolved.resolved_by, resolved.resolution_note) == \
        ("resolved", MOD, "Known issue, fixed in 135")
    assert await world.storage.schedule.stages_of("escalation", resolved.id) == []


async def test_wrong_states_and_unknown_numbers_are_explained(world: World) -> None:
    _, reported = await escalate(world, ALICE, TWEET)
    number = reported.escalation.id
    await world.service.acknowledge(number, MOD)

    with pytest.raises(EscalationError, match=f"#{number} was already acknowledged by {MOD}"):
        await world.service.acknowledge(number, MOD)
    await world.service.resolve(number, MOD, None)
    with pytest.raises(EscalationError, match=f"#{number} was already resolved by {MOD}"):
        await world.service.resolve(number, MOD, None)
    with pytest.raises(EscalationError, match="nothing left to acknowledge"):
        await world.service.acknowledge(number, MOD)
    with pytest.raises(EscalationError, match="There is no escalation #99"):
        await world.service.acknowledge(99, MOD)


async def test_an_open_escalation_is_pinged_again_once(world: World) -> None:
    _, reported = await escalate(world, ALICE, f"{TWEET} brand")
    [notice] = world.sender.with_key(f"escalation:{reported.escalation.id}:moderators")
    before = len(world.sender.sent)

    world.clock.advance(REPING_AFTER - timedelta(seconds=1))
    await world.scheduler.tick()
    assert world.sender.sent[before:] == []
    world.clock.advance(timedelta(seconds=1))
    await world.scheduler.tick()
    world.clock.advance(REPING_AFTER)
    await world.scheduler.tick()

    key = f"escalation:{reported.escalation.id}:reping"
    [reping] = world.sender.sent[before:]
    assert (reping.key, reping.room_id, reping.reply_to) == (key, MODERATORS_ROOM, notice.event_id)
    assert reping.message.mentions == (PING,) and reping.msgtype == "m.text"
    assert f"Escalation #{reported.escalation.id} is still open after 4h" in reping.text


async def test_a_re_ping_already_sent_before_a_crash_is_not_sent_again(storage: Storage) -> None:
    clock = FakeClock()
    before = await build_world(storage, clock)
    _, reported = await escalate(before, ALICE, TWEET)
    clock.advance(REPING_AFTER)
    key = f"escalation:{reported.escalation.id}:reping"
    await before.sender.send_once(key, MODERATORS_ROOM, text("re-ping"))
    # The crash: sent and recorded in the outbox, but the schedule row was never marked done.

    after = await build_world(storage, clock)
    await after.scheduler.tick()

    assert after.sender.sent == []
    assert await storage.schedule.stages_of("escalation", reported.escalation.id) == []


async def test_listing_is_newest_first_and_capped(world: World) -> None:
    for n in range(4):
        await escalate(world, ALICE, f"problem number {n}")
        world.clock.advance(timedelta(minutes=1))
    await world.service.resolve(1, MOD, None)

    open_ones = await world.service.listing("open", 2)
    every = await world.service.listing("all", 15)

    assert [e.id for e in open_ones.escalations] == [4, 3]
    assert open_ones.more == 1
    assert [e.id for e in every.escalations] == [4, 3, 2, 1]
    assert every.more == 0


async def test_counts_for_the_stats(world: World) -> None:
    start = world.clock.now()
    await escalate(world, ALICE, "old one paid")
    world.clock.advance(timedelta(days=2))
    await escalate(world, ALICE, "a trending one trending")
    _, brand = await escalate(world, BOB, "brand one brand")
    await world.service.acknowledge(brand.escalation.id, MOD)

    since = start + timedelta(days=1)
    assert await world.storage.escalations.counts_by_reason(since) == \
        {"trending": 1, "no-kb": 0, "paid": 0, "brand": 1, "other": 0}
    assert await world.storage.escalations.counts_by_state(since) == \
        {"open": 1, "acknowledged": 1, "resolved": 0}
    assert (await world.storage.escalations.counts_by_reason(start))["paid"] == 1


def holding_library(path: Path, key: str) -> ReplyLibrary:
    path.mkdir()
    (path / "escalations.yaml").write_text(
        "topic: escalations\n"
        "title: Escalations\n"
        "replies:\n"
        f"  - key: {key}\n"
        "    title: We are looking into it\n"
        "    tags: [escalation]\n"
        "    article: https://support.mozilla.org/kb/contact-support\n"
        "    text:\n"
        "      en-US: Thanks, we have passed this on to the team and will get back to you.\n"
        "      es: Gracias, lo hemos pasado al equipo y te responderemos.\n"
        "      de: Danke, wir haben es an das Team weitergegeben und melden uns.\n"
        "      fr: Merci, nous avons transmis à l'équipe et reviendrons vers vous.\n"
    )
    return ReplyLibrary.load(path)


def test_the_holding_reply_falls_back_to_plain_english(tmp_path: Path) -> None:
    library = holding_library(tmp_path / "replies", "escalation-thanks")
    assert holding_reply_in(library, "en-US") == FALLBACK_HOLDING_REPLY


def test_the_holding_reply_comes_from_the_library(tmp_path: Path) -> None:
    library = holding_library(tmp_path / "replies", "escalation-holding")

    holding = holding_reply_in(library, "de")

    assert holding.startswith("Danke, wir haben es an das Team weitergegeben")
    assert "#fxhelp" in holding


# -- the commands, through the dispatcher ---------------------------------------------------------


@pytest.fixture
def dispatcher(world: World) -> Dispatcher:
    """The world's dispatcher: the bot's whole command table, the real holding reply of the shipped library."""
    return world.dispatcher


async def say(world: World, dispatcher: Dispatcher, message: IncomingMessage) -> list[str]:
    before = len(world.sender.sent)
    await dispatcher.handle(message)
    return [sent.text for sent in world.sender.sent[before:] if sent.kind == "message"]


async def test_escalate_tells_the_moderators_then_the_contributor(world: World, dispatcher: Dispatcher) -> None:
    message = command(ALICE, f"!escalate {TWEET} trending", thread_root="$thread")

    await dispatcher.handle(message)

    notice, confirmation = world.sender.sent
    assert notice.room_id == MODERATORS_ROOM
    assert notice.message.mentions == (PING,) and notice.msgtype == "m.text"
    assert "Escalation #1 — trending, from @alice:example.org" in notice.text
    assert f"https://matrix.to/#/{CONTRIBUTORS}/{message.event_id}" in notice.text
    assert (confirmation.reply_to, confirmation.thread_root) == (message.event_id, "$thread")
    assert "Escalation #1 is open" in confirmation.text
    assert holding_reply_in(world.bot.catalog.library, "en-US") in confirmation.text  # the library's, as wired
    assert confirmation.text.endswith("#fxhelp")
    assert confirmation.message.mentions == () and confirmation.msgtype == "m.notice"
    stored = await world.storage.escalations.get(1)
    assert stored is not None and stored.moderators_event_id == notice.event_id


async def test_escalate_elsewhere_says_where(world: World, dispatcher: Dispatcher) -> None:
    [answer] = await say(world, dispatcher, command(MOD, f"!escalate {TWEET}", room=MODERATORS_ROOM))

    assert answer.startswith("Please use !escalate in the contributors' room")
    assert await world.storage.escalations.get(1) is None


async def test_escalate_usage_and_unknown_reason(world: World, dispatcher: Dispatcher) -> None:
    [empty] = await say(world, dispatcher, command(ALICE, "!escalate"))
    [unknown] = await say(world, dispatcher, command(ALICE, f"!escalate {TWEET} SOON"))

    assert empty.startswith("Url or text is missing.\nUsage: !escalate <url or text> [trending|no-kb|paid|")
    assert unknown.startswith("Unknown reason 'SOON'; valid ones: trending, no-kb, paid, brand, other.")


async def test_ack_tells_each_requester_in_their_thread(world: World, dispatcher: Dispatcher) -> None:
    first = command(ALICE, f"!escalate {TWEET}", thread_root="$alice-thread")
    second = command(BOB, f"!escalate {TWEET}")
    await dispatcher.handle(first)
    await dispatcher.handle(second)
    before = len(world.sender.sent)

    await dispatcher.handle(command(MOD, "!ack #1", room=MODERATORS_ROOM))

    to_alice, to_bob, confirmation = [sent for sent in world.sender.sent[before:] if sent.kind == "message"]
    assert (to_alice.room_id, to_alice.reply_to, to_alice.thread_root) == (CONTRIBUTORS, first.event_id,
                                                                           "$alice-thread")
    assert to_alice.message.mentions == (ALICE,) and to_alice.msgtype == "m.text"
    assert "acknowledged by @mod:example.org" in to_alice.text
    assert (to_bob.reply_to, to_bob.message.mentions) == (second.event_id, (BOB,))
    assert confirmation.text == "Escalation #1 is yours now; its 2 requesters have been told."
    assert confirmation.msgtype == "m.notice"


async def test_ack_and_resolve_are_for_moderators(world: World, dispatcher: Dispatcher) -> None:
    await dispatcher.handle(command(ALICE, f"!escalate {TWEET}"))

    [refusal] = await say(world, dispatcher, command(BOB, "!ack 1"))

    assert refusal == "Sorry, !ack is for moderators only."


async def test_resolve_relays_the_note(world: World, dispatcher: Dispatcher) -> None:
    await dispatcher.handle(command(ALICE, f"!escalate {TWEET}"))

    to_alice, confirmation = await say(world, dispatcher, command(MOD, "!resolve 1 Fixed in <b>135</b> @room"))
    [twice] = await say(world, dispatcher, command(MOD, "!resolve 1"))

    assert to_alice.startswith("@alice:example.org: escalation #1 was resolved by @mod:example.org.")
    assert "Their note: Fixed in <b>135</b> @\u2060room" in to_alice
    assert confirmation == "Escalation #1 is resolved; its requester has been told."
    assert twice.startswith("Escalation #1 was already resolved by @mod:example.org")


async def test_escalations_lists_what_is_open(world: World, dispatcher: Dispatcher) -> None:
    await dispatcher.handle(command(ALICE, "!escalate VPN refunds paid"))
    world.clock.advance(timedelta(hours=2))
    await dispatcher.handle(command(BOB, f"!escalate {TWEET} trending"))
    await dispatcher.handle(command(MOD, "!ack 2", room=MODERATORS_ROOM))

    [answer] = await say(world, dispatcher, command(ALICE, "!escalations"))

    assert answer.splitlines() == [
        "Open escalations (newest first):",
        f"• #2 acknowledged · 0s ago · 1 report · trending · held by {MOD} — {TWEET}",
        "• #1 open · 2h ago · 1 report · paid · nobody has it yet — VPN refunds",
    ]


# -- exactly once, across crashes and batches handled again ----------------------------------------


class Crash(Exception):
    """The process dying at this point (nothing after it runs)."""


def crash_at(sender: RecordingSender, key: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The process dies when ``sender`` comes to the message promised under ``key``, before sending it."""
    send_once = sender.send_once

    async def dying(promised: str, room_id: str, message: Any, **where: Any) -> str:
        if promised == key:
            raise Crash(key)
        return await send_once(promised, room_id, message, **where)

    monkeypatch.setattr(sender, "send_once", dying)


async def test_a_crash_between_the_moderators_notice_and_recording_it_does_not_ping_twice(
        storage: Storage, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock()
    before = await build_world(storage, clock)
    message = command(ALICE, f"!escalate {TWEET} trending")

    async def dies(escalation_id: int, event_id: str) -> None:
        raise Crash("after the notice was sent and put in the outbox")

    with monkeypatch.context() as patched:
        patched.setattr(storage.escalations, "set_moderators_event", dies)
        with pytest.raises(Crash):
            await before.service.report(parse_escalation(f"{TWEET} trending"), message)
    [notice] = before.sender.sent
    assert (await storage.escalations.get(1)).moderators_event_id is None  # type: ignore[union-attr]

    after = await build_world(storage, clock)  # the restart: the same command is handled again
    reported = await after.service.report(parse_escalation(f"{TWEET} trending"), message)

    assert after.sender.sent == []
    assert reported.outcome is Outcome.OPENED
    assert reported.escalation.moderators_event_id == notice.event_id
    assert (await storage.escalations.get(1)).moderators_event_id == notice.event_id  # type: ignore[union-attr]


async def test_a_crash_part_way_through_telling_the_requesters_tells_only_who_is_left(
        storage: Storage, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock()
    crashing = await build_world(storage, clock)
    alice, _ = await escalate(crashing, ALICE, TWEET)
    bob, _ = await escalate(crashing, BOB, TWEET)
    crash_at(crashing.sender, f"escalation:1:ack:{bob.event_id}", monkeypatch)
    with pytest.raises(Crash):
        await crashing.service.acknowledge(1, MOD)
    [to_alice] = crashing.sender.with_key(f"escalation:1:ack:{alice.event_id}")

    after = await build_world(storage, clock)  # the restart: the same !ack is handled again
    with pytest.raises(EscalationError, match="already acknowledged by @mod:example.org"):
        await after.service.acknowledge(1, MOD)

    [to_bob] = after.sender.sent
    assert (to_bob.key, to_bob.reply_to, to_bob.message.mentions) == \
        (f"escalation:1:ack:{bob.event_id}", bob.event_id, (BOB,))
    assert "acknowledged by @mod:example.org" in to_alice.text and "acknowledged by @mod:example.org" in to_bob.text


async def test_someone_else_acknowledging_again_tells_nobody(world: World) -> None:
    await escalate(world, ALICE, TWEET)
    await world.service.acknowledge(1, MOD)
    before = len(world.sender.sent)

    with pytest.raises(EscalationError, match="already acknowledged"):
        await world.service.acknowledge(1, "@other-mod:example.org")
    world.clock.advance(timedelta(minutes=5))
    bob, late = await escalate(world, BOB, TWEET)  # joins the acknowledged escalation: told in its answer
    with pytest.raises(EscalationError, match="already acknowledged"):
        await world.service.acknowledge(1, MOD)

    assert late.outcome is Outcome.JOINED
    assert [sent.key for sent in world.sender.sent[before:]] == [f"escalation:1:report:{bob.event_id}"]


async def test_a_batch_handled_again_sends_nothing_twice(world: World, dispatcher: Dispatcher) -> None:
    batch = [
        command(ALICE, f"!escalate {TWEET} trending", thread_root="$alice-thread"),
        command(BOB, "!escalate https://twitter.com/someone/status/1234567890"),
        command(MOD, "!ack 1", room=MODERATORS_ROOM),
        command(MOD, "!resolve 1 fixed", room=MODERATORS_ROOM),
    ]
    for message in batch:
        await dispatcher.handle(message)
    promised = world.sender.keys()

    for message in batch:  # the same batch after a crash before it was marked handled
        await dispatcher.run_command(message, message.body.removeprefix("!"))

    assert world.sender.keys() == promised
    assert promised == [
        "escalation:1:moderators",
        f"escalation:1:report:{batch[1].event_id}",
        "escalation:1:mark:ack",
        f"escalation:1:ack:{batch[0].event_id}",
        f"escalation:1:ack:{batch[1].event_id}",
        "escalation:1:mark:resolved",
        f"escalation:1:resolved:{batch[0].event_id}",
        f"escalation:1:resolved:{batch[1].event_id}",
    ]
