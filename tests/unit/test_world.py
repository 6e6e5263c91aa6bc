"""The unit tier's world builder (tests/unit/world.py) has the bot's own command table: the same commands,
declared the same way, as ``bot.app.build_bot`` makes from the same configuration."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.app import build_bot
from bot.clock import FakeClock
from bot.config import SumoConfig, config_from_mapping
from bot.framework.command import Command
from bot.services.kitsune import KitsuneClient
from tests.unit.world import BOT, CONTRIBUTORS, MOD, MODERATORS_ROOM, Settings, build_world


def config(tmp_path: Path, **sections: Any) -> dict[str, Any]:
    return {
        "matrix": {"homeserver": "http://127.0.0.1:1", "user_id": BOT, "password": "pw"},
        "rooms": {"contributors": CONTRIBUTORS, "moderators": MODERATORS_ROOM},
        "moderators": {"users": [MOD], "ping": [MOD]},
        "storage": {"path": str(tmp_path / "bot" / "fxhelp.db")},
        "http": {"listen": None},
        **sections,
    }


async def production_table(tmp_path: Path, raw: dict[str, Any]) -> list[Any]:
    bot = await build_bot(config_from_mapping(raw, tmp_path, {}), FakeClock())
    try:
        return list(bot.table)
    finally:
        for close in reversed(bot.closers):
            with contextlib.suppress(Exception):
                result = close()
                if result is not None:
                    await result
        await bot.client.close()
        await bot.storage.close()


def declared(command: Command) -> tuple[Any, ...]:
    """What a declaration says (its handler and argument converters are functions of each build)."""
    arguments = tuple((a.name, a.optional, a.greedy, a.raw, a.default, a.help, a.choices) for a in command.args)
    return (command.name, command.summary, command.usage("!"), arguments, command.permission, command.examples,
            command.details, command.effects, command.after_edit, command.reaction)


SUMO = {"api_url": "http://127.0.0.1:1", "locales": ["en-US"]}
FORUM = {"base_url": "http://127.0.0.1:1", "api_key": "k", "api_username": "fxhelp-bot", "category_id": 7}


@pytest.mark.parametrize(("sections", "settings"), [
    ({}, Settings()),
    ({"sumo": SUMO, "forum": FORUM}, Settings(sumo=SumoConfig(**SUMO), forum_enabled=True)),
    ({"http": {"listen": "127.0.0.1:0", "public_url": "https://fxhelp.example.org"}},
     Settings(dashboard_url="https://fxhelp.example.org")),
], ids=["plain", "sumo-and-forum", "dashboard"])
async def test_a_world_has_the_command_table_build_bot_makes(tmp_path: Path, sections: dict[str, Any],
                                                             settings: Settings) -> None:
    expected = await production_table(tmp_path, config(tmp_path, **sections))
    async with aiohttp.ClientSession() as session:
        kitsune = KitsuneClient(session, SUMO["api_url"]) if settings.sumo is not None else None
        world = await build_world(tmp_path / "world.db", FakeClock(), settings, kitsune=kitsune)
        try:
            built = list(world.table)
        finally:
            await world.close()

    assert [c.name for c in built] == [c.name for c in expected]
    assert [declared(c) for c in built] == [declared(c) for c in expected]
    assert len(expected) > 20
