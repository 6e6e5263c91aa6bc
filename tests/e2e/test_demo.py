"""The first-run demo: its own Synapse, the bot, a chat prompt; a second run reuses what it made."""

from __future__ import annotations

import json
import subprocess
import sys
import time

from tests.e2e.harness import PROJECT


def run_demo_session(folder, lines, seconds_between=2.5):
    process = subprocess.Popen([sys.executable, "-m", "bot", "demo", "--folder", str(folder)], cwd=PROJECT,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = ""
    try:
        # The prompt appears once the bot is up; read until the welcome text is out.
        deadline = time.monotonic() + 90
        while "Below you chat as the contributor" not in output and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            output += line
        for text in lines:
            process.stdin.write(text + "\n")
            process.stdin.flush()
            time.sleep(seconds_between)
        process.stdin.close()  # Ctrl-D ends the demo like Ctrl-C
        process.wait(timeout=60)
        output += process.stdout.read()
    finally:
        if process.poll() is None:
            process.terminate()  # like Ctrl-C: the demo stops its Synapse and its bot
            process.wait(30)
    return process.returncode, output


def test_demo_runs_and_reuses_what_it_made(tmp_path):
    code, output = run_demo_session(tmp_path / "demo", ["!help"])
    assert code == 0, output
    assert "Homeserver: http://127.0.0.1:" in output
    assert "@contributor:localhost" in output and "@moderator:localhost" in output
    assert "[bot] fxhelp-bot commands" in output
    first_state = json.loads((tmp_path / "demo" / "demo.json").read_text())

    code, output = run_demo_session(tmp_path / "demo", ["!ping"])
    assert code == 0, output
    assert "[bot] Pong!" in output
    assert json.loads((tmp_path / "demo" / "demo.json").read_text()) == first_state
    bot_log = (tmp_path / "demo" / "bot.log").read_text()
    assert bot_log.count("logged in on device") == 1 and "session restored" in bot_log
