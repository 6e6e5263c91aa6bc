"""Consults at the unit tier: the service, its window through the real scheduler, the commands.

Real sqlite files, a FakeClock, and a recording sender with outbox semantics; a "restart" is new
objects on the same file.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.clock import FakeClock, format_duration
from bot.features.consults.service import EXPIRE, KIND, REMIND, CloseOutcome, similar_consults
from bot.features.consults.tweet_links import read_consult_link
from bot.framework.dispatcher import Dispatcher
from bot.storage.consults import Consult, ConsultFilter, ConsultState
from tests.unit.consults.world import (
    ALICE,
    BOT,
    CONTRIBUTORS,
    EVE,
    HOURS,
    MOD,
    MODERATORS_ROOM,
    TWEET,
    World,
    build_world,
    open_consult,
    room_message,
    tick_many,
)

# ---- opening ---------------------------------------------------------------------------------

async def test_open_posts_a_thread_root_and_plans_both_stages(world: World) -> None:
    consult = await open_consult(world)
    root = world.sender.with_key(f"consult:{consult.id}:root")
    assert len(root) == 1
    assert root[0].room_id == CONTRIBUTORS and root[0].reply_to is None and root[0].thread_root is None
    assert ALICE in root[0].message.mentions
    assert TWEET in root[0].text and "The window closes 2026-11-27 12:00 UTC (in 72h)" in root[0].text
    stored = await world.storage.consults.get(consult.id)
    assert stored is not None and stored.thread_event_id == root[0].event_id and stored.state is ConsultState.OPEN
    stages = await world.storage.schedule.stages_of(KIND, consult.id)
    assert [(s.stage, s.due_at - consult.opened_at) for s in stages] == [(REMIND, 48 * HOURS), (EXPIRE, 72 * HOURS)]


async def test_a_replayed_command_opens_nothing_new(world: World) -> None:
    link = read_consult_link(TWEET)
    assert link is not None
    first = await world.service.open(ALICE, "$same-command", link, "what do we say?")
    world.clock.advance(timedelta(minutes=1))
    again = await world.service.open(ALICE, "$same-command", link, "what do we say?")
    assert again.consult.id == first.consult.id
    assert world.sender.keys() == [f"consult:{first.consult.id}:root"]
    assert len(await world.storage.schedule.stages_of(KIND, first.consult.id)) == 2


async def test_opened_listeners_hear_of_each_consult_and_cannot_break_it(world: World) -> None:
    heard: list[int] = []

    async def forum_topic(consult: Consult) -> None:
        heard.append(consult.id)
        raise RuntimeError("the forum is down")

    world.service.add_opened_listener(forum_topic)
    consult = await open_consult(world)
    assert heard == [consult.id]
    assert (await world.storage.consults.get(consult.id)) is not None


async def test_a_failed_root_post_opens_no_consult_and_the_command_again_opens_it(world: World) -> None:
    # A consult is opened together with its thread or not at all (issue 12): no thread, nobody can answer.
    world.sender.fail_next = 1
    link = read_consult_link(TWEET)
    assert link is not None
    with pytest.raises(ConnectionError):
        await world.service.open(ALICE, "$cmd-root-fails", link, "what do we say here?")
    assert await world.storage.consults.listing(ConsultFilter.ALL, world.clock.now(), 10) == ([], 0)
    world.clock.advance(72 * HOURS)
    await world.scheduler.tick()
    assert world.sender.keys() == []  # no reminder or expiry left behind

    opened = await world.service.open(ALICE, "$cmd-root-fails", link, "what do we say here?")

    assert world.sender.keys() == [f"consult:{opened.consult.id}:root"]
    assert opened.consult.thread_event_id == world.sender.with_key(f"consult:{opened.consult.id}:root")[0].event_id


# ---- the window: reminder, expiry, answers -------------------------------------------------------

async def test_reminder_at_48h_then_expiry_at_72h_each_once(world: World) -> None:
    consult = await open_consult(world)
    world.clock.advance(47 * HOURS)
    await tick_many(world)
    assert world.sender.keys() == [f"consult:{consult.id}:root"]

    world.clock.advance(1 * HOURS)
    await tick_many(world)
    reminders = world.sender.with_key(f"consult:{consult.id}:remind")
    assert len(reminders) == 1
    assert reminders[0].thread_root == (await world.storage.consults.get(consult.id)).thread_event_id
    assert "no answer yet" in reminders[0].text and "24h left" in reminders[0].text

    world.clock.advance(24 * HOURS)
    await tick_many(world)
    world.clock.advance(24 * HOURS)
    await tick_many(world)
    notice = world.sender.with_key(f"consult:{consult.id}:expire")
    ping = world.sender.with_key(f"consult:{consult.id}:expire:moderators")
    assert len(notice) == 1 and len(ping) == 1
    assert notice[0].thread_root is not None and notice[0].room_id == CONTRIBUTORS
    assert ping[0].room_id == MODERATORS_ROOM and ping[0].message.mentions == (MOD,)
    assert ping[0].msgtype == "m.text"  # a notice would notify nobody
    assert notice[0].message.mentions == () and notice[0].msgtype == "m.notice"
    assert reminders[0].msgtype == "m.notice"
    assert (await world.storage.consults.get(consult.id)).state is ConsultState.EXPIRED
    assert await world.storage.schedule.stages_of(KIND, consult.id) == []


async def test_an_answered_consult_gets_neither_stage(world: World) -> None:
    consult = await open_consult(world)
    world.clock.advance(2 * HOURS)
    await world.service.observe_message(room_message(EVE, "I'd say: no, see mzl.la/privacy",
                                                     thread_root=consult.thread_event_id, clock=world.clock))
    world.clock.advance(80 * HOURS)
    await tick_many(world)
    assert [s.key for s in world.sender.sent if s.kind == "message"] == [f"consult:{consult.id}:root", f"consult:{consult.id}:answered"]
    told = world.sender.with_key(f"consult:{consult.id}:answered")[0]
    assert told.msgtype == "m.text" and told.message.mentions == (consult.requester,)
    assert told.thread_root == consult.thread_event_id and f"first answer, from {EVE}" in told.text
    assert world.sender.reactions() == [(consult.thread_event_id, "✅")]
    stored = await world.storage.consults.get(consult.id)
    assert stored.state is ConsultState.ANSWERED and stored.first_answer_by == EVE
    assert stored.first_answer_at - stored.opened_at == 2 * HOURS and stored.answered_in_window


async def test_the_requester_is_told_of_the_first_answer_once_even_if_the_send_fails(world: World) -> None:
    consult = await open_consult(world)
    world.sender.fail_next = 1
    await world.service.observe_message(room_message(EVE, "an answer", thread_root=consult.thread_event_id,
                                                     clock=world.clock))
    assert world.sender.with_key(f"consult:{consult.id}:answered") == []
    await tick_many(world)  # the planned row makes up for the failed send
    await world.service.observe_message(room_message(MOD, "a second answer", thread_root=consult.thread_event_id,
                                                     clock=world.clock))
    await tick_many(world)
    told = world.sender.with_key(f"consult:{consult.id}:answered")
    assert len(told) == 1 and told[0].msgtype == "m.text" and EVE in told[0].text
    assert await world.storage.schedule.stages_of(KIND, consult.id) == []


async def test_only_someone_else_answers_and_the_first_answer_wins(world: World) -> None:
    consult = await open_consult(world)
    thread = consult.thread_event_id
    await world.service.observe_message(room_message(ALICE, "bump", thread_root=thread, clock=world.clock))
    await world.service.observe_message(room_message(MOD, "a bot notice", thread_root=thread, msgtype="m.notice",
                                                     clock=world.clock))
    await world.service.observe_message(room_message(EVE, "not in the thread", clock=world.clock))
    assert (await world.storage.consults.get(consult.id)).first_answer_at is None

    world.clock.advance(HOURS)
    await world.service.observe_message(room_message(EVE, "answer", thread_root=thread, clock=world.clock))
    world.clock.advance(HOURS)
    await world.service.observe_message(room_message(MOD, "second answer", thread_root=thread, clock=world.clock))
    assert not await world.service.record_answer(consult.id, MOD, world.clock.now())
    stored = await world.storage.consults.get(consult.id)
    assert stored.first_answer_by == EVE and stored.first_answer_at - stored.opened_at == HOURS


async def test_a_plain_reply_to_the_root_is_an_answer_too(world: World) -> None:
    consult = await open_consult(world)
    await world.service.observe_message(room_message(EVE, "answered from a client without threads",
                                                     reply_to=consult.thread_event_id, clock=world.clock))
    assert (await world.storage.consults.get(consult.id)).first_answer_by == EVE


async def test_a_late_answer_is_recorded_but_not_within_the_window(world: World) -> None:
    consult = await open_consult(world)
    world.clock.advance(73 * HOURS)
    await world.scheduler.tick()
    assert world.sender.with_key(f"consult:{consult.id}:remind") == []  # the expiry says it all
    world.clock.advance(HOURS)
    assert await world.service.record_answer(consult.id, EVE, world.clock.now())
    stored = await world.storage.consults.get(consult.id)
    assert stored.state is ConsultState.EXPIRED and stored.answered and not stored.answered_in_window


async def test_a_restart_after_the_due_time_delivers_the_stage_once(tmp_path: Path) -> None:
    clock = FakeClock()
    first = await build_world(tmp_path / "x.db", clock, "first")
    consult = await open_consult(first)
    await first.storage.close()

    clock.advance(49 * HOURS)  # the bot was down when the reminder fell due
    second = await build_world(tmp_path / "x.db", clock, "second")
    await tick_many(second)
    assert second.sender.keys() == [f"consult:{consult.id}:remind"]
    await second.storage.close()

    third = await build_world(tmp_path / "x.db", clock, "third")
    await tick_many(third)
    assert third.sender.sent == []
    await third.storage.close()


async def test_a_crash_between_sending_and_marking_done_does_not_send_twice(tmp_path: Path) -> None:
    clock = FakeClock()
    first = await build_world(tmp_path / "x.db", clock, "first")
    consult = await open_consult(first)
    clock.advance(72 * HOURS)
    due = await first.storage.schedule.due(clock.now())
    for work in due:  # handled, but the process dies before the scheduler deletes the rows
        await first.service.handle_due(work)
    assert len(first.sender.with_key(f"consult:{consult.id}:expire")) == 1
    await first.storage.close()

    second = await build_world(tmp_path / "x.db", clock, "second")
    await tick_many(second)
    assert second.sender.sent == []
    assert await second.storage.schedule.stages_of(KIND, consult.id) == []
    await second.storage.close()


# ---- closing and listing ----------------------------------------------------------------------

async def test_done_rules(world: World) -> None:
    consult = await open_consult(world)
    assert (await world.service.close(consult.id, EVE, is_moderator=False)).outcome is CloseOutcome.NOT_ALLOWED
    assert (await world.service.close(999, ALICE, is_moderator=False)).outcome is CloseOutcome.UNKNOWN
    closed = await world.service.close(consult.id, ALICE, is_moderator=False)
    assert closed.outcome is CloseOutcome.CLOSED and closed.consult.closed_by == ALICE
    again = await world.service.close(consult.id, MOD, is_moderator=True)
    assert again.outcome is CloseOutcome.ALREADY_CLOSED and again.consult.closed_by == ALICE
    assert await world.storage.schedule.stages_of(KIND, consult.id) == []

    other = await open_consult(world, requester=EVE)
    assert (await world.service.close(other.id, MOD, is_moderator=True)).outcome is CloseOutcome.CLOSED


async def test_listing_open_stale_all(world: World) -> None:
    old = await open_consult(world, "first: sync broke after the update, what now?")
    world.clock.advance(50 * HOURS)
    answered = await open_consult(world, "second: how do I explain the new sidebar?")
    await world.service.record_answer(answered.id, EVE, world.clock.now())
    closed = await open_consult(world, "third: pdf editor missing")
    await world.service.close(closed.id, ALICE, is_moderator=False)
    fresh = await open_consult(world, "fourth: vpn price question")

    open_ids = [c.id for c in (await world.service.listing(ConsultFilter.OPEN, 15))[0]]
    assert open_ids == [fresh.id, answered.id, old.id]
    assert [c.id for c in (await world.service.listing(ConsultFilter.STALE, 15))[0]] == [old.id]
    found, total = await world.service.listing(ConsultFilter.ALL, 2)
    assert [c.id for c in found] == [fresh.id, closed.id] and total == 4


# ---- the tweet link ------------------------------------------------------------------------------

@pytest.mark.parametrize("url, author, status", [
    ("https://x.com/firefox/status/1861234567890", "firefox", "1861234567890"),
    ("https://twitter.com/Some_User/status/123", "Some_User", "123"),
    ("https://mobile.twitter.com/a/status/1?s=20", "a", "1"),
    ("https://www.x.com/a/status/42/photo/1", "a", "42"),
    ("http://www.twitter.com/a/status/42/", "a", "42"),
    ("x.com/a/status/42", "a", "42"),
    ("<https://x.com/a/status/42>", "a", "42"),
])
def test_tweet_links_are_recognised(url: str, author: str, status: str) -> None:
    link = read_consult_link(url)
    assert link is not None and link.is_tweet and link.author == author and link.status_id == status


@pytest.mark.parametrize("url, status", [
    ("https://x.com/i/status/1861234567890", "1861234567890"),
    ("https://twitter.com/i/web/status/1861234567890", "1861234567890"),   # X's API, for a long post
    ("https://x.com/home/status/42", "42"),
])
def test_tweet_links_without_the_account_are_tweets_with_no_author(url: str, status: str) -> None:
    """The one X-link reader (bot/features/x_links.py): "i" or "home" there is not an account."""
    link = read_consult_link(url)
    assert link is not None and link.is_tweet and link.author is None and link.status_id == status


def test_twitters_old_statuses_spelling_is_a_tweet() -> None:
    link = read_consult_link("https://twitter.com/Some_User/statuses/123")
    assert link is not None and link.is_tweet and link.author == "Some_User" and link.status_id == "123"


@pytest.mark.parametrize("url", [
    "https://x.com/firefox",                      # a profile, not a tweet
    "https://x.com/a/status/notanumber",
    "https://x.com.evil.example/a/status/1",      # a look-alike host
    "https://x.com@evil.example/a/status/1",      # a user part
    "https://x.com:8443/a/status/1",
    "https://www.reddit.com/r/firefox/comments/abc",
    "https://support.mozilla.org/questions/1234567",
])
def test_other_http_links_are_accepted_but_not_as_tweets(url: str) -> None:
    link = read_consult_link(url)
    assert link is not None and not link.is_tweet


@pytest.mark.parametrize("word", ["thoughts", "ftp://x.com/a/status/1", "javascript:alert(1)", "https://",
                                  "mailto:a@b"])
def test_no_link_is_no_link(word: str) -> None:
    assert read_consult_link(word) is None


@given(st.text())
def test_reading_a_link_never_raises(word: str) -> None:
    link = read_consult_link(word)
    assert link is None or link.url.startswith(("http://", "https://"))


@pytest.mark.parametrize("duration, label", [
    (72 * HOURS, "72h"),
    (72 * HOURS - timedelta(milliseconds=4), "72h"),   # a root posted just after opening
    (timedelta(seconds=8), "8s"),
    (timedelta(minutes=90), "1h 30m"),
])
def test_window_durations(duration: timedelta, label: str) -> None:
    assert format_duration(duration, in_hours=True) == label


# ---- similar consults ----------------------------------------------------------------------------

def consult_row(consult_id: int, thoughts: str, url: str = TWEET) -> Consult:
    clock = FakeClock()
    return Consult(consult_id, ALICE, CONTRIBUTORS, f"$c{consult_id}", None, url, thoughts, ConsultState.OPEN,
                   clock.now(), clock.now() + 72 * HOURS, None, None, None, None)


def test_similar_consults_read_alike_or_share_the_tweet() -> None:
    new = consult_row(10, "Is Firefox selling our data? The new terms of use", "https://x.com/a/status/1")
    alike = consult_row(1, "Firefox terms of use changed, selling data?", "https://x.com/b/status/2")
    same_tweet = consult_row(2, "completely different words here", "https://twitter.com/a/status/1")
    unrelated = consult_row(3, "How do I export passwords to Chrome?", "https://x.com/c/status/3")
    too_short = consult_row(4, "data", "https://x.com/d/status/4")
    found = similar_consults(new, [alike, same_tweet, unrelated, too_short, new])
    assert [c.id for c in found] == [1, 2]


async def test_two_similar_consults_are_pointed_out_in_the_new_thread(world: World) -> None:
    first = await open_consult(world, "Is Firefox selling our data? the new terms of use", "https://x.com/a/status/1")
    second = await open_consult(world, "Firefox terms of use: selling our data?", "https://x.com/b/status/2")
    assert world.sender.keys().count(f"consult:{second.id}:similar") == 0  # one alike is not a pattern yet
    world.clock.advance(HOURS)
    third = await open_consult(world, "new terms of use, is Firefox selling data", "https://x.com/c/status/3")
    note = world.sender.with_key(f"consult:{third.id}:similar")
    assert len(note) == 1 and note[0].thread_root == third.thread_event_id
    assert f"#{first.id}" in note[0].text and f"#{second.id}" in note[0].text
    assert "!escalate https://x.com/c/status/3 trending" in note[0].text

    world.clock.advance(8 * 24 * HOURS)  # a week later the old ones no longer count
    fourth = await open_consult(world, "selling data, new terms of use, Firefox?", "https://x.com/d/status/4")
    assert world.sender.with_key(f"consult:{fourth.id}:similar") == []


# ---- the commands, from realistic events through the dispatcher -------------------------------

@pytest.fixture
async def chat(world: World) -> Dispatcher:
    """The world's dispatcher: the bot's whole command table, the consult service observing messages."""
    return world.dispatcher


async def say(world: World, dispatcher: Dispatcher, sender: str, body: str, thread_root: str | None = None) -> str:
    message = room_message(sender, body, thread_root=thread_root, clock=world.clock)
    before = len(world.sender.sent)
    await dispatcher.handle(message)
    answers = [s for s in world.sender.sent[before:] if s.reply_to == message.event_id]
    return answers[0].text if answers else ""


async def test_consult_command_answers_with_number_and_thread_link(world: World, chat: Dispatcher) -> None:
    answer = await say(world, chat, ALICE, f"!consult {TWEET} Is this about the new terms? I'd link the FAQ.")
    assert answer.startswith("Consult #1 is open") and "https://matrix.to/#/!contributors:example.org/$first1" in answer
    assert "2026-11-27 12:00 UTC" in answer and "not a tweet" not in answer


async def test_consult_command_usage_and_notes(world: World, chat: Dispatcher) -> None:
    assert "Usage: !consult <tweet url> <thoughts>" in await say(world, chat, ALICE, "!consult")
    assert "Thoughts is missing" in await say(world, chat, ALICE, f"!consult {TWEET}")
    no_link = await say(world, chat, ALICE, "!consult what do we say about the new sidebar?")
    assert "Start with the tweet's link" in no_link and "Usage:" in no_link
    other = await say(world, chat, ALICE, "!consult https://www.reddit.com/r/firefox/comments/abc sidebar question")
    assert "Consult #1 is open" in other and "not a tweet" in other


async def test_consults_and_done_commands(world: World, chat: Dispatcher) -> None:
    await say(world, chat, ALICE, f"!consult {TWEET} first question about sync")
    world.clock.advance(HOURS)
    await say(world, chat, EVE, "!consult https://x.com/b/status/2 second question about <b>pdf</b>")
    listing = await say(world, chat, EVE, "!consults")
    assert listing.index("#2") < listing.index("#1")
    assert "1h old" in listing and "unanswered, 2d 23h left" in listing and "thread" in listing

    assert "only @alice:example.org" in await say(world, chat, EVE, "!done 1")
    assert "There is no consult #7" in await say(world, chat, EVE, "!done 7")
    assert "Usage: !done <N>" in await say(world, chat, EVE, "!done seven")
    assert "Consult #1 is closed" in await say(world, chat, ALICE, "!done #1")
    assert "already closed (by @alice:example.org" in await say(world, chat, MOD, "!done 1")
    assert "Consult #2 is closed" in await say(world, chat, MOD, "!done 2")
    assert "No open consults" in await say(world, chat, EVE, "!consults")
    assert "closed, unanswered" in await say(world, chat, EVE, "!consults all")
    assert "Usage: !consults [open|stale|all]" in await say(world, chat, EVE, "!consults mine")


async def test_listing_is_capped_with_a_count_of_the_rest(world: World, chat: Dispatcher) -> None:
    for number in range(18):
        await say(world, chat, ALICE, f"!consult https://x.com/a/status/{number} question number {number}")
    listing = await say(world, chat, EVE, "!consults")
    assert "#18" in listing and "#4 " in listing and "#3 " not in listing
    assert "…and 3 more." in listing


async def test_an_answer_in_the_thread_reaches_the_consult_through_the_dispatcher(world: World,
                                                                                 chat: Dispatcher) -> None:
    await say(world, chat, ALICE, f"!consult {TWEET} what do we answer here?")
    consult = await world.storage.consults.get(1)
    world.clock.advance(HOURS)
    await say(world, chat, EVE, "I'd answer with the FAQ", thread_root=consult.thread_event_id)
    listing = await say(world, chat, ALICE, "!consults")
    assert "answered by @eve:example.org after 1h" in listing


async def test_m_text_from_bots_cannot_start_a_loop(world: World, chat: Dispatcher) -> None:
    """The bot's pings are m.text, which other bots may answer: its own are ignored, and an echoing
    bot gets at most the one ping a first answer earns, never a reply to each of its messages."""
    await say(world, chat, ALICE, f"!consult {TWEET} what do we answer here?")
    consult = await world.storage.consults.get(1)
    before = len(world.sender.sent)
    await say(world, chat, BOT, f"{ALICE}: consult #1 has its first answer", thread_root=consult.thread_event_id)
    assert world.sender.sent[before:] == [] and not (await world.storage.consults.get(1)).answered

    for echo in range(5):
        await say(world, chat, "@echobot:example.org", f"echo {echo}", thread_root=consult.thread_event_id)
    await tick_many(world)
    new = [s for s in world.sender.sent[before:] if s.kind == "message"]
    assert [s.key for s in new] == ["consult:1:answered"] and new[0].msgtype == "m.text"
    assert not new[0].text.startswith("!")  # a ping is never read as a command by a bot like this one


async def test_the_root_is_marked_once_answered_even_when_the_answer_is_seen_again(world: World) -> None:
    consult = await open_consult(world)
    answer = room_message(EVE, "see mzl.la/privacy", thread_root=consult.thread_event_id, clock=world.clock)
    await world.service.observe_message(room_message(ALICE, "bump", thread_root=consult.thread_event_id,
                                                     clock=world.clock))
    assert world.sender.reactions() == []  # the requester's own words are not an answer
    await world.service.observe_message(answer)
    await world.service.observe_message(answer)  # a replayed batch after a crash
    await world.service.observe_message(room_message(MOD, "+1", thread_root=consult.thread_event_id,
                                                     clock=world.clock))
    result = await world.service.close(consult.id, ALICE, is_moderator=False)

    assert result.outcome is CloseOutcome.CLOSED
    assert world.sender.reactions() == [(consult.thread_event_id, "✅")]


async def test_closing_marks_the_root_and_an_unanswered_window_gets_the_hourglass(world: World) -> None:
    closed = await open_consult(world)
    expired = await open_consult(world, "Another one, about sync", url="https://x.com/other/status/42")
    await world.service.close(closed.id, MOD, is_moderator=True)
    world.clock.advance(80 * HOURS)
    await tick_many(world)
    await tick_many(world)

    assert sorted(world.sender.reactions()) == sorted([(closed.thread_event_id, "✅"),
                                                       (expired.thread_event_id, "⌛")])


async def test_a_crash_between_recording_the_answer_and_marking_it_is_healed_by_the_replay(world: World) -> None:
    consult = await open_consult(world)
    answer = room_message(EVE, "see mzl.la/privacy", thread_root=consult.thread_event_id, clock=world.clock)
    # The first run recorded the answer and died before its reaction (the sync token was not saved).
    assert await world.storage.consults.record_first_answer(consult.id, EVE, answer.sent_at)
    assert world.sender.reactions() == []

    await world.service.observe_message(answer)  # the same batch, handled again after the restart

    assert world.sender.reactions() == [(consult.thread_event_id, "✅")]
