"""Node faults, end to end: the devnet node fails in each way a Hive node does — slow, timing out, hanging,
5xx, JSON-RPC errors, truncated or HTML answers, dropped connections, stale, contradicting the others,
down — and the real bot, through real beem, fails over, backs off, logs one line per incident, resumes by
itself, and counts every block exactly once (the counts equal ``tests/support/recount.py``'s).

Back-offs run on an injected clock, so no test waits for one; the daemon runs as a subprocess where real
time matters (all nodes down for a while, then up). Broadcast refusals (RC, duplicate, anything else) go
through the poster of ``tests/support/notifying.py``'s stepped bot.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from bot.app import build_follower
from bot.chain import ChainClient
from bot.chain.client import NO_NODE_LEFT
from bot.config import ChainSettings
from bot.errors import BotError, ChainDataError, ChainError, TransientChainError
from bot.follower import Follower
from bot.outbox import Notification, State
from bot.poster import PostReport
from bot.store import Store
from devnet.api import RpcError
from devnet.generator import ChainGenerator
from devnet.node import DevNode
from tests.support import notifying
from tests.support.chains import FIRST, GENESIS, Counts, bot_config, generated_chain, load_all_counts
from tests.support.clock import Clock
from tests.support.configs import write_config
from tests.support.processes import checkpoint_of, counts_of, finish, poll, start_bot
from tests.support.recount import recount

LAST = FIRST + 199  # the segment followed: four batches
BATCH = 50
TIMEOUT = 0.5  # seconds: the bot's request timeout
LogEntries = Sequence[Mapping[str, Any]]


@pytest.fixture(scope="module")
def truth() -> Counts:
    chain = generated_chain()
    return recount((chain.block(n) or {} for n in range(FIRST, LAST + 1)), chain.comment_created)


def serve(head: int = LAST + 1, *, chain: ChainGenerator | None = None) -> DevNode:
    """A node of its own (its own generator: nodes answer from their own threads) with the head at ``head``."""
    return DevNode(chain or generated_chain(), head=head, irreversible_lag=1)


@pytest.fixture
def nodes() -> Iterator[tuple[DevNode, DevNode]]:
    with serve() as first, serve() as second:
        yield first, second


def follower_of(urls: list[str], store: Store, clock: Clock, *, max_backoff: float = 1) -> Follower:
    """The daemon's follower, on a chain client whose back-offs pass when ``clock`` says."""
    chain = ChainClient(urls, timeout=TIMEOUT, max_backoff=max_backoff, clock=clock)
    config = bot_config(urls, store.location, chain=ChainSettings(batch_size=BATCH))
    return build_follower(config, store, chain=chain)


def follow(follower: Follower, clock: Clock, stop_at: int = LAST, *, errors: int = 10) -> list[BotError]:
    """Step until ``stop_at`` is committed, as the daemon's follow job does: a step that meets a chain error
    ends; before the next one the clock passes every back-off. The errors met, in order (``errors`` at most)."""
    met: list[BotError] = []
    while checkpoint(follower.store) < stop_at:
        try:
            follower.step(stop_at)
        except (ChainError, ChainDataError) as exc:
            met.append(exc)
            assert len(met) <= errors, f"the bot does not get past {checkpoint(follower.store)}: {met}"
            clock.advance(60)
    return met


def checkpoint(store: Store) -> int:
    stored = store.load_checkpoint()
    return -1 if stored is None else stored.block_num


def batches(logs: LogEntries) -> list[int]:
    """Every block the committed batches name, in the order committed."""
    blocks: list[int] = []
    for entry in logs:
        if entry["event"] == "batch_committed":
            first, last = map(int, entry["blocks"].split("-"))
            blocks.extend(range(first, last + 1))
    return blocks


def node_failures(logs: LogEntries, level: str | None = "warning", key: str = "log_level") -> LogEntries:
    """The ``node_failed`` lines at ``level`` (None: all); ``key`` is "level" in the daemon's JSON lines."""
    return [e for e in logs if e["event"] == "node_failed" and level in (None, e[key])]


def assert_each_block_once(logs: LogEntries, first: int = FIRST, last: int = LAST) -> None:
    assert batches(logs) == list(range(first, last + 1))


