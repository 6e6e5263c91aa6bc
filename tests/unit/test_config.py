"""Configuration: typed, every error names its key, typos and placeholders refused."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from bot.config import Config, ConfigError, load_config

PROJECT = Path(__file__).resolve().parents[2]

MINIMAL = {
    "matrix": {"homeserver": "https://matrix.mozilla.org", "user_id": "@fxhelp:mozilla.org", "password": "pw"},
    "rooms": {"contributors": "!abc:mozilla.org", "moderators": "#mods:mozilla.org"},
}


def write(tmp_path: Path, data) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data) if not isinstance(data, str) else data)
    return path


def problems(tmp_path: Path, data, environ=None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, data), environ=environ or {})
    return caught.value.problems


def test_minimal_config_gets_the_documented_defaults(tmp_path):
    config = load_config(write(tmp_path, MINIMAL), environ={})
    assert config.consults.window == timedelta(hours=72)
    assert config.consults.remind_after == timedelta(hours=48)
    assert config.escalations.reping_after == timedelta(hours=4)
    assert config.scheduler.tick == timedelta(seconds=30)
    assert config.commands.prefix == "!"
    assert config.commands.edit_window == timedelta(hours=1)
    assert config.shortener is None and config.sumo is None and config.forum is None
    assert config.storage.path == tmp_path / "data/fxhelp.db"
    assert config.http.host_and_port() == ("127.0.0.1", 9108)


def test_room_version_12_ids_without_a_server_part_are_accepted(tmp_path):
    data = {**MINIMAL, "rooms": {"contributors": "!GkVyuT47sebvSfEPFGchhnf3o3bR9sCcHXr4FzphBkM",
                                 "moderators": "#mods:mozilla.org"}}
    assert load_config(write(tmp_path, data), environ={}).rooms.contributors.startswith("!GkV")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"rooms": None}, "rooms: "),
        ({"matrix": {**MINIMAL["matrix"], "passwrd": "x"}}, "matrix.passwrd: unknown key (a typo?)"),
        ({"consults": {"window": "3 days"}}, "consults.window: '3 days' is not a duration"),
        ({"consults": {"window": "10h", "remind_after": "20h"}}, "consults: remind_after must be shorter than window"),
        ({"matrix": {**MINIMAL["matrix"], "user_id": "fxhelp"}}, "matrix.user_id: 'fxhelp' is not a Matrix user ID"),
        ({"rooms": {"contributors": "general", "moderators": "#m:x.org"}}, "rooms.contributors: 'general' is not a room ID"),
        ({"http": {"listen": "9108"}}, "http.listen: must be host:port"),
        ({"commands": {"edit_window": "soon"}}, "commands.edit_window: 'soon' is not a duration"),
        ({"commands": {"edit_window": "8d"}}, "commands.edit_window: must be at most 1d"),
        ({"log": {"level": "loud"}}, "log.level: "),
        ({"colour": "blue"}, "colour: unknown key (a typo?)"),
        ({"scheduler": {"tick": 30}}, "scheduler.tick: write a duration"),
    ],
)
def test_errors_name_the_key_and_say_what_is_wrong(tmp_path, change, expected):
    data = {**MINIMAL, **change}
    if data.get("rooms") is None:
        data.pop("rooms")
    found = problems(tmp_path, data)
    assert any(p.startswith(expected) for p in found), found


def test_missing_credentials_are_explained(tmp_path):
    data = {**MINIMAL, "matrix": {"homeserver": "https://m.org", "user_id": "@b:m.org"}}
    assert any("FXHELP_MATRIX_PASSWORD" in p for p in problems(tmp_path, data))


def test_secrets_come_from_the_environment(tmp_path):
    data = {**MINIMAL, "matrix": {"homeserver": "https://m.org", "user_id": "@b:m.org"},
            "shortener": {"domain": "mzl.la"}}
    config = load_config(write(tmp_path, data), environ={"FXHELP_MATRIX_PASSWORD": "from-env",
                                                         "FXHELP_BITLY_TOKEN": "bitly-env"})
    assert config.matrix.password.get_secret_value() == "from-env"
    assert config.shortener.bitly_token.get_secret_value() == "bitly-env"


def test_a_secret_alone_does_not_switch_an_optional_feature_on(tmp_path):
    config = load_config(write(tmp_path, MINIMAL), environ={"FXHELP_FORUM_API_KEY": "k"})
    assert config.forum is None


def test_secrets_never_show_in_the_config_repr(tmp_path):
    config = load_config(write(tmp_path, MINIMAL), environ={})
    assert "pw" not in repr(config.matrix.password) and "pw" not in str(config)


def test_the_example_is_refused_only_for_its_placeholders(tmp_path):
    found = problems(tmp_path, (PROJECT / "config.example.yaml").read_text())
    assert found, "the example must not run as it is"
    assert all("placeholder" in p for p in found), found
    assert any(p.startswith("matrix.password:") for p in found)


def test_the_example_documents_every_key():
    example_text = (PROJECT / "config.example.yaml").read_text()

    def keys(model, prefix=""):
        for name, field in model.model_fields.items():
            yield name
            annotation = field.annotation
            for candidate in getattr(annotation, "__args__", (annotation,)):
                if isinstance(candidate, type) and hasattr(candidate, "model_fields"):
                    yield from keys(candidate)

    missing = [key for key in set(keys(Config)) if f"{key}:" not in example_text]
    assert missing == []


def test_broken_yaml_and_missing_files_are_config_errors(tmp_path):
    [broken] = problems(tmp_path, "matrix: [unclosed")
    assert broken.startswith(f"{tmp_path / 'config.yaml'}: not valid YAML: "), broken
    assert "line 1" in broken, broken
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "absent.yaml", environ={})
    assert "top level must be a mapping" in problems(tmp_path, "- a\n- b\n")[0]


def test_sumo_contact_is_sent_to_sumo_and_must_fit_a_header(tmp_path):
    with_contact = {**MINIMAL, "sumo": {"contact": "https://wiki.example.org/fxhelp-bot"}}
    assert load_config(write(tmp_path, with_contact), environ={}).sumo.contact == \
        "https://wiki.example.org/fxhelp-bot"
    assert load_config(write(tmp_path, {**MINIMAL, "sumo": {}}), environ={}).sumo.contact is None

    for bad in ("", "line\r\nX-Injected: yes", "x" * 201, "café@example.org"):
        [problem] = problems(tmp_path, {**MINIMAL, "sumo": {"contact": bad}})
        assert problem.startswith("sumo.contact: must be a URL or an e-mail address"), problem
    [placeholder] = problems(tmp_path, {**MINIMAL, "sumo": {"contact": "CHANGE_ME"}})
    assert placeholder == "sumo.contact: still the example's placeholder; put the real value"


def test_a_yaml_syntax_error_names_the_line_without_showing_it(tmp_path):
    # The offending line is often the password's (an unclosed quote): it must not be printed.
    path = tmp_path / "config.yaml"
    path.write_text("matrix:\n  homeserver: https://matrix.example.org\n  password: hunter2: secret\n")

    with pytest.raises(ConfigError) as refused:
        load_config(path, environ={})

    (problem,) = refused.value.problems
    assert "hunter2" not in problem
    assert "line" in problem and "not valid YAML" in problem
