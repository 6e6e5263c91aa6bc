"""Signing in to the dashboard through Matrix: ``!dashboard`` asks for a link, the link starts a session.

Links are valid 10 minutes and used once; sessions last 12 hours. Both are kept in the database
(``bot.storage.dashboard_sessions``), so a restart of the bot signs nobody out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from bot.clock import Clock
from bot.storage.dashboard_sessions import DashboardSessions, Token

LINK_VALID = timedelta(minutes=10)
SESSION_VALID = timedelta(hours=12)
COOKIE = "fxhelp_dashboard"


@dataclass(frozen=True)
class SignedIn:
    user_id: str
    session: Token


class SignIn:
    def __init__(self, sessions: DashboardSessions, clock: Clock, public_url: str) -> None:
        self._sessions = sessions
        self._clock = clock
        self.public_url = public_url.rstrip("/")

    @property
    def secure(self) -> bool:
        """Cookies carry ``Secure`` when the dashboard is reached over https."""
        return self.public_url.startswith("https://")

    @property
    def dashboard_url(self) -> str:
        return f"{self.public_url}/dashboard"

    async def new_link(self, user_id: str) -> str:
        now = self._clock.now()
        token = await self._sessions.new_link(user_id, now, now + LINK_VALID)
        return f"{self.public_url}/login/{token.text}"

    async def redeem(self, link_token: str) -> SignedIn | None:
        token = Token.parse(link_token)
        if token is None:
            return None
        now = self._clock.now()
        redeemed = await self._sessions.redeem_link(token, now, now + SESSION_VALID)
        return None if redeemed is None else SignedIn(*redeemed)

    async def session_user(self, cookie: str | None) -> str | None:
        token = Token.parse(cookie) if cookie else None
        return None if token is None else await self._sessions.session_user(token, self._clock.now())

    async def sign_out(self, cookie: str | None) -> bool:
        token = Token.parse(cookie) if cookie else None
        return token is not None and await self._sessions.end_session(token, self._clock.now())

    async def revoke_all(self, user_id: str) -> int:
        return await self._sessions.end_all(user_id, self._clock.now())
