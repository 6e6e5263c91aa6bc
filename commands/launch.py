"""!launch: launch-day lists. Note who asked to hear when a release is out; tell them on launch day.

``!launch add`` reads the person's handle from their post's link (X, Mastodon, Bluesky, no network
call); moderators set the launch time (``!launch at``, UTC), launch now (``!launch go``) or take the time
back (``!launch cancel``); ``!launch done``, or a ✅ on a message of the launch thread, marks people answered.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime

from bot.clock import Clock, format_duration, format_utc
from bot.features.launches.messages import numbers as _numbers
from bot.features.launches.messages import people, release_name
from bot.features.launches.posts import PostRefused, read_post_link
from bot.features.launches.service import DONE_MARK, RELEASE_SHAPE, AddResult, LaunchList, LaunchService, Outcome
from bot.features.replies.model import LOCALES
from bot.features.replies.ui_strings import resolve_variety
from bot.framework.arguments import UsageError, word, words
from bot.framework.command import Command, CommandError, Permission, ReactionTrigger
from bot.framework.dispatcher import Context
from bot.matrix.rendering import Fragment, bold, bullets, code, italic, join, lines, link
from bot.storage.launches import LAUNCHED, Entry, Launch

LIST_SHOWN = 30
LISTS_SHOWN = 15
LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*\Z")
# "2026-12-04 17:00", also with seconds, a "T", or a "Z"/"UTC" after it: always UTC.
LAUNCH_TIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?\s*(?:Z|UTC)?\Z", re.IGNORECASE)


def parse_launch_time(typed: str) -> datetime:
    """``YYYY-MM-DD HH:MM`` (seconds allowed) in UTC; ``UsageError`` saying the format otherwise."""
    match = LAUNCH_TIME.fullmatch(" ".join(typed.split()))
    if match is None:
        raise UsageError(f"write the launch time as YYYY-MM-DD HH:MM in UTC, like 2026-12-04 17:00 "
                         f"(not {typed[:40]!r})")
    year, month, day, hour, minute, second = (int(part or 0) for part in match.groups())
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError as error:
        raise UsageError(f"{typed!r} is not a real time ({error})") from None


class LaunchCommands:
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
            raise CommandError(f"I can't add that: {refused}.") from None
        locale, fell_back = self._locale(lang)
        result = await self._service.add(label, post, locale, ctx.user_id, ctx.message.event_id)
        await ctx.reply(_added(result, fell_back, lang, ctx.prefix, self._service))

    async def listing(self, ctx: Context, release: str | None) -> None:
        if release is None:
            await ctx.reply(_all_lists(await self._service.lists(), ctx.prefix))
            return
        found = await self._service.listing(_checked_release(release))
        if found is None:
            raise CommandError(_no_list(release, ctx.prefix))
        await ctx.reply(_one_list(found, self._service.thread_link(found.launch), self._clock.now(), ctx.prefix))

    async def at(self, ctx: Context, release: str, date: str, time: str | None) -> None:
        label = _checked_release(release)
        when = parse_launch_time(f"{date} {time}" if time else date)
        result = await self._service.schedule(label, when, ctx.user_id)
        launch = result.launch
        if result.outcome is Outcome.UNKNOWN or launch is None:
            raise CommandError(_no_list(release, ctx.prefix))
        if result.outcome is Outcome.ALREADY_LAUNCHED:
            raise CommandError(_already_launched(launch, self._service))
        if result.outcome is Outcome.IN_THE_PAST:
            raise CommandError(f"{format_utc(when)} has passed. To launch now: {ctx.prefix}launch go {label}")
        moved = f" (it was {format_utc(result.previous)})" if result.previous else ""
        left = format_duration(when - self._clock.now())
        await ctx.reply(bold(f"{release_name(launch)} launches {format_utc(when)}") + f", in {left}{moved}. "
                        f"Then the thread with the list starts here. {ctx.prefix}launch cancel {label} takes it back.")

    async def go(self, ctx: Context, release: str) -> None:
        label = _checked_release(release)
        result = await self._service.go(label, ctx.user_id)
        launch = result.launch
        if result.outcome is Outcome.UNKNOWN or launch is None:
            raise CommandError(_no_list(release, ctx.prefix))
        if result.outcome is Outcome.ALREADY_LAUNCHED:
            raise CommandError(_already_launched(launch, self._service))
        thread = self._service.thread_link(launch)
        await ctx.reply(bold(f"{release_name(launch)} is launched.") + " "
                        + (link(thread, "The thread") if thread else "The thread") + " has everyone's ready reply.")

    async def cancel(self, ctx: Context, release: str) -> None:
        label = _checked_release(release)
        result = await self._service.cancel(label)
        launch = result.launch
        if result.outcome is Outcome.UNKNOWN or launch is None:
            raise CommandError(_no_list(release, ctx.prefix))
        if result.outcome is Outcome.ALREADY_LAUNCHED:
            raise CommandError(_already_launched(launch, self._service))
        if result.outcome is Outcome.NOT_SCHEDULED:
            raise CommandError(f"{release_name(launch)} has no launch time to cancel. "
                               f"{ctx.prefix}launch at {label} <date> <time> sets one.")
        when = format_utc(result.previous) if result.previous else "its time"
        await ctx.reply(f"The launch of {release_name(launch)} at {when} is cancelled; the list stays "
                        f"({ctx.prefix}launch list {label}).")

    async def done(self, ctx: Context, release: str, n: list[str]) -> None:
        label = _checked_release(release)
        numbers = [_number(value) for value in n]
        result = await self._service.done(label, numbers, ctx.user_id, ctx.message.event_id,
                                          reacted_to=ctx.reacted_to)
        launch = result.launch
        if result.outcome is Outcome.UNKNOWN or launch is None:
            raise CommandError(_no_list(release, ctx.prefix))
        if not result.marked and not result.already:
            raise CommandError(f"The {release_name(launch)} list has no {_numbers(result.unknown)}. "
                               f"{ctx.prefix}launch list {label} shows the numbers.")
        said = []
        if result.marked:
            said.append(f"Marked {_numbers(result.marked)} answered.")
        if result.already:
            said.append(f"{_numbers(result.already).capitalize()} {'was' if len(result.already) == 1 else 'were'} "
                        "already done.")
        if result.unknown:
            said.append(f"The list has no {_numbers(result.unknown)}.")
        pending = "Everyone is answered!" if result.pending == 0 else f"{people(result.pending)} still to answer."
        await ctx.reply(" ".join([*said, pending]))

    def _locale(self, lang: str | None) -> tuple[str, bool]:
        if lang is not None and not LANGUAGE_TAG.fullmatch(lang):
            raise CommandError(f"“{lang[:40]}” is not a language. The replies come in {', '.join(LOCALES)} "
                               "(or a variety like es-MX).")
        return resolve_variety(lang, self._default_locale)


def _checked_release(release: str) -> str:
    if not RELEASE_SHAPE.match(release):
        raise UsageError(f"a release is a short label of letters, digits, dots or dashes, like 150 or vpn-linux "
                         f"(not {release[:40]!r})")
    return release


def _number(value: str) -> int:
    cleaned = value.lstrip("#").rstrip(",")
    if not cleaned.isdigit() or len(cleaned) > 9:
        raise UsageError(f"the people are numbers from the list, like 3 (not {value[:20]!r})")
    return int(cleaned)


def _no_list(release: str, prefix: str) -> str:
    return (f"There is no launch list for “{release[:40]}” yet. {prefix}launch add {release[:40]} <post url> "
            f"starts one; {prefix}launch list shows them all.")


def _already_launched(launch: Launch, service: LaunchService) -> str:
    thread = service.thread_link(launch)
    when = f" on {format_utc(launch.launched_at)}" if launch.launched_at else ""
    return f"{release_name(launch)} was already launched{when}." + (f" The thread: {thread}" if thread else "")


def _added(result: AddResult, fell_back: bool, lang: str | None, prefix: str, service: LaunchService) -> Fragment:
    entry, launch = result.entry, result.launch
    assert entry is not None
    name = release_name(launch)
    if result.outcome is Outcome.DUPLICATE:
        return lines(f"{entry.handle} is already on the {name} list (number {entry.number}), added by "
                     f"{entry.added_by} on {format_utc(entry.added_at)}. Nothing changed.")
    if launch.state == LAUNCHED:
        thread = service.thread_link(launch)
        then = ("it is already out, so their entry goes into " + (link(thread, "the launch thread") if thread else
                "the launch thread") + " now.")
    elif launch.launch_at is not None:
        then = f"the launch is set for {format_utc(launch.launch_at)}."
    else:
        then = f"no launch time yet (a moderator sets it with {prefix}launch at)."
    return lines(
        bold(f"Added {entry.handle} ({entry.network}, {entry.locale})") + f" to the {name} list as number "
        f"{entry.number}; " + then,
        italic(f"There is no “{lang}” text; they get {entry.locale}.") if fell_back else None,
    )


def _one_list(found: LaunchList, thread: str | None, now: datetime, prefix: str) -> Fragment:
    launch, entries = found.launch, found.entries
    done = sum(1 for entry in entries if entry.done)
    languages = Counter(entry.locale for entry in entries)
    by_language = ", ".join(f"{locale} {count}" for locale, count in sorted(languages.items()))
    shown = sorted(entries, key=lambda entry: (entry.done, entry.number))[:LIST_SHOWN]
    more = f"…and {len(entries) - len(shown)} more." if len(entries) > len(shown) else None
    return lines(
        bold(f"{release_name(launch)}: {people(len(entries))}") + (f" ({by_language})" if entries else "")
        + f". Answered {done}, pending {len(entries) - done}.",
        _launch_state(launch, thread, now, prefix),
        bullets(_entry_line(entry) for entry in shown),
        more,
    )


def _launch_state(launch: Launch, thread: str | None, now: datetime, prefix: str) -> Fragment | str:
    if launch.state == LAUNCHED:
        when = format_utc(launch.launched_at) if launch.launched_at else "earlier"
        return f"Launched {when}: " + (link(thread, "thread") if thread else "the thread is on its way") + "."
    if launch.launch_at is not None:
        return f"Launches {format_utc(launch.launch_at)} (in {format_duration(launch.launch_at - now)})."
    return f"No launch time yet; a moderator sets it with {prefix}launch at {launch.label} <date> <time>."


def _entry_line(entry: Entry) -> Fragment:
    state = f"✅ answered by {entry.done_by}" if entry.done else "pending"
    return join([bold(f"#{entry.number}") + f" {entry.handle}", f"{entry.network}, {entry.locale}",
                 f"added by {entry.added_by}", state, link(entry.post_url, "post")], " · ")


def _all_lists(found: list[LaunchList], prefix: str) -> Fragment:
    if not found:
        return lines(f"No launch lists yet. {prefix}launch add <release> <post url> starts one.")
    shown = found[:LISTS_SHOWN]

    def line(item: LaunchList) -> Fragment:
        done = sum(1 for entry in item.entries if entry.done)
        state = ("launched" if item.launch.state == LAUNCHED else
                 f"launches {format_utc(item.launch.launch_at)}" if item.launch.launch_at else "no launch time")
        return join([code(item.launch.label), people(len(item.entries)), f"{done} answered", state], " · ")

    return lines("Launch lists (newest first):", bullets(line(item) for item in shown),
                 f"{prefix}launch list <release> shows one.")

