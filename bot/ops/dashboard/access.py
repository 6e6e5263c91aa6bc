"""``!dashboard``'s side of signing in: a one-time link sent to the moderator by direct message, once,
and every session of theirs ended on request.

The link goes through the sender's exactly-once path under a key naming the command, so a command
handled again (after a crash, or a batch the homeserver refused) sends no second link; the outbox
keeps no message text, so the link's token is stored nowhere but hashed (``DashboardSessions``).
"""

from __future__ import annotations

from typing import Protocol

from bot.matrix.events import Direct
from bot.matrix.sender import Sends
from bot.ops.dashboard import messages
from bot.ops.dashboard.signin import SignIn


class DirectRoomFinder(Protocol):
    async def room_with(self, user_id: str) -> str: ...


class DashboardAccess:
    def __init__(self, signin: SignIn | None, direct_rooms: DirectRoomFinder, sender: Sends) -> None:
        self._signin = signin  # None: the HTTP endpoint is off (http.listen: null)
        self._direct_rooms = direct_rooms
        self._sender = sender

    @property
    def available(self) -> bool:
        return self._signin is not None

    async def send_link(self, user_id: str, command_event_id: str, prefix: str) -> None:
        assert self._signin is not None
        url = await self._signin.new_link(user_id)
        room_id = await self._direct_rooms.room_with(user_id)
        await self._sender.send_once(f"dashboard-link:{command_event_id}", room_id,
                                     Direct(messages.sign_in_link(url, prefix)))

    async def revoke(self, user_id: str) -> int:
        assert self._signin is not None
        return await self._signin.revoke_all(user_id)
