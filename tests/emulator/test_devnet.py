"""The devnet node emulator is faithful to mainnet: every integration test of the bot trusts it.

Generated blocks are checked against the real block JSON in ``tests/fixtures`` (field sets, value shapes,
chaining), against the rates measured on mainnet, and against the chain rules a badge bot depends on (unvotes
follow a vote, vote edits change the weight, edits may send a diff-match-patch …). The node is read through real
beem over HTTP and through raw JSON-RPC, as hived answers it. Prior votes and original bodies are looked up in the
blocks that carry them, so the generator's state (``comment``, ``comment_created``) is checked against its blocks.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests
from diff_match_patch import diff_match_patch

from devnet import names
from devnet.generator import ChainGenerator
from devnet.head import HeadClock
from devnet.legacy import legacy_asset
from devnet.node import DevNode
from devnet.ops import TaposRef
from devnet.recorded import RecordedChain
from tests.support.clock import Clock
from tests.support.paths import FIXTURES, ROOT

Block = dict[str, Any]
Op = dict[str, Any]  # an operation's value
Located = list[tuple[int, Op]]  # operation values with the number of the block carrying them

RANGE_2016 = FIXTURES / "mainnet-blocks-1000000-1000999.block_api.json"
CALLS_2025 = FIXTURES / "mainnet-2025-get_block-calls.json"
REAL_2025_BLOCKS = [97_477_292, 97_477_294, 97_477_296, 97_477_298]

MAINNET_CHAIN_ID = "beeab0de" + "0" * 56
SEED = 7
FIRST_BLOCK = 90_000_000
GENESIS = 1_700_000_000  # chain time of FIRST_BLOCK
START = FIRST_BLOCK + 300_000  # past the 10-day reach of every vote lane: the sample shows the steady state
COUNT = 500
END = START + COUNT - 1  # the last sampled block, and the head of the shared node
LAG = 2  # the shared node's irreversible block trails its head by this much
WEEK = 604_800  # a comment pays out 7 days after creation
HASHED_BLOCKS = 50


# -- helpers ------------------------------------------------------------------------------------------------
def block_number(block_id: str) -> int:
    return int(block_id[:8], 16)


def epoch(text: str) -> int:
    return int(datetime.strptime(text, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC).timestamp())


def iso(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")


def operations(block: Block, kind: str) -> Iterator[Op]:
    """The values of the ``<kind>_operation`` operations of a block, in chain order."""
    for transaction in block["transactions"]:
        for operation in transaction["operations"]:
            if operation["type"] == kind + "_operation":
                yield operation["value"]


def assets(value: Any) -> Iterator[dict[str, Any]]:
    """Every NAI asset (``{"amount", "precision", "nai"}``) inside a JSON value."""
    if isinstance(value, list):
        for item in value:
            yield from assets(item)
    elif isinstance(value, dict):
        if value.keys() == {"amount", "precision", "nai"}:
            yield value
        else:
            for item in value.values():
                yield from assets(item)


def rpc(url: str, method: str, params: Any, request_id: int = 1) -> dict[str, Any]:
    """One JSON-RPC request; the whole answer (``result`` or ``error``)."""
    body = {"jsonrpc": "2.0", "method": method, "params": params, "id": request_id}
    answer: dict[str, Any] = requests.post(url, json=body, timeout=10).json()
    assert answer["id"] == request_id
    return answer


def result(url: str, method: str, params: Any) -> Any:
    answer = rpc(url, method, params)
    assert "error" not in answer, answer
    return answer["result"]


def error_message(url: str, method: str, params: Any) -> str:
    answer = rpc(url, method, params)
    assert "result" not in answer, answer
    return str(answer["error"]["message"])


def get_block(url: str, num: int) -> Any:
    return result(url, "block_api.get_block", {"block_num": num})


def get_block_range(url: str, start: int, count: int) -> list[Block]:
    blocks: list[Block] = result(
        url, "block_api.get_block_range", {"starting_block_num": start, "count": count}
    )["blocks"]
    return blocks


def block_digest(chain: ChainGenerator, start: int, count: int) -> str:
    digest = hashlib.sha256()
    for num in range(start, start + count):
        digest.update(json.dumps(chain.block(num), ensure_ascii=False).encode())
    return digest.hexdigest()


_DIGEST_SCRIPT = """
import hashlib, json, sys
from devnet.generator import ChainGenerator
seed, first, genesis, start, count = map(int, sys.argv[1:])
chain = ChainGenerator(seed, first, genesis)
digest = hashlib.sha256()
for num in range(start, start + count):
    digest.update(json.dumps(chain.block(num), ensure_ascii=False).encode())
