"""The verdict of a node's error answer to a broadcast, from hived's own words (table-driven), and what a
proxy says about waiting (``Retry-After``) and batch sizes. Sources: each row of
:data:`bot.chain.verdicts.RULES` names its own; the messages below are hived's as its source builds them
(openhive-network/hive@1584099c: ``database.cpp``, ``protocol/exceptions.hpp``, ``protocol/transaction_util.cpp``,
``chain/database_exceptions.hpp``, ``rc/rc_utility.cpp``, ``hive_evaluator_social.cpp``; the answer of
``tests/python/api_tests/pattern_tests/tavern/condenser_api_negative/broadcast_transaction/
missing_posting_authority.pat.json``) and jussi's (steemit/jussi@1ebf8427 ``jussi/errors.py``)."""

from __future__ import annotations

from email.utils import formatdate
from typing import Any

import pytest

from bot.chain.verdicts import (
    MAX_RETRY_AFTER,
    RULES,
    Verdict,
    classify_error_answer,
    classify_read_error,
    parse_batch_limit,
    parse_retry_after,
)

FC_DATA = {"code": 13, "name": "N5boost16exception_detail…out_of_rangeEEEE", "message": "x", "stack": []}

ANSWERS: list[tuple[str, int | None, Any, Verdict]] = [
    # hived refusing the bot's transaction
    ("unknown key:unknown key: ", -32000, FC_DATA, Verdict.REFUSED),  # the pattern test's answer
    ("irrelevant signature included:Unnecessary signature(s) detected", -32003, None, Verdict.REFUSED),
    ("missing required posting authority:Missing Posting Authority badge-bot", -32003, None, Verdict.REFUSED),
    ("active/owner authority combined with posting authority:Transactions with operations required posting "
     "authority cannot be combined with transactions requiring active or owner authority.", -32003, None,
     Verdict.REFUSED),
    ("transaction tapos exception:trx.ref_block_prefix == tapos_block_summary.block_id._hash[1]: ", -32003, None,
     Verdict.REFUSED),
    ("transaction expiration exception:now < full_transaction->get_runtime_expiration(): ", -32003, None,
     Verdict.REFUSED),
    ("Assert Exception:_comment->get_parent_id() == parent->get_id(): The parent of a comment cannot change.",
     -32003, None, Verdict.REFUSED),
    ("Assert Exception:something hived asserts that no row names", -32003, None, Verdict.REFUSED),
    ("a new fc exception no row names", -32000, FC_DATA, Verdict.REFUSED),
    # hived: the chain has it
    ("Assert Exception:!is_known_transaction( trx_id ): Duplicate transaction check failed", -32003, None,
     Verdict.ALREADY_ACCEPTED),
    ("Assert Exception:_c.get_beneficiaries().size() == 0: Comment already has beneficiaries specified.", -32003,
     None, Verdict.ALREADY_ACCEPTED),
    # hived: resource credits, pacing
    ("payer has not enough RC mana for transaction:has_mana: Account: badge-bot has 5 RC, needs 9 RC. Please "
     "wait to transact or power up HIVE.", -32003, None, Verdict.NOT_ENOUGH_RC),
    ("Assert Exception:( _now - auth.last_post ) >= HIVE_MIN_REPLY_INTERVAL: You may only comment once every 3 "
     "seconds.", -32003, None, Verdict.NOT_NOW),
    ("Assert Exception:_now - auth.last_post_edit >= HIVE_MIN_COMMENT_EDIT_INTERVAL: Can only perform one "
     "comment edit per block.", -32003, None, Verdict.NOT_NOW),
    # not the chain's word: a node in trouble, a proxy
    ("Unable to acquire database lock", -32003, None, Verdict.UNCONFIRMED),
    ("Assert Exception:!check_max_block_age( args.max_block_age ): ", -32003, None, Verdict.UNCONFIRMED),
    ("Internal Error", -32603, {"error_id": "e", "jussi_request_id": None}, Verdict.UNCONFIRMED),
    ("Server error", -32000, None, Verdict.UNCONFIRMED),
    ("Request Timeout", 1000, None, Verdict.UNCONFIRMED),
    ("Upstream response error: 504 Gateway Time-out", 1100, None, Verdict.UNCONFIRMED),
    ("Invalid/unhealthy upstream https://api.example bad", 1500, None, Verdict.UNCONFIRMED),
    ("some gateway's words", -32000, None, Verdict.UNCONFIRMED),
    ("", None, None, Verdict.UNCONFIRMED),
]  # fmt: skip


@pytest.mark.parametrize(("message", "code", "data", "verdict"), ANSWERS, ids=[a[0][:50] for a in ANSWERS])
def test_an_error_answer_to_a_broadcast_gets_the_verdict_its_words_and_shape_give(
    message: str, code: int | None, data: Any, verdict: Verdict
) -> None:
    assert classify_error_answer(code, message, data) is verdict


@pytest.mark.parametrize("rule", RULES, ids=[rule.words for rule in RULES])
def test_each_rule_names_its_source_and_no_earlier_rule_hides_it(rule: Any) -> None:
    assert rule.source.strip()
    assert classify_error_answer(-32000, f"x:{rule.words}: y") is rule.verdict


NOW = 1_750_000_000.0


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("30", 30.0),
        (" 0 ", 0.0),
        ("86400", MAX_RETRY_AFTER),  # capped
        (formatdate(NOW + 45, usegmt=True), 45.0),  # an HTTP date
        (formatdate(NOW - 100, usegmt=True), 0.0),  # a date past
        ("soon", None),
        ("-5", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_is_read_as_seconds_or_an_http_date_and_capped(
    header: str | None, seconds: float
) -> None:
    assert parse_retry_after(header, NOW) == seconds


def test_a_batch_limit_is_read_from_jussis_refusal_and_only_from_it() -> None:
    assert parse_batch_limit("{'code': 1600, 'message': 'JSONRPC batch size of 60 exceeds 50'}") == 50
    assert parse_batch_limit("Invalid Request: batch requests are not supported") is None


READ_ANSWERS: list[tuple[str, int | None, Any, Verdict]] = [
    # hivemind about a comment it no longer has (condenser_api_negative/get_content, openhive-network/hivemind)
    ("Invalid parameters", -31999, "Post jsc/testing-summary was deleted 1 time(s)", Verdict.REFUSED),
    ("Assert Exception:Post jsc/nonexisting-post does not exist", -32602, None, Verdict.REFUSED),
    # the node or its proxy in trouble, or a node that does not serve the call: ask another node
    ("Internal Error", -32603, None, Verdict.UNCONFIRMED),
    ("Request Timeout", 1000, None, Verdict.UNCONFIRMED),
    ("Unable to acquire database lock", -32003, None, Verdict.UNCONFIRMED),
    ("Could not find method get_content", -32601, None, Verdict.UNCONFIRMED),
]


@pytest.mark.parametrize(("message", "code", "data", "verdict"), READ_ANSWERS)
def test_an_error_answer_to_a_read_is_the_nodes_word_unless_the_node_is_in_trouble(
    message: str, code: int | None, data: Any, verdict: Verdict
) -> None:
    assert classify_read_error(code, message, data) is verdict
