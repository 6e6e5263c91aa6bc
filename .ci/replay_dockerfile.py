"""Replay the Dockerfile where no Docker engine runs, and start what it makes.

It parses the Dockerfile (dockerfile-parse) and replays each stage in a folder of its own that
stands for the stage's root filesystem: the ``python`` base image is a fresh virtual environment at
``<root>/usr/local`` (where the official image keeps its Python), COPY copies from the build context
(minus .dockerignore) or from an earlier stage, RUN runs each ``&&``-joined command with absolute
paths moved under the stage's root, ENV, WORKDIR and USER apply as in Docker. Only the commands this
Dockerfile uses are known (pip, python, useradd, mkdir, chown, rm): anything else stops the replay
with the line to teach it, so the Dockerfile cannot quietly grow a step that CI does not prove.

Then, on the final stage, it checks what the issue asks of the image (it runs as a non-root user
created in it, /data is a VOLUME that user owns, no source tree is copied in, the bot is installed
from a wheel, not editable), and runs the image's ENTRYPOINT as ``docker run`` would: check-config
with a sample /config/config.yaml, then the CMD against a real Synapse on loopback, until the
HEALTHCHECK passes and the bot answers ``!ping``; then SIGTERM, and a clean exit.

Two differences from a real build, both deliberate: the host's Python stands in for the image's
(the base image's tag is reported), and PIP_NO_CACHE_DIR is not applied (it only keeps the image
small; pip's cache keeps CI fast). The container's port 9108 becomes a free loopback port, as
``docker run -p`` would map it.

Usage: python .ci/replay_dockerfile.py [--image .wheel/image]   (run from the project's venv)
The image's console script is then <image>/usr/local/bin/fxhelp-bot; `make test` runs the
end-to-end tier against it.
"""

from __future__ import annotations

import argparse
import asyncio
import fnmatch
import glob
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from dockerfile_parse import DockerfileParser

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

from bot.demo.local_synapse import LocalSynapse, free_port  # noqa: E402
from tests.e2e.harness import PASSWORD, ChatUser, create_room  # noqa: E402

