"""The foundation end to end: a real Synapse, the real bot process, real users."""

from __future__ import annotations

import asyncio
import subprocess

import aiohttp
import pytest

from tests.e2e.conftest import Rooms, bot_config
from tests.e2e.harness import BotProcess, ask_until, body, bot_command, replies_to


async def test_ping_is_a_rich_reply_notice(cast, rooms, bot_factory):
    await bot_factory(rooms)
    command = await cast.alice.send(rooms.contributors, "!ping")
    answer = (await cast.alice.wait_for(replies_to(command)))[0]
    content = answer["content"]
    assert answer["sender"] == cast.bot_user_id
    assert content["msgtype"] == "m.notice"
    assert content["m.relates_to"] == {"m.in_reply_to": {"event_id": command}}
    assert content["m.mentions"] == {}
    assert "Pong" in content["body"] and "fxhelp-bot 0.1.0" in content["body"] and "up " in content["body"]
    assert "<strong>" in content["formatted_body"]


async def test_answers_inside_a_thread(cast, rooms, bot_factory):
    await bot_factory(rooms)
    root = await cast.alice.send(rooms.contributors, "a thread about sync")
    command = await cast.alice.send(rooms.contributors, "!ping", thread_root=root)
    answer = (await cast.alice.wait_for(replies_to(command)))[0]
    relation = answer["content"]["m.relates_to"]
    assert relation["rel_type"] == "m.thread"
    assert relation["event_id"] == root
    assert relation["is_falling_back"] is True
    assert relation["m.in_reply_to"] == {"event_id": command}


async def test_help_typos_and_usage(cast, rooms, bot_factory):
    await bot_factory(rooms)
    listing = body(await cast.alice.ask(rooms.contributors, "!help"))
    assert "!ping" in listing and "!help" in listing
    detail = body(await cast.alice.ask(rooms.contributors, "!help ping"))
    assert "!ping" in detail and "Examples" in detail
    typo = body(await cast.alice.ask(rooms.contributors, "!hlep"))
    assert "Did you mean !help?" in typo
    usage = body(await cast.alice.ask(rooms.contributors, "!ping extra words"))
    assert "Usage: !ping" in usage
    unknown = body(await cast.alice.ask(rooms.contributors, "!help nosuchthing"))
    assert "no command" in unknown


async def test_declines_invites_to_other_rooms(cast, rooms, bot_factory):
    await bot_factory(rooms)
    other = await cast.host.client.room_create(name="not configured", invite=[cast.bot_user_id])

    async def bot_membership():
        state = await cast.host.client.room_get_state_event(other.room_id, "m.room.member", cast.bot_user_id)
        return state.content.get("membership")

    for _ in range(100):
        if await bot_membership() == "leave":
            break
        await asyncio.sleep(0.1)
    assert await bot_membership() == "leave"


async def test_ignores_its_own_events_and_notices(cast, rooms, bot_factory):
    await bot_factory(rooms)
    notice = await cast.alice.send(rooms.contributors, "!ping", msgtype="m.notice")
    marker = await cast.alice.send(rooms.contributors, "!ping")
    await cast.alice.wait_for(replies_to(marker))
    await cast.alice.answered_later(rooms.contributors)
    assert cast.alice.matching(replies_to(notice)) == []
    # The bot's own answers are notices starting with text it could misread; none is answered.
    bot_events = cast.alice.matching(lambda room, e: room == rooms.contributors and e.get("sender") == cast.bot_user_id)
    answered = {e["content"].get("m.relates_to", {}).get("m.in_reply_to", {}).get("event_id") for e in bot_events}
    assert not answered & {e["event_id"] for e in bot_events}


async def test_user_text_is_escaped_and_pings_nobody(cast, rooms, bot_factory):
    await bot_factory(rooms)
    answer = await cast.alice.ask(rooms.contributors, '!help "<b>@room</b> @mod:localhost"')
    content = answer["content"]
    assert "<b>" not in content["formatted_body"]
    assert "&lt;b&gt;" in content["formatted_body"]
    assert "@room" not in content["body"]          # defused with a word joiner
    assert content["m.mentions"] == {}
    assert "matrix.to" not in content["formatted_body"]


async def test_commands_sent_while_down_are_answered_once(cast, rooms, bot_factory):
    bot = await bot_factory(rooms)
    before = await cast.alice.send(rooms.contributors, "!ping")
    await cast.alice.wait_for(replies_to(before))
    bot.kill()
    one = await cast.alice.send(rooms.contributors, "!ping")
    await bot.start()
    await cast.alice.wait_for(replies_to(one))
    bot.kill()
    many = [await cast.alice.send(rooms.contributors, "!help ping") for _ in range(25)]
    await bot.start()
    for event_id in many:
        await cast.alice.wait_for(replies_to(event_id), timeout=60)
    await cast.alice.answered_later(rooms.contributors)  # two later answers: see answered_later
    await cast.alice.answered_later(rooms.contributors)
    for event_id in [before, one, *many]:
        assert len(cast.alice.matching(replies_to(event_id))) == 1, event_id
    assert "timeline was limited" in bot.log_text()


async def test_a_failing_handler_answers_with_a_reference(cast, rooms, bot_factory):
    bot = await bot_factory(rooms, module="tests.e2e.crashing_bot")
    answer = body(await cast.alice.ask(rooms.contributors, "!crash"))
    assert "something went wrong (ref " in answer
    assert "internal detail" not in answer
    ref = answer.split("(ref ")[1].split(")")[0]
    assert "Pong" in body(await cast.alice.ask(rooms.contributors, "!ping"))
    assert f"ref {ref}" in bot.log_text() and "Traceback" in bot.log_text()


