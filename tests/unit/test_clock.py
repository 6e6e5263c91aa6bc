"""The one way the bot writes a duration to people."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.clock import format_duration, parse_duration


@pytest.mark.parametrize("delta, text, window_text", [
    (timedelta(seconds=45), "45s", "45s"),
    (timedelta(minutes=5), "5m", "5m"),
    (timedelta(hours=2, minutes=5), "2h 5m", "2h 5m"),
    (timedelta(hours=48), "2d", "48h"),
    (timedelta(hours=49, minutes=30), "2d 1h", "49h 30m"),
    (timedelta(hours=-3), "3h", "3h"),
])
def test_durations(delta: timedelta, text: str, window_text: str) -> None:
    assert format_duration(delta) == text
    assert format_duration(delta, in_hours=True) == window_text


@pytest.mark.parametrize("text", ["45s", "5m", "2h", "2d"])
def test_a_written_duration_reads_back_as_the_config_writes_it(text: str) -> None:
    assert format_duration(parse_duration(text)) == text
