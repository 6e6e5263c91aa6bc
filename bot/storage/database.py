"""The one SQLite file: opening it, migrating it, and running statements in transactions.

Migrations are the ordered ``NNNN_name.sql`` files beside this module. Each is applied in its own
transaction together with its version bump, so a crash mid-migration leaves the previous version.
A database written by a newer version of the bot is refused rather than guessed at.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import os
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite

log = logging.getLogger(__name__)


def _private_file(path: Path) -> None:
    """The database holds the access token: its folder (when created here) 0700, the file 0600.
    The file is created before SQLite opens it, so it is never readable by others even for a moment;
    SQLite gives its -wal and -shm files the main file's permissions."""
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        path.parent.chmod(0o700)  # mkdir's mode is filtered by the umask
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.close(descriptor)
    os.chmod(path, 0o600)


class DatabaseTooNew(RuntimeError):
    """The file was migrated by a newer bot; running old code on it could lose data."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def shipped_migrations() -> list[Migration]:
    folder = resources.files("bot.storage") / "migrations"
    found = []
    for entry in folder.iterdir():
        if not entry.name.endswith(".sql"):
            continue
        number, _, rest = entry.name.partition("_")
        found.append(Migration(int(number), rest.removesuffix(".sql"), entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"two migrations share a number: {versions}")
    return found


class Database:
    """An open connection with WAL, foreign keys and a busy timeout.

    aiosqlite runs every statement on one worker thread, so statements never interleave;
    ``transaction()`` groups several into one atomic unit. Tasks share the one connection, so while
    one task's transaction is open, other tasks' statements (and transactions) wait for it instead
    of joining it.
    """

    def __init__(self, connection: aiosqlite.Connection, path: Path) -> None:
        self._conn = connection
        self.path = path
        self._transaction_lock = asyncio.Lock()
        self._in_transaction: contextvars.ContextVar[bool] = contextvars.ContextVar("in_transaction", default=False)

    @classmethod
    async def open(cls, path: Path, migrations: Sequence[Migration] | None = None) -> Database:
        _private_file(path)
        conn = await aiosqlite.connect(path, isolation_level=None)
        conn.row_factory = aiosqlite.Row
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute("PRAGMA foreign_keys=ON")
        await conn.execute("PRAGMA busy_timeout=5000")
        await conn.execute("PRAGMA synchronous=NORMAL")
        db = cls(conn, path)
        try:
            await db.migrate(shipped_migrations() if migrations is None else migrations)
        except BaseException:
            await conn.close()
            raise
        return db

    async def close(self) -> None:
        await self._conn.close()

    async def schema_version(self) -> int:
        row = await self.fetch_one("PRAGMA user_version")
        return int(row[0])

    async def migrate(self, migrations: Sequence[Migration]) -> None:
        current = await self.schema_version()
        newest = migrations[-1].version if migrations else 0
        if current > newest:
            raise DatabaseTooNew(
                f"{self.path} is at schema version {current}, but this fxhelp-bot knows only up to "
                f"{newest}: it was written by a newer release. Upgrade the bot (or restore a backup)."
            )
        for migration in migrations:
            if migration.version <= current:
                continue
            log.info("applying migration %04d_%s", migration.version, migration.name)
            async with self.transaction():
                for statement in _split_statements(migration.sql):
                    await self._conn.execute(statement)
                await self._conn.execute(f"PRAGMA user_version = {int(migration.version)}")

    @property
    def in_transaction(self) -> bool:
        """This task is inside ``transaction()`` (which does not nest)."""
        return self._in_transaction.get()

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        if self._in_transaction.get():
            raise RuntimeError("transactions do not nest")
        async with self._transaction_lock:
            marker = self._in_transaction.set(True)
            try:
                await self._conn.execute("BEGIN IMMEDIATE")
                try:
                    yield
                except BaseException:
                    await self._conn.execute("ROLLBACK")
                    raise
                else:
                    await self._conn.execute("COMMIT")
            finally:
                self._in_transaction.reset(marker)

    @contextlib.asynccontextmanager
    async def _turn(self) -> AsyncIterator[None]:
        """Inside this task's transaction: go on; otherwise wait until no transaction is open."""
        if self._in_transaction.get():
            yield
            return
        async with self._transaction_lock:
            yield

    async def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> int:
        """Run one statement; returns the last inserted row id (or 0)."""
        async with self._turn():
            cursor = await self._conn.execute(sql, params)
            try:
                return cursor.lastrowid or 0
            finally:
                await cursor.close()

    async def execute_changes(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> int:
        """Run one statement; returns how many rows it changed."""
        async with self._turn():
            cursor = await self._conn.execute(sql, params)
            try:
                return cursor.rowcount
            finally:
                await cursor.close()

    async def write(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> None:
        """Run one statement whose result is not needed, in one trip to the database thread.

        ``execute`` takes two (the statement, then closing its cursor); on the path from a command
        to its answer every trip is a thread switch, which a loaded machine makes costly.
        """
        async with self._turn():
            await self._conn.execute_fetchall(sql, params)

    async def execute_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        async with self._turn():
            await self._conn.executemany(sql, rows)

    async def fetch_one(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> aiosqlite.Row | None:
        rows = await self.fetch_all(sql, params)
        return rows[0] if rows else None

    async def fetch_all(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[aiosqlite.Row]:
        # One trip to the database thread (a cursor would take three: execute, fetch, close).
        async with self._turn():
            return list(await self._conn.execute_fetchall(sql, params))


def _split_statements(script: str) -> list[str]:
    """Split a migration script on semicolons that end a complete SQL statement."""
    statements, pending = [], ""
    for line in script.splitlines(keepends=True):
        pending += line
        if pending.strip() and sqlite3.complete_statement(pending):
            statements.append(pending.strip())
            pending = ""
    if pending.strip():
        statements.append(pending.strip())
    return statements
