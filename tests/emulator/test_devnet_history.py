"""The devnet node serves account history as hived (HAfAH) does: ``account_history_api.get_account_history``
and ``condenser_api.get_account_history``, for its generated chain and for deep histories before it.

The served chain's entries are checked against an independent scan of the blocks (this file's own rules of
which accounts an operation impacts and of which votes took effect, with the generator's comment creation
times); deep histories against the rules a lifetime count depends on (every case is there, every effective
op belongs where hived would emit one), and for cost: a page deep inside a million entries is computed from
a few episodes, not from the entries before it.
"""

from __future__ import annotations

import itertools
import json
import random
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from devnet.chainhistory import NO_TRX_IN_BLOCK
from devnet.deep import EPISODE, DeepHistory
from devnet.generator import ChainGenerator
from devnet.head import HeadClock
from devnet.history import HistoryApi
from devnet.ledger import Accepted
from devnet.node import DevNode
from devnet.optypes import HF14_TIME, vote_rshares
from devnet.payouts import block_vops
from tests.support.paths import FIXTURES

Entry = dict[str, Any]
Expected = tuple[int, int, int, bool, dict[str, Any]]  # block, trx_in_block, op_in_trx, virtual, op

SEED = 23
FIRST = 90_000_000
GENESIS = 1_750_000_000  # time of FIRST (2025-06-15)
HEAD = FIRST + 599
LAG = 2
LIB = HEAD - LAG
WEEK = 604_800
HF24 = int(datetime(2020, 10, 14, 14, tzinfo=UTC).timestamp())
DEEP_SINCE = int(datetime(2019, 6, 1, tzinfo=UTC).timestamp())  # before HF24
DEEP_ENTRIES = 3_000
BIG_SINCE = int(datetime(2021, 1, 1, tzinfo=UTC).timestamp())
BIG_ENTRIES = 1_000_000
TYPE_IDS = {
    "vote_operation": 0, "comment_operation": 1, "transfer_operation": 2, "delete_comment_operation": 17,
    "custom_json_operation": 18, "comment_options_operation": 19, "claim_reward_balance_operation": 39,
    "effective_comment_vote_operation": 72,
}  # fmt: skip
ENTRY_FIELDS = {
    "trx_id",
    "block",
    "trx_in_block",
    "op_in_trx",
    "virtual_op",
    "timestamp",
    "op",
    "operation_id",
}
EFFECTIVE_FIELDS = {"voter", "author", "permlink", "weight", "rshares", "total_vote_weight", "pending_payout"}
START_ERROR = (
    "Assert Exception:args.start >= args.limit-1: "
    "start must be greater than or equal to limit-1 (start is 0-based index)"
)


# -- helpers --------------------------------------------------------------------------------------------------
_session = requests.Session()


def rpc(url: str, method: str, params: Any) -> dict[str, Any]:
    answer: dict[str, Any] = _session.post(
        url, json={"jsonrpc": "2.0", "method": method, "params": params, "id": 7}, timeout=30
    ).json()
    assert answer["id"] == 7
    return answer


def history(url: str, account: str, start: int = -1, limit: int = 1000, **more: Any) -> list[list[Any]]:
    answer = rpc(url, "account_history_api.get_account_history",
                 {"account": account, "start": start, "limit": limit, **more})  # fmt: skip
    assert "error" not in answer, answer
    assert set(answer["result"]) == {"history"}
    page: list[list[Any]] = answer["result"]["history"]
    return page


def error(url: str, method: str, params: Any) -> dict[str, Any]:
    answer = rpc(url, method, params)
    assert "result" not in answer, answer
    return dict(answer["error"])


def fetch_all(url: str, account: str, limit: int = 1000, down_to: int = 0, **more: Any) -> dict[int, Entry]:
    """The whole history (down to index ``down_to``), paging backward as a client does (start = lowest index
    - 1); every page must be ascending and every index must come exactly once."""
    found: dict[int, Entry] = {}
    start = -1
    while True:
        page = history(url, account, start, limit if start < 0 else min(limit, start + 1), **more)
        indices = [index for index, _ in page]
        assert indices == sorted(set(indices))
        assert not set(indices) & set(found)
        found.update((index, entry) for index, entry in page)
        if not page or indices[0] <= down_to:
            return found
        start = indices[0] - 1