# -- transport faults: the next node answers, in the same step --------------------------------------------------
TRANSPORT_FAULTS: dict[str, tuple[Callable[[DevNode], None], str]] = {
    "http-500": (
        lambda n: n.transport.http_error(500, method="block_api.*"),
        "HTTP 500 Internal Server Error",
    ),
    "http-502": (lambda n: n.transport.http_error(502, method="block_api.*"), "HTTP 502 Bad Gateway"),
    "http-503": (lambda n: n.transport.http_error(503, method="block_api.*"), "HTTP 503 Service Unavailable"),
    "json-rpc-error": (lambda n: n.transport.rpc_error(method="block_api.*"), "error answer: Internal Error"),
    "truncated-json": (lambda n: n.transport.truncate(method="block_api.*"), "the answer is not JSON-RPC"),
    "html": (lambda n: n.transport.invalid(method="block_api.*"), "the answer is not JSON-RPC"),
    "hang": (lambda n: n.transport.hang(30, method="block_api.*"), "Read timed out"),
    "dropped-connection": (lambda n: n.transport.disconnect(method="block_api.*"), "RemoteDisconnected"),
    "slower-than-the-timeout": (lambda n: setattr(n.transport, "latency", TIMEOUT + 0.2), "Read timed out"),
    "down": (lambda n: n.transport.down(), "Connection aborted"),
}


@pytest.mark.parametrize("fault", TRANSPORT_FAULTS, ids=list(TRANSPORT_FAULTS))
def test_a_node_fault_costs_one_line_and_the_next_node_answers(
    fault: str, nodes: tuple[DevNode, DevNode], tmp_path: Path, truth: Counts
) -> None:
    """The fault hits the first node's first block range (or every request): it is set aside with one warning,
    the second node answers in the same step, and no step fails."""
    faulty, healthy = nodes
    inject, reason = TRANSPORT_FAULTS[fault]
    inject(faulty)
    clock = Clock()
    with Store.open(tmp_path / "bot.sqlite") as store, capture_logs() as logs:
        assert follow(follower_of([faulty.url, healthy.url], store, clock), clock, errors=0) == []
        counted = load_all_counts(store)
    assert counted == truth
    assert_each_block_once(logs)
    (failure,) = node_failures(logs, None)
    assert (failure["node"], failure["log_level"]) == (faulty.url, "warning")
    assert reason in failure["reason"]
    assert failure["retry_in"] == 1 and "Traceback" not in failure["reason"]
    assert "block_api.get_block_range" in healthy.requests
    if fault not in ("truncated-json", "slower-than-the-timeout"):  # those two reach the node's work
        assert faulty.transport.turned_away >= 1


def test_latency_below_the_timeout_only_slows_the_node_down(
    nodes: tuple[DevNode, DevNode], tmp_path: Path, truth: Counts
) -> None:
    slow, _ = nodes
    slow.transport.latency = 0.05  # a remote node
    clock = Clock()
    began = time.perf_counter()
    with Store.open(tmp_path / "bot.sqlite") as store, capture_logs() as logs:
        follow(follower_of([slow.url], store, clock), clock, errors=0)
        counted = load_all_counts(store)
    assert time.perf_counter() - began >= 0.05 * len(slow.requests)  # every answer was late …
    assert counted == truth and node_failures(logs, None) == []  # … and none was a failure


def test_the_first_matching_fault_is_used_up_by_the_next_matching_request(
    nodes: tuple[DevNode, DevNode],
) -> None:
    node, _ = nodes
    node.transport.http_error(503, method="database_api.*")
    node.transport.rpc_error(method="block_api.get_block_range")
    client = ChainClient([node.url], timeout=TIMEOUT, max_backoff=1, clock=Clock())
    with capture_logs() as logs, pytest.raises(TransientChainError):
        client.fetch_blocks(FIRST, 1)  # block_api first: the JSON-RPC error
    assert [fault.kind for fault in node.transport.pending] == ["http_error"]
    assert "Internal Error" in node_failures(logs)[0]["reason"]
    assert node.transport.turned_away == 1


