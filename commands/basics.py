"""!help and !ping: what the bot can do for you, and whether it is alive."""

from __future__ import annotations

from bot.clock import Clock, format_duration
from bot.framework.arguments import word
from bot.framework.command import Command, CommandError, CommandTable, Permission, describe_args
from bot.framework.dispatcher import Context
from bot.matrix.rendering import Fragment, bold, bullets, code, echo, lines


class BasicCommands:
    def __init__(self, table: CommandTable, clock: Clock, version: str) -> None:
        self._table = table
        self._clock = clock
        self._version = version
        self._started_at = clock.now()

    def commands(self) -> list[Command]:
        return [
            Command("help", "list the commands you can use, or show how to use one", self.help,
                    args=(word("command", optional=True, help="a command name, like ping or reply"),),
                    examples=("!help", "!help reply"), effects=False),
            Command("ping", "check that the bot is alive: version and uptime", self.ping, examples=("!ping",), effects=False),
        ]

    async def ping(self, ctx: Context) -> None:
        uptime = format_duration(self._clock.now() - self._started_at)
        await ctx.reply("Pong! " + bold(f"fxhelp-bot {self._version}") + f", up {uptime}.")

    async def help(self, ctx: Context, command: str | None) -> None:
        if command is None:
            await ctx.reply(self._overview(ctx))
            return
        name = command.removeprefix(ctx.prefix).lower()
        family = [c for c in self._table.family(name) if c.allowed_for(ctx.is_moderator)]
        if not family and self._table.family(name):
            raise CommandError(f"{ctx.prefix}{echo(name)} is for moderators only. "
                               f"Type {ctx.prefix}help for the commands you can use.")
        if not family:
            suggestion = self._table.closest_family(name, usable_by_moderator=ctx.is_moderator)
            hint = f" Did you mean {ctx.prefix}{suggestion}?" if suggestion and suggestion != name else ""
            raise CommandError(f"There is no command {ctx.prefix}{echo(name)} that you can use.{hint} "
                               f"Type {ctx.prefix}help for the list.")
        await ctx.reply(lines(*(self._details(c, ctx.prefix) for c in family)))

    def _overview(self, ctx: Context) -> Fragment:
        usable = [c for c in self._table if c.allowed_for(ctx.is_moderator)]
        items = [code(c.usage(ctx.prefix)) + f" — {c.summary}" for c in usable]
        footer = f"Type {ctx.prefix}help <command> for details and examples."
        if ctx.is_moderator:
            footer += " You are a moderator: moderator commands are included."
        return lines(bold("fxhelp-bot commands"), bullets(items), self._native(ctx), footer)

    def _native(self, ctx: Context) -> Fragment:
        """Edits, deletions and reactions: what Matrix clients let people do besides typing."""
        said = [
            "Made a typo? Edit your command: a command that only shows something runs again and my answer "
            "is edited; a command that did something (like " + code(f"{ctx.prefix}escalate") + ") is not "
            "run twice (one stopped by a typo runs when you fix it).",
            "Delete your command and I delete my answer (except where something was done).",
        ]
        reactions = [c for c in self._table if c.reaction is not None and c.reaction.help]

        def quick(commands: list[Command]) -> str:
            return "; ".join(f"{c.reaction.key} on {c.reaction.on or 'its message'} is {ctx.prefix}{c.name}"
                             for c in commands if c.reaction) + "."

        for_everyone = [c for c in reactions if c.permission is Permission.EVERYONE]
        for_moderators = [c for c in reactions if c.permission is not Permission.EVERYONE]
        if for_everyone:
            said.append("React instead of typing: " + quick(for_everyone))
        if ctx.is_moderator and for_moderators:
            said.append("Moderators, react instead of typing: " + quick(for_moderators))
        said.append("My own reactions show state: ✅ an answered consult, ⌛ one that went unanswered, "
                    "👀 and ✅ on an escalation that is taken and resolved.")
        return bullets(said)

    def _details(self, command: Command, prefix: str) -> Fragment:
        parts: list[Fragment | str] = [code(command.usage(prefix)) + f" — {command.summary}"]
        if command.details:
            parts.append(command.details)
        parts.extend(f"  {usage}: {help_}" for usage, help_ in describe_args(command))
        if command.examples:
            parts.append("Examples:")
            parts.append(bullets(code(e.replace("!", prefix, 1)) for e in command.examples))
        if command.permission.value == "moderators":
            parts.append("(moderators only)")
        if command.reaction is not None and command.reaction.help:
            parts.append(f"Or react {command.reaction.key} {command.reaction.help}.")
        return lines(*parts)
