"""Launch-day lists and the people on them. The rules that combine these steps (a duplicate is
refused, the launch time goes into the schedule with the launch row) live in
``bot.features.launches.service``, inside ``transaction()``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.clock import from_optional_timestamp, from_timestamp, to_timestamp
from bot.storage.database import Database

# The states of migration 0013's CHECK constraint.
COLLECTING, SCHEDULED, LAUNCHED = "collecting", "scheduled", "launched"


@dataclass(frozen=True)
class Launch:
    release: str
    label: str
    state: str
    created_at: datetime
    launch_at: datetime | None
    scheduled_by: str | None
    launched_at: datetime | None
    thread_event_id: str | None


@dataclass(frozen=True)
class NewEntry:
    release: str
    network: str
    handle: str
    handle_key: str
    post_key: str
    post_url: str
    locale: str
    added_by: str
    added_at: datetime
    command_event_id: str


@dataclass(frozen=True)
class Entry(NewEntry):
    id: int
    number: int
    chunk: int | None
    posted_at: datetime | None
    done_at: datetime | None
    done_by: str | None
    event_id: str | None = None       # the thread message that carries the entry, once posted
    done_event_id: str | None = None  # the command or ✅ reaction that marked it answered

    @property
    def done(self) -> bool:
        return self.done_at is not None


_ENTRY_COLUMNS = ("id, release, number, network, handle, handle_key, post_key, post_url, locale, added_by, added_at, "
                  "command_event_id, chunk, posted_at, done_at, done_by, event_id, done_event_id")


def _launch(row: Any) -> Launch:
    return Launch(row["release"], row["label"], row["state"], from_timestamp(row["created_at"]),
                  from_optional_timestamp(row["launch_at"]), row["scheduled_by"],
                  from_optional_timestamp(row["launched_at"]), row["thread_event_id"])


def _entry(row: Any) -> Entry:
    return Entry(release=row["release"], network=row["network"], handle=row["handle"], handle_key=row["handle_key"],
                 post_key=row["post_key"], post_url=row["post_url"], locale=row["locale"], added_by=row["added_by"],
                 added_at=from_timestamp(row["added_at"]), command_event_id=row["command_event_id"], id=row["id"],
                 number=row["number"], chunk=row["chunk"], posted_at=from_optional_timestamp(row["posted_at"]),
                 done_at=from_optional_timestamp(row["done_at"]),
                 done_by=row["done_by"], event_id=row["event_id"], done_event_id=row["done_event_id"])


class LaunchStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    # ---- launches ----------------------------------------------------------------------------

    async def get(self, release: str) -> Launch | None:
        row = await self._db.fetch_one("SELECT * FROM launches WHERE release = ?", (release,))
        return None if row is None else _launch(row)

    async def ensure(self, release: str, label: str, at: datetime) -> Launch:
        await self._db.execute("INSERT OR IGNORE INTO launches (release, label, created_at) VALUES (?, ?, ?)",
                               (release, label, to_timestamp(at)))
        launch = await self.get(release)
        assert launch is not None
        return launch

    async def all(self) -> list[Launch]:
        rows = await self._db.fetch_all("SELECT * FROM launches ORDER BY created_at DESC")
        return [_launch(row) for row in rows]

    async def schedule(self, release: str, at: datetime | None, by: str | None) -> bool:
        """Set (or with ``at=None`` clear) the launch time of a list not yet launched."""
        state = COLLECTING if at is None else SCHEDULED
        changed = await self._db.execute_changes(
            "UPDATE launches SET state = ?, launch_at = ?, scheduled_by = ? WHERE release = ? AND state != ?",
            (state, None if at is None else to_timestamp(at), by, release, LAUNCHED))
        return changed == 1

    async def mark_launched(self, release: str, at: datetime) -> None:
        """The launch began (kept the first time: a retry after a crash is the same launch)."""
        await self._db.execute(
            "UPDATE launches SET state = ?, launched_at = COALESCE(launched_at, ?) WHERE release = ?",
            (LAUNCHED, to_timestamp(at), release))

    async def set_thread(self, release: str, event_id: str) -> None:
        await self._db.execute("UPDATE launches SET thread_event_id = ? WHERE release = ?", (event_id, release))

    # ---- entries -----------------------------------------------------------------------------

    async def entries(self, release: str) -> list[Entry]:
        rows = await self._db.fetch_all(
            f"SELECT {_ENTRY_COLUMNS} FROM launch_entries WHERE release = ? ORDER BY number", (release,))
        return [_entry(row) for row in rows]

    async def same_person_or_post(self, release: str, handle_key: str, post_key: str) -> Entry | None:
        row = await self._db.fetch_one(
            f"SELECT {_ENTRY_COLUMNS} FROM launch_entries WHERE release = ? AND (handle_key = ? OR post_key = ?) "
            "ORDER BY number LIMIT 1", (release, handle_key, post_key))
        return None if row is None else _entry(row)

    async def add(self, new: NewEntry) -> Entry:
        """Insert with the list's next number (call inside a transaction, after the duplicate check)."""
        row = await self._db.fetch_one(
            "SELECT COALESCE(MAX(number), 0) + 1 AS next FROM launch_entries WHERE release = ?", (new.release,))
        number = int(row["next"]) if row is not None else 1
        entry_id = await self._db.execute(
            "INSERT INTO launch_entries (release, number, network, handle, handle_key, post_key, post_url, locale, "
            "added_by, added_at, command_event_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (new.release, number, new.network, new.handle, new.handle_key, new.post_key, new.post_url, new.locale,
             new.added_by, to_timestamp(new.added_at), new.command_event_id))
        found = await self._db.fetch_one(f"SELECT {_ENTRY_COLUMNS} FROM launch_entries WHERE id = ?", (entry_id,))
        assert found is not None
        return _entry(found)

    async def assign_chunks(self, release: str, size: int) -> None:
        """Give every entry without a message one, ``size`` to a message, after the ones already given.

        Run once per entry: a chunk, once given, never changes, so a restarted launch posts the same
        messages under the same outbox keys.
        """
        rows = await self._db.fetch_all(
            "SELECT id FROM launch_entries WHERE release = ? AND chunk IS NULL ORDER BY number", (release,))
        if not rows:
            return
        last = await self._db.fetch_one(
            "SELECT COALESCE(MAX(chunk), 0) AS last FROM launch_entries WHERE release = ?", (release,))
        first_chunk = int(last["last"]) + 1 if last is not None else 1
        await self._db.execute_many("UPDATE launch_entries SET chunk = ? WHERE id = ?",
                                    [(first_chunk + index // size, row["id"]) for index, row in enumerate(rows)])

    async def mark_posted(self, release: str, chunk: int, at: datetime, event_id: str) -> None:
        """The thread message ``chunk`` was sent as ``event_id`` (its entries are never posted again)."""
        await self._db.execute(
            "UPDATE launch_entries SET posted_at = COALESCE(posted_at, ?), event_id = COALESCE(event_id, ?) "
            "WHERE release = ? AND chunk = ?", (to_timestamp(at), event_id, release, chunk))

    async def unfinished(self) -> list[Launch]:
        """Launched lists with a message not yet recorded as posted (a crash came between the two)."""
        rows = await self._db.fetch_all(
            "SELECT * FROM launches WHERE state = 'launched' AND (thread_event_id IS NULL OR EXISTS ("
            "SELECT 1 FROM launch_entries AS e WHERE e.release = launches.release AND e.chunk IS NOT NULL "
            "AND e.posted_at IS NULL))")
        return [_launch(row) for row in rows]

    async def in_message(self, event_id: str) -> list[Entry]:
        """The entries a thread message carries (none: not a launch message)."""
        rows = await self._db.fetch_all(
            f"SELECT {_ENTRY_COLUMNS} FROM launch_entries WHERE event_id = ? ORDER BY number", (event_id,))
        return [_entry(row) for row in rows]

    async def mark_done(self, release: str, numbers: list[int], by: str, at: datetime, event_id: str) -> list[int]:
        """Mark entries answered by ``event_id`` (a command or a ✅); returns the numbers that were
        pending and now are done."""
        changed = []
        for number in numbers:
            if await self._db.execute_changes(
                    "UPDATE launch_entries SET done_at = ?, done_by = ?, done_event_id = ? WHERE release = ? "
                    "AND number = ? AND done_at IS NULL", (to_timestamp(at), by, event_id, release, number)):
                changed.append(number)
        return changed
