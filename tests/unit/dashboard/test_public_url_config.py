"""http.public_url: the start of the sign-in links; default http://<http.listen>."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, config_from_mapping, load_config

PROJECT = Path(__file__).resolve().parents[3]
MINIMAL = {
    "matrix": {"homeserver": "https://matrix.example.org", "user_id": "@bot:example.org", "password": "pw"},
    "rooms": {"contributors": "!a:example.org", "moderators": "!b:example.org"},
}


def load(http: dict | None) -> object:
    raw = {**MINIMAL, **({"http": http} if http is not None else {})}
    return config_from_mapping(raw, Path("."), {})


def test_the_default_is_the_listen_address() -> None:
    assert load(None).http.dashboard_url() == "http://127.0.0.1:9108"
    assert load({"listen": "0.0.0.0:8080"}).http.dashboard_url() == "http://0.0.0.0:8080"
    assert load({"listen": None}).http.dashboard_url() is None
    assert load(None).http.dashboard_weeks == 12


def test_a_public_url_wins_and_loses_its_trailing_slash() -> None:
    assert load({"public_url": "https://fxhelp.example.org/"}).http.dashboard_url() == "https://fxhelp.example.org"


@pytest.mark.parametrize("bad", [{"public_url": "fxhelp.example.org"}, {"public_url": "ftp://x.org"},
                                 {"dashboard_weeks": 0}, {"dashboard_weeks": 500}])
def test_bad_values_name_the_key(bad: dict) -> None:
    with pytest.raises(ConfigError) as raised:
        load(bad)
    assert f"http.{next(iter(bad))}" in str(raised.value)


def test_the_example_config_documents_the_keys() -> None:
    example = (PROJECT / "config.example.yaml").read_text()
    assert "public_url:" in example and "dashboard_weeks: 12" in example
    with pytest.raises(ConfigError) as raised:  # the example's placeholders are refused, its http section is not
        load_config(PROJECT / "config.example.yaml", environ={})
    assert "matrix.homeserver" in str(raised.value) and "http." not in str(raised.value)
