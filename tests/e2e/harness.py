"""The end-to-end tier's tools: a real Synapse, chat users on matrix-nio, and the bot as a process.

``ChatUser`` keeps every event it syncs, so waiting for an answer can never miss one that arrived
before the wait began (subscribe-then-send); answers are matched on ``m.in_reply_to``.

A check that nothing (more) came never rests on a sleep alone: it first waits for a positive signal
— n more scheduler ticks or forum/SUMO polls on the bot's /metrics (``BotProcess.wait_for_ticks``,
``wait_for_polls``), or a later answer (``ChatUser.answered_later``) — and then for the checking user's
sync to have passed a marker (``ChatUser.caught_up``), so what the bot sent before is in ``events``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from nio import (
    AsyncClient,
    AsyncClientConfig,
    LoginResponse,
    RoomCreateResponse,
    RoomPutStateResponse,
    RoomSendResponse,
    SyncResponse,
)
from prometheus_client.parser import text_string_to_metric_families

from bot.demo.local_synapse import LocalSynapse, free_port
from bot.matrix.events import OUTBOX_KEY_FIELD

PROJECT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery staple"
DEFAULT_TIMEOUT = 20.0
# The installed console script to test instead of the source tree (`make test` sets it to the
# fxhelp-bot that the Dockerfile's replay installed from the wheel).
INSTALLED_VARIABLE = "FXHELP_E2E_INSTALLED"
MARKER_TYPE = "org.fxhelp.e2e.marker"  # not a message: the bot ignores it
POLL_METRICS = {"forum": "fxhelp_forum_polls_total", "sumo": "fxhelp_sumo_polls_total"}


def installed_bot() -> Path | None:
    value = os.environ.get(INSTALLED_VARIABLE)
    if not value:
        return None
    program = Path(value)
    if not (program.is_file() and os.access(program, os.X_OK)):
        raise RuntimeError(f"{INSTALLED_VARIABLE}={value}: not an installed fxhelp-bot program")
    return program


def bot_command(module: str = "bot") -> tuple[list[str], Path | None]:
    """The command line that starts the bot (before ``run``/``check-config``) and the folder to start it
    in (None: any). From the source tree, ``python -m <module>`` in the project. Installed, the console
    script, or for a test entry module (tests/e2e/crashing_bot.py) that file run by the installed
    Python, away from the project, so the package comes from the install and not the source tree."""
    installed = installed_bot()
    if installed is None:
        return [sys.executable, "-m", module], PROJECT
    if module == "bot":
        return [str(installed)], None
    return [str(installed.parent / "python"), str(PROJECT / (module.replace(".", "/") + ".py"))], None


class ChatUser:
    def __init__(self, synapse: LocalSynapse, localpart: str) -> None:
        self.localpart = localpart
        self.user_id = f"@{localpart}:localhost"
        self._synapse = synapse
        self.client = AsyncClient(synapse.url, self.user_id, config=AsyncClientConfig(request_timeout=30))
        self.events: list[tuple[str, dict[str, Any]]] = []
        self._changed = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._txn = 0

    async def start(self) -> None:
        await self._synapse.register(self.localpart, PASSWORD)
        response = await self.client.login(PASSWORD, device_name=f"e2e-{self.localpart}")
        assert isinstance(response, LoginResponse), response
        first = await self.client.sync(timeout=0, full_state=True)
        assert isinstance(first, SyncResponse), first
        self._task = asyncio.create_task(self._sync_forever())

    async def close(self) -> None:
        self._closing = True
        while self._task is not None and not self._task.done():
            # A cancel that lands just as aiohttp's own request timeout fires is taken for that timeout
            # (asyncio.timeout on Python 3.11), and nio retries the request: cancel until it has ended.
            # It happens after a synchronous test (the demo's) held the session's loop past a sync's timeout.
            self._task.cancel()
            await asyncio.wait({self._task}, timeout=1)
        if self._task is not None and not self._task.cancelled():
            with contextlib.suppress(Exception):
                self._task.result()
        await self.client.close()

    async def _sync_forever(self) -> None:
        while not self._closing:
            # A large timeline limit: the test users must see every event, never a limited gap.
            response = await self.client.sync(timeout=5000, sync_filter={"room": {"timeline": {"limit": 1000}}})
            if not isinstance(response, SyncResponse):
                await asyncio.sleep(0.2)
                continue
            for room_id in response.rooms.invite:
                await self.client.join(room_id)
            fresh = [(room_id, event.source) for room_id, info in response.rooms.join.items()
                     for event in info.timeline.events]
            if fresh:
                async with self._changed:
                    self.events.extend(fresh)
                    self._changed.notify_all()

    async def send(self, room_id: str, body: str, *, thread_root: str | None = None, msgtype: str = "m.text",
                   extra: dict[str, Any] | None = None) -> str:
        content: dict[str, Any] = {"msgtype": msgtype, "body": body}
        if thread_root is not None:
            content["m.relates_to"] = {"rel_type": "m.thread", "event_id": thread_root, "is_falling_back": True,
                                       "m.in_reply_to": {"event_id": thread_root}}
        content.update(extra or {})
        self._txn += 1
        response = await self.client.room_send(room_id, "m.room.message", content, tx_id=f"{time.time()}-{self._txn}")
        assert isinstance(response, RoomSendResponse), response
        return response.event_id

    async def wait_for(self, predicate: Callable[[str, dict[str, Any]], bool], timeout: float = DEFAULT_TIMEOUT,
                       count: int = 1) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        async with self._changed:
            while True:
                found = [event for room_id, event in self.events if predicate(room_id, event)]
                if len(found) >= count:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"{self.localpart}: only {len(found)} of {count} expected events in {timeout} s")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), remaining)

    def matching(self, predicate: Callable[[str, dict[str, Any]], bool]) -> list[dict[str, Any]]:
        return [event for room_id, event in self.events if predicate(room_id, event)]

    async def ask(self, room_id: str, body: str, *, thread_root: str | None = None,
                  timeout: float = DEFAULT_TIMEOUT) -> dict[str, Any]:
        """Send a command and return the bot's answer to it."""
        event_id = await self.send(room_id, body, thread_root=thread_root)
        return (await self.wait_for(replies_to(event_id), timeout))[0]

    async def caught_up(self, *rooms: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Send a marker event (a type the bot ignores) into each room and wait until this user's own
        sync shows it: every event the homeserver had in those rooms before is then in ``events``."""
        for room_id in rooms:
            self._txn += 1
            response = await self.client.room_send(room_id, MARKER_TYPE, {"n": self._txn},
                                                   tx_id=f"{time.time()}-{self._txn}")
            assert isinstance(response, RoomSendResponse), response
            marker = response.event_id
            await self.wait_for(lambda room, event, _id=marker: event.get("event_id") == _id, timeout)

    async def answered_later(self, room_id: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        """A later answer, the positive signal before checking that commands got no (more) answers.

        ``!ping`` is sent once this user has seen what came before, so it lands in a later sync batch than
        the commands already answered; the bot handles a batch whole before its next sync, so after a
        second ``answered_later`` the batch of the first is done, re-handled commands and all. And this
        user has synced everything the bot sent in the room before the answer."""
        await self.ask(room_id, "!ping", timeout=timeout)


def replies_to(event_id: str) -> Callable[[str, dict[str, Any]], bool]:
    def predicate(room_id: str, event: dict[str, Any]) -> bool:
        relates = event.get("content", {}).get("m.relates_to", {})
        return relates.get("m.in_reply_to", {}).get("event_id") == event_id
    return predicate


def notices_in(room: str, containing: str = "", sender: str | None = None) -> Callable[[str, dict[str, Any]], bool]:
    def predicate(room_id: str, event: dict[str, Any]) -> bool:
        content = event.get("content", {})
        return (room_id == room and content.get("msgtype") == "m.notice" and containing in content.get("body", "")
                and (sender is None or event.get("sender") == sender))
    return predicate



def pings_in(room: str, containing: str, sender: str | None = None) -> Callable[[str, dict[str, Any]], bool]:
    """The bot's pings: m.text, so that they notify (a notice never does)."""
    def predicate(room_id: str, event: dict[str, Any]) -> bool:
        content = event.get("content", {})
        return (room_id == room and content.get("msgtype") == "m.text" and containing in content.get("body", "")
                and (sender is None or event.get("sender") == sender))
    return predicate

def body(event: dict[str, Any]) -> str:
    return event["content"]["body"]


async def create_room(owner: ChatUser, name: str, invite: list[ChatUser], power: dict[str, int] | None = None) -> str:
    response = await owner.client.room_create(name=name, invite=[u.user_id for u in invite])
    assert isinstance(response, RoomCreateResponse), response
    room_id = response.room_id
    for user in invite:
        await user.client.join(room_id)
    if power:
        state = await owner.client.room_get_state_event(room_id, "m.room.power_levels")
        content = dict(state.content)
        content["users"] = {**content.get("users", {}), **power}
        put = await owner.client.room_put_state(room_id, "m.room.power_levels", content)
        assert isinstance(put, RoomPutStateResponse), put
    return room_id


class BotProcess:
    """The real bot, started with ``python -m bot run`` (or another entry module) and a config file,
    or as installed (see ``bot_command``)."""

    def __init__(self, folder: Path, config: dict[str, Any], module: str = "bot") -> None:
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.config_path = folder / "config.yaml"
        self.log_path = folder / "bot.log"
        self.http_port = free_port()
        config = {**config, "http": {"listen": f"127.0.0.1:{self.http_port}"}}
        config.setdefault("storage", {"path": str(folder / "fxhelp.db")})
        self.config_path.write_text(yaml.safe_dump(config))
        self.module = module
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def health_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}/healthz"

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}/metrics"

    async def metric(self, name: str, labels: dict[str, str] | None = None) -> float:
        """One sample of the bot's /metrics, e.g. ``fxhelp_scheduler_ticks_total`` (0 when not shown)."""
        async with aiohttp.ClientSession() as session, session.get(self.metrics_url) as resp:
            assert resp.status == 200, resp.status
            page = await resp.text()
        for family in text_string_to_metric_families(page):
            for sample in family.samples:
                if sample.name == name and all(sample.labels.get(k) == v for k, v in (labels or {}).items()):
                    return sample.value
        return 0.0

    async def wait_for_ticks(self, n: int = 1, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Wait for ``n`` whole scheduler ticks begun after this call (each counted when its work is done).

        A tick under way at the call may have begun before what the test just did, so the counter must
        grow by n + 1. Fails the test after ``timeout`` seconds."""
        await self._wait_for_growth("fxhelp_scheduler_ticks_total", None, n + 1, timeout, f"{n} scheduler ticks")

    async def wait_for_polls(self, kind: str, n: int = 1, outcome: str = "ok",
                             timeout: float = DEFAULT_TIMEOUT) -> None:
        """Wait for ``n`` whole polls of ``kind`` ("forum" or "sumo") with that outcome, begun after this
        call (a poll under way may have begun before: the counter must grow by n + 1)."""
        await self._wait_for_growth(POLL_METRICS[kind], {"outcome": outcome}, n + 1, timeout,
                                    f"{n} {kind} polls ({outcome})")

    async def _wait_for_growth(self, name: str, labels: dict[str, str] | None, growth: int, timeout: float,
                               what: str) -> None:
        start = await self.metric(name, labels)
        deadline = time.monotonic() + timeout
        value = start
        while value < start + growth:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"the bot exited with {self.process.returncode}:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what} did not happen in {timeout} s ({name}: {start} → {value})")
            await asyncio.sleep(0.1)
            value = await self.metric(name, labels)

    async def start(self, timeout: float = 30) -> None:
        log = open(self.log_path, "ab")  # noqa: SIM115 - owned by the child
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        command, cwd = bot_command(self.module)
        self.process = subprocess.Popen([*command, "run", "--config", str(self.config_path)],
                                        cwd=cwd or self.folder, stdout=log, stderr=log, env=env)
        log.close()
        await self.wait_healthy(timeout)

    async def wait_healthy(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                if self.process is not None and self.process.poll() is not None:
                    raise RuntimeError(f"the bot exited with {self.process.returncode}:\n{self.log_tail()}")
                with contextlib.suppress(aiohttp.ClientError, OSError):
                    async with session.get(self.health_url) as resp:
                        if resp.status == 200:
                            return
                await asyncio.sleep(0.1)
        raise TimeoutError(f"the bot did not become healthy in {timeout} s:\n{self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL: no clean shutdown, as in a crash."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> int | None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                return self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode if self.process else None

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def keyed(room: str, pattern: str) -> Callable[[str, dict[str, Any]], bool]:
    """The bot's scheduled messages in one room whose outbox key matches ``pattern`` (a regex)."""
    def predicate(room_id: str, event: dict[str, Any]) -> bool:
        key = event.get("content", {}).get(OUTBOX_KEY_FIELD)
        return room_id == room and isinstance(key, str) and re.fullmatch(pattern, key) is not None
    return predicate


async def ask_until(user: ChatUser, room: str, command: str, expected: str, attempts: int = 20) -> str:
    """Ask again until the answer holds ``expected`` (a poll or a thread answer may land a moment later)."""
    answer = ""
    for _ in range(attempts):
        answer = body(await user.ask(room, command))
        if expected in answer:
            return answer
        await asyncio.sleep(0.3)
    raise AssertionError(f"{command!r} never answered with {expected!r}; last: {answer!r}")


async def open_consult(user: ChatUser, room: str, tweet: str, thoughts: str) -> tuple[int, str]:
    """Ask for a consult; returns its number and its thread root's event ID."""
    answer = body(await user.ask(room, f"!consult {tweet} {thoughts}"))
    number = int(re.search(r"Consult #(\d+) is open", answer).group(1))
    root = (await user.wait_for(keyed(room, f"consult:{number}:root")))[0]
    return number, root["event_id"]
