"""The devnet answers the corpus's requests with the shape of the real answers, so that it cannot drift
from real nodes unnoticed: the same keys, nesting and kinds of values (timestamps, assets as NAI objects in
``database_api``/``block_api`` and strings in ``condenser_api``), and for an error the same code and words.

Each request is asked again of a devnet node, adapted to accounts, comments and blocks its chain has
(:data:`ADAPTED`). Keys the real answer has and the devnet leaves out on purpose are listed in
:data:`OMITTED`, each with why; any other missing or extra key is a drift.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from devnet.deep import DeepHistory
from devnet.generator import ChainGenerator
from devnet.node import DevNode
from devnet.ops import TaposRef
from devnet.world import format_time
from tests.chain.conformance.corpus import CORPUS, load, message_template, names, shape_differences
from tests.support.chains import FIRST, GENESIS, LAST, generated_chain

_HIVEMIND_COMMENT = frozenset({
    "abs_rshares", "author_rewards", "beneficiaries", "body", "body_length", "cashout_time",
    "children_abs_rshares", "curator_payout_value", "net_rshares", "net_votes", "percent_hbd",
    "reward_weight", "title", "total_payout_value", "total_vote_weight", "vote_rshares", "json_metadata",
    "max_accepted_payout", "author_payout_value", "total_pending_payout_value", "active",
})  # fmt: skip

OMITTED: dict[str, frozenset[str]] = {
    # hived's account object: the bot reads name and the three authorities; beem's Account reads the
    # balances, manabars and the post count, which the devnet gives. The rest is history of the account.
    "database_api.find_accounts": frozenset(
        {
            "comment_count",
            "curation_rewards",
            "delayed_votes",
            "governance_vote_expiration_ts",
            "hbd_last_interest_payment",
            "hbd_seconds",
            "hbd_seconds_last_update",
            "is_smt",
            "last_account_recovery",
            "last_account_update",
            "last_owner_update",
            "last_post",
            "last_post_edit",
            "last_root_post",
            "last_vote_time",
            "lifetime_vote_count",
            "mined",
            "next_vesting_withdrawal",
            "open_recurrent_transfers",
            "pending_claimed_accounts",
            "pending_transfers",
            "post_bandwidth",
            "post_voting_power",
            "posting_rewards",
            "previous_owner_update",
            "proxied_vsf_votes",
            "recovery_account",
            "reset_account",
            "reward_hbd_balance",
            "reward_hive_balance",
            "reward_vesting_balance",
            "reward_vesting_hive",
            "savings_balance",
            "savings_hbd_balance",
            "savings_hbd_last_interest_payment",
            "savings_hbd_seconds",
            "savings_hbd_seconds_last_update",
            "savings_withdraw_requests",
            "to_withdraw",
            "vesting_withdraw_rate",
            "withdraw_routes",
            "withdrawn",
            "witnesses_voted_for",
            "vesting_balance",
            "voting_power",
            "last_market_bandwidth_update",
            "last_bandwidth_update",
            "average_bandwidth",
            "lifetime_bandwidth",
            "average_market_bandwidth",
            "lifetime_market_bandwidth",
        }
    ),
    # hivemind's comment object: the bot reads author, permlink and created; rewards and payouts are not
    # modelled (no votes carry rshares on the devnet).
    "database_api.find_comments": _HIVEMIND_COMMENT,
    "condenser_api.get_content": _HIVEMIND_COMMENT
    | frozenset(
        {
            "active_votes",
            "author_reputation",
            "pending_payout_value",
            "promoted",
            "replies",
            "total_pending_payout_value",
            "body_length",
            "reblogged_by",
        }
    ),
    # hived's ~200 constants: the bot reads HIVE_CHAIN_ID, beem a handful more; the devnet gives those
    "database_api.get_config": frozenset({"*"}),
    # the error objects of hived and hivemind: beem and the bot read only the code and the message
    "error": frozenset({"data"}),
}
"""Keys (bare names, at any depth) a real answer has that the devnet leaves out on purpose, by method."""


@dataclass(frozen=True)
class Facts:
    """What exists on the devnet chain, to adapt the corpus's requests to."""

    author: str
    permlink: str  # a root post of author's
    voter: str
    head_time: int
    tapos: TaposRef


