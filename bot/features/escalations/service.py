"""Escalations to the moderators: reading a request, the rules of its life, and its one re-ping.

An escalation is stored before anyone is told. The same post reported again while the first report
is still open or acknowledged joins it ("+1") instead of opening another. An escalation still open
after ``reping_after`` pings the moderators once more; acknowledging or resolving it cancels that.
"""

from __future__ import annotations

import enum
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from bot.clock import Clock
from bot.features.escalations import messages
from bot.features.replies.library import ReplyLibrary
from bot.features.replies.model import resolve_locale
from bot.features.replies.render import render_reply
from bot.framework.arguments import UsageError, split_words
from bot.framework.command import CommandError
from bot.matrix.events import IncomingMessage
from bot.matrix.rendering import echo
from bot.matrix.sender import Sender
from bot.storage.escalations import (
    ACTIVE_STATES,
    OPEN,
    REASONS,
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

REASON_MEANINGS = {
    "trending": "several people are asking the same thing",
    "no-kb": "it draws attention and the knowledge base has no answer",
    "paid": "it is about a paid product (Mozilla VPN, Relay Premium, Monitor Plus, MDN Plus)",
    "brand": "it is about the brand, team members or current events",
    "other": "another reason to bring the moderators in",
}

PARSING_RULE = (
    "Words may be quoted. If the last word is a reason (" + ", ".join(REASONS) + "), it is the reason. "
    "A link followed by one more word needs that word to be a reason. Anything else is all description, "
    "with reason other; quote the whole text if it ends with a word that is not meant as the reason."
)

# A link in what people type: up to the first space or bracket; trailing punctuation is sentence.
_URL = re.compile(r"https?://[^\s<>\"'“”‘’]+", re.IGNORECASE)
_TRAILING_PUNCTUATION = ".,;:!?)]}"

_X_HOSTS = frozenset({"x.com", "www.x.com", "mobile.x.com", "twitter.com", "www.twitter.com", "mobile.twitter.com"})
_X_STATUS_PATH = re.compile(r"^/[^/]+/status(?:es)?/(\d+)")


# -- reading a request ----------------------------------------------------------------------------


@dataclass(frozen=True)
class EscalationRequest:
    description: str
    reason: str
    link: str | None

    @property
    def link_key(self) -> str | None:
        return normalise_link(self.link) if self.link else None


def parse_escalation(raw: str) -> EscalationRequest:
    """``<url or text> [reason]`` → description, reason and the first link; raises UsageError.

    See PARSING_RULE: the last word is the reason when it is one; "<url> <word>" must end in a reason.
    """
    text = raw.strip()
    words = split_words(text)
    if not words:
        raise UsageError("say what to escalate: a link to the post, a description, or both")
    reason = words[-1].lower()
    if len(words) == 2 and is_url(words[0]) and reason not in REASONS:
        raise UsageError(f"unknown reason {echo(words[1])!r}; valid ones: {', '.join(REASONS)}")
    if reason in REASONS:
        words, text = words[:-1], _without_last_word(text)
    else:
        reason = DEFAULT_REASON
    if not words:
        raise UsageError(f"{reason!r} is a reason; put what to escalate before it")
    description = words[0] if len(words) == 1 else text  # one quoted chunk loses its quotes
    if len(description) > MAX_DESCRIPTION:
        raise UsageError(f"that is {len(description)} characters; keep it under {MAX_DESCRIPTION} "
                         "and link the post instead")
    link = find_link(description)
    if link is not None:
        try:
            urlsplit(link)
        except ValueError:  # e.g. "http://[x": an IPv6 literal left open
            raise UsageError(f"I cannot read the link {echo(link)!r}; copy it again from the post") from None
    return EscalationRequest(description, reason, link)


def _without_last_word(text: str) -> str:
    """The text before its last word (a reason, perhaps quoted: it holds no space). Splitting, not a
    regex: an anchored pattern after a run of spaces is retried at every space (quadratic)."""
    parts = text.rstrip().rsplit(None, 1)
    return parts[0] if len(parts) > 1 else ""


def is_url(word: str) -> bool:
    return _URL.fullmatch(word.rstrip(_TRAILING_PUNCTUATION)) is not None


def find_link(text: str) -> str | None:
    match = _URL.search(text)
    return match.group(0).rstrip(_TRAILING_PUNCTUATION) if match else None


def normalise_link(url: str) -> str:
    """The same post spelled the same way: https, lower-case host, no query or fragment, no trailing
    slash; x.com and twitter.com (and their www./mobile. forms) are one site, and a post on it is
    named by its status number alone (the handle in its path can be any case, or even stale)."""
    parts = urlsplit(url.strip())
    host = parts.netloc.lower()
    path = parts.path.rstrip("/")
    if host in _X_HOSTS:
        host = "x.com"
        status = _X_STATUS_PATH.match(path)
        if status is not None:
            path = f"/i/status/{status.group(1)}"
    return f"https://{host}{path}"


# -- the rules ------------------------------------------------------------------------------------


class Outcome(enum.Enum):
    OPENED = "opened"
    JOINED = "joined"                      # another person's report of an active escalation
    ALREADY_REPORTED = "already reported"  # this person had reported that post already


@dataclass(frozen=True)
class Reported:
    escalation: Escalation
    outcome: Outcome


@dataclass(frozen=True)
class Listing:
    escalations: list[Escalation]
    more: int
    as_of: datetime


class EscalationError(CommandError):
    """A moderator asked for something the escalation's number or state does not allow."""


class EscalationService:
    def __init__(self, store: EscalationStore, schedule: Schedule, sender: Sender, clock: Clock,
                 moderators_room: Callable[[], str], pings: Sequence[str], reping_after: timedelta,
                 prefix: str = "!") -> None:
        self._store = store
        self._schedule = schedule
        self._sender = sender
        self._clock = clock
        self._moderators_room = moderators_room
        self._pings = tuple(pings)
        self._reping_after = reping_after
        self._prefix = prefix

    @property
    def pings(self) -> tuple[str, ...]:
        return self._pings

    async def report(self, request: EscalationRequest, command: IncomingMessage) -> Reported:
        """Open an escalation, or add this report to the active one about the same link."""
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

    async def remember_moderators_notice(self, escalation: Escalation, event_id: str) -> None:
        await self._store.set_moderators_event(escalation.id, event_id)

    async def acknowledge(self, number: int, moderator: str) -> Escalation:
        async with self._store.transaction():
            escalation = await self._existing(number)
            done = await self._store.acknowledge(number, moderator, self._clock.now())
            if done:
                await self._schedule.cancel_item(SCHEDULE_KIND, number)
        current = await self._existing(number)
        await self._mark(current)  # also when refused: heals a mark lost to a crash after the change
        if not done:
            raise EscalationError(messages.cannot_acknowledge(escalation, self._clock.now()))
        return current

    async def resolve(self, number: int, moderator: str, note: str | None) -> Escalation:
        async with self._store.transaction():
            escalation = await self._existing(number)
            done = await self._store.resolve(number, moderator, self._clock.now(), note or None)
            if done:
                await self._schedule.cancel_item(SCHEDULE_KIND, number)
        current = await self._existing(number)
        await self._mark(current)
        if not done:
            raise EscalationError(messages.cannot_resolve(escalation, self._clock.now()))
        return current

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
            await self._sender.react_once(f"escalation:{escalation.id}:mark:{stage}", self._moderators_room(),
                                          escalation.moderators_event_id, emoji)

    async def number_pinged_by(self, room_id: str, event_id: str) -> int | None:
        """The escalation whose ping in the moderators' room is this event (a reaction's target)."""
        if room_id != self._moderators_room():
            return None
        escalation = await self._store.find_by_moderators_event(event_id)
        return escalation.id if escalation is not None else None

    async def reports(self, escalation: Escalation) -> list[Report]:
        return await self._store.reports(escalation.id)

    async def listing(self, which: str, limit: int) -> Listing:
        """``open`` (open and acknowledged) or ``all``, newest first."""
        states = ACTIVE_STATES if which == "open" else STATES
        shown = await self._store.newest(states, limit)
        return Listing(shown, await self._store.count(states) - len(shown), self._clock.now())

    async def _existing(self, number: int) -> Escalation:
        escalation = await self._store.get(number)
        if escalation is None:
            raise EscalationError(messages.no_such_escalation(number, self._prefix))
        return escalation

    # -- the scheduled re-ping -------------------------------------------------------------------

    async def handle_due(self, work: DueWork) -> None:
        """Ping the moderators once more about an escalation nobody has taken yet."""
        if work.stage != REPING_STAGE:
            log.error("unknown escalation stage %r; dropping %s", work.stage, work)
            return
        escalation = await self._store.get(int(work.item_id))
        if escalation is None or escalation.state != OPEN:
            return  # taken or closed since; the row is simply done
        await self._sender.send_once(
            f"escalation:{escalation.id}:reping", self._moderators_room(),
            messages.reping(escalation, self._pings, self._prefix, self._clock.now()),
            reply_to=escalation.moderators_event_id,
        )


# -- the holding reply ----------------------------------------------------------------------------


def holding_reply_in(library: ReplyLibrary, default_locale: str) -> str:
    """The holding reply from a library already loaded (the bot's reply catalog), or the plain one."""
    reply = library.get(HOLDING_REPLY_KEY)
    if reply is None:
        return messages.FALLBACK_HOLDING_REPLY
    locale, _ = resolve_locale(default_locale, reply.texts.keys())
    if locale not in reply.texts:
        return messages.FALLBACK_HOLDING_REPLY
    return render_reply(reply, locale, None, "").text
