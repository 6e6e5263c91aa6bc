"""The words of a launch: its thread root, the people in it with their ready replies, "all done", and
the answers of the !launch commands.

Kept apart from ``bot.features.launches.service`` and ``commands/launch.py`` so the service reads as a
flow, the command as parse -> service -> answer, and these read as text.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from bot.clock import format_duration, format_utc
from bot.features.replies.model import Reply, resolve_locale
from bot.features.replies.render import render_reply
from bot.features.x_text import LINK_WEIGHT, X_LIMIT, links_in, weighted_length
from bot.matrix.rendering import Fragment, bold, bullets, code, code_block, italic, join, lines, link
from bot.storage.launches import LAUNCHED, Entry, Launch

if TYPE_CHECKING:  # the service imports these words
    from bot.features.launches.service import LaunchList

LIST_SHOWN = 30          # people shown by !launch list <release>
LISTS_SHOWN = 15         # lists shown by !launch list
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


# ---- the answers of the !launch commands --------------------------------------------------------

def bad_launch_time(typed: str) -> str:
    return f"write the launch time as YYYY-MM-DD HH:MM in UTC, like 2026-12-04 17:00 (not {typed[:40]!r})"


def not_a_real_time(typed: str, error: ValueError) -> str:
    return f"{typed!r} is not a real time ({error})"


def bad_release(release: str) -> str:
    return f"a release is a short label of letters, digits, dots or dashes, like 150 or vpn-linux (not {release[:40]!r})"


def bad_number(value: str) -> str:
    return f"the people are numbers from the list, like 3 (not {value[:20]!r})"


def not_a_language(lang: str, locales: Sequence[str]) -> str:
    return f"“{lang[:40]}” is not a language. The replies come in {', '.join(locales)} (or a variety like es-MX)."


def cannot_add(refused: Exception) -> str:
    return f"I can't add that: {refused}."


def no_list(release: str, prefix: str) -> str:
    return (f"There is no launch list for “{release[:40]}” yet. {prefix}launch add {release[:40]} <post url> "
            f"starts one; {prefix}launch list shows them all.")


def already_launched(launch: Launch, thread: str | None) -> str:
    when = f" on {format_utc(launch.launched_at)}" if launch.launched_at else ""
    return f"{release_name(launch)} was already launched{when}." + (f" The thread: {thread}" if thread else "")


def already_on_list(entry: Entry, launch: Launch) -> Fragment:
    return lines(f"{entry.handle} is already on the {release_name(launch)} list (number {entry.number}), added by "
                 f"{entry.added_by} on {format_utc(entry.added_at)}. Nothing changed.")


def added(entry: Entry, launch: Launch, thread: str | None, fell_back: bool, lang: str | None,
          prefix: str) -> Fragment:
    if launch.state == LAUNCHED:
        then = ("it is already out, so their entry goes into " + (link(thread, "the launch thread") if thread else
                "the launch thread") + " now.")
    elif launch.launch_at is not None:
        then = f"the launch is set for {format_utc(launch.launch_at)}."
    else:
        then = f"no launch time yet (a moderator sets it with {prefix}launch at)."
    return lines(
        bold(f"Added {entry.handle} ({entry.network}, {entry.locale})") + f" to the {release_name(launch)} list as "
        f"number {entry.number}; " + then,
        italic(f"There is no “{lang}” text; they get {entry.locale}.") if fell_back else None,
    )


def launch_in_the_past(when: datetime, label: str, prefix: str) -> str:
    return f"{format_utc(when)} has passed. To launch now: {prefix}launch go {label}"


def scheduled(launch: Launch, when: datetime, previous: datetime | None, now: datetime, label: str,
              prefix: str) -> Fragment:
    moved = f" (it was {format_utc(previous)})" if previous else ""
    left = format_duration(when - now)
    return (bold(f"{release_name(launch)} launches {format_utc(when)}") + f", in {left}{moved}. "
            f"Then the thread with the list starts here. {prefix}launch cancel {label} takes it back.")


def launched(launch: Launch, thread: str | None) -> Fragment:
    return (bold(f"{release_name(launch)} is launched.") + " "
            + (link(thread, "The thread") if thread else "The thread") + " has everyone's ready reply.")


def nothing_to_cancel(launch: Launch, label: str, prefix: str) -> str:
    return (f"{release_name(launch)} has no launch time to cancel. "
            f"{prefix}launch at {label} <date> <time> sets one.")


def cancelled(launch: Launch, previous: datetime | None, label: str, prefix: str) -> str:
    when = format_utc(previous) if previous else "its time"
    return f"The launch of {release_name(launch)} at {when} is cancelled; the list stays ({prefix}launch list {label})."


def none_of_those(launch: Launch, unknown: Sequence[int], label: str, prefix: str) -> str:
    return (f"The {release_name(launch)} list has no {numbers(unknown)}. "
            f"{prefix}launch list {label} shows the numbers.")


def marked(marked: Sequence[int], already: Sequence[int], unknown: Sequence[int], pending: int) -> str:
    said = []
    if marked:
        said.append(f"Marked {numbers(marked)} answered.")
    if already:
        said.append(f"{numbers(already).capitalize()} {'was' if len(already) == 1 else 'were'} already done.")
    if unknown:
        said.append(f"The list has no {numbers(unknown)}.")
    left = "Everyone is answered!" if pending == 0 else f"{people(pending)} still to answer."
    return " ".join([*said, left])


def one_list(found: LaunchList, thread: str | None, now: datetime, prefix: str) -> Fragment:
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


def all_lists(found: Sequence[LaunchList], prefix: str) -> Fragment:
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
