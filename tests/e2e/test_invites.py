"""Invites are trusted by room ID only: an invite's stripped state comes from the inviter's side and
proves nothing, so a configured alias is resolved on the homeserver before an invite is accepted."""

from __future__ import annotations

import asyncio
import secrets

from nio import AsyncClient, LoginResponse, RoomCreateResponse, RoomPutStateResponse

from tests.e2e.conftest import Rooms, bot_config
from tests.e2e.harness import PASSWORD, BotProcess, ChatUser, body, create_room


async def membership(owner: ChatUser, room_id: str, user_id: str) -> str | None:
    state = await owner.client.room_get_state_event(room_id, "m.room.member", user_id)
    return getattr(state, "content", {}).get("membership")


async def wait_membership(owner: ChatUser, room_id: str, user_id: str, wanted: str, timeout: float = 30) -> None:
    for _ in range(int(timeout * 10)):
        if await membership(owner, room_id, user_id) == wanted:
            return
        await asyncio.sleep(0.1)
    raise TimeoutError(f"{user_id} never reached {wanted} in {room_id}")


async def wait_for_log(bot: BotProcess, text: str, timeout: float = 30) -> None:
    for _ in range(int(timeout * 10)):
        if bot.log_path.exists() and text in bot.log_text():
            return
        await asyncio.sleep(0.1)
    raise TimeoutError(f"never logged {text!r}:\n{bot.log_tail()}")


async def test_a_forged_alias_in_an_invite_is_declined_and_the_real_room_is_joined(synapse, cast, tmp_path):
    tag = secrets.token_hex(4)
    alias_name = f"mods-{tag}"
    alias = f"#{alias_name}:localhost"
    stranger = ChatUser(synapse, f"stranger{tag}")
    await stranger.start()
    await synapse.register(f"diradmin{tag}", PASSWORD, admin=True)
    admin = AsyncClient(synapse.url, f"@diradmin{tag}:localhost")
    assert isinstance(await admin.login(PASSWORD), LoginResponse)
    bot: BotProcess | None = None
    healthy: asyncio.Task[None] | None = None
    try:
        # The stranger's room first holds the alias for real, so its canonical_alias is accepted; a server
        # admin (not in that room) then frees the alias, and the stranger's room keeps claiming it: the
        # same lie any other homeserver could put in an invite's stripped state.
        created = await stranger.client.room_create(name="fxhelp moderators", alias=alias_name)
        assert isinstance(created, RoomCreateResponse), created
        forged = created.room_id
        await admin.room_delete_alias(alias)
        claimed = await stranger.client.room_get_state_event(forged, "m.room.canonical_alias")
        assert claimed.content.get("alias") == alias

        real = await cast.host.client.room_create(name="the real moderators", alias=alias_name,
                                                  invite=[cast.mod.user_id])
        assert isinstance(real, RoomCreateResponse), real
        await cast.mod.client.join(real.room_id)
        levels = await cast.host.client.room_get_state_event(real.room_id, "m.room.power_levels")
        content = {**levels.content, "users": {**levels.content.get("users", {}), cast.mod.user_id: 50}}
        assert isinstance(await cast.host.client.room_put_state(real.room_id, "m.room.power_levels", content),
                          RoomPutStateResponse)
        contributors = await create_room(cast.host, f"contributors {tag}", [cast.alice, cast.mod, stranger])
        await cast.host.client.room_invite(contributors, cast.bot_user_id)

        bot = BotProcess(tmp_path / "bot", bot_config(synapse, cast, Rooms(contributors, alias)))
        healthy = asyncio.create_task(bot.start(timeout=120))  # healthy only once the moderators' room is joined
        await wait_for_log(bot, "waiting for an invite")

        await stranger.client.room_invite(forged, cast.bot_user_id)
        await wait_membership(stranger, forged, cast.bot_user_id, "leave")
        assert not any(room == forged and event.get("type") == "m.room.member"
                       and event.get("state_key") == cast.bot_user_id
                       and event.get("content", {}).get("membership") == "join" for room, event in stranger.events)
        assert not healthy.done()
        assert "You are a moderator" not in body(await stranger.ask(contributors, "!help"))

        await cast.host.client.room_invite(real.room_id, cast.bot_user_id)
        await healthy
        assert await membership(cast.host, real.room_id, cast.bot_user_id) == "join"
        assert "You are a moderator" in body(await cast.mod.ask(contributors, "!help"))
        assert "You are a moderator" not in body(await stranger.ask(contributors, "!help"))
        assert "is for moderators only" in body(await stranger.ask(contributors, "!stats"))
    finally:
        if healthy is not None and not healthy.done():
            healthy.cancel()
        if bot is not None:
            bot.stop()
        await stranger.close()
        await admin.close()