def impacted(op: dict[str, Any]) -> set[str]:
    """This file's own reading of hived's impacted accounts, for the operations the devnet carries."""
    kind, value = op["type"], op["value"]
    if kind in ("vote_operation", "effective_comment_vote_operation"):
        return {value["voter"], value["author"]}
    if kind == "comment_operation":
        return {value["author"], value["parent_author"]} - {""}
    if kind in ("delete_comment_operation", "comment_options_operation"):
        return {value["author"]}
    if kind == "custom_json_operation":
        return {*value["required_auths"], *value["required_posting_auths"]}
    if kind == "account_create_operation":
        return {value["creator"], value["new_account_name"]}
    if kind == "transfer_operation":
        return {value["from"], value["to"]}
    if kind in ("author_reward_operation", "comment_reward_operation", "comment_payout_update_operation"):
        return {value["author"]}
    if kind == "curation_reward_operation":
        return {value["curator"]}
    if kind == "comment_benefactor_reward_operation":  # the author too (forward_impacted.cpp)
        return {value["benefactor"], value["author"]}
    if kind == "producer_reward_operation":
        return {value["producer"]}
    assert kind == "claim_reward_balance_operation", kind
    return {value["account"]}


def epoch(text: str) -> int:
    return int(datetime.strptime(text, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC).timestamp())


def deep_block_time(block: int) -> int:
    return GENESIS - 3 * (FIRST - block)


def type_of(entry: Entry) -> str:
    return str(entry["op"]["type"])


def newest_matching(full: dict[int, Entry], types: set[str], start: int, limit: int) -> list[int]:
    return sorted(i for i, e in full.items() if i <= start and type_of(e) in types)[-limit:]


def mask(*types: str) -> dict[str, int]:
    low = sum(1 << TYPE_IDS[t] for t in types if TYPE_IDS[t] < 64)
    high = sum(1 << (TYPE_IDS[t] - 64) for t in types if TYPE_IDS[t] >= 64)
    return {"operation_filter_low": low, "operation_filter_high": high}


# -- fixtures -------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def chain() -> ChainGenerator:
    return ChainGenerator(SEED, FIRST, GENESIS, blocks=3_000)


@pytest.fixture(scope="module")
def scan(chain: ChainGenerator) -> dict[str, list[Expected]]:
    """Every account's expected entries in blocks FIRST … HEAD, from the blocks alone: each operation, and an
    effective op after each vote cast less than 7 days after the comment's creation."""
    expected: dict[str, list[Expected]] = {}
    for num in range(FIRST, HEAD + 1):
        block = chain.block(num)
        assert block is not None
        when = epoch(block["timestamp"])
        for trx_in_block, transaction in enumerate(block["transactions"]):
            op_in_trx = 0
            for op in transaction["operations"]:
                for account in impacted(op):
                    expected.setdefault(account, []).append((num, trx_in_block, op_in_trx, False, op))
                op_in_trx += 1
                if op["type"] == "vote_operation":
                    vote = op["value"]
                    created = chain.comment_created(vote["author"], vote["permlink"])
                    assert created is not None
                    if when - created < WEEK:
                        effective = {"type": "effective_comment_vote_operation", "value": vote}
                        for account in impacted(op):
                            expected[account].append((num, trx_in_block, op_in_trx, True, effective))
                        op_in_trx += 1
        for op_in_trx, op in enumerate(block_vops(chain, num), 1):  # the producer's reward, the cashouts
            for account in impacted(op):
                expected.setdefault(account, []).append((num, NO_TRX_IN_BLOCK, op_in_trx, True, op))
    return expected


@pytest.fixture(scope="module")
def busiest(scan: dict[str, list[Expected]]) -> list[str]:
    return sorted(scan, key=lambda account: (-len(scan[account]), account))


@pytest.fixture(scope="module")
def node(chain: ChainGenerator, busiest: list[str]) -> Iterator[DevNode]:
    deep = {
        busiest[0]: DeepHistory(DEEP_ENTRIES, DEEP_SINCE),
        busiest[1]: DeepHistory(BIG_ENTRIES, BIG_SINCE),
    }
    with DevNode(chain, head=HEAD, irreversible_lag=LAG, deep_histories=deep) as running:
        yield running


@pytest.fixture(scope="module")
def deep_account(busiest: list[str]) -> str:
    return busiest[0]


@pytest.fixture(scope="module")
def big_account(busiest: list[str]) -> str:
    return busiest[1]


@pytest.fixture(scope="module")
def deep_full(node: DevNode, deep_account: str) -> dict[int, Entry]:
    return fetch_all(node.url, deep_account)


# -- the served chain -----------------------------------------------------------------------------------------
def served(expected: list[Expected], last_block: int) -> list[Expected]:
    return [item for item in expected if item[0] <= last_block]


