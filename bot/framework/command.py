"""Commands are declared once; help, usage lines and argument errors are derived from that.

A ``Command`` names its words (``"reply search"``), its typed arguments, who may use it, a one-line
summary and examples. The ``CommandTable`` finds the command a line of text asks for (the longest
name that matches wins, so ``!reply search x`` beats ``!reply <key>``).
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz, process

from bot.framework.arguments import Arg


class Permission(enum.Enum):
    EVERYONE = "everyone"
    MODERATORS = "moderators"


class CommandError(Exception):
    """A user's mistake or a refusal with a friendly explanation, shown as it is (no usage line)."""


Handler = Callable[..., Awaitable[None]]
# A reaction's target (room ID, event ID) → the command's arguments, or None: not this command's event.
ReactionArguments = Callable[[str, str], Awaitable[str | None]]


@dataclass(frozen=True)
class ReactionTrigger:
    """A reaction that runs the command: ``key`` on an event that ``arguments`` recognises.

    ``help`` ends the command's help ("Or react ✅ <help>."); ``on`` names the event in the ``!help``
    overview ("✅ on <on> is !resolve").
    """

    key: str
    arguments: ReactionArguments = field(compare=False)
    help: str = ""
    on: str = ""


@dataclass(frozen=True)
class Command:
    name: str
    summary: str
    handler: Handler = field(compare=False)
    args: tuple[Arg, ...] = ()
    permission: Permission = Permission.EVERYONE
    examples: tuple[str, ...] = ()
    details: str = ""
    # Effects: it opens, closes, pings or changes something. An edit of the command re-runs it only
    # without effects; with them the answer gets ``after_edit`` (what to do instead; ``{prefix}`` is
    # the command prefix). The default is the safe side: nothing happens twice.
    effects: bool = True
    after_edit: str = ""
    reaction: ReactionTrigger | None = None

    @property
    def words(self) -> tuple[str, ...]:
        return tuple(self.name.split())

    @property
    def family(self) -> str:
        return self.words[0]

    def usage(self, prefix: str) -> str:
        return " ".join([f"{prefix}{self.name}", *(arg.usage() for arg in self.args)])

    def edit_refusal(self, prefix: str) -> str:
        """The one line added to the answer when an edit of this command (with effects) is not applied."""
        instead = self.after_edit.format(prefix=prefix) if self.after_edit else (
            f"to run it again, send a new {prefix}{self.name}")
        return f"Your edit changed nothing: an edited {prefix}{self.name} is not run again; {instead}."

    def allowed_for(self, is_moderator: bool) -> bool:
        return self.permission is Permission.EVERYONE or is_moderator


class CommandTable:
    def __init__(self, commands: Iterable[Command] = ()) -> None:
        self._commands: dict[tuple[str, ...], Command] = {}
        for command in commands:
            self.add(command)

    def add(self, command: Command) -> None:
        if command.words in self._commands:
            raise ValueError(f"command {command.name!r} is declared twice")
        self._commands[command.words] = command

    def __iter__(self):
        return iter(sorted(self._commands.values(), key=lambda c: c.name))

    def find(self, words: list[str]) -> tuple[Command | None, int]:
        """The command named by the first words (longest match) and how many words it used."""
        lowered = [w.lower() for w in words[:3]]
        for length in range(min(3, len(lowered)), 0, -1):
            command = self._commands.get(tuple(lowered[:length]))
            if command is not None:
                return command, length
        return None, 0

    def with_reaction(self, key: str) -> list[Command]:
        return [c for c in self if c.reaction is not None and c.reaction.key == key]

    def family(self, name: str) -> list[Command]:
        return [c for c in self if c.family == name.lower()]

    def families(self) -> list[str]:
        return sorted({c.family for c in self})

    def closest_family(self, name: str, usable_by_moderator: bool | None = None) -> str | None:
        """The family name closest to ``name``; only families with a command the asker may use when
        ``usable_by_moderator`` says who asks."""
        families = self.families() if usable_by_moderator is None else sorted(
            {c.family for c in self if c.allowed_for(usable_by_moderator)})
        match = process.extractOne(name.lower(), families, scorer=fuzz.ratio, score_cutoff=60)
        return match[0] if match else None


def describe_args(command: Command) -> list[tuple[str, str]]:
    return [(arg.usage(), arg.help) for arg in command.args if arg.help]


def arguments_for(command: Command, values: dict[str, Any]) -> dict[str, Any]:
    """Argument names as the handler's keyword parameters (``tweet url`` → ``tweet_url``)."""
    return {name.replace(" ", "_").replace("-", "_"): value for name, value in values.items()}
