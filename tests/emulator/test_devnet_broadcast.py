"""The devnet node accepts broadcast transactions as a hived API node does, so the bot's integration tests can
sign and broadcast with the real beem and read the results back in later blocks.

Every transaction here is signed by beem's own code (``TransactionBuilder`` over HTTP, or ``beembase`` for
the ones beem would not make: another chain id, a corrupt signature). The head is frozen and moved by hand:
nothing waits on the wall clock, except the one test that runs the chain at speed 20 to show that beem's
default expiration still works there.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from beem import Hive
from beem.comment import Comment
from beem.transactionbuilder import TransactionBuilder
from beemapi.exceptions import UnhandledRPCError
from beembase import operations

from devnet import keys, signing
from devnet.generator import ChainGenerator, GeneratorParams
from devnet.node import DevNode
from devnet.ops import TaposRef
from devnet.rc import OPERATION_COST, REGENERATION_SECONDS
from devnet.users import DevUser
from devnet.world import format_time

SEED = 5
FIRST = 80_000_000
GENESIS = 1_750_000_000
HEAD = FIRST + 40_000  # the head every test starts at: the first transaction goes into HEAD + 1
BOT = "badgebot"  # exists, never acts in generated blocks: no generated comment gets in its way
PASSWORD = "devnet"
COMMENT_COST = OPERATION_COST["comment"]


# -- helpers ------------------------------------------------------------------------------------------------
def rpc(url: str, method: str, params: Any) -> dict[str, Any]:
    answer: dict[str, Any] = requests.post(
        url, json={"jsonrpc": "2.0", "method": method, "params": params, "id": 7}, timeout=10
    ).json()
    return answer


def result(url: str, method: str, params: Any) -> Any:
    answer = rpc(url, method, params)
    assert "error" not in answer, answer
    return answer["result"]


def error(url: str, method: str, params: Any) -> dict[str, Any]:
    answer = rpc(url, method, params)
    assert "result" not in answer, answer
    return dict(answer["error"])


def wif(account: str, role: str = "posting") -> str:
    return keys.private_key(account, role, PASSWORD)


def comment_op(author: str, permlink: str, body: str = "Congratulations!", *, parent: tuple[str, str] = ("", "devnet"),
               title: str = "", json_metadata: str = "") -> dict[str, Any]:  # fmt: skip
    return {
        "parent_author": parent[0], "parent_permlink": parent[1], "author": author, "permlink": permlink,
        "title": title, "body": body, "json_metadata": json_metadata,
    }  # fmt: skip


def legacy_tx(
    node: DevNode, ops: list[Any], *, expires_in: int = 60, ref: int | None = None
) -> dict[str, Any]:
    """An unsigned legacy transaction referencing the irreversible block, expiring ``expires_in`` seconds
    after the head block's time."""
    head = node.clock.head()
    tapos = TaposRef.of(ref or head - 1, node.ledger.block_id(ref or head - 1))
    return {
        "ref_block_num": tapos.num,
        "ref_block_prefix": tapos.prefix,
        "expiration": format_time(node.ledger.block_time(head) + expires_in),
        "operations": ops,
        "extensions": [],
    }


def signed(node: DevNode, ops: list[Any], key: str, **kwargs: Any) -> dict[str, Any]:
    return signing.sign(legacy_tx(node, ops, **kwargs), [key])


def broadcast(node: DevNode, transaction: dict[str, Any]) -> dict[str, Any]:
    """``condenser_api.broadcast_transaction`` of a legacy transaction: the whole JSON-RPC answer."""
    return rpc(node.url, "condenser_api.broadcast_transaction", [transaction])


def rejection(node: DevNode, transaction: dict[str, Any]) -> str:
    answer = broadcast(node, transaction)
    assert "error" in answer, answer
    assert answer["error"]["code"] == -32003, answer
    return str(answer["error"]["message"])


def beem_hive(node: DevNode, key: str, tmp_path: Path, **kwargs: Any) -> Hive:
    return Hive(node=[node.url], keys=[key], num_retries=0, data_dir=str(tmp_path / "beem"), **kwargs)


def beem_broadcast(hive: Hive, *ops: Any, key: str) -> dict[str, Any]:
    """What the bot does: TransactionBuilder, one posting key, sign, broadcast (condenser_api, legacy JSON)."""
    builder = TransactionBuilder(blockchain_instance=hive)
    builder.appendOps(list(ops))
    builder.appendWif(key)
    answer: dict[str, Any] = builder.broadcast()
    return answer