# Image ENV that changes only the image's size, not what is installed (see the module docstring).
NOT_REPLAYED_ENV = {"PIP_NO_CACHE_DIR"}
# Host variables that would point the stage's Python somewhere else.
HOST_ONLY_ENV = {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PIP_REQUIRE_VIRTUALENV"}


class ReplayError(RuntimeError):
    pass


@dataclass
class Stage:
    name: str
    root: Path
    base: str
    env: dict[str, str] = field(default_factory=dict)
    workdir: str = "/"
    user: str = "root"
    users: dict[str, int] = field(default_factory=dict)
    owners: dict[str, str] = field(default_factory=dict)
    volumes: list[str] = field(default_factory=list)
    exposed: list[int] = field(default_factory=list)
    healthcheck: str | None = None
    entrypoint: list[str] = field(default_factory=list)
    cmd: list[str] = field(default_factory=list)
    copied_from_context: list[str] = field(default_factory=list)

    def path(self, inside: str) -> Path:
        """A path of the stage's filesystem, as a path on this machine."""
        absolute = os.path.normpath(os.path.join(self.workdir, inside))
        return self.root / absolute.lstrip("/")

    def environ(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if key not in HOST_ONLY_ENV}
        env.update({key: value for key, value in self.env.items() if key not in NOT_REPLAYED_ENV})
        env["PATH"] = f"{self.root / 'usr/local/bin'}{os.pathsep}{os.environ.get('PATH', '')}"
        return env


# ---- reading the Dockerfile -------------------------------------------------------------

def instructions(dockerfile: Path) -> list[dict]:
    parser = DockerfileParser(fileobj=dockerfile.open("rb"))
    return [item for item in parser.structure if item["instruction"] != "COMMENT"]


def exec_form(value: str, where: str) -> list[str]:
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError:
        parsed = None
    if not isinstance(parsed, list) or not all(isinstance(part, str) for part in parsed):
        raise ReplayError(f"{where}: use the exec form ([\"…\"]) so the replay runs it as Docker does")
    return parsed


def words(value: str) -> list[str]:
    try:
        parsed = json.loads(value)
        if isinstance(parsed, list):
            return [str(part) for part in parsed]
    except json.JSONDecodeError:
        pass
    return shlex.split(value)


def env_pairs(value: str) -> dict[str, str]:
    parts = shlex.split(value)
    if parts and "=" not in parts[0]:  # the legacy form: ENV KEY value with spaces
        return {parts[0]: " ".join(parts[1:])}
    return dict(part.split("=", 1) for part in parts)


# ---- the build context ------------------------------------------------------------------

def dockerignore(context: Path) -> list[tuple[bool, str]]:
    """(is_exception, pattern) pairs of .dockerignore, in order (the last match wins)."""
    file = context / ".dockerignore"
    rules = []
    for line in file.read_text().splitlines() if file.exists() else []:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        exception = line.startswith("!")
        pattern = os.path.normpath(line.lstrip("!").strip()).lstrip("/")
        rules.append((exception, pattern))
    return rules


def ignored(relative: str, rules: list[tuple[bool, str]]) -> bool:
    """Docker's rule: a pattern matches the path or one of its parents; ``**`` spans folders."""
    parts = relative.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    verdict = False
    for exception, pattern in rules:
        patterns = {pattern, pattern.replace("**/", "")}
        if any(fnmatch.fnmatchcase(candidate, p) for candidate in candidates for p in patterns):
            verdict = not exception
    return verdict


# ---- replaying ----------------------------------------------------------------------------

def replay(dockerfile: Path, context: Path, scratch: Path, image: Path) -> Stage:
    stages: dict[str, Stage] = {}
    stage: Stage | None = None
    rules = dockerignore(context)
    steps = instructions(dockerfile)
    # The final stage is the image, built where the caller wants it (a venv cannot be moved later).
    final_from = max((i for i, item in enumerate(steps) if item["instruction"] == "FROM"), default=-1)
    for index, item in enumerate(steps):
        kind, value = item["instruction"], item["value"]
        where = f"{dockerfile.name}:{item['startline'] + 1} {kind}"
        if kind == "FROM":
            parts = value.split()
            name = parts[2] if len(parts) == 3 and parts[1].upper() == "AS" else str(len(stages))
            stage = Stage(name, image if index == final_from else scratch / f"stage-{name}", parts[0])
            stages[name] = stage
            start_base_image(stage, where)
            continue
        if stage is None:
            if kind == "ARG":
                continue
            raise ReplayError(f"{where}: before any FROM")
        if "$" in value and kind in ("ENV", "WORKDIR", "USER", "COPY", "RUN", "VOLUME", "ENTRYPOINT", "CMD"):
            raise ReplayError(f"{where}: the replay does not expand variables ($); write the value out")
        if kind == "ENV":
            stage.env.update(env_pairs(value))
        elif kind == "WORKDIR":
            stage.workdir = os.path.normpath(os.path.join(stage.workdir, value))
            stage.path(".").mkdir(parents=True, exist_ok=True)
        elif kind == "USER":
            stage.user = value.strip()
        elif kind == "COPY":
            copy(stage, stages, value, context, rules, where)
        elif kind == "RUN":
            run(stage, value, where)
        elif kind == "VOLUME":
            stage.volumes.extend(words(value))
        elif kind == "EXPOSE":
            stage.exposed.extend(int(port.split("/")[0]) for port in value.split())
        elif kind == "HEALTHCHECK":
            _options, _, command = value.partition("CMD ")
            stage.healthcheck = command.strip() or None
        elif kind == "ENTRYPOINT":
            stage.entrypoint = exec_form(value, where)
        elif kind == "CMD":
            stage.cmd = exec_form(value, where)
        elif kind in ("LABEL", "ARG"):
            continue
        else:
            raise ReplayError(f"{where}: the replay does not know {kind}; teach .ci/replay_dockerfile.py")
        print(f"  {where} {value[:90]}")
    if stage is None:
        raise ReplayError(f"{dockerfile}: no FROM")
    return stage


def start_base_image(stage: Stage, where: str) -> None:
    if not stage.base.startswith("python:"):
        raise ReplayError(f"{where}: the replay stands in only for the python image, not {stage.base}")
    if stage.root.exists():
        shutil.rmtree(stage.root)
    stage.root.mkdir(parents=True)
    # The official python image: Python under /usr/local, pip on PATH, root, / as workdir. Its pip
    # is put in when a step first uses it (see run), which keeps replays without pip quick.
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(stage.root / "usr/local")], check=True)
    print(f"{where} {stage.base}: a fresh venv at {stage.root / 'usr/local'} (Python {sys.version.split()[0]})")


