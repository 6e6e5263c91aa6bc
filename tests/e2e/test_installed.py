"""The bot as a user installs it: the wheel in a fresh virtual environment, no source tree.

Under `make test` the whole end-to-end tier already runs against the fxhelp-bot that the
Dockerfile's replay installed from the wheel (FXHELP_E2E_INSTALLED); these tests then use it.
Run alone, they build the wheel and install it into a fresh venv of their own.
"""

from __future__ import annotations

import json
import subprocess
import sys
import venv
from pathlib import Path

import pytest
import yaml

from bot.features.replies.library import ReplyLibrary
from tests.e2e.conftest import bot_config
from tests.e2e.harness import INSTALLED_VARIABLE, PROJECT, body, installed_bot


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The installed fxhelp-bot program."""
    program = installed_bot()
    if program is not None:
        return program
    folder = tmp_path_factory.mktemp("installed")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(folder / "dist"),
                    str(PROJECT)], check=True)
    venv.create(folder / "venv", with_pip=True)
    wheel = next((folder / "dist").glob("fxhelp_bot-*.whl"))
    subprocess.run([str(folder / "venv/bin/python"), "-m", "pip", "install", "--quiet", str(wheel)], check=True,
                   cwd=folder)
    return folder / "venv/bin/fxhelp-bot"


@pytest.fixture
def use_installed(installed: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Bots started by bot_factory in this test run the installed program."""
    monkeypatch.setenv(INSTALLED_VARIABLE, str(installed))
    return installed


def test_the_installed_package_is_the_wheel_not_the_source_tree(installed, tmp_path):
    probe = ("import json, bot, bot.config, importlib.metadata as m; "
             "print(json.dumps([bot.__file__, str(bot.config.shipped_replies_path()), "
             "m.distribution('fxhelp-bot').read_text('direct_url.json')]))")
    output = subprocess.run([str(installed.parent / "python"), "-c", probe], cwd=tmp_path, capture_output=True,
                            text=True, check=True).stdout
    package, library, direct_url = json.loads(output)
    environment = installed.parent.parent
    assert Path(package).is_relative_to(environment) and "site-packages" in Path(package).parts, package
    assert Path(library).parent == Path(package).parent, library
    assert not (direct_url and json.loads(direct_url).get("dir_info", {}).get("editable")), direct_url


def test_installed_check_config(installed, synapse, cast, rooms, tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({**bot_config(synapse, cast, rooms), "storage": {"path": str(tmp_path / "db")}}))
    result = subprocess.run([str(installed), "check-config", "--config", str(config)], cwd=tmp_path,
                            capture_output=True, text=True)
    assert (result.returncode, result.stdout.strip()) == (0, f"{config}: OK"), result.stderr


async def test_installed_bot_answers_from_the_shipped_library(use_installed, cast, rooms, bot_factory):
    bot = await bot_factory(rooms)
    assert bot.process.args[0] == str(use_installed)
    assert "Pong" in body(await cast.alice.ask(rooms.contributors, "!ping"))

    library = ReplyLibrary.load(PROJECT / "replies")
    reloaded = body(await cast.mod.ask(rooms.contributors, "!reply reload"))
    assert reloaded == f"Reloaded the reply library: {len(library)} replies in {len(library.topics())} topics."
    reply = library.get("clear-cache")
    title, pasted, *_ = body(await cast.alice.ask(rooms.contributors, "!reply clear-cache es @someone")).splitlines()
    assert title == f"{reply.title} (clear-cache, es)"
    assert pasted.startswith(f"@someone {reply.texts['es']} ")
