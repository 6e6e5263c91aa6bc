"""Launch-day lists at the unit tier: the commands through the real dispatcher, the service on a real
sqlite file, the real scheduler on a fake clock, and a recording sender with the real outbox."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.clock import FakeClock, to_timestamp
from bot.features.launches.service import KIND, LaunchService
from bot.features.x_text import weighted_length
from bot.framework.dispatcher import Dispatcher
from bot.matrix.sync import SYNC_SAVED_AT
from bot.retention import Retention
from bot.scheduler import RetryPolicy, Scheduler
from bot.storage import Storage
from commands.launch import parse_launch_time
from tests.fakes.sender import RecordingSender
from tests.unit import events
from tests.unit.replies.test_reply_commands import StandInBitly
from tests.unit.world import build_world as build_bot_world

SHIPPED = Path(__file__).resolve().parents[3] / "replies"
ROOM = "!contributors:example.org"
ALICE, EVE, MOD = "@alice:example.org", "@eve:example.org", "@mod:example.org"
BOT = "@fxhelpbot:example.org"
START = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
_numbers = itertools.count(1)


@dataclass
class World:
    storage: Storage
    clock: FakeClock
    sender: RecordingSender
    service: LaunchService
    scheduler: Scheduler
    dispatcher: Dispatcher

    async def say(self, who: str, body: str) -> str:
        """Send a command; the bot's answer to it."""
        message = events.room_message(ROOM, who, body, event_id=f"$cmd{next(_numbers)}", sent_at=self.clock.now())
        before = len(self.sender.sent)
        await self.dispatcher.handle(message)
        answers = [s for s in self.sender.sent[before:] if s.reply_to == message.event_id]
        assert len(answers) == 1, self.sender.sent[before:]
        return answers[0].text

    def thread(self, release: str) -> list[str]:
        """Everything the bot posted for a launch, root first."""
        return [s.text for s in self.sender.sent if s.key and s.key.startswith(f"launch:{release}:")]


async def build_world(path: Path, clock: FakeClock, name: str = "first", bitly: StandInBitly | None = None) -> World:
    """The launches of the one world builder's bot (tests/unit/world.py): the real table and wiring."""
    bot = await build_bot_world(path, clock, bitly=bitly, sender_name=name)
    assert bot.rooms.contributors == ROOM
    return World(bot.storage, clock, bot.sender, bot.launches, bot.scheduler, bot.dispatcher)


@pytest.fixture
async def world(tmp_path: Path):
    built = await build_world(tmp_path / "launch.db", FakeClock(START))
    yield built
    await built.storage.close()


async def tick(world: World, times: int = 3) -> None:
    for _ in range(times):
        await world.scheduler.tick()


# ---- adding ------------------------------------------------------------------------------------

async def test_add_reads_the_handle_and_numbers_people_in_order(world):
    answer = await world.say(ALICE, "!launch add 150 https://x.com/SomeOne/status/111 es")
    assert "Added @SomeOne (X, es) to the Firefox 150 list as number 1" in answer
    assert "no launch time yet" in answer
    answer = await world.say(EVE, "!launch add 150 https://mastodon.social/@toot/113456789012345678")
    assert "Added @toot@mastodon.social (Mastodon, en-US)" in answer and "number 2" in answer


async def test_the_same_handle_or_the_same_post_is_refused_naming_who_added_it_first(world):
    await world.say(ALICE, "!launch add 150 https://x.com/SomeOne/status/111")
    same_handle = await world.say(EVE, "!launch add 150 https://twitter.com/someone/status/222 de")
    assert "@SomeOne is already on the Firefox 150 list (number 1), added by @alice:example.org" in same_handle
    assert "Nothing changed" in same_handle
    same_post = await world.say(EVE, "!launch add 150 https://mobile.twitter.com/SomeOne/status/111?s=20")
    assert "added by @alice:example.org" in same_post
    # another release is another list
    assert "as number 1" in await world.say(EVE, "!launch add vpn-linux https://x.com/someone/status/222")
    listing = await world.say(ALICE, "!launch list 150")
    assert "Firefox 150: 1 person (en-US 1)" in listing


@pytest.mark.parametrize(("command", "expected"), [
    ("!launch add 150 https://www.reddit.com/r/firefox/comments/abc/", "I can't add that: I can read handles"),
    ("!launch add 150 https://bsky.app/profile/did:plc:abc/post/3k", "by its DID"),
    ("!launch add 150 https://x.com/someone/status/1 @someone", "is not a language"),
    ("!launch add 150", "Post url is missing"),
    ("!launch add <b>150</b> https://x.com/someone/status/1", "A release is a short label"),
])
async def test_bad_adds_get_a_clear_answer_and_change_nothing(world, command, expected):
    assert expected in await world.say(ALICE, command)
    assert await world.storage.launches.all() == [] or await world.storage.launches.entries("150") == []


