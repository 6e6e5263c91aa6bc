"""Logs go to stderr, one line per event."""

from __future__ import annotations

import logging
import sys


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # nio logs every HTTP retry and response at INFO/WARNING; our client layer reports trouble itself.
    for noisy in ("nio", "nio.client", "nio.responses", "aiohttp.access", "aiosqlite", "peewee"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
