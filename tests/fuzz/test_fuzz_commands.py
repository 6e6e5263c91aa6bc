"""Every command, through the real dispatcher, with arbitrary text: an answer, always, and cheaply.

For every message: at least one event is sent, none is over Matrix's 64 KiB limit, none says
"something went wrong" (bad input deserves a friendly answer, not an internal error), and handling it
took under 100 ms of event-loop time (CPU time of the loop's thread; see world.py).

A bounded run is part of ``make test`` (profile fuzz-ci); ``make fuzz`` runs many more examples.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.framework.dispatcher import MAX_COMMAND_LENGTH
from tests.fuzz.conftest import FUZZ_PROFILE
from tests.fuzz.world import CONTRIBUTOR, CONTRIBUTORS, MAX_EVENT_BYTES, MODERATOR, MODERATORS_ROOM, World, event_size

LOOP_BUDGET = 0.1

# Pieces hostile text is made of: dotted runs, spaces, every kind of quote, bidi controls, emoji
# sequences, pings, markup and links good and broken.
UNITS = [
    "a.", "1.", "é.", "www.", "中.", "x.com.", " ", "  ", "\t", "\n", "\u00a0", "\u3000",
    '"', "'", "“", "”", "‘", "’", "«", "»", "„",
    "\u202e", "\u202d", "\u2066", "\u2067", "\u2069", "\u200f", "\u200b", "\u2060", "\ufeff",
    "😀", "👩‍👩‍👧", "🏳️‍🌈", "👍🏽", "1️⃣", "#fxhelp", "#", "@room", "@ROOM", "@someone", "@room:evil.example",
    "https://x.com/a/status/1", "x.com/b/status/22", "support.mozilla.org/en-US/kb/x", "mzl.la/abc",
    "http://[x", "https://", "<b>", "</b>", "*", "_", "`", "[x](y)", "![i](https://e/p.png)", "\\", "!", "#12",
    "12", "0", "-1", "99999999999", "trending", "no-kb", "paid", "brand", "other", "open", "all", "stale",
    "en-US", "es", "clear-cache", "ЁЖЗ", "مرحبا", "שלום",
]

pieces = st.lists(st.sampled_from(UNITS), max_size=80).map("".join)
huge = st.tuples(st.sampled_from(UNITS), st.integers(1, MAX_COMMAND_LENGTH + 200)).map(
    lambda unit_and_count: unit_and_count[0] * (unit_and_count[1] // len(unit_and_count[0]) + 1))
arbitrary = st.text(max_size=300)
odd_characters = st.text(st.characters(categories=["Cf", "Zs", "So", "Mn", "Co", "Cs"]), max_size=400)
arguments = st.one_of(pieces, huge, arbitrary, odd_characters, st.lists(pieces, max_size=4).map(" ".join))


@settings(settings.get_profile(FUZZ_PROFILE))
@given(data=st.data())
async def test_every_command_answers_any_text_cheaply_and_within_matrix_limits(world: World, data) -> None:
    names = sorted({command.name for command in world.bot.table}) + ["nosuchcommand", "HELP", "reply  search"]
    name = data.draw(st.sampled_from(names), label="command")
    argument = data.draw(arguments, label="argument")
    sender, room = data.draw(st.sampled_from([(CONTRIBUTOR, CONTRIBUTORS), (MODERATOR, CONTRIBUTORS),
                                              (MODERATOR, MODERATORS_ROOM)]), label="who")
    body = f"!{name} {argument}"

    cost = await world.say(body, sender=sender, room_id=room)

    assert cost.sent, f"no answer to {body[:200]!r}"
    assert not cost.refused, f"events over the limit: {cost.refused}"
    assert all(event_size(event.content) <= MAX_EVENT_BYTES for event in cost.sent)
    assert not any("went wrong" in event.body for event in cost.sent), [e.body[:300] for e in cost.sent]
    assert cost.loop_cpu < LOOP_BUDGET, f"{cost.loop_cpu * 1000:.0f} ms of loop time for {body[:200]!r}"


@settings(settings.get_profile(FUZZ_PROFILE))
@given(text=arguments)
async def test_any_message_that_is_not_a_command_costs_the_loop_little(world: World, text: str) -> None:
    # Thread answers and chat: every message is read by the consult observer.
    cost = await world.say(text)

    assert not cost.refused
    assert cost.loop_cpu < LOOP_BUDGET, f"{cost.loop_cpu * 1000:.0f} ms of loop time"
