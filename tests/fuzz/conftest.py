"""Fuzz-tier fixtures: one whole bot (see world.py) per test module, shared by its examples."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.fuzz.world import World, open_world


@pytest.fixture(scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    opened = await open_world(tmp_path_factory.mktemp("world"))
    yield opened
    await opened.close()
