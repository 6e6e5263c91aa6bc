"""/healthz: 503 only for what stops the bot itself (stale sync, an encrypted or unjoined room); the
outside services' troubles and parked scheduled work are warnings in a 200 answer."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable, Iterable
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest

from bot.clock import FakeClock
from bot.ops.http import HealthServer
from bot.ops.metrics import Metrics
from bot.scheduler import RetryPolicy, Scheduler
from bot.storage import Storage
from bot.storage.schedule import DueWork


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Ops:
    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.rooms = SimpleNamespace(encrypted=set(), not_joined=set())
        self.last_sync: Any = clock.now()
        self.warnings: list[str] = []
        self.port = free_port()

    def server(self, sources: Iterable[Callable[[], Any]] = ()) -> HealthServer:
        return HealthServer("127.0.0.1", self.port, Metrics(), self.clock, self.rooms,  # type: ignore[arg-type]
                            lambda: self.last_sync, "1.2.3", [lambda: list(self.warnings), *sources])

    async def get(self) -> tuple[int, dict[str, Any]]:
        async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{self.port}/healthz") as resp:
            return resp.status, await resp.json()


@pytest.fixture
async def ops() -> AsyncIterator[Ops]:
    yield Ops(FakeClock())


async def serving(ops: Ops, sources: Iterable[Callable[[], Any]] = ()) -> HealthServer:
    server = ops.server(sources)
    await server.start()
    return server


async def health_once(ops: Ops) -> tuple[int, dict[str, Any]]:
    """``/healthz`` as a monitor reads it, from a server started for this one request."""
    server = await serving(ops)
    try:
        return await ops.get()
    finally:
        await server.stop()


async def test_healthy_is_200_ok_with_no_problems_and_no_warnings(ops: Ops) -> None:
    status, body = await health_once(ops)
    assert status == 200
    assert body == {"status": "ok", "version": "1.2.3", "last_sync": ops.clock.now().isoformat(), "problems": [],
                    "warnings": []}


async def test_outside_services_troubles_are_warnings_with_200(ops: Ops) -> None:
    ops.warnings.append("the forum refuses the bot's API key")
    status, body = await health_once(ops)
    assert status == 200
    assert body["status"] == "warning"
    assert body["warnings"] == ["the forum refuses the bot's API key"] and body["problems"] == []


@pytest.mark.parametrize("breaks", ["stale sync", "no sync yet", "encrypted room", "room not joined"])
async def test_the_bot_s_own_troubles_are_problems_with_503_beside_the_warnings(ops: Ops, breaks: str) -> None:
    ops.warnings.append("SUMO refuses the bot's User-Agent")
    if breaks == "stale sync":
        ops.clock.advance(timedelta(minutes=5))
    elif breaks == "no sync yet":
        ops.last_sync = None
    elif breaks == "encrypted room":
        ops.rooms.encrypted.add("!mods:example.org")
    else:
        ops.rooms.not_joined.add("#mods:example.org")
    status, body = await health_once(ops)
    assert status == 503
    assert body["status"] == "unhealthy"
    assert len(body["problems"]) == 1
    assert body["warnings"] == ["SUMO refuses the bot's User-Agent"]


async def test_parked_scheduled_work_is_a_warning(ops: Ops, tmp_path: Path) -> None:
    storage = await Storage.open(tmp_path / "x.db")
    scheduler = Scheduler(storage.schedule, ops.clock, Metrics(), timedelta(seconds=30),
                          retry=RetryPolicy(park_after=1))

    async def poisoned(work: DueWork) -> None:
        raise RuntimeError("M_TOO_LARGE")

    scheduler.handle("consult", poisoned)
    await storage.schedule.plan("consult", 7, "remind", ops.clock.now())
    await scheduler.tick()
    server = await serving(ops, [scheduler.health_warnings])
    try:
        status, body = await ops.get()
    finally:
        await server.stop()
        await storage.close()
    assert status == 200 and body["status"] == "warning"
    [warning] = body["warnings"]
    assert "1 scheduled item(s) parked" in warning and "consult:7:remind" in warning and "M_TOO_LARGE" in warning