print(digest.hexdigest())
"""


def prior_vote(chain: ChainGenerator, num: int, vote: Op) -> tuple[int, int] | None:
    """``(block, weight)`` of the voter's current vote on the comment just before block ``num``, as the
    generator's state says — after checking that this block really carries that vote."""
    state = chain.comment(vote["author"], vote["permlink"], num - 1, votes=True)
    assert state is not None, f"block {num} votes on a comment that does not exist yet: {vote}"
    mine = [v for v in state.votes if v.voter == vote["voter"]]
    if not mine:
        return None
    (previous,) = mine
    voted_in = FIRST_BLOCK + (previous.time - GENESIS) // 3
    assert chain.block_time(voted_in) == previous.time
    earlier = chain.block(voted_in)
    assert earlier is not None
    key = (vote["voter"], vote["author"], vote["permlink"])
    weights = [
        v["weight"] for v in operations(earlier, "vote") if (v["voter"], v["author"], v["permlink"]) == key
    ]
    assert weights == [previous.weight], f"the state names block {voted_in}, which does not carry that vote"
    return voted_in, previous.weight


def creating_operation(chain: ChainGenerator, author: str, permlink: str) -> tuple[int, Op]:
    """The block that created a comment (from ``comment_created``) and its comment operation there."""
    created = chain.comment_created(author, permlink)
    assert created is not None
    num = FIRST_BLOCK + (created - GENESIS) // 3
    block = chain.block(num)
    assert block is not None
    (value,) = [v for v in operations(block, "comment") if (v["author"], v["permlink"]) == (author, permlink)]
    return num, value


# -- fixtures -----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def chain() -> ChainGenerator:
    return ChainGenerator(SEED, FIRST_BLOCK, GENESIS)


@pytest.fixture(scope="module")
def sample(chain: ChainGenerator) -> dict[int, Block]:
    """Blocks START … END of the generated chain, by number."""
    blocks = {num: chain.block(num) for num in range(START, END + 1)}
    assert all(block is not None for block in blocks.values())
    return {num: block for num, block in blocks.items() if block is not None}


@pytest.fixture(scope="module")
def votes(sample: dict[int, Block]) -> Located:
    return [(num, value) for num, block in sample.items() for value in operations(block, "vote")]


@pytest.fixture(scope="module")
def comments(sample: dict[int, Block]) -> Located:
    return [(num, value) for num, block in sample.items() for value in operations(block, "comment")]


@pytest.fixture(scope="module")
def edits(chain: ChainGenerator, comments: Located) -> Located:
    """Comment operations of the sample on comments created in an earlier block."""
    return [
        (num, value)
        for num, value in comments
        if (chain.comment_created(value["author"], value["permlink"]) or 0) < chain.block_time(num)
    ]


@pytest.fixture(scope="module")
def node(chain: ChainGenerator) -> Iterator[DevNode]:
    with DevNode(chain, head=END, irreversible_lag=LAG) as running:
        yield running


@pytest.fixture
def movable_node(node: DevNode) -> Iterator[DevNode]:
    """The shared node, for a test that moves its head: the head is put back at END afterwards."""
    yield node
    node.clock.set_head(END)


@pytest.fixture(scope="module")
def hive(node: DevNode, tmp_path_factory: pytest.TempPathFactory) -> Any:
    from beem import Hive

    return Hive(node=[node.url], num_retries=0, data_dir=str(tmp_path_factory.mktemp("beem")))


@pytest.fixture(scope="module")
def real_2025() -> list[Block]:
    """The real blocks of the 2025 recording. An answer is real if its block is the one asked for and its
    block id never answered a request for another block (those are canned answers of the recording)."""
    calls = json.loads(CALLS_2025.read_text(encoding="utf-8"))
    answers = [(call["req"]["params"]["block_num"], call["res"]["result"]["block"]) for call in calls]
    canned = {block["block_id"] for asked, block in answers if block_number(block["block_id"]) != asked}
    real = {asked: block for asked, block in answers if block["block_id"] not in canned}
    assert all(block_number(block["block_id"]) == asked for asked, block in real.items())
    return [real[num] for num in sorted(real)]


@pytest.fixture(scope="module")
def real_2016() -> list[Block]:
    blocks: list[Block] = json.loads(RANGE_2016.read_text(encoding="utf-8"))["blocks"]
    return blocks


# -- 1. determinism -----------------------------------------------------------------------------------------
def test_a_block_is_the_same_json_whichever_blocks_were_computed_before(chain: ChainGenerator) -> None:
    fresh = ChainGenerator(SEED, FIRST_BLOCK, GENESIS)
    for num in (END, START, START + 250, FIRST_BLOCK):  # another instance, another order, cold caches
        assert json.dumps(fresh.block(num)) == json.dumps(chain.block(num))  # key order included


