"""``hive-badge-bot account`` and ``ranking``: a payout in HP, and what the account told the bot (each
family's opt-out, the mute, the digest) as the board tells it, from the board's own loader."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from bot.badges import BadgeRules
from bot.baselines import Baseline, BaselineState
from bot.cli import format_baseline, main
from bot.manners import SOURCE, Digest
from bot.metrics import Metric, Occasion
from bot.optouts import Opt, OptCommand
from bot.plan import OutboxChanges
from bot.store import Checkpoint, Store
from bot.tallies import Tally
from tests.support.configs import LADDERS, write_config

BLOCK_TIME = 1_750_000_000
"""2025-06-15T15:06:40Z"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """alice: 1,234.567 HP of payouts (badges at 100 and 1,000 HP), stopped posts and birthday by
    custom_json, muting the bot, on the weekly digest, all in block 1234; bob: 99.999 HP."""
    path = write_config(
        tmp_path, ["http://127.0.0.1:9"], badges={**LADDERS, "payout": {"thresholds": [100, 1000, 5000]}}
    )
    payouts = Counter({("alice", Metric.PAYOUT): 1_234_567, ("bob", Metric.PAYOUT): 99_999})
    rules = BadgeRules({**{m: (1_000_000,) for m in Metric}, Metric.PAYOUT: (100, 1000, 5000)}, "badge-bot")
    changes = OutboxChanges(
        rules=rules,
        opt_commands={
            "alice": [
                Opt(OptCommand.STOP, frozenset({Metric.POSTS}), SOURCE),
                Opt(OptCommand.STOP, frozenset({Occasion.BIRTHDAY}), SOURCE),
            ]
        },
        mutes={"alice": True},
        digests={"alice": Digest.WEEKLY},
    )
    with Store.open(tmp_path / "state" / "bot.sqlite") as store:
        store.commit_batch(Tally(increments=payouts), {}, Checkpoint(1234, "04d2", BLOCK_TIME), changes)
    return path


def account(capsys: pytest.CaptureFixture[str], config: Path, *flags: str, name: str = "alice") -> str:
    assert main(["account", name, "--config", str(config), *flags]) == 0
    return capsys.readouterr().out


def test_account_shows_a_payout_in_hp(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = account(capsys, config).splitlines()
    assert "  payout            1,234.567 HP" in lines
    assert "  badge payout 100 HP (block 1234): muted" in lines
    assert "  badge payout 1,000 HP (block 1234): muted" in lines
    report = json.loads(account(capsys, config, "--json"))
    assert report["counts"]["payout"] == "1234.567"


def test_account_shows_each_familys_opt_out_the_mute_and_the_digest(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = account(capsys, config).splitlines()
    assert lines[0] == "@alice"  # not opted out of every family
    assert "  stopped birthday by custom_json (block 1234)" in lines
    assert "  stopped posts by custom_json (block 1234)" in lines
    assert "  muting the bot    since block 1234" in lines
    assert "  weekly digest     chosen 2025-06-15T15:06:40Z" in lines
    report = json.loads(account(capsys, config, "--json"))
    assert report["opted_out"] is False
    assert report["families"]["posts"] == {
        "notified": False,
        "opted_out": {"block": 1234, "source": "custom_json"},
    }
    assert report["families"]["payout"] == {"notified": False, "opted_out": None}  # the mute silences it
    assert report["muted"] == {"block": 1234, "source": "chain"}
    assert report["digest"] == {"choice": "weekly", "since": "2025-06-15T15:06:40Z"}


def test_an_account_with_nothing_to_tell_says_so(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["account", "carol", "--config", str(config), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["known"] is False
    assert report["muted"] is None and report["digest"] is None
    assert all(family["notified"] for family in report["families"].values())


def test_ranking_shows_payouts_in_hp(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ranking", "--metric", "payout", "--config", str(config)]) == 0
    lines = [" ".join(line.split()) for line in capsys.readouterr().out.splitlines()]
    assert lines == ["ranking by payout", "1. @alice 1,234.567 HP", "2. @bob 99.999 HP"]
    assert main(["ranking", "--metric", "payout", "--json", "--config", str(config)]) == 0
    rows = json.loads(capsys.readouterr().out)["ranking"]
    assert [row["count"] for row in rows] == ["1234.567", "99.999"]


def test_optout_add_and_remove_take_the_birthday_family(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["optout", "add", "bob", "birthday", "--config", str(config)]) == 0
    assert capsys.readouterr().out == "@bob is opted out of birthday\n"
    families = json.loads(account(capsys, config, "--json", name="bob"))["families"]
    assert families["birthday"]["opted_out"] == {"block": None, "source": "operator"}
    assert main(["optout", "remove", "bob", "birthday", "--config", str(config)]) == 0
    assert capsys.readouterr().out == "@bob is no longer opted out of birthday\n"


def test_bootstrap_prints_a_baselines_payout_in_hp() -> None:
    counts = {**{metric: 0 for metric in Metric}, Metric.POSTS: 1_234, Metric.PAYOUT: 1_234_567}
    baseline = Baseline("alice", BaselineState.DONE, None, frozenset(), False, counts, 3, 512, None)
    assert format_baseline(baseline) == (
        "@alice: done after 3 page(s): upvotes_received 0, upvotes_given 0, posts 1,234, comments 0,"
        " replies 0, payout 1,234.567 HP"
    )
