"""Unit-tier fixtures: a real SQLite file per test, and a consult world on one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.clock import FakeClock
from bot.storage import Storage
from tests.unit.consults.world import World, build_world


@pytest.fixture
async def storage(tmp_path: Path) -> AsyncIterator[Storage]:
    opened = await Storage.open(tmp_path / "fxhelp.db")
    yield opened
    await opened.close()


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    built = await build_world(tmp_path / "x.db", FakeClock())
    yield built
    await built.storage.close()
