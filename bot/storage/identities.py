"""Who a Matrix user is elsewhere: their SUMO username (``!iam sumo``) and forum username (``!iam forum``)."""

from __future__ import annotations

import enum
import sqlite3
from dataclasses import dataclass
from datetime import datetime

from bot.clock import from_timestamp, to_timestamp
from bot.storage.database import Database


class Service(enum.StrEnum):
    SUMO = "sumo"
    FORUM = "forum"


@dataclass(frozen=True)
class IdentityLink:
    matrix_user: str
    service: Service
    username: str
    linked_at: datetime


class NameTaken(Exception):
    """The name is already linked to another Matrix user."""

    def __init__(self, holder: str) -> None:
        super().__init__(f"already linked to {holder}")
        self.holder = holder


class Identities:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def link(self, matrix_user: str, service: Service, username: str, at: datetime) -> IdentityLink:
        """Link (or re-link) the user's name on the service; raises NameTaken if someone else has it."""
        holder = await self.holder_of(service, username)
        if holder is not None and holder.matrix_user != matrix_user:
            raise NameTaken(holder.matrix_user)
        try:
            await self._db.execute(
                "INSERT INTO identity_links (matrix_user, service, username, linked_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (matrix_user, service) DO UPDATE SET username = excluded.username, "
                "linked_at = excluded.linked_at",
                (matrix_user, service.value, username, to_timestamp(at)),
            )
        except sqlite3.IntegrityError:
            # Someone else linked the same name between our check and our write.
            holder = await self.holder_of(service, username)
            raise NameTaken(holder.matrix_user if holder else "someone else") from None
        return IdentityLink(matrix_user, service, username, at)

    async def of_user(self, matrix_user: str) -> dict[Service, IdentityLink]:
        rows = await self._db.fetch_all(
            "SELECT matrix_user, service, username, linked_at FROM identity_links WHERE matrix_user = ?",
            (matrix_user,),
        )
        links = [_link(row) for row in rows]
        return {link.service: link for link in links}

    async def username(self, matrix_user: str, service: Service) -> str | None:
        row = await self._db.fetch_one(
            "SELECT username FROM identity_links WHERE matrix_user = ? AND service = ?",
            (matrix_user, service.value),
        )
        return None if row is None else row["username"]

    async def holder_of(self, service: Service, username: str) -> IdentityLink | None:
        row = await self._db.fetch_one(
            "SELECT matrix_user, service, username, linked_at FROM identity_links "
            "WHERE service = ? AND username = ? COLLATE NOCASE",
            (service.value, username),
        )
        return None if row is None else _link(row)


def _link(row: sqlite3.Row) -> IdentityLink:
    return IdentityLink(row["matrix_user"], Service(row["service"]), row["username"],
                        from_timestamp(row["linked_at"]))