async def test_a_language_we_lack_falls_back_and_says_so(world):
    answer = await world.say(ALICE, "!launch add 150 https://x.com/someone/status/1 it")
    assert "(X, en-US)" in answer and "There is no “it” text; they get en-US." in answer
    assert "(X, es-MX)" in await world.say(ALICE, "!launch add 150 https://x.com/other/status/2 es-mx")


# ---- the launch --------------------------------------------------------------------------------

async def test_only_moderators_set_the_time_and_it_must_be_ahead(world):
    await world.say(ALICE, "!launch add 150 https://x.com/someone/status/1")
    assert "for moderators only" in await world.say(ALICE, "!launch at 150 2026-12-04 17:00")
    assert "has passed" in await world.say(MOD, "!launch at 150 2026-12-03 08:00")
    assert "YYYY-MM-DD HH:MM" in await world.say(MOD, "!launch at 150 tomorrow")
    assert "There is no launch list for “151”" in await world.say(MOD, "!launch at 151 2026-12-04 17:00")
    answer = await world.say(MOD, "!launch at 150 2026-12-04 17:00")
    assert "Firefox 150 launches 2026-12-04 17:00 UTC, in 1d 8h" in answer
    moved = await world.say(MOD, "!launch at 150 2026-12-04 18:30")
    assert "(it was 2026-12-04 17:00 UTC)" in moved
    stages = await world.storage.schedule.stages_of(KIND, "150")
    assert [s.due_at for s in stages] == [datetime(2026, 12, 4, 18, 30, tzinfo=UTC)]


async def test_at_launch_time_one_thread_with_everyone_in_chunks_of_ten(world):
    for n in range(23):
        await world.say(ALICE, f"!launch add 150 https://x.com/person{n}/status/{1000 + n}" + (" fr" if n == 3 else ""))
    await world.say(MOD, "!launch at 150 2026-12-03 10:00")
    await tick(world)
    assert world.thread("150") == []
    world.clock.advance(timedelta(hours=1))
    await tick(world, 5)

    keys = world.sender.keys()
    assert keys == ["launch:150:root", "launch:150:chunk:1", "launch:150:chunk:2", "launch:150:chunk:3"]
    root, *chunks = [s for s in world.sender.sent if s.key is not None]
    assert root.text.startswith("Firefox 150 is out: 23 people asked to be told.")
    assert "late" not in root.text.lower()
    assert all(c.thread_root == root.event_id for c in chunks)
    assert [len(re.findall(r"^\d+\. @person", c.text, re.M)) for c in chunks] == [10, 10, 3]
    first = chunks[0].text
    assert "Post: https://x.com/person0/status/1000" in first
    ready = next(line for line in first.splitlines() if line.startswith("@person0 "))
    assert ready.endswith("https://support.mozilla.org/kb/update-firefox-latest-release #fxhelp")
    assert "You asked us to tell you when it's out" in ready
    assert f"{weighted_length(ready)}/280 as X counts it" in first
    french = next(line for line in first.splitlines() if line.startswith("@person3 "))
    assert "le nouveau Firefox est là" in french
    assert "Launched 2026-12-03 10:00 UTC" in await world.say(ALICE, "!launch list 150")


async def test_go_launches_now_and_never_twice(world):
    await world.say(ALICE, "!launch add 150 https://bsky.app/profile/someone.bsky.social/post/3kabc")
    assert "for moderators only" in await world.say(EVE, "!launch go 150")
    assert "Firefox 150 is launched" in await world.say(MOD, "!launch go 150")
    assert "already launched on 2026-12-03 09:00 UTC" in await world.say(MOD, "!launch go 150")
    assert "already launched" in await world.say(MOD, "!launch at 150 2026-12-05 10:00")
    assert "already launched" in await world.say(MOD, "!launch cancel 150")
    await tick(world)
    assert world.sender.keys() == ["launch:150:root", "launch:150:chunk:1"]
    chunk = world.sender.with_key("launch:150:chunk:1")[0].text
    assert "@someone.bsky.social on Bluesky" in chunk and "/300 characters on Bluesky" in chunk
    assert await world.storage.schedule.stages_of(KIND, "150") == []


async def test_cancel_takes_the_time_back_and_nothing_is_posted(world):
    await world.say(ALICE, "!launch add 150 https://x.com/someone/status/1")
    assert "has no launch time to cancel" in await world.say(MOD, "!launch cancel 150")
    await world.say(MOD, "!launch at 150 2026-12-03 10:00")
    assert "cancelled; the list stays" in await world.say(MOD, "!launch cancel 150")
    world.clock.advance(timedelta(hours=2))
    await tick(world)
    assert world.thread("150") == []
    assert "No launch time yet" in await world.say(ALICE, "!launch list 150")


