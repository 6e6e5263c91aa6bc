"""Wiring: config → storage → Matrix client → services → command table → scheduler, in one place.

``run_bot`` is the whole life of the process: open, log in, join, then sync and tick until SIGTERM
or Ctrl-C, then close everything in reverse order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from bot import __version__
from bot.clock import Clock, SystemClock
from bot.command_framework import Command, CommandTable
from bot.config import Config
from bot.dispatcher import Dispatcher
from bot.http_server import HealthServer
from bot.matrix_client import MatrixClient
from bot.metrics import Metrics
from bot.moderators import Moderators
from bot.rooms import Rooms
from bot.scheduler import Scheduler
from bot.sender import Sender
from bot.storage import Storage
from bot.sync_loop import SyncLoop
from commands import build_command_table
from commands.basics import BasicCommands

log = logging.getLogger(__name__)

ExtraCommands = Callable[["Bot"], Iterable[Command]]


@dataclass
class Bot:
    config: Config
    clock: Clock
    storage: Storage
    client: MatrixClient
    metrics: Metrics
    moderators: Moderators
    rooms: Rooms
    sender: Sender
    table: CommandTable
    dispatcher: Dispatcher
    scheduler: Scheduler
    sync_loop: SyncLoop
    health: HealthServer | None
    closers: list[Callable[[], object]]


async def build_bot(config: Config, clock: Clock | None = None, extra_commands: ExtraCommands | None = None) -> Bot:
    clock = clock or SystemClock()
    storage = await Storage.open(config.storage.path)
    metrics = Metrics()
    client = MatrixClient(config.matrix.homeserver, config.matrix.user_id, config.matrix.device_name, storage.state)
    moderators = Moderators(config.moderators.users, config.moderators.min_power_level)
    rooms = Rooms(client, config.rooms.contributors, config.rooms.moderators, moderators)
    sender = Sender(client, storage.outbox, clock)
    table = CommandTable()
    dispatcher = Dispatcher(table, config.commands.prefix, config.matrix.user_id, rooms.ids, moderators, sender,
                            storage.handled_events, clock, metrics)
    scheduler = Scheduler(storage.schedule, clock, metrics, config.scheduler.tick)
    sync_loop = SyncLoop(client, storage.state, rooms, dispatcher.handle_batch, clock, metrics)
    health = None
    if (listen := config.http.host_and_port()) is not None:
        health = HealthServer(listen[0], listen[1], metrics, clock, rooms, lambda: sync_loop.last_success, __version__)
    bot = Bot(config, clock, storage, client, metrics, moderators, rooms, sender, table, dispatcher, scheduler,
              sync_loop, health, closers=[])

    families: list[Iterable[Command]] = [
        BasicCommands(table, clock, __version__).commands(),
    ]
    if extra_commands is not None:
        families.append(extra_commands(bot))
    build_command_table(families, table)
    return bot


async def run_bot(config: Config, extra_commands: ExtraCommands | None = None) -> None:
    bot = await build_bot(config, extra_commands=extra_commands)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await bot.client.start_session(
            config.matrix.password.get_secret_value() if config.matrix.password else None,
            config.matrix.access_token.get_secret_value() if config.matrix.access_token else None,
        )
        if bot.health is not None:
            await bot.health.start()
        await bot.rooms.join_all()
        log.info("fxhelp-bot %s running as %s (device %s)", __version__, config.matrix.user_id, bot.client.device_id)
        tasks = [
            asyncio.create_task(bot.sync_loop.run(stop), name="sync"),
            asyncio.create_task(bot.scheduler.run(stop), name="scheduler"),
        ]
        stopper = asyncio.create_task(stop.wait(), name="stop")
        done, _ = await asyncio.wait([*tasks, stopper], return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if task is not stopper and task.exception() is not None:
                log.error("%s ended unexpectedly", task.get_name(), exc_info=task.exception())
        stop.set()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        log.info("stopping")
    finally:
        for close in reversed(bot.closers):
            with contextlib.suppress(Exception):
                result = close()
                if asyncio.iscoroutine(result):
                    await result
        if bot.health is not None:
            await bot.health.stop()
        await bot.client.close()
        await bot.storage.close()
