"""Text rules shared across layers: shortening for display, text a database can store."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.text import shortened, without_lone_surrogates


def test_a_short_text_is_left_alone():
    assert shortened("Firefox keeps crashing", 40) == "Firefox keeps crashing"


def test_a_long_text_ends_in_an_ellipsis_within_the_limit():
    assert shortened("Firefox keeps crashing on startup", 15) == "Firefox keeps…"


def test_one_line_reads_every_run_of_space_as_one():
    assert shortened("VPN\n\nrefunds   please", 40, one_line=True) == "VPN refunds please"
    assert shortened("VPN\n\nrefunds   please", 40) == "VPN\n\nrefunds   please"


@given(st.text(), st.integers(1, 100), st.booleans())
def test_never_longer_than_the_limit(text: str, limit: int, one_line: bool):
    shown = shortened(text, limit, one_line=one_line)
    assert len(shown) <= limit
    assert shown.endswith("…") or shown == (" ".join(text.split()) if one_line else text)


def test_half_a_surrogate_pair_becomes_a_replacement_character_and_a_whole_pair_is_joined():
    assert without_lone_surrogates("a\ud800b") == "a\ufffdb"
    assert without_lone_surrogates("\ud83d\ude00") == "😀"
    assert without_lone_surrogates("plain") == "plain"
