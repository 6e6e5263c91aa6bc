"""Typed configuration: the YAML file is both documentation and a gate.

Every key is declared here; unknown keys are refused as likely typos, values left as the example's
placeholders are refused, secrets may come from the environment, and every error names its key.
"""

from __future__ import annotations

import os
import re
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

from bot.clock import format_duration, parse_duration
from bot.text import word_entry_problem

PLACEHOLDER = "CHANGE_ME"

SECRET_ENVIRONMENT = {
    ("matrix", "password"): "FXHELP_MATRIX_PASSWORD",
    ("matrix", "access_token"): "FXHELP_MATRIX_ACCESS_TOKEN",
    ("shortener", "bitly_token"): "FXHELP_BITLY_TOKEN",
    ("forum", "api_key"): "FXHELP_FORUM_API_KEY",
}

_USER_ID = re.compile(r"^@[a-z0-9._=\-/+]+:[A-Za-z0-9.\-]+(:\d+)?$")
# Room IDs from room version 12 on have no server part (``!<hash>``); aliases always do.
_ROOM = re.compile(r"^(![^\s:]+(:[A-Za-z0-9.\-]+(:\d+)?)?|#[^\s:]+:[A-Za-z0-9.\-]+(:\d+)?)$")
_HOST_PORT = re.compile(r"^(?P<host>[A-Za-z0-9.\-]+|\[[0-9a-fA-F:]+\]):(?P<port>\d{1,5})$")