@pytest.fixture(scope="module")
def node() -> Iterator[DevNode]:
    with DevNode(generated_chain(), head=LAST) as running:
        yield running


@pytest.fixture(scope="module")
def facts(node: DevNode) -> Facts:
    chain = node.source
    assert isinstance(chain, ChainGenerator)
    for num in range(LAST, FIRST, -1):
        block = chain.block(num)
        assert block is not None
        for transaction in block["transactions"]:
            for op in transaction["operations"]:
                value = op["value"]
                if op["type"] == "comment_operation" and value["parent_author"] == "":
                    voter = next(name for name in chain.accounts if name != value["author"])
                    return Facts(value["author"], value["permlink"], voter, chain.block_time(LAST),
                                 TaposRef.of(LAST, chain.block_id(LAST)))  # fmt: skip
    raise AssertionError("no root post on the devnet chain")


def _history(facts: Facts, real: dict[str, Any]) -> dict[str, Any]:
    return {**real, "account": facts.author, "start": -1, "limit": min(int(real["limit"]), 100)}


def _vops(_facts: Facts, real: dict[str, Any]) -> dict[str, Any]:
    """The same request over as many blocks of the devnet's chain (cashouts in each), from its start."""
    begin = LAST - 20
    return {**real, "block_range_begin": begin, "operation_begin": 0,
            "block_range_end": begin + real["block_range_end"] - real["block_range_begin"]}  # fmt: skip


def _unsigned_vote(facts: Facts, _real: Any) -> list[Any]:
    """A vote by an account that does not exist, unsigned, otherwise valid."""
    return [{
        "ref_block_num": facts.tapos.num, "ref_block_prefix": facts.tapos.prefix,
        "expiration": format_time(facts.head_time + 60),
        "operations": [["vote", {"voter": "nobody-here", "author": facts.author, "permlink": facts.permlink,
                                 "weight": 10000}]],
        "extensions": [], "signatures": [],
    }]  # fmt: skip


ADAPTED: dict[str, Callable[[Facts, Any], Any]] = {
    "block_api.get_block_range.milion": lambda f, real: {"starting_block_num": LAST - 120, "count": 120},
    "block_api.get_block_range.non_existing": lambda f, real: {**real, "starting_block_num": LAST + 10_000},
    "block_api.get_block_range.start_zero": lambda f, real: real,
    "database_api.get_dynamic_global_properties.block_5000000": lambda f, real: real,
    "database_api.get_dynamic_global_properties.mainnet_2025": lambda f, real: real,
    "database_api.get_feed_history.get": lambda f, real: real,
    "database_api.get_config.get": lambda f, real: real,
    "database_api.find_accounts.find": lambda f, real: {"accounts": [f.author]},
    "database_api.find_accounts.mainnet_2025": lambda f, real: {"accounts": [f.author, f.voter]},
    "rc_api.find_rc_accounts.mainnet_2025": lambda f, real: {"accounts": [f.author, f.voter]},
    "database_api.find_comments.mixed": lambda f, real: {"comments": [[f.author, f.permlink], ["a", "b"]]},
    "database_api.find_comments.missing_both": lambda f, real: {"comments": [[f.author, f.permlink], []]},
    "database_api.find_comments.no_data": lambda f, real: {"comments": [[f.author, ""]]},
    "database_api.find_comments.too_many_requested": lambda f, real: real,
    "condenser_api.get_content.steemit_firstpost": lambda f, real: [f.author, f.permlink],
    "condenser_api.get_content.nonexisting_post": lambda f, real: [f.author, "nonexisting-post"],
    "account_history_api.get_account_history.vote_and_comment_ops": _history,
    "account_history_api.get_account_history.effective_comment_vote_operation": _history,
    "account_history_api.get_account_history.delete_comment_operation": _history,
    "account_history_api.get_account_history.comment_operation": _history,
    "account_history_api.get_account_history.invalid_limit": lambda f, real: {**real, "account": f.author},
    "account_history_api.enum_virtual_ops.block_3744646_filter_all": _vops,
    "account_history_api.enum_virtual_ops.curation_reward_operation": _vops,
    "account_history_api.enum_virtual_ops.filter16386": _vops,
    "account_history_api.enum_virtual_ops.random05": _vops,
    "account_history_api.enum_virtual_ops.first100k": lambda f, real: real,
    "account_history_api.enum_virtual_ops.invalid_blocks_range": lambda f, real: real,
    "account_history_api.enum_virtual_ops.limit_zero": lambda f, real: real,
    "account_history_api.enum_virtual_ops.limit_negative": lambda f, real: real,
    "bridge.get_account_posts.gtg": lambda f, real: {"sort": "posts", "account": f.author, "limit": 3},
    "bridge.get_account_posts.no_posts": lambda f, real: {
        "sort": "posts",
        "account": f.author,
        "start_author": f.author,
        "start_permlink": f.permlink,
        "limit": 20,
    },
    "bridge.get_account_posts.not_existing_account": lambda f, real: real,
    "bridge.get_account_posts.over_limit": lambda f, real: {**real, "account": f.author},
    "bridge.get_account_posts.invalid_sort": lambda f, real: {**real, "account": f.author},
    "bridge.get_relationship_between_accounts.ignores": lambda f, real: {
        "account1": f.voter,
        "account2": f.author,
    },
    "bridge.get_relationship_between_accounts.none": lambda f, real: {
        "account1": f.author,
        "account2": f.voter,
    },
    "bridge.get_relationship_between_accounts.account2_invalid": lambda f, real: {
        **real,
        "account1": f.author,
    },
    "condenser_api.broadcast_transaction.missing_posting_authority": _unsigned_vote,
    "condenser_api.broadcast_transaction.transaction_tapos_exception": _unsigned_vote,
}
"""How each corpus request is asked of the devnet: the real params → params naming what the devnet has."""


