"""Public nodes as they answer today, end to end through real beem against the devnet: hived's refusals of
the bot's transaction, and the proxies in front of hived (jussi, drone, haproxy, nginx) with their batch
limits, rate limits, error pages, cut bodies and slow upstreams.

jussi's answers are steemit/jussi@1ebf8427's (``jussi/errors.py``, ``jussi/middlewares/limits.py``: a batch over
``JUSSI_JSONRPC_BATCH_SIZE_LIMIT``, default 50, is answered HTTP 200 with code 1600, "JSONRPC batch size of N
exceeds L"); hived's refusals are its own words (see ``tests/rules/test_verdicts.py``)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from email.utils import formatdate
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from bot.chain import ChainClient, Reply
from bot.errors import UnconfirmedBroadcastError
from bot.operations import CommentKey
from devnet.node import DevNode
from tests.support import notifying
from tests.support.chains import FIRST, generated_chain
from tests.support.clock import Clock

TIMEOUT = 0.5
HEAD = FIRST + 100


@pytest.fixture
def nodes() -> Iterator[tuple[DevNode, DevNode]]:
    with DevNode(generated_chain(), head=HEAD) as first, DevNode(generated_chain(), head=HEAD) as second:
        yield first, second


def client(*urls: str, clock: Clock | None = None) -> ChainClient:
    return ChainClient(list(urls), timeout=TIMEOUT, max_backoff=8, clock=clock or Clock())


def warnings(logs: Sequence[Mapping[str, Any]], event: str = "node_failed") -> list[Mapping[str, Any]]:
    return [e for e in logs if e["event"] == event and e["log_level"] == "warning"]


# -- hived refuses the bot's transaction: retried with back-off, then parked ---------------------------------------
REFUSALS = {
    "irrelevant-signature": ("irrelevant signature included:Unnecessary signature(s) detected", -32003),
    "unknown-key": ("unknown key:unknown key: ", -32000),  # the pattern test's code and words
    "missing-authority": ("missing required posting authority:Missing Posting Authority badge-bot", -32003),
}


@pytest.mark.parametrize("refusal", REFUSALS, ids=list(REFUSALS))
def test_a_refusal_beem_names_its_own_way_is_retried_with_back_off_then_parked(
    refusal: str, tmp_path: Path
) -> None:
    """beem raises ``UnnecessarySignatureDetected``/``UnkownKey``/… for these: they are the chain's no, not
    silence — never "unconfirmed", which would send the notification again after every expiry, forever."""
    message, code = REFUSALS[refusal]
    settings = replace(notifying.SETTINGS, max_attempts=2)
    with DevNode(notifying.generated_chain(), head=notifying.START, irreversible_lag=1) as node:
        bot = notifying.SteppedBot(node, tmp_path / "bot.sqlite", settings=settings)
        node.faults.reject(message, 2, code=code)
        try:
            with capture_logs() as logs:
                bot.run(notifying.START + 120)
        finally:
            bot.close()
    outcomes = [r.outcome for r in bot.reports if r.outcome != "no_post"]
    assert outcomes[:2] == ["failed", "parked"] and "unconfirmed" not in outcomes
    (failed,) = [e for e in logs if e["event"] == "notification_failed"]
    assert failed["retry_in"] == settings.min_interval and message.split(":")[0] in str(failed["error"])


# -- batches: a proxy's limit is learnt per node, and shared by the clones --------------------------------------------
KEYS: list[CommentKey] = [(f"nobody{n}", "post") for n in range(2500)]  # three find_comments calls


@pytest.mark.parametrize(("limit", "learnt"), [(2, 2), (0, 1)], ids=["jussi-limit-2", "no-batches"])
def test_a_batch_the_proxy_refuses_is_sent_again_smaller_and_the_limit_remembered(
    limit: int, learnt: int, nodes: tuple[DevNode, DevNode]
) -> None:
    node, _ = nodes
    node.transport.batch_limit = limit
    first = client(node.url)
    with capture_logs() as logs:
        assert first.fetch_comment_times(KEYS) == dict.fromkeys(KEYS)
        assert first.clone().fetch_comment_times(KEYS) == dict.fromkeys(KEYS)  # no refusal the second time
    (warning,) = warnings(logs, "node_batch_limit")
    assert (warning["node"], warning["limit"]) == (node.url, learnt)
    assert node.transport.turned_away == 1 and warnings(logs) == []  # not a node failure
    assert node.requests.count("database_api.find_comments") == 2 * 3


# -- HTTP 429: the node is left alone as long as it asks, and the next node answers ---------------------------------
@pytest.mark.parametrize("form", ["seconds", "http-date"])
def test_a_rate_limited_node_waits_as_long_as_retry_after_says(
    form: str, nodes: tuple[DevNode, DevNode]
) -> None:
    limited, other = nodes
    limited.transport.rate_limit("40" if form == "seconds" else formatdate(time.time() + 40, usegmt=True))
    clock = Clock()
    chain = client(limited.url, other.url, clock=clock)
    with capture_logs() as logs:
        assert chain.fetch_state().head_block == HEAD  # the other node answered at once
        clock.advance(30)
        chain.fetch_state()
    (warning,) = warnings(logs)
    assert warning["node"] == limited.url and "HTTP 429" in str(warning["reason"])
    assert 38 <= float(str(warning["retry_in"])) <= 40
    assert limited.requests.count("database_api.get_dynamic_global_properties") == 0
    clock.advance(11)
    chain.fetch_state()
    assert limited.requests.count("database_api.get_dynamic_global_properties") == 1  # asked again


# -- what is never an answer: error pages, cut bodies, a slow upstream ------------------------------------------------
def _cut(node: DevNode) -> None:
    node.transport.body_limit = 20  # every answer is cut there (a proxy's buffer, kept small)


NOT_ANSWERS: dict[str, tuple[Callable[[DevNode], None], str]] = {
    "502-page": (lambda n: n.transport.http_error(502), "HTTP 502 Bad Gateway"),
    "503-page": (lambda n: n.transport.http_error(503), "HTTP 503 Service Unavailable"),
    "504-page": (lambda n: n.transport.http_error(504), "HTTP 504 Gateway Timeout"),
    "html-200": (lambda n: n.transport.invalid(), "the answer is not JSON-RPC"),
    "cut-body": (_cut, "the answer is not JSON-RPC"),
    "slow-upstream": (lambda n: setattr(n.transport, "latency", TIMEOUT + 0.3), "Read timed out"),
}


@pytest.mark.parametrize("fault", NOT_ANSWERS, ids=list(NOT_ANSWERS))
def test_a_proxys_failure_is_never_read_as_an_answer_and_the_next_node_is_asked(
    fault: str, nodes: tuple[DevNode, DevNode]
) -> None:
    bad, good = nodes
    inject, reason = NOT_ANSWERS[fault]
    inject(bad)
    with capture_logs() as logs:
        state = client(bad.url, good.url).fetch_state()
    assert state.head_block == HEAD
    (warning,) = warnings(logs)
    assert warning["node"] == bad.url and reason in str(warning["reason"])


@pytest.mark.parametrize("fault", ["504-page", "cut-body", "slow-upstream"])
def test_a_broadcast_a_proxy_failed_is_unconfirmed_not_refused(fault: str) -> None:
    with DevNode(notifying.generated_chain(), head=notifying.START, irreversible_lag=1) as node:
        chain = client(node.url)
        head, _ = chain.fetch_state(), chain.chain_id()  # read before the proxy fails
        NOT_ANSWERS[fault][0](node)
        reply = Reply(notifying.BOT, "proxy-test", ("nobody", "post"), "hello", json_metadata="{}")
        with pytest.raises(UnconfirmedBroadcastError):
            chain.broadcast_reply(reply, notifying.posting_key(), head, 60)
