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

from bot.arguments import UsageError, parse_arguments
from bot.clock import Clock
from bot.command_framework import Command, CommandError, CommandTable, arguments_for
from bot.matrix_client import HomeserverUnavailable, MatrixError, transaction_id
from bot.matrix_events import IncomingMessage, Outgoing, Ping
from bot.metrics import Metrics
from bot.moderators import Moderators
from bot.rendering import as_fragment, code, echo, lines
from bot.sender import Sender
from bot.storage.handled_events import HandledEvents

log = logging.getLogger(__name__)

# The longest command read, in characters: every command's work is bounded by it.
MAX_COMMAND_LENGTH = 4_000
# A user's-mistake explanation is shown up to this length (the echoes in it are capped already).
MAX_EXPLANATION = 1_000

MessageObserver = Callable[[IncomingMessage], Awaitable[None]]


@dataclass
class Context:
    """What a command handler gets: the message, who asks, and how to answer."""

    message: IncomingMessage
    command: Command
    prefix: str
    is_moderator: bool
    sender: Sender
    _sent: int = field(default=0, repr=False)

    @property
    def user_id(self) -> str:
        return self.message.sender

    def _next_txn_id(self) -> str:
        # Derived from the command's event: handling the same command again resends nothing new.
        self._sent += 1
        return transaction_id("command", self.message.event_id, str(self._sent))

    async def reply(self, message: Outgoing | str) -> str:
        return await self.sender.reply(self.message, _outgoing(message), self._next_txn_id())

    async def post(self, room_id: str, message: Outgoing | str, *, thread_root: str | None = None,
                   reply_to: str | None = None) -> str:
        """Send somewhere else than the reply (the moderators' room, a new thread)."""
        return await self.sender.post(
            room_id, _outgoing(message), txn_id=self._next_txn_id(), thread_root=thread_root, reply_to=reply_to,
        )

    def usage(self) -> str:
        return self.command.usage(self.prefix)


def _outgoing(message: Outgoing | str) -> Outgoing:
    return message if isinstance(message, Ping) else as_fragment(message)


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
        self._slots = asyncio.Semaphore(concurrency)
        self.max_length = max_length

    def add_observer(self, observer: MessageObserver) -> None:
        """Called with every message that is not a command (for example, answers in a thread)."""
        self._observers.append(observer)

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
            except Exception:  # noqa: BLE001 - one bad message must never stop the sync loop
                log.exception("failed to handle %s", message.event_id)
                self._metrics.errors.labels(kind="dispatch").inc()
            return True

    async def handle(self, message: IncomingMessage) -> None:
        if message.sender == self._own_user_id or message.is_notice:
            return
        if message.room_id not in set(self._rooms()):
            return
        line = message.body.strip()
        if not line.startswith(self.prefix) or len(line) <= len(self.prefix) or line[len(self.prefix)].isspace():
            for observer in self._observers:
                await observer(message)
            return
        if await self._handled.was_handled(message.event_id):
            return
        started = time.perf_counter()
        try:
            outcome = await self._run(message, line[len(self.prefix):])
        except HomeserverUnavailable:
            raise  # not marked: the whole batch is handled again once the homeserver is back
        except BaseException:
            # Even when no answer could be sent: the command ran (or was refused) and must not run again.
            await self._handled.mark_handled(message.event_id, message.room_id, self._clock.now())
            raise
        await self._handled.mark_handled(message.event_id, message.room_id, self._clock.now())
        self._metrics.commands.labels(command=outcome[0], outcome=outcome[1]).inc()
        self._metrics.reply_latency.observe(time.perf_counter() - started)
        self._metrics.sync_lag.set(max(0.0, (self._clock.now() - message.sent_at).total_seconds()))

    async def _run(self, message: IncomingMessage, line: str) -> tuple[str, str]:
        if len(line) > self.max_length:
            await self._sender.reply(message, as_fragment(
                f"Sorry, that message is too long: {len(line):,} characters, and a command takes at most "
                f"{self.max_length:,}. Shorten it, or link to the text instead."),
                transaction_id("command", message.event_id, "1"))
            return "unknown", "too_long"
        words = line.split(None, 3)
        command, used = self.table.find(words)
        is_moderator = self._moderators.is_moderator(message.sender)
        if command is None:
            await self._answer_unknown(message, words[0] if words else "", is_moderator)
            return "unknown", "unknown"
        context = Context(message, command, self.prefix, is_moderator, self._sender)
        if not command.allowed_for(is_moderator):
            await context.reply(f"Sorry, {self.prefix}{command.name} is for moderators only.")
            return command.name, "refused"
        rest = line.split(None, used)[used] if len(line.split(None, used)) > used else ""
        try:
            values = parse_arguments(command.args, rest)
            await command.handler(context, **arguments_for(command, values))
        except UsageError as error:
            explanation = echo(str(error), MAX_EXPLANATION)  # not .capitalize(): it would lower-case names, URLs
            sentence = explanation[:1].upper() + explanation[1:] + "."
            await self._answer(context, lines(sentence, "Usage: " + code(context.usage())))
            return command.name, "usage"
        except CommandError as error:
            await self._answer(context, echo(str(error), MAX_EXPLANATION))
            return command.name, "user_error"
        except HomeserverUnavailable:
            raise  # not the command's fault: the whole command is run again when the homeserver is back
        except Exception as error:  # noqa: BLE001 - the second kind of error: log it, show only a reference
            ref = secrets.token_hex(4)
            log.exception("command %s failed (ref %s, event %s)", command.name, ref, message.event_id)
            self._metrics.errors.labels(kind="command").inc()
            if _is_refused_send(error):
                await context.reply(_refused_answer(error, ref))
            else:
                await self._answer(context, f"Sorry, something went wrong (ref {ref}). "
                                            "A moderator can look it up in the logs.")
            return command.name, "error"
        return command.name, "ok"

    async def _answer(self, context: Context, answer: Outgoing | str) -> None:
        """An answer from the error path; should the homeserver refuse it, a short one instead of silence."""
        try:
            await context.reply(answer)
        except MatrixError as error:
            ref = secrets.token_hex(4)
            log.warning("the answer to %s was refused (%s; ref %s)", context.message.event_id, error.errcode, ref)
            await context.reply(_refused_answer(error, ref))

    async def _answer_unknown(self, message: IncomingMessage, name: str, is_moderator: bool) -> None:
        txn = transaction_id("command", message.event_id, "1")
        suggestion = self.table.closest_family(name)
        help_hint = code(f"{self.prefix}help")
        if suggestion:
            answer = "I don't know " + code(f"{self.prefix}{echo(name, 60)}") + ". Did you mean " + code(
                f"{self.prefix}{suggestion}") + "? " + help_hint + " lists the commands."
        else:
            answer = "I don't know " + code(f"{self.prefix}{echo(name, 60)}") + ". " + help_hint + " lists the commands."
        await self._sender.reply(message, answer, txn)


def _is_refused_send(error: Exception) -> bool:
    return isinstance(error, MatrixError) and str(error).startswith("send:")


def _refused_answer(error: MatrixError, ref: str) -> str:
    return (f"Sorry, I could not send a message for this command: the homeserver refused it ({error.errcode or 'error'}, "
            f"ref {ref}). A moderator can look it up in the logs.")