# -- one node, failing then back: back-off, one line per incident, the same job error -----------------------------
def test_a_lone_failing_node_backs_off_logs_one_warning_and_the_bot_resumes_where_it_was(
    tmp_path: Path, truth: Counts
) -> None:
    with serve() as node, Store.open(tmp_path / "bot.sqlite") as store:
        clock = Clock()
        follower = follower_of([node.url], store, clock, max_backoff=8)
        assert follower.step() is not None  # the first batch
        node.transport.http_error(503, 3)
        errors: list[str] = []
        with capture_logs() as logs:
            for wait in (0, 1, 2, 1, 4, 8):  # while it backs off, each step fails at once without asking it
                clock.advance(wait)
                try:
                    follower.step()
                except TransientChainError as exc:
                    errors.append(f"{type(exc).__name__}: {exc}")
            follow(follower, clock, errors=0)
            counted = load_all_counts(store)
    failures = node_failures(logs, None)
    assert [f["log_level"] for f in failures] == ["warning", "debug", "debug"]  # one incident, one warning
    assert [f["retry_in"] for f in failures] == [2, 4, 8]  # exponential back-off
    assert node.transport.turned_away == 3  # the node was asked only when its back-off was over
    assert len(errors) == 5 and len(set(errors)) == 1  # one message: the daemon logs it once
    assert NO_NODE_LEFT in errors[0]
    assert counted == truth
    assert_each_block_once(logs, FIRST + BATCH)


def test_a_failure_long_after_the_last_incident_is_a_new_incident(tmp_path: Path) -> None:
    with serve() as node:
        clock = Clock()
        client = ChainClient([node.url], timeout=TIMEOUT, max_backoff=8, clock=clock)
        with capture_logs() as logs:
            for wait in (0, 2, 600):
                clock.advance(wait)
                node.transport.disconnect()
                with pytest.raises(TransientChainError):
                    client.fetch_state()
    assert [(f["log_level"], f["retry_in"]) for f in node_failures(logs, None)] == [
        ("warning", 2),
        ("debug", 4),
        ("warning", 2),
    ]


# -- answers that came but are wrong ------------------------------------------------------------------------------
Blocks = list[dict[str, Any]]


def _rewrite_block_range(node: DevNode, rewrite: Callable[[Blocks], Blocks]) -> None:
    """Make ``node`` send its block ranges rewritten (a node whose answers are wrong, not missing)."""
    real = node.api.methods["block_api.get_block_range"]

    def wrong(params: Any) -> Any:
        return {"blocks": rewrite(json.loads(real(params))["blocks"])}

    node.api.methods["block_api.get_block_range"] = wrong


def _broken_timestamp(blocks: Blocks) -> Blocks:
    return [{**block, "timestamp": "yesterday"} if i == 3 else block for i, block in enumerate(blocks)]


WRONG_ANSWERS: dict[str, tuple[Callable[[Blocks], Blocks], str]] = {
    # (the range the follower had already read ahead when the node turned bad is the good one it read)
    "empty-range": (lambda blocks: [], "no block "),
    "malformed-block": (_broken_timestamp, "timestamp"),
    "a-block-missing": (lambda blocks: blocks[:2] + blocks[3:], "expected block "),
    "short-range": (lambda blocks: blocks[:5], "sent 5 of blocks "),
}


@pytest.mark.parametrize("wrong", WRONG_ANSWERS, ids=list(WRONG_ANSWERS))
def test_a_node_whose_blocks_do_not_fit_is_set_aside_and_another_one_asked(
    wrong: str, nodes: tuple[DevNode, DevNode], tmp_path: Path, truth: Counts
) -> None:
    bad, good = nodes
    rewrite, reason = WRONG_ANSWERS[wrong]
    clock = Clock()
    with Store.open(tmp_path / "bot.sqlite") as store, capture_logs() as logs:
        follower = follower_of([bad.url, good.url], store, clock)
        assert follower.step() is not None  # a first batch from the first node, answering right
        _rewrite_block_range(bad, rewrite)
        assert follow(follower, clock, errors=0) == []
        counted = load_all_counts(store)
    assert counted == truth
    assert_each_block_once(logs)
    (failure,) = node_failures(logs, None)  # then it backs off: the clock never passed its back-off
    assert (failure["node"], failure["log_level"]) == (bad.url, "warning")
    assert reason in failure["reason"] and failure["call"] == "block_api.get_block_range"


