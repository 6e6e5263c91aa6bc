"""``fxhelp-bot demo``: the first-run experience on this machine alone.

It starts a Synapse on 127.0.0.1 in a folder of the project, registers the bot, a demo contributor
and a demo moderator, creates the contributors' and the moderators' rooms, starts the bot in them,
and gives a chat prompt as the contributor. Everything it makes is kept in the folder, so a second
run reuses it. Ctrl-C (or Ctrl-D) stops everything it started.

Every feature is on. ``!kb`` and ``!questions`` read the real support.mozilla.org (its reads are
public) and say so when it cannot be reached; ``!shorten`` explains how to give it a Bitly token and
works once ``FXHELP_BITLY_TOKEN`` is set. The environment can point the demo elsewhere:

- ``FXHELP_DEMO_SUMO_URL``: another Kitsune (a local copy, a test double) instead of support.mozilla.org;
- ``FXHELP_DEMO_SUMO_CONTACT``: how support.mozilla.org can reach you (sent in the User-Agent);
- ``FXHELP_DEMO_BITLY_URL``: another Bitly API address; ``FXHELP_DEMO_BITLY_DOMAIN``: the short
  domain (``bit.ly`` by default, which any Bitly account has; ``mzl.la`` needs Mozilla's account).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

import aiohttp
import yaml
from nio import AsyncClient, LoginResponse, RoomCreateResponse, SyncResponse

from bot.demo.local_synapse import LocalSynapse, SynapseNotInstalled, free_port

# Relative to where it is started: the project's demo/ under ``make demo``; never inside an installed package.
DEFAULT_FOLDER = Path("demo")
BOT, CONTRIBUTOR, MODERATOR = "fxhelp-bot", "contributor", "moderator"
SUMO_URL_VARIABLE = "FXHELP_DEMO_SUMO_URL"
SUMO_CONTACT_VARIABLE = "FXHELP_DEMO_SUMO_CONTACT"
BITLY_URL_VARIABLE = "FXHELP_DEMO_BITLY_URL"
BITLY_DOMAIN_VARIABLE = "FXHELP_DEMO_BITLY_DOMAIN"
BITLY_TOKEN_VARIABLE = "FXHELP_BITLY_TOKEN"
SUMO_URL = "https://support.mozilla.org"


@dataclass
class DemoState:
    passwords: dict[str, str]
    contributors_room: str = ""
    moderators_room: str = ""
    http_port: int = 0


def run_demo(folder: Path | None = None) -> int:
    folder = (folder or DEFAULT_FOLDER).resolve()
    # SIGTERM (a closed terminal, a supervisor) must clean up like Ctrl-C, or Synapse and the bot
    # would be left running.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        return asyncio.run(_demo(folder))
    except KeyboardInterrupt:
        return 0
    except SynapseNotInstalled as error:
        print(f"fxhelp-bot demo: {error}", file=sys.stderr)
        return 1


async def _demo(folder: Path) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    state = _load_state(folder)
    synapse = LocalSynapse(folder / "synapse")
    bot_process: subprocess.Popen[bytes] | None = None
    clients: list[AsyncClient] = []
    print(f"Starting a local Synapse in {synapse.folder} ...")
    await synapse.start()
    try:
        for name in (BOT, CONTRIBUTOR, MODERATOR):
            await synapse.register(name, state.passwords[name])
        moderator = await _login(synapse, MODERATOR, state)
        contributor = await _login(synapse, CONTRIBUTOR, state)
        clients += [moderator, contributor]
        await _ensure_rooms(state, moderator, contributor)
        _save_state(folder, state)
        config_path = _write_bot_config(folder, synapse, state)
        bot_process = _start_bot(folder, config_path)
        await _wait_for_bot(bot_process, state.http_port, folder)
        _print_welcome(synapse, state, folder)
        await _chat(contributor, moderator, state, bot_process)
    finally:
        for client in clients:
            await client.close()
        if bot_process is not None and bot_process.poll() is None:
            bot_process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                bot_process.wait(15)
        synapse.stop()
        print("\nStopped the bot and the homeserver. `make demo` starts them again.")
    return 0


def _load_state(folder: Path) -> DemoState:
    path = folder / "demo.json"
    if path.exists():
        return DemoState(**json.loads(path.read_text()))
    return DemoState(passwords={name: secrets.token_urlsafe(9) for name in (BOT, CONTRIBUTOR, MODERATOR)},
                     http_port=free_port())


def _save_state(folder: Path, state: DemoState) -> None:
    path = folder / "demo.json"
    path.write_text(json.dumps(asdict(state), indent=2))
    path.chmod(0o600)


async def _login(synapse: LocalSynapse, name: str, state: DemoState) -> AsyncClient:
    client = AsyncClient(synapse.url, f"@{name}:localhost")
    response = await client.login(state.passwords[name], device_name="fxhelp demo prompt")
    if not isinstance(response, LoginResponse):
        raise RuntimeError(f"demo login for {name} failed: {response}")
    return client


async def _ensure_rooms(state: DemoState, moderator: AsyncClient, contributor: AsyncClient) -> None:
    """The moderator creates both rooms (as creator, a moderator by power); the others are invited."""
    bot_id, contributor_id = f"@{BOT}:localhost", contributor.user_id
    if not state.contributors_room:
        created = await moderator.room_create(name="fxhelp contributors", alias="fxhelp-demo",
                                              invite=[bot_id, contributor_id])
        if not isinstance(created, RoomCreateResponse):
            raise RuntimeError(f"creating the contributors' room failed: {created}")
        state.contributors_room = created.room_id
    if not state.moderators_room:
        created = await moderator.room_create(name="fxhelp moderators", alias="fxhelp-demo-mods", invite=[bot_id])
        if not isinstance(created, RoomCreateResponse):
            raise RuntimeError(f"creating the moderators' room failed: {created}")
        state.moderators_room = created.room_id
    await contributor.join(state.contributors_room)


def _write_bot_config(folder: Path, synapse: LocalSynapse, state: DemoState) -> Path:
    config = {
        "matrix": {"homeserver": synapse.url, "user_id": f"@{BOT}:localhost", "password": state.passwords[BOT],
                   "device_name": "fxhelp-bot demo"},
        "rooms": {"contributors": state.contributors_room, "moderators": state.moderators_room},
        "moderators": {"users": [], "min_power_level": 50, "ping": [f"@{MODERATOR}:localhost"]},
        "storage": {"path": str(folder / "bot" / "fxhelp.db")},
        "http": {"listen": f"127.0.0.1:{state.http_port}"},
        "scheduler": {"tick": "10s"},
        **outside_services(os.environ),
    }
    path = folder / "bot-config.yaml"
    path.write_text(yaml.safe_dump(config))
    path.chmod(0o600)
    return path


def outside_services(environ: Mapping[str, str]) -> dict[str, dict[str, object]]:
    """The sumo and shortener sections: the real services unless the environment says otherwise.
    The Bitly token itself stays in the environment (FXHELP_BITLY_TOKEN), never in the file."""
    sumo: dict[str, object] = {"api_url": environ.get(SUMO_URL_VARIABLE) or SUMO_URL, "locales": ["en-US"]}
    if environ.get(SUMO_CONTACT_VARIABLE):
        sumo["contact"] = environ[SUMO_CONTACT_VARIABLE]
    shortener: dict[str, object] = {"domain": environ.get(BITLY_DOMAIN_VARIABLE) or "bit.ly"}
    if environ.get(BITLY_URL_VARIABLE):
        shortener["api_url"] = environ[BITLY_URL_VARIABLE]
    return {"sumo": sumo, "shortener": shortener}


def _start_bot(folder: Path, config_path: Path) -> subprocess.Popen[bytes]:
    log = open(folder / "bot.log", "ab")  # noqa: SIM115 - owned by the child
    process = subprocess.Popen([sys.executable, "-m", "bot", "run", "--config", str(config_path)],
                               stdout=log, stderr=log)
    log.close()
    return process


async def _wait_for_bot(process: subprocess.Popen[bytes], http_port: int, folder: Path) -> None:
    """Until the bot has synced once, so what is typed next is not skipped as history."""
    url = f"http://127.0.0.1:{http_port}/healthz"
    async with aiohttp.ClientSession() as session:
        for _ in range(600):
            if process.poll() is not None:
                raise RuntimeError(f"the bot exited with code {process.returncode}; see {folder / 'bot.log'}")
            with contextlib.suppress(aiohttp.ClientError, OSError):
                async with session.get(url) as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"the bot did not start within a minute; see {folder / 'bot.log'}")


def _print_welcome(synapse: LocalSynapse, state: DemoState, folder: Path) -> None:
    print(f"""