def as_expected(entry: Entry) -> Expected:
    op = entry["op"]
    if (
        type_of(entry) == "effective_comment_vote_operation"
    ):  # what identifies the vote; the numbers: the node's
        assert set(op["value"]) == EFFECTIVE_FIELDS
        op = {"type": op["type"], "value": {k: op["value"][k] for k in ("voter", "author", "permlink")}}
    return entry["block"], entry["trx_in_block"], entry["op_in_trx"], entry["virtual_op"], op


def as_expected_scan(item: Expected) -> Expected:
    block, trx_in_block, op_in_trx, virtual, op = item
    if op["type"] == "effective_comment_vote_operation":
        op = {"type": op["type"], "value": {k: op["value"][k] for k in ("voter", "author", "permlink")}}
    return block, trx_in_block, op_in_trx, virtual, op


def test_each_account_gets_exactly_the_operations_that_impact_it_with_effective_ops_after_votes_that_counted(
    node: DevNode, chain: ChainGenerator, scan: dict[str, list[Expected]], busiest: list[str]
) -> None:
    transfers = [a for a in busiest if any(op["type"] == "transfer_operation" for *_, op in scan[a])]
    accounts = [*busiest[2:6], transfers[0], busiest[-1]]
    for account in accounts:
        full = fetch_all(node.url, account, limit=250)
        assert sorted(full) == list(range(len(full)))
        got = [as_expected(full[index]) for index in sorted(full)]
        assert got == [as_expected_scan(item) for item in served(scan[account], LIB)], account
    for account, first in ((busiest[0], DEEP_ENTRIES), (busiest[1], BIG_ENTRIES)):  # after the deep history
        tail = fetch_all(node.url, account, down_to=first - 1)
        chain_part = [as_expected(tail[index]) for index in sorted(tail) if index >= first]
        assert chain_part == [as_expected_scan(item) for item in served(scan[account], LIB)]
        assert tail[first - 1]["block"] < FIRST <= tail[first]["block"]


def test_votes_on_paid_out_comments_are_served_without_an_effective_op(
    node: DevNode, chain: ChainGenerator, scan: dict[str, list[Expected]]
) -> None:
    votes = [
        (b, t, o, op) for items in scan.values() for b, t, o, v, op in items if op["type"] == "vote_operation"
    ]
    late = [(b, t, o, op) for b, t, o, op in votes if b <= LIB
            and chain.block_time(b) - (chain.comment_created(op["value"]["author"], op["value"]["permlink"]) or 0)
            >= WEEK]  # fmt: skip
    assert late and len(late) < len(votes)
    block, trx_in_block, op_in_trx, op = late[0]
    entries = history(node.url, op["value"]["voter"], -1, 1000)
    mine = [e for _, e in entries if (e["block"], e["trx_in_block"]) == (block, trx_in_block)]
    assert [e["op"] for e in mine] == [op] and mine[0]["op_in_trx"] == op_in_trx


def test_entries_have_hiveds_fields_and_come_from_the_blocks(
    node: DevNode, chain: ChainGenerator, busiest: list[str]
) -> None:
    page = history(node.url, busiest[2], -1, 1000)
    assert len(page) > 100
    kinds = Counter(type_of(entry) for _, entry in page)
    assert {"vote_operation", "effective_comment_vote_operation", "comment_operation"} <= set(kinds)
    for _, entry in page:
        assert set(entry) == ENTRY_FIELDS and entry["operation_id"] == 0
        assert isinstance(entry["virtual_op"], bool)
        block = chain.block(entry["block"])
        assert block is not None
        assert entry["timestamp"] == block["timestamp"]
        if entry["trx_in_block"] == NO_TRX_IN_BLOCK:  # the block's own virtual operations (devnet.payouts)
            assert entry["virtual_op"] and entry["trx_id"] == "0" * 40
            assert entry["op"] == block_vops(chain, entry["block"])[entry["op_in_trx"] - 1]
            continue
        assert entry["virtual_op"] == (type_of(entry) == "effective_comment_vote_operation")
        assert entry["trx_id"] == block["transaction_ids"][entry["trx_in_block"]]
        operations = block["transactions"][entry["trx_in_block"]]["operations"]
        if not entry["virtual_op"]:
            assert entry["op"] in operations
            continue
        value = entry["op"]["value"]
        vote = {k: value[k] for k in ("voter", "author", "permlink")}
        assert any(
            op["type"] == "vote_operation" and vote.items() <= op["value"].items() for op in operations
        )
        weight = next(op["value"]["weight"] for op in operations if vote.items() <= op["value"].items())
        rshares = int(value["rshares"])  # hived writes numbers beyond 2^53 - 1 as strings
        # hived's sign rule (hive_evaluator_social.cpp, lines 746 and 706-713): an upvote's rshares may be 0
        # (a dust voter, the last 12 hours before cashout), an unvote's always are (from HF14 on)
        assert (rshares > 0 and weight > 0) or (rshares < 0 and weight < 0) or (rshares == 0 and weight >= 0)
        assert int(value["weight"]) >= 0 and int(value["total_vote_weight"]) >= int(value["weight"])
        for field in ("weight", "rshares", "total_vote_weight"):
            assert isinstance(value[field], int) == (abs(int(value[field])) <= 2**53 - 1)
        assert set(value["pending_payout"]) == {"amount", "precision", "nai"}
        assert value["pending_payout"]["nai"] == "@@000000013" and value["pending_payout"]["precision"] == 3


