"""The command line: ``fxhelp-bot run|check-config|demo``."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from bot import __version__
from bot.config import ConfigError, load_config
from bot.features.replies.catalog import library_path
from bot.features.replies.library import ReplyLibrary
from bot.features.replies.loading import ReplyLibraryError
from bot.logging_setup import configure_logging

EXIT_CONFIG = 2


def main(argv: list[str] | None = None, extra_commands=None) -> int:
    """``extra_commands`` lets a test entry point add commands (see tests/e2e/crashing_bot.py)."""
    parser = argparse.ArgumentParser(prog="fxhelp-bot", description="The Matrix teammate of Mozilla Social Support.")
    parser.add_argument("--version", action="version", version=f"fxhelp-bot {__version__}")
    sub = parser.add_subparsers(dest="action", required=True)
    run = sub.add_parser("run", help="run the bot")
    run.add_argument("--config", type=Path, required=True, help="the YAML configuration file")
    check = sub.add_parser("check-config", help="validate a configuration file and exit")
    check.add_argument("--config", type=Path, required=True, help="the YAML configuration file")
    demo = sub.add_parser("demo", help="first run: a local Synapse, the bot and a chat prompt")
    demo.add_argument("--folder", type=Path, default=None, help="where the demo keeps its homeserver and data (default: ./demo)")
    args = parser.parse_args(argv)

    if args.action == "demo":
        from bot.demo.run import run_demo

        return run_demo(args.folder)
    try:
        config = load_config(args.config)
    except ConfigError as error:
        print(f"fxhelp-bot: {args.config} has problems:", file=sys.stderr)
        for problem in error.problems:
            print(f"  - {problem}", file=sys.stderr)
        return EXIT_CONFIG
    if args.action == "check-config":
        try:
            ReplyLibrary.load(library_path(config.replies))
        except ReplyLibraryError as error:
            return _library_problems(config.replies.path, error)
        print(f"{args.config}: OK")
        return 0
    configure_logging(config.log.level)
    from bot.app import run_bot

    try:
        asyncio.run(run_bot(config, extra_commands=extra_commands))
    except KeyboardInterrupt:
        pass
    except ReplyLibraryError as error:
        return _library_problems(config.replies.path, error)
    return 0


def _library_problems(configured: Path | None, error: ReplyLibraryError) -> int:
    where = configured or "the shipped library"
    print(f"fxhelp-bot: the reply library ({where}) has problems:", file=sys.stderr)
    for problem in error.problems:
        print(f"  - {problem}", file=sys.stderr)
    return EXIT_CONFIG


if __name__ == "__main__":
    sys.exit(main())
