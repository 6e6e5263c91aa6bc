"""Short mzl.la links for allowed Mozilla links, each asked of Bitly once, ever.

The order of a request: the link policy first (a refused link costs no call and no query), then
the table of links already made, then Bitly. Concurrent requests for the same link share one
Bitly call. Failures are never stored, so the next request simply tries again — except Bitly's
limits, which are remembered so that they are not hit again link after link:

- a per-minute or per-hour limit (Bitly's 403 with ``X-Ratelimit-Reason``): no call for a minute;
- the monthly limit (Bitly's 429): no call until the limit can have reset, kept in the database so a
  restart does not spend the month asking again. Bitly resets plan limits on the first of the month
  but does not say in which time zone, so the earliest possible reset is midnight on the 1st at
  UTC+14; from then until midnight at UTC-12, one try an hour finds the reset.

A link Bitly made on another domain (``bit.ly`` instead of ``mzl.la``) is refused by the client and
never stored; one stored before that check existed is replaced by a new one on the right domain.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from bot.clock import Clock, format_utc, from_timestamp, to_timestamp
from bot.features.links.policy import normalise_link
from bot.services.bitly import BitlyClient, BitlyMonthlyLimit, BitlyRateLimited, ShortenError
from bot.storage.bot_state import BotState
from bot.storage.short_links import ShortLinks

MONTHLY_LIMIT_KEY = "bitly.monthly_limit_until"
RATE_LIMIT_PAUSE = timedelta(minutes=1)
# Midnight on the 1st happens between 14 h before it in UTC (UTC+14) and 12 h after it (UTC-12).
_EARLIEST_ZONE, _LATEST_ZONE = timedelta(hours=14), timedelta(hours=12)
_RETRY_DURING_RESET = timedelta(hours=1)


@dataclass(frozen=True)
class ShortLink:
    long_url: str  # normalised
    short_url: str
    reused: bool  # True when it came from the table, without asking Bitly


class ShortenerNotConfigured(ShortenError):
    def __init__(self) -> None:
        super().__init__(
            "shortening is not set up on this bot: it needs a Bitly access token (shortener.bitly_token in the "
            "configuration, or the FXHELP_BITLY_TOKEN environment variable); ask a moderator", "not_configured"
        )


class MonthlyLimitRemembered(ShortenError):
    def __init__(self, until: datetime) -> None:
        super().__init__(
            "the Bitly account has used up its links for this month — tell a moderator "
            f"(I try Bitly again from {format_utc(until)})", "monthly_limit"
        )
        self.until = until


def monthly_limit_lifts(now: datetime) -> datetime:
    """When to ask Bitly again after its monthly limit: the earliest moment it can have reset,
    or within the hour while the month is turning somewhere on Earth."""
    this_month = now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    next_month = (this_month + timedelta(days=32)).replace(day=1)
    if now < this_month + _LATEST_ZONE or now >= next_month - _EARLIEST_ZONE:
        return now + _RETRY_DURING_RESET
    return next_month - _EARLIEST_ZONE


class BitlyLimits:
    """What Bitly told us about its limits, so that a limit costs one call, not one per link."""

    def __init__(self, clock: Clock, state: BotState | None) -> None:
        self._clock = clock
        self._state = state
        self._monthly_until: datetime | None = None
        self._monthly_loaded = state is None
        self._paused_until: datetime | None = None

    async def check(self) -> None:
        """Raise the remembered limit while it lasts."""
        now = self._clock.now()
        if not self._monthly_loaded:
            stored = await self._state.get(MONTHLY_LIMIT_KEY) if self._state else None
            self._monthly_until = from_timestamp(float(stored)) if stored else None
            self._monthly_loaded = True
        if self._monthly_until is not None and now < self._monthly_until:
            raise MonthlyLimitRemembered(self._monthly_until)
        if self._paused_until is not None and now < self._paused_until:
            raise BitlyRateLimited()

    async def monthly_limit_reached(self) -> datetime:
        self._monthly_until = monthly_limit_lifts(self._clock.now())
        if self._state is not None:
            await self._state.set(MONTHLY_LIMIT_KEY, repr(to_timestamp(self._monthly_until)))
        return self._monthly_until

    def rate_limited(self) -> None:
        self._paused_until = self._clock.now() + RATE_LIMIT_PAUSE

    def health_problems(self) -> list[str]:
        now = self._clock.now()
        if self._monthly_until is not None and now < self._monthly_until:
            return [f"Bitly's monthly limit is used up: no new short links until {format_utc(self._monthly_until)} "
                    "(a plan with more links, or a new month, lifts it)"]
        if self._paused_until is not None and now < self._paused_until:
            return [f"Bitly's rate limit was hit: no new short links until {format_utc(self._paused_until)}"]
        return []


class LinkShortener:
    def __init__(
        self,
        short_links: ShortLinks,
        bitly: BitlyClient | None,
        allowed_hosts: Iterable[str],
        clock: Clock,
        state: BotState | None = None,
    ) -> None:
        self._short_links = short_links
        self._bitly = bitly
        self._allowed_hosts = tuple(allowed_hosts)
        self._clock = clock
        self._limits = BitlyLimits(clock, state)
        # One task per normalised URL being shortened right now; later callers await the same one.
        self._in_flight: dict[str, asyncio.Task[ShortLink]] = {}

    @property
    def enabled(self) -> bool:
        return self._bitly is not None

    @property
    def allowed_hosts(self) -> tuple[str, ...]:
        return self._allowed_hosts

    def health_problems(self) -> list[str]:
        """For /healthz: a Bitly limit in force (a warning; the rest of the bot works)."""
        return self._limits.health_problems()

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
        assert self._bitly is not None
        stored = await self._short_links.get(long_url)
        on_domain = stored is not None and _host(stored.short_url) == self._bitly.domain.lower()
        if stored is not None and on_domain:
            return ShortLink(long_url, stored.short_url, reused=True)
        await self._limits.check()
        try:
            short_url = await self._bitly.shorten(long_url)
        except BitlyMonthlyLimit:
            raise MonthlyLimitRemembered(await self._limits.monthly_limit_reached()) from None
        except BitlyRateLimited:
            self._limits.rate_limited()
            raise
        if stored is not None:  # made on another domain before such links were refused
            saved = await self._short_links.replace(long_url, short_url, self._clock.now())
        else:
            saved = await self._short_links.save(long_url, short_url, self._clock.now())
        return ShortLink(long_url, saved.short_url, reused=False)

    def _forget(self, long_url: str, done: asyncio.Task[ShortLink]) -> None:
        if self._in_flight.get(long_url) is done:
            del self._in_flight[long_url]
        # Mark the outcome as seen: if every caller was cancelled, nobody else will read it.
        if not done.cancelled():
            done.exception()


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()