def test_include_reversible_adds_the_entries_of_blocks_above_the_irreversible_one(
    node: DevNode, scan: dict[str, list[Expected]], busiest: list[str]
) -> None:
    account = next(a for a in busiest[2:] if scan[a][-1][0] > LIB and len(scan[a]) > 3)
    irreversible = history(node.url, account)
    everything = history(node.url, account, include_reversible=True)
    assert (
        len(everything)
        == len(served(scan[account], HEAD))
        > len(irreversible)
        == len(served(scan[account], LIB))
    )
    assert everything[: len(irreversible)] == irreversible
    assert all(entry["block"] <= LIB for _, entry in irreversible)
    assert any(entry["block"] > LIB for _, entry in everything)


@pytest.mark.parametrize("replayed", [True, False])
def test_a_chain_running_through_hardfork_24_has_effective_ops_in_every_era_unless_the_node_is_old(
    replayed: bool,
) -> None:
    """A node replayed with today's hived emits effective ops for votes before HF24 too (hived's pattern
    test ``get_account_history/only_account``, 2016); an old node (an explicit option) from HF24 on only."""
    genesis = HF24 - 900  # block FIRST + 300 is the first one at HF24
    chain = ChainGenerator(SEED, FIRST, genesis, blocks=1_000)
    head = HeadClock(FIRST + 599, FIRST + 999, irreversible_lag=0)
    api = HistoryApi(chain, head, threading.Lock(), effective_votes_before_hf24=replayed)
    api.history("nobody-at-all")  # scans the chain up to the head
    votes: Counter[tuple[str, bool]] = Counter()
    for num in range(FIRST, FIRST + 600):
        entries = api.chain.entries_of(num)
        for entry, following in zip(entries, [*entries[1:], None], strict=True):
            if entry.op["type"] != "vote_operation":
                continue
            value, when = entry.op["value"], chain.block_time(num)
            young = when - (chain.comment_created(value["author"], value["permlink"]) or 0) < WEEK
            effective = following is not None and following.op["type"] == "effective_comment_vote_operation"
            assert effective == (young and (replayed or when >= HF24))
            votes["after" if when >= HF24 else "before", effective] += 1
    assert votes["before", False] and votes["after", True] and bool(votes["before", True]) == replayed


# -- the API's rules ------------------------------------------------------------------------------------------
def test_paging_backward_from_the_newest_visits_every_entry_exactly_once(
    node: DevNode, deep_account: str
) -> None:
    by_thousand = fetch_all(node.url, deep_account, limit=1000)
    by_odd_pages = fetch_all(node.url, deep_account, limit=137)
    assert sorted(by_thousand) == list(range(len(by_thousand))) and len(by_thousand) > DEEP_ENTRIES
    assert by_odd_pages == by_thousand


def test_start_limit_and_account_are_checked_with_hiveds_words(node: DevNode, deep_account: str) -> None:
    url, method = node.url, "account_history_api.get_account_history"

    def refused(**params: Any) -> dict[str, Any]:
        return error(url, method, {"account": deep_account, **params})

    too_many = refused(start=-1, limit=1001)
    assert too_many == {"code": -32003, "message":
                        "Assert Exception:args.limit <= 1000: limit of 1001 is greater than maxmimum allowed"}  # fmt: skip
    assert refused(start=-1, limit=-1)["message"].endswith(
        "limit of 4294967295 is greater than maxmimum allowed"
    )
    assert refused(start=-1, limit=0) == {"code": -32003, "message": START_ERROR}
    assert refused(start=8, limit=10) == {"code": -32003, "message": START_ERROR}
    assert [i for i, _ in history(url, deep_account, 9, 10)] == list(range(10))
    assert [i for i, _ in history(url, deep_account, 0, 1)] == [0]
    newest = history(url, deep_account, -1, 3)
    assert history(url, deep_account, 2**64 - 1, 3) == newest == history(url, deep_account, 2**63 - 1, 3)
    assert history(url, deep_account, newest[-1][0] + 10**6, 3) == newest
    assert history(url, "nobody-at-all", -1, 1000) == []
    long_name = error(url, method, {"account": "a" * 17, "start": -1, "limit": 10})
    assert long_name["code"] == -32003 and "Input too large" in long_name["message"]
    assert error(url, method, {"start": -1, "limit": 10})["code"] == -32602
    condenser = error(url, "condenser_api.get_account_history", [deep_account, 5, 10])
    assert condenser == {"code": -32003, "message": START_ERROR}


