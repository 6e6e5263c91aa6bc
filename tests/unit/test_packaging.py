"""The wheel holds everything the bot reads at run time, and finds it there, not in the source tree.

The wheel is built as pip builds it, from a clean copy of the project (a stale build/ folder in a
working tree can carry deleted files into a wheel). tests/e2e/test_installed.py installs it and
runs it; here its file list and metadata are read, and the package is imported from the unpacked
wheel alone.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

from bot.features.replies.library import ReplyLibrary

PROJECT = Path(__file__).resolve().parents[2]
# Folders of the working tree that are not the project's source (at the top only: bot/data is source).
NOT_SOURCE_TOP = {".git", ".venv", ".wheel", "build", "dist", "demo", "data", ".pytest_cache", ".hypothesis"}
RUNTIME_SUFFIXES = {".py", ".sql", ".yaml", ".html"}


def not_source(folder: str, names: list[str]) -> list[str]:
    top = Path(folder) == PROJECT
    return [name for name in names if name == "__pycache__" or name.endswith(".egg-info")
            or (top and name in NOT_SOURCE_TOP)]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("wheel")
    source = folder / "source"
    shutil.copytree(PROJECT, source, ignore=not_source)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(folder / "dist"),
                    str(source)], check=True, cwd=folder)
    (built,) = (folder / "dist").glob("fxhelp_bot-*.whl")
    return built


@pytest.fixture(scope="module")
def names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


def runtime_files(top: str) -> set[str]:
    folder = PROJECT / top
    return {path.relative_to(folder).as_posix() for path in folder.rglob("*")
            if path.suffix in RUNTIME_SUFFIXES and "__pycache__" not in path.parts}


def test_every_module_and_data_file_of_the_packages_is_in_the_wheel(names):
    expected = {f"{top}/{name}" for top in ("bot", "commands") for name in runtime_files(top)}
    assert "bot/storage/migrations/0001_foundation.sql" in expected
    assert not expected - names, f"missing from the wheel: {sorted(expected - names)}"


def test_the_whole_reply_library_ships_inside_the_package(names):
    library = runtime_files("replies")
    assert {"basics.yaml", "ui-strings/glossary.yaml", "ui-strings/products.yaml"} <= library
    missing = {f"bot/shipped_replies/{name}" for name in library} - names
    assert not missing, f"missing from the wheel: {sorted(missing)}"


def test_nothing_but_the_packages(names):
    tops = {name.split("/")[0] for name in names}
    assert tops == {"bot", "commands", next(top for top in tops if top.endswith(".dist-info"))}, tops
    assert not [name for name in names if "__pycache__" in name or name.endswith(".pyc")]


def test_console_script_and_lower_bounds(wheel, names):
    with zipfile.ZipFile(wheel) as archive:
        info = next(name.split("/")[0] for name in names if name.endswith(".dist-info/METADATA"))
        entry_points = archive.read(f"{info}/entry_points.txt").decode()
        metadata = Parser().parsestr(archive.read(f"{info}/METADATA").decode())
    assert "fxhelp-bot = bot.cli:main" in entry_points
    requirements = metadata.get_all("Requires-Dist")
    assert any(requirement.startswith("matrix-nio") for requirement in requirements)
    unbounded = [requirement for requirement in requirements if ">=" not in requirement.split(";")[0]]
    assert not unbounded, f"dependencies without a lower bound: {unbounded}"


def test_the_unpacked_wheel_alone_finds_its_library_and_migrations(wheel, tmp_path):
    unpacked = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(unpacked)
    # -P: the current folder is not on sys.path; PYTHONPATH puts the unpacked wheel before the
    # editable install of the source tree (its finder comes after the path-based one).
    probe = ("import json, bot, bot.config, bot.features.replies.library as r, bot.storage.database as d; "
             "path = bot.config.shipped_replies_path(); "
             "print(json.dumps([bot.__file__, str(path), len(r.ReplyLibrary.load(path)), "
             "[m.version for m in d.shipped_migrations()]]))")
    result = subprocess.run([sys.executable, "-P", "-c", probe], cwd=tmp_path, capture_output=True, text=True,
                            env={"PYTHONPATH": str(unpacked), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    package, library, replies, migrations = json.loads(result.stdout)
    assert Path(package) == unpacked / "bot/__init__.py"
    assert Path(library) == unpacked / "bot/shipped_replies"
    assert replies == len(ReplyLibrary.load(PROJECT / "replies"))
    assert len(migrations) == len(list((PROJECT / "bot/storage/migrations").glob("*.sql")))
