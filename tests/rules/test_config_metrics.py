"""The config's ``metrics:`` section: off by default, an address when set, errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import MetricsSettings, load_config
from tests.support.configs import assert_rejected_naming_the_key, write_config

NODES = ["http://127.0.0.1:9"]


def test_without_a_metrics_section_the_daemon_serves_no_metrics(tmp_path: Path) -> None:
    assert load_config(write_config(tmp_path, NODES)).metrics == MetricsSettings(listen=None)


def test_an_empty_metrics_section_serves_none_either(tmp_path: Path) -> None:
    assert load_config(write_config(tmp_path, NODES, metrics=None)).metrics == MetricsSettings(listen=None)


def test_metrics_listen_is_the_address_the_daemon_serves_its_metrics_on(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, NODES, metrics={"listen": "127.0.0.1:9464"}))
    assert config.metrics == MetricsSettings(listen=("127.0.0.1", 9464))


@pytest.mark.parametrize(
    ("dotted_key", "value", "error_key", "words"),
    [
        ("metrics.listen", "9464", "metrics.listen", 'must be "host:port"'),
        ("metrics.listen", "127.0.0.1:0", "metrics.listen", 'must be "host:port"'),
        ("metrics.listen", 9464, "metrics.listen", 'must be "host:port"'),
        ("metrics.port", "9464", "metrics", "unknown key 'port'"),
        ("metrics", "127.0.0.1:9464", "metrics", "mapping"),
    ],
)
def test_a_wrong_metrics_value_is_an_error_naming_its_key(
    tmp_path: Path, dotted_key: str, value: object, error_key: str, words: str
) -> None:
    assert_rejected_naming_the_key(tmp_path, dotted_key, value, error_key, words)
