"""The devnet pays comments out 7 days after creation and serves the virtual operations as hived does:
``account_history_api.enum_virtual_ops`` (paging, filter, include_reversible, hived's refusals) and in the
account history of the accounts hived's ``forward_impacted.cpp`` names.

hived's rules: openhive-network/hive 1584099c, ``libraries/plugins/account_history_rocksdb/
account_history_rocksdb_plugin.cpp`` (``enumVirtualOperationsFromBlockRange``),
``libraries/plugins/apis/account_history_api/account_history_api.cpp`` (limits and their words),
``libraries/chain/database_comment.cpp`` (the order of a cashout's operations).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from beembase import operations

from devnet.chainhistory import NO_TRX_IN_BLOCK
from devnet.deep import DeepHistory
from devnet.generator import ChainGenerator
from devnet.node import DevNode
from devnet.optypes import OP_IDS, impacted
from devnet.payouts import PAYOUT_BLOCKS, PRICES, vote_worth
from devnet.users import DevUser
from devnet.virtualops import filter_bit
from tests.support.chains import FIRST, GENESIS, LAST, SEED, generated_chain

PAYOUT_TYPES = [f"{name}_operation" for name in ("author_reward", "curation_reward", "comment_reward",
                                                 "comment_payout_update", "comment_benefactor_reward")]  # fmt: skip
SINCE = 1_640_995_200  # 2022-01-01: the deep history's first entry
PAYOUT_FILTER = 0x6006  # author_reward | curation_reward | comment_benefactor_reward | producer_reward


def enum(node: DevNode, begin: int, end: int, **params: Any) -> dict[str, Any]:
    body = {"jsonrpc": "2.0", "id": 1, "method": "account_history_api.enum_virtual_ops",
            "params": {"block_range_begin": begin, "block_range_end": end, **params}}  # fmt: skip
    answer = requests.post(node.url, json=body, timeout=30).json()
    found: dict[str, Any] = answer.get("result", answer)
    return found


def paged(node: DevNode, begin: int, end: int, **params: Any) -> list[dict[str, Any]]:
    """Every operation of the range, read as the bot pages (``PAYOUT.md``)."""
    found: list[dict[str, Any]] = []
    answer = enum(node, begin, end, **params)
    found += answer["ops"]
    while answer["next_operation_begin"] != 0 and answer["next_block_range_begin"] < end:
        resume = {"operation_begin": int(answer["next_operation_begin"])}
        answer = enum(node, answer["next_block_range_begin"], end, **params, **resume)
        found += answer["ops"]
    return found


def of_comment(ops: list[dict[str, Any]], author: str, permlink: str) -> list[dict[str, Any]]:
    return [op for op in ops if op["op"]["value"].get("permlink") == permlink
            and op["op"]["value"].get("author") == author]  # fmt: skip


@pytest.fixture(scope="module")
def node() -> Iterator[DevNode]:
    with DevNode(generated_chain(), head=LAST) as running:
        yield running


# -- a user's post --------------------------------------------------------------------------------------------
def test_a_broadcast_post_upvoted_by_others_pays_once_at_creation_plus_7_days(tmp_path: Path) -> None:
    chain = ChainGenerator(SEED, FIRST, GENESIS, blocks=PAYOUT_BLOCKS + 2_000)
    alice, bob, carol, dave = chain.accounts[:4]
    with DevNode(chain, head=FIRST + 100) as node:
        users = {name: DevUser(node, name, data_dir=tmp_path / name) for name in (alice, bob, carol)}
        post = operations.Comment(**{
            "parent_author": "", "parent_permlink": "devnet", "author": alice, "permlink": "paid",
            "title": "Paid", "body": "Pay me", "json_metadata": "{}",
        })  # fmt: skip
        options = operations.Comment_options(**{
            "author": alice, "permlink": "paid", "max_accepted_payout": "1000000.000 HBD", "percent_hbd": 10000,
            "allow_votes": True, "allow_curation_rewards": True,
            "extensions": [[0, {"beneficiaries": [{"account": dave, "weight": 1000}]}]],
        })  # fmt: skip
        accepted = users[alice].broadcast(post, options)
        assert accepted is not None
        users[carol].post("gone", "Gone", "to be deleted")
        node.clock.set_head(accepted.block)
        users[bob].vote(alice, "paid")
        users[carol].vote(alice, "paid", 5000)
        node.clock.set_head(accepted.block + 1)
        users[carol].delete("gone")
        cashout = accepted.block + PAYOUT_BLOCKS

        node.clock.set_head(cashout - 1)
        assert (
            of_comment(enum(node, cashout - 1000, cashout, include_reversible=True)["ops"], alice, "paid")
            == []
        )
        node.clock.set_head(cashout + 500)
        ops = paged(node, cashout - 1000, cashout + 500, include_reversible=True)

    paid = of_comment(ops, alice, "paid")
    assert {op["block"] for op in paid} == {cashout}
    assert [op["op"]["type"] for op in paid] == [
        "curation_reward_operation", "curation_reward_operation", "comment_benefactor_reward_operation",
        "author_reward_operation", "comment_reward_operation", "comment_payout_update_operation",
    ]  # fmt: skip
    assert [op["op"]["value"]["curator"] for op in paid[:2]] == [bob, carol]
    assert paid[2]["op"]["value"]["benefactor"] == dave
    worth = {bob: vote_worth(SEED, bob, 10000), carol: vote_worth(SEED, carol, 5000)}
    total = sum(worth.values())
    for op, voter in zip(paid[:2], (bob, carol), strict=True):
        expected = PRICES.vests(total // 2 * worth[voter] // total)
        assert op["op"]["value"]["reward"] == {"amount": str(expected), "precision": 6, "nai": "@@000000037"}
    author = paid[3]["op"]["value"]
    assert int(author["hbd_payout"]["amount"]) > 0 and int(author["vesting_payout"]["amount"]) > 0
    assert author["curators_vesting_payout"]["amount"] == str(PRICES.vests(total // 2))
    assert of_comment(ops, carol, "gone") == []  # deleted before its cashout


# -- enum_virtual_ops -----------------------------------------------------------------------------------------
def test_every_block_has_its_witness_producer_reward_first(node: DevNode) -> None:
    ops = enum(node, LAST - 20, LAST)["ops"]
    rewards = [op for op in ops if op["op"]["type"] == "producer_reward_operation"]
    assert [op["block"] for op in rewards] == list(range(LAST - 20, LAST))
    assert all(op["op_in_trx"] == 1 for op in rewards)
    chain = node.source
    assert [op["op"]["value"]["producer"] for op in rewards] == [
        chain.witness(n) for n in range(LAST - 20, LAST)
    ]


def test_operation_ids_are_block_shifted_32_and_quoted(node: DevNode) -> None:
    ops = enum(node, LAST - 3, LAST)["ops"]
    assert all(op["operation_id"] == str(op["block"] << 32 | op["op_in_trx"] - 1) for op in ops)


def test_paging_with_a_small_limit_returns_the_ops_of_one_call(node: DevNode) -> None:
    whole = enum(node, LAST - 60, LAST - 10, filter=PAYOUT_FILTER)
    assert (whole["next_block_range_begin"], whole["next_operation_begin"]) == (LAST - 10, 0)
    assert paged(node, LAST - 60, LAST - 10, filter=PAYOUT_FILTER, limit=7) == whole["ops"]


def test_the_filter_takes_only_its_types(node: DevNode) -> None:
    ops = enum(node, LAST - 200, LAST, filter=filter_bit("author_reward_operation"))["ops"]
    assert ops and {op["op"]["type"] for op in ops} == {"author_reward_operation"}
    every = enum(node, LAST - 200, LAST)["ops"]
    assert {"comment_reward_operation", "comment_payout_update_operation"} <= {
        op["op"]["type"] for op in every
    }


def test_include_reversible_false_stops_at_the_irreversible_block(node: DevNode) -> None:
    irreversible = LAST - node.clock.irreversible_lag
    without = enum(node, LAST - 5, LAST + 1)
    assert max(op["block"] for op in without["ops"]) == irreversible
    assert without["next_block_range_begin"] == 0
    assert max(op["block"] for op in enum(node, LAST - 5, LAST + 1, include_reversible=True)["ops"]) == LAST


def test_group_by_block_answers_ops_by_block(node: DevNode) -> None:
    answer = enum(node, LAST - 3, LAST, group_by_block=True)
    assert answer["ops"] == []
    assert [group["block"] for group in answer["ops_by_block"]] == [LAST - 3, LAST - 2, LAST - 1]
    assert all(group["irreversible"] for group in answer["ops_by_block"])


@pytest.mark.parametrize(
    ("begin", "end", "params", "message"),
    [
        (1, 2002, {}, "Block range distance must be less than or equal to 2000"),
        (25, 25, {}, "Block range must be upward"),
        (1, 2, {"limit": 0}, "limit of 0 is lesser or equal 0"),
        (1, 2, {"limit": 150001}, "limit of 150001 is greater than maxmimum allowed"),
    ],
)
def test_hived_refusals_keep_its_code_and_words(
    node: DevNode, begin: int, end: int, params: dict[str, Any], message: str
) -> None:
    answer = enum(node, begin, end, **params)
    assert answer["error"]["code"] == -32003 and message in answer["error"]["message"]


# -- account history ------------------------------------------------------------------------------------------
def history_of(node: DevNode, account: str, *type_names: str, start: int = -1) -> list[dict[str, Any]]:
    """The entries of ``account``'s history up to index ``start`` (1000 at most) of these types (none: all)."""
    bits = sum(1 << OP_IDS[name] for name in type_names)
    params = {"account": account, "start": start, "limit": 1000, "include_reversible": True}
    if bits:
        params.update(operation_filter_low=bits & (1 << 64) - 1, operation_filter_high=bits >> 64)
    body = {"jsonrpc": "2.0", "id": 1, "method": "account_history_api.get_account_history", "params": params}
    return [entry for _, entry in requests.post(node.url, json=body, timeout=60).json()["result"]["history"]]


