"""Migrations: ordered steps, each atomic with its version bump; a newer database is refused."""

from __future__ import annotations

import sqlite3

import pytest

from bot.storage.database import Database, DatabaseTooNew, Migration, shipped_migrations


async def test_shipped_migrations_apply_in_order_and_again_do_nothing(tmp_path):
    path = tmp_path / "fxhelp.db"
    db = await Database.open(path)
    newest = shipped_migrations()[-1].version
    assert await db.schema_version() == newest
    await db.close()
    db = await Database.open(path)  # a second start finds nothing to do
    assert await db.schema_version() == newest
    journal = await db.fetch_one("PRAGMA journal_mode")
    assert journal[0] == "wal"
    assert (await db.fetch_one("PRAGMA foreign_keys"))[0] == 1
    await db.close()


async def test_a_failing_migration_leaves_the_previous_version(tmp_path):
    steps = [Migration(1, "one", "CREATE TABLE a (x INTEGER);"),
             Migration(2, "two", "CREATE TABLE b (y INTEGER);\nINSERT INTO nowhere VALUES (1);")]
    with pytest.raises(sqlite3.OperationalError):
        await Database.open(tmp_path / "x.db", steps)
    db = await Database.open(tmp_path / "x.db", steps[:1])
    assert await db.schema_version() == 1
    assert await db.fetch_one("SELECT name FROM sqlite_master WHERE name = 'b'") is None
    await db.close()


async def test_a_database_newer_than_the_code_is_refused(tmp_path):
    path = tmp_path / "x.db"
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA user_version = 999")
    with pytest.raises(DatabaseTooNew, match="newer release"):
        await Database.open(path)


async def test_transactions_roll_back_on_error(tmp_path):
    db = await Database.open(tmp_path / "x.db", [Migration(1, "t", "CREATE TABLE t (x INTEGER);")])
    with pytest.raises(RuntimeError):
        async with db.transaction():
            await db.execute("INSERT INTO t VALUES (1)")
            raise RuntimeError("boom")
    assert await db.fetch_all("SELECT * FROM t") == []
    await db.close()
