"""The first-run demo: its own Synapse, the bot, a chat prompt; a second run reuses what it made.

The outside services are the real ones by default. This machine has no internet, so the first run
meets support.mozilla.org as unreachable for real; the second points the demo at local fakes of
Kitsune and Bitly through the variables the demo documents (FXHELP_DEMO_SUMO_URL,
FXHELP_DEMO_BITLY_URL, FXHELP_BITLY_TOKEN).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import queue
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta

from tests.e2e.harness import PROJECT
from tests.fakes.bitly import FakeBitly, expected_link
from tests.fakes.kitsune import FakeKitsune
from tests.fakes.server import FakeServer

ARTICLE = "https://support.mozilla.org/kb/clear-cookies-and-site-data-firefox"


class DemoSession:
    """The demo as a person runs it: read what it prints, type a line, wait for the bot's answer."""

    def __init__(self, folder, environ: dict[str, str]) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "bot", "demo", "--folder", str(folder)], cwd=PROJECT,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        text=True, env=environ)
        self.output = ""
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._pending: list[str] = []  # read ahead while collecting an answer, not yet looked at
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def wait_for(self, text: str, timeout: float = 90) -> str:
        """Everything printed up to and including the line that contains ``text``."""
        deadline = time.monotonic() + timeout
        seen = ""
        while time.monotonic() < deadline:
            try:
                line = self._pending.pop(0) if self._pending else self._lines.get(timeout=0.5)
            except queue.Empty:
                continue
            if line is None:
                break
            self.output += line
            seen += line
            if text in line:
                return seen
        raise AssertionError(f"{text!r} did not appear; the demo printed:\n{self.output}")

    def say(self, line: str, answer_starts: str, timeout: float = 30) -> str:
        """Type a line and return the bot's answer, the printed block that starts with ``answer_starts``."""
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()
        printed = self.wait_for(answer_starts, timeout)
        answer = printed[printed.index(answer_starts):]
        while True:  # a message of several lines is printed as one block, its lines indented
            try:
                line = self._lines.get(timeout=1.0)
            except queue.Empty:
                return answer
            if line is None:
                self._lines.put(None)
                return answer
            if not line.startswith("    "):
                self._pending.append(line)
                return answer
            self.output += line
            answer += line

    def finish(self) -> int:
        assert self.process.stdin is not None
        self.process.stdin.close()  # Ctrl-D ends the demo like Ctrl-C
        try:
            code = self.process.wait(timeout=60)
        finally:
            if self.process.poll() is None:
                self.process.terminate()  # like Ctrl-C: the demo stops its Synapse and its bot
                self.process.wait(30)
        self.output += "".join(self._pending)
        while (line := self._lines.get(timeout=10)) is not None:  # the rest of the output
            self.output += line
        return code


@contextlib.contextmanager
def serving(*fakes: FakeServer) -> Iterator[None]:
    """Run fake services on their own event loop in a thread, for a demo in another process."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        for fake in fakes:
            asyncio.run_coroutine_threadsafe(fake.start(), loop).result(10)
        yield
    finally:
        for fake in fakes:
            asyncio.run_coroutine_threadsafe(fake.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


def demo_environment(**extra: str) -> dict[str, str]:
    names = ("FXHELP_BITLY_TOKEN", "FXHELP_DEMO_SUMO_URL", "FXHELP_DEMO_BITLY_URL", "FXHELP_DEMO_BITLY_DOMAIN")
    return {**{k: v for k, v in os.environ.items() if k not in names}, **extra}


def test_demo_runs_every_feature_and_reuses_what_it_made(tmp_path):
    folder = tmp_path / "demo"

    first = DemoSession(folder, demo_environment())
    welcome = first.wait_for("Below you chat as the contributor")
    first.wait_for("!shorten needs a Bitly access token")
    assert "Homeserver: http://127.0.0.1:" in welcome
    assert "@contributor:localhost" in welcome and "@moderator:localhost" in welcome
    assert "fxhelp-bot commands" in first.say("!help", "[bot]")
    # support.mozilla.org, for real: this machine has no connection to it.
    kb = first.say("!kb clear cookies", "[bot]")
    assert kb.startswith("[bot] support.mozilla.org cannot be reached from the machine this bot runs on (no "
                         "connection); !kb works again once it can."), kb
    questions = first.say("!questions", "[bot]")
    assert "SUMO has not answered yet since the bot started (support.mozilla.org cannot be reached" in questions
    shorten = first.say(f"!shorten {ARTICLE}", "[bot]")
    assert "it needs a Bitly access token" in shorten and "FXHELP_BITLY_TOKEN" in shorten
    assert first.finish() == 0, first.output
    first_state = json.loads((folder / "demo.json").read_text())

    sumo = FakeKitsune()
    sumo.add_article("Clear cookies and site data in Firefox", "clear-cookies-and-site-data-firefox",
                     summary="Remove cookies")
    sumo.add_question("Firefox forgets my cookies on restart", age=timedelta(hours=50))
    bitly = FakeBitly(token="demo-token", domain="bit.ly")
    with serving(sumo, bitly):
        second = DemoSession(folder, demo_environment(FXHELP_DEMO_SUMO_URL=sumo.url, FXHELP_DEMO_BITLY_URL=bitly.url,
                                                      FXHELP_BITLY_TOKEN="demo-token"))
        second.wait_for("!shorten makes links with your Bitly token")
        assert "[bot] Pong!" in second.say("!ping", "[bot]")
        kb = second.say("!kb clear cookies", "[bot]")
        assert kb.startswith("[bot] support.mozilla.org articles for “clear cookies” (en-US)"), kb
        # The fake's article links are on 127.0.0.1, not a Mozilla host: shown in full, not shortened.
        assert f"Clear cookies and site data in Firefox ({sumo.url}/en-US/kb/clear-cookies" in kb
        questions = second.say("!questions", "[bot]")
        assert "Firefox forgets my cookies on restart" in questions
        assert re.search(r"— 2[12]h( \d+m)? left", questions), questions
        made = second.say(f"!shorten {ARTICLE}", "[bot]")
        assert made.startswith(f"[bot] • {expected_link(ARTICLE, 'bit.ly')} → {ARTICLE}"), made
        assert second.finish() == 0, second.output
    assert bitly.calls_for(ARTICLE) == 1
    assert sumo.user_agents and all(agent.startswith("fxhelp-bot/") for agent in sumo.user_agents)

    assert json.loads((folder / "demo.json").read_text()) == first_state
    bot_log = (folder / "bot.log").read_text()
    assert bot_log.count("logged in on device") == 1 and "session restored" in bot_log

