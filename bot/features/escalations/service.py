"""Escalations to the moderators: reading a request, the rules of its life, and who is told what.

An escalation is stored before anyone is told. The same post reported again while the first report
is still open or acknowledged joins it ("+1") instead of opening another. An escalation still open
after ``reping_after`` pings the moderators once more; acknowledging or resolving it cancels that.

Every message the service promises goes through ``send_once`` under a key naming the escalation
and the promise (``escalation:<n>:moderators``, ``escalation:<n>:report:<command event>``,
``escalation:<n>:ack:<command event>``, …), so a command handled again after a crash, or a batch
handled twice, tells nobody twice.
"""

from __future__ import annotations

import enum
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from bot.clock import Clock
from bot.features.escalations import messages
from bot.features.replies.library import ReplyLibrary
from bot.features.replies.model import resolve_locale
from bot.features.replies.render import render_reply
from bot.features.x_links import X_HOSTS, read_x_link
from bot.framework.arguments import UsageError, split_words
from bot.framework.command import CommandError
from bot.matrix.events import IncomingMessage, Ping
from bot.matrix.rendering import echo
from bot.matrix.rooms import RoomIds
from bot.matrix.sender import SendsAndReacts
from bot.storage.escalations import (
    ACTIVE_STATES,
    OPEN,
    RESOLVED,
    STATES,
    Escalation,
    EscalationStore,
    NewEscalation,
    Report,
)
from bot.storage.schedule import DueWork, Schedule

log = logging.getLogger(__name__)

SCHEDULE_KIND = "escalation"
REPING_STAGE = "reping"
DEFAULT_REASON = "other"
MAX_DESCRIPTION = 1000
HOLDING_REPLY_KEY = "escalation-holding"
# The bot's own reactions on an escalation's ping: taken, and resolved (also the moderators' quick
# actions: the same reaction from a moderator is !ack / !resolve).
ACK_MARK, RESOLVED_MARK = "👀", "✅"

# A link in what people type: up to the first space or bracket; trailing punctuation is sentence.
_URL = re.compile(r"https?://[^\s<>\"'“”‘’]+", re.IGNORECASE)
_TRAILING_PUNCTUATION = ".,;:!?)]}"


# ---- reading a request ----------------------------------------------------------------------------


@dataclass(frozen=True)
class EscalationRequest:
    description: str
    reason: str
    link: str | None

    @property
    def link_key(self) -> str | None:
        return post_key(self.link) if self.link else None


def escalation_request(url_or_text: str, reason: str | None) -> EscalationRequest:
    """What the command's parser gave (the text, and the reason when its last word was one) → the
    description, reason and first link; raises UsageError. See ``messages.PARSING_RULE``."""
    words = split_words(url_or_text)
    if not words:
        raise UsageError(messages.NOTHING_TO_ESCALATE)
    if reason is None and len(words) == 2 and is_url(words[0]):
        raise UsageError(messages.unknown_reason(echo(words[1])))
    description = words[0] if len(words) == 1 else url_or_text.strip()  # one quoted chunk loses its quotes
    if len(description) > MAX_DESCRIPTION:
        raise UsageError(messages.too_long(len(description), MAX_DESCRIPTION))
    link = find_link(description)
    if link is not None:
        try:
            urlsplit(link)
        except ValueError:  # e.g. "http://[x": an IPv6 literal left open
            raise UsageError(messages.unreadable_link(echo(link))) from None
    return EscalationRequest(description, reason or DEFAULT_REASON, link)


def is_url(word: str) -> bool:
    return _URL.fullmatch(word.rstrip(_TRAILING_PUNCTUATION)) is not None


def find_link(text: str) -> str | None:
    match = _URL.search(text)
    return match.group(0).rstrip(_TRAILING_PUNCTUATION) if match else None


def post_key(url: str) -> str:
    """The key under which reports of one post meet (not a link to open; see ``links.policy`` for
    that): the same post spelled the same way: https, lower-case host, no query or fragment, no trailing
    slash; x.com and twitter.com (and their www./mobile. forms) are one site, and a post on it is
    named by its status number alone, as ``bot.features.x_links`` reads it (the handle in its path can
    be any case, or even stale)."""
    x_link = read_x_link(url)
    if x_link is not None and x_link.status_id is not None:
        return f"https://x.com/i/status/{x_link.status_id}"
    parts = urlsplit(url.strip())
    host = parts.netloc.lower()
    if host in X_HOSTS:
        host = "x.com"
    return f"https://{host}{parts.path.rstrip('/')}"


