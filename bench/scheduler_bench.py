"""How the one scheduler scales with open consults, against one asyncio timer per consult.

    .venv/bin/python bench/scheduler_bench.py [--sizes 100000 1000000] [--runs 15]

For each size, a temp sqlite file is filled with open consults (opened over the last 47 h, so every
reminder and expiry is still ahead) and their schedule rows. Then, with the real Storage, Scheduler
and ConsultService (and a sender that only writes the outbox):
- startup: open the database, build the scheduler, run the first tick;
- a tick with nothing due (median of runs);
- a tick with 100 due: the scheduler alone (a handler that does nothing) and with the real consult
  handler (each item posts its thread root and its reminder through the outbox);
- the process RSS.
Then the same consults as timers: load every open window and ``loop.call_at`` one timer each
(startup time and RSS growth). Targets are printed with PASS/FAIL; nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.clock import FakeClock
from bot.features.consults.service import EXPIRE, KIND, REMIND, ConsultService, ConsultSettings
from bot.matrix.rendering import Fragment
from bot.ops.metrics import Metrics
from bot.scheduler import Scheduler
from bot.storage import Storage
from bot.storage.consults import NewConsult
from bot.storage.outbox import Outbox
from bot.storage.schedule import DueWork

WINDOW = timedelta(hours=72)
REMIND_AFTER = timedelta(hours=48)
SPREAD = timedelta(hours=47)          # opened over the last 47 h: no stage is due at "now"
DUE_PER_TICK = 100
TICK_TARGET_MS = 5.0
RSS_TARGET_MB = 100.0
RATIO_TARGET = 2.0
WARMUP_RUNS = 3                       # first ticks warm sqlite's page cache and Python's; not counted


@dataclass(frozen=True)
class SchedulerFigures:
    size: int
    fill_s: float
    startup_ms: float
    idle_tick_ms: float
    due_tick_scheduler_ms: float
    due_tick_consults_ms: float
    rss_mb: float


@dataclass(frozen=True)
class TimerFigures:
    size: int
    startup_ms: float
    rss_growth_mb: float


class OutboxOnlySender:
    """Sends nothing; keeps the outbox exactly as the real Sender does (begin, then complete)."""

    def __init__(self, outbox: Outbox, clock: FakeClock) -> None:
        self._outbox = outbox
        self._clock = clock
        self._count = 0

    async def send_once(self, key: str, room_id: str, message: Fragment, *, reply_to: str | None = None,
                        thread_root: str | None = None) -> str:
        entry = await self._outbox.begin(key, f"txn-{key}", room_id, self._clock.now())
        if entry.event_id is None:
            self._count += 1
            await self._outbox.complete(key, f"$bench{self._count}", self._clock.now())
        return entry.event_id or f"$bench{self._count}"


def rss_mb() -> float:
    """The current resident set (Linux), else the peak as getrusage knows it."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def new_consults(clock: FakeClock, size: int) -> Iterator[NewConsult]:
    now, step = clock.now(), SPREAD / size
    for number in range(size):
        opened = now - SPREAD + step * number
        yield NewConsult(f"@volunteer{number % 500}:example.org", "!contributors:example.org", f"$command{number}",
                         f"https://x.com/user{number % 9000}/status/{10**17 + number}",
                         "A user asks whether the new terms let Firefox sell their data; I'd link the FAQ.",
                         opened, opened + WINDOW)


async def fill(path: Path, clock: FakeClock, size: int) -> float:
    started = time.perf_counter()
    storage = await Storage.open(path)
    await storage.history.open_consults(new_consults(clock, size), KIND, [(REMIND, REMIND_AFTER), (EXPIRE, WINDOW)])
    await storage.close()
    return time.perf_counter() - started


def build_scheduler(storage: Storage, clock: FakeClock) -> Scheduler:
    """As ``bot.app`` builds it, plus a kind "bench" whose handler does nothing."""
    rooms = SimpleNamespace(contributors="!contributors:example.org", moderators="!moderators:example.org")
    service = ConsultService(storage, OutboxOnlySender(storage.outbox, clock), clock, rooms,
                             ConsultSettings(WINDOW, REMIND_AFTER))
    scheduler = Scheduler(storage.schedule, clock, Metrics(), timedelta(seconds=30))
    scheduler.handle(KIND, service.handle_due)

    async def nothing(work: DueWork) -> None:
        return None

    scheduler.handle("bench", nothing)
    return scheduler


async def median_tick_ms(scheduler: Scheduler, runs: int, prepare: Callable[[int], Awaitable[None]] | None = None,
                         expected: int = 0) -> float:
    times = []
    for run in range(WARMUP_RUNS + runs):
        if prepare is not None:
            await prepare(run)
        started = time.perf_counter()
        handled = await scheduler.tick()
        times.append((time.perf_counter() - started) * 1000)
        if handled != expected:
            raise RuntimeError(f"a tick handled {handled} items, expected {expected}")
    return statistics.median(times[WARMUP_RUNS:])