def test_filters_return_up_to_limit_entries_of_the_chosen_types_walking_back_from_start(
    node: DevNode, deep_account: str, deep_full: dict[int, Entry]
) -> None:
    newest = max(deep_full)
    cases = [
        ({"vote_operation"}, -1, 100),
        ({"effective_comment_vote_operation"}, -1, 250),
        ({"comment_operation", "delete_comment_operation"}, 2_500, 40),
        ({"delete_comment_operation"}, newest, 1000),  # fewer than limit exist: all of them
        (
            {"transfer_operation", "custom_json_operation", "claim_reward_balance_operation"},
            DEEP_ENTRIES + 5,
            300,
        ),
        ({"comment_options_operation", "effective_comment_vote_operation"}, DEEP_ENTRIES - 1, 999),
        ({"vote_operation", "effective_comment_vote_operation"}, newest - 3, 1000),
    ]
    for types, start, limit in cases:
        page = history(node.url, deep_account, start, limit, **mask(*types))
        want = newest_matching(deep_full, types, newest if start < 0 else start, limit)
        assert [i for i, _ in page] == want, (types, start)
        assert all(type_of(entry) in types and entry == deep_full[i] for i, entry in page)
        assert len(page) == limit or len(want) < limit
    deletes = history(node.url, deep_account, -1, 1000, **mask("delete_comment_operation"))
    assert 0 < len(deletes) < 1000
    assert history(node.url, deep_account, -1, 1000, operation_filter_low=0, operation_filter_high=0) == []
    assert history(node.url, deep_account, -1, 1000, operation_filter_low=0) == []
    only_high = history(node.url, deep_account, -1, 10, operation_filter_high=1 << 8)
    assert len(only_high) == 10 and {type_of(e) for _, e in only_high} == {"effective_comment_vote_operation"}
    legacy = rpc(node.url, "condenser_api.get_account_history", [deep_account, -1, 50, 1 << 17 | 1 << 1, 0])
    assert [i for i, _ in legacy["result"]] == newest_matching(
        deep_full, {"comment_operation", "delete_comment_operation"}, newest, 50
    )


def test_condenser_answers_the_same_history_in_legacy_form(node: DevNode, deep_account: str) -> None:
    new = history(node.url, deep_account, -1, 1000)
    legacy = rpc(node.url, "call", ["condenser_api", "get_account_history", [deep_account, -1, 1000]])[
        "result"
    ]
    assert [i for i, _ in legacy] == [i for i, _ in new]
    names: Counter[str] = Counter()
    for (_, old), (_, entry) in zip(legacy, new, strict=True):
        assert set(old) == ENTRY_FIELDS - {"operation_id"}
        assert {k: old[k] for k in old if k != "op"} == {k: entry[k] for k in old if k != "op"}
        name, value = old["op"]
        assert name + "_operation" == type_of(entry)
        names[name] += 1
        if name == "effective_comment_vote":
            assert re.fullmatch(r"\d+\.\d{3} HBD", value["pending_payout"])
        if name == "transfer":
            assert re.fullmatch(r"\d+\.\d{3} (HIVE|HBD)", value["amount"])
    assert names["vote"] and names["effective_comment_vote"] and names["comment"]


def test_beem_reads_the_history_as_the_api_serves_it(
    node: DevNode, deep_account: str, tmp_path: Path
) -> None:
    from beem import Hive
    from beem.account import Account

    hive = Hive(node=[node.url], num_retries=0, data_dir=str(tmp_path / "beem"))
    account = Account(deep_account, blockchain_instance=hive)
    raw = list(account.get_account_history(DEEP_ENTRIES + 20, 100, order=1, raw_output=True))
    assert raw == history(node.url, deep_account, DEEP_ENTRIES + 20, 100)
    ops = list(account.get_account_history(-1, 1000, only_ops=["vote"]))
    assert ops and all(op["type"] == "vote" and op["account"] == deep_account for op in ops)
    assert account.virtual_op_count() == max(fetch_all(node.url, deep_account))