def copy(stage: Stage, stages: dict[str, Stage], value: str, context: Path, rules, where: str) -> None:
    parts = words(value)
    flags = [part for part in parts if part.startswith("--")]
    sources, dest = [part for part in parts if not part.startswith("--")][:-1], parts[-1]
    source_stage = None
    for flag in flags:
        name, _, setting = flag[2:].partition("=")
        if name == "from":
            if setting not in stages:
                raise ReplayError(f"{where}: --from={setting} is not an earlier stage")
            source_stage = stages[setting]
        elif name == "chown":
            stage.owners[os.path.normpath(os.path.join(stage.workdir, dest))] = setting.split(":")[0]
        elif name != "chmod":
            raise ReplayError(f"{where}: the replay does not know COPY {flag}")
    found: list[Path] = []
    for source in sources:
        if source_stage is not None:
            matches = sorted(glob.glob(str(source_stage.root / source.lstrip("/"))))
        else:
            if os.path.isabs(source) or ".." in Path(source).parts:
                raise ReplayError(f"{where}: {source} is outside the build context")
            matches = [m for m in sorted(glob.glob(str(context / source)))
                       if not ignored(os.path.relpath(m, context), rules)]
            stage.copied_from_context.append(source)
        if not matches:
            raise ReplayError(f"{where}: {source} not found")
        found.extend(Path(m) for m in matches)
    target = stage.path(dest)
    into_folder = dest.endswith("/") or len(found) > 1

    def leave_out(folder: str, names: list[str]) -> list[str]:
        if source_stage is not None:
            return []
        return [name for name in names if ignored(os.path.relpath(os.path.join(folder, name), context), rules)]

    for path in found:
        if path.is_dir():  # Docker copies a folder's contents, not the folder itself
            shutil.copytree(path, target, dirs_exist_ok=True, ignore=leave_out)
        else:
            destination = target / path.name if into_folder else target
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, destination)