async def test_a_launch_due_while_the_bot_was_down_is_posted_once_on_return_saying_it_is_late(tmp_path):
    clock = FakeClock(START)
    first = await build_world(tmp_path / "l.db", clock, "first")
    await first.say(ALICE, "!launch add 150 https://x.com/someone/status/1")
    await first.say(MOD, "!launch at 150 2026-12-03 10:00")
    await first.storage.close()  # down before the launch time

    clock.advance(timedelta(hours=3))
    second = await build_world(tmp_path / "l.db", clock, "second")
    await tick(second)
    assert second.sender.keys() == ["launch:150:root", "launch:150:chunk:1"]
    assert "Posted late: the launch was set for 2026-12-03 10:00 UTC" in second.sender.sent[0].text
    await second.storage.close()

    third = await build_world(tmp_path / "l.db", clock, "third")  # and again: nothing more
    await tick(third)
    await third.service.go("150", MOD)
    assert third.sender.sent == []
    await third.storage.close()


async def test_a_crash_part_way_through_the_thread_posts_only_what_is_missing(tmp_path):
    clock = FakeClock(START)
    first = await build_world(tmp_path / "l.db", clock, "first")
    for n in range(12):
        await first.say(ALICE, f"!launch add 150 https://x.com/p{n}/status/{n + 1}")
    await first.say(MOD, "!launch at 150 2026-12-03 09:30")
    clock.advance(timedelta(hours=1))
    deliver = first.sender._deliver

    def homeserver_gone_at_the_second_chunk(sent):
        if sent.key == "launch:150:chunk:2":
            raise ConnectionError("the homeserver is gone")
        return deliver(sent)

    first.sender._deliver = homeserver_gone_at_the_second_chunk
    await first.scheduler.tick()  # the root and chunk 1 go out, chunk 2 fails: the row stays due
    assert first.sender.keys() == ["launch:150:root", "launch:150:chunk:1"]
    root = first.sender.with_key("launch:150:root")[0].event_id
    await first.storage.close()

    clock.advance(RetryPolicy().first)  # the failed row waits out the scheduler's first retry delay
    second = await build_world(tmp_path / "l.db", clock, "second")
    await tick(second)
    assert second.sender.keys() == ["launch:150:chunk:2"]
    assert second.sender.sent[0].thread_root == root
    assert re.findall(r"^(\d+)\. ", second.sender.sent[0].text, re.M) == ["11", "12"]
    await second.storage.close()


async def test_someone_added_after_the_launch_is_posted_in_the_thread_at_once(world):
    await world.say(ALICE, "!launch add 150 https://x.com/first/status/1")
    await world.say(MOD, "!launch go 150")
    answer = await world.say(EVE, "!launch add 150 https://x.com/late_one/status/2 de")
    assert "it is already out, so their entry goes into the launch thread" in answer
    late = world.sender.with_key("launch:150:chunk:2")
    assert len(late) == 1 and "@late_one on X" in late[0].text and "Der neue Firefox ist da" in late[0].text
    assert late[0].thread_root == world.sender.with_key("launch:150:root")[0].event_id



async def test_a_late_add_weeks_after_the_launch_posts_only_the_new_entry_after_the_outbox_is_pruned(world):
    for n in range(12):
        await world.say(ALICE, f"!launch add 150 https://x.com/p{n}/status/{n + 1}")
    await world.say(MOD, "!launch go 150")
    assert world.sender.keys() == ["launch:150:root", "launch:150:chunk:1", "launch:150:chunk:2"]
    world.clock.advance(timedelta(days=30))
    await world.storage.state.set(SYNC_SAVED_AT, str(to_timestamp(world.clock.now())))
    retention = Retention(world.storage.handled_events, world.storage.outbox, world.storage.schedule,
                          world.storage.state, world.clock)
    pruned = (await retention.prune()).outbox
    assert pruned >= 3  # the thread's outbox rows are gone

    before = len(world.sender.sent)
    await world.say(EVE, "!launch add 150 https://x.com/late_one/status/99")
    assert [s.key for s in world.sender.sent[before:] if s.key] == ["launch:150:chunk:3"]


# ---- answered ----------------------------------------------------------------------------------

