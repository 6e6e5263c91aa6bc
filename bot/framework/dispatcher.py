"""From a room message to an answer: find the command, check who asks, parse, run, reply.

Two kinds of error (DESIGN principle 4): a user's mistake gets a precise, friendly answer (with the
usage line when the arguments were wrong); anything else is logged with its traceback under a short
reference, and the user sees only "something went wrong (ref …)".
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from bot.clock import Clock
from bot.framework.arguments import UsageError, parse_arguments
from bot.framework.command import Command, CommandError, CommandTable, arguments_for
from bot.matrix.client import HomeserverUnavailable, MatrixError, transaction_id
from bot.matrix.events import IncomingMessage, Outgoing, Ping
from bot.matrix.moderators import Moderators
from bot.matrix.rendering import Fragment, as_fragment, code, echo, lines
from bot.matrix.sender import Sender
from bot.ops.metrics import Metrics
from bot.storage.handled_events import HandledEvents

log = logging.getLogger(__name__)

# The longest command read, in characters: every command's work is bounded by it.
MAX_COMMAND_LENGTH = 4_000
# A user's-mistake explanation is shown up to this length (the echoes in it are capped already).
MAX_EXPLANATION = 1_000

MessageObserver = Callable[[IncomingMessage], Awaitable[None]]
# Told of each command's first answer: the command (None when unknown), whether it did something
# (a command with effects that ran, not one refused or stopped at its arguments), the answer's event and text.
AnswerListener = Callable[[IncomingMessage, "Command | None", bool, str, Fragment], Awaitable[None]]
# The outcomes after which a command with effects may have done something ("error": maybe half of it).
ACTED = ("ok", "error")


@dataclass
class Context:
    """What a command handler gets: the message, who asks, and how to answer."""

    message: IncomingMessage
    command: Command | None  # None: an unknown command, answered with a hint
    prefix: str
    is_moderator: bool
    sender: Sender
    txn_seed: str | None = None  # what transaction IDs derive from; the command's event by default
    reacted_to: str | None = None  # when a reaction ran the command: the event reacted to (None: typed)
    answer: tuple[str, Fragment] | None = field(default=None, repr=False)  # the first reply: event, text
    _sent: int = field(default=0, repr=False)

    @property
    def user_id(self) -> str:
        return self.message.sender

    def _next_txn_id(self) -> str:
        # Derived from the command's event: handling the same command again resends nothing new.
        self._sent += 1
        return transaction_id("command", self.txn_seed or self.message.event_id, str(self._sent))

    async def reply(self, message: Outgoing | str) -> str:
        outgoing = _outgoing(message)
        event_id = await self.sender.reply(self.message, outgoing, self._next_txn_id())
        if self.answer is None:
            self.answer = (event_id, _fragment(outgoing))
        return event_id

    def usage(self) -> str:
        return self.command.usage(self.prefix) if self.command is not None else ""


@dataclass
class CollectingContext(Context):
    """A run whose answers are collected, not sent: an edited command's re-run, a reaction's command.

    Its command's service sends whatever else it promised (a reaction's ``!ack`` tells the requester)
    through the sender's exactly-once path, as a typed command's does.
    """

    collected: list[Fragment] = field(default_factory=list)
    outcome: str = ""

    async def reply(self, message: Outgoing | str) -> str:
        self.collected.append(_fragment(_outgoing(message)))
        return ""


@dataclass(frozen=True)
class Ran:
    name: str
    outcome: str
    command: Command | None


def _outgoing(message: Outgoing | str) -> Outgoing:
    return message if isinstance(message, Ping) else as_fragment(message)


def _fragment(message: Outgoing) -> Fragment:
    return message.message if isinstance(message, Ping) else message


class Dispatcher:
    def __init__(
        self,
        table: CommandTable,
        prefix: str,
        own_user_id: str,
        rooms: Callable[[], Iterable[str]],
        moderators: Moderators,
        sender: Sender,
        handled_events: HandledEvents,
        clock: Clock,
        metrics: Metrics,
        concurrency: int = 32,
        max_length: int = MAX_COMMAND_LENGTH,
    ) -> None:
        self.table = table
        self.prefix = prefix
        self._own_user_id = own_user_id
        self._rooms = rooms
        self._moderators = moderators
        self._sender = sender
        self._handled = handled_events
        self._clock = clock
        self._metrics = metrics
        self._observers: list[MessageObserver] = []
        self._answer_listeners: list[AnswerListener] = []
        self._slots = asyncio.Semaphore(concurrency)
        self.max_length = max_length

    def add_observer(self, observer: MessageObserver) -> None:
        """Called with every message that is not a command (for example, answers in a thread)."""
        self._observers.append(observer)

    def add_answer_listener(self, listener: AnswerListener) -> None:
        self._answer_listeners.append(listener)

    def command_line(self, body: str) -> str | None:
        """The text after the prefix when ``body`` is a command, else None."""
        line = body.strip()
        if not line.startswith(self.prefix) or len(line) <= len(self.prefix) or line[len(self.prefix)].isspace():
            return None
        return line[len(self.prefix):]

    def find(self, line: str) -> Command | None:
        if len(line) > self.max_length:
            return None  # answered as too long, whatever it starts with
        return self.table.find(line.split(None, 3))[0]

    def accepts(self, sender: str, room_id: str, is_notice: bool) -> bool:
        """Not the bot itself, not a notice (bots never answer notices), in one of its rooms."""
        return sender != self._own_user_id and not is_notice and room_id in set(self._rooms())

    async def handle_batch(self, messages: list[IncomingMessage]) -> list[IncomingMessage]:
        """Handle one sync batch; returns the messages left unfinished because the homeserver was away.

        The sync token is saved only when none is left, so those are handled again with the batch.
        """
        done = await asyncio.gather(*(self._guarded(message) for message in messages))
        return [message for message, finished in zip(messages, done, strict=True) if not finished]

    async def _guarded(self, message: IncomingMessage) -> bool:
        async with self._slots:
            try:
                await self.handle(message)
            except HomeserverUnavailable as trouble:
                log.warning("%s is not answered yet: %s", message.event_id, trouble)
                return False
            except Exception:  # one bad message must never stop the sync loop
                log.exception("failed to handle %s", message.event_id)
                self._metrics.errors.labels(kind="dispatch").inc()
            return True

    async def handle(self, message: IncomingMessage) -> None:
        if not self.accepts(message.sender, message.room_id, message.is_notice):
            return
        line = self.command_line(message.body)
        if line is None:
            for observer in self._observers:
                await observer(message)
            return
        if await self._handled.was_handled(message.event_id):
            return
        await self.run_command(message, line)

    async def run_command(self, message: IncomingMessage, line: str, *, txn_seed: str | None = None) -> None:
        """Run and answer a command line (``txn_seed``: an edit that made ``message`` a command)."""
        started = time.perf_counter()
        command = self.find(line)
        context = Context(message, command, self.prefix, self._moderators.is_moderator(message.sender),
                          self._sender, txn_seed=txn_seed)
        try:
            ran = await self._run(context, line)
        except HomeserverUnavailable:
            raise  # not marked handled: the batch, and this command with it, is handled again
        except BaseException:
            # Even when no answer could be sent: the command ran (or was refused) and must not run again.
            await self._handled.mark_handled(message.event_id, message.room_id, self._clock.now())
            raise
        await self._handled.mark_handled(message.event_id, message.room_id, self._clock.now())
        self._metrics.commands.labels(command=ran.name, outcome=ran.outcome).inc()
        self._metrics.reply_latency.observe(time.perf_counter() - started)
        self._metrics.sync_lag.set(max(0.0, (self._clock.now() - message.sent_at).total_seconds()))
        if context.answer is not None:
            acted = command is not None and command.effects and ran.outcome in ACTED
            for listener in self._answer_listeners:
                await listener(message, command, acted, *context.answer)

    async def collect(self, message: IncomingMessage, line: str, *, txn_seed: str | None = None,
                      reacted_to: str | None = None) -> CollectingContext:
        """Run a command line with its answers collected, not sent (nothing is marked handled)."""
        context = CollectingContext(message, self.find(line), self.prefix,
                                    self._moderators.is_moderator(message.sender), self._sender,
                                    txn_seed=txn_seed, reacted_to=reacted_to)
        ran = await self._run(context, line)
        context.outcome = ran.outcome
        # Counted like a typed command: an edit that re-ran it, or a reaction standing for it, is one more run.
        self._metrics.commands.labels(command=ran.name, outcome=ran.outcome).inc()
        return context

    async def _run(self, context: Context, line: str) -> Ran:
        message, command = context.message, context.command
        if len(line) > self.max_length:
            await context.reply(
                f"Sorry, that message is too long: {len(line):,} characters, and a command takes at most "
                f"{self.max_length:,}. Shorten it, or link to the text instead.")
            return Ran("unknown", "too_long", None)
        words = line.split(None, 3)
        used = self.table.find(words)[1]
        if command is None:
            await self._answer_unknown(context, words[0] if words else "")
            return Ran("unknown", "unknown", None)
        is_moderator = context.is_moderator
        if not command.allowed_for(is_moderator):
            await context.reply(f"Sorry, {self.prefix}{command.name} is for moderators only.")
            return Ran(command.name, "refused", command)
        rest = line.split(None, used)[used] if len(line.split(None, used)) > used else ""
        try:
            values = parse_arguments(command.args, rest)
            await command.handler(context, **arguments_for(command, values))
        except UsageError as error:
            explanation = echo(str(error), MAX_EXPLANATION)  # not .capitalize(): it would lower-case names, URLs
            sentence = explanation[:1].upper() + explanation[1:] + "."
            await self._answer(context, lines(sentence, "Usage: " + code(context.usage())))
            return Ran(command.name, "usage", command)
        except CommandError as error:
            await self._answer(context, echo(str(error), MAX_EXPLANATION))
            return Ran(command.name, "user_error", command)
        except HomeserverUnavailable:
            raise  # not the command's fault: the whole command is run again when the homeserver is back
        except Exception as error:  # the second kind of error: log it, show only a reference
            ref = secrets.token_hex(4)
            log.exception("command %s failed (ref %s, event %s)", command.name, ref, message.event_id)
            self._metrics.errors.labels(kind="command").inc()
            if _is_refused_send(error):
                await context.reply(_refused_answer(error, ref))
            else:
                await self._answer(context, f"Sorry, something went wrong (ref {ref}). "
                                            "A moderator can look it up in the logs.")
            return Ran(command.name, "error", command)
        return Ran(command.name, "ok", command)

    async def _answer(self, context: Context, answer: Outgoing | str) -> None:
        """An answer from the error path; should the homeserver refuse it, a short one instead of silence."""
        try:
            await context.reply(answer)
        except MatrixError as error:
            ref = secrets.token_hex(4)
            log.warning("the answer to %s was refused (%s; ref %s)", context.message.event_id, error.errcode, ref)
            await context.reply(_refused_answer(error, ref))

    async def _answer_unknown(self, context: Context, name: str) -> None:
        suggestion = self.table.closest_family(name)
        help_hint = code(f"{self.prefix}help")
        if suggestion:
            answer = "I don't know " + code(f"{self.prefix}{echo(name, 60)}") + ". Did you mean " + code(
                f"{self.prefix}{suggestion}") + "? " + help_hint + " lists the commands."
        else:
            answer = "I don't know " + code(f"{self.prefix}{echo(name, 60)}") + ". " + help_hint + " lists the commands."
        await context.reply(answer)


def _is_refused_send(error: Exception) -> bool:
    return isinstance(error, MatrixError) and str(error).startswith("send:")


def _refused_answer(error: MatrixError, ref: str) -> str:
    return (f"Sorry, I could not send a message for this command: the homeserver refused it ({error.errcode or 'error'}, "
            f"ref {ref}). A moderator can look it up in the logs.")
