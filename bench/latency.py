"""Reply latency of the bot against the floor: a bare matrix-nio echo client on the same Synapse.

    python bench/latency.py [--rounds 300] [--burst 300] [--senders 20]

Both answer as notice replies, each in its own process. The round trips are what a user sees:
sequential, interleaved, in rooms of the sizes people use — 2 members (asker and answerer) and 6
(four more idle members, each keeping a /sync open, as people's clients do) — the floor in rooms of
the same shape as the bot's. The burst senders stay out of those rooms until the burst (each event
wakes every member's /sync: 20 extra members would make the floor, not the bot, the figure).
Printed: p50/p95/p99 per room and the bot/floor ratios for both sizes; a burst from many senders at
once (drain time, lost and doubled answers); the bot's cold start (process start to first answer,
with a stored session); and the bot's peak RSS. Figures, not assertions: targets printed beside.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

from nio import AsyncClient, LoginResponse, SyncResponse  # noqa: E402

from bot.demo.local_synapse import LocalSynapse  # noqa: E402
from tests.e2e.harness import PASSWORD, BotProcess, ChatUser, create_room  # noqa: E402


async def echo_floor(homeserver: str, user_id: str) -> None:
    """The floor: sync, and answer every text message with a notice reply. Nothing else."""
    client = AsyncClient(homeserver, user_id)
    response = await client.login(PASSWORD)
    assert isinstance(response, LoginResponse), response
    first = await client.sync(timeout=0)
    since = first.next_batch
    print("ready", flush=True)
    while True:
        response = await client.sync(timeout=30000, since=since, sync_filter={"room": {"timeline": {"limit": 1000}}})
        if not isinstance(response, SyncResponse):
            continue
        sends = []
        for room_id, info in response.rooms.join.items():
            for event in info.timeline.events:
                source = event.source
                content = source.get("content", {})
                if source.get("sender") == user_id or content.get("msgtype") != "m.text":
                    continue
                sends.append(client.room_send(room_id, "m.room.message", {
                    "msgtype": "m.notice", "body": "echo", "m.mentions": {},
                    "m.relates_to": {"m.in_reply_to": {"event_id": source["event_id"]}}}))
        await asyncio.gather(*sends)
        since = response.next_batch


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


async def sequential(user: ChatUser, room: str, body: str, rounds: int) -> list[float]:
    timings = []
    for _ in range(rounds):
        started = time.perf_counter()
        await user.ask(room, body, timeout=30)
        timings.append((time.perf_counter() - started) * 1000)
    return timings


async def burst(senders: list[ChatUser], watcher: ChatUser, room: str, body: str, total: int) -> tuple[float, int, int]:
    per_sender = total // len(senders)
    started = time.perf_counter()

    async def send_all(user: ChatUser) -> list[str]:
        return [await user.send(room, body) for _ in range(per_sender)]

    sent = [e for ids in await asyncio.gather(*(send_all(u) for u in senders)) for e in ids]
    wanted = set(sent)

    def answered(room_id, event):
        return (room_id == room and event.get("content", {}).get("m.relates_to", {})
                .get("m.in_reply_to", {}).get("event_id") in wanted)

    try:
        await watcher.wait_for(answered, timeout=120, count=len(sent))
    except TimeoutError:
        pass
    drain = time.perf_counter() - started
    await asyncio.sleep(2)
    answers: dict[str, int] = {}
    for event in watcher.matching(answered):
        target = event["content"]["m.relates_to"]["m.in_reply_to"]["event_id"]
        answers[target] = answers.get(target, 0) + 1
    lost = sum(1 for e in sent if e not in answers)
    doubled = sum(1 for count in answers.values() if count > 1)
    return drain, lost, doubled


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (from /proc; load on the machine does not inflate it)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def interleaved(lead: ChatUser, targets: list[tuple[str, str, str]], rounds: int) -> dict[str, list[float]]:
    """Round trips to each target in turn, so drift (other load on the machine) hits them alike."""
    timings: dict[str, list[float]] = {label: [] for label, _, _ in targets}
    for _ in range(rounds):
        for label, room, body in targets:
            started = time.perf_counter()
            await lead.ask(room, body, timeout=30)
            timings[label].append((time.perf_counter() - started) * 1000)
    return timings


async def join_all(users: list[ChatUser], owner: ChatUser, room: str) -> None:
    for user in users:
        await owner.client.room_invite(room, user.user_id)
        await user.client.join(room)


async def main(rounds: int, burst_total: int, sender_count: int, profile: Path | None) -> None:
    folder = Path(tempfile.mkdtemp(prefix="fxhelp-bench-"))
    synapse = LocalSynapse(folder / "synapse")
    await synapse.start()
    echo_process = None
    bot = None
    users: list[ChatUser] = []
    try:
        for name in ("fxhelpbot", "echo"):
            await synapse.register(name, PASSWORD)
        lead = ChatUser(synapse, "lead")
        idle = [ChatUser(synapse, f"idle{i}") for i in range(4)]
        senders = [ChatUser(synapse, f"sender{i}") for i in range(sender_count)]
        users = [lead, *idle, *senders]
        for user in users:
            await user.start()
        # Rooms of the sizes people use: 2 members (the asker and the answerer) and 6 (four more,
        # idle, each keeping a /sync open). The bot's 6-member room is its moderators' room; the
        # burst senders join only for the burst, after the round trips.
        bot_2 = await create_room(lead, "bot, 2 members", [])
        bot_6 = await create_room(lead, "bot, 6 members", idle)
        echo_2 = await create_room(lead, "floor, 2 members", [])
        echo_6 = await create_room(lead, "floor, 6 members", idle)
        for room in (bot_2, bot_6):
            await lead.client.room_invite(room, "@fxhelpbot:localhost")
        for room in (echo_2, echo_6):
            await lead.client.room_invite(room, "@echo:localhost")

        echo_process = subprocess.Popen([sys.executable, __file__, "--echo", synapse.url], stdout=subprocess.PIPE, text=True)
        assert echo_process.stdout.readline().strip() == "ready"
        echo = AsyncClient(synapse.url, "@echo:localhost")
        await echo.login(PASSWORD)
        for room in (echo_2, echo_6):
            await echo.join(room)
        await echo.close()

        config = {"matrix": {"homeserver": synapse.url, "user_id": "@fxhelpbot:localhost", "password": PASSWORD},
                  "rooms": {"contributors": bot_2, "moderators": bot_6}, "log": {"level": "warning"}}
        bot = BotProcess(folder / "bot", config)
        await bot.start()
        for room, body in ((bot_2, "!ping"), (bot_6, "!ping"), (echo_2, "warm up"), (echo_6, "warm up")):
            await lead.ask(room, body, timeout=30)

        spies = []
        if profile is not None:  # py-spy samples the bot (and the floor) during the round trips
            for pid, output in ((bot.process.pid, profile), (echo_process.pid, profile.with_suffix(".floor.txt"))):
                spies.append(subprocess.Popen(["py-spy", "record", "--pid", str(pid), "--rate", "250", "--threads", "--gil",
                                               "--format", "raw", "--output", str(output)],
                                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            await asyncio.sleep(1)
        cpu_before = cpu_seconds(bot.process.pid), cpu_seconds(echo_process.pid)
        times = await interleaved(lead, [("bot, 2 members", bot_2, "!ping"), ("floor, 2 members", echo_2, "hello"),
                                         ("bot, 6 members", bot_6, "!ping"), ("floor, 6 members", echo_6, "hello")],
                                  rounds)
        cpu_after = cpu_seconds(bot.process.pid), cpu_seconds(echo_process.pid)
        for spy in spies:
            spy.send_signal(signal.SIGINT)
            spy.wait(30)
        bot_cpu, echo_cpu = ((after - before) * 1000 / (2 * rounds) for before, after in zip(cpu_before, cpu_after, strict=True))

        await join_all(senders, lead, bot_2)
        await join_all(senders, lead, echo_2)
        bot_drain, bot_lost, bot_doubled = await burst(senders, lead, bot_2, "!ping", burst_total)
        echo_drain, echo_lost, echo_doubled = await burst(senders, lead, echo_2, "hello", burst_total)

        bot.stop()
        started = time.perf_counter()
        bot.process = subprocess.Popen([sys.executable, "-m", "bot", "run", "--config", str(bot.config_path)],
                                       cwd=PROJECT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        await lead.ask(bot_2, "!ping", timeout=60)
        cold_start = time.perf_counter() - started
        await sequential(lead, bot_2, "!help", 50)
        rss = peak_rss_mb(bot.process.pid)

        print(f"fxhelp-bot latency benchmark: {rounds} sequential round trips per room, interleaved; burst of "
              f"{burst_total} from {sender_count} senders; Synapse {synapse.url}")
        print(f"{'':24}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}")
        for label, values in times.items():
            print(f"{label:24}{percentile(values, .5):9.1f}{percentile(values, .95):9.1f}{percentile(values, .99):9.1f}")
        for size in (2, 6):
            bot_times, floor_times = times[f"bot, {size} members"], times[f"floor, {size} members"]
            p50 = percentile(bot_times, .5) / percentile(floor_times, .5)
            p95 = percentile(bot_times, .95) / percentile(floor_times, .95)
            print(f"ratio bot/floor, {size} members: p50 {p50:.2f}x (target <= 1.15x) {'PASS' if p50 <= 1.15 else 'FAIL'}; "
                  f"p95 {p95:.2f}x (target <= 1.5x) {'PASS' if p95 <= 1.5 else 'FAIL'}")
        print(f"CPU per answer: bot {bot_cpu:.2f} ms, floor {echo_cpu:.2f} ms "
              f"(ratio {bot_cpu / echo_cpu:.2f}x; the machine's other load does not count here)")
        drain_ratio = bot_drain / echo_drain
        print(f"burst drain ({sender_count + 2} members): bot {bot_drain:.2f} s (lost {bot_lost}, doubled {bot_doubled}); "
              f"floor {echo_drain:.2f} s (lost {echo_lost}, doubled {echo_doubled}); "
              f"ratio {drain_ratio:.2f}x (target <= 1.3x) {'PASS' if drain_ratio <= 1.3 else 'FAIL'}")
        print(f"bot lost/doubled: {bot_lost}/{bot_doubled} (target 0/0) "
              f"{'PASS' if bot_lost == bot_doubled == 0 else 'FAIL'}")
        print(f"cold start (process start to first answer): {cold_start:.2f} s (target <= 3 s) "
              f"{'PASS' if cold_start <= 3 else 'FAIL'}")
        print(f"bot peak RSS: {rss:.1f} MB (target <= 100 MB) {'PASS' if rss <= 100 else 'FAIL'}")
    finally:
        for user in users:
            await user.close()
        if bot is not None:
            bot.stop()
        if echo_process is not None:
            echo_process.kill()
        synapse.stop()


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--echo":
        asyncio.run(echo_floor(sys.argv[2], "@echo:localhost"))
        sys.exit(0)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--burst", type=int, default=300)
    parser.add_argument("--senders", type=int, default=20)
    parser.add_argument("--profile", type=Path, help="write py-spy raw stacks of the bot during the round trips")
    args = parser.parse_args()
    asyncio.run(main(args.rounds, args.burst, args.senders, args.profile))
