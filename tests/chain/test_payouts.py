"""The payout family read from the devnet through the bot's chain adapter: enum_virtual_ops paged with a
filter, a node whose history has not got the range set aside (the producer_reward proof), and no call at all
with the family off. The devnet's answers follow hived's enum_virtual_ops patterns (the conformance corpus)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from structlog.testing import capture_logs

import bot.chain.client
from bot.app import build_follower
from bot.errors import TransientChainError
from bot.metrics import Metric
from bot.payouts import PayoutKind
from bot.store import Store
from devnet.generator import ChainGenerator
from devnet.node import DevNode
from tests.support.chains import (
    FIRST,
    LAST,
    WITH_PAYOUT,
    bot_config,
    chain_client,
    follow,
    follow_with,
    generated_chain,
)
from tests.support.recount import PAYEES, recount

VOPS = "account_history_api.enum_virtual_ops"


@pytest.fixture(scope="module")
def chain() -> ChainGenerator:
    return generated_chain()


@pytest.fixture(scope="module")
def node(chain: ChainGenerator) -> Iterator[DevNode]:
    with DevNode(chain, head=LAST + 1, irreversible_lag=1) as served:
        yield served


def expected(node: DevNode, first: int, last: int) -> list[tuple[str, str]]:
    """(kind, receiver) of each payout of the range, in chain order, as the devnet lists them."""
    return [
        (entry["op"]["type"], entry["op"]["value"][PAYEES[entry["op"]["type"]]])
        for entry in node.api.virtual_ops.operations(first, last)
        if entry["op"]["type"] in PAYEES
    ]


def test_a_ranges_payouts_are_every_reward_of_its_blocks_in_chain_order_and_pages_change_nothing(
    node: DevNode, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, last = FIRST + 100, FIRST + 399
    truth = expected(node, first, last)
    kinds = {kind for kind, _ in truth}
    assert len(truth) > 500 and kinds >= {PayoutKind.AUTHOR.value, PayoutKind.CURATION.value}

    whole = chain_client(node.url).fetch_payouts(first, last - first + 1)
    node.requests.clear()
    monkeypatch.setattr(bot.chain.client, "VOPS_PAGE", 97)
    paged = chain_client(node.url).fetch_payouts(first, last - first + 1)

    assert [(p.kind.value, p.account) for p in whole] == truth
    assert paged == whole
    assert list(node.requests).count(VOPS) > len(truth) // 97  # it did page


def test_a_node_whose_history_has_not_got_the_range_is_set_aside_and_the_next_one_answers(
    chain: ChainGenerator, node: DevNode
) -> None:
    first, last = LAST - 99, LAST
    with DevNode(chain, head=LAST - 10, irreversible_lag=1) as behind:
        client = chain_client(behind.url, node.url)
        payouts = client.fetch_payouts(first, last - first + 1)
        assert [(p.kind.value, p.account) for p in payouts] == expected(node, first, last)
        assert client.node_failures() == {behind.url: 1, node.url: 0}

        alone = chain_client(behind.url)
        with pytest.raises(TransientChainError, match=f"no virtual operations of block {last} yet"):
            alone.fetch_payouts(first, last - first + 1)


def test_with_the_payout_family_off_no_virtual_operation_is_read(node: DevNode, tmp_path: Path) -> None:
    node.requests.clear()
    ladders = {metric: (5, 10, 50) for metric in Metric if metric is not Metric.PAYOUT}
    with Store.open(tmp_path / "off.sqlite") as store:
        config = bot_config([node.url], tmp_path / "off.sqlite", badges=ladders)
        counts = follow_with(build_follower(config, store), store, FIRST + 200)
    assert VOPS not in node.requests
    assert all(values[Metric.PAYOUT] == 0 for values in counts.values())
    node.requests.clear()
    counts = follow([node.url], tmp_path / "on.sqlite", stop_at=FIRST + 200, payout=True)
    assert VOPS in node.requests
    assert sum(values[Metric.PAYOUT] for values in counts.values()) > 0


def test_a_batch_logs_the_payouts_it_read_and_as_increments_only_the_counts_of_the_other_families(
    chain: ChainGenerator, node: DevNode, tmp_path: Path
) -> None:
    """A payout's count is its worth in thousandths of HP: summed with the other increments it would
    swamp them (a block's ~10 payouts add thousands)."""
    last = FIRST + 9
    others = recount((chain.block(n) or {} for n in range(FIRST, last + 1)), chain.comment_created)
    with Store.open(tmp_path / "bot.sqlite") as store, capture_logs() as logs:
        config = bot_config([node.url], tmp_path / "bot.sqlite", badges=WITH_PAYOUT)
        assert build_follower(config, store).step(last) is not None
    (line,) = [entry for entry in logs if entry["event"] == "batch_committed"]
    assert line["blocks"] == f"{FIRST}-{last}"
    assert line["payouts"] == len(expected(node, FIRST, last)) > 0
    assert line["increments"] == sum(sum(values.values()) for values in others.values()) > 0