def test_a_node_on_another_chain_is_set_aside_when_its_blocks_do_not_link(
    nodes: tuple[DevNode, DevNode], tmp_path: Path, truth: Counts
) -> None:
    """A node that contradicts the others: same heights, other blocks."""
    _, good = nodes
    other = ChainGenerator(99, FIRST, GENESIS, blocks=400)
    with serve(chain=other) as liar, Store.open(tmp_path / "bot.sqlite") as store, capture_logs() as logs:
        clock = Clock()
        assert follower_of([good.url], store, clock).step() is not None  # the checkpoint: our chain's
        urls = [liar.url, good.url]
        follow(follower_of(urls, store, clock), clock, errors=0)
        counted = load_all_counts(store)
    assert counted == truth
    assert_each_block_once(logs)
    warnings = node_failures(logs)
    assert [w["node"] for w in warnings] == [urls[0]] and "previous is" in warnings[0]["reason"]


def test_a_lone_node_on_another_chain_stops_the_bot_without_a_block_counted(tmp_path: Path) -> None:
    with serve() as good, Store.open(tmp_path / "bot.sqlite") as store:
        clock = Clock()
        assert follower_of([good.url], store, clock).step() is not None
    with (
        serve(chain=ChainGenerator(99, FIRST, GENESIS, blocks=400)) as liar,
        Store.open(tmp_path / "bot.sqlite") as store,
    ):
        follower = follower_of([liar.url], store, clock)
        with pytest.raises(ChainDataError, match="previous is"):
            follower.step()
        with pytest.raises(TransientChainError, match=NO_NODE_LEFT):
            follower.step()  # set aside: not asked again before its back-off is over
        assert checkpoint(store) == FIRST + BATCH - 1


def test_a_malformed_answer_to_a_read_is_set_aside_and_the_next_node_asked(
    nodes: tuple[DevNode, DevNode],
) -> None:
    bad, good = nodes
    bad.api.methods["database_api.get_dynamic_global_properties"] = lambda _: {"head_block_number": "x"}
    client = ChainClient([bad.url, good.url], timeout=TIMEOUT, max_backoff=1, clock=Clock())
    with capture_logs() as logs:
        state = client.fetch_state()
    assert state.irreversible_block == LAST
    (failure,) = node_failures(logs)
    assert failure["node"] == bad.url and "malformed answer" in failure["reason"]


# -- a node's answer about one comment ------------------------------------------------------------------------
def _hivemind(code: int, message: str, data: Any) -> Callable[[Any], Any]:
    def answer(params: list[Any]) -> Any:
        raise RpcError(
            code, message.format(*params), data if not isinstance(data, str) else data.format(*params)
        )

    return answer


HIVEMIND_NO_CONTENT: dict[str, Callable[[Any], Any]] = {
    # openhive-network/hivemind, tests/api_tests/hivemind/tavern/condenser_api_negative/get_content/
    "deleted": _hivemind(-31999, "Invalid parameters", "Post {0}/{1} was deleted 1 time(s)"),  # f7ebb9ec
    "does-not-exist": _hivemind(
        -32602,
        "Assert Exception:Post {0}/{1} does not exist",
        {"code": 10, "name": "assert_exception", "data": {"category": "hivemind"}},
    ),  # nonexisting_post.pat.json, 3815e25d
    "does-not-exist-before": _hivemind(
        -32602, "Invalid parameters", "Post {0}/{1} does not exist"
    ),  # a84023cf
}


@pytest.mark.parametrize("answer", HIVEMIND_NO_CONTENT.values(), ids=list(HIVEMIND_NO_CONTENT))
def test_a_nodes_answer_that_a_comment_is_gone_is_no_text_and_no_node_failure(
    nodes: tuple[DevNode, DevNode], answer: Callable[[Any], Any]
) -> None:
    first, second = nodes
    first.api.methods["condenser_api.get_content"] = answer
    client = ChainClient([first.url, second.url], timeout=TIMEOUT, max_backoff=1, clock=Clock())
    with capture_logs() as logs:
        texts = client.fetch_contents([("alice", "gone"), ("bob", "never-was")])
    assert texts == {("alice", "gone"): None, ("bob", "never-was"): None}
    assert node_failures(logs, None) == []
    assert "condenser_api.get_content" not in second.requests  # the first node's word was taken
    unavailable = [
        (e["author"], e["permlink"], e["log_level"]) for e in logs if e["event"] == "content_unavailable"
    ]
    assert unavailable == [("alice", "gone", "info"), ("bob", "never-was", "info")]
    assert client.fetch_state().irreversible_block == LAST and first.requests[-1].endswith(
        "global_properties"
    )


