"""The config's ``notifications:`` section: defaults, durations, accounts, beneficiaries and templates."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.config import NotificationSettings, load_config
from bot.metrics import Metric
from bot.notifications import DEFAULT_BADGE, DEFAULT_BOARD_FOOTER, DEFAULT_NEXT_TARGET, Templates
from tests.support.configs import MINIMAL, assert_rejected_naming_the_key, changed, load_error, write


def test_without_the_section_the_defaults_apply(tmp_path: Path) -> None:
    settings = load_config(write(tmp_path, MINIMAL)).notifications

    assert settings == NotificationSettings()
    assert settings == NotificationSettings(
        max_post_age=30 * 86_400,
        min_interval=3.0,
        per_account_interval=86_400,
        digest_interval=7 * 86_400,
        max_crossing_age=86_400,
        rc_reserve=10.0,
        max_attempts=10,
        expiration=600.0,
        ignore=frozenset(),
        decline_payout=False,
        beneficiaries=(),
        templates=Templates(),
    )


@pytest.mark.parametrize("empty", [{}, None])
def test_an_empty_section_means_the_defaults(tmp_path: Path, empty: object) -> None:
    assert (
        load_config(write(tmp_path, changed("notifications", empty))).notifications == NotificationSettings()
    )


@pytest.mark.parametrize("empty", [{}, None])
def test_an_empty_templates_section_means_the_default_templates(tmp_path: Path, empty: object) -> None:
    config = load_config(write(tmp_path, changed("notifications.templates", empty)))

    assert config.notifications.templates == Templates()


# --- durations ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "seconds"),
    [
        (90, 90.0),
        (90.5, 90.5),
        ("90s", 90.0),
        ("10m", 600.0),
        ("24h", 86_400.0),
        ("30d", 2_592_000.0),
        ("1.5h", 5400.0),
        ("10 m", 600.0),
        (" 2h ", 7200.0),
    ],
)
def test_a_duration_is_seconds_or_a_number_with_a_unit(
    tmp_path: Path, written: object, seconds: float
) -> None:
    config = load_config(write(tmp_path, changed("notifications.per_account_interval", written)))

    assert config.notifications.per_account_interval == seconds
    assert isinstance(config.notifications.per_account_interval, float)


@pytest.mark.parametrize(
    ("dotted_key", "value", "read_back"),
    [
        ("max_post_age", "60s", 60.0),
        ("max_post_age", "365d", 365 * 86_400.0),
        ("min_interval", 3, 3.0),
        ("min_interval", "3s", 3.0),
        ("min_interval", "1d", 86_400.0),
        ("per_account_interval", 0, 0.0),
        ("digest_interval", "7d", 7 * 86_400.0),
        ("digest_interval", "15m", 900.0),
        ("max_crossing_age", 0, 0.0),
        ("max_crossing_age", "7d", 7 * 86_400.0),
        ("expiration", "30s", 30.0),
        ("expiration", "1h", 3600.0),
        ("rc_reserve", 0, 0.0),
        ("rc_reserve", 100, 100.0),
        ("rc_reserve", 12.5, 12.5),
        ("max_attempts", 1, 1),
        ("max_attempts", 1000, 1000),
        ("decline_payout", True, True),
        ("ignore", [], frozenset()),
        ("ignore", ["alice", "hive.badge-bot", "alice"], frozenset({"alice", "hive.badge-bot"})),
        ("beneficiaries", [], ()),
        (
            "beneficiaries",
            [{"account": "zed", "weight": 500}, {"account": "amy", "weight": 9500}],
            (("amy", 9500), ("zed", 500)),  # sorted by account, as the chain requires
        ),
        ("beneficiaries", [{"account": "amy", "weight": 10_000}], (("amy", 10_000),)),
    ],
)
def test_valid_values_are_read_back(
    tmp_path: Path, dotted_key: str, value: object, read_back: object
) -> None:
    settings = load_config(write(tmp_path, changed(f"notifications.{dotted_key}", value))).notifications

    assert getattr(settings, dotted_key) == read_back
    assert type(getattr(settings, dotted_key)) is type(read_back)


@pytest.mark.parametrize(
    ("dotted_key", "value", "error_key", "fragment"),
    [
        ("notifications", [], "notifications", "must be a mapping"),
        ("notifications", "on", "notifications", "must be a mapping"),
        # durations
        ("notifications.min_interval", 2.9, "notifications.min_interval", "got 2.9"),
        ("notifications.min_interval", "2s", "notifications.min_interval", "got '2s'"),
        ("notifications.min_interval", 0, "notifications.min_interval", "duration from 3s to 1d"),
        ("notifications.min_interval", "25h", "notifications.min_interval", "got '25h'"),
        ("notifications.max_post_age", 59, "notifications.max_post_age", "duration from 1m to 365d"),
        ("notifications.max_post_age", "366d", "notifications.max_post_age", "got '366d'"),
        ("notifications.per_account_interval", -1, "notifications.per_account_interval", "got -1"),
        ("notifications.per_account_interval", "10", "notifications.per_account_interval", "got '10'"),
        ("notifications.per_account_interval", "10M", "notifications.per_account_interval", "got '10M'"),
        ("notifications.per_account_interval", "10ms", "notifications.per_account_interval", "got '10ms'"),
        ("notifications.per_account_interval", "1w", "notifications.per_account_interval", "got '1w'"),
        ("notifications.per_account_interval", "-5m", "notifications.per_account_interval", "got '-5m'"),
        ("notifications.per_account_interval", "h", "notifications.per_account_interval", "got 'h'"),
        ("notifications.per_account_interval", True, "notifications.per_account_interval", "got true"),
        ("notifications.per_account_interval", None, "notifications.per_account_interval", "got null"),
        ("notifications.per_account_interval", [1], "notifications.per_account_interval", "got [1]"),
        ("notifications.digest_interval", 59, "notifications.digest_interval", "duration from 1m to 365d"),
        ("notifications.max_crossing_age", float("nan"), "notifications.max_crossing_age", "got nan"),
        ("notifications.max_crossing_age", float("inf"), "notifications.max_crossing_age", "got inf"),
        ("notifications.expiration", "29s", "notifications.expiration", "duration from 30s to 1h"),
        ("notifications.expiration", "61m", "notifications.expiration", "got '61m'"),
        ("notifications.expiration", 3601, "notifications.expiration", "got 3601"),
        # numbers and flags
        ("notifications.rc_reserve", -1, "notifications.rc_reserve", "number from 0 to 100"),
        ("notifications.rc_reserve", 101, "notifications.rc_reserve", "number from 0 to 100"),
        ("notifications.rc_reserve", "10%", "notifications.rc_reserve", "got '10%'"),
        ("notifications.max_attempts", 0, "notifications.max_attempts", "whole number from 1 to 1000"),
        ("notifications.max_attempts", 1001, "notifications.max_attempts", "whole number from 1 to 1000"),
        ("notifications.max_attempts", 2.0, "notifications.max_attempts", "got 2.0"),
        ("notifications.decline_payout", "yes", "notifications.decline_payout", "true or false"),
        # accounts
        ("notifications.ignore", "alice", "notifications.ignore", "list of Hive account names"),
        ("notifications.ignore", None, "notifications.ignore", "got null"),
        ("notifications.ignore", ["alice", "@bob"], "notifications.ignore[1]", "without the '@'"),
        ("notifications.ignore", ["Alice"], "notifications.ignore[0]", "starts with a lowercase letter"),
        ("notifications.ignore", ["ab"], "notifications.ignore[0]", "3 to 16 characters"),
        ("notifications.ignore", [5], "notifications.ignore[0]", "must be a Hive account name"),
        # beneficiaries
        (
            "notifications.beneficiaries",
            {"alice": 100},
            "notifications.beneficiaries",
            "list of {account, weight}",
        ),
        ("notifications.beneficiaries", ["alice"], "notifications.beneficiaries[0]", "must be a mapping"),
        (
            "notifications.beneficiaries",
            [{"account": "alice"}],
            "notifications.beneficiaries[0]",
            "missing required key 'weight'",
        ),
        (
            "notifications.beneficiaries",
            [{"account": "alice", "weight": 1, "share": 2}],
            "notifications.beneficiaries[0]",
            "unknown key 'share'",
        ),
        (
            "notifications.beneficiaries",
            [{"account": "alice", "weight": 100}, {"account": "@bob", "weight": 100}],
            "notifications.beneficiaries[1].account",
            "without the '@'",
        ),
        (
            "notifications.beneficiaries",
            [{"account": "alice", "weight": 0}],
            "notifications.beneficiaries[0].weight",
            "whole number from 1 to 10000, got 0",
        ),
        (
            "notifications.beneficiaries",
            [{"account": "alice", "weight": 10_001}],
            "notifications.beneficiaries[0].weight",
            "whole number from 1 to 10000",
        ),
        (
            "notifications.beneficiaries",
            [{"account": "alice", "weight": 12.5}],
            "notifications.beneficiaries[0].weight",
            "got 12.5",
        ),
        (
            "notifications.beneficiaries",
            [{"account": "alice", "weight": 100}, {"account": "alice", "weight": 200}],
            "notifications.beneficiaries",
            "each account may be listed once",
        ),
        (
            "notifications.beneficiaries",
            [{"account": "alice", "weight": 6000}, {"account": "bob", "weight": 4001}],
            "notifications.beneficiaries",
            "more than 10000",
        ),
        # templates
        ("notifications.templates", "hi", "notifications.templates", "must be a mapping"),
        ("notifications.templates.header", 5, "notifications.templates.header", "must be a text, got 5"),
        (
            "notifications.templates.header",
            "Hi {user}",
            "notifications.templates.header",
            "unknown placeholder {user}",
        ),
        ("notifications.templates.footer", "{threshold}", "notifications.templates.footer", "{threshold}"),
        ("notifications.templates.footer", "{", "notifications.templates.footer", "not a valid template"),
        (
            "notifications.templates.badge.posts",
            "{bot} posts",
            "notifications.templates.badge.posts",
            "unknown placeholder {bot}",
        ),
        (
            "notifications.templates.next_target.comments",
            "{account.name}",
            "notifications.templates.next_target.comments",
            "must be a plain name",
        ),
        ("notifications.templates.badge", "x", "notifications.templates.badge", "must be a mapping"),
        ("notifications.templates.badge.likes", "x", "notifications.templates.badge", "unknown key 'likes'"),
        (
            "notifications.templates.board_url",
            "https://x/{threshold}",
            "notifications.templates.board_url",
            "this template may use {account}",
        ),
        (
            "notifications.templates.ranking_url",
            "https://x/{metric}",
            "notifications.templates.ranking_url",
            "unknown placeholder {metric}",
        ),
        (
            "notifications.templates.image_url",
            "https://x/{bot}.png",
            "notifications.templates.image_url",
            "this template may use {account}, {metric}, {threshold}",
        ),
        ("notifications.templates.image", "x", "notifications.templates", "unknown key 'image'"),
        ("notifications.rcreserve", 5, "notifications", "did you mean 'rc_reserve'?"),
    ],
)
def test_invalid_value_is_rejected_naming_the_key(
    tmp_path: Path, dotted_key: str, value: object, error_key: str, fragment: str
) -> None:
    assert_rejected_naming_the_key(tmp_path, dotted_key, value, error_key, fragment)


def test_a_refused_min_interval_message_says_what_is_allowed(tmp_path: Path) -> None:
    path = write(tmp_path, changed("notifications.min_interval", 1))

    assert str(load_error(path)) == (
        f"{path}: notifications.min_interval: must be a duration from 3s to 1d "
        '(seconds, or a number with s, m, h or d: "90s", "24h"), got 1'
    )


# --- templates --------------------------------------------------------------------------------------------


def test_templates_given_are_read_and_the_others_keep_their_defaults(tmp_path: Path) -> None:
    templates_section = {
        "header": "Well done @{account}!",
        "badge": {"posts": "{threshold} posts!"},
        "next_target": {"comments": "Next: {next_threshold}."},
        "board_url": "https://board.example/@{account}",
        "ranking_url": "https://rank.example/{account}",
        "image_url": "https://img.example/{account}/{metric}/{threshold}.png",
    }

    templates = load_config(
        write(tmp_path, changed("notifications.templates", templates_section))
    ).notifications.templates

    assert templates.header == "Well done @{account}!"
    assert templates.footer == DEFAULT_BOARD_FOOTER  # there is a board to link to
    assert dict(templates.badge) == {**DEFAULT_BADGE, Metric.POSTS: "{threshold} posts!"}
    assert dict(templates.next_target) == {**DEFAULT_NEXT_TARGET, Metric.COMMENTS: "Next: {next_threshold}."}
    assert templates.board_url == "https://board.example/@{account}"
    assert templates.ranking_url == "https://rank.example/{account}"
    assert templates.image_url == "https://img.example/{account}/{metric}/{threshold}.png"


def test_per_metric_templates_left_empty_mean_the_defaults(tmp_path: Path) -> None:
    text = yaml.safe_dump(MINIMAL) + "notifications:\n  templates:\n    badge:\n    next_target:\n"
    path = tmp_path / "bot.yaml"
    path.write_text(text, encoding="utf-8")

    templates = load_config(path).notifications.templates

    assert dict(templates.badge) == dict(DEFAULT_BADGE)
    assert dict(templates.next_target) == dict(DEFAULT_NEXT_TARGET)


def test_a_literal_brace_is_written_doubled(tmp_path: Path) -> None:
    config = load_config(
        write(tmp_path, changed("notifications.templates.footer", "{{STOP}} to stop, @{account}"))
    )

    assert config.notifications.templates.footer == "{{STOP}} to stop, @{account}"


def test_notification_settings_are_immutable(tmp_path: Path) -> None:
    settings = load_config(
        write(tmp_path, changed("notifications.templates.badge.posts", "{threshold}"))
    ).notifications

    with pytest.raises(TypeError):
        settings.templates.badge[Metric.POSTS] = "changed"  # type: ignore[index]
    assert isinstance(settings.ignore, frozenset)
    assert isinstance(settings.beneficiaries, tuple)