# -- broadcasts -----------------------------------------------------------------------------------------------
def test_broadcast_transactions_join_the_history_with_their_ids(
    chain: ChainGenerator, tmp_path: Path
) -> None:
    from beembase import operations

    from devnet.users import DevUser

    head = FIRST + 300
    with DevNode(chain, head=head, irreversible_lag=0) as node:
        author, voter, permlink = chain.accounts[2000], chain.accounts[2001], "devnet-history-test"
        parent = next(op["value"] for op in itertools.chain.from_iterable(
            t["operations"] for t in (chain.block(head - 5) or {})["transactions"]) if op["type"] == "comment_operation")  # fmt: skip
        writer, fan = (
            DevUser(node, author, data_dir=tmp_path / "a"),
            DevUser(node, voter, data_dir=tmp_path / "v"),
        )
        before = history(node.url, author, -1, 1000)  # the index is built up to the head now
        node.clock.set_head(head - 3)  # back below blocks scanned: the next broadcasts go into scanned blocks
        steps: list[Callable[[], Accepted | None]] = [
            lambda: writer.reply(parent["author"], parent["permlink"], "first", permlink=permlink),
            lambda: writer.broadcast(operations.Delete_comment(author=author, permlink=permlink)),
            lambda: writer.reply(parent["author"], parent["permlink"], "again", permlink=permlink),
            lambda: fan.vote(author, permlink, 10000),
            lambda: fan.vote(author, permlink, 5000),
        ]
        accepted = []
        for step in steps:
            done = step()
            assert done is not None
            accepted.append(done)
            node.clock.set_head(done.block)
        after = history(node.url, author, -1, 1000)
    assert after[: len(before)] == before
    ours = [e for _, e in after if e["trx_id"] in {a.id for a in accepted}]
    assert [(type_of(e), e["virtual_op"]) for e in ours] == [
        ("comment_operation", False),
        ("delete_comment_operation", False),
        ("comment_operation", False),
        ("vote_operation", False), ("effective_comment_vote_operation", True),
        ("vote_operation", False), ("effective_comment_vote_operation", True),
    ]  # fmt: skip
    by_id = {a.id: a for a in accepted}
    for entry in ours:
        assert (entry["block"], entry["trx_in_block"]) == (
            by_id[entry["trx_id"]].block,
            by_id[entry["trx_id"]].trx_num,
        )


