"""Direct messages: the one room the bot shares with a person, marked in ``m.direct`` and reused.

The bot's ``m.direct`` account data (``{user ID: [room IDs]}``) is where clients look for direct
rooms, so it is the record here too: the newest listed room the bot is still in, with the person
joined or invited, is reused; otherwise a new room is created (``is_direct``, no URL previews) and
added to the list.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from bot.matrix.client import MatrixClient, MatrixError
from bot.matrix.events import DIRECT_ROOMS, NO_URL_PREVIEWS

log = logging.getLogger(__name__)


class DirectRooms:
    def __init__(self, client: MatrixClient) -> None:
        self._client = client
        self._lock = asyncio.Lock()  # two requests at once must not open two rooms

    async def room_with(self, user_id: str) -> str:
        async with self._lock:
            direct = await self._client.account_data(DIRECT_ROOMS) or {}
            listed = [r for r in direct.get(user_id, []) if isinstance(r, str)] \
                if isinstance(direct.get(user_id), list) else []
            for room_id in reversed(listed):
                if await self._usable(room_id, user_id):
                    return room_id
            room_id = await self._client.create_direct_room(user_id, [NO_URL_PREVIEWS])
            log.info("opened a direct room with %s: %s", user_id, room_id)
            await self._client.set_account_data(DIRECT_ROOMS, {**direct, user_id: [*listed, room_id]})
            return room_id

    async def _usable(self, room_id: str, user_id: str) -> bool:
        try:
            mine = await self._client.state_event(room_id, "m.room.member", self._client.user_id)
            theirs = await self._client.state_event(room_id, "m.room.member", user_id)
        except MatrixError:
            return False  # the bot left or was removed: it cannot read the room
        return _membership(mine) == "join" and _membership(theirs) in ("join", "invite")


def _membership(content: dict[str, Any] | None) -> str | None:
    return content.get("membership") if isinstance(content, dict) else None