NOT_ASKED = {
    "condenser_api.get_content.deleted_post": "the generated chain deletes no comment",
    "account_history_api.get_account_history.camilla": "asked of a deep history, whose entry 0 is the "
    "account's creation (test_a_deep_historys_entry_0_has_the_shape_of_a_real_account_creation)",
}
"""Corpus answers the devnet is not asked to match, and why."""


def test_every_corpus_answer_is_asked_of_the_devnet() -> None:
    assert sorted([*ADAPTED, *NOT_ASKED]) == names()


@pytest.mark.parametrize("name", sorted(ADAPTED))
def test_the_devnet_answers_with_the_shape_of_the_real_answer(node: DevNode, facts: Facts, name: str) -> None:
    real = load(name)
    params = ADAPTED[name](facts, real.params)
    body = {"jsonrpc": "2.0", "method": real.method, "params": params, "id": 1}
    ours = requests.post(node.url, json=body, timeout=10).json()
    if real.error is not None:
        assert "error" in ours, f"the devnet answered {json.dumps(ours)[:300]}"
        error = ours["error"]
        assert shape_differences(real.error, error, "error", OMITTED["error"]) == []
        assert (error["code"], message_template(error["message"], params)) == (
            real.error["code"], message_template(real.error["message"], real.params)
        )  # fmt: skip
        return
    assert "result" in ours, f"the devnet answered {json.dumps(ours)[:300]}"
    omitted = OMITTED.get(real.method, frozenset())
    assert shape_differences(real.result, ours["result"], "result", omitted) == []


def test_a_deep_historys_entry_0_has_the_shape_of_a_real_account_creation() -> None:
    """The devnet's deep histories begin, as mainnet's do, with the account's creation — the entry a
    filtered page never takes, which is why a baseline ends at a short page, not at index 0."""
    real = load("account_history_api.get_account_history.camilla")
    chain = generated_chain()
    account = chain.accounts[0]
    deep = {account: DeepHistory(entries=50, since=GENESIS - 86_400)}
    with DevNode(chain, head=LAST, deep_histories=deep) as running:
        body = {
            "jsonrpc": "2.0",
            "method": real.method,
            "params": {**real.params, "account": account},
            "id": 1,
        }
        ours = requests.post(running.url, json=body, timeout=10).json()
    assert ours["result"]["history"][0][1]["op"]["type"] == "account_create_operation"
    assert shape_differences(real.result, ours["result"], "result", frozenset()) == []


def test_every_corpus_file_names_its_source_and_is_listed_in_the_readme() -> None:
    readme = (CORPUS / "README.md").read_text(encoding="utf-8")
    for name in names():
        source = load(name).source
        assert {"repo", "commit", "path"} <= source.keys() and len(source["commit"]) == 40, name
        assert f"`{name}.json`" in readme, name
