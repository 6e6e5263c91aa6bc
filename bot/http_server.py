"""The operations endpoint: ``/healthz`` (200 while syncs are fresh) and ``/metrics`` (Prometheus)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from datetime import timedelta

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from bot.clock import Clock
from bot.metrics import Metrics
from bot.rooms import Rooms

FRESH_SYNC = timedelta(seconds=90)


class HealthServer:
    def __init__(self, host: str, port: int, metrics: Metrics, clock: Clock, rooms: Rooms,
                 last_sync: Callable[[], object], version: str,
                 service_problems: Sequence[Callable[[], Iterable[str]]] = ()) -> None:
        self._host, self._port = host, port
        self._metrics = metrics
        self._clock = clock
        self._rooms = rooms
        self._last_sync = last_sync
        self._version = version
        # Outside services that need an operator (a refused key, a blocked User-Agent); read per request.
        self._service_problems = service_problems
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/metrics", self._metrics_page)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self._host, self._port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _healthz(self, request: web.Request) -> web.Response:
        last = self._last_sync()
        problems = []
        if last is None:
            problems.append("no successful sync yet")
        elif self._clock.now() - last > FRESH_SYNC:
            problems.append(f"last successful sync {int((self._clock.now() - last).total_seconds())} s ago")
        problems.extend(f"room {room} is end-to-end encrypted; the bot cannot read it" for room in sorted(self._rooms.encrypted))
        problems.extend(f"not joined to {room} yet (waiting for an invite)" for room in sorted(self._rooms.not_joined))
        for source in self._service_problems:
            problems.extend(source())
        body = {"status": "ok" if not problems else "unhealthy", "version": self._version,
                "last_sync": last.isoformat() if last else None, "problems": problems}
        return web.Response(status=200 if not problems else 503, text=json.dumps(body),
                            content_type="application/json")

    async def _metrics_page(self, request: web.Request) -> web.Response:
        return web.Response(body=self._metrics.render(), headers={"Content-Type": CONTENT_TYPE_LATEST})
