"""Short mzl.la links for allowed Mozilla links, each asked of Bitly once, ever.

The order of a request: the link policy first (a refused link costs no call and no query), then
the table of links already made, then Bitly. Concurrent requests for the same link share one
Bitly call. Failures are never stored, so the next request simply tries again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass

from bot.clock import Clock
from bot.link_policy import normalise_link
from bot.services.bitly import BitlyClient, ShortenError
from bot.storage.short_links import ShortLinks


@dataclass(frozen=True)
class ShortLink:
    long_url: str  # normalised
    short_url: str
    reused: bool  # True when it came from the table, without asking Bitly


class ShortenerNotConfigured(ShortenError):
    def __init__(self) -> None:
        super().__init__(
            "shortening is not set up on this bot (no Bitly token); ask a moderator", "not_configured"
        )


class LinkShortener:
    def __init__(
        self,
        short_links: ShortLinks,
        bitly: BitlyClient | None,
        allowed_hosts: Iterable[str],
        clock: Clock,
    ) -> None:
        self._short_links = short_links
        self._bitly = bitly
        self._allowed_hosts = tuple(allowed_hosts)
        self._clock = clock
        # One task per normalised URL being shortened right now; later callers await the same one.
        self._in_flight: dict[str, asyncio.Task[ShortLink]] = {}

    @property
    def enabled(self) -> bool:
        return self._bitly is not None

    async def shorten(self, url: str) -> ShortLink:
        """Raises LinkRefused for a link that is not ours to shorten, ShortenError when Bitly fails."""
        long_url = normalise_link(url, self._allowed_hosts)
        if not self.enabled:
            raise ShortenerNotConfigured()
        task = self._in_flight.get(long_url)
        if task is None:
            task = asyncio.create_task(self._stored_or_new(long_url))
            self._in_flight[long_url] = task
            task.add_done_callback(lambda done: self._forget(long_url, done))
        # shield: one caller giving up (its command cancelled) must not cancel the others' call.
        return await asyncio.shield(task)

    async def _stored_or_new(self, long_url: str) -> ShortLink:
        stored = await self._short_links.get(long_url)
        if stored is not None:
            return ShortLink(long_url, stored.short_url, reused=True)
        assert self._bitly is not None
        short_url = await self._bitly.shorten(long_url)
        saved = await self._short_links.save(long_url, short_url, self._clock.now())
        return ShortLink(long_url, saved.short_url, reused=False)

    def _forget(self, long_url: str, done: asyncio.Task[ShortLink]) -> None:
        if self._in_flight.get(long_url) is done:
            del self._in_flight[long_url]
        # Mark the outcome as seen: if every caller was cancelled, nobody else will read it.
        if not done.cancelled():
            done.exception()
