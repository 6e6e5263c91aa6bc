"""The client's retry policy against a small homeserver double: rate limits and outages."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from aiohttp import web

from bot.matrix.client import HomeserverUnavailable, MatrixClient, MatrixError
from bot.storage import Storage
from tests.fakes.server import FakeServer


class FlakyHomeserver(FakeServer):
    """Answers sends from a script of responses, then succeeds; counts attempts."""

    def __init__(self, script: list[tuple[int, Any, dict[str, str]]]) -> None:
        self.script = list(script)
        self.attempts = 0

    def add_routes(self, app: web.Application) -> None:
        app.router.add_put("/_matrix/client/v3/rooms/{room}/send/{type}/{txn}", self._send)

    async def _send(self, request: web.Request) -> web.Response:
        self.attempts += 1
        if self.script:
            status, body, headers = self.script.pop(0)
            if isinstance(body, str):
                return web.Response(status=status, text=body, content_type="text/html", headers=headers)
            return web.json_response(body, status=status, headers=headers)
        return web.json_response({"event_id": f"$sent{self.attempts}"})


def rate_limited(ms: int) -> tuple[int, Any, dict[str, str]]:
    return 429, {"errcode": "M_LIMIT_EXCEEDED", "error": "Too many requests", "retry_after_ms": ms}, {}


async def client_for(server: FlakyHomeserver, storage: Storage, waits: list[float]) -> MatrixClient:
    async def record(seconds: float) -> None:
        waits.append(seconds)

    client = MatrixClient(server.url, "@bot:example.org", "test", storage.state, sleep=record)
    client._nio.restore_login("@bot:example.org", "DEVICE", "token")  # no login endpoint here
    return client


@pytest.fixture
def fast_sleep() -> list[float]:
    """The waits the client asked for, recorded instead of slept."""
    return []


async def test_rate_limits_wait_as_the_server_says(storage, fast_sleep):
    async with FlakyHomeserver([rate_limited(1500), (429, {"errcode": "M_LIMIT_EXCEEDED", "error": "x"},
                                                     {"Retry-After": "3"})]) as server:
        client = await client_for(server, storage, fast_sleep)
        assert await client.send("!room:example.org", {"body": "hi"}, "txn1") == "$sent3"
        await client.close()
    assert fast_sleep == [1.5, 3.0]


async def test_rate_limits_are_retried_a_bounded_number_of_times(storage, fast_sleep):
    async with FlakyHomeserver([rate_limited(100)] * 50) as server:
        client = await client_for(server, storage, fast_sleep)
        with pytest.raises(HomeserverUnavailable, match="rate limited"):
            await client.send("!room:example.org", {"body": "hi"}, "txn1")
        await client.close()
        assert server.attempts == 6


async def test_a_proxy_502_with_html_is_retried_with_capped_backoff_and_logged_once(storage, fast_sleep, caplog):
    html = "<html><body><h1>502 Bad Gateway</h1></body></html>"
    async with FlakyHomeserver([(502, html, {})] * 4) as server:
        client = await client_for(server, storage, fast_sleep)
        with caplog.at_level(logging.INFO, logger="bot.matrix.client"):
            assert await client.send("!room:example.org", {"body": "hi"}, "txn1") == "$sent5"
        await client.close()
    assert len(fast_sleep) == 4
    assert fast_sleep == sorted(fast_sleep) and max(fast_sleep) <= 30 * 1.2
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "502" in warnings[0].getMessage()
    assert any("working again after 4 failed attempts" in r.getMessage() for r in caplog.records)


async def test_a_lasting_outage_gives_up_on_bounded_calls(storage, fast_sleep):
    async with FlakyHomeserver([(503, "<html>down</html>", {})] * 50) as server:
        client = await client_for(server, storage, fast_sleep)
        with pytest.raises(HomeserverUnavailable):
            await client.send("!room:example.org", {"body": "hi"}, "txn1")
        await client.close()
    assert max(fast_sleep) <= 30 * 1.2


async def test_a_refusal_is_not_retried(storage, fast_sleep):
    async with FlakyHomeserver([(403, {"errcode": "M_FORBIDDEN", "error": "not in room"}, {})]) as server:
        client = await client_for(server, storage, fast_sleep)
        with pytest.raises(MatrixError, match="M_FORBIDDEN"):
            await client.send("!room:example.org", {"body": "hi"}, "txn1")
        await client.close()
        assert server.attempts == 1
    assert fast_sleep == []


async def test_an_unreachable_homeserver_is_retried(storage, fast_sleep):
    server = FlakyHomeserver([])
    await server.start()
    client = await client_for(server, storage, fast_sleep)
    await server.stop()  # nothing listens there any more
    with pytest.raises(HomeserverUnavailable, match="cannot reach"):
        await client.send("!room:example.org", {"body": "hi"}, "txn1")
    await client.close()
    assert len(fast_sleep) == 6
