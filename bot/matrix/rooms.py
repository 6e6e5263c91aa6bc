"""The two configured rooms: resolving them, joining them, and what their state tells us.

A configured room that turns out to be end-to-end encrypted is reported (a log line naming it and
``/healthz``), since the bot cannot read it.

Invites are trusted by room ID only. An invite's stripped state (its ``canonical_alias``) is written by
the inviter's homeserver and proves nothing, so a room configured by alias is the room that alias
resolves to on our homeserver (``GET /directory/room/{alias}``), asked when the invite arrives.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from bot.matrix.client import HomeserverUnavailable, MatrixClient, MatrixError
from bot.matrix.events import CREATE, ENCRYPTION, POWER_LEVELS, read_room_state_event
from bot.matrix.moderators import Moderators

log = logging.getLogger(__name__)


class RoomIds(Protocol):
    """The IDs of the two configured rooms, as features need them (``Rooms`` gives them once joined)."""

    @property
    def contributors(self) -> str: ...

    @property
    def moderators(self) -> str: ...


class Rooms:
    def __init__(self, client: MatrixClient, contributors: str, moderators_room: str, moderators: Moderators) -> None:
        self._client = client
        self._configured = {"contributors": contributors, "moderators": moderators_room}
        self._ids: dict[str, str] = {}
        self._resolved: dict[str, str] = {}  # role → the room ID its alias resolved to, not joined yet
        self._moderators = moderators
        self.encrypted: set[str] = set()
        self.not_joined: set[str] = set()

    @property
    def contributors(self) -> str:
        return self._ids.get("contributors", self._configured["contributors"])

    @property
    def moderators(self) -> str:
        return self._ids.get("moderators", self._configured["moderators"])

    def ids(self) -> list[str]:
        return list(self._ids.values())

    def is_configured(self, room_id: str) -> bool:
        return room_id in self._ids.values()

    async def accepts_invite(self, room_id: str) -> bool:
        """True when ``room_id`` is a configured room: given by ID, or what a configured alias resolves to now."""
        if room_id in self._configured.values() or room_id in self._ids.values():
            return True
        for role, reference in self._configured.items():
            if reference.startswith("#") and role not in self._ids:
                if await self._resolve(role, reference) == room_id:
                    return True
        return False

    async def _resolve(self, role: str, alias: str) -> str | None:
        try:
            room_id = await self._client.resolve_alias(alias)
        except (MatrixError, HomeserverUnavailable) as error:
            log.warning("cannot resolve the %s room's alias %s (%s)", role, alias, error)
            return None
        self._resolved[role] = room_id
        return room_id

    async def join_all(self) -> None:
        """Resolve and join both rooms; a room we cannot join yet waits for an invite."""
        for role, reference in self._configured.items():
            try:
                room_id = await self._client.join(reference)
            except MatrixError as error:
                log.warning("cannot join the %s room %s yet (%s); waiting for an invite", role, reference, error)
                self.not_joined.add(reference)
                if reference.startswith("!"):
                    self._ids[role] = reference
                continue
            self._ids[role] = room_id
            self.not_joined.discard(reference)
            await self.joined(room_id)

    async def joined(self, room_id: str) -> None:
        for role, reference in self._configured.items():
            if room_id in (reference, self._resolved.get(role), self._ids.get(role)):
                self._ids[role] = room_id
                self.not_joined.discard(reference)
        await self._read_state(room_id)

    async def _read_state(self, room_id: str) -> None:
        if await self._client.state_event(room_id, ENCRYPTION) is not None:
            self._report_encrypted(room_id)
        if room_id == self.moderators:
            power_levels = await self._client.state_event(room_id, POWER_LEVELS)
            create = await self._client.full_state_event(room_id, CREATE)
            self._moderators.set_room_state(power_levels, create)

    def observe_state_event(self, room_id: str, raw: dict[str, Any]) -> None:
        event = read_room_state_event(raw)
        if event is None:
            return
        if event.type == ENCRYPTION:
            self._report_encrypted(room_id)
        if room_id == self.moderators:
            self._moderators.observe_state_event(event)

    def _report_encrypted(self, room_id: str) -> None:
        if room_id not in self.encrypted:
            log.error(
                "room %s is end-to-end encrypted: the bot cannot read or answer there. "
                "Use an unencrypted room (encryption is not supported yet).", room_id,
            )
        self.encrypted.add(room_id)