def generated_ops(block: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [
        op["value"]
        for tx in block["transactions"]
        for op in tx["operations"]
        if op["type"] == f"{kind}_operation"
    ]


def quiet_author(chain: ChainGenerator, head: int) -> str:
    """A generated account that wrote root posts in the last day, but none in the 100 blocks before
    ``head + 1``, and that neither comments nor votes in blocks ``head + 1`` and ``head + 2``."""
    busy: set[str] = set()
    for num in (head + 1, head + 2):
        block = chain.block(num)
        assert block is not None
        busy |= {v["author"] for v in generated_ops(block, "comment")}
        busy |= {v["voter"] for v in generated_ops(block, "vote")}
    for name in chain.accounts:
        if name in busy or next(chain.root_posts(name, head + 1, head - 100), None) is not None:
            continue
        if len(list(itertools.islice(chain.root_posts(name, head, head - 28_800), 3))) == 3:
            return name
    raise AssertionError("no quiet author")


# -- fixtures -----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def chain() -> ChainGenerator:
    return ChainGenerator(SEED, FIRST, GENESIS, GeneratorParams(extra_accounts=(BOT,)))


@pytest.fixture
def node(chain: ChainGenerator) -> Iterator[DevNode]:
    """A fresh node (its own ledger) over the shared generated chain, head frozen at HEAD."""
    with DevNode(chain, head=HEAD, irreversible_lag=1) as running:
        yield running


@pytest.fixture
def hive(node: DevNode, tmp_path: Path) -> Hive:
    return beem_hive(node, wif(BOT), tmp_path)


@pytest.fixture(scope="module")
def author(chain: ChainGenerator) -> str:
    return quiet_author(chain, HEAD)


# -- a broadcast goes into the next block ----------------------------------------------------------------------
def test_a_comment_signed_by_beem_with_the_posting_key_is_in_the_next_block_in_both_formats(
    node: DevNode, hive: Hive
) -> None:
    reply = operations.Comment(**comment_op(BOT, "badge-post", "You earned a badge", title="Badge!"))
    options = operations.Comment_options(**{
        "author": BOT, "permlink": "badge-post", "max_accepted_payout": "0.000 HBD", "percent_hbd": 10000,
        "allow_votes": True, "allow_curation_rewards": True,
    })  # fmt: skip
    sent = beem_broadcast(hive, reply, options, key=wif(BOT))
    trx_id = sent["trx_id"]
    assert node.requests[-1] == "condenser_api.broadcast_transaction"
    accepted = node.ledger.find(trx_id)
    assert accepted is not None and accepted.block == HEAD + 1
    assert result(node.url, "block_api.get_block", {"block_num": HEAD + 1}) == {}  # not produced yet

    node.clock.set_head(HEAD + 1)
    block = result(node.url, "block_api.get_block", {"block_num": HEAD + 1})["block"]
    generated = node.ledger.source.block(HEAD + 1)
    assert generated is not None
    assert block["transactions"][:-1] == generated["transactions"]  # the block's own first, then ours
    assert block["transaction_ids"][-1] == trx_id == signing.transaction_id(sent)
    ours = block["transactions"][-1]
    assert accepted.trx_num == len(block["transactions"]) - 1
    assert ours["signatures"] == sent["signatures"]
    assert ours["operations"][0] == {"type": "comment_operation", "value": comment_op(
        BOT, "badge-post", "You earned a badge", title="Badge!")}  # fmt: skip
    assert ours["operations"][1]["value"]["max_accepted_payout"] == {
        "amount": "0", "precision": 3, "nai": "@@000000013"}  # fmt: skip
    assert result(node.url, "block_api.get_block_range", {"starting_block_num": HEAD + 1, "count": 1})[
        "blocks"
    ] == [block]

    legacy = result(node.url, "condenser_api.get_block", [HEAD + 1])["transactions"][-1]
    assert legacy["operations"][0] == [
        "comment",
        comment_op(BOT, "badge-post", "You earned a badge", title="Badge!"),
    ]
    assert legacy["operations"][1][1]["max_accepted_payout"] == "0.000 HBD"
    assert (legacy["transaction_id"], legacy["block_num"], legacy["transaction_num"]) == (
        trx_id, HEAD + 1, accepted.trx_num)  # fmt: skip


def test_the_new_comment_is_chain_state_once_the_head_reaches_its_block(node: DevNode, hive: Hive) -> None:
    meta = json.dumps({"tags": ["devnet"], "app": "badgebot/1"})
    hello = operations.Comment(**comment_op(BOT, "hello", "Hello", title="Hi", json_metadata=meta))
    beem_broadcast(hive, hello, key=wif(BOT))
    params = {"sort": "posts", "account": BOT}
    assert result(node.url, "database_api.find_comments", {"comments": [[BOT, "hello"]]}) == {"comments": []}
    assert result(node.url, "bridge.get_account_posts", params) == []

    node.clock.set_head(HEAD + 1)
    created = format_time(node.ledger.block_time(HEAD + 1))
    (found,) = result(node.url, "database_api.find_comments", {"comments": [[BOT, "hello"]]})["comments"]
    assert (found["author"], found["permlink"], found["created"], found["depth"]) == (
        BOT,
        "hello",
        created,
        0,
    )
    content = result(node.url, "condenser_api.get_content", [BOT, "hello"])
    assert (content["title"], content["body"], content["category"]) == ("Hi", "Hello", "devnet")
    (post,) = result(node.url, "bridge.get_account_posts", params)
    assert (post["author"], post["permlink"], post["created"], post["title"], post["body"]) == (
        BOT, "hello", created, "Hi", "Hello")  # fmt: skip
    assert (post["category"], post["depth"], post["json_metadata"]) == ("devnet", 0, json.loads(meta))


def test_beem_comment_reply_reads_the_post_and_broadcasts_a_reply(node: DevNode, hive: Hive) -> None:
    beem_broadcast(
        hive, operations.Comment(**comment_op(BOT, "root", "A root post", title="Root")), key=wif(BOT)
    )
    node.clock.set_head(HEAD + 1)
    post = Comment(f"@{BOT}/root", blockchain_instance=hive)  # bridge.get_post
    assert post["title"] == "Root"
    sent = post.reply("Thanks!", author=BOT)  # find_accounts, props, header, condenser broadcast
    accepted = node.ledger.find(sent["trx_id"])
    assert accepted is not None and accepted.block == HEAD + 2
    node.clock.set_head(HEAD + 2)
    permlink = accepted.transaction["operations"][0]["value"]["permlink"]
    reply = result(node.url, "condenser_api.get_content", [BOT, permlink])
    assert (reply["parent_author"], reply["parent_permlink"], reply["depth"], reply["body"]) == (
        BOT, "root", 1, "Thanks!")  # fmt: skip
    assert (reply["root_author"], reply["root_permlink"], reply["root_title"]) == (BOT, "root", "Root")


def test_network_broadcast_api_takes_the_block_api_format_and_synchronous_names_the_block(
    node: DevNode,
) -> None:
    transaction = signed(node, [["comment", comment_op(BOT, "via-appbase")]], wif(BOT))
    appbase = {
        **transaction,
        "operations": [{"type": "comment_operation", "value": comment_op(BOT, "via-appbase")}],
    }
    assert signing.transaction_id(appbase) == signing.transaction_id(transaction)
    assert (
        result(node.url, "network_broadcast_api.broadcast_transaction", {"trx": appbase, "max_block_age": -1})
        == {}
    )
    assert node.ledger.find(signing.transaction_id(transaction)) is not None

    node.clock.set_head(HEAD + 1)
    later = signed(node, [["comment", comment_op(BOT, "synchronous", parent=(BOT, "via-appbase"))]], wif(BOT))
    answer = result(node.url, "condenser_api.broadcast_transaction_synchronous", [later])
    assert answer == {"id": signing.transaction_id(later), "block_num": HEAD + 2,
                      "trx_num": node.ledger.transactions(HEAD + 2)[0].trx_num, "expired": False}  # fmt: skip


def test_a_node_running_at_speed_20_takes_a_beem_broadcast_with_beems_default_expiration(
    chain: ChainGenerator, tmp_path: Path
) -> None:
    with DevNode(chain, head=HEAD, speed=20) as node:
        hive = beem_hive(node, wif(BOT), tmp_path, blocking="head", use_condenser=True)  # expiration: 30 s
        sent = hive.post("", "Fast", author=BOT, permlink="fast", reply_identifier=None, tags=["devnet"])
        assert node.requests[-1] == "condenser_api.broadcast_transaction_synchronous"
        accepted = node.ledger.find(sent["id"])
        assert accepted is not None and accepted.block == sent["block_num"]
        assert accepted.expiration - node.ledger.block_time(accepted.block - 1) <= 30
        assert node.clock.head() >= sent["block_num"]  # the synchronous answer came once its block was made
        block = result(node.url, "block_api.get_block", {"block_num": sent["block_num"]})["block"]
        assert block["transaction_ids"][sent["trx_num"]] == sent["id"]


# -- refusals ---------------------------------------------------------------------------------------------------
def test_an_active_or_owner_key_signature_on_a_comment_is_rejected_since_hf28(
    node: DevNode, tmp_path: Path
) -> None:
    for role in ("active", "owner"):
        hive = beem_hive(node, wif(BOT, role), tmp_path / role)
        with pytest.raises(UnhandledRPCError, match=f"missing required posting authority.*{BOT}"):
            beem_broadcast(hive, operations.Comment(**comment_op(BOT, f"by-{role}")), key=wif(BOT, role))
    assert node.ledger.transactions(HEAD + 1) == []


def test_a_signature_for_another_chain_or_a_corrupt_one_or_by_another_account_is_rejected(
    node: DevNode,
) -> None:
    ops = [["comment", comment_op(BOT, "forged")]]
    testnet = signing.sign(legacy_tx(node, ops), [wif(BOT)], chain_id="0" * 64)  # beem offline's chain id
    assert "missing required posting authority" in rejection(node, testnet)
    someone_else = signed(node, ops, wif("somebody"))
    assert "missing required posting authority" in rejection(node, someone_else)
    good = signed(node, ops, wif(BOT))
    corrupt = {**good, "signatures": ["1f" + "11" * 64]}
    assert "signature" in rejection(node, corrupt)
    unsigned = legacy_tx(node, ops)
    assert "missing required posting authority" in rejection(node, unsigned)
    both = signing.sign(legacy_tx(node, ops), [wif(BOT), wif(BOT, "active")])
    assert "irrelevant signature included" in rejection(node, both)
    assert "result" in broadcast(node, good)


def test_resending_an_accepted_transaction_is_a_duplicate(node: DevNode) -> None:
    transaction = signed(node, [["comment", comment_op(BOT, "once")]], wif(BOT))
    assert broadcast(node, transaction)["result"] == {}
    assert "Duplicate transaction check failed" in rejection(node, transaction)
    node.clock.set_head(HEAD + 1)
    assert "Duplicate transaction check failed" in rejection(node, transaction)  # in a block now: still known
    assert [a.transaction["signatures"] for a in node.ledger.transactions(HEAD + 1)] == [
        transaction["signatures"]
    ]


def test_one_comment_per_author_per_block_and_one_root_post_per_five_minutes(
    node: DevNode, hive: Hive
) -> None:
    beem_broadcast(hive, operations.Comment(**comment_op(BOT, "first")), key=wif(BOT))
    reply = operations.Comment(**comment_op(BOT, "second", parent=(BOT, "first")))
    with pytest.raises(UnhandledRPCError, match="You may only comment once every 3 seconds"):
        beem_broadcast(hive, reply, key=wif(BOT))  # would be in the same block: 0 s after the first
    node.clock.set_head(HEAD + 1)
    beem_broadcast(hive, reply, key=wif(BOT))  # block HEAD + 2: 3 s later

    another_root = operations.Comment(**comment_op(BOT, "third"))
    node.clock.set_head(HEAD + 100)  # block HEAD + 101 is exactly 300 s after HEAD + 1
    with pytest.raises(UnhandledRPCError, match="You may only post once every 5 minutes"):
        beem_broadcast(hive, another_root, key=wif(BOT))
    node.clock.set_head(HEAD + 101)
    beem_broadcast(hive, another_root, key=wif(BOT))
    assert [a.block for a in node.ledger.transactions(HEAD + 102)] == [HEAD + 102]


def test_the_3_second_rule_counts_the_generated_comments_of_the_same_block(
    node: DevNode, chain: ChainGenerator, tmp_path: Path
) -> None:
    for num in range(HEAD + 1, HEAD + 100):  # a block creating a comment whose author is idle in the next one
        block, following = chain.block(num), chain.block(num + 1)
        assert block is not None and following is not None
        idle = {v["author"] for v in generated_ops(following, "comment")}
        created = [
            v
            for v in generated_ops(block, "comment")
            if chain.comment(v["author"], v["permlink"], num - 1) is None
        ]
        found = [v for v in created if v["author"] not in idle]
        if found:
            break
    else:
        pytest.fail("no generated comment to race against")
    writer, parent = found[0]["author"], (found[0]["author"], found[0]["permlink"])
    node.clock.set_head(num - 1)
    hive = beem_hive(node, wif(writer), tmp_path)
    reply = operations.Comment(**comment_op(writer, "one-more", parent=parent))
    with pytest.raises(UnhandledRPCError, match="You may only comment once every 3 seconds"):
        beem_broadcast(hive, reply, key=wif(writer))  # block num already has the writer's generated comment
    node.clock.set_head(num)
    beem_broadcast(hive, reply, key=wif(writer))
    assert [a.block for a in node.ledger.transactions(num + 1)] == [num + 1]


def test_reposting_a_permlink_edits_the_comment(node: DevNode, hive: Hive) -> None:
    beem_broadcast(hive, operations.Comment(**comment_op(BOT, "edited", "Old text", title="T")), key=wif(BOT))
    with pytest.raises(UnhandledRPCError, match="Can only perform one comment edit per block"):
        beem_broadcast(
            hive, operations.Comment(**comment_op(BOT, "edited", "Same block", title="T")), key=wif(BOT)
        )
    node.clock.set_head(HEAD + 1)
    beem_broadcast(
        hive, operations.Comment(**comment_op(BOT, "edited", "New text", title="T2")), key=wif(BOT)
    )
    node.clock.set_head(HEAD + 2)
    patch = "@@ -1,3 +1,5 @@\n New\n+er\n  tex\n"  # diff-match-patch: "New text" → "Newer text"
    beem_broadcast(hive, operations.Comment(**comment_op(BOT, "edited", patch, title="T2")), key=wif(BOT))
    node.clock.set_head(HEAD + 3)

    content = result(node.url, "condenser_api.get_content", [BOT, "edited"])
    assert (content["body"], content["title"]) == ("Newer text", "T2")
    assert content["created"] == format_time(node.ledger.block_time(HEAD + 1))
    assert content["last_update"] == format_time(node.ledger.block_time(HEAD + 3))
    posts = result(node.url, "bridge.get_account_posts", {"sort": "posts", "account": BOT})
    assert [p["permlink"] for p in posts] == ["edited"]  # one post, edited twice
    parent_changed = operations.Comment(**comment_op(BOT, "edited", "x", parent=(BOT, "edited")))
    with pytest.raises(UnhandledRPCError, match="The parent of a comment cannot change"):
        beem_broadcast(hive, parent_changed, key=wif(BOT))


def test_find_accounts_gives_last_post_and_last_post_edit_as_hived_sets_them(node: DevNode) -> None:
    """hived sets both to its ``_now`` for a new comment, only ``last_post_edit`` for an edit
    (``comment_evaluator::do_apply``, openhive-network/hive ``libraries/chain/hive_evaluator_social.cpp``),
    and ``_now`` is the previous block's time while a block's transactions are applied
    (``database::_apply_block``, ``libraries/chain/database.cpp``). Field names and format as in hived's
    ``tests/python/api_tests/pattern_tests/tavern/database_api_patterns/list_accounts/
    by_next_vesting_withdrawal.pat.json``."""

    def last_posts() -> tuple[str, str]:
        account = result(node.url, "database_api.find_accounts", {"accounts": [BOT]})["accounts"][0]
        return account["last_post"], account["last_post_edit"]

    assert last_posts() == ("1970-01-01T00:00:00", "1970-01-01T00:00:00")
    broadcast(node, signed(node, [["comment", comment_op(BOT, "timed", "One")]], wif(BOT)))
    assert last_posts() == ("1970-01-01T00:00:00",) * 2  # in block HEAD + 1, which the head has not reached
    node.clock.set_head(HEAD + 1)
    created = format_time(node.ledger.block_time(HEAD))
    assert last_posts() == (created, created)
    broadcast(node, signed(node, [["comment", comment_op(BOT, "timed", "Two")]], wif(BOT)))
    node.clock.set_head(HEAD + 2)
    assert last_posts() == (created, format_time(node.ledger.block_time(HEAD + 1)))


def test_a_late_broadcast_arrives_after_the_head_moved_and_goes_into_the_block_after_it(
    node: DevNode,
) -> None:
    node.faults.late.add(blocks=2)
    assert broadcast(node, signed(node, [["comment", comment_op(BOT, "late")]], wif(BOT)))["result"] == {}
    assert node.clock.head() == HEAD + 2
    assert [a.block for a in node.ledger.transactions(HEAD + 3)] == [HEAD + 3]
    assert broadcast(node, signed(node, [["vote", {"voter": BOT, "author": BOT, "permlink": "late",
                                                   "weight": 100}]], wif(BOT)))["result"] == {}  # fmt: skip
    assert node.clock.head() == HEAD + 2  # used up


def test_a_reply_to_a_missing_parent_and_malformed_comments_are_rejected(node: DevNode) -> None:
    def refused(op: dict[str, Any]) -> str:
        return rejection(node, signed(node, [["comment", op]], wif(BOT)))

    assert "doesn't exist" in refused(comment_op(BOT, "orphan", parent=("nobody-here", "nothing")))
    assert "Body is empty" in refused(comment_op(BOT, "empty", ""))
    assert "Title size limit exceeded" in refused(comment_op(BOT, "long-title", title="é" * 128))
    assert "JSON is not valid JSON" in refused(comment_op(BOT, "bad-json", json_metadata="{tags"))
    assert "Invalid permlink character" in refused(comment_op(BOT, "Upper-Case"))
    assert "permlink is too long" in refused(comment_op(BOT, "p" * 256))
    assert "result" in broadcast(node, signed(node, [["comment", comment_op(BOT, "p" * 255)]], wif(BOT)))


def test_expired_too_late_and_badly_referenced_transactions_are_rejected(node: DevNode, hive: Hive) -> None:
    builder = TransactionBuilder(blockchain_instance=hive)  # expiration: head time + 30 s
    builder.appendOps(operations.Comment(**comment_op(BOT, "late")))
    builder.appendWif(wif(BOT))
    builder.sign()
    node.clock.set_head(HEAD + 10)  # 30 s of chain time pass before it is sent
    with pytest.raises(UnhandledRPCError, match=r"transaction expiration exception:now < "):
        builder.broadcast()

    ops = [["comment", comment_op(BOT, "later")]]
    too_late = signed(node, ops, wif(BOT), expires_in=86_401)  # HF28: up to a day ahead
    assert "HIVE_MAX_TIME_UNTIL_SIGNATURE_EXPIRATION" in rejection(node, too_late)
    wrong_prefix = signing.sign({**legacy_tx(node, ops), "ref_block_prefix": 12345}, [wif(BOT)])
    assert "transaction tapos exception:trx.ref_block_prefix" in rejection(node, wrong_prefix)
    too_old = signed(node, ops, wif(BOT), ref=HEAD + 10 - 70_000)  # its low 16 bits name a newer block
    assert "ref_block_prefix" in rejection(node, too_old)
    assert "result" in broadcast(node, signed(node, ops, wif(BOT), expires_in=3600, ref=HEAD + 10 - 65_535))


# -- resource credits -------------------------------------------------------------------------------------------
def test_without_enough_rc_a_broadcast_is_rejected_until_rc_regenerates(node: DevNode, hive: Hive) -> None:
    max_rc = 100 * COMMENT_COST
    node.ledger.set_rc(BOT, HEAD, max_rc=max_rc, current_mana=COMMENT_COST - 1)
    (rc,) = result(node.url, "rc_api.find_rc_accounts", {"accounts": [BOT, "nobody-here"]})["rc_accounts"]
    assert (rc["account"], rc["max_rc"], rc["rc_manabar"]["current_mana"]) == (
        BOT,
        max_rc,  # numbers below 2^53, as hived writes them (tests/fixtures/conformance)
        COMMENT_COST - 1,
    )
    assert rc["rc_manabar"]["last_update_time"] == node.ledger.block_time(HEAD)

    comment = operations.Comment(**comment_op(BOT, "costly"))
    message = f"Account: {BOT} has {COMMENT_COST - 1} RC, needs {COMMENT_COST} RC. Please wait to transact or power up HIVE."
    with pytest.raises(UnhandledRPCError, match=message.replace(".", r"\.")):
        beem_broadcast(hive, comment, key=wif(BOT))
    # one comment's worth regenerates in 1 % of 432,000 s = 4,320 s = 1,440 blocks; one block is plenty here
    node.clock.set_head(HEAD + 1)
    beem_broadcast(hive, comment, key=wif(BOT))
    (rc,) = result(node.url, "rc_api.find_rc_accounts", {"accounts": [BOT]})["rc_accounts"]
    regenerated = max_rc * 3 // REGENERATION_SECONDS
    assert int(rc["rc_manabar"]["current_mana"]) == COMMENT_COST - 1 + regenerated - COMMENT_COST
    assert rc["rc_manabar"]["last_update_time"] == node.ledger.block_time(HEAD + 1)


# -- faults ------------------------------------------------------------------------------------------------------
def test_injected_faults_reject_or_lose_the_next_broadcasts_in_order(node: DevNode) -> None:
    node.faults.reject_rc()
    node.faults.reject_duplicate()
    node.faults.reject("Internal Error", code=-32000)
    node.faults.drop()
    transaction = signed(node, [["comment", comment_op(BOT, "unlucky")]], wif(BOT))

    assert f"Account: {BOT} has 0 RC, needs {COMMENT_COST} RC" in rejection(node, transaction)
    assert "Duplicate transaction check failed" in rejection(node, transaction)
    assert error(node.url, "condenser_api.broadcast_transaction", [transaction]) == {
        "code": -32000, "message": "Internal Error"}  # fmt: skip
    invalid = signed(node, [["comment", comment_op(BOT, "x", "")]], wif(BOT))
    assert "Body is empty" in rejection(node, invalid)  # refused on its own: the drop waits for a good one
    assert broadcast(node, transaction)["result"] == {}  # "accepted" … and lost
    assert node.faults.pending == ()
    assert node.ledger.find(signing.transaction_id(transaction)) is None
    node.clock.set_head(HEAD + 1)
    assert result(node.url, "block_api.get_block", {"block_num": HEAD + 1})["block"]["transactions"] == (
        node.ledger.source.block(HEAD + 1) or {})["transactions"]  # fmt: skip
    status = {"transaction_id": signing.transaction_id(transaction), "expiration": transaction["expiration"]}
    assert result(node.url, "transaction_status_api.find_transaction", status) == {"status": "unknown"}
    node.clock.set_head(HEAD + 25)  # past its expiration (60 s)
    assert result(node.url, "transaction_status_api.find_transaction", status) == {
        "status": "expired_irreversible"
    }
    assert "transaction expiration exception" in rejection(node, transaction)  # too late to send it again


def test_a_dropped_synchronous_broadcast_is_answered_as_expired(node: DevNode) -> None:
    node.faults.drop()
    transaction = signed(node, [["comment", comment_op(BOT, "lost")]], wif(BOT))
    answer = result(node.url, "condenser_api.broadcast_transaction_synchronous", [transaction])
    assert answer == {
        "id": signing.transaction_id(transaction),
        "block_num": 0,
        "trx_num": 0,
        "expired": True,
    }
    assert (
        result(node.url, "condenser_api.broadcast_transaction_synchronous", [transaction])["block_num"]
        == HEAD + 1
    )


def test_transaction_status_follows_a_transaction_into_an_irreversible_block(node: DevNode) -> None:
    transaction = signed(node, [["comment", comment_op(BOT, "tracked")]], wif(BOT))
    broadcast(node, transaction)
    status = {"transaction_id": signing.transaction_id(transaction)}
    assert result(node.url, "transaction_status_api.find_transaction", status) == {"status": "within_mempool"}
    node.clock.set_head(HEAD + 1)
    assert result(node.url, "transaction_status_api.find_transaction", status) == {
        "status": "within_reversible_block", "block_num": HEAD + 1}  # fmt: skip
    node.clock.set_head(HEAD + 2)
    assert result(node.url, "transaction_status_api.find_transaction", status) == {
        "status": "within_irreversible_block", "block_num": HEAD + 1}  # fmt: skip


def test_a_block_served_before_the_head_moved_back_shows_a_later_transaction(node: DevNode) -> None:
    node.clock.set_head(HEAD + 1)
    before = result(node.url, "block_api.get_block", {"block_num": HEAD + 1})["block"]  # cached now
    node.clock.set_head(HEAD)
    broadcast(node, signed(node, [["comment", comment_op(BOT, "late-arrival")]], wif(BOT)))
    node.clock.set_head(HEAD + 1)
    after = result(node.url, "block_api.get_block", {"block_num": HEAD + 1})["block"]
    assert after["transactions"][:-1] == before["transactions"]
    assert after["transactions"][-1]["operations"][0]["value"]["permlink"] == "late-arrival"


# -- scripted users ----------------------------------------------------------------------------------------------
def test_dev_users_reply_stop_and_vote_and_their_operations_appear_in_blocks(
    node: DevNode, author: str, tmp_path: Path
) -> None:
    bot = DevUser(node, BOT, data_dir=tmp_path / "bot")
    user = DevUser(node, author, data_dir=tmp_path / "user")
    posted = bot.post("badge-for-you", "A badge", f"@{author} earned a badge")
    assert posted is not None
    node.clock.set_head(posted.block)

    stop = user.stop(BOT, "badge-for-you", permlink="stop-please")
    assert stop is not None and stop.block == HEAD + 2
    with pytest.raises(UnhandledRPCError, match="Vote weight cannot be 0"):
        user.vote(BOT, "badge-for-you", 0)
    vote = user.vote(BOT, "badge-for-you", 5000)
    assert vote is not None and vote.block == HEAD + 2
    node.clock.set_head(HEAD + 2)
    with pytest.raises(UnhandledRPCError, match="identical to this vote"):
        user.vote(BOT, "badge-for-you", 5000)

    block = result(node.url, "block_api.get_block", {"block_num": HEAD + 2})["block"]
    assert {"parent_author": BOT, "parent_permlink": "badge-for-you", "author": author, "permlink": "stop-please",
            "title": "", "body": "STOP"}.items() <= generated_ops(block, "comment")[-1].items()  # fmt: skip
    assert generated_ops(block, "vote")[-1] == {"voter": author, "author": BOT, "permlink": "badge-for-you",
                                                "weight": 5000}  # fmt: skip
    assert block["transaction_ids"][-2:] == [stop.id, vote.id]
    content = result(node.url, "condenser_api.get_content", [BOT, "badge-for-you"])
    assert [(v["voter"], v["percent"]) for v in content["active_votes"]] == [(author, 5000)]
    reply = result(node.url, "condenser_api.get_content", [author, "stop-please"])
    assert (reply["body"], reply["depth"], reply["root_title"]) == ("STOP", 1, "A badge")


def test_a_deleted_comment_is_answered_as_hivemind_answers_it(
    node: DevNode, author: str, tmp_path: Path
) -> None:
    # openhive-network/hivemind, tests/api_tests/hivemind/tavern/condenser_api_negative/get_content/:
    # deleted_post.pat.json (commit f7ebb9ec) and nonexisting_post.pat.json (commit 3815e25d)
    user = DevUser(node, author, data_dir=tmp_path)
    assert user.post("parent", "Parent", "A post to reply to") is not None
    for n, head in enumerate((HEAD + 1, HEAD + 3)):  # created, deleted, created again, deleted again
        node.clock.set_head(head)
        assert user.reply(author, "parent", f"version {n}", permlink="gone") is not None
        node.clock.set_head(head + 1)
        assert user.delete("gone") is not None
        node.clock.set_head(head + 2)
        assert error(node.url, "condenser_api.get_content", [author, "gone"]) == {
            "code": -31999,
            "message": "Invalid parameters",
            "data": f"Post {author}/gone was deleted {n + 1} time(s)",
        }
    unknown = error(node.url, "condenser_api.get_content", [author, "never-was"])
    text = f"Post {author}/never-was does not exist"
    assert (unknown["code"], unknown["message"]) == (-32602, f"Assert Exception:{text}")
    assert (unknown["data"]["name"], unknown["data"]["message"]) == ("assert_exception", "Assert Exception")
    assert unknown["data"]["extension"] == {"assertion_expression": text}


def test_get_account_posts_lists_generated_and_broadcast_root_posts_newest_first(
    node: DevNode, author: str, chain: ChainGenerator, tmp_path: Path
) -> None:
    generated = [
        permlink for _, permlink in itertools.islice(chain.root_posts(author, HEAD, HEAD - 28_800), 3)
    ]
    user = DevUser(node, author, data_dir=tmp_path)
    mine = user.post("my-devnet-post", "Mine", "Posted through beem")
    assert mine is not None
    params = {"sort": "posts", "account": author, "limit": 3}
    before = [p["permlink"] for p in result(node.url, "bridge.get_account_posts", params)]
    assert before == generated
    node.clock.set_head(mine.block)
    posts = result(node.url, "bridge.get_account_posts", params)
    assert [p["permlink"] for p in posts] == ["my-devnet-post", *generated[:2]]
    assert all(p["author"] == author and p["depth"] == 0 for p in posts)
    assert [p["created"] for p in posts] == sorted((p["created"] for p in posts), reverse=True)
    page = result(node.url, "bridge.get_account_posts", {**params, "start_author": author,
                                                         "start_permlink": generated[0], "limit": 2})  # fmt: skip
    assert [p["permlink"] for p in page] == generated[1:3]
    assert (
        "Assert Exception:Unsupported sort"  # hivemind's words
        in error(node.url, "bridge.get_account_posts", {**params, "sort": "blog"})["message"]
    )


def test_permlinks_of_other_shapes_are_unknown_comments_not_node_errors(node: DevNode) -> None:
    # beem names replies "re-<parent>-<yyyymmdd>t<hhmmss>z"; any "-<word>" tail parses as a base-36 block number
    permlinks = ["re-root-20251201t235959z", *(f"post-{n:x}zzzzzzzzzz" for n in range(40))]
    answer = result(node.url, "database_api.find_comments", {"comments": [[BOT, p] for p in permlinks]})
    assert answer == {"comments": []}
    assert error(node.url, "condenser_api.get_content", [BOT, permlinks[0]])["code"] == -32602
