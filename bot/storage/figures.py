"""Aggregates over periods, computed by SQLite: what !stats, the weekly digest and the dashboard show.

One query per kind gives the figures of every period at once (a period is ``[start, stop)``, ``stop``
``None`` meaning open-ended), so twelve weeks over a hundred thousand rows stay a few milliseconds.
The rules are those of ``bot.features.consults.stats`` and ``QuestionStore.stats`` (the unit tests
check them against each other on random rows, to the microsecond); medians are taken as
``statistics.median`` takes them: the middle value, or the mean of the two middle ones.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.clock import from_timestamp, to_timestamp
from bot.storage.database import Database
from bot.storage.figure_cache import FigureCache, Key

Period = tuple[datetime, datetime | None]


@dataclass(frozen=True)
class ConsultCounts:
    opened: int = 0
    answered_in_window: int = 0
    expired: int = 0
    answered_late: int = 0
    waiting: int = 0
    median_seconds: float | None = None


@dataclass(frozen=True)
class _DayCounts:
    """A consult period's counts without its median: they add up over the period's days."""
    opened: int = 0
    answered_in_window: int = 0
    expired: int = 0
    answered_late: int = 0
    waiting: int = 0
    answered: int = 0

    @classmethod
    def total(cls, parts: Sequence[_DayCounts]) -> _DayCounts:
        return cls(*(sum(column) for column in zip(*(dataclasses.astuple(p) for p in parts), strict=True)))


@dataclass(frozen=True)
class QuestionCounts:
    tracked: int = 0
    answered_in_window: int = 0
    expired: int = 0
    left: int = 0
    waiting: int = 0
    median_seconds: float | None = None


@dataclass(frozen=True)
class WaitingConsult:
    id: int
    requester: str
    room_id: str
    thread_event_id: str | None
    command_event_id: str
    tweet_url: str
    opened_at: datetime
    window_closes_at: datetime


@dataclass(frozen=True)
class WaitingQuestion:
    id: int
    locale: str
    title: str
    created_at: datetime
    deadline_at: datetime
    taken_by: str | None


@dataclass(frozen=True)
class ActiveEscalation:
    id: int
    reason: str
    state: str
    description: str
    link: str | None
    created_at: datetime
    acknowledged_by: str | None
    reports: int


_CONSULT_OUTCOMES = """
    COUNT(*) AS opened,
    COALESCE(SUM(c.first_answer_at IS NOT NULL AND c.first_answer_at <= c.window_closes_at), 0) AS answered_in_window,
    COALESCE(SUM({expired}), 0) AS expired,
    COALESCE(SUM(({expired}) AND c.first_answer_at IS NOT NULL), 0) AS answered_late,
    COALESCE(SUM(c.first_answer_at IS NULL AND c.state != 'done' AND :now < c.window_closes_at), 0) AS waiting
