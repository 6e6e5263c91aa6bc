"""Soak: bursts of commands while the bot is SIGKILLed at random moments or Synapse restarts.

    python bench/soak.py [--sizes 25,100,500] [--patterns none,kill,kills,synapse,both] [--seed 11]

Three senders send a burst (every fourth command inside a thread, alternately ``!ping`` and
``!help ping``) into the contributors' room of one real bot process on a real Synapse. Meanwhile,
by pattern: ``none`` (no trouble, the baseline), ``kill`` (one SIGKILL at a random moment, restart
after a random pause of up to 1 s), ``kills`` (three of them), ``synapse`` (Synapse stopped at a
random moment and started again ``--outage`` seconds later; the bot's sends are refused in
between), ``both`` (a kill and a Synapse restart), ``long`` (Synapse away for ``--long-outage``
seconds, longer than the bot's bounded send retries), ``ratelimit`` (a kill, and Synapse's own
rate limit on the bot's messages, set through its admin API to ``--rate`` a second with a burst of
twice that, so answers are refused with M_LIMIT_EXCEEDED while they pile up). Answers are counted by ``m.in_reply_to`` as a
user reads them back: each command must be answered exactly once, and not with "something went
wrong". Printed per burst and pattern: answered / lost / doubled, answers that were that error, and
the time to drain. Exit status 1 when any is not 0.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

import aiohttp  # noqa: E402
from nio import RoomSendResponse  # noqa: E402

from bot.demo.local_synapse import LocalSynapse  # noqa: E402
from tests.e2e.harness import PASSWORD, BotProcess, ChatUser, create_room, replies_to  # noqa: E402

BOT = "@fxhelpbot:localhost"
DRAIN_TIMEOUT = 600.0


async def send_until_accepted(user: ChatUser, room: str, text: str, txn: str, thread_root: str | None) -> str:
    """Send with a fixed transaction ID until the homeserver takes it (Synapse may be restarting)."""
    content: dict = {"msgtype": "m.text", "body": text}
    if thread_root is not None:
        content["m.relates_to"] = {"rel_type": "m.thread", "event_id": thread_root, "is_falling_back": True,
                                   "m.in_reply_to": {"event_id": thread_root}}
    while True:
        try:
            response = await user.client.room_send(room, "m.room.message", content, tx_id=txn)
        except Exception:  # noqa: BLE001 - a refused connection while Synapse restarts
            response = None
        if isinstance(response, RoomSendResponse):
            return response.event_id
        await asyncio.sleep(0.2)


async def burst(senders: list[ChatUser], room: str, total: int, thread_root: str, tag: str) -> list[str]:
    async def one_sender(index: int, user: ChatUser) -> list[tuple[int, str]]:
        sent = []
        for n in range(index, total, len(senders)):
            text = "!ping" if n % 2 == 0 else "!help ping"
            event_id = await send_until_accepted(user, room, text, f"soak-{tag}-{n}",
                                                 thread_root if n % 4 == 3 else None)
            sent.append((n, event_id))
        return sent

    results = await asyncio.gather(*(one_sender(i, u) for i, u in enumerate(senders)))
    return [event_id for _, event_id in sorted(pair for result in results for pair in result)]


PATTERNS = ("none", "kill", "kills", "synapse", "both", "long", "ratelimit")


async def trouble(pattern: str, bot: BotProcess, synapse: LocalSynapse, rng: random.Random, window: float,
                  outage: float) -> None:
    kills = {"none": 0, "kill": 1, "kills": 3, "synapse": 0, "both": 1, "long": 0, "ratelimit": 1}[pattern]
    restart_synapse = pattern in ("synapse", "both", "long")
    moments = sorted([("kill", rng.uniform(0.1, window)) for _ in range(kills)]
                     + ([("synapse", rng.uniform(0.1, window))] if restart_synapse else []), key=lambda m: m[1])
    started = time.monotonic()
    for what, at in moments:
        await asyncio.sleep(max(0.0, at - (time.monotonic() - started)))
        if what == "kill":
            bot.kill()
            await asyncio.sleep(rng.uniform(0.0, 1.0))
            await start_bot(bot)
        else:
            synapse.stop()
            await asyncio.sleep(outage)
            await synapse.start()


async def start_bot(bot: BotProcess) -> None:
    # Healthy needs a fresh sync, which waits for Synapse when it is away: allow for that.
    await bot.start(timeout=300)


class RateLimit:
    """Synapse's per-user message rate limit on the bot, through the admin API."""

    def __init__(self, synapse: LocalSynapse) -> None:
        self._synapse = synapse
        self._token: str | None = None

    async def _call(self, method: str, body: dict | None = None) -> None:
        async with aiohttp.ClientSession() as session:
            if self._token is None:
                await self._synapse.register("soakadmin", PASSWORD, admin=True)
                login = {"type": "m.login.password", "identifier": {"type": "m.id.user", "user": "soakadmin"},
                         "password": PASSWORD}
                async with session.post(f"{self._synapse.url}/_matrix/client/v3/login", json=login) as resp:
                    self._token = (await resp.json())["access_token"]
            url = f"{self._synapse.url}/_synapse/admin/v1/users/{BOT}/override_ratelimit"
            async with session.request(method, url, json=body, headers={"Authorization": f"Bearer {self._token}"}) as resp:
                assert resp.status == 200, await resp.text()

    async def set(self, per_second: int) -> None:
        await self._call("POST", {"messages_per_second": per_second, "burst_count": per_second * 2})

    async def lift(self) -> None:
        await self._call("DELETE")


