"""Signing in to the dashboard: one-time links, sessions, cookies, revocation, and 401 without data."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.clock import FakeClock
from bot.features.stats.dashboard import DashboardBuilder
from bot.features.stats.report import AnswerSource, StatsReporter
from bot.ops.dashboard.signin import COOKIE, SignIn
from bot.ops.dashboard.web import DashboardSite
from bot.storage import Storage
from bot.storage.dashboard_sessions import Token
from tests.fakes import history

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
MOD, OTHER_MOD, CONTRIBUTOR = "@mod:example.org", "@kim:example.org", "@ana:example.org"
WINDOW = timedelta(hours=72)


@dataclass
class Site:
    client: TestClient
    signin: SignIn
    clock: FakeClock
    storage: Storage
    moderators: set[str]

    async def link_token(self, user: str = MOD) -> str:
        return (await self.signin.new_link(user)).rsplit("/", 1)[-1]

    async def signed_in(self, user: str = MOD) -> str:
        response = await self.client.get(f"/login/{await self.link_token(user)}")
        assert response.status == 200
        return response.cookies[COOKIE].value


async def make_site(tmp_path: Path, public_url: str = "http://127.0.0.1:9108") -> AsyncIterator[Site]:
    storage = await Storage.open(tmp_path / "signin.db")
    await history.seed(storage, NOW, weeks=3, consult_count=40, question_count=0, escalation_count=4)
    clock = FakeClock(NOW)
    signin = SignIn(storage.dashboard_sessions, clock, public_url)
    builder = DashboardBuilder(storage, clock, StatsReporter(storage, clock, WINDOW),
                               [AnswerSource("consults", storage.consults.first_answer_counts)], 12, None)
    moderators = {MOD, OTHER_MOD}
    app = web.Application()
    DashboardSite(signin, builder, moderators.__contains__, WINDOW).add_routes(app)
    # Cookies are sent by hand (the test client's jar would refuse a Secure cookie over http).
    client = TestClient(TestServer(app), cookie_jar=None)
    await client.start_server()
    client.session.cookie_jar.clear()
    try:
        yield Site(client, signin, clock, storage, moderators)
    finally:
        await client.close()
        await storage.close()


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Site]:
    async for made in make_site(tmp_path):
        yield made


def cookie(value: str) -> dict[str, str]:
    return {"Cookie": f"{COOKIE}={value}"}


async def get(site: Site, path: str, session: str | None = None) -> tuple[int, str, dict[str, str]]:
    site.client.session.cookie_jar.clear()
    response = await site.client.get(path, headers=cookie(session) if session else None, allow_redirects=False)
    return response.status, await response.text(), dict(response.headers)


@pytest.mark.parametrize("path", ["/dashboard", "/dashboard.json", "/dashboard/weekly.csv"])
async def test_without_a_session_every_dashboard_page_is_401_without_data(site: Site, path: str) -> None:
    for session in (None, "not-a-token", "A" * 44):
        status, text, _ = await get(site, path, session)
        assert status == 401
        assert "!dashboard" in text
        assert "<svg" not in text and "consults_opened" not in text and '"weeks"' not in text


async def test_a_link_signs_in_once(site: Site) -> None:
    token = await site.link_token()
    site.client.session.cookie_jar.clear()
    response = await site.client.get(f"/login/{token}", allow_redirects=False)
    assert response.status == 200
    assert '<meta http-equiv="refresh" content="0; url=/dashboard">' in await response.text()
    header = response.headers["Set-Cookie"]
    assert "HttpOnly" in header and "SameSite=Strict" in header and "Max-Age=43200" in header
    assert "Secure" not in header  # public_url is http
    session = response.cookies[COOKIE].value
    status, page, headers = await get(site, "/dashboard", session)
    assert status == 200 and page.count("<svg") == 3 and MOD in page
    assert headers["Cache-Control"] == "no-store"
    status, body, _ = await get(site, "/dashboard.json", session)
    assert status == 200 and '"weeks"' in body
    status, body, headers = await get(site, "/dashboard/weekly.csv", session)
    assert status == 200 and body.startswith("week,week_start,") and headers["Content-Type"].startswith("text/csv")
    # The same link again: no session.
    again = await site.client.get(f"/login/{token}", allow_redirects=False)
    assert again.status == 401 and "Set-Cookie" not in again.headers


async def test_links_expire_after_ten_minutes_and_sessions_after_twelve_hours(site: Site) -> None:
    token = await site.link_token()
    site.clock.advance(timedelta(minutes=10, seconds=1))
    status, _, headers = await get(site, f"/login/{token}")
    assert status == 401 and "Set-Cookie" not in headers
    session = await site.signed_in()
    site.clock.advance(timedelta(hours=11, minutes=59))
    assert (await get(site, "/dashboard", session))[0] == 200
    site.clock.advance(timedelta(minutes=2))
    assert (await get(site, "/dashboard", session))[0] == 401


async def test_a_forged_verifier_with_a_real_selector_is_refused(site: Site) -> None:
    token = Token.parse(await site.link_token())
    assert token is not None
    forged = token.selector + ("x" if token.verifier[0] != "x" else "y") + token.verifier[1:]
    assert (await get(site, f"/login/{forged}"))[0] == 401
    assert (await get(site, f"/login/{token.text}"))[0] == 200  # the forgery did not spend the real link
    session = Token.parse(await site.signed_in())
    assert session is not None
    assert (await get(site, "/dashboard", session.selector + session.verifier[::-1]))[0] == 401


async def test_tokens_are_random_long_and_stored_hashed(site: Site, tmp_path: Path) -> None:
    tokens = {await site.link_token() for _ in range(50)}
    assert len(tokens) == 50
    token = Token.parse(next(iter(tokens)))
    assert token is not None and len(token.verifier) * 6 >= 128
    session = await site.signed_in()
    with sqlite3.connect(tmp_path / "signin.db") as db:
        dump = "\n".join(db.iterdump())
    for text in [*tokens, session]:
        assert Token.parse(text).verifier not in dump


async def test_logout_and_revoke_end_sessions(site: Site) -> None:
    first, second, other = await site.signed_in(), await site.signed_in(), await site.signed_in(OTHER_MOD)
    status, _, headers = await get(site, "/logout", first)
    assert status == 200 and f"{COOKIE}=" in headers["Set-Cookie"]
    assert (await get(site, "/dashboard", first))[0] == 401
    assert (await get(site, "/dashboard", second))[0] == 200
    unused = await site.link_token()
    assert await site.signin.revoke_all(MOD) == 1
    assert (await get(site, "/dashboard", second))[0] == 401
    assert (await get(site, f"/login/{unused}"))[0] == 401   # revoke voids unused links too
    assert (await get(site, "/dashboard", other))[0] == 200  # other moderators keep theirs


async def test_sessions_survive_a_restart(site: Site, tmp_path: Path) -> None:
    session = await site.signed_in()
    reopened = await Storage.open(tmp_path / "signin.db")
    try:
        again = SignIn(reopened.dashboard_sessions, site.clock, "http://127.0.0.1:9108")
        assert await again.session_user(session) == MOD
    finally:
        await reopened.close()


async def test_a_session_of_someone_no_longer_a_moderator_shows_nothing(site: Site) -> None:
    session = await site.signed_in(OTHER_MOD)
    site.moderators.discard(OTHER_MOD)
    status, text, _ = await get(site, "/dashboard", session)
    assert status == 401 and "for moderators" in text and "<svg" not in text


async def test_https_public_url_marks_the_cookie_secure(tmp_path: Path) -> None:
    async for site in make_site(tmp_path, "https://fxhelp.example.org/"):
        assert (await site.signin.new_link(MOD)).startswith("https://fxhelp.example.org/login/")
        response = await site.client.get(f"/login/{await site.link_token()}", allow_redirects=False)
        assert "Secure" in response.headers["Set-Cookie"]
