"""End-to-end fixtures: one Synapse per test session, chat users, fresh rooms and a bot per module."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.demo.local_synapse import LocalSynapse
from tests.e2e.harness import PASSWORD, BotProcess, ChatUser, create_room

HERE = Path(__file__).resolve().parent


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test under tests/e2e/ is ``e2e``, so ``-m "not e2e"`` never starts Synapse.

    (A ``pytestmark`` in a conftest is ignored by pytest; this runs before ``-m`` deselects.)
    """
    for item in items:
        if item.path.resolve().is_relative_to(HERE):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
async def synapse(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[LocalSynapse]:
    server = LocalSynapse(tmp_path_factory.mktemp("synapse"))
    await server.start()
    await server.register("fxhelpbot", PASSWORD)
    yield server
    server.stop()


@dataclass
class Cast:
    """Who is in the rooms: an admin who creates them, a contributor, two moderators, an outsider."""

    host: ChatUser
    alice: ChatUser      # a contributor
    mod: ChatUser        # a moderator by power level 50 in the moderators' room
    cfgmod: ChatUser     # a moderator by configuration
    eve: ChatUser        # an outsider: in the contributors' room, moderator of nothing
    bot_user_id: str = "@fxhelpbot:localhost"


@pytest.fixture(scope="session")
async def cast(synapse: LocalSynapse) -> AsyncIterator[Cast]:
    users = [ChatUser(synapse, name) for name in ("host", "alice", "mod", "cfgmod", "eve")]
    for user in users:
        await user.start()
    yield Cast(*users)
    for user in users:
        await user.close()


@dataclass
class Rooms:
    contributors: str
    moderators: str


_room_numbers = itertools.count(1)


async def make_rooms(cast: Cast, bot: ChatUser | None = None) -> Rooms:
    number = next(_room_numbers)
    people = [cast.alice, cast.mod, cast.cfgmod, cast.eve]
    contributors = await create_room(cast.host, f"contributors {number}", people)
    moderators = await create_room(cast.host, f"moderators {number}", [cast.mod, cast.cfgmod],
                                   power={cast.mod.user_id: 50})
    for room in (contributors, moderators):
        await cast.host.client.room_invite(room, cast.bot_user_id)
    return Rooms(contributors, moderators)


def bot_config(synapse: LocalSynapse, cast: Cast, rooms: Rooms, **sections: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "matrix": {"homeserver": synapse.url, "user_id": cast.bot_user_id, "password": PASSWORD,
                   "device_name": "fxhelp-bot e2e"},
        "rooms": {"contributors": rooms.contributors, "moderators": rooms.moderators},
        "moderators": {"users": [cast.cfgmod.user_id], "min_power_level": 50, "ping": [cast.mod.user_id]},
        "scheduler": {"tick": "1s"},
        "log": {"level": "debug"},
    }
    for name, value in sections.items():
        config[name] = {**config.get(name, {}), **value} if isinstance(value, dict) else value
    return config


@pytest.fixture
def bot_factory(synapse: LocalSynapse, cast: Cast, tmp_path: Path) -> Callable[..., Any]:
    """Make (and afterwards stop) bot processes with a config built from sections."""
    started: list[BotProcess] = []

    async def make(rooms: Rooms, module: str = "bot", folder: Path | None = None, **sections: Any) -> BotProcess:
        process = BotProcess(folder or tmp_path / f"bot{len(started)}", bot_config(synapse, cast, rooms, **sections),
                             module=module)
        started.append(process)
        await process.start()
        return process

    yield make
    for process in started:
        process.stop()


@pytest.fixture
async def rooms(cast: Cast) -> Rooms:
    """A fresh pair of rooms for each test, so no bot ever sees another test's messages."""
    return await make_rooms(cast)
