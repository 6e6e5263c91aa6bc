"""The named hostile inputs of issue 12, each through the whole bot: an answer, within the loop budget.

"Loop time" is the CPU time of the event loop's thread while the message is handled (see world.py):
work moved to a thread does not count, and neither does a busy machine.
"""

from __future__ import annotations

import pytest

from bot.framework.dispatcher import MAX_COMMAND_LENGTH
from tests.fuzz.world import CONTRIBUTORS, MAX_EVENT_BYTES, MODERATOR, Cost, World, event_size

LOOP_BUDGET = 0.1  # seconds of event-loop time for one message


def assert_answered_within_budget(cost: Cost) -> None:
    assert cost.sent, "no answer at all"
    assert cost.loop_cpu < LOOP_BUDGET, f"{cost.loop_cpu:.3f} s of event-loop time"
    assert not cost.refused
    assert all(event_size(event.content) <= MAX_EVENT_BYTES for event in cost.sent)


# -- finding 1: !check on runs of dotted labels ---------------------------------------------------


@pytest.mark.parametrize("label", ["a.", "1.", "é.", "www."])
async def test_check_on_a_run_of_dotted_labels_answers_within_the_loop_budget(world: World, label: str) -> None:
    draft = (label * (MAX_COMMAND_LENGTH // len(label)))[: MAX_COMMAND_LENGTH - len("!check ")]

    cost = await world.say("!check " + draft)

    assert_answered_within_budget(cost)
    assert "to fix before posting" in cost.sent[0].body


async def test_check_of_the_issue_input_answers_within_the_loop_budget(world: World) -> None:
    cost = await world.say("!check " + "a." * 800)

    assert_answered_within_budget(cost)


async def test_check_still_counts_links_in_a_dotted_run(world: World) -> None:
    cost = await world.say("!check Try https://support.mozilla.org/kb/clear-cache " + "a." * 300 + " #fxhelp")

    assert_answered_within_budget(cost)
    assert "Mozilla link not shortened: https://support.mozilla.org/kb/clear-cache" in cost.sent[0].body


# -- finding 2: the last-word regex of !escalate --------------------------------------------------


async def test_escalate_with_a_long_run_of_spaces_answers_within_the_loop_budget(world: World) -> None:
    cost = await world.say("!escalate a" + " " * (MAX_COMMAND_LENGTH - 30) + "! trending")

    assert_answered_within_budget(cost)


async def test_escalate_of_the_issue_input_answers_within_the_loop_budget(world: World) -> None:
    cost = await world.say("!escalate a" + " " * 32_000 + "! trending")

    assert_answered_within_budget(cost)


# -- the maximum message length -------------------------------------------------------------------


async def test_a_command_over_the_maximum_length_is_answered_too_long_naming_the_limit(world: World) -> None:
    cost = await world.say("!check " + "x" * MAX_COMMAND_LENGTH)

    assert_answered_within_budget(cost)
    assert f"{MAX_COMMAND_LENGTH:,}" in cost.sent[0].body
    assert "too long" in cost.sent[0].body


# -- finding 3: answers over Matrix's event limit --------------------------------------------------


@pytest.fixture
def no_length_gate(world: World):
    """The echo caps must hold on their own, whatever the dispatcher lets through."""
    world.bot.dispatcher.max_length = 10**9
    yield
    world.bot.dispatcher.max_length = MAX_COMMAND_LENGTH


@pytest.mark.parametrize("command", ["!help {}", "!done {}", "!escalations {}", "!escalate https://x.com/a {}",
                                     "!{}", "!consults {}", "!reply {}", "!help reply {}"])
async def test_a_40_kb_word_is_never_echoed_whole(world: World, no_length_gate, command: str) -> None:
    word = "w" * 40_000

    cost = await world.say(command.format(word))

    assert_answered_within_budget(cost)
    assert len(cost.sent[0].body) < 2_000


@pytest.mark.parametrize("line", [
    "!done abc",  # refused in the error path (a usage error's answer)
    "!ping",      # refused after the command ran
])
async def test_a_reply_refused_by_the_homeserver_gets_a_short_fallback(world: World, line: str) -> None:
    world.homeserver.refuse_next = 1
    message = world.message(line)

    before = len(world.homeserver.sent)
    await world.bot.dispatcher.handle_batch([message])

    fallback = world.homeserver.sent[before:]
    assert len(fallback) == 1
    assert "could not send" in fallback[0].body
    assert await world.was_handled(message.event_id)


async def test_consult_thoughts_over_the_limit_are_refused_naming_it(world: World, no_length_gate) -> None:
    from commands.consults import MAX_THOUGHTS

    before = await world.consults()

    cost = await world.say("!consult https://x.com/a/status/1 " + "t" * 40_000)

    assert_answered_within_budget(cost)
    assert f"{MAX_THOUGHTS:,}" in cost.sent[0].body
    assert await world.consults() == before


async def test_a_consult_whose_thread_root_cannot_be_posted_is_not_opened(world: World) -> None:
    before = await world.consults()
    world.homeserver.refuse_next = 1  # the thread root

    cost = await world.say("!consult https://x.com/a/status/2 will this thread exist?")

    assert cost.sent, "the requester is told"
    assert await world.consults() == before


async def test_a_resolve_note_over_the_limit_is_refused_naming_it(world: World, no_length_gate) -> None:
    from commands.escalations import MAX_NOTE

    opened = await world.say("!escalate https://x.com/b/status/3 trending")
    number = next(e.body for e in opened.sent if "#" in e.body).split("#", 1)[1].split()[0].strip(".:,")

    cost = await world.say(f"!resolve {number} " + "n" * 40_000, sender=MODERATOR, room_id=CONTRIBUTORS)

    assert_answered_within_budget(cost)
    assert f"{MAX_NOTE:,}" in cost.sent[0].body


# -- finding 6: the smaller ones that go through the dispatcher ------------------------------------


async def test_an_unreadable_link_to_escalate_gets_a_friendly_answer(world: World) -> None:
    cost = await world.say("!escalate http://[x")

    assert_answered_within_budget(cost)
    assert "went wrong" not in cost.sent[0].body
    assert "http://[x" in cost.sent[0].body


async def test_help_on_a_moderator_command_tells_a_contributor_it_is_for_moderators(world: World) -> None:
    cost = await world.say("!help ack")

    assert_answered_within_budget(cost)
    assert "Did you mean" not in cost.sent[0].body
    assert "moderators only" in cost.sent[0].body


async def test_help_on_a_typo_still_suggests_a_command_the_person_can_use(world: World) -> None:
    cost = await world.say("!help pnig")

    assert "Did you mean !ping?" in cost.sent[0].body


async def test_consult_with_a_curly_quoted_link_keeps_its_thoughts(world: World) -> None:
    cost = await world.say('!consult “https://x.com/a/status/11" my thoughts')

    root, answer = cost.sent
    assert "is open" in answer.body
    assert "\nmy thoughts\n" in root.body
