"""Matrix-native interaction: edited commands re-run, redacted commands take their answer along,
reactions are quick commands.

The dispatcher answers commands; this module remembers each answer (``command_answers``, so it
works after a restart) and acts on what arrives later about the command:
- an edit within ``commands.edit_window``: a command without effects runs again with its answers
  collected and the bot edits its own answer; a command with effects is not run again, its answer
  gets one line saying so — unless its first run did nothing (stopped at a typo in its arguments, or
  refused): then the edit is its first run, done for real, and the answer is edited to say so. The latest edit wins (by the homeserver's time of the edit). A command
  edited into a non-command loses its answer; a non-command or an unknown command edited into a
  command is answered like a new one, as a reply to the original event.
- a redaction of one's own command without effects redacts the bot's answer.
- a reaction that a command declares (``ReactionTrigger``) runs that command as the one who reacted,
  with its own answer collected (nothing is sent back to them) but its messages to others sent; the
  command learns which event was reacted to (``Context.reacted_to``), to answer beside it if it likes.
Every send here goes through the outbox (keys ``edit:<edit>``, ``redact:<answer>``), and each edit
or reaction is marked handled after it is done, so a replayed batch changes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from bot.clock import Clock
from bot.framework.command import Command
from bot.framework.dispatcher import ACTED, Dispatcher
from bot.matrix.client import HomeserverUnavailable
from bot.matrix.events import IncomingMessage, parse_room_message
from bot.matrix.moderators import Moderators
from bot.matrix.relations import Edit, Incoming, Reaction, Redaction
from bot.matrix.rendering import Fragment, lines
from bot.ops.metrics import Metrics
from bot.storage.answers import CommandAnswer, CommandAnswers
from bot.storage.handled_events import HandledEvents

log = logging.getLogger(__name__)


class Sends(Protocol):
    async def edit_once(self, key: str, room_id: str, answer_event_id: str, message: Fragment) -> str: ...

    async def redact_once(self, key: str, room_id: str, event_id: str, reason: str | None = None) -> str: ...


class Events(Protocol):
    async def event(self, room_id: str, event_id: str) -> dict[str, Any] | None: ...


class NativeInteractions:
    def __init__(self, dispatcher: Dispatcher, answers: CommandAnswers, handled: HandledEvents, sender: Sends,
                 events: Events, moderators: Moderators, clock: Clock, metrics: Metrics,
                 edit_window: timedelta) -> None:
        self._dispatcher = dispatcher
        self._answers = answers
        self._handled = handled
        self._sender = sender
        self._events = events
        self._moderators = moderators
        self._clock = clock
        self._metrics = metrics
        self._edit_window = edit_window
        dispatcher.add_answer_listener(self._answered)

    async def handle_batch(self, items: list[Incoming]) -> list[Incoming]:
        """Messages first (concurrently, by the dispatcher), then edits, redactions and reactions in
        timeline order: a command and its edit in one batch (typed while the bot was down) must meet
        in that order, and two edits of one command must not race.

        Returns what is left unfinished because the homeserver was away (the sync loop then handles
        the batch again). Should a command be left so, its batch's edits and reactions wait with it:
        an edit must not be applied before the command it edits is answered.
        """
        unfinished: list[Incoming] = list(
            await self._dispatcher.handle_batch([item for item in items if isinstance(item, IncomingMessage)]))
        rest = [item for item in items if not isinstance(item, IncomingMessage)]
        if unfinished:
            return unfinished + rest
        for index, item in enumerate(rest):
            try:
                await self._handle(item)
            except HomeserverUnavailable as trouble:
                log.warning("%s is not handled yet: %s", item.event_id, trouble)
                return rest[index:]
            except Exception:  # one bad event must never stop the sync loop
                log.exception("failed to handle %s", item.event_id)
                self._metrics.errors.labels(kind="dispatch").inc()
        return []

    async def _handle(self, item: Edit | Redaction | Reaction) -> None:
        if not self._dispatcher.accepts(item.sender, item.room_id, getattr(item, "is_notice", False)):
            return
        if isinstance(item, Redaction):
            await self._redacted(item)
            return
        if await self._handled.was_handled(item.event_id):
            return
        if isinstance(item, Edit):
            await self._edited(item)
        else:
            await self._reacted(item)
        await self._handled.mark_handled(item.event_id, item.room_id, self._clock.now())

    async def _answered(self, message: IncomingMessage, command: Command | None, acted: bool,
                        answer_event_id: str, answer: Fragment) -> None:
        await self._answers.record(CommandAnswer(
            command_event_id=message.event_id, room_id=message.room_id, sender=message.sender,
            thread_root=message.thread_root, command_sent_at=message.sent_at,
            command=command.name if command else None, has_effects=acted,
            answer_event_id=answer_event_id, answer_plain=answer.plain, answer_html=answer.html,
            answered_at=self._clock.now(),
        ))

    # ---- edits ----------------------------------------------------------------------------------

    async def _edited(self, edit: Edit) -> None:
        record = await self._answers.get(edit.replaces)
        if record is None:
            await self._edited_unanswered(edit)
            return
        if record.sender != edit.sender:
            log.info("edit %s is not by the command's sender; ignored", edit.event_id)
            return
        if not self._in_window(record.command_sent_at, edit.sent_at):
            log.info("edit %s came after the edit window; ignored", edit.event_id)
            return
        if record.last_edit_at is not None and edit.sent_at <= record.last_edit_at:
            log.info("edit %s is older than one already applied; ignored", edit.event_id)
            return
        line = self._dispatcher.command_line(edit.body)
        message = IncomingMessage(event_id=record.command_event_id, room_id=record.room_id, sender=record.sender,
                                  body=edit.body, msgtype=edit.msgtype, sent_at=edit.sent_at,
                                  thread_root=record.thread_root)
        command = self._dispatcher.find(line) if line is not None else None
        if record.has_effects:
            await self._refuse(edit, record, record.command)
        elif record.redacted or (record.command is None and command is not None):
            # Nothing left to edit (or only an "unknown command" hint): answer it as a new command.
            if line is not None:
                await self._dispatcher.run_command(message, line, txn_seed=edit.event_id)
            await self._answers.seen_edit(record.command_event_id, edit.sent_at)
        elif line is None:
            await self._sender.redact_once(f"redact:{record.answer_event_id}", record.room_id,
                                           record.answer_event_id, "the command was edited away")
            await self._answers.mark_redacted(record.command_event_id, edit.sent_at)
        elif command is not None and command.effects and command.name != record.command:
            await self._refuse(edit, record, command.name)
        else:
            # Without effects; or with effects but its first run did nothing (a typo in the arguments,
            # a refusal): then this is the first time it is done, and the answer says what was done.
            await self._rerun(edit, record, message, line, acting=command is not None and command.effects)

    async def _rerun(self, edit: Edit, record: CommandAnswer, message: IncomingMessage, line: str, *,
                     acting: bool) -> None:
        context = await self._dispatcher.collect(message, line, txn_seed=edit.event_id)
        acted = acting and context.outcome in ACTED
        if not context.collected:
            await self._answers.seen_edit(record.command_event_id, edit.sent_at)
            return
        answer = lines(*context.collected) if len(context.collected) > 1 else context.collected[0]
        if (answer.plain, answer.html) == (record.answer_plain, record.answer_html):
            await self._answers.seen_edit(record.command_event_id, edit.sent_at)
            return  # the answer would read the same: nothing to edit
        await self._sender.edit_once(f"edit:{edit.event_id}", record.room_id, record.answer_event_id, answer)
        await self._answers.edited(record.command_event_id, edit.sent_at,
                                   context.command.name if context.command else None, answer.plain, answer.html,
                                   has_effects=acted)
        log.info("edit %s re-ran %s and edited answer %s", edit.event_id, line.split()[0], record.answer_event_id)

    async def _refuse(self, edit: Edit, record: CommandAnswer, name: str | None) -> None:
        """The edit is not applied: the answer, as it read, plus the one line saying so."""
        if record.edit_refused:
            await self._answers.seen_edit(record.command_event_id, edit.sent_at)
            return
        command = self._dispatcher.table.find((name or "").split())[0]
        prefix = self._dispatcher.prefix
        refusal = command.edit_refusal(prefix) if command is not None else (
            "Your edit changed nothing; send it as a new message to run it.")
        answer = lines(Fragment(record.answer_plain, record.answer_html), refusal)
        await self._sender.edit_once(f"edit:{edit.event_id}", record.room_id, record.answer_event_id, answer)
        await self._answers.edited(record.command_event_id, edit.sent_at, record.command, answer.plain,
                                   answer.html, refused=True)

    async def _edited_unanswered(self, edit: Edit) -> None:
        """An edit of a message the bot did not answer: a command now? Answer it like a new one."""
        line = self._dispatcher.command_line(edit.body)
        if line is None:
            return
        raw = await self._events.event(edit.room_id, edit.replaces)
        original = parse_room_message(edit.room_id, raw) if raw is not None else None
        if original is None or original.sender != edit.sender or original.is_notice:
            return
        if not self._in_window(original.sent_at, edit.sent_at):
            log.info("edit %s came after the edit window; ignored", edit.event_id)
            return
        if await self._handled.was_handled(original.event_id):
            return  # a command answered before answers were recorded: running it again could double it
        await self._dispatcher.run_command(replace(original, body=edit.body, msgtype=edit.msgtype), line,
                                           txn_seed=edit.event_id)
        await self._answers.seen_edit(original.event_id, edit.sent_at)

    def _in_window(self, command_sent_at: datetime, edit_sent_at: datetime) -> bool:
        return edit_sent_at - command_sent_at <= self._edit_window

    # ---- redactions -----------------------------------------------------------------------------

    async def _redacted(self, redaction: Redaction) -> None:
        record = await self._answers.get(redaction.redacts)
        if record is None or record.redacted or record.has_effects:
            return  # the answer of a command that did something stays, as a record of it
        if record.sender != redaction.sender:
            log.info("%s redacted %s's command; the answer stays", redaction.sender, record.sender)
            return
        await self._sender.redact_once(f"redact:{record.answer_event_id}", record.room_id, record.answer_event_id,
                                       "the command was deleted")
        await self._answers.mark_redacted(record.command_event_id)

    # ---- reactions ------------------------------------------------------------------------------

    async def _reacted(self, reaction: Reaction) -> None:
        for command in self._dispatcher.table.with_reaction(reaction.key):
            assert command.reaction is not None
            arguments = await command.reaction.arguments(reaction.room_id, reaction.target)
            if arguments is None:
                continue
            if not command.allowed_for(self._moderators.is_moderator(reaction.sender)):
                log.info("%s reacted %s on %s but may not %s; ignored", reaction.sender, reaction.key,
                         reaction.target, command.name)
                return
            line = f"{command.name} {arguments}"
            message = IncomingMessage(event_id=reaction.event_id, room_id=reaction.room_id, sender=reaction.sender,
                                      body=self._dispatcher.prefix + line, msgtype="m.text",
                                      sent_at=reaction.sent_at)
            context = await self._dispatcher.collect(message, line, reacted_to=reaction.target)
            log.info("%s reacted %s: ran %s%s → %s", reaction.sender, reaction.key, self._dispatcher.prefix, line,
                     " / ".join(f.plain for f in context.collected))
            return
