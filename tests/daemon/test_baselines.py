"""Lifetime counts end to end: live counting from block S plus baselines read from account history through real
beem over HTTP equal an independent recount of each account's whole history, at the seam too."""

from __future__ import annotations

import itertools
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from bot.app import build_baseline_job, build_follower
from bot.baseline_job import PRICES_MAX_AGE, BaselineJob
from bot.baselines import BaselineState
from bot.config import HistorySettings, NotificationSettings
from bot.errors import TransientChainError
from bot.history import HF24_TIME
from bot.location import Location
from bot.metrics import Metric, decimal
from bot.operations import parse_timestamp
from bot.store import Store
from devnet.deep import DeepHistory
from devnet.generator import ChainGenerator, GeneratorParams
from devnet.node import DevNode
from tests.support.chains import CHAIN, bot_config, load_all_counts
from tests.support.ranking import load_ranking_tables, recount_ranking_tables
from tests.support.recount import PAYEES, node_figures, recount_history

pytestmark = pytest.mark.slow  # 400 accounts' histories read through beem: about 50 s in all

SEED = 31
FIRST = 50_000_000
GENESIS = 1_750_000_000
S = FIRST + 2_400  # live counting starts here; every comment edited after S was created after FIRST
END = S + 600
LADDERS = {metric: (10, 100, 1000, 10_000) for metric in Metric}


@dataclass
class Bot:
    """A follower with lifetime counts and a baseline job, as the daemon has them (own store connections)."""

    node: DevNode
    path: Location

    def __post_init__(self) -> None:
        config = bot_config(
            [self.node.url],
            self.path,
            start_block=S,
            badges=LADDERS,
            bootstrap="history",
            chain=replace(CHAIN, batch_size=100),
            history=HistorySettings(page_size=200, calls_per_second=100),
            notifications=NotificationSettings(max_crossing_age=10**9),
        )
        self.follower_store = Store.open(self.path)
        self.history_store = Store.open(self.path)
        self.follower = build_follower(config, self.follower_store)
        self.baseline_job = build_baseline_job(config, self.history_store)

    def close(self) -> None:
        self.follower.close()
        self.follower_store.close()
        self.history_store.close()


@pytest.fixture(scope="module")
def chain() -> ChainGenerator:
    return ChainGenerator(SEED, FIRST, GENESIS, GeneratorParams(accounts=400), blocks=END - FIRST + 10)


@pytest.fixture(scope="module")
def deep(chain: ChainGenerator) -> dict[str, DeepHistory]:
    return {
        chain.accounts[0]: DeepHistory(entries=3000, since=HF24_TIME - 20 * 86_400),  # reaches before HF24
        chain.accounts[1]: DeepHistory(entries=1200, since=GENESIS - 400 * 86_400),
        chain.accounts[2]: DeepHistory(entries=300, since=GENESIS - 60 * 86_400),  # one page of 1000
    }


@pytest.fixture(scope="module")
def run(
    chain: ChainGenerator, deep: dict[str, DeepHistory], module_store_location: Location
) -> Iterator[tuple[DevNode, Store, list[str]]]:
    """The bot from S to END, history pages between batches; killed once while a deep baseline is half
    read: on each backend."""
    path = module_store_location
    killed: list[str] = []
    with DevNode(chain, head=END + 1, irreversible_lag=1, deep_histories=deep) as node:
        bot = Bot(node, path)
        deepest = chain.accounts[0]

        def read_history(pages: int) -> bool:
            """Up to ``pages`` pages; the bot is killed once, when the deepest history is half read."""
            nonlocal bot
            for _ in range(pages):
                report = bot.baseline_job.step()
                if report is None:
                    return False
                half_read = report.baseline.pages >= 3 and report.baseline.state is BaselineState.WAITING
                if not killed and report.baseline.account == deepest and half_read:
                    bot.close()  # the bot dies: nothing of its memory survives, the store does
                    bot = Bot(node, path)
                    killed.append(deepest)
            return True

        while bot.follower.step(END) is not None:
            read_history(15)
        while read_history(100):
            pass
        bot.close()
        with Store.open(path) as store:
            yield node, store, killed


def truth(node: DevNode, account: str, last: int = END) -> dict[Metric, int]:
    """``account``'s counts from its history up to block ``last``, recounted (payouts at the node's figures,
    which the devnet keeps constant: those the bot read)."""
    entries = [entry.json() for _, entry in node.api.history.full_history(account) if entry.block <= last]
    return recount_history(entries, account, node_figures(node))


def test_lifetime_counts_equal_a_recount_of_each_accounts_whole_history(
    run: tuple[DevNode, Store, list[str]],
) -> None:
    node, store, _ = run
    counted = load_all_counts(store)
    assert len(counted) > 300
    for account, counts in counted.items():
        baseline = store.baselines.load(account)
        assert baseline is not None and baseline.state is BaselineState.DONE, account
        assert counts == truth(node, account), account