async def test_done_marks_people_and_the_thread_hears_once_when_all_are_done(world):
    await world.say(ALICE, "!launch add 150 https://x.com/a/status/1")
    await world.say(ALICE, "!launch add 150 https://x.com/b/status/2 es")
    await world.say(MOD, "!launch go 150")
    answer = await world.say(EVE, "!launch done 150 1 7")
    assert "Marked number #1 answered. The list has no number #7. 1 person still to answer." == answer
    listing = await world.say(ALICE, "!launch list 150")
    assert "Answered 1, pending 1" in listing and "✅ answered by @eve:example.org" in listing
    assert "(en-US 1, es 1)" in listing and "added by @alice:example.org" in listing
    assert world.sender.keys()[-1] != "launch:150:all-done:2"
    assert "Everyone is answered!" in await world.say(EVE, "!launch done 150 2")
    assert "Number #2 was already done" in await world.say(EVE, "!launch done 150 2")
    all_done = world.sender.with_key("launch:150:all-done:2")
    assert len(all_done) == 1 and "All 2 people on the Firefox 150 list got their answer" in all_done[0].text
    assert "has no number #9" in await world.say(EVE, "!launch done 150 9")
    assert "The people are numbers" in await world.say(EVE, "!launch done 150 x")


async def test_list_without_a_release_shows_every_list(world):
    assert "No launch lists yet" in await world.say(ALICE, "!launch list")
    await world.say(ALICE, "!launch add 150 https://x.com/a/status/1")
    await world.say(ALICE, "!launch add vpn-linux https://x.com/a/status/2")
    listing = await world.say(ALICE, "!launch list")
    assert "150 · 1 person · 0 answered · no launch time" in listing and "vpn-linux" in listing
    assert "There is no launch list for “151”" in await world.say(ALICE, "!launch list 151")


@pytest.mark.parametrize(("typed", "expected"), [
    ("2026-12-04 17:00", datetime(2026, 12, 4, 17, 0, tzinfo=UTC)),
    ("2026-12-04T17:00:05Z", datetime(2026, 12, 4, 17, 0, 5, tzinfo=UTC)),
    ("2026-12-04 7:05 UTC", datetime(2026, 12, 4, 7, 5, tzinfo=UTC)),
])
def test_launch_times_are_read_as_utc(typed, expected):
    assert parse_launch_time(typed) == expected


@pytest.mark.parametrize("typed", ["2026-02-30 10:00", "2026-12-04 25:00", "04.12.2026 17:00", "2026-12-04"])
def test_impossible_launch_times_are_refused(typed):
    with pytest.raises(Exception, match="YYYY-MM-DD HH:MM|not a real time"):
        parse_launch_time(typed)


async def test_help_shows_the_launch_commands_with_examples_and_hides_moderator_ones_from_others(world):
    for_contributors = await world.say(ALICE, "!help launch")
    assert "!launch add <release> <post url> [lang]" in for_contributors
    assert "!launch add 150 https://x.com/someone/status/1861234567890" in for_contributors
    assert "!launch done <release> <n ...>" in for_contributors and "!launch at" not in for_contributors
    for_moderators = await world.say(MOD, "!help launch")
    assert "!launch at <release> <date> [time]" in for_moderators and "!launch at 150 2026-12-04 17:00" in for_moderators
    assert "!launch go <release>" in for_moderators and "!launch cancel <release>" in for_moderators
    assert "!launch list [release]" in await world.say(ALICE, "!help")


async def test_a_late_entry_whose_post_fails_is_posted_by_the_scheduler_later(world):
    await world.say(ALICE, "!launch add 150 https://x.com/first/status/1")
    await world.say(MOD, "!launch go 150")
    world.sender.fail_next = 1
    answer = await world.say(EVE, "!launch add 150 https://x.com/late_one/status/2")
    assert "Added @late_one (X, en-US)" in answer and "goes into the launch thread" in answer
    assert world.sender.with_key("launch:150:chunk:2") == []
    await tick(world)
    late = world.sender.with_key("launch:150:chunk:2")
    assert len(late) == 1 and "@late_one on X" in late[0].text
    await tick(world)
    assert len(world.sender.with_key("launch:150:chunk:2")) == 1
    assert world.sender.keys().count("launch:150:root") == 1


async def test_with_shortening_set_up_every_ready_reply_carries_the_mzl_la_link_looked_up_once(tmp_path):
    bitly = StandInBitly()
    world = await build_world(tmp_path / "l.db", FakeClock(START), bitly=bitly)
    for n in range(12):
        await world.say(ALICE, f"!launch add 150 https://x.com/p{n}/status/{n + 1}")
    await world.say(MOD, "!launch go 150")
    chunks = [s.text for s in world.sender.sent if s.key and ":chunk:" in s.key]
    ready = [line for text in chunks for line in text.splitlines() if line.startswith("@p")]
    assert len(ready) == 12 and all(line.endswith(" https://mzl.la/1abc #fxhelp") for line in ready)
    assert bitly.asked == ["https://support.mozilla.org/kb/update-firefox-latest-release"]
    await world.storage.close()
