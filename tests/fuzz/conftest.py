"""Fuzz-tier fixtures: one whole bot (see world.py) per test module, shared by its examples.

Two hypothesis profiles: ``fuzz-ci`` (the default here, a bounded run inside ``make test``) and
``fuzz-long`` (``make fuzz``: many more examples). ``HYPOTHESIS_PROFILE`` or
``--hypothesis-profile`` picks one.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest
from hypothesis import HealthCheck, settings

from tests.fuzz.world import World, open_world

_COMMON = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large]}
settings.register_profile("fuzz-ci", max_examples=250, **_COMMON)
settings.register_profile("fuzz-long", max_examples=5_000, **_COMMON)

FUZZ_PROFILE = os.environ.get("FXHELP_FUZZ_PROFILE", "fuzz-ci")


@pytest.fixture(scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    opened = await open_world(tmp_path_factory.mktemp("world"))
    yield opened
    await opened.close()
