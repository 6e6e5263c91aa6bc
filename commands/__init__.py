"""The command table: every command family of the bot, in one list.

Each family is a class that receives what it needs from ``bot.app`` and declares its commands; this
module only gathers them.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.framework.command import Command, CommandTable


def build_command_table(families: Iterable[Iterable[Command]], table: CommandTable | None = None) -> CommandTable:
    table = table if table is not None else CommandTable()
    for family in families:
        for command in family:
            table.add(command)
    return table
