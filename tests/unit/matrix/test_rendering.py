"""What a user typed can neither inject markup nor ping a room, in plain text and in HTML."""

from __future__ import annotations

import re

import pytest

from bot.matrix.rendering import ECHO_LIMIT, echo, link, mention, text

ROOM_PING = re.compile(r"@room", re.IGNORECASE)  # push rules match @room in any case


@pytest.mark.parametrize("typed", ["@room", "@ROOM", "@Room", "hey @rOoM!"])
def test_room_pings_are_defused_in_any_case(typed):
    fragment = text(typed)

    assert not ROOM_PING.search(fragment.plain) and not ROOM_PING.search(fragment.html)


@pytest.mark.parametrize("label", ["@room", "@ROOM", "@Room"])
def test_room_pings_in_link_text_and_link_addresses_are_defused(label):
    fragment = link("https://example.org/@room/x", label)

    assert not ROOM_PING.search(fragment.plain)
    assert 'href="https://example.org/@room/x"' in fragment.html  # the address itself still works


def test_a_user_named_like_a_room_ping_is_mentioned_without_pinging_the_room():
    fragment = mention("@room:evil.example")

    assert not ROOM_PING.search(fragment.plain)
    assert fragment.mentions == ("@room:evil.example",)


def test_an_echo_is_cut_with_a_mark():
    assert echo("x" * 10_000) == "x" * (ECHO_LIMIT - 1) + "…"
    assert echo("short") == "short"
