"""The database holds the bot's access token: only the bot's user may read it."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from bot.storage import Storage


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_a_new_database_is_private_to_the_bot_and_so_is_the_folder_it_creates(tmp_path: Path) -> None:
    path = tmp_path / "data" / "fxhelp.db"
    old_umask = os.umask(0o022)
    try:
        storage = await Storage.open(path)
        await storage.close()
    finally:
        os.umask(old_umask)

    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700
    assert all(mode(p) & 0o077 == 0 for p in path.parent.iterdir())  # -wal and -shm too


async def test_an_existing_folder_keeps_its_permissions(tmp_path: Path) -> None:
    folder = tmp_path / "shared"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)

    storage = await Storage.open(folder / "fxhelp.db")
    await storage.close()

    assert mode(folder) == 0o755
    assert mode(folder / "fxhelp.db") == 0o600
