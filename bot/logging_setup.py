"""Logs go to stderr, one line per event; a run of failures is logged when it begins and when it ends."""

from __future__ import annotations

import logging
import sys


class FailureEpisodes:
    """Failures counted by episode, so a caller logs the first failure of a run and its recovery, not
    every failure in between (a poll failing every 5 minutes for a day would be 288 warnings).

    Keyed by what fails (one key per homeserver call or scheduled job; one for a poller). The log lines
    stay with their callers, who know what the failure means.
    """

    def __init__(self) -> None:
        self._failures: dict[str, int] = {}

    def failed(self, what: str = "") -> bool:
        """Count a failure of ``what``; True when it begins an episode (the one to log)."""
        count = self._failures.get(what, 0)
        self._failures[what] = count + 1
        return count == 0

    def recovered(self, what: str = "") -> int:
        """End the episode of ``what``: how many failures it had (0 when there was none: nothing to log)."""
        return self._failures.pop(what, 0)

    def failing(self, what: str = "") -> bool:
        return what in self._failures

    @property
    def in_trouble(self) -> bool:
        return bool(self._failures)


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # nio logs every HTTP retry and response at INFO/WARNING; our client layer reports trouble itself.
    for noisy in ("nio", "nio.client", "nio.responses", "aiohttp.access", "aiosqlite", "peewee"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
