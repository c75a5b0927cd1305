"""Write config files for tests."""

from __future__ import annotations

from pathlib import Path

import yaml

LADDERS = {
    "upvotes_received": {"thresholds": [5, 10, 50]},
    "upvotes_given": {"thresholds": [5, 10, 50]},
    "posts": {"thresholds": [1, 5]},
    "comments": {"thresholds": [1, 5]},
}


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
