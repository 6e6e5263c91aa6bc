"""How late due work fires: the scheduler's loop against the old tick loop and plain asyncio timers.

    .venv/bin/python bench/lateness.py [--sizes 100000 1000000] [--count 60] [--spacing 1.0]

For each size, a temp sqlite file is filled with open consults (their reminders and expiries all
ahead, as in bench/scheduler_bench.py). Then ``--count`` consults get a reminder due ``--spacing``
seconds apart, starting two seconds out, and each is delivered by the real ConsultService (thread
root and reminder through the outbox) on the real clock. Lateness is the moment the handler starts
minus the reminder's due time. Three ways, in the same run and on the same file:
- the scheduler's loop (``Scheduler.run``): sleeps until the earliest due time, capped by the tick;
- the old loop: one pass, then a sleep of one whole tick (30 s), as before issue 12;
- one ``loop.call_at`` timer per reminder, with no database (the floor), run beside the first.
Targets are printed with PASS/FAIL (max lateness <= 100 ms at every size); nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.scheduler_bench import OutboxOnlySender, fill
from bot.clock import FakeClock, SystemClock
from bot.features.consults.service import KIND, REMIND, ConsultService, ConsultSettings
from bot.ops.metrics import Metrics
from bot.scheduler import Scheduler
from bot.storage import Storage
from bot.storage.schedule import DueWork

TICK = timedelta(seconds=30)
LEAD = timedelta(seconds=2)  # the first reminder is due this far out, so planning is over before it
TARGET_MS = 100.0


@dataclass(frozen=True)
class Lateness:
    size: int
    way: str
    samples_ms: list[float]

    def quantile(self, q: float) -> float:
        ordered = sorted(self.samples_ms)
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class Recording:
    """The real consult handler, timed: lateness of each reminder, and a signal when all are in."""

    def __init__(self, handler: Callable[[DueWork], Awaitable[None]], clock: SystemClock, expected: int) -> None:
        self._handler = handler
        self._clock = clock
        self.expected = expected
        self.samples_ms: list[float] = []
        self.all_in = asyncio.Event()

    async def __call__(self, work: DueWork) -> None:
        if work.stage == REMIND:
            self.samples_ms.append((self._clock.now() - work.due_at).total_seconds() * 1000)
            if len(self.samples_ms) >= self.expected:
                self.all_in.set()
        await self._handler(work)


def build(storage: Storage, clock: SystemClock, expected: int) -> tuple[Scheduler, Recording]:
    rooms = SimpleNamespace(contributors="!contributors:example.org", moderators="!moderators:example.org")
    service = ConsultService(storage, OutboxOnlySender(storage.outbox, clock), clock, rooms,  # type: ignore[arg-type]
                             ConsultSettings(timedelta(hours=72), timedelta(hours=48)))
    recording = Recording(service.handle_due, clock, expected)
    scheduler = Scheduler(storage.schedule, clock, Metrics(), TICK)
    scheduler.handle(KIND, recording)
    return scheduler, recording


async def plan_reminders(storage: Storage, first_id: int, count: int, spacing: float, start: datetime) -> list[datetime]:
    dues = [start + timedelta(seconds=spacing * n) for n in range(count)]
    for offset, due in enumerate(dues):
        await storage.schedule.plan(KIND, first_id + offset, REMIND, due)
    return dues


async def old_tick_loop(scheduler: Scheduler, stop: asyncio.Event) -> None:
    """The loop before issue 12: a pass, then a whole tick of sleep, whatever is due meanwhile."""
    while not stop.is_set():
        await scheduler.tick()
        try:
            await asyncio.wait_for(stop.wait(), timeout=TICK.total_seconds())
        except TimeoutError:
            pass


async def run_way(storage: Storage, way: str, first_id: int, count: int, spacing: float) -> list[Lateness]:
    clock = SystemClock()
    scheduler, recording = build(storage, clock, count)
    stop = asyncio.Event()
    loop_task = asyncio.create_task(scheduler.run(stop) if way == "scheduler" else old_tick_loop(scheduler, stop))
    await asyncio.sleep(0.5)  # the loop is asleep in its tick when the work is planned, as in production
    dues = await plan_reminders(storage, first_id, count, spacing, clock.now() + LEAD)
    timers: list[float] = []
    if way == "scheduler":  # the floor, beside it on the same event loop
        loop = asyncio.get_running_loop()
        offset = loop.time() - time.time()
        for due in dues:
            loop.call_at(due.timestamp() + offset, lambda due=due: timers.append((time.time() - due.timestamp()) * 1000))
    await asyncio.wait_for(recording.all_in.wait(), timeout=LEAD.total_seconds() + spacing * count + 3 * TICK.total_seconds())
    stop.set()
    await loop_task
    results = [Lateness(0, way, recording.samples_ms)]
    if timers:
        results.append(Lateness(0, "asyncio timer per item", timers))
    return results


async def measure(folder: Path, size: int, count: int, spacing: float) -> list[Lateness]:
    path = folder / f"consults-{size}.db"
    print(f"filling {size:,} open consults ...", flush=True)
    fill_s = await fill(path, FakeClock(SystemClock().now()), size)
    print(f"  filled in {fill_s:.1f} s; {count} reminders {spacing} s apart, three ways ...", flush=True)
    storage = await Storage.open(path)
    try:
        found = []
        for n, way in enumerate(("scheduler", "old tick (30 s)")):
            print(f"  {way} ...", flush=True)
            for result in await run_way(storage, way, 1 + n * count, count, spacing):
                found.append(Lateness(size, result.way, result.samples_ms))
    finally:
        await storage.close()
    return found


def report(results: list[Lateness]) -> None:
    print("\nLateness of due reminders (handler start − due time), ms")
    print(f"{'open consults':>14}  {'way':<24} {'n':>4} {'p50':>9} {'p95':>9} {'max':>9}")
    for r in results:
        print(f"{r.size:>14,}  {r.way:<24} {len(r.samples_ms):>4} {statistics.median(r.samples_ms):>9.1f} "
              f"{r.quantile(0.95):>9.1f} {max(r.samples_ms):>9.1f}")
    print("\nTargets")
    by = {(r.size, r.way): r for r in results}
    for size in sorted({r.size for r in results}):
        new, old, timer = by[(size, "scheduler")], by[(size, "old tick (30 s)")], by[(size, "asyncio timer per item")]
        worst = max(new.samples_ms)
        print(f"  {'PASS' if worst <= TARGET_MS else 'FAIL'}  max lateness at {size:,}: {worst:.1f} ms "
              f"(target <= {TARGET_MS:.0f} ms)")
        print(f"  info  at {size:,}: old tick p50 / scheduler p50 = {statistics.median(old.samples_ms):.0f} / "
              f"{statistics.median(new.samples_ms):.1f} ms (x{statistics.median(old.samples_ms) / max(statistics.median(new.samples_ms), 0.001):.0f}); "
              f"scheduler p50 − timer p50 = {statistics.median(new.samples_ms) - statistics.median(timer.samples_ms):.1f} ms")
    print(f"  info  load average at the end (other processes share the CPUs): "
          f"{', '.join(f'{load:.2f}' for load in os.getloadavg())}")


async def main(sizes: list[int], count: int, spacing: float) -> None:
    with tempfile.TemporaryDirectory(prefix="fxhelp-lateness-") as temp:
        results = []
        for size in sizes:
            results.extend(await measure(Path(temp), size, count, spacing))
        report(results)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--count", type=int, default=60)
    parser.add_argument("--spacing", type=float, default=1.0)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.sizes, arguments.count, arguments.spacing))
