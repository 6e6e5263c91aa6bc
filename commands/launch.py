"""!launch: launch-day lists. Note who asked to hear when a release is out; tell them on launch day.

``!launch add`` reads the person's handle from their post's link (X, Mastodon, Bluesky, no network
call); moderators set the launch time (``!launch at``, UTC), launch now (``!launch go``) or take the time
back (``!launch cancel``); ``!launch done``, or a ✅ on a message of the launch thread, marks people answered.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from bot.clock import Clock
from bot.features.launches import messages
from bot.features.launches.posts import PostRefused, read_post_link
from bot.features.launches.service import DONE_MARK, RELEASE_SHAPE, LaunchService, Outcome
from bot.features.replies.model import LOCALES
from bot.features.replies.ui_strings import resolve_variety
from bot.framework.arguments import UsageError, word, words
from bot.framework.command import Command, CommandError, Permission, ReactionTrigger
from bot.framework.dispatcher import Context
from bot.storage.launches import Launch

LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*\Z")
# "2026-12-04 17:00", also with seconds, a "T", or a "Z"/"UTC" after it: always UTC.
LAUNCH_TIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?\s*(?:Z|UTC)?\Z", re.IGNORECASE)


def parse_launch_time(typed: str) -> datetime:
    """``YYYY-MM-DD HH:MM`` (seconds allowed) in UTC; ``UsageError`` saying the format otherwise."""
    match = LAUNCH_TIME.fullmatch(" ".join(typed.split()))
    if match is None:
        raise UsageError(messages.bad_launch_time(typed))
    year, month, day, hour, minute, second = (int(part or 0) for part in match.groups())
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError as error:
        raise UsageError(messages.not_a_real_time(typed, error)) from None


class LaunchCommands:
    """Parse → service → answer; the answers' words are in ``bot.features.launches.messages``."""

    def __init__(self, service: LaunchService, clock: Clock, default_locale: str) -> None:
        self._service = service
        self._clock = clock
        self._default_locale = default_locale

    def commands(self) -> list[Command]:
        release = word("release", help="a free label for what launches, like 150 or vpn-linux")
        return [
            Command("launch add", "note that someone wants to hear when a release is out (X, Mastodon or Bluesky)",
                    self.add,
                    args=(release, word("post url", help="the link to their post; the handle is read from it"),
                          word("lang", optional=True,
                               help=f"{', '.join(LOCALES)} or a variety like es-MX (default {self._default_locale})")),
                    examples=("!launch add 150 https://x.com/someone/status/1861234567890",
                              "!launch add 150 https://mastodon.social/@someone/113456789012345678 de",
                              "!launch add vpn-linux https://bsky.app/profile/someone.bsky.social/post/3kabc2xyz es-MX")),
            Command("launch list", "who is on a launch list: by language, answered or not, who added them",
                    self.listing, args=(word("release", optional=True, help="leave out to see every list"),),
                    examples=("!launch list 150", "!launch list")),
            Command("launch at", "set the launch time (UTC); the bot starts the thread then", self.at,
                    args=(release, word("date", help="YYYY-MM-DD, in UTC"),
                          word("time", optional=True, help="HH:MM, in UTC")),
                    permission=Permission.MODERATORS, examples=("!launch at 150 2026-12-04 17:00",)),
            Command("launch go", "launch now: the thread with everyone's ready reply", self.go, args=(release,),
                    permission=Permission.MODERATORS, examples=("!launch go 150",)),
            Command("launch cancel", "take back the launch time (the list stays)", self.cancel, args=(release,),
                    permission=Permission.MODERATORS, examples=("!launch cancel 150",)),
            Command("launch done", "mark people of a launch list answered, by their numbers", self.done,
                    args=(release, words("n", help="the numbers from the launch thread or !launch list")),
                    examples=("!launch done 150 3", "!launch done 150 1 2 5"),
                    reaction=ReactionTrigger(
                        DONE_MARK, self._posted_message,
                        "on a message of the launch thread: everyone still pending in it is marked answered, and "
                        "the thread is told (to mark only some of a message, type their numbers; taking the ✅ "
                        "back unmarks nobody)",
                        on="a message of a launch thread")),
        ]

    async def _posted_message(self, room_id: str, event_id: str) -> str | None:
        """A ✅ on a message of a launch thread: ``<release> <every number in it>``; None for other events.

        Every number, not only the pending ones: handled again after a crash, the ✅ then finds the
        same people (those it marked) and the thread's answer is the same."""
        posted = await self._service.posted_message(room_id, event_id)
        if posted is None:
            return None
        return " ".join([posted.launch.label, *(str(entry.number) for entry in posted.entries)])

    async def add(self, ctx: Context, release: str, post_url: str, lang: str | None) -> None:
        label = _checked_release(release)
        try:
            post = read_post_link(post_url)
        except PostRefused as refused:
            raise CommandError(messages.cannot_add(refused)) from None
        locale, fell_back = self._locale(lang)
        result = await self._service.add(label, post, locale, ctx.user_id, ctx.message.event_id)
        entry, launch = result.entry, result.launch
        assert entry is not None
        if result.outcome is Outcome.DUPLICATE:
            await ctx.reply(messages.already_on_list(entry, launch))
            return
        await ctx.reply(messages.added(entry, launch, self._service.thread_link(launch), fell_back, lang, ctx.prefix))

    async def listing(self, ctx: Context, release: str | None) -> None:
        if release is None:
            await ctx.reply(messages.all_lists(await self._service.lists(), ctx.prefix))
            return
        found = await self._service.listing(_checked_release(release))
        if found is None:
            raise CommandError(messages.no_list(release, ctx.prefix))
        await ctx.reply(messages.one_list(found, self._service.thread_link(found.launch), self._clock.now(),
                                          ctx.prefix))

    async def at(self, ctx: Context, release: str, date: str, time: str | None) -> None:
        label = _checked_release(release)
        when = parse_launch_time(f"{date} {time}" if time else date)
        result = await self._service.schedule(label, when, ctx.user_id)
        launch = self._known(result.outcome, result.launch, release, ctx.prefix)
        if result.outcome is Outcome.IN_THE_PAST:
            raise CommandError(messages.launch_in_the_past(when, label, ctx.prefix))
        await ctx.reply(messages.scheduled(launch, when, result.previous, self._clock.now(), label, ctx.prefix))

    async def go(self, ctx: Context, release: str) -> None:
        label = _checked_release(release)
        result = await self._service.go(label, ctx.user_id)
        launch = self._known(result.outcome, result.launch, release, ctx.prefix)
        await ctx.reply(messages.launched(launch, self._service.thread_link(launch)))

    async def cancel(self, ctx: Context, release: str) -> None:
        label = _checked_release(release)
        result = await self._service.cancel(label)
        launch = self._known(result.outcome, result.launch, release, ctx.prefix)
        if result.outcome is Outcome.NOT_SCHEDULED:
            raise CommandError(messages.nothing_to_cancel(launch, label, ctx.prefix))
        await ctx.reply(messages.cancelled(launch, result.previous, label, ctx.prefix))

    async def done(self, ctx: Context, release: str, n: list[str]) -> None:
        label = _checked_release(release)
        numbers = [_number(value) for value in n]
        result = await self._service.done(label, numbers, ctx.user_id, ctx.message.event_id,
                                          reacted_to=ctx.reacted_to)
        launch = result.launch
        if result.outcome is Outcome.UNKNOWN or launch is None:
            raise CommandError(messages.no_list(release, ctx.prefix))
        if not result.marked and not result.already:
            raise CommandError(messages.none_of_those(launch, result.unknown, label, ctx.prefix))
        await ctx.reply(messages.marked(result.marked, result.already, result.unknown, result.pending))

    def _known(self, outcome: Outcome, launch: Launch | None, release: str, prefix: str) -> Launch:
        """The launch of an !launch at/go/cancel, or the error: no such list, or launched already."""
        if outcome is Outcome.UNKNOWN or launch is None:
            raise CommandError(messages.no_list(release, prefix))
        if outcome is Outcome.ALREADY_LAUNCHED:
            raise CommandError(messages.already_launched(launch, self._service.thread_link(launch)))
        return launch

    def _locale(self, lang: str | None) -> tuple[str, bool]:
        if lang is not None and not LANGUAGE_TAG.fullmatch(lang):
            raise CommandError(messages.not_a_language(lang, LOCALES))
        return resolve_variety(lang, self._default_locale)


def _checked_release(release: str) -> str:
    if not RELEASE_SHAPE.match(release):
        raise UsageError(messages.bad_release(release))
    return release


def _number(value: str) -> int:
    cleaned = value.lstrip("#").rstrip(",")
    if not cleaned.isdigit() or len(cleaned) > 9:
        raise UsageError(messages.bad_number(value))
    return int(cleaned)