def test_history_carries_the_payouts_of_the_impacted_accounts(node: DevNode) -> None:
    ops = enum(node, LAST - 100, LAST, filter=PAYOUT_FILTER)["ops"]
    author_reward = next(op for op in ops if op["op"]["type"] == "author_reward_operation")
    curation = next(op for op in ops if op["op"]["type"] == "curation_reward_operation")
    producer = ops[0]
    author, curator = author_reward["op"]["value"]["author"], curation["op"]["value"]["curator"]

    def same(entry: dict[str, Any], op: dict[str, Any]) -> bool:
        return (entry["block"], entry["op_in_trx"], entry["op"]) == (op["block"], op["op_in_trx"], op["op"])

    assert any(same(e, author_reward) for e in history_of(node, author, "author_reward_operation"))
    assert any(same(e, curation) for e in history_of(node, curator, "curation_reward_operation"))
    assert not any(same(e, curation) for e in history_of(node, curation["op"]["value"]["author"],
                                                         "curation_reward_operation"))  # fmt: skip
    producer_name = producer["op"]["value"]["producer"]
    assert any(same(e, producer) for e in history_of(node, producer_name, "producer_reward_operation"))


def test_a_deep_history_holds_its_accounts_author_curation_and_beneficiary_payouts() -> None:
    """Deep histories (devnet.episodes) pay out too: the author's own comments 7 days after their creation
    (with the votes of the history), comments it upvoted, others' comments naming it beneficiary."""
    account, size = "deep-payee", 3_000
    with DevNode(
        generated_chain(), head=FIRST + 10, deep_histories={account: DeepHistory(size, SINCE)}
    ) as node:
        payouts = history_of(node, account, *PAYOUT_TYPES)
        everything = [e for top in range(999, size, 1000) for e in history_of(node, account, start=top)
                      if e["block"] < FIRST]  # fmt: skip
    assert {e["op"]["type"] for e in payouts} == set(PAYOUT_TYPES)
    assert all(e["virtual_op"] and e["trx_in_block"] == NO_TRX_IN_BLOCK for e in payouts)
    assert all(account in impacted(e["op"]) for e in payouts)
    created = {
        (e["op"]["value"]["permlink"], e["block"])
        for e in everything
        if e["op"]["type"] == "comment_operation"
    }
    for entry in payouts:
        if entry["op"]["type"] == "author_reward_operation":
            assert (entry["op"]["value"]["permlink"], entry["block"] - PAYOUT_BLOCKS) in created


def test_a_prepared_range_is_answered_without_computing_a_block_again(node: DevNode) -> None:
    with DevNode(generated_chain(), head=LAST) as cold:
        expected = enum(cold, LAST - 300, LAST, filter=PAYOUT_FILTER)
    node.api.virtual_ops.prepare(LAST - 300, LAST - 1)
    built = node.api.virtual_ops.blocks_built
    assert enum(node, LAST - 300, LAST, filter=PAYOUT_FILTER) == expected
    assert node.api.virtual_ops.blocks_built == built


def test_a_recount_reads_every_virtual_op_of_a_range_as_enum_virtual_ops_lists_them(node: DevNode) -> None:
    assert node.api.virtual_ops.operations(LAST - 40, LAST - 11) == paged(
        node, LAST - 40, LAST - 10, limit=25
    )