""".format(expired="c.window_closes_at <= :now AND NOT (c.first_answer_at IS NOT NULL AND "
                   "c.first_answer_at <= c.window_closes_at) AND NOT (c.closed_at IS NOT NULL AND "
                   "c.closed_at < c.window_closes_at)")


class Figures:
    def __init__(self, db: Database) -> None:
        self._db = db
        self.cache = FigureCache(db)

    async def consults(self, periods: Sequence[Period], now: datetime) -> list[ConsultCounts]:
        """The counts add up over the days of a period (UTC midnights cut it; ``_days``), and a
        day's counts depend on ``now`` only while one of its consults' windows is open: once the
        day is over and its last window closed, they are kept (``FigureCache``), and days shared by
        several periods (the 7-day card, this week and the last) are counted once. Medians do not
        add up: they are taken over the whole period (``_consult_medians``)."""
        if not periods:
            raise ValueError("at least one period")
        moment = to_timestamp(now)
        keys = [_key(period) for period in periods]
        days = [_days(key, moment) for key in keys]
        unique = list(dict.fromkeys(day for of_period in days for day in of_period))
        counts = dict(zip(unique, await self._settled("consults", unique, moment,
                                                      lambda todo: self._day_counts(todo, moment), _DayCounts),
                          strict=True))
        totals = [_DayCounts.total([counts[day] for day in of_period]) for of_period in days]
        _, params = _periods(keys)
        medians = await self._consult_medians(keys, params, {n: t.answered for n, t in enumerate(totals)}, moment)
        return [ConsultCounts(t.opened, t.answered_in_window, t.expired, t.answered_late, t.waiting, medians.get(n))
                for n, t in enumerate(totals)]

    async def questions(self, periods: Sequence[Period], now: datetime) -> list[QuestionCounts]:
        """No figure of a question depends on ``now``: a period that is over changes only by writes."""
        if not periods:
            raise ValueError("at least one period")
        return await self._settled("questions", [_key(period) for period in periods], to_timestamp(now),
                                   self._questions, QuestionCounts)

    async def _settled(self, kind: str, keys: Sequence[Key], now: float,
                       compute: Callable[[Sequence[Key]], Awaitable[list[tuple[Any, float]]]],
                       build: Callable[..., Any]) -> list[Any]:
        """Each period's figures, from the cache where kept; ``compute`` gives (figures, valid from)
        per period, and those valid by ``now`` are kept, computed again in the transaction that
        stores them (a write between a computation and its storing would leave it stale)."""
        found = {key: build(*value) for key, value in (await self.cache.get(kind, keys, now)).items()}
        todo = [key for key in keys if key not in found]
        if todo:
            computed = dict(zip(todo, await compute(todo), strict=True))
            for key, (figures, _) in computed.items():
                found[key] = figures
            settled = [key for key, (_, valid_from) in computed.items() if valid_from <= now]
            if settled and not self._db.in_transaction:
                async with self._db.transaction():
                    again = await compute(settled)
                    await self.cache.put(kind, [(key, valid_from, dataclasses.astuple(figures))
                                                for key, (figures, valid_from) in zip(settled, again, strict=True)
                                                if valid_from <= now])
                for key, (figures, _) in zip(settled, again, strict=True):
                    found[key] = figures
        return [found[key] for key in keys]

    async def _day_counts(self, keys: Sequence[Key], now: float) -> list[tuple[_DayCounts, float]]:
        values, params = _periods(keys)
        rows = await self._db.fetch_all(
            f"WITH periods (n, start, stop) AS (VALUES {values}) "
            f"SELECT p.n AS n, {_CONSULT_OUTCOMES}, COALESCE(SUM(c.first_answer_at IS NOT NULL), 0) AS answered, "
            "MAX(c.window_closes_at) AS last_close "
            "FROM periods AS p JOIN consults AS c ON c.opened_at >= p.start AND c.opened_at < p.stop GROUP BY p.n",
            {**params, "now": now})
        found = {r["n"]: r for r in rows}
        return [(_DayCounts(*_counts(found[n], 6)) if n in found else _DayCounts(),
                 max(stop, found[n]["last_close"] if n in found else 0.0))
                for n, (_, stop) in enumerate(keys)]

    async def _consult_medians(self, keys: Sequence[Key], params: dict[str, Any], sizes: dict[int, int],
                               now: float) -> dict[int, float]:
        """A median needs only the answered consults and their waits, not ``now``: a period that is
        over keeps its median (with how many answers it is of) even while some windows are open."""
        past = {n: keys[n] for n, k in sizes.items() if k > 0 and keys[n][1] <= now}
        kept = await self.cache.get("consult_medians", past.values(), now)
        medians = {n: kept[key][0] for n, key in past.items() if key in kept and kept[key][1] == sizes[n]}
        medians.update(await self._medians_of_consults({n: k for n, k in sizes.items() if n not in medians}, params))
        todo = [n for n in past if past[n] not in kept]
        if not todo:
            return medians
        if self._db.in_transaction:  # the caller's transaction: nothing can be written in between
            await self.cache.put("consult_medians", [(past[n], past[n][1], [medians[n], sizes[n]]) for n in todo])
            return medians
        async with self._db.transaction():
            values, _ = _periods([keys[n] for n in todo])
            rows = await self._db.fetch_all(
                f"WITH periods (n, start, stop) AS (VALUES {values}) SELECT p.n AS n, COUNT(*) AS k FROM periods AS p "
                "JOIN consults AS c ON c.opened_at >= p.start AND c.opened_at < p.stop "
                "AND c.first_answer_at IS NOT NULL GROUP BY p.n",
                {f"{side}{i}": params[f"{side}{n}"] for i, n in enumerate(todo) for side in "se"})
            counts = {todo[r["n"]]: int(r["k"]) for r in rows}
            again = await self._medians_of_consults(counts, params)
            await self.cache.put("consult_medians", [(past[n], past[n][1], [again[n], counts[n]])
                                                     for n in todo if n in again])
        return medians

    async def _medians_of_consults(self, sizes: dict[int, int], params: dict[str, Any]) -> dict[int, float]:
        return await self._medians("consults AS c", "c.opened_at", _microseconds_between("c.opened_at", "c.first_answer_at"),
                                   "c.first_answer_at IS NOT NULL", sizes, params)

    async def _questions(self, keys: Sequence[Key]) -> list[tuple[QuestionCounts, float]]:
        values, params = _periods(keys)
        rows = await self._db.fetch_all(
            f"WITH periods (n, start, stop) AS (VALUES {values}) "
            "SELECT p.n AS n, COUNT(*) AS tracked, SUM(q.state = 'answered'), SUM(q.state = 'expired'), "
            "SUM(q.state = 'left'), SUM(q.state = 'open'), SUM(q.first_answer_at IS NOT NULL) AS answered "
            "FROM periods AS p JOIN sumo_questions AS q ON q.created_at >= p.start AND q.created_at < p.stop "
            "GROUP BY p.n", params)
        found = {r["n"]: r for r in rows}
        medians = await self._medians(
            "sumo_questions AS q", "q.created_at", "q.first_answer_at - q.created_at", "q.first_answer_at IS NOT NULL",
            {n: int(r["answered"] or 0) for n, r in found.items()}, params)
        return [(QuestionCounts(*_counts(found[n], 5), medians.get(n)) if n in found else QuestionCounts(), stop)
                for n, (_, stop) in enumerate(keys)]

    async def escalations_by_reason(self, periods: Sequence[Period]) -> list[dict[str, int]]:
        values, params = _periods([_key(period) for period in periods])
        rows = await self._db.fetch_all(
            f"WITH periods (n, start, stop) AS (VALUES {values}) "
            "SELECT p.n AS n, e.reason AS reason, COUNT(*) AS k FROM periods AS p JOIN escalations AS e "
            "ON e.created_at >= p.start AND e.created_at < p.stop GROUP BY p.n, e.reason",
            params)
        counts: list[dict[str, int]] = [{} for _ in periods]
        for row in rows:
            counts[row["n"]][row["reason"]] = int(row["k"])
        return counts

    async def _medians(self, table: str, moment: str, wait: str, answered: str, sizes: dict[int, int],
                       params: dict[str, Any]) -> dict[int, float]:
        """Per period with ``sizes[n]`` answered rows: the middle one or two waits, found by a bounded
        sort (ORDER BY … LIMIT 1 or 2 OFFSET the middle), cheaper than ranking every row."""
        parts = [
            f"SELECT {n} AS n, (MIN(w) + MAX(w)) / 2.0 AS m FROM (SELECT {wait} AS w FROM {table} "
            f"WHERE {moment} >= :s{n} AND {moment} < :e{n} AND {answered} ORDER BY w LIMIT {2 - k % 2} OFFSET {(k - 1) // 2})"
            for n, k in sorted(sizes.items()) if k > 0
        ]
        if not parts:
            return {}
        rows = await self._db.fetch_all(" UNION ALL ".join(parts), params)
        return {int(r["n"]): float(r["m"]) for r in rows}

    # ---- the queue -------------------------------------------------------------------------------

    async def open_consults(self) -> int:
        """Consults without an answer yet and not closed with !done, inside their window or past it."""
        # The planner prefers the wide covering index (a scan of every consult) to this partial one.
        row = await self._db.fetch_one("SELECT COUNT(*) FROM consults INDEXED BY consults_waiting "
                                       "WHERE first_answer_at IS NULL AND state != 'done'")
        return int(row[0]) if row else 0

    async def waiting_consults(self, now: datetime, limit: int) -> tuple[list[WaitingConsult], int]:
        """Unanswered consults inside their window, closest to its end first; and how many wait in all."""
        condition = "first_answer_at IS NULL AND state != 'done' AND window_closes_at > ?"
        rows = await self._db.fetch_all(
            "SELECT id, requester, room_id, thread_event_id, command_event_id, tweet_url, opened_at, window_closes_at "
            f"FROM consults WHERE {condition} ORDER BY window_closes_at, id LIMIT ?", (to_timestamp(now), limit))
        total = await self._db.fetch_one(f"SELECT COUNT(*) FROM consults WHERE {condition}", (to_timestamp(now),))
        return [WaitingConsult(r["id"], r["requester"], r["room_id"], r["thread_event_id"], r["command_event_id"],
                               r["tweet_url"], from_timestamp(r["opened_at"]), from_timestamp(r["window_closes_at"]))
                for r in rows], int(total[0]) if total else 0

    async def consults_closing_between(self, start: datetime, stop: datetime) -> int:
        row = await self._db.fetch_one(
            "SELECT COUNT(*) FROM consults WHERE first_answer_at IS NULL AND state != 'done' "
            "AND window_closes_at > ? AND window_closes_at <= ?", (to_timestamp(start), to_timestamp(stop)))
        return int(row[0]) if row else 0

    async def waiting_questions(self, now: datetime, limit: int) -> list[WaitingQuestion]:
        rows = await self._db.fetch_all(
            "SELECT id, locale, title, created_at, deadline_at, taken_by, taken_until FROM sumo_questions "
            "WHERE state = 'open' AND deadline_at > ? ORDER BY deadline_at, id LIMIT ?", (to_timestamp(now), limit))
        return [WaitingQuestion(int(r["id"]), r["locale"], r["title"], from_timestamp(r["created_at"]),
                                from_timestamp(r["deadline_at"]),
                                r["taken_by"] if r["taken_until"] is not None and r["taken_until"] > to_timestamp(now)
                                else None)
                for r in rows]

    async def questions_closing_between(self, start: datetime, stop: datetime) -> int:
        row = await self._db.fetch_one(
            "SELECT COUNT(*) FROM sumo_questions WHERE state = 'open' AND deadline_at > ? AND deadline_at <= ?",
            (to_timestamp(start), to_timestamp(stop)))
        return int(row[0]) if row else 0

    async def unheld_escalations(self) -> int:
        """Open escalations nobody has taken (acknowledged) yet."""
        row = await self._db.fetch_one("SELECT COUNT(*) FROM escalations WHERE state = 'open'")
        return int(row[0]) if row else 0

    async def active_escalations(self, limit: int) -> tuple[list[ActiveEscalation], int]:
        """Open and acknowledged escalations, oldest first; and how many there are in all."""
        rows = await self._db.fetch_all(
            "SELECT e.id, e.reason, e.state, e.description, e.link, e.created_at, e.acknowledged_by, "
            "(SELECT COUNT(*) FROM escalation_reports r WHERE r.escalation_id = e.id) AS reports "
            "FROM escalations e WHERE e.state IN ('open', 'acknowledged') ORDER BY e.created_at, e.id LIMIT ?",
            (limit,))
        total = await self._db.fetch_one("SELECT COUNT(*) FROM escalations WHERE state IN ('open', 'acknowledged')")
        return [ActiveEscalation(r["id"], r["reason"], r["state"], r["description"], r["link"],
                                 from_timestamp(r["created_at"]), r["acknowledged_by"], int(r["reports"]))
                for r in rows], int(total[0]) if total else 0


def _microseconds_between(start: str, end: str) -> str:
    """Seconds between two stored timestamps as the rows' datetimes give them: each rounded to the
    microsecond first, as ``datetime.fromtimestamp`` rounds (its fraction times 10**6)."""
    def whole(column: str) -> str:
        return f"CAST({column} AS INTEGER)"
    return (f"(({whole(end)} - {whole(start)}) * 1000000 + ROUND(({end} - {whole(end)}) * 1000000) "
            f"- ROUND(({start} - {whole(start)}) * 1000000)) / 1000000.0")


# An open-ended period ends here, so both ends of every period can bound an index range.
_FOREVER = 1e15


def _periods(keys: Sequence[Key]) -> tuple[str, dict[str, Any]]:
    if not keys:
        raise ValueError("at least one period")
    params: dict[str, Any] = {}
    values = []
    for n, (start, stop) in enumerate(keys):
        params[f"s{n}"], params[f"e{n}"] = start, stop
        values.append(f"({n}, :s{n}, :e{n})")
    return ", ".join(values), params


DAY = 86400.0
# A longer period is counted whole: its days would make a long statement, and !stats 90 is rare.
MOST_DAYS = 16


def _days(key: Key, now: float) -> list[Key]:
    """The period cut at the UTC midnights inside it up to today's; the last piece runs to its end."""
    start, stop = key
    cuts = []
    midnight = start - start % DAY + DAY
    today = now - now % DAY
    while midnight <= today and midnight < stop:
        cuts.append(midnight)
        if len(cuts) > MOST_DAYS:
            return [key]
        midnight += DAY
    bounds = [start, *cuts, stop]
    return list(zip(bounds, bounds[1:], strict=False))


def _key(period: Period) -> Key:
    start, stop = period
    return to_timestamp(start), _FOREVER if stop is None else to_timestamp(stop)


def _counts(row: Any, how_many: int) -> list[int]:
    return [int(row[i + 1] or 0) for i in range(how_many)]
