"""Tests for bot.config: the shipped file validates; every kind of mistake is a ConfigError naming the key."""

from __future__ import annotations

import dataclasses
import pickle
from pathlib import Path

import pytest
import yaml

from bot.config import (
    OPTIONAL_FAMILIES,
    ChainSettings,
    Config,
    ConfigError,
    LogSettings,
    NotificationSettings,
    load_config,
)
from bot.errors import BotError
from bot.metrics import FAMILIES, Metric
from tests.support.configs import (
    MINIMAL,
    REMOVE,
    REQUIRED_KEYS,
    assert_rejected_naming_the_key,
    changed,
    load_error,
    write,
    write_text,
)
from tests.support.paths import ROOT

SHIPPED_CONFIG = ROOT / "config" / "bot.yaml"

# A well-known example WIF from the Bitcoin wiki: looks exactly like a private key, guards nothing.
WIF = "5HueCGU8rMjxEXxiPuD5BDku4MkFqeZyd4dZ1jvhTVqvbTLvyTJ"
PUBLIC_KEY = "STM8GC13uCZbP44HzMLV6zPZGwVQ8Nt4Kji8PapsPiNq1BK153XTX"

# --- valid files --------------------------------------------------------------------------------------------


def test_shipped_config_is_valid() -> None:
    config = load_config(SHIPPED_CONFIG)

    assert config.dry_run is True
    assert config.start_block is None
    assert config.posting_key_env == "HIVE_BADGE_BOT_POSTING_KEY"
    assert config.store == SHIPPED_CONFIG.parent.parent / "state" / "bot.sqlite"
    assert set(config.badges) == set(Metric)
    assert config.nodes and all(url.startswith("https://") for url in config.nodes)


def test_shipped_config_spells_out_the_default_notification_settings() -> None:
    """The shipped file documents the defaults by writing them out: they must not drift apart."""
    assert load_config(SHIPPED_CONFIG).notifications == NotificationSettings()


def test_minimal_config_gets_the_documented_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, MINIMAL))

    assert config == Config(
        path=tmp_path / "bot.yaml",
        account="badge-bot",
        nodes=("https://api.hive.blog",),
        posting_key_env="BOT_POSTING_KEY",
        store=(tmp_path / "state.sqlite").resolve(),
        start_block=None,
        dry_run=True,
        badges={
            Metric.UPVOTES_RECEIVED: (50, 100),
            Metric.UPVOTES_GIVEN: (50, 100),
            Metric.POSTS: (1, 5),
            Metric.COMMENTS: (10,),
            Metric.REPLIES: (),  # a later family left out: off
            Metric.PAYOUT: (),
        },
    )
    assert config.count_self_votes is True
    assert config.chain == ChainSettings(
        batch_size=1000, poll_interval=3.0, request_timeout=10.0, max_backoff=60.0
    )
    assert config.log == LogSettings(format="auto", level="info")


@pytest.mark.parametrize(
    ("dotted_key", "value", "read_back"),
    [
        ("start_block", "head", None),
        ("start_block", 1, 1),
        ("start_block", 93_000_000, 93_000_000),
        ("account", "abc", "abc"),
        ("account", "sixteen-chars-ok", "sixteen-chars-ok"),
        ("account", "hive.badge-bot", "hive.badge-bot"),
        ("account", "a1-b", "a1-b"),
        (
            "nodes",
            ["http://127.0.0.1:8091", "https://api.hive.blog/"],
            ("http://127.0.0.1:8091", "https://api.hive.blog/"),
        ),
        ("count_self_votes", False, False),
        ("chain.batch_size", 1, 1),
        ("chain.poll_interval", 1, 1.0),
        ("chain.poll_interval", 0.1, 0.1),
        ("chain.request_timeout", 120, 120.0),
        ("chain.max_backoff", 3600, 3600.0),
        ("log.format", "json", "json"),
        ("log.level", "debug", "debug"),
    ],
)
def test_valid_values_are_read_back(
    tmp_path: Path, dotted_key: str, value: object, read_back: object
) -> None:
    loaded: object = load_config(write(tmp_path, changed(dotted_key, value)))
    for name in dotted_key.split("."):
        loaded = getattr(loaded, name)

    assert loaded == read_back
    assert type(loaded) is type(read_back)


