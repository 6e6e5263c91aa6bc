"""The bot's one connection to its homeserver, on top of matrix-nio.

It owns the session (one fixed device, reused across restarts, never logged out), the retry policy
for homeserver trouble (rate limits honoured a bounded number of times, outages retried with capped
backoff and logged once per episode), and the raw calls the rest of the bot needs. Callers get
plain dicts and IDs back; nio's response classes stay in this module.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote

import aiohttp
from nio import (
    AsyncClient,
    AsyncClientConfig,
    ErrorResponse,
    JoinResponse,
    LoginResponse,
    MessageDirection,
    RoomCreateResponse,
    RoomGetEventResponse,
    RoomGetStateEventResponse,
    RoomMessagesResponse,
    RoomPreset,
    RoomRedactResponse,
    RoomResolveAliasResponse,
    RoomSendResponse,
    SyncResponse,
    WhoamiResponse,
)

from bot.logging_setup import FailureEpisodes
from bot.storage.bot_state import BotState

log = logging.getLogger(__name__)

T = TypeVar("T")

MAX_RATE_LIMITED_RETRIES = 5
MAX_BACKOFF_SECONDS = 30.0

_SESSION_USER = "matrix.user_id"
_SESSION_DEVICE = "matrix.device_id"
_SESSION_TOKEN = "matrix.access_token"


class MatrixError(Exception):
    """The homeserver refused a request for good (not a transient trouble)."""

    def __init__(self, what: str, errcode: str | None, message: str) -> None:
        super().__init__(f"{what}: {errcode or 'error'} {message}")
        self.errcode = errcode


class HomeserverUnavailable(Exception):
    """A bounded call gave up: the homeserver stayed away or kept rate limiting."""


def transaction_id(*parts: str) -> str:
    """A stable transaction ID for a send that must happen once, whatever retries or restarts occur."""
    return "fxhelp-" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:40]


@dataclass(frozen=True)
class _Transient(Exception):
    problem: str
    wait: float | None = None
    rate_limited: bool = False


class MatrixClient:
    def __init__(self, homeserver: str, user_id: str, device_name: str, state: BotState,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.user_id = user_id
        self._sleep = sleep  # injectable, so tests see the waits without waiting them
        self._device_name = device_name
        self._state = state
        self._nio = AsyncClient(
            homeserver,
            user_id,
            config=AsyncClientConfig(
                # The retry policy is ours (bounded, Retry-After aware); nio's would retry forever.
                max_limit_exceeded=0, max_timeouts=0, request_timeout=60,
            ),
        )
        self.trouble = FailureEpisodes()  # logged once per episode, not every retry

    @property
    def device_id(self) -> str | None:
        return self._nio.device_id

    async def close(self) -> None:
        await self._nio.close()

    # ---- session -------------------------------------------------------------------------

    async def start_session(self, password: str | None, access_token: str | None) -> None:
        """Log in once per device: reuse the stored device and token; never log out."""
        if access_token:
            self._nio.access_token = access_token
            whoami = await self._call("whoami", self._nio.whoami)
            assert isinstance(whoami, WhoamiResponse)
            if whoami.user_id != self.user_id:
                raise MatrixError("whoami", "M_FORBIDDEN", "the access token belongs to another user")
            self._nio.restore_login(self.user_id, whoami.device_id or "", access_token)
            return
        stored_user = await self._state.get(_SESSION_USER)
        stored_device = await self._state.get(_SESSION_DEVICE)
        stored_token = await self._state.get(_SESSION_TOKEN)
        if stored_user == self.user_id and stored_device and stored_token:
            self._nio.restore_login(self.user_id, stored_device, stored_token)
            try:
                await self._call("whoami", self._nio.whoami)
                log.info("session restored on device %s", stored_device)
                return
            except MatrixError as error:
                if error.errcode not in ("M_UNKNOWN_TOKEN", "M_MISSING_TOKEN"):
                    raise
                log.warning("the stored access token was refused; logging in again on device %s", stored_device)
                self._nio.access_token = ""
        if password is None:
            raise MatrixError("login", "M_FORBIDDEN", "no password configured and no usable stored session")
        if stored_user == self.user_id and stored_device:
            self._nio.device_id = stored_device  # same device: the server keeps its transaction IDs
        response = await self._call("login", lambda: self._nio.login(password, device_name=self._device_name))
        assert isinstance(response, LoginResponse)
        await self._state.set(_SESSION_USER, self.user_id)
        await self._state.set(_SESSION_DEVICE, response.device_id)
        await self._state.set(_SESSION_TOKEN, response.access_token)
        log.info("logged in on device %s", response.device_id)

    # ---- calls ---------------------------------------------------------------------------

    async def sync(self, since: str | None, timeout_ms: int, sync_filter: dict[str, Any] | None = None) -> SyncResponse:
        """One sync; transient trouble is retried forever with capped backoff (the loop must not end).

        ``since=None`` is an initial sync: nio would otherwise put in the token of its last sync.
        """
        if since is None:
            self._nio.next_batch = ""
            self._nio.loaded_sync_token = ""
        response = await self._call(
            "sync", lambda: self._nio.sync(timeout=timeout_ms, since=since, sync_filter=sync_filter),
            bounded=False,
        )
        assert isinstance(response, SyncResponse)
        return response

    async def send(self, room_id: str, content: dict[str, Any], txn_id: str) -> str:
        response = await self._call(
            "send", lambda: self._nio.room_send(room_id, "m.room.message", content, tx_id=txn_id),
        )
        assert isinstance(response, RoomSendResponse)
        return response.event_id

    async def send_event(self, room_id: str, event_type: str, content: dict[str, Any], txn_id: str) -> str:
        """Any room event (a reaction, an edit); ``send`` is the ``m.room.message`` case."""
        response = await self._call(
            "send", lambda: self._nio.room_send(room_id, event_type, content, tx_id=txn_id),
        )
        assert isinstance(response, RoomSendResponse)
        return response.event_id

    async def redact(self, room_id: str, event_id: str, txn_id: str, reason: str | None = None) -> str:
        response = await self._call(
            "redact", lambda: self._nio.room_redact(room_id, event_id, reason, tx_id=txn_id),
        )
        assert isinstance(response, RoomRedactResponse)
        return response.event_id

    async def event(self, room_id: str, event_id: str) -> dict[str, Any] | None:
        """One raw event, or None when the homeserver does not have it (or hides it)."""
        try:
            response = await self._call("get event", lambda: self._nio.room_get_event(room_id, event_id))
        except MatrixError as error:
            if error.errcode in ("M_NOT_FOUND", "M_FORBIDDEN"):
                return None
            raise
        assert isinstance(response, RoomGetEventResponse)
        return response.event.source

    async def join(self, room: str) -> str:
        response = await self._call("join", lambda: self._nio.join(room))
        assert isinstance(response, JoinResponse)
        return response.room_id

    async def leave(self, room_id: str) -> None:
        await self._call("leave", lambda: self._nio.room_leave(room_id))

    async def resolve_alias(self, alias: str) -> str:
        response = await self._call("resolve alias", lambda: self._nio.room_resolve_alias(alias))
        assert isinstance(response, RoomResolveAliasResponse)
        return response.room_id

    async def state_event(self, room_id: str, event_type: str, state_key: str = "") -> dict[str, Any] | None:
        """A state event's content, or None when the room has no such state."""
        try:
            response = await self._call(
                "get state", lambda: self._nio.room_get_state_event(room_id, event_type, state_key)
            )
        except MatrixError as error:
            if error.errcode == "M_NOT_FOUND":
                return None
            raise
        assert isinstance(response, RoomGetStateEventResponse)
        return response.content

    async def full_state_event(self, room_id: str, event_type: str) -> dict[str, Any] | None:
        """The whole state event (with sender), for ``m.room.create`` whose sender matters."""
        response = await self._call("get state", lambda: self._nio.room_get_state(room_id))
        for event in getattr(response, "events", []):
            if event.get("type") == event_type and event.get("state_key") == "":
                return event
        return None

    async def messages_between(self, room_id: str, start: str, end: str | None,
                               stop_at: tuple[str, int | None] | None = None,
                               page_limit: int = 100) -> list[dict[str, Any]]:
        """Raw events from ``start`` back to ``end``, oldest first (fills a ``limited`` timeline).

        With ``stop_at`` (the ID and timestamp of the last event the bot saw in this room) the
        pages go back, without a ``to`` token, until that event: an event ID is an exact cut,
        whatever kind of token ``start`` is. Should that event never come, paging also stops at
        events more than ten minutes older than it. Without it, ``end`` bounds the pages.
        """
        newest_first: list[dict[str, Any]] = []
        token: str | None = start
        bound = None if stop_at is not None else end
        floor = stop_at[1] - 600_000 if stop_at is not None and stop_at[1] is not None else None
        for _ in range(page_limit):
            page, next_token = await self._messages_page(room_id, token, bound, 100)
            for event in page:
                if stop_at is not None and event.get("event_id") == stop_at[0]:
                    newest_first.reverse()
                    return newest_first
                timestamp = event.get("origin_server_ts")
                if floor is not None and isinstance(timestamp, int) and timestamp < floor:
                    log.warning("room %s: the last event seen before (%s) is not in its history; "
                                "filled back to ten minutes before it", room_id, stop_at[0])
                    newest_first.reverse()
                    return newest_first
                newest_first.append(event)
            if not page or next_token is None or next_token == token:
                break
            token = next_token
        newest_first.reverse()
        return newest_first

    async def history_page(self, room_id: str, start: str, limit: int = 100) -> tuple[list[dict[str, Any]], str | None]:
        """One page of history back from ``start``: its events oldest first, and the token before them."""
        page, next_token = await self._messages_page(room_id, start, None, limit)
        page.reverse()
        return page, (next_token if page and next_token != start else None)

    async def _messages_page(self, room_id: str, start: str | None, end: str | None,
                             limit: int) -> tuple[list[dict[str, Any]], str | None]:
        response = await self._call(
            "fetch history",
            lambda: self._nio.room_messages(room_id, start=start, end=end, direction=MessageDirection.back,
                                            limit=limit),
        )
        assert isinstance(response, RoomMessagesResponse)
        return [event.source for event in response.chunk], response.end

    async def recent_events(self, room_id: str, limit: int) -> list[dict[str, Any]]:
        """The newest ``limit`` raw events of a room, newest first."""
        response = await self._call(
            "fetch history",
            lambda: self._nio.room_messages(room_id, start="", direction=MessageDirection.back, limit=limit),
        )
        assert isinstance(response, RoomMessagesResponse)
        return [event.source for event in response.chunk]

    async def create_direct_room(self, user_id: str, initial_state: list[dict[str, Any]]) -> str:
        """A private room with one person, flagged ``is_direct`` on their invite."""
        response = await self._call("create room", lambda: self._nio.room_create(
            is_direct=True, invite=[user_id], preset=RoomPreset.trusted_private_chat, initial_state=initial_state))
        assert isinstance(response, RoomCreateResponse)
        return response.room_id

    async def account_data(self, event_type: str) -> dict[str, Any] | None:
        """The bot's global account data of that type, or None when it has none."""
        path = f"/_matrix/client/v3/user/{quote(self.user_id, safe='')}/account_data/{quote(event_type, safe='')}"
        return await self._call("get account data", lambda: self._raw("GET", path, None))

    async def set_account_data(self, event_type: str, content: dict[str, Any]) -> None:
        path = f"/_matrix/client/v3/user/{quote(self.user_id, safe='')}/account_data/{quote(event_type, safe='')}"
        await self._call("set account data", lambda: self._raw("PUT", path, content))

    async def _raw(self, method: str, path: str, body: dict[str, Any] | None) -> dict[str, Any] | None:
        """An endpoint matrix-nio has no call for; answers as ``_attempt`` expects (None for M_NOT_FOUND)."""
        headers = {"Authorization": f"Bearer {self._nio.access_token}", "Content-Type": "application/json"}
        response = await self._nio.send(method, path, None if body is None else json.dumps(body), headers)
        async with response:
            payload = await response.json(content_type=None) if response.content_length != 0 else {}
        if response.status == 200:
            return payload if isinstance(payload, dict) else {}
        errcode = payload.get("errcode") if isinstance(payload, dict) else None
        if response.status == 404 and errcode == "M_NOT_FOUND":
            return None
        if response.status == 429 or errcode == "M_LIMIT_EXCEEDED":
            retry_ms = payload.get("retry_after_ms") if isinstance(payload, dict) else None
            header = response.headers.get("Retry-After", "")
            wait = float(header) if header.strip().isdigit() else (retry_ms / 1000 if isinstance(retry_ms, int) else 2.0)
            raise _Transient("rate limited", wait=min(wait, 300.0), rate_limited=True)
        if response.status >= 500 or errcode is None:
            raise _Transient(f"the homeserver answered {response.status}")
        raise MatrixError(method.lower() + " " + path.rsplit("/", 1)[-1], errcode,
                          str(payload.get("error", "")) if isinstance(payload, dict) else "")

    # ---- the retry policy ------------------------------------------------------------------

    async def _call(self, what: str, request: Callable[[], Awaitable[T]], bounded: bool = True) -> T:
        failures = 0
        rate_limited = 0
        while True:
            try:
                result = await self._attempt(what, request)
            except _Transient as trouble:
                if trouble.rate_limited:
                    rate_limited += 1
                    if bounded and rate_limited > MAX_RATE_LIMITED_RETRIES:
                        raise HomeserverUnavailable(f"{what}: still rate limited after {rate_limited - 1} waits") from None
                else:
                    failures += 1
                    if bounded and failures > 6:
                        raise HomeserverUnavailable(f"{what}: {trouble.problem}") from None
                if self.trouble.failed(what):
                    log.warning("%s: %s; retrying with backoff", what, trouble.problem)
                await self._sleep(trouble.wait if trouble.wait is not None else _backoff(failures))
                continue
            failed = self.trouble.recovered(what)
            if failed:
                log.info("%s: working again after %d failed attempts", what, failed)
            return result

    async def _attempt(self, what: str, request: Callable[[], Awaitable[T]]) -> T:
        try:
            response = await request()
        except (aiohttp.ClientError, TimeoutError, OSError) as error:
            raise _Transient(f"cannot reach the homeserver ({type(error).__name__})") from None
        if not isinstance(response, ErrorResponse):
            return response
        status = response.transport_response.status if response.transport_response else None
        if status == 429 or response.status_code == "M_LIMIT_EXCEEDED":
            raise _Transient("rate limited", wait=_retry_after_seconds(response), rate_limited=True)
        if status is None or status >= 500 or response.status_code is None:
            raise _Transient(f"the homeserver answered {status or 'nothing usable'}")
        raise MatrixError(what, response.status_code, response.message)


def _retry_after_seconds(response: ErrorResponse) -> float:
    header = response.transport_response.headers.get("Retry-After") if response.transport_response else None
    if header and header.strip().isdigit():
        return min(float(header), 300.0)
    if response.retry_after_ms:
        return min(response.retry_after_ms / 1000, 300.0)
    return 2.0


def _backoff(failures: int) -> float:
    base = min(MAX_BACKOFF_SECONDS, 0.5 * 2 ** max(failures - 1, 0))
    return base * random.uniform(0.8, 1.2)