def run(stage: Stage, value: str, where: str) -> None:
    lexer = shlex.shlex(value, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    commands: list[list[str]] = [[]]
    for token in lexer:
        if token == "&&":
            commands.append([])
        elif token and set(token) <= set(lexer.punctuation_chars):
            raise ReplayError(f"{where}: the replay runs commands joined by && only, not {token!r}")
        else:
            commands[-1].append(token)
    for argv in commands:
        if not argv:
            raise ReplayError(f"{where}: an empty command")
        name = argv[0]
        if name in ("pip", "pip3", "python", "python3"):
            if not (stage.root / "usr/local/bin/pip").exists():
                subprocess.run([str(stage.root / "usr/local/bin/python"), "-m", "ensurepip", "--default-pip"],
                               check=True, capture_output=True)
            argv = [str(stage.root / "usr/local/bin" / name), *expand(stage, argv[1:])]
            started = time.monotonic()
            done = subprocess.run(argv, cwd=stage.path("."), env=stage.environ(), capture_output=True, text=True)
            print(f"    $ {shlex.join(argv)}: exit {done.returncode} in {time.monotonic() - started:.1f} s")
            if done.returncode != 0:
                raise ReplayError(f"{where}: {name} failed:\n{done.stdout[-4000:]}{done.stderr[-4000:]}")
        elif name == "useradd":
            useradd(stage, argv[1:], where)
        elif name == "mkdir":
            for folder in [arg for arg in argv[1:] if not arg.startswith("-")]:
                stage.path(folder).mkdir(parents=True, exist_ok="-p" in argv)
        elif name == "chown":
            owner, *paths = [arg for arg in argv[1:] if not arg.startswith("-")]
            user = owner.split(":")[0]
            if user not in stage.users and user != "root" and not user.isdigit():
                raise ReplayError(f"{where}: chown to {user}, who does not exist in the image")
            for path in paths:
                stage.owners[os.path.normpath(os.path.join(stage.workdir, path))] = user
        elif name == "rm":
            for path in [arg for arg in argv[1:] if not arg.startswith("-")]:
                for match in glob.glob(str(stage.path(path))):
                    (shutil.rmtree if os.path.isdir(match) else os.remove)(match)
        else:
            raise ReplayError(f"{where}: the replay does not know the command {name!r}; "
                              "teach .ci/replay_dockerfile.py")


def expand(stage: Stage, args: list[str]) -> list[str]:
    """Absolute paths moved under the stage's root; globs expanded as the shell would."""
    expanded: list[str] = []
    for arg in args:
        option, equals, rest = arg.partition("=")
        if arg.startswith("/"):
            arg = str(stage.path(arg))
        elif option.startswith("--") and equals and rest.startswith("/"):
            arg = f"{option}={stage.path(rest)}"
        matches = sorted(glob.glob(arg)) if any(ch in arg for ch in "*?[") else []
        expanded.extend(matches or [arg])
    return expanded


def useradd(stage: Stage, args: list[str], where: str) -> None:
    parser = argparse.ArgumentParser(prog="useradd", add_help=False, exit_on_error=False)
    parser.add_argument("-r", "--system", action="store_true")
    parser.add_argument("-u", "--uid", type=int)
    parser.add_argument("-d", "--home-dir")
    parser.add_argument("-s", "--shell")
    parser.add_argument("-m", "--create-home", action="store_true")
    parser.add_argument("-M", "--no-create-home", action="store_true")
    parser.add_argument("-g", "--gid")
    parser.add_argument("name")
    try:
        options = parser.parse_args(args)
    except (argparse.ArgumentError, SystemExit) as error:
        raise ReplayError(f"{where}: useradd {shlex.join(args)}: {error}") from None
    # Without --uid, useradd picks a free one (never 0): 999 and down for --system, 1000 and up otherwise.
    stage.users[options.name] = options.uid if options.uid is not None else (999 if options.system else 1000)
    if options.create_home and options.home_dir:
        stage.path(options.home_dir).mkdir(parents=True, exist_ok=True)


# ---- what the image must be ---------------------------------------------------------------

def check_image(image: Stage) -> list[str]:
    problems = []
    user = image.user.split(":")[0]
    uid = int(user) if user.isdigit() else 0 if user == "root" else image.users.get(user)
    if uid is None:
        problems.append(f"USER {image.user}: no such user is created in the final stage")
    elif uid == 0:
        problems.append(f"USER {image.user}: runs as root")
    if "/data" not in image.volumes:
        problems.append(f"/data is not a VOLUME (volumes: {image.volumes})")
    if image.owners.get("/data") not in (user, str(uid)):
        problems.append(f"/data is not owned by {user}, so the bot cannot write its database there")
    if image.copied_from_context:
        problems.append(f"the final stage copies the source tree in ({image.copied_from_context}); "
                        "it must install only the wheel built in an earlier stage")
    site = glob.glob(str(image.root / "usr/local/lib/python*/site-packages"))
    installed = glob.glob(os.path.join(site[0], "fxhelp_bot-*.dist-info")) if site else []
    if not installed:
        problems.append("fxhelp-bot is not installed in the image's Python")
    else:
        direct = Path(installed[0]) / "direct_url.json"
        if direct.exists() and json.loads(direct.read_text()).get("dir_info", {}).get("editable"):
            problems.append("fxhelp-bot is an editable install (pip install -e), not the wheel")
    if not image.entrypoint or not (image.root / "usr/local/bin" / image.entrypoint[0]).exists():
        problems.append(f"ENTRYPOINT {image.entrypoint} is not a program of the image")
    return problems


# ---- docker run ---------------------------------------------------------------------------

def container_argv(image: Stage, args: list[str]) -> list[str]:
    program = str(image.root / "usr/local/bin" / image.entrypoint[0])
    return [program, *image.entrypoint[1:], *expand(image, args)]


def sample_config(image: Stage, synapse: LocalSynapse, rooms: tuple[str, str], port: int) -> dict:
    """What an operator puts in /config/config.yaml, with the container's paths under the image root."""
    return {
        "matrix": {"homeserver": synapse.url, "user_id": "@fxhelpbot:localhost", "password": PASSWORD,
                   "device_name": "fxhelp-bot (Docker replay)"},
        "rooms": {"contributors": rooms[0], "moderators": rooms[1]},
        "moderators": {"users": ["@operator:localhost"]},
        "storage": {"path": str(image.path("/data/fxhelp.db"))},
        "http": {"listen": f"127.0.0.1:{port}"},
    }


async def run_container(image: Stage, scratch: Path) -> None:
    config_file = image.path("/config/config.yaml")
    port = free_port()
    synapse = LocalSynapse(scratch / "synapse")
    await synapse.start()
    operator = ChatUser(synapse, "operator")
    process = None
    try:
        await synapse.register("fxhelpbot", PASSWORD)
        await operator.start()
        rooms = (await create_room(operator, "contributors", []), await create_room(operator, "moderators", []))
        for room in rooms:
            await operator.client.room_invite(room, "@fxhelpbot:localhost")
        config_file.parent.mkdir(parents=True, exist_ok=True)
        config_file.write_text(yaml.safe_dump(sample_config(image, synapse, rooms, port)))

        check = subprocess.run(container_argv(image, ["check-config", "--config", "/config/config.yaml"]),
                               cwd=image.path("."), env=image.environ(), capture_output=True, text=True)
        print(f"check-config: exit {check.returncode}: {(check.stdout + check.stderr).strip()}")
        if check.returncode != 0:
            raise ReplayError("check-config refused the sample config")

        log_path = scratch / "container.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(container_argv(image, image.cmd), cwd=image.path("."), env=image.environ(),
                                       stdout=log, stderr=log)
        await healthy(image, process, port, log_path)
        answer = await operator.ask(rooms[0], "!ping", timeout=30)
        print(f"!ping answered: {answer['content']['body']!r}")
        process.send_signal(signal.SIGTERM)
        code = process.wait(30)
        print(f"SIGTERM: exit {code}")
        if code != 0:
            raise ReplayError(f"the bot exited with {code} on SIGTERM:\n{log_path.read_text()[-3000:]}")
    finally:
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()
        await operator.close()
        synapse.stop()


