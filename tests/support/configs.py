"""Config files for tests: a valid one for a bot run, and a minimal one with one key changed for the
validation tests."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.config import ConfigError, load_config
from bot.metrics import Metric

LADDERS = {
    "upvotes_received": {"thresholds": [5, 10, 50]},
    "upvotes_given": {"thresholds": [5, 10, 50]},
    "posts": {"thresholds": [1, 5]},
    "comments": {"thresholds": [1, 5]},
}


def badges_yaml(ladders: Mapping[Metric, Sequence[int]]) -> dict[str, dict[str, list[int]]]:
    """``badges:`` as a config file writes ``ladders`` (a family absent from them stays off)."""
    return {metric.value: {"thresholds": list(ladder)} for metric, ladder in ladders.items()}


def write_config(directory: Path, nodes: list[str], **overrides: object) -> Path:
    """A valid config in ``directory`` with its store beside it; ``overrides`` replace top-level keys."""
    config: dict[str, object] = {
        "account": "badge-bot",
        "nodes": nodes,
        "posting_key_env": "TEST_POSTING_KEY",
        "store": "state/bot.sqlite",
        "start_block": "head",
        "dry_run": True,
        "bootstrap": "none",
        "chain": {"poll_interval": 0.1, "request_timeout": 5, "max_backoff": 1},
        "log": {"format": "json", "level": "info"},
        "badges": LADDERS,
    }
    config.update(overrides)
    path = directory / "bot.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


MINIMAL: dict[str, Any] = {
    "account": "badge-bot",
    "nodes": ["https://api.hive.blog"],
    "posting_key_env": "BOT_POSTING_KEY",
    "store": "state.sqlite",
    "start_block": "head",
    "dry_run": True,
    "badges": {
        "upvotes_received": {"thresholds": [50, 100]},
        "upvotes_given": {"thresholds": [50, 100]},
        "posts": {"thresholds": [1, 5]},
        "comments": {"thresholds": [10]},
    },
}
REQUIRED_KEYS = list(MINIMAL)
REMOVE = object()


def changed(dotted_key: str, value: object) -> dict[str, Any]:
    """A copy of MINIMAL with one (possibly nested) key set to `value`, or removed when `value` is REMOVE."""
    data = copy.deepcopy(MINIMAL)
    *parents, last = dotted_key.split(".")
    level = data
    for name in parents:
        level = level.setdefault(name, {})
    if value is REMOVE:
        del level[last]
    else:
        level[last] = value
    return data


def write(directory: Path, data: object, name: str = "bot.yaml") -> Path:
    path = directory / name
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def write_text(directory: Path, text: str) -> Path:
    path = directory / "bot.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def load_error(path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return caught.value


def assert_rejected_naming_the_key(
    tmp_path: Path, dotted_key: str, value: object, error_key: str, fragment: str
) -> None:
    """MINIMAL with ``dotted_key`` set to ``value`` is refused, the error naming the file and ``error_key``."""
    path = write(tmp_path, changed(dotted_key, value))

    error = load_error(path)

    assert error.key == error_key
    assert str(error).startswith(f"{path}: {error_key}: ")
    assert fragment in str(error)
