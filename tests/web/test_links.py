"""Notifications link to the board when ``web.public_url`` is set; the footer names the board only when
there is one; the operator's own templates still win."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.badges import Announcement
from bot.config import load_config
from bot.metrics import Metric
from bot.notifications import render_notification
from tests.support.configs import write_config

NODES = ["http://127.0.0.1:9"]
BOARD = "https://badges.example.org"
ONE = [Announcement(Metric.POSTS, 5, 10)]


def test_with_a_public_url_a_notification_links_the_board_the_ranking_and_the_badges_image(
    tmp_path: Path,
) -> None:
    config = load_config(write_config(tmp_path, NODES, web={"public_url": BOARD + "/"}))
    body = render_notification("alice", "badge-bot", ONE, config.notifications.templates)
    assert f"![badge]({BOARD}/badges/posts/5.png) You published more than 5 posts." in body
    assert body.endswith(
        f"You can view your badges on [your board]({BOARD}/@alice) and compare yourself to others in the "
        f"[Ranking]({BOARD}/ranking/upvotes_received?account=alice)\n"
        "If you no longer want to receive notifications, reply to this comment with the word `STOP`"
    )


def test_without_a_board_the_footer_does_not_promise_one(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, NODES))
    body = render_notification("alice", "badge-bot", ONE, config.notifications.templates)
    assert "board" not in body.lower() and "ranking" not in body.lower() and "![badge]" not in body
    assert body.endswith("reply to this comment with the word `STOP`")


def test_the_operators_links_and_footer_win_over_the_boards(tmp_path: Path) -> None:
    templates = {"board_url": "https://mine.example/{account}", "footer": "Bye @{account}"}
    config = load_config(
        write_config(tmp_path, NODES, web={"public_url": BOARD}, notifications={"templates": templates})
    )
    linked = config.notifications.templates
    assert linked.board_url == "https://mine.example/{account}"
    assert linked.ranking_url == BOARD + "/ranking/upvotes_received?account={account}"
    assert linked.footer == "Bye @{account}"


def test_the_shipped_config_links_the_board_once_a_public_url_is_set(tmp_path: Path) -> None:
    shipped = yaml.safe_load((Path(__file__).parents[2] / "config" / "bot.yaml").read_text())
    shipped["web"]["public_url"] = BOARD
    shipped["store"] = str(tmp_path / "bot.sqlite")
    path = tmp_path / "bot.yaml"
    path.write_text(yaml.safe_dump(shipped))
    templates = load_config(path).notifications.templates
    assert templates.board_url == BOARD + "/@{account}"
    assert "[your board]({board_url})" in templates.footer