async def healthy(image: Stage, process: subprocess.Popen, port: int, log_path: Path, timeout: float = 60) -> None:
    """The image's own HEALTHCHECK, with the container's exposed port mapped to the replay's."""
    if image.healthcheck is None:
        raise ReplayError("the image has no HEALTHCHECK")
    command = image.healthcheck
    for exposed in image.exposed:
        command = command.replace(f":{exposed}", f":{port}")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ReplayError(f"the bot exited with {process.returncode}:\n{log_path.read_text()[-3000:]}")
        probe = subprocess.run(["/bin/sh", "-c", command], env=image.environ(), capture_output=True)
        if probe.returncode == 0:
            print("HEALTHCHECK: healthy")
            return
        await asyncio.sleep(0.5)
    raise ReplayError(f"HEALTHCHECK did not pass in {timeout} s:\n{log_path.read_text()[-3000:]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dockerfile", type=Path, default=PROJECT / "Dockerfile")
    parser.add_argument("--context", type=Path, default=PROJECT, help="the build context (default: the project)")
    parser.add_argument("--image", type=Path, default=PROJECT / ".wheel/image",
                        help="where the final stage's root filesystem is left (default: .wheel/image)")
    args = parser.parse_args()
    image_root = args.image.resolve()
    scratch = image_root.parent / f"{image_root.name}.stages"
    if scratch.exists():
        shutil.rmtree(scratch)
    scratch.mkdir(parents=True)
    started = time.monotonic()
    try:
        image = replay(args.dockerfile.resolve(), args.context.resolve(), scratch, image_root)
        problems = check_image(image)
        if problems:
            raise ReplayError("the image is not what it must be:\n  - " + "\n  - ".join(problems))
        print(f"image: USER {image.user} (uid {image.users.get(image.user, image.user)}), VOLUME {image.volumes}, "
              f"ENTRYPOINT {image.entrypoint} CMD {image.cmd}")
        asyncio.run(run_container(image, scratch))
    except ReplayError as error:
        print(f"replay_dockerfile: {error}", file=sys.stderr)
        return 1
    print(f"replay_dockerfile: OK in {time.monotonic() - started:.0f} s; the image's bot: "
          f"{image_root / 'usr/local/bin' / image.entrypoint[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
