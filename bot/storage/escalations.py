"""Escalations and who reported them. Every statement here is one small step; the rules that combine
them (join a report to an open escalation, plan the re-ping with the insert) live in
``bot.features.escalations.service``, inside ``transaction()``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.clock import from_optional_timestamp, from_timestamp, to_timestamp
from bot.storage.database import Database

# The same lists as the CHECK constraints of migration 0004.
REASONS = ("trending", "no-kb", "paid", "brand", "other")
OPEN, ACKNOWLEDGED, RESOLVED = "open", "acknowledged", "resolved"
STATES = (OPEN, ACKNOWLEDGED, RESOLVED)
ACTIVE_STATES = (OPEN, ACKNOWLEDGED)


@dataclass(frozen=True)
class NewEscalation:
    requester: str
    room_id: str
    command_event_id: str
    thread_root: str | None
    description: str
    link: str | None
    link_key: str | None
    reason: str
    created_at: datetime


@dataclass(frozen=True)
class Escalation(NewEscalation):
    """A stored escalation: what was reported, plus what became of it."""

    id: int
    state: str
    reports: int
    moderators_event_id: str | None = None
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    resolved_by: str | None = None
    resolved_at: datetime | None = None
    resolution_note: str | None = None


@dataclass(frozen=True)
class Report:
    """One person's report of an escalation, and the command to answer them on."""

    escalation_id: int
    reporter: str
    room_id: str
    command_event_id: str
    thread_root: str | None
    reported_at: datetime


_SELECT_ESCALATION = (
    "SELECT e.*, (SELECT COUNT(*) FROM escalation_reports r WHERE r.escalation_id = e.id) AS reports "
    "FROM escalations e "
)


class EscalationStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        async with self._db.transaction():
            yield

    # ---- reading ---------------------------------------------------------------------------------

    async def get(self, escalation_id: int) -> Escalation | None:
        row = await self._db.fetch_one(_SELECT_ESCALATION + "WHERE e.id = ?", (escalation_id,))
        return None if row is None else _escalation(row)

    async def find_by_command(self, command_event_id: str) -> Escalation | None:
        """The escalation a command already opened or joined (a replayed command finds it here)."""
        row = await self._db.fetch_one(
            _SELECT_ESCALATION + "WHERE e.id = (SELECT escalation_id FROM escalation_reports "
            "WHERE command_event_id = ?)",
            (command_event_id,),
        )
        return None if row is None else _escalation(row)

    async def find_by_moderators_event(self, event_id: str) -> Escalation | None:
        """The escalation whose ping in the moderators' room is ``event_id``."""
        row = await self._db.fetch_one(_SELECT_ESCALATION + "WHERE e.moderators_event_id = ?", (event_id,))
        return None if row is None else _escalation(row)

    async def find_active_by_link(self, link_key: str) -> Escalation | None:
        row = await self._db.fetch_one(
            _SELECT_ESCALATION + "WHERE e.link_key = ? AND e.state IN (?, ?) ORDER BY e.id DESC LIMIT 1",
            (link_key, *ACTIVE_STATES),
        )
        return None if row is None else _escalation(row)

    async def reports(self, escalation_id: int) -> list[Report]:
        rows = await self._db.fetch_all(
            "SELECT * FROM escalation_reports WHERE escalation_id = ? ORDER BY reported_at, reporter",
            (escalation_id,),
        )
        return [_report(row) for row in rows]

    async def newest(self, states: Sequence[str], limit: int) -> list[Escalation]:
        rows = await self._db.fetch_all(
            _SELECT_ESCALATION + f"WHERE e.state IN ({_placeholders(states)}) ORDER BY e.id DESC LIMIT ?",
            (*states, limit),
        )
        return [_escalation(row) for row in rows]

    async def count(self, states: Sequence[str]) -> int:
        row = await self._db.fetch_one(
            f"SELECT COUNT(*) FROM escalations WHERE state IN ({_placeholders(states)})", tuple(states)
        )
        return int(row[0]) if row is not None else 0

    async def counts_by_reason(self, since: datetime) -> dict[str, int]:
        """Escalations opened since ``since``, by reason; every reason is present (0 when none)."""
        return await self._counts_by("reason", REASONS, since)

    async def counts_by_state(self, since: datetime) -> dict[str, int]:
        """Escalations opened since ``since``, by their state now; every state is present."""
        return await self._counts_by("state", STATES, since)

    async def _counts_by(self, column: str, keys: Sequence[str], since: datetime) -> dict[str, int]:
        assert column in ("reason", "state")  # a column name cannot be a bound parameter
        rows = await self._db.fetch_all(
            f"SELECT {column} AS key, COUNT(*) AS n FROM escalations WHERE created_at >= ? GROUP BY {column}",
            (to_timestamp(since),),
        )
        counts = dict.fromkeys(keys, 0)
        counts.update({row["key"]: int(row["n"]) for row in rows})
        return counts

    # ---- writing ---------------------------------------------------------------------------------

    async def insert(self, new: NewEscalation) -> Escalation:
        """A new open escalation, with its requester as the first report."""
        escalation_id = await self._db.execute(
            "INSERT INTO escalations (requester, room_id, command_event_id, thread_root, description, link, "
            "link_key, reason, state, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (new.requester, new.room_id, new.command_event_id, new.thread_root, new.description, new.link,
             new.link_key, new.reason, OPEN, to_timestamp(new.created_at)),
        )
        await self.add_report(Report(escalation_id, new.requester, new.room_id, new.command_event_id,
                                     new.thread_root, new.created_at))
        escalation = await self.get(escalation_id)
        assert escalation is not None
        return escalation

    async def add_report(self, report: Report) -> bool:
        """Record a report; False when this person had already reported this escalation."""
        changed = await self._db.execute_changes(
            "INSERT OR IGNORE INTO escalation_reports (escalation_id, reporter, room_id, command_event_id, "
            "thread_root, reported_at) VALUES (?, ?, ?, ?, ?, ?)",
            (report.escalation_id, report.reporter, report.room_id, report.command_event_id, report.thread_root,
             to_timestamp(report.reported_at)),
        )
        return changed > 0

    async def set_moderators_event(self, escalation_id: int, event_id: str) -> None:
        """Remember the moderators' notice, so later news about #N can reply to it."""
        await self._db.execute(
            "UPDATE escalations SET moderators_event_id = ? WHERE id = ? AND moderators_event_id IS NULL",
            (event_id, escalation_id),
        )

    async def acknowledge(self, escalation_id: int, moderator: str, at: datetime) -> bool:
        """open → acknowledged; False when it was not open."""
        changed = await self._db.execute_changes(
            "UPDATE escalations SET state = ?, acknowledged_by = ?, acknowledged_at = ? WHERE id = ? AND state = ?",
            (ACKNOWLEDGED, moderator, to_timestamp(at), escalation_id, OPEN),
        )
        return changed > 0

    async def resolve(self, escalation_id: int, moderator: str, at: datetime, note: str | None) -> bool:
        """open or acknowledged → resolved; False when it was already resolved."""
        changed = await self._db.execute_changes(
            "UPDATE escalations SET state = ?, resolved_by = ?, resolved_at = ?, resolution_note = ? "
            "WHERE id = ? AND state IN (?, ?)",
            (RESOLVED, moderator, to_timestamp(at), note, escalation_id, *ACTIVE_STATES),
        )
        return changed > 0


def _placeholders(values: Sequence[Any]) -> str:
    return ", ".join("?" for _ in values)



def _escalation(row: Any) -> Escalation:
    return Escalation(
        id=row["id"], requester=row["requester"], room_id=row["room_id"],
        command_event_id=row["command_event_id"], thread_root=row["thread_root"],
        description=row["description"], link=row["link"], link_key=row["link_key"], reason=row["reason"],
        state=row["state"], created_at=from_timestamp(row["created_at"]), reports=int(row["reports"]),
        moderators_event_id=row["moderators_event_id"],
        acknowledged_by=row["acknowledged_by"], acknowledged_at=from_optional_timestamp(row["acknowledged_at"]),
        resolved_by=row["resolved_by"], resolved_at=from_optional_timestamp(row["resolved_at"]),
        resolution_note=row["resolution_note"],
    )


def _report(row: Any) -> Report:
    return Report(row["escalation_id"], row["reporter"], row["room_id"], row["command_event_id"],
                  row["thread_root"], from_timestamp(row["reported_at"]))
