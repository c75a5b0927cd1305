"""The config's ``web:`` section: defaults, values, and errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, WebSettings, load_config
from tests.support.configs import write_config

NODES = ["http://127.0.0.1:9"]


def test_without_a_web_section_the_board_listens_on_localhost_8080_with_no_public_url(tmp_path: Path) -> None:
    assert load_config(write_config(tmp_path, NODES)).web == WebSettings(
        listen=("127.0.0.1", 8080), public_url=None, max_lag=300.0
    )


def test_a_web_section_sets_the_address_the_public_url_and_the_lag(tmp_path: Path) -> None:
    web = {"listen": "0.0.0.0:9000", "public_url": "https://badges.example.org/", "max_lag": "15m"}
    assert load_config(write_config(tmp_path, NODES, web=web)).web == WebSettings(
        listen=("0.0.0.0", 9000), public_url="https://badges.example.org", max_lag=900.0
    )


@pytest.mark.parametrize(
    ("key", "value", "words"),
    [
        ("listen", "8080", 'must be "host:port"'),
        ("listen", "localhost:99999", 'must be "host:port"'),
        ("listen", 8080, 'must be "host:port"'),
        ("public_url", "badges.example.org", "must be an http:// or https:// URL"),
        ("public_url", "https://badges.example.org/?a=1", "without ?query"),
        ("max_lag", "1s", "must be a duration"),
        ("lag", "10m", "unknown key 'lag' (did you mean 'max_lag'?)"),
    ],
)
def test_a_wrong_web_value_is_an_error_naming_its_key(
    tmp_path: Path, key: str, value: object, words: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config(write_config(tmp_path, NODES, web={key: value}))
    assert str(raised.value).startswith(f"{tmp_path / 'bot.yaml'}: web")
    assert words in str(raised.value)
    if key != "lag":
        assert raised.value.key == f"web.{key}"
