"""Figures of settled periods, kept so the dashboard does not count the same old weeks on every load.

An entry is what the computation gave for ``(kind, start, stop)``; it is read only from its
``valid_from`` on, and the triggers of migration 0016 delete it when a row of its period is written
(in that write's transaction). Callers compute and store inside one transaction
(``Database.transaction`` is ``BEGIN IMMEDIATE``), so no write can fall between the two.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

from bot.storage.database import Database

Key = tuple[float, float]  # (start, stop) as stored timestamps


class FigureCache:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, kind: str, keys: Iterable[Key], now: float) -> dict[Key, Any]:
        wanted = set(keys)
        if not wanted:
            return {}
        rows = await self._db.fetch_all(
            "SELECT start, stop, figures FROM figure_cache WHERE kind = ? AND start >= ? AND stop <= ? "
            "AND valid_from <= ?",
            (kind, min(start for start, _ in wanted), max(stop for _, stop in wanted), now))
        return {(r["start"], r["stop"]): json.loads(r["figures"]) for r in rows if (r["start"], r["stop"]) in wanted}

    async def put(self, kind: str, entries: Iterable[tuple[Key, float, Any]]) -> None:
        """Store ``((start, stop), valid_from, figures)``; to be called in the computing transaction."""
        await self._db.execute_many(
            "INSERT OR REPLACE INTO figure_cache (kind, start, stop, valid_from, figures) VALUES (?, ?, ?, ?, ?)",
            [(kind, start, stop, valid_from, json.dumps(figures)) for (start, stop), valid_from, figures in entries])

    async def forget_before(self, stop: float) -> int:
        """Entries of periods that ended before ``stop`` (retention: nothing asks for them any more)."""
        return await self._db.execute_changes("DELETE FROM figure_cache WHERE stop < ?", (stop,))


WEEK = 7 * 86400.0
_A_MONDAY = 4 * 86400.0  # 1970-01-05 00:00 UTC
EVER = 1e15              # an open end, as a timestamp

# Counts per name (helper) for each of a list of [start, stop) ranges of timestamps.
RangeCounts = Callable[[Sequence[Key]], Awaitable[list[dict[str, int]]]]


def week_floor(moment: float) -> float:
    """The Monday 00:00 UTC on or before ``moment`` (the weeks of the dashboard, ISO weeks)."""
    return moment - (moment - _A_MONDAY) % WEEK


async def counts_since(db: Database, kind: str, since: float, latest: float | None,
                       count: RangeCounts) -> Counter[str]:
    """Per name, the count of ``[since, ever)``, split into whole weeks (kept, as their counts
    depend only on their rows) and the two ends (computed each time): the part of a week after
    ``since``, and the week of the ``latest`` row on. Counts add up, so the sum is the count."""
    if latest is None:
        return Counter()
    first, last = week_floor(since), week_floor(latest)
    if first < since:
        first += WEEK
    if first >= last:
        return Counter((await count([(since, EVER)]))[0])
    weeks = [(first + WEEK * i, first + WEEK * (i + 1)) for i in range(round((last - first) / WEEK))]
    cache = FigureCache(db)
    kept = await cache.get(kind, weeks, EVER)
    missing = [week for week in weeks if week not in kept]
    if missing and not db.in_transaction:
        async with db.transaction():
            computed = await count(missing)
            await cache.put(kind, [(week, week[0], counts) for week, counts in zip(missing, computed, strict=True)])
        kept.update(zip(missing, computed, strict=True))
    elif missing:
        kept.update(zip(missing, await count(missing), strict=True))
    ends = [(since, first), (last, EVER)] if first > since else [(last, EVER)]
    total: Counter[str] = Counter()
    for counts in [*kept.values(), *await count(ends)]:
        total.update(counts)
    return total


async def first_answers_in(db: Database, table: str, ranges: Sequence[Key], *,
                           extra_condition: str = "") -> list[dict[str, int]]:
    """For each ``[start, stop)`` range, the first answers given in it, per helper, of ``table``'s rows
    (consults or SUMO questions: both keep ``first_answer_at`` and ``first_answer_by``)."""
    values = ", ".join(f"({n}, ?, ?)" for n in range(len(ranges)))
    rows = await db.fetch_all(
        f"WITH ranges (n, start, stop) AS (VALUES {values}) "
        "SELECT r.n AS n, t.first_answer_by AS helper, COUNT(*) AS answers FROM ranges AS r "
        f"JOIN {table} AS t ON t.first_answer_at >= r.start AND t.first_answer_at < r.stop "
        f"WHERE t.first_answer_by IS NOT NULL {extra_condition} GROUP BY r.n, t.first_answer_by",
        [bound for period in ranges for bound in period])
    counts: list[dict[str, int]] = [{} for _ in ranges]
    for row in rows:
        counts[row["n"]][row["helper"]] = int(row["answers"])
    return counts