def test_the_text_of_a_comment_is_read_from_the_next_node_when_one_is_down(
    nodes: tuple[DevNode, DevNode],
) -> None:
    down, up = nodes
    chain = generated_chain()
    key, body = next(
        ((op["value"]["author"], op["value"]["permlink"]), op["value"]["body"])
        for n in range(FIRST, LAST)
        for transaction in (chain.block(n) or {"transactions": []})["transactions"]
        for op in transaction["operations"]
        if op["type"] == "comment_operation" and not op["value"]["body"].startswith("@@ ")
    )
    down.transport.down()
    client = ChainClient([down.url, up.url], timeout=TIMEOUT, max_backoff=1, clock=Clock())
    with capture_logs() as logs:
        texts = client.fetch_contents([key])
    assert texts == {key: body}
    (failure,) = node_failures(logs)
    assert failure["node"] == down.url and failure["call"] == "condenser_api.get_content"
    up.transport.down()
    with pytest.raises(TransientChainError, match=NO_NODE_LEFT):
        client.fetch_contents([key])


# -- stale nodes --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("stale_first", [True, False], ids=["stale-first", "stale-second"])
def test_a_stale_node_is_set_aside_and_does_not_hold_the_bot_back(
    stale_first: bool, tmp_path: Path, truth: Counts
) -> None:
    with serve(FIRST + 100) as stale, serve() as current, Store.open(tmp_path / "bot.sqlite") as store:
        urls = [stale.url, current.url] if stale_first else [current.url, stale.url]
        clock = Clock()
        with capture_logs() as logs:
            assert follow(follower_of(urls, store, clock), clock, errors=0) == []
            counted = load_all_counts(store)
    assert counted == truth
    assert_each_block_once(logs)
    (warning,) = node_failures(logs)
    assert warning["node"] == urls[0 if stale_first else 1] and "stale" in warning["reason"]
    assert f"another node's is {LAST}" in warning["reason"]
    assert "block_api.get_block_range" not in stale.requests  # it served no block


def test_a_node_a_few_blocks_behind_is_not_set_aside_and_its_state_is_used(tmp_path: Path) -> None:
    """The first node's state is used while it is within MAX_NODE_LAG blocks of the second: the blocks and
    the broadcasts that follow go to the node that said so."""
    with serve(LAST - 4) as behind, serve() as ahead, Store.open(tmp_path / "bot.sqlite") as store:
        clock = Clock()
        with capture_logs() as logs:
            follow(follower_of([behind.url, ahead.url], store, clock), clock, LAST - 5, errors=0)
        assert node_failures(logs, None) == []
        assert "block_api.get_block_range" not in ahead.requests
        assert "database_api.get_dynamic_global_properties" in ahead.requests  # asked, to compare


# -- all nodes down for a while, then back: the daemon resumes by itself ------------------------------------------
@pytest.mark.slow  # the daemon as a subprocess
def test_the_daemon_rides_out_every_node_down_and_resumes_by_itself(tmp_path: Path) -> None:
    target = FIRST + 150
    chain = generated_chain()
    with serve(FIRST + 60) as first, serve(FIRST + 60) as second:
        config = write_config(
            tmp_path,
            urls := [first.url, second.url],
            start_block=FIRST,
            chain={"poll_interval": 0.1, "request_timeout": TIMEOUT, "max_backoff": 1, "batch_size": BATCH},
        )
        store_path = tmp_path / "state" / "bot.sqlite"
        process = start_bot(config, "--stop-at-block", str(target))
        try:
            poll(lambda: checkpoint_of(store_path) == FIRST + 59, "the bot to catch up")
            for node in (first, second):
                node.transport.down()
                node.clock.set_head(target + 1)
            # down for a while: each node turned away a few retries (the bot backs off 1 s between them)
            poll(lambda: min(first.transport.turned_away, second.transport.turned_away) >= 4, "retries")
            assert checkpoint_of(store_path) == FIRST + 59
            for node in (first, second):
                node.transport.up()
            code, logs = finish(process)
        finally:
            process.kill()
    assert code == 0, logs
    assert checkpoint_of(store_path) == target
    assert counts_of(store_path) == recount(
        (chain.block(n) or {} for n in range(FIRST, target + 1)), chain.comment_created
    )
    assert_each_block_once(logs, FIRST, target)
    warnings = Counter(e["node"] for e in node_failures(logs, key="level"))
    assert warnings == dict.fromkeys(urls, 2)  # one incident per node for each job's chain client
    # a warning per job for each call it failed on first (the follower: the head, its blocks; the poster
    # also asks whether an account mutes the bot), not one per retry: the retries are logged at debug level
    jobs = Counter(e["job"] for e in logs if e["event"] == "job_failed" and e["level"] == "warning")
    assert 1 <= jobs["follow"] <= 2 and jobs["post"] <= 3
    assert not [e for e in logs if "exception" in e or e["level"] == "error"]


