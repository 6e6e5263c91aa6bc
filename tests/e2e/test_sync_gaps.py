"""Nothing lost, nothing twice: a first start, a downtime, a homeserver that goes away mid-burst.

Answers are counted by ``m.in_reply_to`` as users see them; each command must get exactly one.
"""

from __future__ import annotations

import asyncio
import contextlib
import random

import aiohttp

from tests.e2e.harness import PASSWORD, ChatUser, replies_to


def _answers(watcher: ChatUser, command: str) -> int:
    return len(watcher.matching(replies_to(command)))


async def _wait_answered(watcher: ChatUser, commands: list[str], timeout: float = 60) -> None:
    for command in commands:
        await watcher.wait_for(replies_to(command), timeout=timeout)


def _is_bot_join(room: str, bot_user_id: str):
    def predicate(room_id, event):
        return (room_id == room and event.get("type") == "m.room.member" and event.get("state_key") == bot_user_id
                and event.get("content", {}).get("membership") == "join")
    return predicate


async def test_a_command_sent_the_instant_the_bot_joins_is_answered_once(cast, rooms, bot_factory):
    history = await cast.alice.send(rooms.contributors, "!ping")  # before the bot ever joined
    starting = asyncio.create_task(bot_factory(rooms))
    await cast.alice.wait_for(_is_bot_join(rooms.contributors, cast.bot_user_id), timeout=30)
    # The instant the join shows: a few commands, before the bot's first sync can have ended.
    commands = [await cast.alice.send(rooms.contributors, "!ping") for _ in range(3)]
    await starting
    await _wait_answered(cast.alice, commands, timeout=30)
    later = await cast.alice.send(rooms.contributors, "!ping")
    await cast.alice.wait_for(replies_to(later))  # a positive signal before the absence checks
    await cast.alice.answered_later(rooms.contributors)
    assert [_answers(cast.alice, c) for c in commands] == [1, 1, 1]
    assert _answers(cast.alice, history) == 0


async def test_twenty_five_commands_during_a_downtime_are_each_answered_once(cast, rooms, bot_factory):
    """The scenario of issue 11, item 3: one answered !ping, SIGKILL, 25 commands, restart 1 s later."""
    bot = await bot_factory(rooms)
    first = await cast.alice.send(rooms.contributors, "!ping")
    await cast.alice.wait_for(replies_to(first))
    bot.kill()
    bodies = ["!ping" if i % 2 == 0 else "!help ping" for i in range(25)]
    commands = [await cast.alice.send(rooms.contributors, text) for text in bodies]
    await asyncio.sleep(1)
    await bot.start()
    await _wait_answered(cast.alice, commands)
    later = await cast.alice.send(rooms.contributors, "!ping")
    await cast.alice.wait_for(replies_to(later))
    await cast.alice.answered_later(rooms.contributors)
    assert [_answers(cast.alice, c) for c in [first, *commands]] == [1] * 26


async def _burst(senders: list[ChatUser], room: str, total: int, thread_root: str, rng: random.Random) -> list[str]:
    """``total`` commands from the senders in turn, every fourth in a thread."""
    sent: list[str] = []
    for i in range(total):
        user = senders[i % len(senders)]
        text = rng.choice(["!ping", "!help ping", "!help"])
        sent.append(await user.send(room, text, thread_root=thread_root if i % 4 == 3 else None))
    return sent


async def test_a_kill_during_a_burst_from_three_senders_loses_and_doubles_nothing(cast, rooms, bot_factory):
    rng = random.Random(11)
    bot = await bot_factory(rooms)
    root = await cast.alice.send(rooms.contributors, "a thread for the soak")
    senders = [cast.alice, cast.eve, cast.mod]
    sending = asyncio.create_task(_burst(senders, rooms.contributors, 25, root, rng))
    await asyncio.sleep(rng.uniform(0.2, 0.8))
    bot.kill()
    commands = await sending
    await bot.start()
    await _wait_answered(cast.alice, commands)
    later = await cast.alice.send(rooms.contributors, "!ping")
    await cast.alice.wait_for(replies_to(later))
    await cast.alice.answered_later(rooms.contributors)
    counts = [_answers(cast.alice, c) for c in commands]
    assert (counts.count(0), sum(n - 1 for n in counts if n > 1)) == (0, 0), counts


async def test_a_homeserver_restart_during_a_burst_loses_and_doubles_nothing(synapse, cast, rooms, bot_factory):
    rng = random.Random(12)
    await bot_factory(rooms)
    root = await cast.alice.send(rooms.contributors, "a thread for the soak")
    senders = [cast.alice, cast.eve, cast.mod]
    first = await _burst(senders, rooms.contributors, 12, root, rng)
    synapse.stop()  # the bot is answering the first half: its sends are refused
    await asyncio.sleep(1)
    await synapse.start()
    commands = first + await _burst(senders, rooms.contributors, 13, root, rng)
    await _wait_answered(cast.alice, commands, timeout=90)
    later = await cast.alice.send(rooms.contributors, "!ping")
    await cast.alice.wait_for(replies_to(later), timeout=30)
    await cast.alice.answered_later(rooms.contributors)
    counts = [_answers(cast.alice, c) for c in commands]
    assert (counts.count(0), sum(n - 1 for n in counts if n > 1)) == (0, 0), counts


@contextlib.asynccontextmanager
async def bot_rate_limited(synapse, bot_user_id: str, per_second: float, burst: int):
    """Synapse's own per-user message rate limit on the bot (its admin API), lifted afterwards."""
    await synapse.register("ratelimitadmin", PASSWORD, admin=True)
    async with aiohttp.ClientSession() as session:
        login = {"type": "m.login.password", "identifier": {"type": "m.id.user", "user": "ratelimitadmin"},
                 "password": PASSWORD}
        async with session.post(f"{synapse.url}/_matrix/client/v3/login", json=login) as resp:
            token = (await resp.json())["access_token"]
        url = f"{synapse.url}/_synapse/admin/v1/users/{bot_user_id}/override_ratelimit"
        headers = {"Authorization": f"Bearer {token}"}
        async with session.post(url, headers=headers,
                                json={"messages_per_second": per_second, "burst_count": burst}) as resp:
            assert resp.status == 200, await resp.text()
        try:
            yield
        finally:
            async with session.delete(url, headers=headers) as resp:
                assert resp.status == 200, await resp.text()


async def test_answers_refused_by_the_homeserver_rate_limit_are_sent_later_not_lost(synapse, cast, rooms,
                                                                                     bot_factory):
    """After a downtime, more answers at once than the homeserver lets the bot send: each is sent once."""
    bot = await bot_factory(rooms)
    await cast.alice.ask(rooms.contributors, "!ping")  # the first start is done
    bot.kill()
    commands = [await cast.alice.send(rooms.contributors, "!ping" if i % 2 else "!help ping") for i in range(15)]
    async with bot_rate_limited(synapse, cast.bot_user_id, per_second=1, burst=2):
        await bot.start()
        await _wait_answered(cast.alice, commands, timeout=90)
    later = await cast.alice.send(rooms.contributors, "!ping")
    await cast.alice.wait_for(replies_to(later))
    await cast.alice.answered_later(rooms.contributors)
    counts = [_answers(cast.alice, c) for c in commands]
    assert counts == [1] * 15, counts
    assert not [e for e in cast.alice.matching(lambda room, e: room == rooms.contributors)
                if "something went wrong" in e.get("content", {}).get("body", "")]
    assert "rate limited" in bot.log_text()