def test_ints_are_accepted_for_float_settings_and_stored_as_float(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, changed("chain", {"poll_interval": 2, "request_timeout": 5})))

    assert config.chain.poll_interval == 2.0
    assert isinstance(config.chain.poll_interval, float)
    assert isinstance(config.chain.request_timeout, float)


@pytest.mark.parametrize("section", ["chain", "log"])
def test_optional_section_left_empty_means_defaults(tmp_path: Path, section: str) -> None:
    config = load_config(write_text(tmp_path, yaml.safe_dump(MINIMAL) + f"{section}:\n"))

    assert config.chain == ChainSettings()
    assert config.log == LogSettings()


def test_start_block_head_means_none(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, changed("start_block", "head"))).start_block is None


def test_relative_store_path_is_resolved_against_the_config_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)

    config = load_config(write(config_dir, changed("store", "../state/bot.sqlite")))

    assert isinstance(config.store, Path) and config.store.is_absolute()
    assert config.store == (tmp_path / "state" / "bot.sqlite").resolve()


def test_relative_config_path_resolves_store_from_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "config").mkdir()
    write(tmp_path / "config", changed("store", "bot.sqlite"))
    monkeypatch.chdir(tmp_path)

    config = load_config(Path("config/bot.yaml"))

    assert config.store == (tmp_path / "config" / "bot.sqlite").resolve()
    assert config.path == tmp_path / "config" / "bot.yaml"


def test_absolute_store_path_is_kept(tmp_path: Path) -> None:
    store = tmp_path / "data" / "bot.sqlite"

    assert load_config(write(tmp_path, changed("store", str(store)))).store == store.resolve()


def test_config_is_immutable(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, MINIMAL))

    with pytest.raises(dataclasses.FrozenInstanceError):
        config.dry_run = False  # type: ignore[misc]
    with pytest.raises(TypeError):
        config.badges[Metric.POSTS] = (1,)  # type: ignore[index]


# --- invalid values -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", REQUIRED_KEYS)
def test_each_missing_required_key_is_named(tmp_path: Path, key: str) -> None:
    path = write(tmp_path, changed(key, REMOVE))

    assert str(load_error(path)) == f"{path}: missing required key {key!r}"


def test_several_missing_keys_are_all_named(tmp_path: Path) -> None:
    path = write(tmp_path, {"account": "badge-bot"})

    message = str(load_error(path))

    for key in set(REQUIRED_KEYS) - {"account"}:
        assert repr(key) in message


@pytest.mark.parametrize("metric", [metric for metric in Metric if metric not in OPTIONAL_FAMILIES])
def test_each_missing_metric_is_named(tmp_path: Path, metric: Metric) -> None:
    path = write(tmp_path, changed(f"badges.{metric}", REMOVE))

    assert str(load_error(path)) == f"{path}: badges: missing required key {metric.value!r}"


@pytest.mark.parametrize("family", sorted(OPTIONAL_FAMILIES))
def test_an_optional_family_earns_badges_by_its_ladder_when_badges_names_it(
    tmp_path: Path, family: Metric
) -> None:
    path = write(tmp_path, changed(f"badges.{family}", {"thresholds": [10, 50, 100]}))
    assert load_config(path).badges[family] == (10, 50, 100)


@pytest.mark.parametrize(("family", "thresholds"), [("replies", [50, 10]), ("payout", [10, 50.5])])
def test_an_optional_ladder_is_checked_like_the_others(
    tmp_path: Path, family: str, thresholds: list[float]
) -> None:
    path = write(tmp_path, changed(f"badges.{family}", {"thresholds": thresholds}))
    assert str(load_error(path)).startswith(
        f"{path}: badges.{family}.thresholds: must be a strictly increasing list of positive integers"
    )


@pytest.mark.parametrize(("name", "first"), [("bot.yaml", 10), ("devnet.yaml", 1)])
def test_the_shipped_configs_give_payouts_a_ladder_in_whole_hp(name: str, first: int) -> None:
    ladder = load_config(ROOT / "config" / name).badges[Metric.PAYOUT]
    assert ladder[0] == first and len(ladder) >= 5


