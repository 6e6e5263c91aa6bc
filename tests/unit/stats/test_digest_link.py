"""The weekly digest links to the dashboard (when the HTTP endpoint is on)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

from bot.clock import FakeClock
from bot.config import DigestConfig
from bot.features.stats.digest import KIND as DIGEST
from bot.features.stats.digest import WeeklyDigest
from bot.features.stats.report import StatsReporter
from bot.ops.metrics import Metrics
from bot.scheduler import Scheduler
from bot.storage import Storage
from tests.fakes.sender import RecordingSender

URL = "https://fxhelp.example.org/dashboard"


async def digest_text(path: Path, dashboard_url: str | None) -> str:
    clock = FakeClock(datetime(2026, 11, 24, 12, 0, tzinfo=UTC))
    storage = await Storage.open(path)
    try:
        sender = RecordingSender(storage.outbox, clock, "digest")
        rooms = SimpleNamespace(contributors="!c:example.org", moderators="!m:example.org")
        digest = WeeklyDigest(storage.schedule, sender, rooms, StatsReporter(storage, clock, timedelta(hours=72)), clock,
                              DigestConfig(), dashboard_url)
        scheduler = Scheduler(storage.schedule, clock, Metrics(), timedelta(seconds=30))
        scheduler.handle(DIGEST, digest.handle_due)
        await digest.plan_next()
        clock.advance(timedelta(days=6))
        await scheduler.tick()
        assert sender.keys() == ["digest:2026-W49"]
        return sender.sent[0].text
    finally:
        await storage.close()


async def test_the_digest_links_to_the_dashboard(tmp_path: Path) -> None:
    text = await digest_text(tmp_path / "a.db", URL)
    assert "Weekly digest 2026-W49" in text
    assert text.rstrip().endswith(f"Trends and the queue on the dashboard: {URL} (sign in with !dashboard)")


async def test_without_the_endpoint_the_digest_has_no_link(tmp_path: Path) -> None:
    text = await digest_text(tmp_path / "b.db", None)
    assert "Weekly digest 2026-W49" in text and "dashboard" not in text
