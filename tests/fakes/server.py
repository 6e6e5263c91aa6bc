"""What every fake outside service shares: an aiohttp app on a free loopback port."""

from __future__ import annotations

from typing import Self

from aiohttp import web


class FakeServer:
    """Subclasses add their routes in ``add_routes``; tests use ``async with`` or start/stop."""

    _runner: web.AppRunner | None = None
    _port: int | None = None

    def add_routes(self, app: web.Application) -> None:
        raise NotImplementedError

    @property
    def url(self) -> str:
        if self._port is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return f"http://127.0.0.1:{self._port}"

    async def start(self) -> None:
        app = web.Application()
        self.add_routes(app)
        # A short shutdown timeout: a slow answer left hanging by a timed-out test must not hold stop().
        self._runner = web.AppRunner(app, shutdown_timeout=0.1, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self._port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()
