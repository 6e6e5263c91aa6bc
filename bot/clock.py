"""Time: aware UTC datetimes everywhere, one parser for durations, a clock tests can move."""

from __future__ import annotations

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


def format_duration(delta: timedelta) -> str:
    """A short human duration: ``3d 4h``, ``2h 5m``, ``45s``; negative deltas read as their size."""
    seconds = int(abs(delta.total_seconds()))
    days, rest = divmod(seconds, 86400)
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


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FakeClock:
    """A clock that moves only when told to; for tests and benchmarks."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 11, 24, 12, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta
