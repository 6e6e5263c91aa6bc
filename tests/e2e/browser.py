"""A real browser for the dashboard: Debian's headless Chromium driven by Selenium, and the dashboard
served on loopback from a database of generated history (used by the browser test and by
scripts/dashboard_screenshot.py)."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiohttp import web

from bot.clock import FakeClock
from bot.demo.local_synapse import free_port
from bot.features.stats.dashboard import DashboardBuilder
from bot.features.stats.report import AnswerSource, StatsReporter
from bot.ops.dashboard.signin import SignIn
from bot.ops.dashboard.web import DashboardSite
from bot.storage import Storage
from tests.fakes import history

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
WINDOW = timedelta(hours=72)
MODERATOR = "@mod:example.org"
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
                  "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", "--hide-scrollbars")


def ensure_chromium() -> None:
    """Debian's chromium and chromium-driver, installed when missing (the test set-up runs as root)."""
    if shutil.which("chromium") and shutil.which("chromedriver"):
        return
    install = subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", "chromium", "chromium-driver"],
                             capture_output=True, text=True, env={"DEBIAN_FRONTEND": "noninteractive",
                                                                  "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
    if install.returncode != 0:
        subprocess.run(["apt-get", "update"], capture_output=True, check=False)
        install = subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", "chromium", "chromium-driver"],
                                 capture_output=True, text=True)
    assert install.returncode == 0, f"could not install chromium: {install.stderr[-2000:]}"


@contextlib.contextmanager
def chromium(width: int = 1200, height: int = 900) -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    ensure_chromium()
    with tempfile.TemporaryDirectory(prefix="fxhelp-chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in CHROMIUM_FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={profile}")
        options.add_argument(f"--window-size={width},{height}")
        driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
        try:
            yield driver
        finally:
            driver.quit()


@dataclass
class ServedDashboard:
    base: str
    signin: SignIn
    builder: DashboardBuilder
    storage: Storage
    clock: FakeClock


@contextlib.asynccontextmanager
async def served_dashboard(folder: Path, *, weeks: int = 8, consults: int = 900, questions: int = 1400,
                           escalations: int = 70) -> AsyncIterator[ServedDashboard]:
    storage = await Storage.open(folder / "dashboard.db")
    await history.seed(storage, NOW, weeks=weeks, consult_count=consults, question_count=questions,
                       escalation_count=escalations)
    clock = FakeClock(NOW)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    signin = SignIn(storage.dashboard_sessions, clock, base)
    builder = DashboardBuilder(storage, clock, StatsReporter(storage, clock, WINDOW, WINDOW),
                               [AnswerSource("consults", storage.consults.first_answer_counts)], 12,
                               lambda locale, qid: f"https://support.mozilla.org/{locale}/questions/{qid}")
    app = web.Application()
    DashboardSite(signin, builder, {MODERATOR}.__contains__, WINDOW).add_routes(app)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield ServedDashboard(base, signin, builder, storage, clock)
    finally:
        await runner.cleanup()
        await storage.close()