def test_the_ranking_tables_equal_a_recount_after_batches_and_baselines(
    run: tuple[DevNode, Store, list[str]],
) -> None:
    """Batches and finished baselines (one killed halfway) write the counts through one writer, which keeps
    the ranking's per-count sums exact."""
    _, store, _ = run
    assert load_ranking_tables(store._db) == recount_ranking_tables(store._db)


def test_deep_histories_killed_halfway_are_counted_exactly(
    run: tuple[DevNode, Store, list[str]], chain: ChainGenerator
) -> None:
    node, store, killed = run
    assert killed == [chain.accounts[0]]
    for account in chain.accounts[:2]:
        baseline = store.baselines.load(account)
        assert baseline is not None and baseline.pages >= 5
        assert store.load_counts(account) == truth(node, account)
        assert sum(baseline.counts.values()) > 100  # most of it came from history


def test_the_recount_covers_the_seam_edits_and_paid_out_votes(run: tuple[DevNode, Store, list[str]]) -> None:
    """Without these the equality above would prove little (nor its replies)."""
    node, store, _ = run
    seam_pairs = 0
    paid_out = 0
    at_seam = set()
    zero_rshares: Counter[str] = Counter()  # effective ops with rshares 0: dust upvotes and unvotes
    replies: Counter[str] = Counter()  # replies others sent the account, in its history
    for account in list(load_all_counts(store))[:150]:
        votes: dict[tuple[str, str, str], list[int]] = {}
        effective = set()
        sent: Counter[tuple[str, str]] = Counter()
        for _, entry in node.api.history.full_history(account):
            op, value = entry.op["type"], entry.op["value"]
            if op == "comment_operation" and value["parent_author"] == account != value["author"]:
                sent[value["author"], value["permlink"]] += 1
                replies["before S" if entry.block < S else "live"] += 1
            if entry.block in (S - 1, S):
                at_seam.add(account)
            if op == "vote_operation":
                votes.setdefault((value["voter"], value["author"], value["permlink"]), []).append(entry.block)
                weight = int(value["weight"])
            elif op == "effective_comment_vote_operation":
                effective.add((value["voter"], value["author"], value["permlink"], entry.block))
                if int(value["rshares"]) == 0:  # its vote is the entry before it
                    zero_rshares["upvote" if weight > 0 else "unvote" if weight == 0 else "downvote"] += 1
        replies["edited"] += sum(1 for n in sent.values() if n > 1)
        seam_pairs += sum(1 for blocks in votes.values() if min(blocks) < S <= max(blocks))
        paid_out += sum(1 for key, blocks in votes.items() for b in blocks if (*key, b) not in effective)
    assert seam_pairs >= 3  # voted before S, changed after it
    assert paid_out >= 20
    assert len(at_seam) >= 20
    # counted exactly (test_lifetime_counts_equal…) although rshares 0 says neither upvote nor unvote
    assert zero_rshares["upvote"] >= 20 and zero_rshares["unvote"] >= 3
    # replies received, from the baseline's pages and from live blocks, some edited (counted once)
    assert replies["before S"] >= 50 and replies["live"] >= 20 and replies["edited"] >= 3, replies


def test_a_baseline_counts_the_accounts_own_payouts_before_s_as_the_recount_does(
    run: tuple[DevNode, Store, list[str]],
) -> None:
    """Each account's baseline holds the worth of the author, curation and beneficiary rewards paying it in
    its history before S, as the independent recount has it; the histories hold enough payouts of each kind
    for the equality to prove it. (A beneficiary's reward in its author's history, not the author's, is
    tests/rules/test_history.py's case: the devnet's deep histories hold an account's own rewards.)"""
    node, store, _ = run
    kinds: Counter[str] = Counter()
    for account in load_all_counts(store):
        baseline = store.baselines.load(account)
        assert baseline is not None
        assert baseline.counts[Metric.PAYOUT] == truth(node, account, S - 1)[Metric.PAYOUT], account
        for _, entry in node.api.history.full_history(account):
            kind, value = entry.op["type"], entry.op["value"]
            if kind in PAYEES and entry.block < S:
                kinds[
                    kind if value[PAYEES[kind]] == account else "a beneficiary's, in its author's history"
                ] += 1
    assert kinds["author_reward_operation"] >= 20 and kinds["curation_reward_operation"] >= 20, kinds
    assert kinds["comment_benefactor_reward_operation"] >= 3, kinds


