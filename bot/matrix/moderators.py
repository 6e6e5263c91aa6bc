"""Who is a moderator: the configured users, plus anyone with enough power in the moderators' room.

Power levels are read from room state at start (``m.room.power_levels`` and ``m.room.create``,
whose creators hold unlimited power from room version 12) and kept current from sync.
"""

from __future__ import annotations

import logging
from typing import Any

from bot.matrix.events import CREATE, POWER_LEVELS, PowerLevels, RoomStateEvent, power_levels_from_state

log = logging.getLogger(__name__)


class Moderators:
    def __init__(self, configured: list[str], min_power_level: int) -> None:
        self._configured = frozenset(configured)
        self._min_power_level = min_power_level
        self._power_levels_content: dict[str, Any] | None = None
        self._create_event: dict[str, Any] | None = None
        self._levels = PowerLevels({}, 0, frozenset())

    def is_moderator(self, user_id: str) -> bool:
        return user_id in self._configured or self._levels.level_of(user_id) >= self._min_power_level

    def set_room_state(self, power_levels: dict[str, Any] | None, create_event: dict[str, Any] | None) -> None:
        self._power_levels_content = power_levels
        self._create_event = create_event
        self._levels = power_levels_from_state(power_levels, create_event)

    def observe_state_event(self, event: RoomStateEvent) -> None:
        """A state event from the moderators' room's sync: keep power levels current."""
        if event.type == POWER_LEVELS:
            log.info("moderators' room power levels changed")
            self.set_room_state(event.content, self._create_event)
        elif event.type == CREATE:
            self.set_room_state(self._power_levels_content, event.raw)