def test_the_birthday_family_is_off_unless_badges_turns_it_on(tmp_path: Path) -> None:
    assert not load_config(write(tmp_path, MINIMAL)).badge_rules().birthday
    on = load_config(write(tmp_path, changed("badges.birthday", {"enabled": True})))
    assert on.birthday and on.badge_rules().birthday
    assert not load_config(write(tmp_path, changed("badges.birthday", {"enabled": False}))).birthday


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ({"thresholds": [1, 2]}, "badges.birthday: unknown key 'thresholds'"),
        ({}, "badges.birthday: missing required key 'enabled'"),
        ({"enabled": "yes"}, "badges.birthday.enabled: must be true or false"),
    ],
)
def test_the_birthday_family_is_turned_on_or_off_not_given_a_ladder(
    tmp_path: Path, value: object, fragment: str
) -> None:
    path = write(tmp_path, changed("badges.birthday", value))
    assert str(load_error(path)).startswith(f"{path}: {fragment}")


def test_the_birthday_templates_are_read_and_checked(tmp_path: Path) -> None:
    given = {"one": "Year one, @{account}!", "other": "{years} years, @{account}!"}
    path = write(tmp_path, changed("notifications.templates.birthday", given))
    templates = load_config(path).notifications.templates.birthday
    assert (templates.line(1), templates.line(3)) == (given["one"], given["other"])
    wrong = write(tmp_path, changed("notifications.templates.birthday", {"other": "{threshold} years"}))
    assert "notifications.templates.birthday.other: unknown placeholder {threshold}" in str(load_error(wrong))


@pytest.mark.parametrize(
    ("dotted_key", "value", "error_key", "fragment"),
    [
        ("account", 123, "account", "must be a Hive account name"),
        ("account", "@alice", "account", "without the '@'"),
        ("account", "ab", "account", "3 to 16 characters"),
        ("account", "seventeen-chars-x", "account", "3 to 16 characters"),
        ("account", "Alice", "account", "starts with a lowercase letter"),
        ("account", "1alice", "account", "starts with a lowercase letter"),
        ("account", "alice-", "account", "ends with a letter or digit"),
        ("account", "alice_b", "account", "only a-z, 0-9 and '-'"),
        ("account", "ab.alice", "account", "at least 3 characters"),
        ("account", "alice.", "account", "at least 3 characters"),
        ("nodes", [], "nodes", "non-empty list"),
        ("nodes", "https://api.hive.blog", "nodes", "non-empty list"),
        ("nodes", None, "nodes", "got null"),
        (
            "nodes",
            ["https://api.hive.blog", "wss://api.hive.blog"],
            "nodes[1]",
            "websocket nodes are not supported",
        ),
        ("nodes", ["ftp://api.hive.blog"], "nodes[0]", "http:// or https:// URL"),
        ("nodes", ["api.hive.blog"], "nodes[0]", "http:// or https:// URL"),
        ("nodes", ["https://"], "nodes[0]", "http:// or https:// URL"),
        ("nodes", ["https://api.hive.blog:port"], "nodes[0]", "well-formed URL"),
        ("nodes", ["https://api.hive.blog "], "nodes[0]", "http:// or https:// URL"),
        ("nodes", [8091], "nodes[0]", "http:// or https:// URL"),
        ("nodes", ["https://api.hive.blog", "https://API.hive.blog/"], "nodes[1]", "duplicate node"),
        ("posting_key_env", "hive_posting_key", "posting_key_env", "NAME of an environment variable"),
        ("posting_key_env", "1KEY", "posting_key_env", "NAME of an environment variable"),
        ("posting_key_env", 5, "posting_key_env", "NAME of an environment variable"),
        ("store", "", "store", "path of the SQLite file"),
        ("store", 5, "store", "path of the SQLite file"),
        ("store", None, "store", "path of the SQLite file"),
        ("posting_key_file", "", "posting_key_file", "path of a file holding the posting key"),
        ("posting_key_file", 5, "posting_key_file", "path of a file holding the posting key"),
        ("start_block", 0, "start_block", "'head' or a positive block number, got 0"),
        ("start_block", -5, "start_block", "'head' or a positive block number"),
        ("start_block", "tail", "start_block", "got 'tail'"),
        ("start_block", "12", "start_block", "got '12'"),
        ("start_block", 1.5, "start_block", "got 1.5"),
        ("start_block", True, "start_block", "got true"),
        ("start_block", None, "start_block", "got null"),
        ("dry_run", "yes", "dry_run", "must be true or false, got 'yes'"),
        ("dry_run", 1, "dry_run", "must be true or false, got 1"),
        ("dry_run", None, "dry_run", "must be true or false, got null"),
        ("count_self_votes", "false", "count_self_votes", "must be true or false"),
        ("chain", [1], "chain", "must be a mapping"),
        ("chain.batch_size", 0, "chain.batch_size", "whole number from 1 to 1000, got 0"),
        ("chain.batch_size", 1001, "chain.batch_size", "whole number from 1 to 1000"),
        ("chain.batch_size", 10.5, "chain.batch_size", "got 10.5"),
        ("chain.batch_size", 10.0, "chain.batch_size", "got 10.0"),
        ("chain.batch_size", True, "chain.batch_size", "got true"),
        ("chain.batch_size", "100", "chain.batch_size", "got '100'"),
        ("chain.poll_interval", 0.05, "chain.poll_interval", "number from 0.1 to 60"),
        ("chain.poll_interval", 61, "chain.poll_interval", "number from 0.1 to 60"),
        ("chain.poll_interval", "3", "chain.poll_interval", "got '3'"),
        ("chain.poll_interval", True, "chain.poll_interval", "got true"),
        ("chain.poll_interval", float("nan"), "chain.poll_interval", "got nan"),
        ("chain.request_timeout", 0.4, "chain.request_timeout", "number from 0.5 to 120"),
        ("chain.request_timeout", float("inf"), "chain.request_timeout", "number from 0.5 to 120"),
        ("chain.max_backoff", 0.5, "chain.max_backoff", "number from 1 to 3600"),
        ("chain.max_backoff", 3601, "chain.max_backoff", "number from 1 to 3600"),
        ("log", "json", "log", "must be a mapping"),
        ("log.format", "xml", "log.format", "one of 'auto', 'console', 'json', got 'xml'"),
        ("log.level", "INFO", "log.level", "one of 'debug', 'info', 'warning', 'error', got 'INFO'"),
        ("log.level", None, "log.level", "got null"),
        ("badges", None, "badges", "must be a mapping"),
        ("badges", [], "badges", "must be a mapping"),
        ("badges.posts", [1, 5], "badges.posts", "must be a mapping"),
        ("badges.posts", {}, "badges.posts", "missing required key 'thresholds'"),
    ],
)
def test_invalid_value_is_rejected_naming_the_key(
    tmp_path: Path, dotted_key: str, value: object, error_key: str, fragment: str
) -> None:
    assert_rejected_naming_the_key(tmp_path, dotted_key, value, error_key, fragment)