class ConfigError(Exception):
    """The configuration cannot be used; ``problems`` are lines of ``key: what is wrong``."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def _duration(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool) or not isinstance(value, str):
        raise ValueError("write a duration as a number and a unit, like 72h, 30m or 10s")
    duration = parse_duration(value)
    if duration.total_seconds() <= 0:
        raise ValueError("must be longer than zero")
    return duration


Duration = Annotated[timedelta, BeforeValidator(_duration)]

MAX_EDIT_WINDOW = timedelta(days=1)


def _user_id(value: str) -> str:
    if not _USER_ID.match(value):
        raise ValueError(f"{value!r} is not a Matrix user ID (like @name:example.org)")
    return value


def _room(value: str) -> str:
    if not _ROOM.match(value):
        raise ValueError(f"{value!r} is not a room ID (!abc:server) or alias (#name:server)")
    return value


UserId = Annotated[str, BeforeValidator(_user_id)]
RoomRef = Annotated[str, BeforeValidator(_room)]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MatrixConfig(Section):
    homeserver: str
    user_id: UserId
    password: SecretStr | None = None
    access_token: SecretStr | None = None
    device_name: str = "fxhelp-bot"

    @field_validator("homeserver")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^\s/]+", value):
            raise ValueError("must be the homeserver's http(s) URL, like https://matrix.example.org")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _one_credential(self) -> MatrixConfig:
        if self.password is None and self.access_token is None:
            raise ValueError(
                "give matrix.password or matrix.access_token (or FXHELP_MATRIX_PASSWORD / "
                "FXHELP_MATRIX_ACCESS_TOKEN in the environment)"
            )
        return self


class RoomsConfig(Section):
    contributors: RoomRef
    moderators: RoomRef


class ModeratorsConfig(Section):
    users: list[UserId] = []
    min_power_level: int = 50
    ping: list[UserId] = []


class StorageConfig(Section):
    path: Path = Path("data/fxhelp.db")


class CommandsConfig(Section):
    prefix: str = Field("!", min_length=1, max_length=3)
    # An edit of a command within this time after the command re-runs it; later edits are ignored.
    edit_window: Duration = timedelta(hours=1)

    @field_validator("edit_window")
    @classmethod
    def _edit_window_inside_memory(cls, value: timedelta) -> timedelta:
        # The bot forgets handled commands after 7 days (bot/retention.py); an edit inside the window of
        # a command it had forgotten would run that command a second time.
        if value > MAX_EDIT_WINDOW:
            raise ValueError(f"must be at most {format_duration(MAX_EDIT_WINDOW)}: older commands are forgotten")
        return value

    @field_validator("prefix")
    @classmethod
    def _no_space(cls, value: str) -> str:
        if any(ch.isspace() for ch in value):
            raise ValueError("must not contain spaces")
        return value


class RepliesConfig(Section):
    path: Path | None = None
    default_locale: Literal["en-US", "es", "de", "fr"] = "en-US"


class CheckConfig(Section):
    """Entries added to the shipped lists of bot/features/drafts/check_words.yaml (never replacing them)."""

    political: list[str] | None = None
    profanity: list[str] | None = None

    @field_validator("political", "profanity")
    @classmethod
    def _entries_can_be_matched(cls, entries: list[str] | None) -> list[str] | None:
        for entry in entries or ():
            if (problem := word_entry_problem(entry)) is not None:
                raise ValueError(problem)
        return entries


class ShortenerConfig(Section):
    bitly_token: SecretStr | None = None
    api_url: str = "https://api-ssl.bitly.com"
    domain: str = "mzl.la"
    group_guid: str | None = None
    allowed_hosts: list[str] | None = None


class ConsultsConfig(Section):
    window: Duration = timedelta(hours=72)
    remind_after: Duration = timedelta(hours=48)

    @model_validator(mode="after")
    def _reminder_inside_window(self) -> ConsultsConfig:
        if self.remind_after >= self.window:
            raise ValueError("remind_after must be shorter than window")
        return self


class EscalationsConfig(Section):
    reping_after: Duration = timedelta(hours=4)


class SumoConfig(Section):
    api_url: str = "https://support.mozilla.org"
    # Where SUMO's operators can reach whoever runs this bot: sent in the User-Agent of every request.
    contact: str | None = None
    product: str = "firefox"
    locales: list[str] = ["en-US"]
    poll: Duration = timedelta(minutes=5)
    window: Duration = timedelta(hours=72)
    remind_after: Duration = timedelta(hours=48)

    @field_validator("contact")
    @classmethod
    def _contact_fits_a_header(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        if not value or len(value) > 200 or any(ord(c) < 32 or ord(c) > 126 for c in value):
            raise ValueError("must be a URL or an e-mail address (printable ASCII, at most 200 characters), "
                             "like https://wiki.example.org/fxhelp-bot or mailto:team@example.org")
        return value

    @model_validator(mode="after")
    def _reminder_inside_window(self) -> SumoConfig:
        if self.remind_after >= self.window:
            raise ValueError("remind_after must be shorter than window")
        return self


class ForumConfig(Section):
    kind: Literal["discourse"] = "discourse"
    base_url: str
    api_key: SecretStr
    api_username: str
    category_id: int
    poll: Duration = timedelta(minutes=5)


class DigestConfig(Section):
    day: Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"] = "monday"
    hour: int = Field(9, ge=0, le=23)
    enabled: bool = True


class SchedulerConfig(Section):
    tick: Duration = timedelta(seconds=30)


class HttpConfig(Section):
    listen: str | None = "127.0.0.1:9108"
    # Where people reach the endpoint (behind a proxy: its https address); the sign-in links of
    # !dashboard start with it. Default: http://<listen>.
    public_url: str | None = None
    dashboard_weeks: int = Field(12, ge=1, le=104)

    @field_validator("public_url")
    @classmethod
    def _public_http_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^/\s]+(/\S*)?$", value):
            raise ValueError("must be an http:// or https:// URL, like https://fxhelp.example.org")
        return value.rstrip("/") if value is not None else None

    def dashboard_url(self) -> str | None:
        """The public address of the endpoint, or None when it is off."""
        if self.listen is None:
            return None
        return self.public_url or f"http://{self.listen}"

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str | None) -> str | None:
        if value is not None and not _HOST_PORT.match(value):
            raise ValueError("must be host:port, like 127.0.0.1:9108 (or null to switch it off)")
        return value

    def host_and_port(self) -> tuple[str, int] | None:
        if self.listen is None:
            return None
        host, _, port = self.listen.rpartition(":")
        return host.strip("[]"), int(port)


class LogConfig(Section):
    level: Literal["debug", "info", "warning", "error"] = "info"


class Config(Section):
    matrix: MatrixConfig
    rooms: RoomsConfig
    moderators: ModeratorsConfig = ModeratorsConfig()
    storage: StorageConfig = StorageConfig()
    commands: CommandsConfig = CommandsConfig()
    replies: RepliesConfig = RepliesConfig()
    check: CheckConfig = CheckConfig()
    shortener: ShortenerConfig | None = None
    consults: ConsultsConfig = ConsultsConfig()
    escalations: EscalationsConfig = EscalationsConfig()
    sumo: SumoConfig | None = None
    forum: ForumConfig | None = None
    digest: DigestConfig = DigestConfig()
    scheduler: SchedulerConfig = SchedulerConfig()
    http: HttpConfig = HttpConfig()
    log: LogConfig = LogConfig()

    @model_validator(mode="before")
    @classmethod
    def _empty_sections_take_defaults(cls, data: Any) -> Any:
        """``check:`` with only comments under it is an empty section, not a missing one."""
        if not isinstance(data, dict):
            return data
        optional = {"shortener", "sumo", "forum"}
        return {key: ({} if value is None and key not in optional else value) for key, value in data.items()}


def load_config(path: Path, environ: dict[str, str] | None = None) -> Config:
    """Read, complete from the environment, and validate; raises ConfigError naming each key."""
    environ = dict(os.environ) if environ is None else environ
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError([f"{path}: no such file"]) from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError([f"{path}: cannot be read ({error})"]) from None
    except yaml.YAMLError as error:
        raise ConfigError([f"{path}: not valid YAML: {_yaml_problem(error)}"]) from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError([f"{path}: the top level must be a mapping of sections (matrix:, rooms:, ...)"])
    return config_from_mapping(raw, base_dir=path.resolve().parent, environ=environ)


def _yaml_problem(error: yaml.YAMLError) -> str:
    """What PyYAML found and where, without its snippet of the line: that line may hold a secret."""
    if isinstance(error, yaml.MarkedYAMLError) and error.problem_mark is not None:
        mark = error.problem_mark
        return f"{error.problem or 'syntax error'} at line {mark.line + 1}, column {mark.column + 1}"
    return type(error).__name__


def config_from_mapping(raw: dict[str, Any], base_dir: Path, environ: dict[str, str]) -> Config:
    raw = _with_secrets_from_environment(raw, environ)
    placeholders = _placeholders(raw)
    problems = [f"{key}: still the example's placeholder; put the real value" for key in placeholders]
    try:
        config = Config.model_validate(raw)
    except ValidationError as error:
        described = [_describe(e) for e in error.errors()]
        # A placeholder is the one thing to fix there; its format error would only distract.
        problems.extend(p for p in described if p.split(":", 1)[0] not in placeholders)
        config = None
    if problems:
        raise ConfigError(problems)
    assert config is not None
    return _resolve_paths(config, base_dir)


def _with_secrets_from_environment(raw: dict[str, Any], environ: dict[str, str]) -> dict[str, Any]:
    merged = {section: (dict(value) if isinstance(value, dict) else value) for section, value in raw.items()}
    for (section, key), variable in SECRET_ENVIRONMENT.items():
        value = environ.get(variable)
        if not value:
            continue
        if section not in merged or merged[section] is None:
            if section != "matrix":
                continue  # a secret alone does not switch an optional feature on
            merged[section] = {}
        if isinstance(merged[section], dict):
            merged[section][key] = value
    return merged


def _placeholders(value: Any, prefix: str = "") -> list[str]:
    if isinstance(value, dict):
        return [k for key, item in value.items() for k in _placeholders(item, f"{prefix}{key}.")]
    if isinstance(value, list):
        return [k for i, item in enumerate(value) for k in _placeholders(item, f"{prefix}{i}.")]
    if isinstance(value, str) and PLACEHOLDER in value:
        return [prefix.rstrip(".")]
    return []


def _describe(error: dict[str, Any]) -> str:
    location = [str(part) for part in error["loc"] if not str(part).startswith("function-")]
    key = ".".join(location) or "(top level)"
    kind = error["type"]
    if kind == "extra_forbidden":
        return f"{key}: unknown key (a typo?)"
    if kind == "missing":
        return f"{key}: missing (required)"
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{key}: {message}"


def _resolve_paths(config: Config, base_dir: Path) -> Config:
    def resolve(path: Path) -> Path:
        return path if path.is_absolute() else (base_dir / path)

    storage = config.storage.model_copy(update={"path": resolve(config.storage.path)})
    replies = config.replies
    if replies.path is not None:
        replies = replies.model_copy(update={"path": resolve(replies.path)})
    return config.model_copy(update={"storage": storage, "replies": replies})


SHIPPED_REPLIES_PACKAGE = "bot.shipped_replies"


def shipped_replies_path() -> Path:
    """The reply library installed with the bot: package data (replies/ of the source tree, mapped
    to bot.shipped_replies by pyproject.toml), so a wheel, pipx or an editable install all find it."""
    folder = resources.files(SHIPPED_REPLIES_PACKAGE)
    # Installed wheels are always unpacked; the loader reads folders, not a zip's entries.
    if not isinstance(folder, Path):
        raise RuntimeError(f"{SHIPPED_REPLIES_PACKAGE} is not a folder on disk ({folder!r}); install fxhelp-bot unzipped")
    return folder
