"""A local stand-in for Bitly's ``POST /v4/shorten``, with the answers and error bodies Bitly gives.

It follows Bitly's API reference (the OpenAPI document behind https://dev.bitly.com/api-reference,
operation ``createBitlink``: 200 SUCCESS / 201 CREATED with ``ShortenBitlinkBody``; 403 FORBIDDEN,
declaring the ``X-Ratelimit-Reason`` header; 429 MONTHLY_LIMIT_EXCEEDED; the ``Error`` schema
``message, description, resource, errors[{field, error_code, message}]``; ``domain`` defaults to
``bit.ly``) and its rate-limit page (https://dev.bitly.com/docs/getting-started/rate-limits: hourly
and per-minute platform limits; monthly plan limits that reset on the first of the month).

    async with FakeBitly(token="t") as bitly:
        client = BitlyClient(session, bitly.url, "t")
        bitly.rate_limit_next(times=2)        # 403 with X-Ratelimit-Reason
        bitly.use_up_the_month()              # every shorten answers 429 until new_month()
        ...
        assert bitly.calls == 3

Faults are queued and each is used by one request, in order: ``fail_next`` answers with an error,
``rate_limit_next`` with Bitly's short rate limit, ``slow_next`` answers late. ``down()`` makes
every request fail until ``up()``. ``links_on("bit.ly")`` makes successes come back on another
domain than the one asked for.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import Counter, deque
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from tests.fakes.server import FakeServer

_DEFAULT_MESSAGES = {
    400: "INVALID_ARG_LONG_URL",
    403: "FORBIDDEN",
    417: "EXPECTATION_FAILED",
    429: "MONTHLY_LIMIT_EXCEEDED",
    500: "INTERNAL_ERROR",
    503: "TEMPORARILY_UNAVAILABLE",
}


def bitly_error(
    status: int, message: str, field: str | None = None, error_code: str | None = None
) -> web.Response:
    """An error answer shaped like Bitly's: message, description, resource, errors[{field, error_code}]."""
    body: dict[str, Any] = {
        "message": message,
        "description": f"The fake Bitly answered {status} {message}.",
        "resource": "bitlinks",
    }
    if error_code is not None:
        body["errors"] = [{"field": field or "long_url", "error_code": error_code}]
    return web.json_response(body, status=status)


@dataclass(frozen=True)
class _Fault:
    delay: float = 0.0
    status: int | None = None  # None: after the delay, answer as usual
    message: str | None = None
    error_code: str | None = None
    field: str | None = None
    raw_body: str | None = None  # sent as is instead of a JSON error body
    rate_limit_reason: str | None = None  # sent as X-Ratelimit-Reason

    def response(self) -> web.Response:
        assert self.status is not None
        if self.raw_body is not None:
            return web.Response(status=self.status, text=self.raw_body, content_type="text/html")
        message = self.message or _DEFAULT_MESSAGES.get(self.status, "UNKNOWN_ERROR")
        response = bitly_error(self.status, message, self.field, self.error_code)
        if self.rate_limit_reason is not None:
            response.headers["X-Ratelimit-Reason"] = self.rate_limit_reason
        return response


