"""The unit tier's world builder (tests/unit/world.py) has the bot's own command table and scheduled work:
the same commands, declared the same way, and the same scheduler kinds, per-tick jobs and message observers
as ``bot.app.build_bot`` makes from the same configuration."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.app import Features, build_bot
from bot.clock import FakeClock
from bot.config import SumoConfig, config_from_mapping
from bot.features.consults.forum import KIND as FORUM_KIND
from bot.features.stats.digest import KIND as DIGEST_KIND
from bot.framework.command import Command, CommandTable
from bot.retention import KIND as PRUNE_KIND
from bot.services.discourse import DiscourseClient
from bot.services.kitsune import KitsuneClient
from bot.storage import Storage
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


@dataclass(frozen=True)
class Built:
    table: list[Command]
    work: dict[str, Any]
    planned: list[str]  # the kinds of the schedule's rows once built, due or not


async def built(table: CommandTable, features: Features, storage: Storage) -> Built:
    """The command table, and what the features hand on, by name (their callables are of each build)."""
    return Built(list(table), {
        "scheduler kinds": sorted(features.due), "every tick": sorted(features.every_tick),
        "observers": [o.__qualname__ for o in features.observers],
        "first plans": [p.__qualname__ for p in features.first_plans],
        "health warnings": [w.__qualname__ for w in features.health_warnings],  # type: ignore[attr-defined]
        "closers": [c.__qualname__ for c in features.closers],  # type: ignore[attr-defined]
        "forum": features.forum is not None, "dashboard": features.dashboard is not None,
    }, sorted(w.kind for w in await storage.schedule.due(datetime.max.replace(tzinfo=UTC), 100)))


async def production(tmp_path: Path, raw: dict[str, Any]) -> Built:
    bot = await build_bot(config_from_mapping(raw, tmp_path, {}), FakeClock())
    try:
        return await built(bot.table, bot.features, bot.storage)
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
async def test_a_world_has_the_command_table_and_work_build_bot_makes(tmp_path: Path, sections: dict[str, Any],
                                                                     settings: Settings) -> None:
    expected = await production(tmp_path, config(tmp_path, **sections))
    async with aiohttp.ClientSession() as session:
        kitsune = KitsuneClient(session, SUMO["api_url"]) if settings.sumo is not None else None
        discourse = DiscourseClient(session, FORUM["base_url"], FORUM["api_key"], FORUM["api_username"]) \
            if settings.forum_enabled else None
        world = await build_world(tmp_path / "world.db", FakeClock(), settings, kitsune=kitsune, discourse=discourse)
        try:
            made = await built(world.table, world.features, world.storage)
        finally:
            await world.close()

    assert [c.name for c in made.table] == [c.name for c in expected.table]
    assert [declared(c) for c in made.table] == [declared(c) for c in expected.table]
    assert made.work == expected.work
    assert len(expected.table) > 20
    assert {"consult", "escalation", "digest"} <= set(expected.work["scheduler kinds"])


async def test_a_world_leaves_out_only_what_it_says(tmp_path: Path) -> None:
    """Without a Discourse client the forum is not wired; the digest and pruning rows are not planned."""
    settings = Settings(sumo=SumoConfig(**SUMO), forum_enabled=True)
    async with aiohttp.ClientSession() as session:
        world = await build_world(tmp_path / "world.db", FakeClock(), settings,
                                  kitsune=KitsuneClient(session, SUMO["api_url"]))
        try:
            without_forum = await built(world.table, world.features, world.storage)
        finally:
            await world.close()
    expected = await production(tmp_path, config(tmp_path, sumo=SUMO, forum=FORUM))

    assert [declared(c) for c in without_forum.table] == [declared(c) for c in expected.table]
    assert set(expected.work["scheduler kinds"]) - set(without_forum.work["scheduler kinds"]) == {FORUM_KIND}
    assert set(expected.work["every tick"]) - set(without_forum.work["every tick"]) == {"forum replies"}
    assert without_forum.work["forum"] is False and expected.work["forum"] is True
    assert expected.planned == [DIGEST_KIND, PRUNE_KIND] and without_forum.planned == []
