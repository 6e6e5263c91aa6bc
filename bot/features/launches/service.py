"""Launch-day lists: collect who asked to hear about a release, and tell the room on launch day.

A list's launch is one row of the one schedule (kind ``launch``, the release as item, stage ``go``),
written in the same transaction as the launch time. At launch the bot starts one thread in the
contributors' room and posts the list in it, ten people a message. Every message goes through
``send_once`` under a key naming the release and the message, and each person's message (their
``chunk``) is fixed in the database before anything is sent, so a repeated tick, ``!launch go`` racing
the scheduler, or a crash and restart never posts the thread or any person twice. A person added after
the launch gets a message of their own in the thread at once.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.clock import Clock
from bot.features.launches import messages
from bot.features.launches.posts import PostLink
from bot.features.links.policy import LinkRefused
from bot.features.links.shortener import LinkShortener
from bot.features.replies.catalog import ReplyCatalog
from bot.matrix.events import permalink
from bot.matrix.rooms import RoomIds
from bot.matrix.sender import Sends
from bot.services.bitly import ShortenError
from bot.storage import Storage
from bot.storage.launches import LAUNCHED, Entry, Launch, NewEntry
from bot.storage.schedule import DueWork

log = logging.getLogger(__name__)

KIND = "launch"
GO = "go"
CHUNK_SIZE = 10
REPLY_KEY = "launch-announcement"
# On a message of the launch thread: everyone still pending in it is answered.
DONE_MARK = "✅"
SHORT_LINK_WAIT = 4.0
# A free label: "150", "150.0.1", "vpn-linux", "Focus-140".
RELEASE_SHAPE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,38}[A-Za-z0-9])?\Z")


class Outcome(enum.StrEnum):
    DONE = "done"
    UNKNOWN = "unknown"            # no list for that release
    DUPLICATE = "duplicate"
    ALREADY_LAUNCHED = "already launched"
    IN_THE_PAST = "in the past"
    NOT_SCHEDULED = "not scheduled"


@dataclass(frozen=True)
class AddResult:
    outcome: Outcome
    entry: Entry | None        # the new entry, or the one already there
    launch: Launch


@dataclass(frozen=True)
class ScheduleResult:
    outcome: Outcome
    launch: Launch | None
    previous: datetime | None = None


@dataclass(frozen=True)
class DoneResult:
    outcome: Outcome
    launch: Launch | None
    marked: tuple[int, ...] = ()
    already: tuple[int, ...] = ()
    unknown: tuple[int, ...] = ()
    pending: int = 0


@dataclass(frozen=True)
class LaunchList:
    launch: Launch
    entries: tuple[Entry, ...]


@dataclass(frozen=True)
class PostedMessage:
    """A message of a launch thread and the people it carries (ten of a chunk, or one added late)."""

    launch: Launch
    entries: tuple[Entry, ...]


def release_key(label: str) -> str:
    return label.lower()


def outbox_key(release: str, part: str) -> str:
    return f"launch:{release}:{part}"


class LaunchService:
    def __init__(self, storage: Storage, sender: Sends, clock: Clock, rooms: RoomIds, replies: ReplyCatalog,
                 shortener: LinkShortener, default_locale: str, prefix: str = "!",
                 short_link_wait: float = SHORT_LINK_WAIT) -> None:
        self._db = storage.db
        self._launches = storage.launches
        self._schedule = storage.schedule
        self._sender = sender
        self._clock = clock
        self._rooms = rooms
        self._replies = replies
        self._shortener = shortener
        self._default_locale = default_locale
        self._short_link_wait = short_link_wait
        self._prefix = prefix
        # A launch time before this process started fell while the bot was down: its thread says so.
        self._started_at = clock.now()

    # ---- collecting ----------------------------------------------------------------------------

    async def add(self, label: str, post: PostLink, locale: str, added_by: str, command_event_id: str) -> AddResult:
        release = release_key(label)
        now = self._clock.now()
        async with self._db.transaction():
            launch = await self._launches.ensure(release, label, now)
            existing = await self._launches.same_person_or_post(release, post.handle_key, post.post_key)
            if existing is not None:
                return AddResult(Outcome.DUPLICATE, existing, launch)
            entry = await self._launches.add(NewEntry(
                release=release, network=post.network.value, handle=post.handle, handle_key=post.handle_key,
                post_key=post.post_key, post_url=post.url, locale=locale, added_by=added_by, added_at=now,
                command_event_id=command_event_id))
            if launch.state == LAUNCHED:
                # Late to the list: posted in the thread now, and by the scheduler should that fail.
                await self._schedule.plan(KIND, release, GO, now)
        if launch.state == LAUNCHED:
            try:
                launch = await self._post_entries(launch)
            except Exception:  # the person is on the list; the scheduler posts their entry on a later tick
                log.exception("posting a late entry of launch %s failed; the scheduler retries it", release)
            else:
                await self._schedule.cancel_item(KIND, release)
        return AddResult(Outcome.DONE, entry, launch)

    async def listing(self, label: str) -> LaunchList | None:
        release = release_key(label)
        launch = await self._launches.get(release)
        if launch is None:
            return None
        return LaunchList(launch, tuple(await self._launches.entries(release)))

    async def lists(self) -> list[LaunchList]:
        return [LaunchList(launch, tuple(await self._launches.entries(launch.release)))
                for launch in await self._launches.all()]

    def thread_link(self, launch: Launch) -> str | None:
        return None if launch.thread_event_id is None else permalink(self._rooms.contributors, launch.thread_event_id)

    # ---- the launch time -----------------------------------------------------------------------

    async def _changeable(self, release: str) -> Launch | ScheduleResult:
        """The launch to schedule, cancel or start now, or the answer refusing it (unknown, already out)."""
        launch = await self._launches.get(release)
        if launch is None:
            return ScheduleResult(Outcome.UNKNOWN, None)
        if launch.state == LAUNCHED:
            return ScheduleResult(Outcome.ALREADY_LAUNCHED, launch)
        return launch

    async def schedule(self, label: str, at: datetime, by: str) -> ScheduleResult:
        release = release_key(label)
        async with self._db.transaction():
            launch = await self._changeable(release)
            if isinstance(launch, ScheduleResult):
                return launch
            if at <= self._clock.now():
                return ScheduleResult(Outcome.IN_THE_PAST, launch)
            await self._launches.schedule(release, at, by)
            await self._schedule.plan(KIND, release, GO, at)
        return ScheduleResult(Outcome.DONE, await self._launches.get(release), launch.launch_at)

    async def cancel(self, label: str) -> ScheduleResult:
        release = release_key(label)
        async with self._db.transaction():
            launch = await self._changeable(release)
            if isinstance(launch, ScheduleResult):
                return launch
            if launch.launch_at is None:
                return ScheduleResult(Outcome.NOT_SCHEDULED, launch)
            await self._launches.schedule(release, None, None)
            await self._schedule.cancel_item(KIND, release)
        return ScheduleResult(Outcome.DONE, await self._launches.get(release), launch.launch_at)

    async def go(self, label: str, by: str) -> ScheduleResult:
        """Launch now. The schedule row is written first, so a failure part-way is retried by the scheduler."""
        release = release_key(label)
        now = self._clock.now()
        async with self._db.transaction():
            launch = await self._changeable(release)
            if isinstance(launch, ScheduleResult):
                return launch
            await self._launches.schedule(release, now, by)
            await self._schedule.plan(KIND, release, GO, now)
        launch = await self._launch(release)
        await self._schedule.cancel_item(KIND, release)
        return ScheduleResult(Outcome.DONE, launch)

    async def handle_due(self, work: DueWork) -> None:
        if work.stage != GO:
            log.warning("unknown launch stage %r for %s; dropping it", work.stage, work.item_id)
            return
        launch = await self._launches.get(work.item_id)
        if launch is None or launch.launch_at is None:
            return  # cancelled since it was planned
        await self._launch(launch.release)

    async def _launch(self, release: str) -> Launch:
        await self._launches.mark_launched(release, self._clock.now())
        launch = await self._launches.get(release)
        assert launch is not None
        return await self._post_entries(launch)

    async def _post_entries(self, launch: Launch) -> Launch:
        """The thread (unless it exists) and every message of it not yet sent; safe to repeat."""
        release = launch.release
        async with self._db.transaction():  # two launches racing (a tick and !launch go) give one chunk each
            await self._launches.assign_chunks(release, CHUNK_SIZE)
        entries = await self._launches.entries(release)
        room = self._rooms.contributors
        if launch.thread_event_id is None:
            late = launch.launch_at is not None and launch.launch_at < self._started_at
            root = messages.thread_root(launch, len(entries), late, self._prefix)
            thread = await self._sender.send_once(outbox_key(release, "root"), room, root)
            await self._launches.set_thread(release, thread)
            launch = await self._launches.get(release) or launch
        thread = launch.thread_event_id
        assert thread is not None
        link = await self._article_link()
        for chunk, people in _by_chunk(entries):
            if all(entry.posted_at is not None for entry in people):
                continue  # sent before; its outbox row may be pruned by now, so it is not asked again
            message = messages.chunk(people, [self._ready_reply(entry, link) for entry in people])
            event_id = await self._sender.send_once(outbox_key(release, f"chunk:{chunk}"), room, message,
                                                    thread_root=thread)
            await self._launches.mark_posted(release, chunk, self._clock.now(), event_id)
        await self._say_when_all_done(launch, entries)
        return launch

    # ---- answered ------------------------------------------------------------------------------

    async def done(self, label: str, numbers: Sequence[int], by: str, event_id: str,
                   reacted_to: str | None = None) -> DoneResult:
        """Mark people answered by ``event_id`` (a typed command, or a ✅ on the thread message
        ``reacted_to``: then the thread is told what was marked and by whom)."""
        release = release_key(label)
        launch = await self._launches.get(release)
        if launch is None:
            return DoneResult(Outcome.UNKNOWN, None)
        known = {entry.number for entry in await self._launches.entries(release)}
        asked = list(dict.fromkeys(numbers))
        unknown = tuple(n for n in asked if n not in known)
        await self._launches.mark_done(release, [n for n in asked if n in known], by, self._clock.now(), event_id)
        entries = await self._launches.entries(release)
        by_number = {entry.number: entry for entry in entries}
        # What this event marked, also when it is handled again after a crash (nothing is changed then).
        marked = tuple(n for n in asked if n in by_number and by_number[n].done_event_id == event_id)
        already = tuple(n for n in asked if n in by_number and n not in marked)
        pending = sum(1 for entry in entries if not entry.done)
        if marked:
            if reacted_to is not None and launch.thread_event_id is not None:
                await self._sender.send_once(outbox_key(release, f"marked:{event_id}"), self._rooms.contributors,
                                             messages.marked_by_reaction(marked, by, pending), reply_to=reacted_to,
                                             thread_root=launch.thread_event_id)
            await self._say_when_all_done(launch, entries)
        return DoneResult(Outcome.DONE, launch, marked, already, unknown, pending)

    async def posted_message(self, room_id: str, event_id: str) -> PostedMessage | None:
        """The launch message ``event_id`` and its people; None for any other event."""
        if room_id != self._rooms.contributors:
            return None
        entries = await self._launches.in_message(event_id)
        if not entries:
            # Posted just before a crash, not yet recorded as posted: finish what the launch left undone
            # (as the scheduler's retry would; every send is keyed), then look again.
            for unfinished in await self._launches.unfinished():
                await self._post_entries(unfinished)
            entries = await self._launches.in_message(event_id)
        if not entries:
            return None
        launch = await self._launches.get(entries[0].release)
        return None if launch is None else PostedMessage(launch, tuple(entries))

    async def _say_when_all_done(self, launch: Launch, entries: Sequence[Entry]) -> None:
        if launch.thread_event_id is None or not entries or any(not entry.done for entry in entries):
            return
        # Keyed by the list's size: said once, and once more only if people were added and answered.
        await self._sender.send_once(outbox_key(launch.release, f"all-done:{len(entries)}"), self._rooms.contributors,
                                     messages.all_done(launch, len(entries)), thread_root=launch.thread_event_id)

    # ---- the ready replies ---------------------------------------------------------------------

    def _ready_reply(self, entry: Entry, link: str | None) -> messages.ReadyReply | None:
        reply = self._replies.library.get(REPLY_KEY)
        if reply is None:
            return None
        return messages.ready_reply(reply, entry, link, self._default_locale)

    async def _article_link(self) -> str | None:
        """The mzl.la link of the reply's article (one lookup per launch), or None for the article itself."""
        reply = self._replies.library.get(REPLY_KEY)
        if reply is None or not self._shortener.enabled:
            return None
        try:
            short = await asyncio.wait_for(self._shortener.shorten(reply.article), self._short_link_wait)
        except (LinkRefused, ShortenError, TimeoutError) as error:
            log.info("launch replies use the full article link: %s", error)
            return None
        return short.short_url


def _by_chunk(entries: Sequence[Entry]) -> list[tuple[int, list[Entry]]]:
    chunks: dict[int, list[Entry]] = {}
    for entry in entries:
        if entry.chunk is not None:
            chunks.setdefault(entry.chunk, []).append(entry)
    return sorted(chunks.items())
