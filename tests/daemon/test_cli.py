"""The commands that read the store, and the errors every command reports the same way."""

import json
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from bot.badges import BadgeRules
from bot.cli import main
from bot.manners import SOURCE
from bot.metrics import FAMILIES, Metric
from bot.optouts import Opt, OptCommand
from bot.plan import OutboxChanges
from bot.store import Checkpoint, Store, lock_store
from bot.tallies import Tally
from tests.support.configs import write_config
from tests.support.paths import ROOT

UNREACHABLE = "http://127.0.0.1:9"  # the discard port: nothing listens there


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = write_config(tmp_path, [UNREACHABLE])
    counts = Counter(
        {("alice", Metric.POSTS): 3, ("bob", Metric.POSTS): 7, ("alice", Metric.UPVOTES_RECEIVED): 12}
    )
    with Store.open(tmp_path / "state" / "bot.sqlite") as store:
        store.commit_batch(Tally(increments=counts), {}, Checkpoint(1234, "04d2", 1_750_000_000))
    return path


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, object]:
    assert main([*argv, "--json"]) == 0
    result: dict[str, object] = json.loads(capsys.readouterr().out)
    return result


def test_account_prints_its_counts_as_json(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = run_json(capsys, "account", "alice", "--config", str(config))
    assert report["account"] == "alice"
    assert report["counts"] == {
        "upvotes_received": 12,
        "upvotes_given": 0,
        "posts": 3,
        "comments": 0,
        "replies": 0,
        "payout": "0.000",
    }


def test_unknown_account_has_zero_counts(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = run_json(capsys, "account", "nobody", "--config", str(config))
    assert report["counts"] == {
        "upvotes_received": 0,
        "upvotes_given": 0,
        "posts": 0,
        "comments": 0,
        "replies": 0,
        "payout": "0.000",
    }
    assert report["known"] is False


def test_ranking_lists_accounts_by_the_metric(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = run_json(capsys, "ranking", "--metric", "posts", "--limit", "0", "--config", str(config))
    assert report["ranking"] == [
        {"rank": 1, "account": "bob", "count": 7},
        {"rank": 2, "account": "alice", "count": 3},
    ]
    report = run_json(capsys, "ranking", "--metric", "posts", "--limit", "1", "--config", str(config))
    assert [row["account"] for row in report["ranking"]] == ["bob"]  # type: ignore[attr-defined]


def test_status_reports_the_store_when_the_chain_is_unreachable(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = run_json(capsys, "status", "--config", str(config))
    assert report["checkpoint"] == 1234
    assert report["accounts"] == 2
    assert report["lag"] is None
    assert "no node answered" in str(report["chain_error"])
    assert isinstance(report["bytes"], int) and report["bytes"] > 0


def test_text_output_is_readable(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["account", "alice", "--config", str(config)]) == 0
    assert "posts             3" in capsys.readouterr().out


@pytest.mark.parametrize("name", ["bot.yaml", "devnet.yaml"])
def test_check_config_accepts_the_shipped_configs(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    shipped = ROOT / "config" / name
    assert main(["check-config", "--config", str(shipped)]) == 0
    assert "dry-run" in capsys.readouterr().out


def test_bad_config_exits_2_naming_the_file_and_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(tmp_path, [UNREACHABLE], start_block="yesterday")
    assert main(["run", "--config", str(path)]) == 2
    error = capsys.readouterr().err
    assert str(path) in error
    assert "start_block" in error
    assert not (tmp_path / "state").exists()


def test_reading_commands_do_not_create_a_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_config(tmp_path, [UNREACHABLE])
    assert main(["status", "--config", str(path)]) == 1
    assert "no store there yet" in capsys.readouterr().err
    assert not (tmp_path / "state" / "bot.sqlite").exists()


def test_second_daemon_on_the_same_store_is_refused(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with lock_store(config.parent / "state" / "bot.sqlite"):
        assert main(["run", "--config", str(config)]) == 1
    assert "another hive-badge-bot is running on this store" in capsys.readouterr().err


def test_optout_add_list_and_remove(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["optout", "add", "@carol", "--config", str(config)]) == 0
    assert main(["optout", "add", "alice", "--config", str(config)]) == 0
    capsys.readouterr()
    report = run_json(capsys, "optout", "list", "--config", str(config))
    assert report["opted_out"] == [
        {"account": "alice", "block": None, "source": "operator"},
        {"account": "carol", "block": None, "source": "operator"},
    ]
    assert run_json(capsys, "status", "--config", str(config))["opted_out"] == 2
    assert run_json(capsys, "account", "alice", "--config", str(config))["opted_out"] is True
    assert main(["optout", "remove", "alice", "--config", str(config)]) == 0
    assert "is no longer opted out of every family" in capsys.readouterr().out
    assert main(["optout", "remove", "alice", "--config", str(config)]) == 0
    assert "was not opted out" in capsys.readouterr().out
    listed = run_json(capsys, "optout", "list", "--config", str(config))["opted_out"]
    assert isinstance(listed, list) and [row["account"] for row in listed] == ["carol"]


def test_optout_add_and_remove_take_families(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["optout", "add", "alice", "posts", "comments", "--config", str(config)]) == 0
    assert main(["optout", "add", "bob", "all", "posts", "--config", str(config)]) == 0
    assert main(["optout", "remove", "alice", "posts", "--config", str(config)]) == 0
    assert "@alice is no longer opted out of posts" in capsys.readouterr().out
    report = run_json(capsys, "optout", "list", "--config", str(config))
    assert report["opted_out"] == [{"account": "bob", "block": None, "source": "operator"}]
    assert report["opted_out_of_families"] == [
        {"account": "alice", "family": "comments", "block": None, "source": "operator"}
    ]
    assert main(["optout", "remove", "bob", "replies", "--config", str(config)]) == 0
    capsys.readouterr()
    families = run_json(capsys, "optout", "list", "--config", str(config))["opted_out_of_families"]
    assert isinstance(families, list)
    assert [(row["account"], row["family"]) for row in families if row["account"] == "bob"] == [
        ("bob", family) for family in sorted(f.value for f in FAMILIES if f is not Metric.REPLIES)
    ]  # every family, the birthday too
    assert main(["optout", "remove", "bob", "--config", str(config)]) == 0
    assert main(["optout", "add", "alice", "comments", "--config", str(config)]) == 0
    assert "@alice was already opted out of comments" in capsys.readouterr().out
    listed = run_json(capsys, "optout", "list", "--config", str(config))["opted_out_of_families"]
    assert isinstance(listed, list) and [row["account"] for row in listed] == ["alice"]


def test_optout_refuses_an_unknown_family_naming_the_known_ones(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["optout", "add", "alice", "payouts", "--config", str(config)])
    assert exit_.value.code == 2
    assert "'payouts' is not a family: the families are upvotes_received" in capsys.readouterr().err


def test_optout_list_words_each_source_and_lists_the_mutes(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stop, stop_posts = Opt(OptCommand.STOP), Opt(OptCommand.STOP, frozenset({Metric.POSTS}))
    changes = OutboxChanges(
        opt_commands={
            "alice": [stop],
            "bob": [replace(stop, source=SOURCE)],
            "carol": [stop_posts],
            "dave": [replace(stop_posts, source=SOURCE)],
        },
        mutes={"erin": True, "frank": False},
    )
    with Store.open(config.parent / "state" / "bot.sqlite") as store:
        store.commit_batch(Tally(), {}, Checkpoint(1240, "04d8", 1_750_000_018), changes)
        store.outbox.remember_asked_mute("gina", True)
    assert main(["optout", "add", "hank", "--config", str(config)]) == 0
    capsys.readouterr()
    assert main(["optout", "list", "--config", str(config)]) == 0
    lines = [" ".join(line.split()) for line in capsys.readouterr().out.splitlines()]
    assert lines == [
        "3 account(s) opted out of every family",
        "@alice by a STOP reply (block 1240)",
        "@bob by custom_json (block 1240)",
        "@hank by the operator",
        "2 account(s) opted out of some families",
        "@carol posts by a STOP reply (block 1240)",
        "@dave posts by custom_json (block 1240)",
        "2 account(s) muting the bot",
        "@erin since block 1240",
        "@gina as a node answered when asked",
    ]


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("Not A Name", "starts with a lowercase letter"),
        ("abc-", "ends with a letter or digit"),
        ("ab.cde", "each dot-separated part at least 3 characters"),
        ("abcdefghijklmnopq", "3 to 16 characters long"),
    ],
)
def test_optout_refuses_what_is_not_an_account_name(
    config: Path, capsys: pytest.CaptureFixture[str], name: str, problem: str
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["optout", "add", name, "--config", str(config)])
    assert exit_.value.code == 2
    error = capsys.readouterr().err
    assert "is not a Hive account name" in error
    assert problem in error


def test_optout_takes_a_name_written_with_its_at_sign(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["optout", "add", "@carol.bot", "--config", str(config)]) == 0
    capsys.readouterr()
    listed = run_json(capsys, "optout", "list", "--config", str(config))["opted_out"]
    assert isinstance(listed, list) and [row["account"] for row in listed] == ["carol.bot"]


def test_account_lists_its_badges_and_how_each_was_announced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(tmp_path, [UNREACHABLE])
    rules = BadgeRules({metric: (1, 5) for metric in Metric}, "badge-bot", max_crossing_age=86_400)
    with Store.open(tmp_path / "state" / "bot.sqlite") as store:
        for num, posts, age in [(10, 1, 0), (11, 4, 86_401)]:  # the second batch found a day late: stale
            store.commit_batch(
                Tally(increments=Counter({("alice", Metric.POSTS): posts})),
                {},
                Checkpoint(num, f"{num:02x}", 1_750_000_000 + 3 * num),
                OutboxChanges(rules=rules, age=age),
            )
    report = run_json(capsys, "account", "alice", "--config", str(path))
    assert [(b["metric"], b["threshold"], b["announced"]) for b in report["badges"]] == [  # type: ignore[attr-defined]
        ("posts", 1, "waiting"),
        ("posts", 5, "stale"),
    ]
    status = run_json(capsys, "status", "--config", str(path))
    assert status["badges"] == 2
    assert status["notifications"]["waiting"] == 1  # type: ignore[index]


def test_backup_copies_the_store_to_a_new_private_file(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "backup.sqlite"
    assert main(["backup", str(target), "--config", str(config)]) == 0
    assert "at block 1234" in capsys.readouterr().out
    assert target.stat().st_mode & 0o077 == 0
    with Store.open(target, create=False) as copy:
        assert copy.load_counts("bob") == {m: (7 if m is Metric.POSTS else 0) for m in Metric}
    assert main(["backup", str(target), "--config", str(config)]) == 1
    assert "already exists" in capsys.readouterr().err


def test_the_demo_says_what_to_install_when_the_emulator_is_missing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "devnet", None)  # as on a machine with the bot's wheel only
    assert main(["demo", "--seconds", "1"]) == 1
    assert "pip install -e ./devnet" in capsys.readouterr().err