def test_blocks_hash_the_same_in_processes_with_other_hash_seeds(chain: ChainGenerator) -> None:
    here = block_digest(chain, START, HASHED_BLOCKS)
    args = [str(v) for v in (SEED, FIRST_BLOCK, GENESIS, START, HASHED_BLOCKS)]
    for hash_seed in ("0", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        done = subprocess.run(
            [sys.executable, "-c", _DIGEST_SCRIPT, *args],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip
        assert done.stdout.strip() == here, f"PYTHONHASHSEED={hash_seed}: {done.stderr}"


def test_different_seeds_give_different_chains(chain: ChainGenerator) -> None:
    other = ChainGenerator(SEED + 1, FIRST_BLOCK, GENESIS)
    assert block_digest(other, START, 5) != block_digest(chain, START, 5)
    assert other.block_id(START) != chain.block_id(START)
    assert set(other.accounts) != set(chain.accounts)


# -- 2. format fidelity against the real fixtures -----------------------------------------------------------
def test_the_2025_recording_has_four_real_blocks(real_2025: list[Block]) -> None:
    assert [block_number(b["block_id"]) for b in real_2025] == REAL_2025_BLOCKS


def test_generated_block_has_the_fields_of_a_real_mainnet_block(
    sample: dict[int, Block], real_2025: list[Block]
) -> None:
    (block_keys,) = {frozenset(block) for block in real_2025}
    (transaction_keys,) = {frozenset(t) for block in real_2025 for t in block["transactions"]}
    for block in sample.values():
        assert block.keys() == block_keys
        assert len(block["transaction_ids"]) == len(block["transactions"])
        for transaction in block["transactions"]:
            assert transaction.keys() == transaction_keys


def test_generated_operations_have_the_fields_of_real_operations(
    sample: dict[int, Block], real_2025: list[Block], real_2016: list[Block]
) -> None:
    def key_sets(blocks: list[Block]) -> dict[str, set[frozenset[str]]]:
        found: dict[str, set[frozenset[str]]] = {}
        for block in blocks:
            for transaction in block["transactions"]:
                for operation in transaction["operations"]:
                    found.setdefault(operation["type"], set()).add(frozenset(operation["value"]))
        return found

    real, generated = key_sets(real_2025 + real_2016), key_sets(list(sample.values()))
    kinds = ("vote", "comment", "custom_json", "transfer", "comment_options", "claim_reward_balance")
    for kind in kinds:
        assert generated[kind + "_operation"] == real[kind + "_operation"], kind
    assert set(generated) <= set(real), "the generator makes an operation type the fixtures never show"

    real_assets = [a for block in real_2025 + real_2016 for a in assets(block["transactions"])]
    made_assets = [a for block in sample.values() for a in assets(block["transactions"])]
    assert made_assets
    assert {(a["nai"], a["precision"]) for a in made_assets} <= {
        (a["nai"], a["precision"]) for a in real_assets
    }
    assert all(isinstance(a["amount"], str) and a["amount"].isdigit() for a in made_assets)


def test_generated_values_have_the_shapes_of_real_values(
    sample: dict[int, Block], real_2025: list[Block]
) -> None:
    stamp = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$")
    real = real_2025[0]

    def hex_of_length(text: str, length: int) -> bool:
        return len(text) == length and re.fullmatch(r"[0-9a-f]+", text) is not None

    for blocks in (real_2025, list(sample.values())):
        for block in blocks:
            for key in ("block_id", "previous", "transaction_merkle_root", "witness_signature"):
                assert hex_of_length(block[key], len(real[key])), key
            assert block["signing_key"].startswith("STM")
            assert len(block["signing_key"]) == len(real["signing_key"])
            assert stamp.match(block["timestamp"])
            assert names.is_account_name(block["witness"])
            assert all(hex_of_length(i, 40) for i in block["transaction_ids"])
            for transaction in block["transactions"]:
                assert stamp.match(transaction["expiration"])
                ahead = epoch(transaction["expiration"]) - epoch(block["timestamp"])
                assert 0 < ahead <= 3600  # HIVE_MAX_TIME_UNTIL_EXPIRATION
                assert all(hex_of_length(s, 130) for s in transaction["signatures"])
                for value in operations({"transactions": [transaction]}, "custom_json"):
                    json.loads(value["json"])
                for value in operations({"transactions": [transaction]}, "comment"):
                    if value["json_metadata"]:
                        json.loads(value["json_metadata"])


def test_blocks_chain_by_previous_id_with_the_number_in_the_id_and_3_s_apart(
    chain: ChainGenerator, sample: dict[int, Block], real_2016: list[Block]
) -> None:
    for blocks in (real_2016, [sample[num] for num in sorted(sample)]):  # the rule holds on mainnet too
        for before, after in itertools.pairwise(blocks):
            assert after["previous"] == before["block_id"]
            assert block_number(after["block_id"]) == block_number(before["block_id"]) + 1
            if blocks is not real_2016:  # 2016 had missed slots; the generated chain has none
                assert epoch(after["timestamp"]) - epoch(before["timestamp"]) == 3
    for num, block in sample.items():
        assert block_number(block["block_id"]) == num
        assert block["block_id"] == chain.block_id(num)
        assert block["previous"] == chain.block_id(num - 1)
        assert epoch(block["timestamp"]) == chain.block_time(num) == GENESIS + 3 * (num - FIRST_BLOCK)


def test_transactions_reference_a_recent_block_as_mainnet_transactions_do(
    chain: ChainGenerator, sample: dict[int, Block], real_2025: list[Block]
) -> None:
    for block in real_2025:  # mainnet: ref_block_prefix is read from the referenced block's id
        num = block_number(block["block_id"])
        for transaction in block["transactions"]:
            if transaction["ref_block_num"] == (num - 1) & 0xFFFF:
                expected = TaposRef.of(num - 1, block["previous"])
                assert (transaction["ref_block_num"], transaction["ref_block_prefix"]) == (
                    expected.num, expected.prefix,
                )  # fmt: skip
    for num, block in sample.items():
        for transaction in block["transactions"]:
            back = (num - transaction["ref_block_num"]) & 0xFFFF
            assert 1 <= back <= 65_535
            referenced = TaposRef.of(num - back, chain.block_id(num - back))
            assert transaction["ref_block_prefix"] == referenced.prefix


# -- 3. realism ---------------------------------------------------------------------------------------------
def test_generated_traffic_has_mainnet_rates(
    chain: ChainGenerator,
    sample: dict[int, Block],
    votes: Located,
    comments: Located,
) -> None:
    transactions = sum(len(block["transactions"]) for block in sample.values())
    assert 8 <= transactions / COUNT <= 16
    assert 7 <= len(votes) / COUNT <= 13
    new = [
        v for num, v in comments if chain.comment_created(v["author"], v["permlink"]) == chain.block_time(num)
    ]
    assert 0.7 <= len(new) / COUNT <= 1.4
    assert 0.15 <= sum(v["parent_author"] == "" for v in new) / len(new) <= 0.35
    weights = [v["weight"] for _, v in votes]
    upvotes = [w for w in weights if w > 0]
    assert 0.75 <= upvotes.count(10_000) / len(upvotes) <= 0.95  # 86 % at full weight
    assert 0.002 <= sum(w < 0 for w in weights) / len(weights) <= 0.03  # ~1 % downvotes
    assert 0.002 <= weights.count(0) / len(weights) <= 0.03  # ~1 % unvotes
    assert all(-10_000 <= w <= 10_000 for w in weights)


def test_downvotes_self_votes_and_votes_on_paid_out_comments_appear(
    chain: ChainGenerator, votes: Located
) -> None:
    assert any(v["weight"] < 0 for _, v in votes)
    assert any(v["voter"] == v["author"] and v["weight"] > 0 for _, v in votes)
    ages = [
        chain.block_time(num) - (chain.comment_created(v["author"], v["permlink"]) or 0) for num, v in votes
    ]
    paid_out = sum(age >= WEEK for age in ages)
    assert 1 <= paid_out <= 0.05 * len(votes)


def test_votes_and_replies_target_comments_created_earlier(
    chain: ChainGenerator,
    votes: Located,
    comments: Located,
) -> None:
    for num, vote in votes:
        created = chain.comment_created(vote["author"], vote["permlink"])
        assert created is not None and created < chain.block_time(num), vote
    for num, value in comments:
        if value["parent_author"]:
            created = chain.comment_created(value["parent_author"], value["parent_permlink"])
            assert created is not None and created < chain.block_time(num), value


def test_every_unvote_removes_a_vote_an_earlier_block_carries(chain: ChainGenerator, votes: Located) -> None:
    unvotes = [(num, v) for num, v in votes if v["weight"] == 0]
    assert unvotes
    removed = []
    for num, vote in unvotes:
        prior = prior_vote(chain, num, vote)
        assert prior is not None, f"a first vote of weight 0 is rejected by the chain: {vote}"
        assert prior[0] < num and prior[1] != 0
        removed.append(prior[1])
    assert any(weight > 0 for weight in removed), "no unvote removes an upvote"


def test_vote_edits_change_the_weight_of_a_vote_an_earlier_block_carries(
    chain: ChainGenerator, votes: Located
) -> None:
    last_in_sample: dict[tuple[str, str, str], int] = {}
    changed = 0
    for num, vote in votes:
        key = (vote["voter"], vote["author"], vote["permlink"])
        prior = prior_vote(chain, num, vote)
        if key in last_in_sample:  # the blocks alone show the earlier vote: the state must agree
            assert prior is not None and prior[1] == last_in_sample[key]
        last_in_sample[key] = vote["weight"]
        if prior is None:
            continue
        assert vote["weight"] != prior[1], f"the chain rejects a vote identical to the current one: {vote}"
        if vote["weight"] != 0 and prior[1] != 0:
            changed += 1
    assert changed >= 1


def test_edits_may_send_a_patch_and_the_stored_body_is_the_patched_text(
    chain: ChainGenerator, edits: Located
) -> None:
    dmp = diff_match_patch()
    patches = [(num, v) for num, v in edits if v["body"].startswith("@@ ")]
    whole = [(num, v) for num, v in edits if not v["body"].startswith("@@ ")]
    assert patches and whole
    for num, value in patches:
        _, created = creating_operation(chain, value["author"], value["permlink"])
        before = chain.comment(value["author"], value["permlink"], num - 1)
        after = chain.comment(value["author"], value["permlink"], num)
        assert before is not None and after is not None
        assert before.body == created["body"]
        assert after.body != value["body"]
        patched, applied = dmp.patch_apply(dmp.patch_fromText(value["body"]), created["body"])
        assert all(applied) and after.body == patched
        assert after.last_update == chain.block_time(num)
        assert (after.parent_author, after.parent_permlink) == (
            value["parent_author"],
            value["parent_permlink"],
        )
    for num, value in whole:
        stored = chain.comment(value["author"], value["permlink"], num)
        assert stored is not None and stored.body == value["body"]


def permlinks(blocks: dict[int, Block]) -> list[str]:
    return [
        value[key]
        for block in blocks.values()
        for transaction in block["transactions"]
        for operation in transaction["operations"]
        for key in ("permlink", "parent_permlink")
        if key in (value := operation["value"])
    ]


def test_account_names_are_valid_hive_account_names(sample: dict[int, Block]) -> None:
    seen = 0
    for block in sample.values():
        assert names.is_account_name(block["witness"])
        for transaction in block["transactions"]:
            for operation in transaction["operations"]:
                value = operation["value"]
                for key in ("voter", "author", "parent_author", "from", "to", "account"):
                    if value.get(key):
                        assert names.is_account_name(value[key]), (key, value[key])
                        seen += 1
                for key in ("required_auths", "required_posting_auths"):
                    assert all(names.is_account_name(a) for a in value.get(key, []))
    assert seen > 5_000


def test_permlinks_pass_hiveds_permlink_check(sample: dict[int, Block]) -> None:
    found = permlinks(sample)
    assert len(found) > 5_000
    for permlink in found:  # hived's validate_permlink: UTF-8, shorter than HIVE_MAX_PERMLINK_LENGTH (256)
        assert 0 < len(permlink.encode()) < 256, permlink


def test_permlinks_match_the_front_end_permlink_alphabet(sample: dict[int, Block]) -> None:
    assert [p for p in permlinks(sample) if not names.PERMLINK.match(p)] == []


def test_no_account_comments_twice_in_one_block(sample: dict[int, Block]) -> None:
    for num, block in sample.items():
        authors = Counter(v["author"] for v in operations(block, "comment"))
        assert max(authors.values(), default=1) == 1, (num, authors)


# -- 4. comment state agrees with the blocks ----------------------------------------------------------------
def test_comment_created_is_the_time_of_the_block_that_first_carries_the_comment(
    chain: ChainGenerator, comments: Located, edits: Located
) -> None:
    first_seen: dict[tuple[str, str], int] = {}
    for num, value in comments:
        first_seen.setdefault((value["author"], value["permlink"]), num)
        created = chain.comment_created(value["author"], value["permlink"])
        assert created is not None and created <= chain.block_time(num)
    created_in_range = 0
    for (author, permlink), num in first_seen.items():
        created = chain.comment_created(author, permlink)
        assert created is not None
        if created >= chain.block_time(START):
            assert created == chain.block_time(num)
            created_in_range += 1
    assert created_in_range >= 400
    assert len(edits) >= 5  # the rest: edits of comments created before


def test_comment_exists_from_its_creating_block_on_with_the_text_of_that_operation(
    chain: ChainGenerator, comments: Located
) -> None:
    created = [
        (n, v)
        for n, v in comments
        if chain.comment_created(v["author"], v["permlink"]) == chain.block_time(n)
    ]
    for num, value in created[:200]:
        assert chain.comment(value["author"], value["permlink"], num - 1) is None
        state = chain.comment(value["author"], value["permlink"], num)
        assert state is not None
        assert state.created == state.last_update == chain.block_time(num)
        assert (state.parent_author, state.parent_permlink, state.title, state.body, state.json_metadata) == (
            value["parent_author"], value["parent_permlink"], value["title"], value["body"], value["json_metadata"],
        )  # fmt: skip
        assert (state.depth == 0) == (value["parent_author"] == "")


def test_unknown_comments_have_no_creation_time(chain: ChainGenerator, comments: Located) -> None:
    _, value = comments[0]
    other = next(a for a in chain.accounts if a != value["author"])
    assert chain.comment_created(other, value["permlink"]) is None  # right permlink, wrong author
    assert chain.comment_created(value["author"], "no-such-post-zz") is None
    assert chain.comment_created("nobody-here", "re-nobody-20240101t000000000z") is None
    assert chain.comment(other, value["permlink"], END) is None


# -- 5. the node seen by beem over HTTP ---------------------------------------------------------------------
def test_beem_connects_and_reads_the_mainnet_chain_id(hive: Any) -> None:
    assert hive.chain_params["chain_id"] == MAINNET_CHAIN_ID
    assert hive.chain_params["prefix"] == "STM"
    assert hive.get_dynamic_global_properties()["head_block_number"] == END


def test_beem_irreversible_stream_yields_exactly_the_vote_ops_of_the_blocks(
    hive: Any, sample: dict[int, Block]
) -> None:
    from beem.blockchain import Blockchain

    first, last = END - 20, END - LAG
    streamed = [
        (op["block_num"], op["trx_id"], op["voter"], op["author"], op["permlink"], op["weight"])
        for op in Blockchain(mode="irreversible", blockchain_instance=hive).stream(
            opNames=["vote"], start=first, stop=last
        )
    ]
    expected = [
        (num, sample[num]["transaction_ids"][index], v["voter"], v["author"], v["permlink"], v["weight"])
        for num in range(first, last + 1)
        for index, transaction in enumerate(sample[num]["transactions"])
        for v in operations({"transactions": [transaction]}, "vote")
    ]
    assert len(expected) > 100
    assert streamed == expected


def test_beem_sees_the_irreversible_block_lag_behind_the_head(hive: Any, node: DevNode) -> None:
    from beem.blockchain import Blockchain

    assert Blockchain(mode="irreversible", blockchain_instance=hive).get_current_block_num() == END - LAG
    assert Blockchain(mode="head", blockchain_instance=hive).get_current_block_num() == END
    props = result(node.url, "database_api.get_dynamic_global_properties", {})
    assert props["last_irreversible_block_num"] == props["head_block_number"] - LAG == END - LAG


def test_beem_block_reads_a_served_block_and_refuses_one_above_the_head(
    hive: Any, sample: dict[int, Block]
) -> None:
    from beem.block import Block as BeemBlock
    from beem.exceptions import BlockDoesNotExistsException

    num = START + 123
    block = BeemBlock(num, blockchain_instance=hive)
    assert block.block_num == num
    assert block["previous"] == sample[num]["previous"]
    assert block["witness"] == sample[num]["witness"]
    assert len(block.transactions) == len(sample[num]["transactions"])
    with pytest.raises(BlockDoesNotExistsException):
        BeemBlock(END + 1, blockchain_instance=hive)


def test_blocks_above_the_head_are_not_served(node: DevNode, chain: ChainGenerator) -> None:
    assert chain.block(END + 1) is not None  # the generator has it; the node must not show it yet
    assert get_block(node.url, END + 1) == {}
    assert get_block(node.url, END)["block"]["block_id"] == chain.block_id(END)
    blocks = get_block_range(node.url, END - 5, 10)
    assert [block_number(b["block_id"]) for b in blocks] == list(range(END - 5, END + 1))
    assert result(node.url, "block_api.get_block_header", {"block_num": END + 1}) == {}
    assert result(node.url, "call", ["condenser_api", "get_block", [END + 1]]) is None


def test_moving_the_head_serves_the_new_blocks_and_moves_the_irreversible_block(
    movable_node: DevNode, chain: ChainGenerator
) -> None:
    movable_node.clock.set_head(END + 10)
    props = result(movable_node.url, "database_api.get_dynamic_global_properties", {})
    assert (props["head_block_number"], props["last_irreversible_block_num"]) == (END + 10, END + 10 - LAG)
    assert props["head_block_id"] == chain.block_id(END + 10)
    assert props["time"] == iso(chain.block_time(END + 10))
    assert get_block(movable_node.url, END + 10) == {"block": chain.block(END + 10)}


def test_head_clock_advances_one_block_per_3_s_of_chain_time_and_stops_at_the_last_block() -> None:
    now = Clock(100.0)
    clock = HeadClock(1_000, 1_010, speed=20, irreversible_lag=1, clock=now)
    assert (clock.head(), clock.irreversible()) == (1_000, 999)
    now.advance(0.149)  # speed 20: a block every 0.15 s
    assert clock.head() == 1_000
    now.advance(0.002)
    assert clock.head() == 1_001
    now.advance(60)
    assert clock.head() == 1_010
    clock.set_speed(0)
    clock.set_head(1_005)
    now.advance(60)
    assert clock.head() == 1_005


# -- 6. raw JSON-RPC ----------------------------------------------------------------------------------------
def test_unknown_method_and_unknown_api_are_errors_named_as_hived_names_them(node: DevNode) -> None:
    assert "Could not find method" in error_message(node.url, "block_api.get_blocks", {})
    assert "Could not find method" in error_message(node.url, "call", ["condenser_api", "get_blocks", []])
    assert "Could not find API" in error_message(node.url, "bridge_x.get_post", {})
    assert "Could not find API" in error_message(node.url, "call", ["nosuch_api", "get_post", {}])


def test_get_block_range_refuses_more_than_1000_blocks(node: DevNode) -> None:
    too_many = {"starting_block_num": START, "count": 1001}
    assert "Assert Exception" in error_message(node.url, "block_api.get_block_range", too_many)
    allowed = get_block_range(node.url, START, 1000)
    assert len(allowed) == COUNT  # 1000 blocks may be asked for; the answer stops at the head


def test_a_batch_is_answered_in_order_with_each_id(node: DevNode, chain: ChainGenerator) -> None:
    batch = [
        {"jsonrpc": "2.0", "id": 7, "method": "block_api.get_block", "params": {"block_num": START}},
        {"jsonrpc": "2.0", "id": 3, "method": "block_api.no_such_method", "params": {}},
        {"jsonrpc": "2.0", "id": 5, "method": "database_api.get_dynamic_global_properties", "params": {}},
        {"jsonrpc": "2.0", "id": 1, "method": "block_api.get_block", "params": {"block_num": START + 1}},
    ]
    answers = requests.post(node.url, json=batch, timeout=10).json()
    assert isinstance(answers, list)
    assert [a["id"] for a in answers] == [7, 3, 5, 1]
    assert answers[0]["result"]["block"]["block_id"] == chain.block_id(START)
    assert "Could not find method" in answers[1]["error"]["message"]
    assert answers[2]["result"]["head_block_number"] == END
    assert answers[3]["result"]["block"]["block_id"] == chain.block_id(START + 1)


def test_invalid_json_is_a_parse_error_and_the_node_keeps_serving(node: DevNode) -> None:
    answer = requests.post(node.url, data=b'{"jsonrpc": "2.0", "method": ', timeout=10).json()
    assert answer["error"]["code"] == -32700
    assert answer["id"] is None
    not_rpc = requests.post(node.url, json={"method": "block_api.get_block"}, timeout=10).json()
    assert not_rpc["error"]["code"] == -32600  # not JSON-RPC 2.0
    assert result(node.url, "database_api.get_dynamic_global_properties", {})["head_block_number"] == END


def test_call_form_answers_condenser_api_and_database_api(
    node: DevNode, chain: ChainGenerator, comments: Located
) -> None:
    block = result(node.url, "call", ["condenser_api", "get_block", [START]])
    assert block["block_id"] == chain.block_id(START)
    assert all(isinstance(op, list) for t in block["transactions"] for op in t["operations"])
    props = result(node.url, "call", ["database_api", "get_dynamic_global_properties", {}])
    assert props["head_block_number"] == END
    _, value = comments[0]
    found = result(
        node.url,
        "call",
        ["database_api", "find_comments", {"comments": [[value["author"], value["permlink"]]]}],
    )
    assert [(c["author"], c["permlink"]) for c in found["comments"]] == [(value["author"], value["permlink"])]
    config = result(node.url, "call", ["database_api", "get_config", {}])
    assert config["HIVE_CHAIN_ID"] == MAINNET_CHAIN_ID


# -- 7. condenser (legacy) format ---------------------------------------------------------------------------
SYMBOLS = {"@@000000021": "HIVE", "@@000000013": "HBD", "@@000000037": "VESTS"}


def assert_legacy_form(old: Any, new: Any, where: str = "") -> None:
    """``old`` is ``new`` in condenser form: ``["vote", {...}]`` operations, ``"1.500 HBD"`` assets,
    ``[0, {...}]`` beneficiaries extensions, everything else unchanged."""
    if isinstance(new, dict) and new.keys() == {"amount", "precision", "nai"}:
        amount = Decimal(new["amount"]).scaleb(-new["precision"])
        assert old == f"{amount:.{new['precision']}f} {SYMBOLS[new['nai']]}", where
    elif isinstance(new, dict) and new.keys() == {"type", "value"}:
        tag = 0 if new["type"] == "comment_payout_beneficiaries" else new["type"].removesuffix("_operation")
        assert isinstance(old, list) and old[0] == tag, where
        assert_legacy_form(old[1], new["value"], f"{where}/{tag}")
    elif isinstance(new, dict):
        assert isinstance(old, dict) and set(new) <= set(old), where
        for key, value in new.items():
            assert_legacy_form(old[key], value, f"{where}/{key}")
    elif isinstance(new, list):
        assert isinstance(old, list) and len(old) == len(new), where
        for index, (old_item, new_item) in enumerate(zip(old, new, strict=True)):
            assert_legacy_form(old_item, new_item, f"{where}/{index}")
    else:
        assert old == new, where


def test_condenser_get_block_is_the_block_in_legacy_form_with_each_transactions_place(
    node: DevNode, sample: dict[int, Block]
) -> None:
    def has_beneficiaries(block: Block) -> bool:
        return any(v["extensions"] for v in operations(block, "comment_options"))

    chosen = [
        START,
        *[n for n, b in sample.items() if has_beneficiaries(b) or any(operations(b, "transfer"))][:20],
    ]
    assert any(has_beneficiaries(sample[num]) for num in chosen)
    kinds: set[str] = set()
    for num in chosen:
        new = sample[num]
        old = result(node.url, "condenser_api.get_block", [num])
        assert_legacy_form(old, new, str(num))
        assert old.keys() == new.keys()
        for index, transaction in enumerate(old["transactions"]):
            assert transaction.keys() - new["transactions"][index].keys() == {
                "transaction_id", "block_num", "transaction_num",
            }  # fmt: skip
            assert (transaction["transaction_id"], transaction["block_num"], transaction["transaction_num"]) == (
                new["transaction_ids"][index], num, index,
            )  # fmt: skip
            kinds.update(name for name, _ in transaction["operations"])
    assert {"vote", "comment", "transfer", "comment_options", "claim_reward_balance", "custom_json"} <= kinds


@pytest.mark.parametrize(
    ("amount", "precision", "nai", "text"),
    [
        ("1500", 3, "@@000000013", "1.500 HBD"),
        ("1", 3, "@@000000013", "0.001 HBD"),
        ("23890", 3, "@@000000021", "23.890 HIVE"),
        ("0", 3, "@@000000021", "0.000 HIVE"),
        ("1667306", 6, "@@000000037", "1.667306 VESTS"),
        ("254470106742109347", 6, "@@000000037", "254470106742.109347 VESTS"),
    ],
)
def test_legacy_asset_writes_the_amount_with_its_precision_and_symbol(
    amount: str, precision: int, nai: str, text: str
) -> None:
    assert legacy_asset({"amount": amount, "precision": precision, "nai": nai}) == text


def test_condenser_get_content_returns_the_body_with_edits_applied_as_of_the_head(
    movable_node: DevNode, chain: ChainGenerator, edits: Located
) -> None:
    num, edit = next((n, v) for n, v in edits if v["body"].startswith("@@ "))
    _, created = creating_operation(chain, edit["author"], edit["permlink"])
    dmp = diff_match_patch()
    patched, _ = dmp.patch_apply(dmp.patch_fromText(edit["body"]), created["body"])
    key = [edit["author"], edit["permlink"]]

    movable_node.clock.set_head(num - 1)
    before = result(movable_node.url, "condenser_api.get_content", key)
    movable_node.clock.set_head(num)
    after = result(movable_node.url, "condenser_api.get_content", key)

    assert before["body"] == created["body"]
    assert after["body"] == patched != edit["body"]
    assert (after["author"], after["permlink"], after["created"]) == (*key, before["created"])
    assert after["last_update"] == iso(chain.block_time(num))
    assert "does not exist" in error_message(
        movable_node.url, "condenser_api.get_content", ["nobody-here", "x"]
    )


# -- 8. recorded fixtures -----------------------------------------------------------------------------------
def test_node_over_the_2016_recording_serves_its_block_range_unchanged(
    real_2016: list[Block], tmp_path: Path
) -> None:
    with DevNode(RecordedChain.from_file(RANGE_2016)) as node:
        assert get_block_range(node.url, 1_000_000, 1000) == real_2016

        from beem import Hive
        from beem.block import Blocks

        hive = Hive(node=[node.url], num_retries=0, data_dir=str(tmp_path))
        blocks = Blocks(1_000_000, count=1000, blockchain_instance=hive)
        assert [b.block_num for b in blocks] == list(range(1_000_000, 1_001_000))
        assert sum(op["type"] == "vote_operation" for b in blocks for op in b.operations) == 6


def test_the_2025_recording_serves_exactly_its_four_real_blocks() -> None:
    recorded = RecordedChain.from_file(CALLS_2025)
    served = [
        n for n in range(recorded.first_block, recorded.last_block + 1) if recorded.block(n) is not None
    ]
    assert served == REAL_2025_BLOCKS


def test_node_over_the_2025_recording_serves_the_real_blocks_as_recorded(real_2025: list[Block]) -> None:
    with DevNode(RecordedChain.from_file(CALLS_2025)) as node:
        for block in real_2025:
            assert get_block(node.url, block_number(block["block_id"])) == {"block": block}
        assert get_block(node.url, 97_477_293) == {}  # not recorded


# -- 9. database_api.find_comments --------------------------------------------------------------------------
def test_find_comments_gives_creation_times_of_known_comments_and_omits_unknown_ones(
    node: DevNode, chain: ChainGenerator, comments: Located
) -> None:
    def created_before(pair: tuple[str, str], num: int) -> bool:
        created = chain.comment_created(*pair)
        return created is not None and created < chain.block_time(num)

    first = chain.block(FIRST_BLOCK)
    assert first is not None
    voted_on = [(v["author"], v["permlink"]) for v in operations(first, "vote")]
    older = [pair for pair in voted_on if created_before(pair, FIRST_BLOCK)][:5]  # before the chain served
    assert older
    recent = [(v["author"], v["permlink"]) for _, v in comments[:5]]
    future = next(  # created above the head: not there yet
        (v["author"], v["permlink"])
        for num in itertools.count(END + 1)
        for v in operations(chain.block(num) or {"transactions": []}, "comment")
        if not created_before((v["author"], v["permlink"]), num)
    )
    unknown = [("nobody-here", "no-such-post"), (recent[0][0], "no-such-post-zz"), future]
    known = list(dict.fromkeys(older + recent))
    asked = [pair for pair in itertools.chain.from_iterable(itertools.zip_longest(known, unknown)) if pair]

    found = result(node.url, "database_api.find_comments", {"comments": [list(p) for p in asked]})["comments"]

    assert [(c["author"], c["permlink"]) for c in found] == known
    for comment in found:
        created = chain.comment_created(comment["author"], comment["permlink"])
        assert created is not None and comment["created"] == iso(created)


def test_find_comments_refuses_more_than_1000(node: DevNode) -> None:
    many = [["nobody-here", f"post-{i}"] for i in range(1001)]
    assert "Assert Exception" in error_message(node.url, "database_api.find_comments", {"comments": many})
    assert result(node.url, "database_api.find_comments", {"comments": many[:1000]}) == {"comments": []}
