"""The operations endpoint: ``/healthz`` and ``/metrics`` (Prometheus).

``/healthz`` answers 503 only for what stops the bot itself: no fresh sync, a configured room that is
encrypted or not joined. What needs an operator but leaves the bot working — an outside service's
limit or refusal, scheduled work parked after repeated failures — is a warning in a 200 answer.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import timedelta

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from bot.clock import Clock
from bot.matrix.rooms import Rooms
from bot.ops.metrics import Metrics

FRESH_SYNC = timedelta(seconds=90)

WarningSource = Callable[[], Iterable[str] | Awaitable[Iterable[str]]]


class HealthServer:
    def __init__(self, host: str, port: int, metrics: Metrics, clock: Clock, rooms: Rooms,
                 last_sync: Callable[[], object], version: str,
                 warnings: Sequence[WarningSource] = ()) -> None:
        self._host, self._port = host, port
        self._metrics = metrics
        self._clock = clock
        self._rooms = rooms
        self._last_sync = last_sync
        self._version = version
        # Read per request: outside services that need an operator (a refused key, a blocked User-Agent,
        # a used-up quota) and parked scheduled work.
        self._warnings = warnings
        self._runner: web.AppRunner | None = None
        self._more_routes: list[Callable[[web.Application], None]] = []

    def add_routes(self, register: Callable[[web.Application], None]) -> None:
        """More pages on the same endpoint (the dashboard); called before ``start``."""
        self._more_routes.append(register)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/metrics", self._metrics_page)
        for register in self._more_routes:
            register(app)
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
        warnings: list[str] = []
        for source in self._warnings:
            found = source()
            warnings.extend(await found if inspect.isawaitable(found) else found)
        status = "unhealthy" if problems else "warning" if warnings else "ok"
        body = {"status": status, "version": self._version, "last_sync": last.isoformat() if last else None,
                "problems": problems, "warnings": warnings}
        return web.Response(status=200 if not problems else 503, text=json.dumps(body),
                            content_type="application/json")

    async def _metrics_page(self, request: web.Request) -> web.Response:
        return web.Response(body=self._metrics.render(), headers={"Content-Type": CONTENT_TYPE_LATEST})