async def measure_scheduler(folder: Path, size: int, runs: int) -> SchedulerFigures:
    clock = FakeClock()
    path = folder / f"consults-{size}.db"
    fill_s = await fill(path, clock, size)
    gc.collect()

    started = time.perf_counter()
    storage = await Storage.open(path)
    scheduler = build_scheduler(storage, clock)
    await scheduler.tick()
    startup_ms = (time.perf_counter() - started) * 1000

    idle = await median_tick_ms(scheduler, runs)

    async def hundred_plain(run: int) -> None:
        for item in range(DUE_PER_TICK):
            await storage.schedule.plan("bench", f"{run}-{item}", "now", clock.now())

    plain = await median_tick_ms(scheduler, runs, hundred_plain, DUE_PER_TICK)

    async def hundred_reminders(run: int) -> None:
        first = run * DUE_PER_TICK + 1  # fresh, unanswered consults each run
        for consult_id in range(first, first + DUE_PER_TICK):
            await storage.schedule.plan(KIND, consult_id, REMIND, clock.now())

    consults = await median_tick_ms(scheduler, runs, hundred_reminders, DUE_PER_TICK)
    figures = SchedulerFigures(size, fill_s, startup_ms, idle, plain, consults, rss_mb())
    await storage.close()
    return figures


async def measure_timers(folder: Path, size: int) -> TimerFigures:
    """The design we did not choose: every open window as an in-memory timer, built at start."""
    gc.collect()
    before = rss_mb()
    loop = asyncio.get_running_loop()
    started = time.perf_counter()
    storage = await Storage.open(folder / f"consults-{size}.db")
    deadlines = await storage.history.open_consult_deadlines()
    offset = loop.time() - time.time()
    timers = [loop.call_at(closes.timestamp() + offset, print, consult_id) for consult_id, closes in deadlines]
    del deadlines
    startup_ms = (time.perf_counter() - started) * 1000
    gc.collect()
    growth = rss_mb() - before
    for timer in timers:
        timer.cancel()
    await storage.close()
    return TimerFigures(size, startup_ms, growth)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def report(schedulers: list[SchedulerFigures], timers: list[TimerFigures]) -> None:
    print("\nOne scheduler over the database")
    print(f"{'open consults':>14} {'fill s':>7} {'startup ms':>11} {'idle tick ms':>13} "
          f"{'100 due ms (sched)':>19} {'100 due ms (consult)':>21} {'RSS MB':>7}")
    for f in schedulers:
        print(f"{f.size:>14,} {f.fill_s:>7.1f} {f.startup_ms:>11.1f} {f.idle_tick_ms:>13.3f} "
              f"{f.due_tick_scheduler_ms:>19.2f} {f.due_tick_consults_ms:>21.2f} {f.rss_mb:>7.1f}")
    print("\nOne asyncio timer per consult (loop.call_at), for comparison")
    print(f"{'open consults':>14} {'startup ms':>11} {'RSS growth MB':>14}")
    for t in timers:
        print(f"{t.size:>14,} {t.startup_ms:>11.1f} {t.rss_growth_mb:>14.1f}")

    print("\nTargets")
    for f in schedulers:
        print(f"  {verdict(f.idle_tick_ms <= TICK_TARGET_MS)}  idle tick at {f.size:,}: {f.idle_tick_ms:.3f} ms "
              f"(target <= {TICK_TARGET_MS} ms)")
        print(f"  {verdict(f.due_tick_scheduler_ms <= TICK_TARGET_MS)}  tick with {DUE_PER_TICK} due at {f.size:,}, "
              f"scheduler only: {f.due_tick_scheduler_ms:.2f} ms (target <= {TICK_TARGET_MS} ms)")
        print(f"  {verdict(f.rss_mb <= RSS_TARGET_MB)}  RSS at {f.size:,}: {f.rss_mb:.1f} MB "
              f"(target <= {RSS_TARGET_MB:.0f} MB)")
    print(f"  info  tick with {DUE_PER_TICK} due through the consult handler (root + reminder via the outbox): "
          + ", ".join(f"{f.due_tick_consults_ms:.1f} ms at {f.size:,}" for f in schedulers))
    if len(schedulers) >= 2:
        small, large = schedulers[0], schedulers[-1]
        ratio = large.idle_tick_ms / small.idle_tick_ms
        print(f"  {verdict(ratio <= RATIO_TARGET)}  idle tick({large.size:,}) / tick({small.size:,}) = {ratio:.2f} "
              f"(target <= {RATIO_TARGET})")
        due_ratio = large.due_tick_scheduler_ms / small.due_tick_scheduler_ms
        print(f"  {verdict(due_ratio <= RATIO_TARGET)}  {DUE_PER_TICK}-due tick({large.size:,}) / "
              f"tick({small.size:,}) = {due_ratio:.2f} (target <= {RATIO_TARGET})")
    print(f"  info  load average at the end (other processes share the CPUs; per-statement cost rises with it): "
          f"{', '.join(f'{load:.2f}' for load in os.getloadavg())}")
    print(f"  info  peak RSS of the whole run (timers included): "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f} MB")


async def main(sizes: list[int], runs: int) -> None:
    with tempfile.TemporaryDirectory(prefix="fxhelp-bench-") as temp:
        folder = Path(temp)
        schedulers = []
        for size in sizes:
            print(f"filling and measuring {size:,} open consults ...", flush=True)
            schedulers.append(await measure_scheduler(folder, size, runs))
        timers = []
        for size in sizes:  # last, so their memory cannot inflate the scheduler's RSS figures
            print(f"timers for {size:,} open consults ...", flush=True)
            timers.append(await measure_timers(folder, size))
        report(schedulers, timers)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--runs", type=int, default=21)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.sizes, arguments.runs))
