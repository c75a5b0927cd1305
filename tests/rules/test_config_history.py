"""The ``history`` section: the node budget, the nodes that serve history, the pages read at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import HistorySettings, load_config
from tests.support.configs import MINIMAL, assert_rejected_naming_the_key, changed, write
from tests.support.paths import ROOT


def test_the_shipped_config_spells_out_the_default_history_settings() -> None:
    assert load_config(ROOT / "config" / "bot.yaml").history == HistorySettings()


def test_history_is_read_from_every_node_unless_history_nodes_says_which(tmp_path: Path) -> None:
    nodes = ["https://api.hive.blog", "https://api.deathwing.me"]
    every = load_config(write(tmp_path, {**MINIMAL, "nodes": nodes}))
    some = load_config(write(tmp_path, {**MINIMAL, "nodes": nodes, "history": {"nodes": [nodes[1] + "/"]}}))
    assert every.history_nodes == tuple(nodes)
    assert some.history_nodes == (nodes[1] + "/",)


@pytest.mark.parametrize(
    ("dotted_key", "value", "read_back"),
    [("history.calls_per_second", 5, 5.0), ("history.in_flight", 64, 64), ("history.in_flight", 1, 1)],
)
def test_valid_history_values_are_read_back(
    tmp_path: Path, dotted_key: str, value: object, read_back: object
) -> None:
    history = load_config(write(tmp_path, changed(dotted_key, value))).history
    assert getattr(history, dotted_key.split(".")[1]) == read_back


@pytest.mark.parametrize(
    ("dotted_key", "value", "error_key", "fragment"),
    [
        ("history.calls_per_second", 0, "history.calls_per_second", "number from 0.01 to 100, got 0"),
        ("history.calls_per_second", "2", "history.calls_per_second", "got '2'"),
        ("history.in_flight", 0, "history.in_flight", "whole number from 1 to 64, got 0"),
        ("history.in_flight", 65, "history.in_flight", "whole number from 1 to 64"),
        ("history.in_flight", 2.0, "history.in_flight", "got 2.0"),
        ("history.nodes", [], "history.nodes", "non-empty list"),
        ("history.nodes", ["wss://api.hive.blog"], "history.nodes[0]", "websocket nodes are not supported"),
        (
            "history.nodes",
            ["https://api.hive.blog", "https://elsewhere.example"],
            "history.nodes[1]",
            "'https://elsewhere.example' is not one of the nodes",
        ),
    ],
)
def test_invalid_history_value_is_rejected_naming_the_key(
    tmp_path: Path, dotted_key: str, value: object, error_key: str, fragment: str
) -> None:
    assert_rejected_naming_the_key(tmp_path, dotted_key, value, error_key, fragment)
