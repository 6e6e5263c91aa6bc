"""The dashboard's sign-in: one-time links (10 minutes, used once) and the sessions they start.

A token is ``selector + verifier``: the selector finds the row, the verifier is the secret. Only the
verifier's SHA-256 is stored, and it is compared with ``hmac.compare_digest``, so neither a copy of
the database nor the timing of a lookup gives a usable token away.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.clock import to_timestamp
from bot.storage.database import Database

SELECTOR_BYTES = 9    # 12 URL-safe characters; not secret, it only finds the row
VERIFIER_BYTES = 24   # 192 random bits: the secret
SELECTOR_LENGTH = 12


@dataclass(frozen=True)
class Token:
    selector: str
    verifier: str

    @property
    def text(self) -> str:
        return self.selector + self.verifier

    @classmethod
    def new(cls) -> Token:
        return cls(secrets.token_urlsafe(SELECTOR_BYTES), secrets.token_urlsafe(VERIFIER_BYTES))

    @classmethod
    def parse(cls, text: str) -> Token | None:
        if len(text) <= SELECTOR_LENGTH or len(text) > 200:
            return None
        return cls(text[:SELECTOR_LENGTH], text[SELECTOR_LENGTH:])


def _digest(verifier: str) -> bytes:
    return hashlib.sha256(verifier.encode()).digest()


class DashboardSessions:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def new_link(self, user_id: str, now: datetime, expires_at: datetime) -> Token:
        token = Token.new()
        await self._db.execute(
            "INSERT INTO dashboard_links (selector, verifier_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
            (token.selector, _digest(token.verifier), user_id, to_timestamp(now), to_timestamp(expires_at)),
        )
        return token

    async def redeem_link(self, token: Token, now: datetime, session_expires_at: datetime) -> tuple[str, Token] | None:
        """Use a link once: in one transaction it is marked used and a session is started.
        Returns (user ID, session token), or None for an unknown, expired or used link."""
        async with self._db.transaction():
            row = await self._db.fetch_one(
                "SELECT verifier_hash, user_id FROM dashboard_links WHERE selector = ? AND used_at IS NULL "
                "AND expires_at > ?", (token.selector, to_timestamp(now)),
            )
            if row is None or not _matches(row, token):
                return None
            await self._db.execute("UPDATE dashboard_links SET used_at = ? WHERE selector = ?",
                                   (to_timestamp(now), token.selector))
            session = Token.new()
            await self._db.execute(
                "INSERT INTO dashboard_sessions (selector, verifier_hash, user_id, created_at, expires_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (session.selector, _digest(session.verifier), row["user_id"], to_timestamp(now),
                 to_timestamp(session_expires_at)),
            )
        return row["user_id"], session

    async def session_user(self, token: Token, now: datetime) -> str | None:
        """Whose session this is, while it is valid (not expired, not ended)."""
        row = await self._db.fetch_one(
            "SELECT verifier_hash, user_id FROM dashboard_sessions WHERE selector = ? AND ended_at IS NULL "
            "AND expires_at > ?", (token.selector, to_timestamp(now)),
        )
        return row["user_id"] if row is not None and _matches(row, token) else None

    async def end_session(self, token: Token, now: datetime) -> bool:
        row = await self._db.fetch_one("SELECT verifier_hash, user_id FROM dashboard_sessions WHERE selector = ?",
                                       (token.selector,))
        if row is None or not _matches(row, token):
            return False
        changed = await self._db.execute_changes(
            "UPDATE dashboard_sessions SET ended_at = ? WHERE selector = ? AND ended_at IS NULL",
            (to_timestamp(now), token.selector),
        )
        return changed == 1

    async def end_all(self, user_id: str, now: datetime) -> int:
        """End every session of the user and void their unused links; returns the sessions ended."""
        async with self._db.transaction():
            ended = await self._db.execute_changes(
                "UPDATE dashboard_sessions SET ended_at = ? WHERE user_id = ? AND ended_at IS NULL AND expires_at > ?",
                (to_timestamp(now), user_id, to_timestamp(now)),
            )
            await self._db.execute("UPDATE dashboard_links SET used_at = ? WHERE user_id = ? AND used_at IS NULL",
                                   (to_timestamp(now), user_id))
        return ended

    async def forget_finished(self, now: datetime) -> tuple[int, int]:
        """Delete the links that were used or expired and the sessions that ended or expired: none
        of them can sign anyone in again. Returns (links, sessions) deleted."""
        moment = to_timestamp(now)
        async with self._db.transaction():
            links = await self._db.execute_changes(
                "DELETE FROM dashboard_links WHERE used_at IS NOT NULL OR expires_at <= ?", (moment,))
            sessions = await self._db.execute_changes(
                "DELETE FROM dashboard_sessions WHERE ended_at IS NOT NULL OR expires_at <= ?", (moment,))
        return links, sessions


def _matches(row: Any, token: Token) -> bool:
    return hmac.compare_digest(bytes(row["verifier_hash"]), _digest(token.verifier))