fxhelp-bot demo is running.
  Homeserver: {synapse.url}   (server name: localhost)
  Contributor login: @{CONTRIBUTOR}:localhost  password: {state.passwords[CONTRIBUTOR]}
  Moderator login:   @{MODERATOR}:localhost    password: {state.passwords[MODERATOR]}
  Rooms: #fxhelp-demo:localhost (contributors), #fxhelp-demo-mods:localhost (moderators)
  Bot log: {folder / 'bot.log'}   Health: http://127.0.0.1:{state.http_port}/healthz
Any Matrix client can log in with these. Below you chat as the contributor.
Type !help to start; '/mod <text>' sends as the moderator in the moderators' room. Ctrl-C quits.
  !kb and !questions read {os.environ.get(SUMO_URL_VARIABLE) or SUMO_URL} (public reads; they say so when it
  cannot be reached). !shorten {_shortener_status()}
""")


def _shortener_status() -> str:
    if os.environ.get(BITLY_TOKEN_VARIABLE):
        return "makes links with your Bitly token (FXHELP_BITLY_TOKEN)."
    return ("needs a Bitly access token: start the demo again with FXHELP_BITLY_TOKEN=<token> "
            "(bitly.com → Settings → API). Links are made on bit.ly unless FXHELP_DEMO_BITLY_DOMAIN says otherwise.")


async def _chat(contributor: AsyncClient, moderator: AsyncClient, state: DemoState,
                bot_process: subprocess.Popen[bytes]) -> None:
    first = await contributor.sync(timeout=0)
    watcher = asyncio.create_task(_print_bot_messages(contributor, moderator, state,
                                                      first.next_batch if isinstance(first, SyncResponse) else None))
    lines = _stdin_lines()
    try:
        while True:
            line = await lines.get()
            if line is None:  # end of input (Ctrl-D)
                return
            if bot_process.poll() is not None:
                print(f"(the bot stopped with exit code {bot_process.returncode}; see the bot log)")
                return
            line = line.strip()
            if not line:
                continue
            if line.startswith("/mod "):
                await moderator.room_send(state.moderators_room, "m.room.message",
                                          {"msgtype": "m.text", "body": line[5:]})
            else:
                await contributor.room_send(state.contributors_room, "m.room.message",
                                            {"msgtype": "m.text", "body": line})
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher


def _stdin_lines() -> asyncio.Queue[str | None]:
    """Typed lines as they come, read by the event loop itself: no thread left blocked on input
    when Ctrl-C ends the demo."""
    queue: asyncio.Queue[str | None] = asyncio.Queue()
    loop = asyncio.get_running_loop()

    def read_line() -> None:
        line = sys.stdin.readline()
        if not line:
            loop.remove_reader(sys.stdin.fileno())
        queue.put_nowait(line or None)

    loop.add_reader(sys.stdin.fileno(), read_line)
    return queue


async def _print_bot_messages(contributor: AsyncClient, moderator: AsyncClient, state: DemoState,
                              since: str | None) -> None:
    moderator_since = None
    first = await moderator.sync(timeout=0)
    if isinstance(first, SyncResponse):
        moderator_since = first.next_batch
    while True:
        for client, room, label, token_name in ((contributor, state.contributors_room, "bot", "c"),
                                                (moderator, state.moderators_room, "bot → moderators", "m")):
            response = await client.sync(timeout=1000, since=since if token_name == "c" else moderator_since)
            if not isinstance(response, SyncResponse):
                continue
            if token_name == "c":
                since = response.next_batch
            else:
                moderator_since = response.next_batch
            info = response.rooms.join.get(room)
            for event in info.timeline.events if info else []:
                source = event.source
                if source.get("sender") == f"@{BOT}:localhost" and source.get("type") == "m.room.message":
                    text = source.get("content", {}).get("body", "")
                    print(f"[{label}] " + text.replace("\n", "\n    "))