@pytest.mark.parametrize(
    "thresholds",
    [[5, 3], [1, 1], [], [0, 1], [-1, 2], [1, 2.5], [True, 2], [1, "2"], "1, 2", None, [[1]]],
)
def test_thresholds_not_strictly_increasing_positive_ints_names_the_key(
    tmp_path: Path, thresholds: object
) -> None:
    path = write(tmp_path, changed("badges.posts", {"thresholds": thresholds}))

    message = str(load_error(path))

    assert message.startswith(
        f"{path}: badges.posts.thresholds: must be a strictly increasing list of positive integers, got "
    )


def test_thresholds_not_increasing_message_shows_the_list(tmp_path: Path) -> None:
    path = write(tmp_path, changed("badges.posts", {"thresholds": [5, 3]}))

    assert str(load_error(path)) == (
        f"{path}: badges.posts.thresholds: "
        "must be a strictly increasing list of positive integers, got [5, 3]"
    )


# --- unknown keys -------------------------------------------------------------------------------------------


def test_unknown_top_level_key_is_named_with_the_valid_keys(tmp_path: Path) -> None:
    path = write(tmp_path, changed("nodez", ["https://api.hive.blog"]))

    message = str(load_error(path))

    assert message.startswith(
        f"{path}: unknown key 'nodez' (did you mean 'nodes'?); valid keys at the top level: "
    )
    for key in [*REQUIRED_KEYS, "count_self_votes", "chain", "log"]:
        assert key in message


