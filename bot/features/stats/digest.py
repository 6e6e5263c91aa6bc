"""The weekly digest: last week's numbers in the moderators' room, once per ISO week.

Each digest is one schedule row (kind ``digest``, item the ISO week such as ``2026-W48``) and one
outbox key (``digest:2026-W48``); sending it plans the next one. The day and hour are UTC.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.clock import Clock
from bot.config import DigestConfig
from bot.features.stats.report import StatsReporter, report_message
from bot.matrix.rendering import lines, link
from bot.matrix.rooms import RoomIds
from bot.matrix.sender import Sends
from bot.storage.schedule import DueWork, Schedule

KIND = "digest"
STAGE = "send"
DIGEST_DAYS = 7
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def next_slot(after: datetime, day: str, hour: int) -> datetime:
    """The first ``day`` at ``hour``:00 UTC strictly after ``after``."""
    midnight = after.replace(hour=0, minute=0, second=0, microsecond=0)
    days_ahead = (WEEKDAYS.index(day) - after.weekday()) % 7
    slot = midnight + timedelta(days=days_ahead, hours=hour)
    return slot if slot > after else slot + timedelta(days=7)


def iso_week(moment: datetime) -> str:
    year, week, _ = moment.isocalendar()
    return f"{year}-W{week:02d}"


class WeeklyDigest:
    def __init__(self, schedule: Schedule, sender: Sends, rooms: RoomIds, reporter: StatsReporter, clock: Clock,
                 settings: DigestConfig, dashboard_url: str | None = None) -> None:
        self._schedule = schedule
        self._sender = sender
        self._rooms = rooms
        self._reporter = reporter
        self._clock = clock
        self._settings = settings
        self._dashboard_url = dashboard_url  # None: the HTTP endpoint (and so the dashboard) is off

    async def plan_next(self) -> None:
        """At start: make sure the coming digest is planned (planning it twice is harmless)."""
        if self._settings.enabled:
            await self._plan_after(self._clock.now())

    async def handle_due(self, work: DueWork) -> None:
        if not self._settings.enabled:
            return  # switched off since it was planned: drop it, plan nothing
        report = await self._reporter.report(DIGEST_DAYS)
        message = report_message(report, f"Weekly digest {work.item_id}")
        if self._dashboard_url is not None:
            message = lines(message, "Trends and the queue on the dashboard: " + link(self._dashboard_url)
                            + " (sign in with !dashboard)")
        await self._sender.send_once(f"digest:{work.item_id}", self._rooms.moderators, message)
        # From now, not from the due time: after a long outage one late digest is enough.
        await self._plan_after(max(work.due_at, self._clock.now()))

    async def _plan_after(self, moment: datetime) -> None:
        slot = next_slot(moment, self._settings.day, self._settings.hour)
        await self._schedule.plan(KIND, iso_week(slot), STAGE, slot)
