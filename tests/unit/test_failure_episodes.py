"""A run of failures is one episode: its first failure and its recovery are what gets logged."""

from __future__ import annotations

from bot.logging_setup import FailureEpisodes


def test_an_episode_begins_once_and_counts_its_failures() -> None:
    episodes = FailureEpisodes()
    assert [episodes.failed("sync") for _ in range(3)] == [True, False, False]
    assert episodes.failing("sync") and episodes.in_trouble and not episodes.failing("send")
    assert episodes.recovered("sync") == 3
    assert episodes.recovered("sync") == 0 and not episodes.in_trouble
    assert episodes.failed("sync")  # a new episode


def test_keys_are_separate_episodes() -> None:
    episodes = FailureEpisodes()
    assert episodes.failed("a") and episodes.failed("b")
    assert episodes.recovered("a") == 1 and episodes.failing("b")