async def test_health_and_metrics(cast, rooms, bot_factory):
    bot = await bot_factory(rooms)
    await cast.alice.ask(rooms.contributors, "!ping")
    async with aiohttp.ClientSession() as session:
        async with session.get(bot.health_url) as resp:
            assert resp.status == 200
            assert (await resp.json())["status"] == "ok"
        async with session.get(bot.health_url.replace("healthz", "metrics")) as resp:
            text = await resp.text()
    assert 'fxhelp_commands_total{command="ping",outcome="ok"}' in text
    assert "fxhelp_reply_latency_seconds_bucket" in text
    assert "fxhelp_sync_lag_seconds" in text
    ticks = await bot.metric("fxhelp_scheduler_ticks_total")
    await bot.wait_for_ticks(1)  # the 1 s tick of the e2e config: counted as it goes
    assert await bot.metric("fxhelp_scheduler_ticks_total") >= ticks + 2
    assert 'fxhelp_sumo_polls_total{outcome="ok"} 0.0' in text  # shown from the start; no SUMO set up here


async def test_no_secret_in_the_logs(cast, rooms, bot_factory):
    bot = await bot_factory(rooms)
    await cast.alice.ask(rooms.contributors, "!ping")
    log = bot.log_text()
    assert "correct horse battery staple" not in log
    token = await _stored_access_token(bot)
    assert token and token not in log


async def _stored_access_token(bot):
    import sqlite3

    with sqlite3.connect(bot.folder / "fxhelp.db") as conn:
        row = conn.execute("SELECT value FROM bot_state WHERE key = 'matrix.access_token'").fetchone()
    return row[0] if row else None


async def test_restart_reuses_the_same_device(cast, rooms, bot_factory):
    bot = await bot_factory(rooms)
    await cast.alice.ask(rooms.contributors, "!ping")
    bot.stop()
    await bot.start()
    await cast.alice.ask(rooms.contributors, "!ping")
    assert bot.log_text().count("logged in on device") == 1
    assert "session restored on device" in bot.log_text()


async def test_survives_a_homeserver_restart(synapse, cast, rooms, bot_factory):
    bot = await bot_factory(rooms)
    await cast.alice.ask(rooms.contributors, "!ping")
    synapse.stop()
    await asyncio.sleep(2)
    await synapse.start()
    answer = await cast.alice.ask(rooms.contributors, "!ping", timeout=30)
    assert "Pong" in body(answer)
    assert bot.process.poll() is None


def test_check_config_names_the_missing_key(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("matrix: {homeserver: 'https://matrix.mozilla.org', user_id: '@bot:mozilla.org', password: x}\n")
    command, cwd = bot_command()
    result = subprocess.run([*command, "check-config", "--config", str(config)],
                            cwd=cwd or tmp_path, capture_output=True, text=True)
    assert result.returncode == 2
    assert "rooms: missing" in result.stderr


async def test_moderators_by_power_level_by_config_and_as_room_creator(cast, rooms, bot_factory):
    await bot_factory(rooms)
    for user, expected in ((cast.mod, True), (cast.cfgmod, True), (cast.host, True), (cast.eve, False)):
        listing = body(await user.ask(rooms.contributors if user is not cast.host else rooms.moderators, "!help"))
        assert ("You are a moderator" in listing) is expected, user.localpart


async def test_sigterm_stops_cleanly(cast, rooms, bot_factory):
    bot = await bot_factory(rooms)
    await cast.alice.ask(rooms.contributors, "!ping")
    assert bot.stop() == 0
    assert "stopping" in bot.log_text() and "Traceback" not in bot.log_text()


async def test_an_encrypted_configured_room_is_reported(synapse, cast, rooms, tmp_path):
    encrypted = await cast.host.client.room_create(
        name="encrypted mods", invite=[cast.bot_user_id],
        initial_state=[{"type": "m.room.encryption", "state_key": "", "content": {"algorithm": "m.megolm.v1.aes-sha2"}}])
    config = bot_config(synapse, cast, Rooms(rooms.contributors, encrypted.room_id))
    bot = BotProcess(tmp_path / "bot", config)
    with pytest.raises(TimeoutError):
        await bot.start(timeout=8)  # never healthy while a configured room is encrypted
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(bot.health_url) as resp:
                assert resp.status == 503
                problems = (await resp.json())["problems"]
        assert any(encrypted.room_id in p and "encrypted" in p for p in problems)
        assert f"room {encrypted.room_id} is end-to-end encrypted" in bot.log_text()
        # It still answers in the room it can read.
        assert "Pong" in body(await cast.alice.ask(rooms.contributors, "!ping"))
    finally:
        bot.stop()


async def test_a_power_level_change_is_followed(cast, rooms, bot_factory):
    await bot_factory(rooms)
    assert "You are a moderator" not in body(await cast.eve.ask(rooms.contributors, "!help"))
    state = await cast.host.client.room_get_state_event(rooms.moderators, "m.room.power_levels")
    content = dict(state.content)
    content["users"] = {**content.get("users", {}), cast.eve.user_id: 50}
    await cast.host.client.room_put_state(rooms.moderators, "m.room.power_levels", content)
    await ask_until(cast.eve, rooms.contributors, "!help", "You are a moderator")