# -- deep histories -------------------------------------------------------------------------------------------
def test_a_deep_history_holds_every_case_a_lifetime_count_meets(
    deep_full: dict[int, Entry], deep_account: str, chain: ChainGenerator
) -> None:
    me = deep_account
    deep = [deep_full[i] for i in range(DEEP_ENTRIES)]
    assert all(entry["block"] < FIRST for entry in deep) and deep_full[DEEP_ENTRIES]["block"] >= FIRST
    seen: Counter[str] = Counter()
    live: dict[str, int] = {}  # the account's comments that exist → creation time
    deleted: set[str] = set()
    votes: dict[tuple[str, str, str], int] = {}
    for index, entry in enumerate(deep):
        op, value, when = entry["op"], entry["op"]["value"], epoch(entry["timestamp"])
        assert me in impacted(op)
        assert when == deep_block_time(entry["block"]) and DEEP_SINCE <= when < GENESIS
        assert index == 0 or entry["block"] >= deep[index - 1]["block"]
        assert value.get("permlink", "hist-").startswith("hist-")
        if "permlink" in value:
            assert chain.comment_created(value.get("author", ""), value["permlink"]) is None
        kind = type_of(entry)
        if kind == "comment_operation" and value["author"] == me:
            if value["permlink"] in live:
                seen["edit"] += 1
            else:
                seen[
                    "re-creation"
                    if value["permlink"] in deleted
                    else "post"
                    if not value["parent_author"]
                    else "reply"
                ] += 1
                live[value["permlink"]] = when
        elif kind == "comment_operation":
            assert value["parent_author"] == me and value["parent_permlink"] in live
            seen["reply by another"] += 1
        elif kind == "delete_comment_operation":
            assert when - live.pop(value["permlink"]) < WEEK
            deleted.add(value["permlink"])
            seen["delete"] += 1
        elif kind == "vote_operation":
            key = (value["voter"], value["author"], value["permlink"])
            if value["author"] == me and value["permlink"] in live:
                created = live[value["permlink"]]
            elif value["author"] == me:  # an older episode's first comment
                created = next(
                    epoch(e["timestamp"])
                    for e in deep
                    if e["op"]["value"].get("permlink") == value["permlink"]
                )
            else:
                created = deep_block_time(int(value["permlink"].split("-")[1], 36))
            took_effect = when - created < WEEK  # in every era, as on a replayed node
            following = deep[index + 1] if index + 1 < DEEP_ENTRIES else deep_full[DEEP_ENTRIES]
            has_effective = type_of(following) == "effective_comment_vote_operation"
            assert has_effective == took_effect, (index, entry)
            if has_effective:
                assert following["op"]["value"]["voter"] == value["voter"] and following["virtual_op"]
                assert (following["trx_id"], following["op_in_trx"]) == (
                    entry["trx_id"],
                    entry["op_in_trx"] + 1,
                )
            assert value["weight"] != 0 or key in votes  # an unvote removes an earlier vote
            seen["vote change" if key in votes else "first vote"] += 1
            seen["unvote" if value["weight"] == 0 else "downvote" if value["weight"] < 0 else
                 "full upvote" if value["weight"] == 10000 else "partial upvote"] += 1  # fmt: skip
            seen["self-vote" if value["voter"] == value["author"] == me else "vote cast" if value["voter"] == me
                 else "vote received"] += 1  # fmt: skip
            seen["on a paid-out comment" if when - created >= WEEK else "in time"] += 1
            seen["before HF24" if when < HF24 else "after HF24"] += 1
            votes[key] = value["weight"]
        elif kind == "effective_comment_vote_operation":
            assert entry["virtual_op"]
            seen["effective before HF24" if when < HF24 else "effective after HF24"] += 1
        else:
            seen[kind] += 1
    cases = ["post", "reply", "edit", "delete", "re-creation", "reply by another", "first vote", "vote change",
             "unvote", "downvote", "full upvote", "partial upvote", "self-vote", "vote cast", "vote received",
             "on a paid-out comment", "in time", "before HF24", "after HF24", "effective before HF24",
             "effective after HF24", "transfer_operation",
             "custom_json_operation", "claim_reward_balance_operation", "comment_options_operation"]  # fmt: skip
    assert all(seen[case] for case in cases), {case: seen[case] for case in cases}
    cast = [
        e["op"]["value"]["weight"]
        for e in deep
        if type_of(e) == "vote_operation" and e["op"]["value"]["voter"] == me
    ]
    assert sum(w == 10000 for w in cast) > 0.7 * len(cast)
    assert 0 < sum(w < 0 for w in cast) < 0.05 * len(cast) and 0 < sum(w == 0 for w in cast) < 0.05 * len(
        cast
    )


def test_a_deep_historys_rshares_follow_hiveds_sign_rule_with_dust_upvotes_and_unvotes_at_0(
    deep_full: dict[int, Entry],
) -> None:
    """openhive-network/hive 1584099c, ``libraries/chain/hive_evaluator_social.cpp``: ``rshares = weight < 0 ?
    -abs_rshares : abs_rshares`` (line 746); from HF20 the dust threshold is subtracted, never below 0 (lines
    706-707, ``devnet.optypes.DUST_VOTERS`` voters stay under it); an unvote spends no power from HF14 on."""
    seen: Counter[str] = Counter()
    for index in range(1, DEEP_ENTRIES):
        entry, before = deep_full[index], deep_full[index - 1]
        if type_of(entry) != "effective_comment_vote_operation":
            continue
        weight, rshares = int(before["op"]["value"]["weight"]), int(entry["op"]["value"]["rshares"])
        kind = "unvote" if weight == 0 else "downvote" if weight < 0 else "upvote"
        seen[f"{kind} {'0' if rshares == 0 else '+' if rshares > 0 else '-'}"] += 1
    assert (
        {"upvote +", "upvote 0", "unvote 0", "downvote -"}
        <= set(seen)
        <= {
            "upvote +",
            "upvote 0",
            "unvote 0",
            "downvote -",
            "downvote 0",  # a dust downvote
        }
    ), seen
    assert seen["upvote 0"] < seen["upvote +"] / 3


def test_an_unvote_before_hf14_has_positive_rshares_as_camillas() -> None:
    """@camilla's unvote of 2016-09-11 (hived's ``only_account`` pattern, tests/fixtures): its effective
    operation carries positive rshares; before HF14 an unvote's power rounded up to one unit
    (``hive_evaluator_social.cpp`` line 356). The devnet gives one so before HF14, 0 after."""
    history = json.loads((FIXTURES / "mainnet-camilla-2016-get_account_history.json").read_text())["history"]
    at = {index: entry for index, entry in history}
    unvote = at[21_898]["op"]
    assert unvote["type"] == "vote_operation" and unvote["value"]["weight"] == 0
    assert at[21_899]["op"]["type"] == "effective_comment_vote_operation"
    assert int(at[21_899]["op"]["value"]["rshares"]) > 0
    r = random.Random(1)
    assert vote_rshares(0, "bob", epoch(at[21_898]["timestamp"]), None, r) > 0
    assert vote_rshares(0, "bob", HF14_TIME, None, r) == 0


