"""The dashboard end to end: !dashboard on a real Synapse, the link by direct message, the page."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import aiohttp

from tests.e2e.harness import body, replies_to

COOKIE = "fxhelp_dashboard"


def dm_link_from(bot_user_id: str, configured: set[str]) -> Callable[[str, dict[str, Any]], bool]:
    def predicate(room_id: str, event: dict[str, Any]) -> bool:
        content = event.get("content", {})
        return (room_id not in configured and event.get("sender") == bot_user_id
                and content.get("msgtype") == "m.text" and "/login/" in content.get("body", ""))
    return predicate


def link_in(event: dict[str, Any]) -> str:
    match = re.search(r"http://127\.0\.0\.1:\d+/login/[A-Za-z0-9_-]+", body(event))
    assert match is not None, body(event)
    return match.group(0)


async def test_a_moderator_signs_in_through_a_direct_message(cast, rooms, bot_factory):
    bot = await bot_factory(rooms)
    base = f"http://127.0.0.1:{bot.http_port}"
    configured = {rooms.contributors, rooms.moderators}

    refused = body(await cast.alice.ask(rooms.contributors, "!dashboard"))
    assert refused == "Sorry, !dashboard is for moderators only."

    opened = body(await cast.alice.ask(rooms.contributors, "!escalate Relay Premium charged twice e2e-dashboard paid"))
    assert "is open (reason: paid)" in opened
    number = re.search(r"#(\d+)", opened).group(1)

    command = await cast.mod.send(rooms.moderators, "!dashboard")
    answer = (await cast.mod.wait_for(replies_to(command)))[0]
    assert "sent you a link in a direct message" in body(answer)
    message = (await cast.mod.wait_for(dm_link_from(cast.bot_user_id, configured)))[0]
    dm_room = next(room for room, event in cast.mod.events if event is message)
    link = link_in(message)
    assert message["content"]["msgtype"] == "m.text"
    invite = [e for room, e in cast.mod.events if room == dm_room and e.get("type") == "m.room.member"
              and e.get("state_key") == cast.mod.user_id and e["content"].get("membership") == "invite"]
    assert invite and invite[0]["content"].get("is_direct") is True and invite[0]["sender"] == cast.bot_user_id
    # Nothing reached the contributor: her refusal came, and she shares no other room with the bot.
    assert not cast.alice.matching(dm_link_from(cast.bot_user_id, configured))

    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
        for path in ("/dashboard", "/dashboard.json", "/dashboard/weekly.csv"):
            async with http.get(base + path) as response:
                text = await response.text()
                assert response.status == 401, path
                assert "e2e-dashboard" not in text and "<svg" not in text and "!dashboard" in text

        async with http.get(link, allow_redirects=False) as response:
            assert response.status == 200
            assert "SameSite=Strict" in response.headers["Set-Cookie"]
            assert "HttpOnly" in response.headers["Set-Cookie"]
            session = response.cookies[COOKIE].value
        async with http.get(base + "/dashboard", headers={"Cookie": f"{COOKIE}={session}"}) as response:
            page = await response.text()
            assert response.status == 200
        assert page.count("<svg") == 3
        assert "Relay Premium charged twice e2e-dashboard" in page
        assert f"<td>{number}</td><td>paid</td>" in page
        async with http.get(base + "/dashboard.json", headers={"Cookie": f"{COOKIE}={session}"}) as response:
            figures = await response.json()
        assert figures["cards"]["open_escalations"] >= 1
        assert figures["weeks"][-1]["escalations"]["paid"] >= 1

        async with http.get(link, allow_redirects=False) as response:
            assert response.status == 401 and "Set-Cookie" not in response.headers

        # Asked again: the same direct room. Then !dashboard revoke ends the session.
        again = await cast.mod.send(rooms.moderators, "!dashboard")
        await cast.mod.wait_for(replies_to(again))
        messages = await cast.mod.wait_for(dm_link_from(cast.bot_user_id, configured), count=2)
        assert {room for room, event in cast.mod.events if any(event is m for m in messages)} == {dm_room}
        revoked = body(await cast.mod.ask(rooms.moderators, "!dashboard revoke"))
        assert revoked.startswith("Ended 1 dashboard session of yours")
        async with http.get(base + "/dashboard", headers={"Cookie": f"{COOKIE}={session}"}) as response:
            assert response.status == 401
        async with http.get(link_in(messages[1]), allow_redirects=False) as response:
            assert response.status == 401  # revoke voided the unused second link too