# -- broadcasts refused, or failing on the way: never posted twice ------------------------------------------------
BROADCAST_FAULTS: dict[str, tuple[Callable[[DevNode], None], str, str, int]] = {
    # the fault; the first broadcast's outcome and the line it logs; the attempts made when it is delivered
    "not-enough-rc": (lambda n: n.faults.reject_rc(), "paused", "posting_paused", 1),
    "duplicate": (  # "the chain has it" — but it did not: once its transaction expired unseen, sent again
        lambda n: n.faults.reject_duplicate(),
        "already_sent",
        "notifications_lost",
        2,
    ),
    "refused": (
        lambda n: n.faults.reject("Assert Exception:missing required posting authority"),
        "failed",
        "notification_failed",
        2,
    ),
    "internal-error": (
        lambda n: n.faults.reject("Internal Error", code=-32000),
        "unconfirmed",
        "notification_unconfirmed",
        2,
    ),
    "http-503": (
        lambda n: n.transport.http_error(503, method="condenser_api.broadcast_transaction"),
        "unconfirmed",
        "notification_unconfirmed",
        2,
    ),
    "truncated-answer": (  # the node took it: the chain settles it, nothing is sent again
        lambda n: n.transport.truncate(method="condenser_api.broadcast_transaction"),
        "unconfirmed",
        "notification_unconfirmed",
        1,
    ),
}


@pytest.fixture(scope="module")
def notifying_chain() -> ChainGenerator:
    return notifying.generated_chain()


@pytest.mark.parametrize("fault", BROADCAST_FAULTS, ids=list(BROADCAST_FAULTS))
def test_a_broadcast_fault_delays_a_notification_and_it_lands_once(
    fault: str, notifying_chain: ChainGenerator, tmp_path: Path
) -> None:
    inject, outcome, event, attempts = BROADCAST_FAULTS[fault]
    with DevNode(notifying_chain, head=notifying.START, irreversible_lag=1) as node:
        bot = notifying.SteppedBot(node, tmp_path / "bot.sqlite")
        inject(node)
        try:
            with capture_logs() as logs:
                first, found = _first_broadcast_until_delivered(bot, notifying.START + 300)
        finally:
            bot.close()
        landed = Counter(
            v["permlink"] for _, v in notifying.bot_comments(node, notifying.START, node.clock.head())
        )
    assert first.outcome == outcome
    assert found.state is State.DELIVERED and found.attempts == attempts
    assert landed[found.permlink] == 1 and set(landed.values()) == {1}  # nothing posted twice
    assert sum(e["event"] == event for e in logs) == 1


def _first_broadcast_until_delivered(
    bot: notifying.SteppedBot, until: int
) -> tuple[PostReport, Notification]:
    """Run the bot until the notification of its first broadcast is delivered: that broadcast's report, and
    the notification as delivered."""
    for head in range(bot.node.clock.head() + 1, until + 1):
        bot.run(head)
        first = next((r for r in bot.reports if r.outcome != "no_post"), None)
        found = first and bot.poster_store.outbox.load_notification(first.notification.id)
        if first is not None and found and found.state is State.DELIVERED:
            return first, found
    raise AssertionError(f"the first notification broadcast was not delivered by block {until}")