def test_the_deep_history_before_hf24_has_votes_with_and_without_their_effective_op(
    run: tuple[DevNode, Store, list[str]], chain: ChainGenerator
) -> None:
    """As on a replayed node: before HF24 too, the votes that took effect are followed by their effective
    op, those cast on paid-out comments are not (and must not count)."""
    node, _, _ = run
    old = [
        e
        for _, e in node.api.history.full_history(chain.accounts[0])
        if parse_timestamp(e.timestamp) < HF24_TIME
    ]
    kinds = Counter(
        (e.op["type"], following.virtual)
        for e, following in itertools.pairwise(old)
        if e.op["type"] == "vote_operation" and e.op["value"]["weight"] > 0
    )
    assert kinds["vote_operation", True] >= 10 and kinds["vote_operation", False] >= 2, kinds


def test_an_old_nodes_votes_before_hf24_count_without_effective_ops(
    chain: ChainGenerator, deep: dict[str, DeepHistory], tmp_path: Path
) -> None:
    """A node whose history has no effective op before HF24: the deepest account's upvotes there count
    as its whole history shows none (the recount says so too), and it makes a difference."""
    account = chain.accounts[0]
    with DevNode(
        chain, head=END + 1, irreversible_lag=1, deep_histories=deep, effective_votes_before_hf24=False
    ) as node:
        bot = Bot(node, tmp_path / "bot.sqlite")
        bot.follower.step(S)
        bot.history_store.baselines.requeue([account], S)
        while bot.baseline_job.step() is not None:
            pass
        baseline = bot.history_store.baselines.load(account)
        bot.close()
        old_node = [entry.json() for _, entry in node.api.history.full_history(account) if entry.block < S]
    with DevNode(chain, head=END + 1, irreversible_lag=1, deep_histories=deep) as replayed:
        entries = [entry.json() for _, entry in replayed.api.history.full_history(account) if entry.block < S]
    assert baseline is not None and baseline.state is BaselineState.DONE
    assert baseline.counts == recount_history(old_node, account, node_figures(node))
    assert (
        baseline.counts[Metric.UPVOTES_RECEIVED]
        > recount_history(entries, account, node_figures(replayed))[Metric.UPVOTES_RECEIVED]
    )


def test_badges_the_history_reaches_are_recorded_not_announced(run: tuple[DevNode, Store, list[str]]) -> None:
    """Every threshold an account had reached when its baseline came in is recorded silently; only those
    crossed by live activity after that are announced."""
    _, store, _ = run
    rows = [row for account in load_all_counts(store) for row in store.outbox.load_badges(account)]
    how = {str(row["announced"]) for row in rows}
    assert how <= {"baseline", "waiting"}
    assert sum(row["announced"] == "baseline" for row in rows) >= 50


COUNTED_TYPES = {
    "vote_operation",
    "comment_operation",
    "delete_comment_operation",
    "effective_comment_vote_operation",
    *PAYEES,
}