def test_deep_histories_are_deterministic_and_random_access(
    chain: ChainGenerator, node: DevNode, big_account: str
) -> None:
    def api(source: ChainGenerator) -> HistoryApi:  # the chain's first block as its head: little to scan
        head, deep = HeadClock(FIRST, FIRST + 10), {big_account: DeepHistory(BIG_ENTRIES, BIG_SINCE)}
        return HistoryApi(source, head, threading.Lock(), deep)

    one, two = api(chain), api(chain)
    offsets = [999, 999_000, 123_456, 777_777, 5_000]
    pages = {start: one.history(big_account, start, 1000) for start in offsets}
    for start in reversed(offsets):  # another order, another object: the same entries
        assert two.history(big_account, start, 1000) == pages[start]
    assert [i for i, _ in pages[123_456]] == list(range(122_457, 123_457))
    other_seed = api(ChainGenerator(SEED + 1, FIRST, GENESIS, blocks=3_000))
    assert other_seed.history(big_account, 5_000, 10) != pages[5_000][-10:]


def test_a_page_deep_inside_a_million_entries_costs_a_few_episodes(
    node: DevNode, big_account: str, scan: dict[str, list[Expected]]
) -> None:
    deep = node.api.history.deep[big_account]
    history(node.url, big_account, -1, 1)  # the chain is scanned up to the head first
    before, chain_work = deep.episodes_built, node.api.history.chain.blocks_built
    page = history(node.url, big_account, 654_321, 1000)
    assert [i for i, _ in page] == list(range(653_322, 654_322))
    assert deep.episodes_built - before <= 1000 // EPISODE + 2
    assert node.api.history.chain.blocks_built == chain_work  # no block was rebuilt for deep entries
    before = deep.episodes_built
    votes = history(node.url, big_account, 500_000, 1000, **mask("vote_operation"))
    assert len(votes) == 1000 and votes[-1][0] <= 500_000
    assert deep.episodes_built - before <= 1000 // 10 + 2  # an episode holds more than 10 votes
    newest = history(node.url, big_account, -1, 1000)
    assert newest[-1][0] == BIG_ENTRIES + len(served(scan[big_account], LIB)) - 1
    assert newest[0][1]["block"] < FIRST <= newest[-1][1]["block"]


def test_an_old_nodes_deep_history_has_no_effective_op_before_hf24_a_replayed_nodes_has(
    chain: ChainGenerator,
) -> None:
    def effective_before_hf24(replayed: bool) -> tuple[int, int]:
        head, deep = HeadClock(FIRST, FIRST + 10), {"someone": DeepHistory(DEEP_ENTRIES, DEEP_SINCE)}
        api = HistoryApi(chain, head, threading.Lock(), deep, effective_votes_before_hf24=replayed)
        oldest = api.history("someone", 999, 1000)
        old = [e for _, e in oldest if epoch(e.timestamp) < HF24]
        effective = sum(e.op["type"] == "effective_comment_vote_operation" for e in old)
        return sum(e.op["type"] == "vote_operation" for e in old), effective

    (votes, effective), (old_votes, old_effective) = effective_before_hf24(True), effective_before_hf24(False)
    assert votes and old_votes and effective and old_effective == 0


def test_deep_history_settings_are_checked(chain: ChainGenerator) -> None:
    def make(config: DeepHistory) -> HistoryApi:
        return HistoryApi(
            chain, HeadClock(FIRST, FIRST + 10, irreversible_lag=0), threading.Lock(), {"someone": config}
        )

    with pytest.raises(ValueError, match="negative"):
        DeepHistory(-1, DEEP_SINCE)
    with pytest.raises(ValueError, match="need at least"):
        make(DeepHistory(10_000_000, GENESIS - 86_400 * 30))
    with pytest.raises(ValueError, match="before block 1"):
        make(DeepHistory(10, GENESIS - 3 * FIRST - 3))
    with pytest.raises(ValueError, match="before the first served block"):
        make(DeepHistory(10, GENESIS))
    assert make(DeepHistory(0, GENESIS)).history("someone") == []
    small = make(DeepHistory(41, DEEP_SINCE)).history("someone")
    assert [i for i, _ in small] == list(range(41))
