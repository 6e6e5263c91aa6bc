"""The words of a launch: its thread root, the people in it with their ready replies, "all done".

Kept apart from ``bot.features.launches.service`` so the service reads as a flow and these read as text.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from bot.clock import format_utc
from bot.features.replies.model import Reply, resolve_locale
from bot.features.replies.render import render_reply
from bot.features.x_text import LINK_WEIGHT, X_LIMIT, links_in, weighted_length
from bot.matrix.rendering import Fragment, bold, code, code_block, join, lines, link
from bot.storage.launches import Entry, Launch

MASTODON_LIMIT = 500     # Mastodon's default; a link counts 23, a remote mention only its user part
BLUESKY_LIMIT = 300      # Bluesky counts graphemes, links as written
_REMOTE_MENTION = re.compile(r"(?<![\w@])(@\w[\w.-]*)@[\w.-]+\w")
_RELEASE_NUMBER = re.compile(r"\d+(?:\.\d+)*\Z")


@dataclass(frozen=True)
class ReadyReply:
    text: str
    length: int
    limit: int
    counted: str      # how the length was counted, for the reader
    locale: str


def release_name(launch: Launch) -> str:
    """``150`` is Firefox 150; any other label (``vpn-linux``) is shown as it was written."""
    return f"Firefox {launch.label}" if _RELEASE_NUMBER.match(launch.label) else launch.label


def people(count: int) -> str:
    return f"{count} person" if count == 1 else f"{count} people"


def thread_root(launch: Launch, count: int, late: bool, prefix: str) -> Fragment:
    asked = f"{people(count)} asked to be told" if count else "nobody is on the list yet"
    late_note = None
    if late and launch.launch_at is not None:
        late_note = (f"Posted late: the launch was set for {format_utc(launch.launch_at)}, and the bot was not "
                     "running then.")
    return lines(
        bold(f"{release_name(launch)} is out: {asked}."),
        late_note,
        "Below, ten to a message: each person's post and a ready reply. Tailor it, post it as a reply to their "
        "post, then mark them answered with " + code(f"{prefix}launch done {launch.label} <n>")
        + ", or react ✅ on a message below when everyone still pending in it is answered.",
    )


def ready_reply(reply: Reply, entry: Entry, link_: str | None, default_locale: str) -> ReadyReply:
    locale, _ = resolve_locale(entry.locale, reply.texts, default_locale)
    text = render_reply(reply, locale, entry.handle, link_ or reply.article).text
    length, limit, counted = reply_length(entry.network, text)
    return ReadyReply(text, length, limit, counted, locale)


def reply_length(network: str, text: str) -> tuple[int, int, str]:
    """The length the person's network counts, its limit, and how it counted."""
    if network == "Mastodon":
        urls = links_in(text)
        plain = _REMOTE_MENTION.sub(r"\1", text)
        length = len(plain) - sum(len(u.url) for u in urls) + LINK_WEIGHT * len(urls)
        return length, MASTODON_LIMIT, "as Mastodon counts it"
    if network == "Bluesky":
        return len(unicodedata.normalize("NFC", text)), BLUESKY_LIMIT, "characters on Bluesky"
    return weighted_length(text), X_LIMIT, "as X counts it"


def chunk(entries: Sequence[Entry], replies: Sequence[ReadyReply | None]) -> Fragment:
    return lines(*(entry_block(entry, ready) for entry, ready in zip(entries, replies, strict=True)))


def entry_block(entry: Entry, ready: ReadyReply | None) -> Fragment:
    heading = join([bold(f"{entry.number}.") + f" {entry.handle} on {entry.network}", entry.locale,
                    f"added by {entry.added_by}"], " · ")
    if entry.done:
        return lines(heading, "Post: " + link(entry.post_url), f"✅ already answered (by {entry.done_by}).")
    if ready is None:
        body: Fragment | str = "The common reply launch-announcement is missing from the library: write your own."
    else:
        left = ready.limit - ready.length
        room = f"{left} left" if left >= 0 else f"{-left} too many"
        body = lines(code_block(ready.text), f"{ready.length}/{ready.limit} {ready.counted} ({room}).")
    return lines(heading, "Post: " + link(entry.post_url), body)


def all_done(launch: Launch, count: int) -> Fragment:
    everyone = "The one person" if count == 1 else f"All {count} people"
    return lines(bold(f"{everyone} on the {release_name(launch)} list got their answer.") + " Thank you!")


def numbers(values: Sequence[int]) -> str:
    shown = ", ".join(f"#{n}" for n in values)
    return f"number {shown}" if len(values) == 1 else f"numbers {shown}"


def marked_by_reaction(marked: Sequence[int], by: str, pending: int) -> Fragment:
    """The thread's answer to a ✅ on one of its messages: what was marked, by whom, what is left."""
    left = "Everyone is answered!" if pending == 0 else f"{people(pending)} still to answer."
    return lines(f"✅ {by} marked {numbers(marked)} answered. {left}")
