"""Every parser of the bot, run on real node answers: the real :class:`~bot.chain.ChainClient` and the real
beem ask a server on 127.0.0.1 that replays an answer of the corpus (``tests/fixtures/conformance``, each
file naming its source), and the pure parsers read the answers as they come.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from bot.chain import ChainClient
from bot.chain.transactions import PostingKey, Reply
from bot.errors import ChainDataError, ChainError, PermanentChainError, PostingKeyError
from bot.history import parse_history
from bot.operations import Comment, Vote, block_num_from_id, parse_block_range, parse_timestamp
from bot.payouts import Payout, PayoutKind, Prices, parse_virtual_ops
from tests.chain.conformance.corpus import ReplayNode, load

AUTHOR = PayoutKind.AUTHOR.value
WIF = "5JLw5dgQAx6rhZEgNN5C2ds1V47RweGshynFSWFbaMohsYsBvE8"  # a throwaway key, of no account


@pytest.fixture(scope="module")
def replay() -> Iterator[ReplayNode]:
    with ReplayNode() as node:
        yield node


@pytest.fixture
def client(replay: ReplayNode) -> Iterator[ChainClient]:
    replay.answers.clear()
    chain = ChainClient([replay.url], timeout=5, max_backoff=1)
    yield chain
    chain.close()


@pytest.mark.parametrize(
    ("name", "head", "irreversible"),
    [
        ("database_api.get_dynamic_global_properties.block_5000000", 5_000_000, 4_999_980),
        ("database_api.get_dynamic_global_properties.mainnet_2025", 97_477_291, 97_477_291),
    ],
)
def test_the_chain_state_is_read_from_real_global_properties(
    replay: ReplayNode, client: ChainClient, name: str, head: int, irreversible: int
) -> None:
    answer = load(name)
    replay.serve(answer)
    state = client.fetch_state()
    assert (state.head_block, state.irreversible_block) == (head, irreversible)
    assert state.head_block_id == answer.result["head_block_id"]
    assert state.time == parse_timestamp(answer.result["time"])


def test_the_chain_id_is_read_from_a_real_config(replay: ReplayNode, client: ChainClient) -> None:
    replay.serve(load("database_api.get_config.get"))
    assert client.chain_id() == "beeab0de" + "0" * 56


def test_a_real_block_range_is_fetched_and_parsed_with_its_votes_and_comments(
    replay: ReplayNode, client: ChainClient
) -> None:
    answer = load("block_api.get_block_range.milion")
    replay.serve(answer)
    real = answer.result["blocks"]
    first = block_num_from_id(real[0]["block_id"])
    blocks = client.fetch_blocks(first, len(real))
    assert [block.num for block in blocks] == list(range(first, first + len(real)))
    assert [block.block_id for block in blocks] == [block["block_id"] for block in real]
    ops = [op for block in real for tx in block["transactions"] for op in tx["operations"]]
    events = [event for block in blocks for event in block.events]
    assert sum(isinstance(e, Vote) for e in events) == sum(op["type"] == "vote_operation" for op in ops) > 0
    assert (
        sum(isinstance(e, Comment) for e in events)
        == sum(op["type"] == "comment_operation" for op in ops)
        > 0
    )


def test_an_empty_real_block_range_parses_to_no_blocks_and_is_no_block_the_bot_takes(
    replay: ReplayNode, client: ChainClient
) -> None:
    answer = load("block_api.get_block_range.non_existing")
    assert parse_block_range(json.dumps(answer.result).encode(), 1_000_000_000) == []
    replay.serve(answer)
    with pytest.raises(ChainDataError, match="no block 1000000000"):
        client.fetch_blocks(1_000_000_000, 1000)


@pytest.mark.parametrize(
    "name", ["database_api.find_comments.mixed", "database_api.find_comments.missing_both"]
)
def test_comment_times_are_read_from_real_find_comments_answers(
    replay: ReplayNode, client: ChainClient, name: str
) -> None:
    answer = load(name)
    replay.serve(answer)
    asked = [(str(pair[0]), str(pair[1])) for pair in answer.params["comments"] if len(pair) == 2]
    found = {(c["author"], c["permlink"]): parse_timestamp(c["created"]) for c in answer.result["comments"]}
    assert client.fetch_comment_times(asked) == {key: found.get(key) for key in asked}


def test_the_body_of_a_real_get_content_answer_is_read(replay: ReplayNode, client: ChainClient) -> None:
    answer = load("condenser_api.get_content.steemit_firstpost")
    replay.serve(answer)
    key = (answer.params[0], answer.params[1])
    assert client.fetch_contents([key]) == {key: answer.result["body"]}


@pytest.mark.parametrize(
    "name", ["condenser_api.get_content.deleted_post", "condenser_api.get_content.nonexisting_post"]
)
def test_a_real_get_content_error_for_a_missing_post_reads_as_no_content(
    replay: ReplayNode, client: ChainClient, name: str
) -> None:
    """hivemind answers a deleted or unknown post with an error, where hived answered an empty comment:
    the comment is not there, which is not a failure of the node."""
    answer = load(name)
    replay.serve(answer)
    key = (answer.params[0], answer.params[1])
    assert client.fetch_contents([key]) == {key: None}


@pytest.mark.parametrize(
    ("name", "kinds"),
    [
        ("account_history_api.get_account_history.vote_and_comment_ops", {"vote", "comment"}),
        (
            "account_history_api.get_account_history.effective_comment_vote_operation",
            {"effective_comment_vote"},
        ),
        ("account_history_api.get_account_history.delete_comment_operation", {"delete_comment"}),
        ("account_history_api.get_account_history.comment_operation", {"comment"}),
    ],
)
def test_real_account_history_pages_parse_into_the_entries_the_baseline_reads(
    replay: ReplayNode, client: ChainClient, name: str, kinds: set[str]
) -> None:
    answer = load(name)
    replay.serve(answer)
    params = answer.params
    page = client.fetch_account_history(
        params["account"], params["start"], params["limit"],
        filter_low=params.get("operation_filter_low", 0), filter_high=params.get("operation_filter_high", 0),
    )  # fmt: skip
    entries = parse_history(page, params["account"])
    real = answer.result["history"]
    assert [entry.index for entry in entries] == [index for index, _ in real]
    assert {entry.kind for entry in entries} == kinds
    assert [entry.time for entry in entries] == [parse_timestamp(item["timestamp"]) for _, item in real]
    assert [dict(entry.value) for entry in entries] == [item["op"]["value"] for _, item in real]


def test_the_newest_root_post_is_read_from_a_real_account_posts_answer(
    replay: ReplayNode, client: ChainClient
) -> None:
    answer = load("bridge.get_account_posts.gtg")
    replay.serve(answer)
    newest = answer.result[0]
    assert client.fetch_latest_root_post("gtg") == (newest["permlink"], parse_timestamp(newest["created"]))


def test_a_real_empty_account_posts_answer_means_no_root_post(
    replay: ReplayNode, client: ChainClient
) -> None:
    replay.serve(load("bridge.get_account_posts.no_posts"))
    assert client.fetch_latest_root_post("gtg") is None


def test_a_real_unknown_account_answer_to_account_posts_is_an_error(
    replay: ReplayNode, client: ChainClient
) -> None:
    replay.serve(load("bridge.get_account_posts.not_existing_account"))
    with pytest.raises(ChainError):
        client.fetch_latest_root_post("notexistingtest")


@pytest.mark.parametrize("account", ["gtg", "blocktrades", "thebeedevs"])
def test_resource_credits_are_read_from_a_real_answer_whether_numbers_or_strings(
    replay: ReplayNode, client: ChainClient, account: str
) -> None:
    """hived writes an integer beyond 2^53 as a string (blocktrades' ``max_rc``), a smaller one as a number."""
    answer = load("rc_api.find_rc_accounts.mainnet_2025")
    replay.serve(answer)
    (real,) = [item for item in answer.result["rc_accounts"] if item["account"] == account]
    bar = real["rc_manabar"]
    credits = client.fetch_resource_credits(account, int(bar["last_update_time"]))
    assert (credits.current, credits.maximum) == (int(bar["current_mana"]), int(real["max_rc"]))


@pytest.mark.parametrize(
    "name", ["database_api.find_accounts.mainnet_2025", "database_api.find_accounts.find"]
)
def test_the_posting_key_check_reads_real_account_authorities(
    replay: ReplayNode, client: ChainClient, name: str
) -> None:
    answer = load(name)
    replay.serve(answer)
    account = answer.result["accounts"][0]["name"]
    with pytest.raises(PostingKeyError, match=f"is not a posting key of @{account}"):
        client.check_posting_key(account, PostingKey(WIF))
    with pytest.raises(PostingKeyError, match="does not exist"):
        client.check_posting_key("nobody-here", PostingKey(WIF))


@pytest.mark.parametrize(
    "name",
    [
        "condenser_api.broadcast_transaction.missing_posting_authority",
        "condenser_api.broadcast_transaction.transaction_tapos_exception",
    ],
)
def test_a_real_broadcast_refusal_is_a_permanent_error(
    replay: ReplayNode, client: ChainClient, name: str
) -> None:
    replay.serve(load(name), load("database_api.get_config.get"))
    state = load("database_api.get_dynamic_global_properties.mainnet_2025").result
    replay.serve(load("database_api.get_dynamic_global_properties.mainnet_2025"))
    head = client.fetch_state()
    reply = Reply("badge-bot", "re-badge", ("gtg", state["head_block_id"][:8]), "Hello", json.dumps({}))
    with pytest.raises(PermanentChainError, match="broadcast refused"):
        client.broadcast_reply(reply, PostingKey(WIF), head, 60)


@pytest.mark.parametrize(
    "name", ["database_api.find_accounts.mainnet_2025", "database_api.find_accounts.find"]
)
def test_the_creation_times_of_accounts_are_read_from_real_answers(
    replay: ReplayNode, client: ChainClient, name: str
) -> None:
    """``created`` is UTC without a zone, as hived writes every time (``"2016-03-24T17:00:21"``)."""
    answer = load(name)
    replay.serve(answer)
    accounts = [item["name"] for item in answer.result["accounts"]]
    found = client.fetch_account_creations([*accounts, "nobody-here"])
    assert found == {item["name"]: parse_timestamp(item["created"]) for item in answer.result["accounts"]}
    assert parse_timestamp("2016-03-24T17:00:21") == 1458838821


def test_real_virtual_operations_give_each_payout_to_whom_it_pays_and_the_proof_of_the_block() -> None:
    """hived's enum_virtual_ops patterns: a payout block with every kind of virtual operation (only the
    author reward is a payout; its producer reward proves the block), and a page of curation rewards cut by
    its limit (the next page's place)."""
    block = load("account_history_api.enum_virtual_ops.block_3744646_filter_all")
    page = parse_virtual_ops(json.dumps(block.result).encode())
    (author,) = [entry["op"]["value"] for entry in block.result["ops"] if entry["op"]["type"] == AUTHOR]
    assert page.payouts == (
        Payout(
            author["author"],
            PayoutKind.AUTHOR,
            hbd=int(author["hbd_payout"]["amount"]),
            hive=int(author["hive_payout"]["amount"]),
            vests=int(author["vesting_payout"]["amount"]),
        ),
    )
    assert page.produced == {3_744_646}
    curation = load("account_history_api.enum_virtual_ops.curation_reward_operation")
    page = parse_virtual_ops(json.dumps(curation.result).encode())
    assert [(p.account, p.kind, p.vests) for p in page.payouts] == [
        (e["op"]["value"]["curator"], PayoutKind.CURATION, int(e["op"]["value"]["reward"]["amount"]))
        for e in curation.result["ops"]
    ]
    assert (page.next_block, page.next_operation) == (2_889_020, 12_408_246_417_492_535)  # a quoted number


def test_the_prices_are_read_from_real_global_properties_and_a_real_feed(
    replay: ReplayNode, client: ChainClient
) -> None:
    """A node at block 5,000,000: 149,190,428.013 HIVE in the vesting fund for 448,144,916,705.468383 VESTS,
    the median 0.637 HBD a HIVE."""
    replay.serve(load("database_api.get_dynamic_global_properties.block_5000000"))
    replay.serve(load("database_api.get_feed_history.get"))
    assert client.fetch_prices() == Prices(149_190_428_013, 448_144_916_705_468_383, 637, 1000)
