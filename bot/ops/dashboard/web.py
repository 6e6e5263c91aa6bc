"""The dashboard's HTTP side: ``/login/<token>``, ``/logout``, ``/dashboard``, ``/dashboard.json``,
``/dashboard/weekly.csv``, added to the bot's operations endpoint (``http.listen``).

Without a valid session every ``/dashboard*`` answers 401 with how to get a link, and no data.
``/login`` answers with a page that moves on to ``/dashboard`` itself (a meta refresh), not with a
redirect: a click from a Matrix client in another site is a cross-site navigation, and a
``SameSite=Strict`` cookie set there would not be sent on the redirect that follows it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from aiohttp import web

from bot.features.stats.dashboard import DashboardBuilder
from bot.ops.dashboard.render import dashboard_json, render_page, templates, weekly_csv
from bot.ops.dashboard.signin import COOKIE, SESSION_VALID, SignIn

log = logging.getLogger(__name__)

SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
}
HOW_TO_SIGN_IN = ("Type !dashboard in the moderators' room or the contributors' room: the bot sends you a "
                  "one-time sign-in link in a direct message. The link works once, for 10 minutes; a session "
                  "lasts 12 hours.")

Handler = Callable[[web.Request, str], Awaitable[web.StreamResponse]]


class DashboardSite:
    def __init__(self, signin: SignIn, builder: DashboardBuilder, is_moderator: Callable[[str], bool],
                 window: timedelta) -> None:
        self._signin = signin
        self._builder = builder
        self._is_moderator = is_moderator
        self._window = window
        self._templates = templates()

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/login/{token}", self._login)
        app.router.add_get("/logout", self._logout)
        app.router.add_post("/logout", self._logout)
        app.router.add_get("/dashboard", self._signed_in(self._page))
        app.router.add_get("/dashboard.json", self._signed_in(self._json))
        app.router.add_get("/dashboard/weekly.csv", self._signed_in(self._csv))

    # ---- pages --------------------------------------------------------------------------------

    def _message(self, status: int, page_id: str, title: str, *paragraphs: str, refresh: str | None = None,
                 **headers: str) -> web.Response:
        html = self._templates.get_template("message.html").render(
            page_id=page_id, title=title, paragraphs=paragraphs, refresh=refresh)
        return web.Response(status=status, text=html, content_type="text/html",
                            headers={**SECURITY_HEADERS, **headers})

    def _unauthorized(self, request: web.Request, why: str) -> web.Response:
        if request.path.endswith(".json"):
            return web.json_response({"error": "not signed in", "how": HOW_TO_SIGN_IN}, status=401,
                                     headers=SECURITY_HEADERS)
        return self._message(401, "sign-in-needed", "Sign in through Matrix", why, HOW_TO_SIGN_IN)

    def _signed_in(self, handler: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def guarded(request: web.Request) -> web.StreamResponse:
            user_id = await self._signin.session_user(request.cookies.get(COOKIE))
            if user_id is None:
                return self._unauthorized(request, "You are not signed in, or your session has ended.")
            if not self._is_moderator(user_id):
                return self._unauthorized(request, "The dashboard is for moderators.")
            return await handler(request, user_id)
        return guarded

    async def _login(self, request: web.Request) -> web.Response:
        signed_in = await self._signin.redeem(request.match_info["token"])
        if signed_in is None:
            return self._message(401, "link-not-valid", "This sign-in link does not work",
                                 "It was used already, it is older than 10 minutes, or it was ended with "
                                 "!dashboard revoke.", HOW_TO_SIGN_IN)
        log.info("dashboard: %s signed in", signed_in.user_id)
        response = self._message(200, "signed-in", "Signed in",
                                 f"Signed in as {signed_in.user_id} for 12 hours. Opening the dashboard…",
                                 refresh="/dashboard")
        response.set_cookie(COOKIE, signed_in.session.text, max_age=int(SESSION_VALID.total_seconds()), path="/",
                            httponly=True, samesite="Strict", secure=self._signin.secure)
        return response

    async def _logout(self, request: web.Request) -> web.Response:
        ended = await self._signin.sign_out(request.cookies.get(COOKIE))
        response = self._message(200, "signed-out", "Signed out",
                                 "Your session has ended." if ended else "You were not signed in.", HOW_TO_SIGN_IN)
        response.del_cookie(COOKIE, path="/")
        return response

    async def _page(self, request: web.Request, user_id: str) -> web.Response:
        started = time.perf_counter()
        dashboard = await self._builder.build()
        html = render_page(self._templates, dashboard, window=self._window, user_id=user_id)
        log.debug("dashboard rendered in %.1f ms", (time.perf_counter() - started) * 1000)
        return web.Response(text=html, content_type="text/html", headers=SECURITY_HEADERS)

    async def _json(self, request: web.Request, user_id: str) -> web.Response:
        return web.Response(text=dashboard_json(await self._builder.build()), content_type="application/json",
                            headers=SECURITY_HEADERS)

    async def _csv(self, request: web.Request, user_id: str) -> web.Response:
        headers: dict[str, Any] = {**SECURITY_HEADERS, "Content-Disposition": 'attachment; filename="weekly.csv"'}
        return web.Response(text=weekly_csv(await self._builder.build()), content_type="text/csv", headers=headers)