class FakeBitly(FakeServer):
    def __init__(
        self, token: str = "fake-bitly-token", domain: str = "mzl.la", group_guid: str | None = None
    ) -> None:
        self.token = token
        self.domain = domain
        self.group_guid = group_guid
        self.calls = 0
        self.calls_by_url: Counter[str] = Counter()
        self.requests: list[Any] = []  # every JSON payload received, in order
        self.links: dict[str, str] = {}  # long_url -> short link, as Bitly remembers them
        self._faults: deque[_Fault] = deque()
        self._down_mode: str | None = None
        self._month_used_up = False
        self._links_domain: str | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/v4/shorten", self._shorten)

    # -- scripting -----------------------------------------------------------------------------

    def fail_next(
        self,
        status: int,
        error_code: str | None = None,
        message: str | None = None,
        times: int = 1,
        *,
        field: str | None = None,
        body: str | None = None,
    ) -> None:
        """The next ``times`` requests get this error; ``body`` replaces the JSON (e.g. an HTML page)."""
        fault = _Fault(status=status, message=message, error_code=error_code, field=field, raw_body=body)
        self._faults.extend([fault] * times)

    def rate_limit_next(self, times: int = 1, reason: str = "per-minute limit for /v4/shorten exceeded") -> None:
        """Bitly's platform limit (per minute or per hour): 403 FORBIDDEN with X-Ratelimit-Reason."""
        self._faults.extend([_Fault(status=403, message="RATE_LIMIT_EXCEEDED", rate_limit_reason=reason)] * times)

    def use_up_the_month(self) -> None:
        """The account's monthly limit: every shorten answers 429 until ``new_month()``."""
        self._month_used_up = True

    def new_month(self) -> None:
        self._month_used_up = False

    def links_on(self, domain: str | None) -> None:
        """Successes come back on ``domain`` whatever was asked (None: the domain asked for)."""
        self._links_domain = domain

    def slow_next(self, seconds: float, times: int = 1) -> None:
        """The next ``times`` requests are answered normally, but only after ``seconds``."""
        self._faults.extend([_Fault(delay=seconds)] * times)

    def down(self, close_connections: bool = False) -> None:
        """Every request fails until ``up()``: a 503, or with ``close_connections`` a dropped connection."""
        self._down_mode = "close" if close_connections else "503"

    def up(self) -> None:
        self._down_mode = None

    def calls_for(self, long_url: str) -> int:
        return self.calls_by_url[long_url]

    # -- the endpoint ----------------------------------------------------------------------------

    async def _shorten(self, request: web.Request) -> web.StreamResponse:
        payload = await _json_or_none(request)
        self._count(payload)
        if self._down_mode == "close":
            assert request.transport is not None
            request.transport.close()
            return web.Response()
        if self._down_mode == "503":
            return bitly_error(503, "TEMPORARILY_UNAVAILABLE")
        if self._faults:
            fault = self._faults.popleft()
            await asyncio.sleep(fault.delay)
            if fault.status is not None:
                return fault.response()
        if self._month_used_up:
            return bitly_error(429, "MONTHLY_LIMIT_EXCEEDED")
        return self._answer(request, payload)

    def _count(self, payload: Any) -> None:
        self.calls += 1
        self.requests.append(payload)
        if isinstance(payload, dict) and isinstance(payload.get("long_url"), str):
            self.calls_by_url[payload["long_url"]] += 1

    def _answer(self, request: web.Request, payload: Any) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return bitly_error(403, "FORBIDDEN")
        if not isinstance(payload, dict):
            return bitly_error(400, "INVALID_BODY")
        long_url = payload.get("long_url")
        if not isinstance(long_url, str) or not long_url.startswith(("http://", "https://")):
            return bitly_error(400, "INVALID_ARG_LONG_URL", "long_url", "invalid")
        if payload.get("domain", "bit.ly") != self.domain:
            return bitly_error(400, "INVALID_ARG_DOMAIN", "domain", "invalid")
        if self.group_guid is not None and payload.get("group_guid", self.group_guid) != self.group_guid:
            return bitly_error(403, "FORBIDDEN")
        is_new = long_url not in self.links
        if is_new:
            self.links[long_url] = f"https://{self._links_domain or self.domain}/{_code_for(long_url)}"
        return web.json_response(_bitlink(self.links[long_url], long_url), status=201 if is_new else 200)


def _code_for(long_url: str) -> str:
    """A stable back-half per URL, so tests can predict it."""
    return hashlib.sha256(long_url.encode()).hexdigest()[:7]


def expected_link(long_url: str, domain: str = "mzl.la") -> str:
    return f"https://{domain}/{_code_for(long_url)}"


def _bitlink(link: str, long_url: str) -> dict[str, Any]:
    bitlink_id = link.removeprefix("https://")
    return {
        "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000"),
        "id": bitlink_id,
        "link": link,
        "custom_bitlinks": [],
        "long_url": long_url,
        "archived": False,
        "tags": [],
        "deeplinks": [],
        "references": {"group": "https://api-ssl.bitly.com/v4/groups/Bfake"},
    }


async def _json_or_none(request: web.Request) -> Any:
    try:
        return await request.json()
    except ValueError:
        return None
