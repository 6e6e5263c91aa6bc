"""Time: aware UTC datetimes everywhere, one parser for durations, a clock tests can move."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from typing import Protocol

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> timedelta:
    """``72h``, ``30m``, ``10s``, ``1.5h``, ``7d`` → timedelta. Raises ValueError with the rule."""
    match = _DURATION.match(str(text))
    if not match:
        raise ValueError(f"{text!r} is not a duration; write a number and a unit, like 72h, 30m or 10s")
    amount, unit = float(match.group(1)), match.group(2)
    return timedelta(seconds=amount * _UNIT_SECONDS[unit])


def format_duration(delta: timedelta, *, in_hours: bool = False) -> str:
    """How the bot writes a span to people: ``3d 4h``, ``2h 5m``, ``45s`` (negative deltas read as their size).

    Number and unit are written together, as durations are written in the config and in commands
    (``72h``, ``30m``), so what the bot says can be typed back. ``in_hours`` is for the windows (48h,
    72h): an hour or more reads in hours and minutes (``49h 30m``, not ``2d 1h``), rounded to the
    second first so a message posted a few milliseconds after a window opened still says 72h.
    """
    seconds = round(abs(delta.total_seconds())) if in_hours else int(abs(delta.total_seconds()))
    days, rest = divmod(seconds, 86400)
    if in_hours:
        days, rest = 0, seconds
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    if minutes:
        return f"{minutes}m"
    return f"{secs}s"


def to_timestamp(moment: datetime) -> float:
    if moment.tzinfo is None:
        raise ValueError("naive datetime: the bot only handles aware UTC times")
    return moment.timestamp()


def from_timestamp(value: float) -> datetime:
    return datetime.fromtimestamp(value, tz=UTC)


def from_optional_timestamp(value: float | None) -> datetime | None:
    return None if value is None else from_timestamp(value)


def format_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


class Clock(Protocol):
    def now(self) -> datetime: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class FakeClock:
    """A clock that moves only when told to; for tests and benchmarks.

    ``sleep`` returns when ``advance`` has moved the clock past its end, and ``sleeping`` tells a test
    when (and until when) something sleeps, so a test never waits real time.
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
        self._sleepers: list[tuple[datetime, asyncio.Future[None]]] = []
        self._new_sleeper = asyncio.Event()

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta
        for end, future in self._sleepers:
            if end <= self._now and not future.done():
                future.set_result(None)
        self._sleepers = [(end, future) for end, future in self._sleepers if not future.done()]

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sleepers.append((self._now + timedelta(seconds=seconds), future))
        self._new_sleeper.set()
        await future

    async def sleeping(self) -> datetime:
        """Wait until something sleeps on this clock; returns the earliest end among the sleepers."""
        while True:
            pending = [end for end, future in self._sleepers if not future.done()]
            if pending:
                return min(pending)
            self._new_sleeper.clear()
            await self._new_sleeper.wait()