# ---- the rules ------------------------------------------------------------------------------------


class Outcome(enum.Enum):
    OPENED = "opened"
    JOINED = "joined"                      # another person's report of an active escalation
    ALREADY_REPORTED = "already reported"  # this person had reported that post already


@dataclass(frozen=True)
class Reported:
    escalation: Escalation
    outcome: Outcome


@dataclass(frozen=True)
class Told:
    """An acknowledged or resolved escalation, and how many of its requesters were told."""

    escalation: Escalation
    requesters: int


@dataclass(frozen=True)
class EscalationList:
    """One page of ``!escalations``: what is shown, how many more there are, and when it was read."""

    escalations: list[Escalation]
    more: int
    as_of: datetime


class EscalationError(CommandError):
    """A moderator asked for something the escalation's number or state does not allow."""


class EscalationService:
    def __init__(self, store: EscalationStore, schedule: Schedule, sender: SendsAndReacts, clock: Clock,
                 rooms: RoomIds, pings: Sequence[str], reping_after: timedelta,
                 prefix: str = "!") -> None:
        self._store = store
        self._schedule = schedule
        self._sender = sender
        self._clock = clock
        self._rooms = rooms
        self._pings = tuple(pings)
        self._reping_after = reping_after
        self._prefix = prefix

    @property
    def pings(self) -> tuple[str, ...]:
        return self._pings

    async def report(self, request: EscalationRequest, command: IncomingMessage) -> Reported:
        """Open an escalation, or add this report to the active one about the same link; then tell the
        moderators (the ping for a new one, a "+1" under it for a joined one)."""
        reported = await self._record(request, command)
        escalation = reported.escalation
        if reported.outcome is Outcome.OPENED:
            notice = messages.moderators_notice(escalation, self._pings, self._prefix)
            event_id = await self._sender.send_once(self._key(escalation, "moderators"), self._rooms.moderators,
                                                    notice)
            if escalation.moderators_event_id is None:  # kept across a crash before it was recorded
                await self._store.set_moderators_event(escalation.id, event_id)
                escalation = replace(escalation, moderators_event_id=event_id)
        elif reported.outcome is Outcome.JOINED:
            await self._sender.send_once(self._key(escalation, "report", command.event_id), self._rooms.moderators,
                                         messages.report_added(escalation, command.sender),
                                         reply_to=escalation.moderators_event_id)
        return Reported(escalation, reported.outcome)

    async def _record(self, request: EscalationRequest, command: IncomingMessage) -> Reported:
        now = self._clock.now()
        async with self._store.transaction():
            earlier = await self._store.find_by_command(command.event_id)
            if earlier is not None:  # the same command handled again after a crash
                replayed = Outcome.OPENED if earlier.command_event_id == command.event_id else Outcome.JOINED
                return Reported(earlier, replayed)
            if request.link_key is not None:
                active = await self._store.find_active_by_link(request.link_key)
                if active is not None:
                    return await self._add_report(active, command)
            escalation = await self._store.insert(NewEscalation(
                requester=command.sender, room_id=command.room_id, command_event_id=command.event_id,
                thread_root=command.thread_root, description=request.description, link=request.link,
                link_key=request.link_key, reason=request.reason, created_at=now,
            ))
            await self._schedule.plan(SCHEDULE_KIND, escalation.id, REPING_STAGE, now + self._reping_after)
        return Reported(escalation, Outcome.OPENED)

    async def _add_report(self, active: Escalation, command: IncomingMessage) -> Reported:
        report = Report(active.id, command.sender, command.room_id, command.event_id, command.thread_root,
                        self._clock.now())
        added = await self._store.add_report(report)
        return Reported(await self._existing(active.id), Outcome.JOINED if added else Outcome.ALREADY_REPORTED)

    async def acknowledge(self, number: int, moderator: str) -> Told:
        """Take an escalation; each of its requesters is told, in their own room and thread."""
        async with self._store.transaction():
            escalation = await self._existing(number)
            done = await self._store.acknowledge(number, moderator, self._clock.now())
            if done:
                await self._schedule.cancel_item(SCHEDULE_KIND, number)
        current = await self._existing(number)
        # Also when refused: heals a mark lost to a crash after the change.
        await self._mark(current)
        told = 0
        if done or (current.state != RESOLVED and current.acknowledged_by == moderator):
            # Refused because this moderator already took it: the same command handled again after a
            # crash; whoever was not told yet is told now (the keys skip whoever was).
            told = await self._tell_requesters(current, "ack", current.acknowledged_at,
                                               messages.acknowledged_for_requester)
        if not done:
            raise EscalationError(messages.cannot_acknowledge(escalation, self._clock.now()))
        return Told(current, told)

    async def resolve(self, number: int, moderator: str, note: str | None) -> Told:
        """Close an escalation; each of its requesters gets the note."""
        async with self._store.transaction():
            escalation = await self._existing(number)
            done = await self._store.resolve(number, moderator, self._clock.now(), note or None)
            if done:
                await self._schedule.cancel_item(SCHEDULE_KIND, number)
        current = await self._existing(number)
        await self._mark(current)
        told = 0
        if done or current.resolved_by == moderator:  # the same healing as in ``acknowledge``
            told = await self._tell_requesters(current, "resolved", current.resolved_at,
                                               messages.resolved_for_requester)
        if not done:
            raise EscalationError(messages.cannot_resolve(escalation, self._clock.now()))
        return Told(current, told)

    async def _tell_requesters(self, escalation: Escalation, stage: str, changed_at: datetime | None,
                               message: Callable[[Escalation, str], Ping]) -> int:
        """Answer each requester's own command, once each; returns how many were told.

        Only the reports made before the change: one that joined after it was told in its answer.
        """
        reports = [report for report in await self._store.reports(escalation.id)
                   if changed_at is None or report.reported_at <= changed_at]
        for report in reports:
            await self._sender.send_once(self._key(escalation, stage, report.command_event_id), report.room_id,
                                         message(escalation, report.reporter),
                                         reply_to=report.command_event_id, thread_root=report.thread_root)
        return len(reports)

    @staticmethod
    def _key(escalation: Escalation, *parts: str) -> str:
        return ":".join(("escalation", str(escalation.id), *parts))

    async def _mark(self, escalation: Escalation) -> None:
        """The bot's reactions on the ping, once each: 👀 once taken, ✅ once resolved."""
        if escalation.moderators_event_id is None:
            return
        marks = []
        if escalation.acknowledged_at is not None:
            marks.append(("ack", ACK_MARK))
        if escalation.state == RESOLVED:
            marks.append(("resolved", RESOLVED_MARK))
        for stage, emoji in marks:
            await self._sender.react_once(f"escalation:{escalation.id}:mark:{stage}", self._rooms.moderators,
                                          escalation.moderators_event_id, emoji)

    async def number_pinged_by(self, room_id: str, event_id: str) -> int | None:
        """The escalation whose ping in the moderators' room is this event (a reaction's target)."""
        if room_id != self._rooms.moderators:
            return None
        escalation = await self._store.find_by_moderators_event(event_id)
        return escalation.id if escalation is not None else None

    async def reports(self, escalation: Escalation) -> list[Report]:
        return await self._store.reports(escalation.id)

    async def listing(self, which: str, limit: int) -> EscalationList:
        """``open`` (open and acknowledged) or ``all``, newest first."""
        states = ACTIVE_STATES if which == "open" else STATES
        shown = await self._store.newest(states, limit)
        return EscalationList(shown, await self._store.count(states) - len(shown), self._clock.now())

    async def _existing(self, number: int) -> Escalation:
        escalation = await self._store.get(number)
        if escalation is None:
            raise EscalationError(messages.no_such_escalation(number, self._prefix))
        return escalation

    # ---- the scheduled re-ping -------------------------------------------------------------------

    async def handle_due(self, work: DueWork) -> None:
        """Ping the moderators once more about an escalation nobody has taken yet."""
        if work.stage != REPING_STAGE:
            log.error("unknown escalation stage %r; dropping %s", work.stage, work)
            return
        escalation = await self._store.get(int(work.item_id))
        if escalation is None or escalation.state != OPEN:
            return  # taken or closed since; the row is simply done
        await self._sender.send_once(
            self._key(escalation, REPING_STAGE), self._rooms.moderators,
            messages.reping(escalation, self._pings, self._prefix, self._clock.now()),
            reply_to=escalation.moderators_event_id,
        )


# ---- the holding reply ----------------------------------------------------------------------------


def holding_reply_in(library: ReplyLibrary, default_locale: str) -> str:
    """The holding reply from a library already loaded (the bot's reply catalog), or the plain one."""
    reply = library.get(HOLDING_REPLY_KEY)
    if reply is None:
        return messages.FALLBACK_HOLDING_REPLY
    locale, _ = resolve_locale(default_locale, reply.texts.keys())
    if locale not in reply.texts:
        return messages.FALLBACK_HOLDING_REPLY
    return render_reply(reply, locale, None, "").text
