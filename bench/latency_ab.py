"""The bot at two revisions, side by side: is a change to its answer path a real gain?

    python bench/latency_ab.py --old <git revision> [--rounds 300]

The working tree's bot and the bot at ``--old`` (exported with ``git archive``) run on one Synapse,
each in its own 2-member room, and ``!ping`` round trips alternate between them, so the machine's
other load hits both alike. Printed: p50/p95 per bot and the CPU time each spent per answer (from
/proc, which another process's load does not inflate), with the new/old ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))
sys.path.insert(0, str(PROJECT / "bench"))

from latency import cpu_seconds, interleaved, percentile  # noqa: E402

import tests.e2e.harness as harness  # noqa: E402
from bot.demo.local_synapse import LocalSynapse  # noqa: E402
from tests.e2e.harness import PASSWORD, BotProcess, ChatUser, create_room  # noqa: E402


def export(revision: str, folder: Path) -> Path:
    folder.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(PROJECT), "archive", revision], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder


async def main(old: str, rounds: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="fxhelp-ab-"))
    sources = {"new": PROJECT, f"old ({old})": export(old, folder / "old-source")}
    synapse = LocalSynapse(folder / "synapse")
    await synapse.start()
    lead = ChatUser(synapse, "lead")
    bots: list[BotProcess] = []
    try:
        await lead.start()
        targets: list[tuple[str, str, str]] = []
        pids: dict[str, int] = {}
        for number, (label, source) in enumerate(sources.items()):
            user = f"bot{number}"
            await synapse.register(user, PASSWORD)
            room, mods = await create_room(lead, label, []), await create_room(lead, f"{label} mods", [])
            for joined in (room, mods):
                await lead.client.room_invite(joined, f"@{user}:localhost")
            config = {"matrix": {"homeserver": synapse.url, "user_id": f"@{user}:localhost", "password": PASSWORD},
                      "rooms": {"contributors": room, "moderators": mods}, "log": {"level": "warning"}}
            harness.PROJECT = source  # the bot runs from its own tree (cwd and PYTHONPATH)
            os.environ["PYTHONPATH"] = str(source)
            bot = BotProcess(folder / user, config)
            await bot.start()
            bots.append(bot)
            await lead.ask(room, "!ping", timeout=30)
            targets.append((label, room, "!ping"))
            pids[label] = bot.process.pid
        before = {label: cpu_seconds(pid) for label, pid in pids.items()}
        times = await interleaved(lead, targets, rounds)
        cpu = {label: (cpu_seconds(pid) - before[label]) * 1000 / rounds for label, pid in pids.items()}

        print(f"fxhelp-bot A/B: {rounds} interleaved !ping round trips per bot, 2-member rooms, Synapse {synapse.url}")
        print(f"{'':24}{'p50 ms':>9}{'p95 ms':>9}{'CPU ms/answer':>15}")
        for label in sources:
            print(f"{label:24}{percentile(times[label], .5):9.1f}{percentile(times[label], .95):9.1f}{cpu[label]:15.2f}")
        new, old_label = list(sources)
        print(f"ratio new/old: p50 {percentile(times[new], .5) / percentile(times[old_label], .5):.2f}x, "
              f"p95 {percentile(times[new], .95) / percentile(times[old_label], .95):.2f}x, "
              f"CPU {cpu[new] / cpu[old_label]:.2f}x")
    finally:
        await lead.close()
        for bot in bots:
            bot.stop()
        synapse.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--old", required=True, help="the git revision to compare against")
    parser.add_argument("--rounds", type=int, default=300)
    args = parser.parse_args()
    asyncio.run(main(args.old, args.rounds))
