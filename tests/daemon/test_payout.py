"""The payout family end to end: the bot follows the generated chain (every block pays authors and curators,
``devnet/payouts.py``) with real beem, reads each batch's payouts from ``enum_virtual_ops``, counts exactly
what an independent recount of the node's raw answers counts, and posts a payout badge once to an account
that earned it; an account that stopped the family by custom_json, and one that mutes the bot, hear nothing;
a restart posts none twice."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.location import Location
from bot.metrics import PAYOUT_UNIT, Metric
from devnet.generator import ChainGenerator
from devnet.node import DevNode
from devnet.users import DevUser
from tests.support.chains import load_all_counts
from tests.support.notifying import BOT, START, SteppedBot, bot_comments, generated_chain
from tests.support.paid import paid

BEGIN = START
MIDDLE = BEGIN + 80
END = BEGIN + 200
LADDERS = {Metric.PAYOUT: (1, 10, 100)}
LINE = "HP as payout for your posts, comments and curation."


@pytest.fixture(scope="module")
def chain() -> ChainGenerator:
    return generated_chain()


@pytest.fixture(scope="module")
def paid_early(chain: ChainGenerator) -> tuple[dict[str, int], list[str]]:
    """Each account's payouts in BEGIN … END (0.001 HP), recounted from a node's raw answers, and the
    accounts paid in the first ten blocks."""
    with DevNode(chain, head=END + 2, irreversible_lag=1) as node:
        return dict(paid(node.url, BEGIN, END)), list(paid(node.url, BEGIN, BEGIN + 10))


@pytest.fixture
def node(chain: ChainGenerator) -> Iterator[DevNode]:
    with DevNode(chain, head=BEGIN - 1, irreversible_lag=1) as served:
        yield served


def payout_comments(node: DevNode, account: str) -> list[str]:
    return [
        value["body"]
        for _, value in bot_comments(node, BEGIN, END)
        if value["parent_author"] == account and LINE in value["body"]
    ]


@pytest.mark.slow
def test_payouts_are_counted_as_the_recount_and_a_badge_is_posted_once_never_to_an_opted_out_or_muting_account(
    chain: ChainGenerator,
    node: DevNode,
    paid_early: tuple[dict[str, int], list[str]],
    store_location: Location,
    tmp_path: Path,
) -> None:
    truth, paid_first = paid_early
    early = sorted(paid_first, key=lambda name: -truth[name])
    rich = [  # each with a root post in the last three days, for a notification to reply to
        name
        for name in early
        if truth[name] >= PAYOUT_UNIT and next(chain.root_posts(name, BEGIN - 1, BEGIN - 3 * 28_800), None)
    ]
    celebrated, stopped, muting = rich[:3]
    users = {name: DevUser(node, name, data_dir=tmp_path / name) for name in (stopped, muting)}
    assert users[stopped].opt({"stop": [Metric.PAYOUT.value]}) is not None
    assert users[muting].mute(BOT) is not None

    bot = SteppedBot(node, store_location, start=BEGIN, ladders=LADDERS)
    bot.run(MIDDLE)
    bot = bot.restarted()  # a crash and a restart while payouts keep coming
    bot.run(END + 1)  # the head one past END: END is irreversible

    counts = load_all_counts(bot.poster_store)
    assert {name: values[Metric.PAYOUT] for name, values in counts.items() if values[Metric.PAYOUT]} == truth
    bodies = payout_comments(node, celebrated)
    reached = max(t for t in LADDERS[Metric.PAYOUT] if t * PAYOUT_UNIT <= truth[celebrated])
    assert bodies and any(f"You received more than {reached} {LINE}" in body for body in bodies)
    records = {
        name: [b for b in bot.poster_store.outbox.load_badge_records(name) if b.metric is Metric.PAYOUT]
        for name in (celebrated, stopped, muting)
    }
    assert [b.threshold for b in records[celebrated]] == [
        t for t in LADDERS[Metric.PAYOUT] if t * PAYOUT_UNIT <= truth[celebrated]
    ]
    assert len({b.permlink for b in records[celebrated] if b.permlink}) == len(bodies)  # none twice
    assert payout_comments(node, stopped) == payout_comments(node, muting) == []
    assert records[stopped] and {b.announced for b in records[stopped]} == {"opted_out"}
    assert records[muting] and {b.announced for b in records[muting]} == {"muted"}
    bot.close()