async def run_one(size: int, pattern: str, seed: int, outage: float, synapse: LocalSynapse, bot: BotProcess,
                  senders: list[ChatUser], watcher: ChatUser, room: str, rate_limit: RateLimit, rate: int) -> dict:
    if pattern == "ratelimit":
        await rate_limit.set(rate)
    rng = random.Random(f"{seed}-{size}-{pattern}")
    root = await send_until_accepted(watcher, room, f"soak thread {size} {pattern}", f"root-{seed}-{size}-{pattern}", None)
    started = time.monotonic()
    # The trouble lands inside the time the burst takes to send (about 15 ms a command per sender here).
    window = max(0.5, size * 0.015)
    sending = asyncio.create_task(burst(senders, room, size, root, f"{seed}-{size}-{pattern}"))
    await trouble(pattern, bot, synapse, rng, window, outage)
    commands = await sending
    if bot.process is None or bot.process.poll() is not None:
        await start_bot(bot)
    wanted = set(commands)

    def answers(errors: set[str] | None = None) -> dict[str, int]:
        counts = dict.fromkeys(wanted, 0)
        for _, event in watcher.events:
            target = event.get("content", {}).get("m.relates_to", {}).get("m.in_reply_to", {}).get("event_id")
            if target in counts and event.get("sender") == BOT:
                counts[target] += 1
                if errors is not None and "something went wrong" in event["content"].get("body", ""):
                    errors.add(target)
        return counts

    deadline = time.monotonic() + DRAIN_TIMEOUT
    while time.monotonic() < deadline and min(answers().values()) == 0:
        await asyncio.sleep(0.2)
    drained = time.monotonic() - started
    if pattern == "ratelimit":
        await rate_limit.lift()
    # A positive signal before counting what is missing or doubled: a later command's answer.
    marker = await send_until_accepted(watcher, room, "!ping", f"marker-{seed}-{size}-{pattern}", None)
    await watcher.wait_for(replies_to(marker), timeout=120)
    await asyncio.sleep(1)
    errors: set[str] = set()
    counts = answers(errors)
    return {"size": size, "pattern": pattern, "answered": sum(1 for n in counts.values() if n >= 1),
            "errors": len(errors),
            "lost": sum(1 for n in counts.values() if n == 0), "doubled": sum(n - 1 for n in counts.values() if n > 1),
            "drain": drained}


async def main(sizes: list[int], patterns: list[str], seed: int, outage: float, long_outage: float,
               rate: int) -> int:
    logging.getLogger("nio").setLevel(logging.ERROR)  # the users' retries while Synapse is away
    with tempfile.TemporaryDirectory(prefix="fxhelp-soak-") as scratch:
        folder = Path(scratch)
        synapse = LocalSynapse(folder / "synapse")
        await synapse.start()
        users = [ChatUser(synapse, name) for name in ("host", "ann", "ben", "cat")]
        await synapse.register("fxhelpbot", PASSWORD)
        for user in users:
            await user.start()
        host, *senders = users
        contributors = await create_room(host, "soak contributors", senders)
        moderators = await create_room(host, "soak moderators", [])
        for room in (contributors, moderators):
            await host.client.room_invite(room, BOT)
        bot = BotProcess(folder / "bot", {
            "matrix": {"homeserver": synapse.url, "user_id": BOT, "password": PASSWORD, "device_name": "soak"},
            "rooms": {"contributors": contributors, "moderators": moderators},
            "moderators": {"users": [], "min_power_level": 50, "ping": []},
            "scheduler": {"tick": "1s"}, "log": {"level": "info"},
        })
        results = []
        rate_limit = RateLimit(synapse)
        try:
            await start_bot(bot)
            for size in sizes:
                for pattern in patterns:
                    result = await run_one(size, pattern, seed, long_outage if pattern == "long" else outage, synapse,
                                           bot, senders, host, contributors, rate_limit, rate)
                    results.append(result)
                    print(f"{size:>4} commands, {pattern:<9} answered {result['answered']:>4}  lost {result['lost']:>3}"
                          f"  doubled {result['doubled']:>3}  'something went wrong' {result['errors']:>3}"
                          f"  drained in {result['drain']:.1f} s", flush=True)
        finally:
            bot.stop()
            for user in users:
                await user.close()
            synapse.stop()
    print()
    print("| commands | trouble | answered | lost | doubled | 'something went wrong' | drained in |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['size']} | {r['pattern']} | {r['answered']} | {r['lost']} | {r['doubled']} | {r['errors']} "
              f"| {r['drain']:.1f} s |")
    bad = sum(r["lost"] + r["doubled"] + r["errors"] for r in results)
    print(f"\ntotal lost + doubled + answered with an error: {bad} (target 0)")
    return 0 if bad == 0 else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="25,100,500")
    parser.add_argument("--patterns", default=",".join(PATTERNS))
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--outage", type=float, default=3.0, help="seconds Synapse stays down")
    parser.add_argument("--long-outage", type=float, default=40.0, help="seconds Synapse stays down in 'long'")
    parser.add_argument("--rate", type=int, default=3, help="the bot's messages a second in 'ratelimit'")
    args = parser.parse_args()
    unknown = set(args.patterns.split(",")) - set(PATTERNS)
    if unknown:
        parser.error(f"unknown patterns: {', '.join(sorted(unknown))}; known: {', '.join(PATTERNS)}")
    sys.exit(asyncio.run(main([int(s) for s in args.sizes.split(",")], args.patterns.split(","), args.seed,
                              args.outage, args.long_outage, args.rate)))