@pytest.mark.parametrize(
    ("dotted_key", "parent", "unknown", "valid"),
    [
        (
            "chain.batchsize",
            "chain",
            "batchsize",
            ["batch_size", "poll_interval", "request_timeout", "max_backoff"],
        ),
        ("log.colour", "log", "colour", ["format", "level"]),
        ("badges.likes", "badges", "likes", [family.value for family in FAMILIES]),
        ("badges.posts.templates", "badges.posts", "templates", ["thresholds"]),
    ],
)
def test_unknown_nested_key_is_named_with_the_valid_keys_at_that_level(
    tmp_path: Path, dotted_key: str, parent: str, unknown: str, valid: list[str]
) -> None:
    path = write(tmp_path, changed(dotted_key, 1))

    message = str(load_error(path))

    assert message.startswith(f"{path}: {parent}: unknown key {unknown!r}")
    assert f"valid keys under {parent!r}: {', '.join(sorted(valid))}" in message


def test_non_string_key_is_rejected(tmp_path: Path) -> None:
    path = write_text(tmp_path, yaml.safe_dump(MINIMAL) + "chain:\n  1: 2\n")

    assert str(load_error(path)) == f"{path}: chain: keys must be strings, got 1"


# --- the posting key must never be in the file --------------------------------------------------------------


@pytest.mark.parametrize("pasted", [WIF, PUBLIC_KEY])
def test_key_pasted_into_posting_key_env_is_rejected_without_echoing_it(tmp_path: Path, pasted: str) -> None:
    path = write(tmp_path, changed("posting_key_env", pasted))

    error = load_error(path)

    assert error.key == "posting_key_env"
    assert "must never be in the YAML file" in str(error)
    assert pasted not in str(error)
    assert pasted not in repr(error.args)


def test_invalid_env_var_name_is_not_echoed(tmp_path: Path) -> None:
    path = write(tmp_path, changed("posting_key_env", "P5secret-master-password"))

    message = str(load_error(path))

    assert "P5secret" not in message
    assert "24-character string, not shown" in message


def test_key_pasted_into_another_field_is_not_echoed(tmp_path: Path) -> None:
    path = write(tmp_path, changed("account", WIF))

    message = str(load_error(path))

    assert message.startswith(f"{path}: account: ")
    assert WIF not in message


def test_yaml_syntax_error_does_not_echo_the_line(tmp_path: Path) -> None:
    path = write_text(tmp_path, f"account: badge-bot\nposting_key_env: [{WIF}\n")

    message = str(load_error(path))

    assert message.startswith(f"{path}: invalid YAML at line ")
    assert WIF not in message


# --- the file itself ----------------------------------------------------------------------------------------


def test_bad_yaml_names_the_file_and_line(tmp_path: Path) -> None:
    path = write_text(tmp_path, "account: badge-bot\nnodes:\n  - https://api.hive.blog\n dry_run: true\n")

    message = str(load_error(path))

    assert message.startswith(f"{path}: invalid YAML at line 4, column 2: ")


def test_duplicate_key_is_rejected_with_its_line(tmp_path: Path) -> None:
    path = write_text(tmp_path, yaml.safe_dump(MINIMAL) + "dry_run: false\n")

    message = str(load_error(path))

    assert message.startswith(f"{path}: invalid YAML at line ")
    assert "duplicate key 'dry_run'" in message


def test_missing_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"

    assert str(load_error(path)) == f"{path}: no such file"


def test_directory_given_as_file_is_named(tmp_path: Path) -> None:
    assert str(load_error(tmp_path)) == f"{tmp_path}: is a directory, not a config file"


def test_non_utf8_file_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "bot.yaml"
    path.write_bytes(b"account: caf\xe9\n")

    assert "is not UTF-8 text" in str(load_error(path))


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "the file is empty"),
        ("# only a comment\n", "the file is empty"),
        ("- account\n- nodes\n", "the top level must be a mapping of settings, got ['account', 'nodes']"),
        ("just a string\n", "the top level must be a mapping of settings, got 'just a string'"),
    ],
)
def test_top_level_that_is_not_a_mapping_is_rejected(tmp_path: Path, text: str, fragment: str) -> None:
    path = write_text(tmp_path, text)

    assert str(load_error(path)).startswith(f"{path}: {fragment}")


# --- the error type -----------------------------------------------------------------------------------------


def test_config_error_is_a_bot_error_and_survives_pickling() -> None:
    error = ConfigError(Path("config/bot.yaml"), "must be true or false, got 'yes'", "dry_run")

    copied = pickle.loads(pickle.dumps(error))

    assert isinstance(error, BotError)
    assert str(copied) == "config/bot.yaml: dry_run: must be true or false, got 'yes'"
    assert (copied.path, copied.key) == (Path("config/bot.yaml"), "dry_run")
