"""Consults and their 72-hour window: open, record the first answer, remind, expire, close.

A consult is a thread the bot starts in the contributors' room. Its reminder and expiry are rows in
the one schedule (kind ``consult``, stages ``remind`` and ``expire``), planned in the same
transaction as the consult itself, so no consult ever exists without its window. Every promised
message goes through ``send_once`` under a key naming the consult and the stage, so a replayed
command, a repeated tick or a restart never posts anything twice.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from rapidfuzz import fuzz, utils

from bot.clock import Clock
from bot.features.consults import messages
from bot.features.consults.tweet_links import ConsultLink, read_consult_link
from bot.matrix.events import IncomingMessage, permalink
from bot.matrix.rooms import RoomIds
from bot.matrix.sender import SendsAndReacts
from bot.storage import Storage
from bot.storage.consults import Consult, ConsultFilter, ConsultState, NewConsult
from bot.storage.schedule import DueWork

log = logging.getLogger(__name__)

KIND = "consult"
REMIND = "remind"
EXPIRE = "expire"
ANSWERED = "answered"  # the requester is told of the first answer

SIMILAR_LOOKBACK = timedelta(days=7)
SIMILARITY_THRESHOLD = 70      # rapidfuzz token_set_ratio, 0..100
SIMILAR_ENOUGH_TO_SAY = 2      # "two or more alike" is a pattern worth an escalation
MIN_WORDS_TO_COMPARE = 3       # a one-word consult is a subset of everything; too little to judge

OpenedListener = Callable[[Consult], Awaitable[None]]


@dataclass(frozen=True)
class ConsultSettings:
    window: timedelta
    remind_after: timedelta
    moderator_pings: tuple[str, ...] = ()
    prefix: str = "!"


@dataclass(frozen=True)
class OpenedConsult:
    consult: Consult
    thread_link: str
    similar: tuple[Consult, ...]


class CloseOutcome(enum.StrEnum):
    CLOSED = "closed"
    UNKNOWN = "unknown"
    NOT_ALLOWED = "not allowed"
    ALREADY_CLOSED = "already closed"


@dataclass(frozen=True)
class CloseResult:
    outcome: str
    consult: Consult | None


def outbox_key(consult_id: int, stage: str) -> str:
    return f"consult:{consult_id}:{stage}"


# The bot's own reactions on a consult's thread root: state at a glance. One ✅ for answered and for
# closed (the same mark: the consult needs nobody any more); ⌛ when the window closed unanswered.
DONE_MARK, EXPIRED_MARK = "✅", "⌛"


class ConsultService:
    def __init__(self, storage: Storage, sender: SendsAndReacts, clock: Clock, rooms: RoomIds,
                 settings: ConsultSettings) -> None:
        self._storage = storage
        self._consults = storage.consults
        self._schedule = storage.schedule
        self._sender = sender
        self._clock = clock
        self._rooms = rooms
        self._settings = settings
        self._opened_listeners: list[OpenedListener] = []

    def add_opened_listener(self, listener: OpenedListener) -> None:
        """Called after each !consult (again when a command is replayed: listeners must be idempotent)."""
        self._opened_listeners.append(listener)

    # ---- opening ---------------------------------------------------------------------------

    async def open(self, requester: str, command_event_id: str, link: ConsultLink, thoughts: str) -> OpenedConsult:
        now = self._clock.now()
        consult = await self._insert_with_window(NewConsult(
            requester=requester, room_id=self._rooms.contributors, command_event_id=command_event_id,
            tweet_url=link.url, thoughts=thoughts, opened_at=now, window_closes_at=now + self._settings.window,
        ))
        try:
            consult = await self._ensure_thread(consult)
        except Exception:
            # A consult is opened together with its thread or not at all: nobody could answer it.
            await self._discard(consult)
            raise
        similar = await self._point_out_similar(consult)
        await self._tell_listeners(consult)
        return OpenedConsult(consult, self.thread_link(consult), similar)

    async def _insert_with_window(self, new: NewConsult) -> Consult:
        async with self._storage.db.transaction():
            consult, created = await self._consults.open(new)
            if created:
                await self._schedule.plan(KIND, consult.id, REMIND, consult.opened_at + self._settings.remind_after)
                await self._schedule.plan(KIND, consult.id, EXPIRE, consult.window_closes_at)
        return consult

    async def _discard(self, consult: Consult) -> None:
        async with self._storage.db.transaction():
            await self._schedule.cancel_item(KIND, consult.id)
            await self._consults.discard(consult.id)
        log.warning("consult #%d discarded: its thread could not be posted", consult.id)

    async def _ensure_thread(self, consult: Consult) -> Consult:
        """Post the thread root unless it exists (also used by due stages, should a root have failed)."""
        if consult.thread_event_id is not None:
            return consult
        root = messages.thread_root(consult, self._clock.now())
        event_id = await self._sender.send_once(outbox_key(consult.id, "root"), consult.room_id, root)
        await self._consults.set_thread(consult.id, event_id)
        return replace(consult, thread_event_id=event_id)

    async def _point_out_similar(self, consult: Consult) -> tuple[Consult, ...]:
        recent = await self._consults.opened_since(consult.opened_at - SIMILAR_LOOKBACK)
        similar = tuple(similar_consults(consult, recent))
        if len(similar) >= SIMILAR_ENOUGH_TO_SAY:
            note = messages.similar_note(consult, similar, self._settings.prefix, SIMILAR_LOOKBACK)
            await self._sender.send_once(outbox_key(consult.id, "similar"), consult.room_id, note,
                                         thread_root=consult.thread_event_id)
        return similar

    async def _tell_listeners(self, consult: Consult) -> None:
        for listener in self._opened_listeners:
            try:
                await listener(consult)
            except Exception:  # a forum outage must not undo a consult that is open
                log.exception("a consult listener failed for consult #%d", consult.id)

    # ---- answers ---------------------------------------------------------------------------

    async def observe_message(self, message: IncomingMessage) -> None:
        """Every non-command message: a post in a consult's thread may be its first answer."""
        # A client without threads answers the root with a plain rich reply: that is in the thread too.
        anchor = message.thread_root or message.in_reply_to
        if anchor is None or message.is_notice:
            return
        consult = await self._consults.by_thread(anchor)
        if consult is not None:
            await self._record(consult, message.sender, message.sent_at)

    async def record_answer(self, consult_id: int, answered_by: str, at: datetime) -> bool:
        """An answer seen elsewhere (a forum topic); True when it is the consult's first answer."""
        consult = await self._consults.get(consult_id)
        return consult is not None and await self._record(consult, answered_by, at)

    async def _record(self, consult: Consult, answered_by: str, at: datetime) -> bool:
        if answered_by == consult.requester:
            return False  # talking in your own thread is not an answer
        async with self._storage.db.transaction():
            first = await self._consults.record_first_answer(consult.id, answered_by, at)
            if first:
                # The window's stages go; telling the requester is planned with the answer, so a
                # crash or a failed send here still tells them once (the scheduler retries it).
                await self._schedule.cancel_item(KIND, consult.id)
                await self._schedule.plan(KIND, consult.id, ANSWERED, self._clock.now())
        if first:
            try:
                await self._tell_requester(consult.id)
            except Exception:  # the scheduled row sends it on a later tick
                log.warning("telling the requester of consult #%d's answer failed; retried by the scheduler",
                            consult.id, exc_info=True)
        # Also when not first: a crash between recording and reacting is healed by the replayed answer.
        if first or consult.answered:
            await self._mark(consult, DONE_MARK)
        return first

    async def _tell_requester(self, consult_id: int) -> None:
        consult = await self._consults.get(consult_id)
        if consult is None or consult.closed or consult.first_answer_by is None:
            return
        consult = await self._ensure_thread(consult)
        await self._sender.send_once(outbox_key(consult.id, ANSWERED), consult.room_id,
                                     messages.answered_for_requester(consult, consult.first_answer_by),
                                     thread_root=consult.thread_event_id)

    async def _mark(self, consult: Consult, emoji: str) -> None:
        if consult.thread_event_id is None:
            return
        stage = "mark:done" if emoji == DONE_MARK else "mark:expired"
        await self._sender.react_once(outbox_key(consult.id, stage), consult.room_id, consult.thread_event_id, emoji)

    # ---- closing and listing -----------------------------------------------------------------

    async def close(self, consult_id: int, closed_by: str, is_moderator: bool) -> CloseResult:
        consult = await self._consults.get(consult_id)
        if consult is None:
            return CloseResult(CloseOutcome.UNKNOWN, None)
        if closed_by != consult.requester and not is_moderator:
            return CloseResult(CloseOutcome.NOT_ALLOWED, consult)
        if not await self._consults.close(consult.id, closed_by, self._clock.now()):
            return CloseResult(CloseOutcome.ALREADY_CLOSED, await self._consults.get(consult_id))
        await self._schedule.cancel_item(KIND, consult.id)
        await self._mark(consult, DONE_MARK)
        return CloseResult(CloseOutcome.CLOSED, await self._consults.get(consult_id))

    async def listing(self, which: ConsultFilter, limit: int) -> tuple[list[Consult], int]:
        stale_before = self._clock.now() - self._settings.remind_after
        return await self._consults.listing(which, stale_before, limit)

    def thread_link(self, consult: Consult) -> str:
        return permalink(consult.room_id, consult.thread_event_id or consult.command_event_id)

    # ---- the window: due stages from the scheduler ----------------------------------------------

    async def handle_due(self, work: DueWork) -> None:
        if work.stage == ANSWERED:
            await self._tell_requester(int(work.item_id))
            return
        consult = await self._consults.get(int(work.item_id))
        if consult is None or consult.state is not ConsultState.OPEN:
            return  # answered, closed or gone since it was planned
        if work.stage == REMIND:
            await self._remind(consult)
        elif work.stage == EXPIRE:
            await self._expire(consult)
        else:
            log.warning("unknown consult stage %r for #%s; dropping it", work.stage, work.item_id)

    async def _remind(self, consult: Consult) -> None:
        now = self._clock.now()
        if now >= consult.window_closes_at:
            return  # down past the whole window: the expiry notice says it all
        consult = await self._ensure_thread(consult)
        await self._sender.send_once(outbox_key(consult.id, REMIND), consult.room_id,
                                     messages.reminder(consult, self._settings.window, now),
                                     thread_root=consult.thread_event_id)

    async def _expire(self, consult: Consult) -> None:
        consult = await self._ensure_thread(consult)
        window = self._settings.window
        await self._sender.send_once(outbox_key(consult.id, EXPIRE), consult.room_id,
                                     messages.expiry_notice(consult, window), thread_root=consult.thread_event_id)
        ping = messages.moderators_ping(consult, window, self._settings.moderator_pings, self.thread_link(consult))
        await self._sender.send_once(outbox_key(consult.id, "expire:moderators"), self._rooms.moderators, ping)
        await self._mark(consult, EXPIRED_MARK)
        await self._consults.mark_expired(consult.id)


# ---- similar consults -----------------------------------------------------------------------------

def similar_consults(new: Consult, recent: Iterable[Consult], threshold: float = SIMILARITY_THRESHOLD) -> list[Consult]:
    """The other recent consults that read like ``new`` (same tweet, or alike words and author)."""
    return [other for other in recent if other.id != new.id and _alike(new, other, threshold)]


def _alike(first: Consult, second: Consult, threshold: float) -> bool:
    first_link, second_link = read_consult_link(first.tweet_url), read_consult_link(second.tweet_url)
    if first_link and second_link and first_link.is_tweet and first_link.status_id == second_link.status_id:
        return True
    if min(len(first.thoughts.split()), len(second.thoughts.split())) < MIN_WORDS_TO_COMPARE:
        return False
    score = fuzz.token_set_ratio(_signature(first, first_link), _signature(second, second_link),
                                 processor=utils.default_process)
    return score >= threshold


def _signature(consult: Consult, link: ConsultLink | None) -> str:
    """The thoughts plus whose tweet it is: the same person's tweets are often about one thing."""
    author = link.author if link is not None and link.author else ""
    return f"{consult.thoughts} {author}".strip()

