"""The words of every message about an escalation: to the contributor who asked, to the moderators'
room, and back to the requesters when a moderator takes or closes it.

Kept apart from ``bot.features.escalations.service`` so the service reads as rules and these read as text. Anything a
user typed goes in as a plain string (escaped by ``bot.matrix.rendering``); user IDs are shown as text, and
only ``mention`` pings. The messages meant to reach someone (the moderators' ping and re-ping, a
requester told of an ack or a resolve) are ``Ping``s, sent so that they notify; the rest are notices.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.clock import format_duration
from bot.matrix.events import Ping, permalink
from bot.matrix.rendering import Fragment, as_fragment, bold, bullets, code, code_block, join, lines, link, mention
from bot.storage.escalations import ACKNOWLEDGED, OPEN, REASONS, Escalation
from bot.text import shortened

FALLBACK_HOLDING_REPLY = (
    "Thanks for raising this. We've passed it on to the team and will get back to you as soon as we can. #fxhelp"
)
SHORT_DESCRIPTION = 80


def number(escalation: Escalation) -> str:
    return f"#{escalation.id}"


def reports_label(count: int) -> str:
    return "1 report" if count == 1 else f"{count} reports"


def age(moment: datetime, now: datetime) -> str:
    return f"{format_duration(now - moment)} ago"


def holder(escalation: Escalation) -> str:
    if escalation.state == OPEN:
        return "nobody has it yet"
    if escalation.state == ACKNOWLEDGED:
        return f"held by {escalation.acknowledged_by}"
    return f"resolved by {escalation.resolved_by}"


def _original_message(escalation: Escalation) -> Fragment:
    return link(permalink(escalation.room_id, escalation.command_event_id), "the original message")


def _pings(pings: Sequence[str]) -> Fragment:
    return join([mention(user) for user in pings], " ")


# ---- !escalate's help, and what it refuses -------------------------------------------------------

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

NOTHING_TO_ESCALATE = "say what to escalate: a link to the post, a description, or both"


def unknown_reason(word: str) -> str:
    return f"unknown reason {word!r}; valid ones: {', '.join(REASONS)}"


def too_long(length: int, limit: int) -> str:
    return f"that is {length} characters; keep it under {limit} and link the post instead"


def unreadable_link(link_: str) -> str:
    return f"I cannot read the link {link_!r}; copy it again from the post"


# ---- to the contributor ---------------------------------------------------------------------------


def wrong_room(prefix: str) -> str:
    return (f"Please use {prefix}escalate in the contributors' room, so the moderators can see where it came "
            "from and answer you there.")


def opened(escalation: Escalation, holding_reply: str) -> Fragment:
    return lines(
        bold(f"Escalation {number(escalation)} is open") + f" (reason: {escalation.reason}). "
        "The moderators have been told; you'll hear back here when one of them takes it.",
        "Meanwhile, you can let the user know with the program's holding reply:",
        code_block(holding_reply),
    )


def joined(escalation: Escalation) -> Fragment:
    return lines(
        bold(f"+1 on escalation {number(escalation)}") + f": this was already escalated ({escalation.state}, "
        f"{holder(escalation)}), now {reports_label(escalation.reports)}.",
        "The moderators have been told; you'll hear back here too.",
    )


def already_reported(escalation: Escalation) -> str:
    return (f"You already reported this as escalation {number(escalation)} ({escalation.state}, "
            f"{reports_label(escalation.reports)}); you'll hear back when a moderator takes or resolves it.")


# ---- to the moderators' room ----------------------------------------------------------------------


def moderators_notice(escalation: Escalation, pings: Sequence[str], prefix: str) -> Ping:
    return Ping(lines(
        bold(f"Escalation {number(escalation)}") + f" — {escalation.reason}, from {escalation.requester}",
        escalation.description,
        "See " + _original_message(escalation) + " in the contributors' room.",
        _take_it(escalation, pings, prefix),
    ))


def report_added(escalation: Escalation, reporter: str) -> Fragment:
    return (bold(f"Escalation {number(escalation)}") + f": +1 from {reporter}, "
            f"now {reports_label(escalation.reports)}.")


def reping(escalation: Escalation, pings: Sequence[str], prefix: str, now: datetime) -> Ping:
    return Ping(lines(
        bold(f"Escalation {number(escalation)} is still open")
        + f" after {format_duration(now - escalation.created_at)} ({escalation.reason}, "
          f"{reports_label(escalation.reports)}):",
        shortened(escalation.description, 300, one_line=True),
        "See " + _original_message(escalation) + ".",
        _take_it(escalation, pings, prefix),
    ))


def _take_it(escalation: Escalation, pings: Sequence[str], prefix: str) -> Fragment:
    lead = _pings(pings) + " — " if pings else Fragment()
    return (lead + code(f"{prefix}ack {escalation.id}") + " to take it, "
            + code(f"{prefix}resolve {escalation.id} [note]") + " to close it.")


# ---- a moderator takes or closes it ---------------------------------------------------------------


def acknowledged_for_requester(escalation: Escalation, reporter: str) -> Ping:
    return Ping(mention(reporter) + f": your escalation {number(escalation)} was acknowledged by "
                f"{escalation.acknowledged_by}, who is looking into it.")


def resolved_for_requester(escalation: Escalation, reporter: str) -> Ping:
    note = f" Their note: {escalation.resolution_note}" if escalation.resolution_note else ""
    return Ping(mention(reporter)
                + f": escalation {number(escalation)} was resolved by {escalation.resolved_by}.{note}")


def acknowledged(escalation: Escalation, told: int) -> str:
    return f"Escalation {number(escalation)} is yours now; {_told(told)}"


def note_too_long(length: int, limit: int) -> str:
    return f"That note is {length:,} characters; keep it to {limit:,}."


def resolved(escalation: Escalation, told: int) -> str:
    return f"Escalation {number(escalation)} is resolved; {_told(told)}"


def _told(told: int) -> str:
    return "its requester has been told." if told == 1 else f"its {told} requesters have been told."


def no_such_escalation(escalation_number: int, prefix: str) -> str:
    return f"There is no escalation #{escalation_number}. {prefix}escalations lists the open ones."


def cannot_acknowledge(escalation: Escalation, now: datetime) -> str:
    if escalation.state == ACKNOWLEDGED:
        return (f"Escalation {number(escalation)} was already acknowledged by {escalation.acknowledged_by} "
                f"{age(escalation.acknowledged_at or now, now)}.")
    return (f"Escalation {number(escalation)} was already resolved by {escalation.resolved_by} "
            f"{age(escalation.resolved_at or now, now)}; there is nothing left to acknowledge.")


def cannot_resolve(escalation: Escalation, now: datetime) -> str:
    return (f"Escalation {number(escalation)} was already resolved by {escalation.resolved_by} "
            f"{age(escalation.resolved_at or now, now)}.")


# ---- the list -------------------------------------------------------------------------------------


def listing(escalations: Sequence[Escalation], more: int, which: str, now: datetime) -> Fragment:
    if not escalations:
        return as_fragment("No open escalations right now." if which == "open" else "No escalations yet.")
    title = "Open escalations" if which == "open" else "All escalations"
    return lines(
        bold(title) + " (newest first):",
        bullets(_list_item(escalation, now) for escalation in escalations),
        f"… and {more} more." if more else None,
    )


def _list_item(escalation: Escalation, now: datetime) -> Fragment:
    facts = " · ".join([escalation.state, age(escalation.created_at, now), reports_label(escalation.reports),
                        escalation.reason, holder(escalation)])
    return bold(number(escalation)) + f" {facts} — {shortened(escalation.description, SHORT_DESCRIPTION, one_line=True)}"
