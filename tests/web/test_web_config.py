"""The config's ``web:`` section: defaults, values, and errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, WebSettings, load_config
from bot.location import PostgresUrl
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


PRIMARY = "postgresql://bot@db1.example/hive_badges"


def test_web_replica_beside_a_postgresql_store_is_read_as_a_url_kept_as_written(tmp_path: Path) -> None:
    replica = "postgres://board@db2.example:5433/hive_badges?connect_timeout=5"
    config = load_config(write_config(tmp_path, NODES, store=PRIMARY, web={"replica": replica}))
    assert config.web.replica == PostgresUrl(replica)
    assert config.store == PostgresUrl(PRIMARY)


@pytest.mark.parametrize(
    ("store", "replica", "words"),
    [
        (PRIMARY, "postgresql://board:s3cret@db2.example/hive_badges", "must not hold a password"),
        (PRIMARY, "db2.example:5432", "must be a postgresql://user@host/db URL of a read replica"),
        (PRIMARY, ["postgresql://board@db2.example/hive_badges"], "must be a postgresql://"),
        ("state/bot.sqlite", "postgresql://board@db2.example/hive_badges", "an SQLite store has none"),
    ],
)
def test_a_wrong_web_replica_is_an_error_naming_the_key_and_never_the_password(
    tmp_path: Path, store: str, replica: object, words: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config(write_config(tmp_path, NODES, store=store, web={"replica": replica}))
    assert raised.value.key == "web.replica"
    assert words in str(raised.value)
    assert "s3cret" not in str(raised.value)
