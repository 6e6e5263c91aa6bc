""".ci/replay_dockerfile.py refuses what the image must not be, and what it cannot replay faithfully.

The full replay (the project's Dockerfile built, installed and started) runs in `make test`; these
use small Dockerfiles with no pip step, so each costs only its stages' fresh venvs.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / ".ci" / "replay_dockerfile.py"
spec = importlib.util.spec_from_file_location("replay_dockerfile", SCRIPT)
replay_dockerfile = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = replay_dockerfile
spec.loader.exec_module(replay_dockerfile)

GOOD_TAIL = """
RUN useradd --system --uid 10001 --home-dir /data app && mkdir -p /data && chown app /data
USER app
VOLUME ["/data"]
"""


def replayed(tmp_path: Path, dockerfile: str) -> replay_dockerfile.Stage:
    (tmp_path / "Dockerfile").write_text(dockerfile)
    return replay_dockerfile.replay(tmp_path / "Dockerfile", tmp_path, tmp_path / "stages", tmp_path / "image")


def test_user_volume_and_owner_are_read_from_the_final_stage(tmp_path):
    image = replayed(tmp_path, "FROM python:3.12-slim AS build\nFROM python:3.12-slim\n" + GOOD_TAIL)
    assert image.root == tmp_path / "image"
    assert (image.user, image.users, image.volumes, image.owners) == ("app", {"app": 10001}, ["/data"],
                                                                      {"/data": "app"})
    assert (tmp_path / "image/data").is_dir()
    # Only what the replay cannot know without an install is left.
    assert replay_dockerfile.check_image(image) == [
        "fxhelp-bot is not installed in the image's Python", "ENTRYPOINT [] is not a program of the image"]


@pytest.mark.parametrize(("tail", "problem"), [
    (GOOD_TAIL.replace("USER app", "USER root"), "USER root: runs as root"),
    (GOOD_TAIL.replace("USER app", "USER nobody2"), "USER nobody2: no such user is created in the final stage"),
    (GOOD_TAIL.replace('VOLUME ["/data"]', 'VOLUME ["/config"]'), "/data is not a VOLUME (volumes: ['/config'])"),
    (GOOD_TAIL.replace(" && chown app /data", ""), "/data is not owned by app, so the bot cannot write its "
                                                   "database there"),
])
def test_what_the_image_must_not_be_is_named(tmp_path, tail, problem):
    assert problem in replay_dockerfile.check_image(replayed(tmp_path, "FROM python:3.12-slim\n" + tail))


def test_copying_the_source_into_the_final_stage_is_refused_and_dockerignore_applies(tmp_path):
    (tmp_path / "bot/__pycache__").mkdir(parents=True)
    (tmp_path / "bot/app.py").write_text("")
    (tmp_path / "bot/__pycache__/app.pyc").write_text("")
    (tmp_path / "data").mkdir()
    (tmp_path / ".dockerignore").write_text("**/__pycache__\ndata\n")
    image = replayed(tmp_path, "FROM python:3.12-slim\nWORKDIR /src\nCOPY bot ./bot\n" + GOOD_TAIL)
    assert (tmp_path / "image/src/bot/app.py").exists()
    assert not (tmp_path / "image/src/bot/__pycache__").exists()
    assert any("copies the source tree in (['bot'])" in problem for problem in replay_dockerfile.check_image(image))


@pytest.mark.parametrize(("line", "refusal"), [
    ("RUN apt-get install -y curl", "does not know the command 'apt-get'"),
    ("RUN mkdir -p /x; rm -rf /x", "joined by && only"),
    ("ADD https://example.org/x /x", "does not know ADD"),
    ('CMD fxhelp-bot run', "use the exec form"),
    ("COPY ../secret /x", "outside the build context"),
    ("RUN mkdir -p $HOME/x", r"does not expand variables"),
])
def test_steps_it_cannot_replay_faithfully_stop_it(tmp_path, line, refusal):
    with pytest.raises(replay_dockerfile.ReplayError, match=refusal):
        replayed(tmp_path, f"FROM python:3.12-slim\n{line}\n")


def test_dockerignore_patterns_are_relative_to_the_context():
    rules = [(False, "data"), (False, "**/__pycache__"), (False, "*.egg-info"), (True, "data/keep.yaml")]
    assert replay_dockerfile.ignored("data/fxhelp.db", rules)
    assert not replay_dockerfile.ignored("data/keep.yaml", rules)
    assert not replay_dockerfile.ignored("bot/features/drafts/check_words.yaml", rules)
    assert replay_dockerfile.ignored("bot/storage/__pycache__/x.pyc", rules)
    assert replay_dockerfile.ignored("fxhelp_bot.egg-info/PKG-INFO", rules)
