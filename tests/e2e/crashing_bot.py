"""The real bot with one extra command whose handler raises: ``python -m tests.e2e.crashing_bot run ...``."""

import sys

from bot.cli import main
from bot.framework.command import Command


def crash_commands(bot):
    async def crash(ctx):
        raise RuntimeError("internal detail that must not reach the room")

    return [Command("crash", "always fails (test only)", crash)]


if __name__ == "__main__":
    sys.exit(main(extra_commands=crash_commands))