@pytest.mark.parametrize(("which", "page_size"), [(2, 1000), (1, 200), (0, 200)])
def test_a_baseline_ends_at_its_first_short_page_without_one_more_empty_call(
    chain: ChainGenerator, deep: dict[str, DeepHistory], tmp_path: Path, which: int, page_size: int
) -> None:
    """A filtered call counts only the entries its filter takes against its limit (hived's pattern tests,
    see bot.history.is_oldest_page), so a page with fewer than asked is the oldest. The deep histories begin,
    like mainnet's, with the account's creation (entry 0), which the filter never takes: a job that waited for
    index 0 or an empty page made one more call per account (two for a one-page account). The calls are
    counted at the node."""
    account = chain.accounts[which]
    with DevNode(chain, head=END + 1, irreversible_lag=1, deep_histories=deep) as node:
        bot = Bot(node, tmp_path / "bot.sqlite")
        bot.follower.step(S)
        bot.baseline_job.page_size = page_size
        baselines = bot.history_store.baselines
        baselines.requeue([account], S)
        live_start = baselines.load_live_start()
        assert live_start is not None
        node.requests.clear()
        with capture_logs() as logs:
            while (current := baselines.load(account)) is not None and current.state is BaselineState.WAITING:
                bot.baseline_job.commit(
                    bot.baseline_job.read(current, live_start, bot.baseline_job.fetch_prices())
                )
        done = baselines.load(account)
        bot.close()
        calls = sum(method.endswith("get_account_history") for method in node.requests)
        history = [entry.json() for _, entry in node.api.history.full_history(account)]
        figures = node_figures(node)
    assert history[0]["op"]["type"] == "account_create_operation"
    matching = sum(entry["op"]["type"] in COUNTED_TYPES for entry in history)
    assert done is not None and done.state is BaselineState.DONE
    assert calls == done.pages == -(-matching // page_size)
    if which == 2:
        assert calls == 1
    assert done.counts == recount_history([e for e in history if e["block"] < S], account, figures)
    (line,) = [entry for entry in logs if entry["event"] == "baseline_done"]
    assert done.counts[Metric.PAYOUT] > 0  # logged in HP, as the API and the CLI write it
    assert line["counts"][Metric.PAYOUT.value] == decimal(Metric.PAYOUT, done.counts[Metric.PAYOUT])


def test_the_job_reads_the_chains_figures_once_then_when_they_are_an_hour_old_not_per_page(
    chain: ChainGenerator, deep: dict[str, DeepHistory], tmp_path: Path
) -> None:
    """Two calls (the vesting fund and the median feed) for every page of the backlog within an hour, by
    :meth:`BaselineJob.step` and :meth:`BaselineJob.run` alike; then two more. The calls are counted at the
    node."""
    now = [0.0]
    with DevNode(chain, head=END + 1, irreversible_lag=1, deep_histories=deep) as node:
        bot = Bot(node, tmp_path / "bot.sqlite")
        bot.follower.step(S)
        built = bot.baseline_job
        job = BaselineJob(
            built.chain,
            built.store,
            built.rules,
            built.badges,
            page_size=built.page_size,
            clock=lambda: now[0],
        )
        job.store.baselines.requeue(chain.accounts[:2], S)
        node.requests.clear()
        pages = [job.step() for _ in range(4)]
        now[0] += PRICES_MAX_AGE - 1
        pages.append(job.step())
        read = sum(method.endswith("get_feed_history") for method in node.requests)
        now[0] += 1
        pages_run = job.run(threading.Event())
        read_after = sum(method.endswith("get_feed_history") for method in node.requests)
        props = sum(method.endswith("get_dynamic_global_properties") for method in node.requests)
        bot.close()
    assert all(page is not None and page.entries for page in pages) and pages_run >= 10
    assert (read, read_after, props) == (1, 2, 2)


def test_without_the_chains_figures_no_page_is_asked_and_the_run_ends_with_the_node_error(
    chain: ChainGenerator, deep: dict[str, DeepHistory], tmp_path: Path
) -> None:
    """A page's payouts cannot be converted without the figures: the run asks no page, commits nothing, and
    raises the node error for the daemon to retry at its next tick (as when the history cannot be read)."""
    with DevNode(chain, head=END + 1, irreversible_lag=1, deep_histories=deep) as node:
        bot = Bot(node, tmp_path / "bot.sqlite")
        bot.follower.step(S)
        node.transport.http_error(503, count=1000, method="database_api.get_feed_history")
        node.requests.clear()
        with pytest.raises(TransientChainError):
            bot.baseline_job.run(threading.Event())
        summary = bot.history_store.baselines.load_summary()
        bot.close()
    assert not any(method.endswith("get_account_history") for method in node.requests)
    states = summary["baselines"]
    assert isinstance(states, dict) and states["waiting"] >= 20 and states["done"] == states["failed"] == 0


def test_a_page_read_before_its_baseline_was_requeued_is_dropped_not_committed(
    chain: ChainGenerator, deep: dict[str, DeepHistory], tmp_path: Path
) -> None:
    """``bootstrap NAME`` while a page of NAME is on its way (the job reads pages in worker threads): the
    page belongs to the baseline as it was, so it is dropped, and the baseline starts again from scratch."""
    account = chain.accounts[1]
    with DevNode(chain, head=END + 1, irreversible_lag=1, deep_histories=deep) as node:
        bot = Bot(node, tmp_path / "bot.sqlite")
        bot.follower.step(S)
        baselines = bot.history_store.baselines
        baselines.requeue([account], S)
        live_start = baselines.load_live_start()
        current = baselines.load(account)
        assert live_start is not None and current is not None
        bot.baseline_job.commit(
            bot.baseline_job.read(current, live_start, bot.baseline_job.fetch_prices())
        )  # one page in
        moved = baselines.load(account)
        assert moved is not None and moved.pages == 1
        on_its_way = bot.baseline_job.read(moved, live_start, bot.baseline_job.fetch_prices())
        baselines.requeue([account], S)  # bootstrap NAME meanwhile
        with capture_logs() as logs:
            report = bot.baseline_job.commit(on_its_way)
        after = baselines.load(account)
        bot.close()
    assert after is not None and after.pages == 0 and after.next_start is None
    assert after.counts == dict.fromkeys(Metric, 0) and report.entries == 0
    assert [entry["event"] for entry in logs] == ["baseline_page_dropped"]


def test_the_ranking_tables_equal_a_recount_after_requeues_last_as_it_changes_the_run(
    run: tuple[DevNode, Store, list[str]],
) -> None:
    """A requeue taking finished baselines' counts back writes through the same writer. It changes the
    module's store (on PostgreSQL there is no file to copy): this test is the module's last."""
    _, store, _ = run
    before = load_ranking_tables(store._db)
    store.baselines.requeue(list(load_all_counts(store))[::7], END)
    assert load_ranking_tables(store._db) == recount_ranking_tables(store._db)
    assert load_ranking_tables(store._db) != before
