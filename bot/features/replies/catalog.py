"""The common-replies library the bot is using: loaded at start, replaced only by a clean reload.

``!reply``, ``!check`` (is this draft a pasted common reply?) and the escalations' holding reply all read
``catalog.library``, so a reload reaches all of them at once, and a broken edit never takes the last
good library away from them.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path

from bot.config import RepliesConfig, shipped_replies_path
from bot.features.replies.library import ReplyLibrary
from bot.features.replies.loading import ReplyLibraryError

log = logging.getLogger(__name__)


def library_path(replies: RepliesConfig) -> Path:
    return replies.path or shipped_replies_path()


@dataclass(frozen=True)
class ReloadOutcome:
    problems: tuple[str, ...]  # empty when the edited library is now in use
    replies: int  # in the library in use after the reload
    topics: int

    @property
    def loaded(self) -> bool:
        return not self.problems


class ReplyCatalog:
    def __init__(self, path: Path, library: ReplyLibrary) -> None:
        self.path = path
        self._library = library

    @classmethod
    async def load(cls, path: Path) -> ReplyCatalog:
        """Raises ReplyLibraryError naming each file, key and field: the bot must not start without
        a library, and the shipped or configured one is expected to be good."""
        return cls(path, await _load(path))

    @property
    def library(self) -> ReplyLibrary:
        return self._library

    async def reload(self) -> ReloadOutcome:
        """Read the folder again; on any problem keep the library in use and say what is wrong."""
        try:
            self._library = await _load(self.path)
        except ReplyLibraryError as error:
            log.warning("reply library reload refused, keeping the last good one: %s", error)
            return self._outcome(tuple(error.problems))
        log.info("reply library reloaded from %s: %d replies", self.path, len(self._library))
        return self._outcome(())

    def _outcome(self, problems: tuple[str, ...]) -> ReloadOutcome:
        return ReloadOutcome(problems, len(self._library), len(self._library.topics()))


async def _load(path: Path) -> ReplyLibrary:
    # Off the event loop: loading reads and checks every reply in every language.
    return await asyncio.to_thread(ReplyLibrary.load, path)
