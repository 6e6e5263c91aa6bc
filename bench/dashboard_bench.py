"""How fast the dashboard renders with a big database: 100,000 consults and 100,000 forum questions.

    .venv/bin/python bench/dashboard_bench.py [--consults 100000] [--questions 100000] [--runs 25]

A temp sqlite file is filled with generated history (tests/fakes/history.py) in two layouts:
- "spread": the rows over the last 104 weeks (about 960 a week of each kind);
- "recent": all of them in the 12 weeks the charts show (the worst case: every row is counted).
For each, with the real Storage, StatsReporter, DashboardBuilder and templates:
- the page: build every figure and render the HTML (what GET /dashboard does), median and worst of
  the runs, the clock a minute later at each; also through HTTP with a session cookie (aiohttp,
  loopback); and "cold", with the kept figures (figure_cache, migration 0016) forgotten before
  each load: the first load, which counts every day and week and stores the settled ones;
- the baseline measured in the same run: the same page on an empty database;
- for comparison, the twelve weekly consult figures computed the old way (rows loaded and counted in
  Python by ``consult_figures``), which the SQL aggregates replaced.
Target: the page under 50 ms. Printed with PASS/FAIL; nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

import aiohttp  # noqa: E402 - after the path
from aiohttp import web  # noqa: E402

from bot.clock import FakeClock  # noqa: E402
from bot.demo.local_synapse import free_port  # noqa: E402
from bot.features.consults.stats import consult_figures  # noqa: E402
from bot.features.stats.dashboard import DashboardBuilder, iso_week_start  # noqa: E402
from bot.features.stats.report import AnswerSource, StatsReporter  # noqa: E402
from bot.ops.dashboard.render import render_page, templates  # noqa: E402
from bot.ops.dashboard.signin import COOKIE, SignIn  # noqa: E402
from bot.ops.dashboard.web import DashboardSite  # noqa: E402
from bot.storage import Storage  # noqa: E402
from tests.e2e.browser import MODERATOR, NOW  # noqa: E402
from tests.fakes import history  # noqa: E402

TARGET_MS = 50.0
WINDOW = timedelta(hours=72)
WEEKS = 12


def _builder(storage: Storage, clock: FakeClock) -> DashboardBuilder:
    return DashboardBuilder(storage, clock, StatsReporter(storage, clock, WINDOW, WINDOW),
                            [AnswerSource("consults", storage.consults.first_answer_counts),
                             AnswerSource("forum questions", storage.questions.first_answer_counts)], WEEKS,
                            lambda locale, qid: f"https://support.mozilla.org/{locale}/questions/{qid}")


async def _page_times(storage: Storage, runs: int, *, cold: bool = False) -> list[float]:
    """The page ``runs`` times, a minute apart on the clock (as a moderator reloading it would);
    ``cold``: the kept figures of settled weeks (figure_cache) are forgotten before each load."""
    clock = FakeClock(NOW)
    builder, environment = _builder(storage, clock), templates()
    times = []
    for _ in range(runs + 2):
        if cold:
            await storage.db.execute("DELETE FROM figure_cache")
        started = time.perf_counter()
        render_page(environment, await builder.build(), window=WINDOW, user_id=MODERATOR)
        times.append((time.perf_counter() - started) * 1000)
        clock.advance(timedelta(minutes=1))
    return times[2:]  # the first two compile the templates, warm sqlite's cache and fill figure_cache


async def _http_times(storage: Storage, runs: int) -> list[float]:
    clock = FakeClock(NOW)
    port = free_port()
    signin = SignIn(storage.dashboard_sessions, clock, f"http://127.0.0.1:{port}")
    app = web.Application()
    DashboardSite(signin, _builder(storage, clock), {MODERATOR}.__contains__, WINDOW).add_routes(app)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    times = []
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
            async with http.get(await signin.new_link(MODERATOR)) as response:
                session = response.cookies[COOKIE].value
            for _ in range(runs + 2):
                started = time.perf_counter()
                async with http.get(f"http://127.0.0.1:{port}/dashboard", headers={"Cookie": f"{COOKIE}={session}"}) as r:
                    await r.read()
                    assert r.status == 200
                times.append((time.perf_counter() - started) * 1000)
    finally:
        await runner.cleanup()
    return times[2:]


async def _rows_way(storage: Storage, runs: int) -> list[float]:
    first = iso_week_start(NOW) - timedelta(weeks=WEEKS - 1)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        rows = await storage.consults.opened_since(first)
        for i in range(WEEKS):
            start, stop = first + timedelta(weeks=i), first + timedelta(weeks=i + 1)
            consult_figures([c for c in rows if start <= c.opened_at < stop], NOW)
        times.append((time.perf_counter() - started) * 1000)
    return times


def _line(name: str, times: list[float]) -> str:
    return f"  {name:<48} median {statistics.median(times):7.1f} ms   worst {max(times):7.1f} ms"


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--consults", type=int, default=100_000)
    parser.add_argument("--questions", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=25)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        empty = await Storage.open(Path(folder) / "empty.db")
        baseline = statistics.median(await _page_times(empty, args.runs))
        await empty.close()
        print(f"dashboard bench: {args.consults:,} consults, {args.questions:,} forum questions, {args.runs} runs")
        print(f"  baseline: the page on an empty database            median {baseline:7.1f} ms")
        for layout, weeks in (("spread", 104), ("recent", WEEKS)):
            storage = await Storage.open(Path(folder) / f"{layout}.db")
            started = time.perf_counter()
            await history.seed(storage, NOW, weeks=weeks, consult_count=args.consults, question_count=args.questions,
                               escalation_count=weeks * 10)
            print(f"{layout}: rows over the last {weeks} weeks (filled in {time.perf_counter() - started:.1f} s)")
            page = await _page_times(storage, args.runs)
            median = statistics.median(page)
            verdict = "PASS" if median < TARGET_MS else "FAIL"
            print(_line("page: figures + HTML (GET /dashboard's work)", page)
                  + f"   x{median / baseline:.1f} baseline   target < {TARGET_MS:.0f} ms: {verdict}")
            print(_line("page through HTTP (aiohttp, loopback)", await _http_times(storage, args.runs)))
            print(_line("cold: nothing kept (the first load)", await _page_times(storage, max(3, args.runs // 5),
                                                                                    cold=True)))
            print(_line("for comparison: 12 weeks of consults row by row", await _rows_way(storage, max(3, args.runs // 5))))
            await storage.close()


if __name__ == "__main__":
    asyncio.run(main())
