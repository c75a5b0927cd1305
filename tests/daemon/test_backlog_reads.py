"""The backlog read politely in parallel: the baseline job's pages spread over two devnet nodes through the
real beem over HTTP, each node held to its node budget (counted on the devnet's side), a node answering
429 left alone for its Retry-After while the other goes on, several accounts in flight, a stop that
commits nothing half — and lifetime counts that still equal a recount of each account's whole history."""

from __future__ import annotations

import argparse
import json
import socket
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from bot.app import build_baseline_job, build_follower, open_daemon
from bot.baseline_job import BaselineJob
from bot.cli import account_command, main
from bot.config import Config, HistorySettings, NotificationSettings, load_config
from bot.errors import TransientChainError
from bot.location import Location
from bot.metrics import Metric
from bot.store import Store
from devnet.deep import DeepHistory
from devnet.generator import ChainGenerator, GeneratorParams
from devnet.node import DevNode
from tests.support.chains import CHAIN, bot_config, load_all_counts
from tests.support.configs import write_config
from tests.support.processes import BOUND, checkpoint_of, poll
from tests.support.recount import node_figures, recount_history
from tests.support.scrape import scrape, value

SEED = 37
FIRST = 50_000_000
GENESIS = 1_750_000_000
S = FIRST + 2_400  # live counting starts here; every comment edited after S was created after FIRST
END = S + 120
HISTORY = "account_history_api.get_account_history"
LADDERS = {metric: (10, 100, 1000) for metric in Metric}

pytestmark = pytest.mark.slow  # two backlogs of ~200 accounts read through beem at 10 calls a second a node


class TimedCalls(deque[str]):
    """The devnet's record of the requests it serves, each with the time it was served: the budget is
    counted where the calls arrive."""

    def __init__(self) -> None:
        super().__init__()
        self.times: list[tuple[float, str]] = []

    def append(self, method: str) -> None:
        self.times.append((time.monotonic(), method))
        super().append(method)

    def history(self, since: float = 0.0) -> list[float]:
        return [t for t, method in self.times if method == HISTORY and t >= since]


@dataclass
class Nodes:
    a: DevNode
    b: DevNode

    @property
    def calls(self) -> tuple[TimedCalls, TimedCalls]:
        a, b = self.a.api.calls, self.b.api.calls
        assert isinstance(a, TimedCalls) and isinstance(b, TimedCalls)
        return a, b


def generated() -> ChainGenerator:
    return ChainGenerator(SEED, FIRST, GENESIS, GeneratorParams(accounts=200), blocks=END - FIRST + 2_000)


@pytest.fixture(scope="module")
def nodes() -> Iterator[Nodes]:
    """Two nodes serving the same chain (a generator each: their caches are not shared between threads)."""
    served = []
    for _ in range(2):
        chain = generated()
        deep = {chain.accounts[0]: DeepHistory(entries=2400, since=GENESIS - 300 * 86_400)}
        served.append(DevNode(chain, head=END + 1, irreversible_lag=1, deep_histories=deep).start())
        served[-1].api.history.count(chain.accounts[1])  # the node indexes its chain now, not in a test
    yield Nodes(*served)
    for node in served:
        node.stop()


@pytest.fixture(scope="module")
def followed(nodes: Nodes, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store that followed S … END with lifetime counts on: its backlog waits to be read."""
    path = tmp_path_factory.mktemp("followed") / "bot.sqlite"
    with Store.open(path) as store:
        follower = build_follower(config_for(nodes, path), store)
        while follower.step(END) is not None:
            pass
        follower.close()
    return path


@pytest.fixture
def fresh(nodes: Nodes, followed: Path, tmp_path: Path) -> Iterator[Path]:
    """A copy of the followed store, and the nodes' request records started afresh."""
    path = tmp_path / "bot.sqlite"
    with Store.open(followed) as store:
        store.backup(path)
    for node in (nodes.a, nodes.b):
        node.api.calls = TimedCalls()
        node.transport.clear()
    yield path


def config_for(nodes: Nodes, path: Path, **history: Any) -> Config:
    return bot_config(
        [nodes.a.url, nodes.b.url],
        path,
        start_block=S,
        badges=LADDERS,
        bootstrap="history",
        chain=replace(CHAIN, batch_size=100, max_backoff=1),
        history=replace(HistorySettings(page_size=1000, in_flight=6, calls_per_second=10), **history),
        notifications=NotificationSettings(max_crossing_age=10**9),
    )


def truth(node: DevNode, account: str) -> dict[Metric, int]:
    entries = [entry.json() for _, entry in node.api.history.full_history(account) if entry.block <= END]
    return recount_history(entries, account, node_figures(node))


def run_job(job: BaselineJob, stop: threading.Event) -> threading.Thread:
    thread = threading.Thread(target=job.run, args=(stop,), daemon=True)
    thread.start()
    return thread


def most_in_a_window(times: list[float], window: float) -> int:
    return max((sum(1 for t in times if start <= t < start + window) for start in times), default=0)


def test_pages_spread_over_both_nodes_each_within_its_budget_and_the_counts_equal_a_recount(
    nodes: Nodes, fresh: Path
) -> None:
    config = config_for(nodes, fresh)
    with Store.open(fresh) as store:
        waiting = len(store.baselines.load_waiting())
        job = build_baseline_job(config, store)
        pages = job.run(threading.Event())
        counted = load_all_counts(store)
        assert store.baselines.load_summary()["baselines"] == {"waiting": 0, "done": waiting, "failed": 0}
    a, b = (calls.history() for calls in nodes.calls)
    assert waiting > 100 and pages == len(a) + len(b) > waiting  # the deep history took several pages
    assert min(len(a), len(b)) >= 0.3 * pages  # both nodes read pages
    rate = config.history.calls_per_second
    for times in (a, b):
        for window in (0.5, 1.0, 3.0):
            assert most_in_a_window(times, window) <= 1 + rate * window + 1  # +1: arrival jitter
        assert len(times) <= 1 + rate * (times[-1] - times[0]) + 1
    for account, counts in counted.items():
        assert counts == truth(nodes.a, account), account


def test_a_node_answering_429_gets_no_history_call_during_its_retry_after_while_the_other_goes_on(
    nodes: Nodes, fresh: Path
) -> None:
    nodes.a.transport.rate_limit("3", method="account_history_api.*")
    stop = threading.Event()
    with Store.open(fresh) as store:
        started = time.monotonic()
        thread = run_job(build_baseline_job(config_for(nodes, fresh), store), stop)
        time.sleep(4.5)
        stop.set()
        thread.join(10)
    assert not thread.is_alive()
    assert not nodes.a.transport.pending and nodes.a.transport.turned_away == 1  # the 429 was sent
    a, b = (calls.history(since=started) for calls in nodes.calls)
    assert a and min(a) >= started + 3.0  # nothing during the Retry-After, then pages again
    assert sum(1 for t in b if t < started + 3.0) >= 20  # the other node went on at its budget


def test_several_accounts_pages_are_in_flight_at_once(nodes: Nodes, fresh: Path) -> None:
    """Each page takes 0.3 s to come: one at a time, two seconds read at most 7 pages."""
    for node in (nodes.a, nodes.b):
        node.transport.latency = 0.3
    stop = threading.Event()
    with Store.open(fresh) as store:
        thread = run_job(
            build_baseline_job(config_for(nodes, fresh, calls_per_second=50, page_size=200), store), stop
        )
        time.sleep(2.0)
        stop.set()
        thread.join(10)
        pages = _pages_committed(store)
    assert pages >= 12


def test_a_stop_mid_flight_asks_no_page_more_commits_none_half_and_a_new_run_finishes_exactly(
    nodes: Nodes, fresh: Path
) -> None:
    """A budget of one call a second a node and six pages in flight: most wait for a token when the stop
    comes. They are dropped at once — no page is asked after the stop (a request takes 0.2 s to reach
    the node's work) — and the pages under way are awaited, not committed."""
    for node in (nodes.a, nodes.b):
        node.transport.latency = 0.2
    config = config_for(nodes, fresh, calls_per_second=1, page_size=200)
    stop = threading.Event()
    with Store.open(fresh) as store:
        thread = run_job(build_baseline_job(config, store), stop)
        time.sleep(2.5)
        committed = _pages_committed(store)
        stop.set()
        stopped = time.monotonic()
        thread.join(10)
        asked = [t for calls in nodes.calls for t in calls.history(since=stopped + 0.2 + 0.15)]
        assert not thread.is_alive() and not asked
        assert _pages_committed(store) <= committed + 1  # at most one being committed when the stop came
        assert store.baselines.load_summary()["baselines"]["waiting"] > 0  # type: ignore[index]
        for node in (nodes.a, nodes.b):
            node.transport.latency = 0.0
        build_baseline_job(config_for(nodes, fresh, calls_per_second=50), store).run(threading.Event())
        counted = load_all_counts(store)
    for account, counts in counted.items():
        assert counts == truth(nodes.a, account), account


def _pages_committed(store: Store) -> int:
    return sum(baseline.pages for baseline in map(store.baselines.load, _accounts(store)) if baseline)


def _accounts(store: Store) -> list[str]:
    return [account for account in load_all_counts(store)]


def test_the_follower_keeps_following_while_the_backlog_is_read_and_status_and_metrics_show_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The daemon in-process, the head moving a block every 0.1 s, the backlog read at 3 calls a second."""
    port = free_port()
    path = write_config(
        tmp_path,
        ["http://127.0.0.1:1"],  # replaced below, once the node has its port
        bootstrap="history",
        start_block=S,
        history={"page_size": 200, "calls_per_second": 3, "in_flight": 2},
        metrics={"listen": f"127.0.0.1:{port}"},
    )
    with DevNode(generated(), head=S + 20, speed=30, irreversible_lag=1) as node:
        config = replace(load_config(path), nodes=(node.url,))
        path.write_text(path.read_text().replace("http://127.0.0.1:1", node.url))
        with capture_logs(), open_daemon(config) as daemon:
            thread = threading.Thread(target=daemon.run, kwargs={"install_signal_handlers": False})
            thread.start()
            try:
                poll(lambda: _done(config.store) >= 3, "three baselines read")
                begun = checkpoint_of(config.store) or 0
                poll(lambda: (checkpoint_of(config.store) or 0) >= begun + 20, "20 more blocks followed")
                status = run_status(capsys, path)
                metrics = scrape(f"http://127.0.0.1:{port}/metrics")
            finally:
                daemon.request_stop("the test is over")
                thread.join(BOUND)
    backlog = status["backlog"]
    assert isinstance(backlog, dict) and backlog["accounts"] > 50  # most of it still waits
    assert backlog["seconds_left"] == pytest.approx(backlog["calls_left"] / 3, abs=0.1)
    assert backlog["calls_left"] >= backlog["accounts"]
    assert value(metrics, "backlog_accounts") > 50
    assert value(metrics, "backlog_seconds_left") > 0
    assert main(["status", "--config", str(path)]) == 0
    assert "accounts waiting" in capsys.readouterr().out


def run_status(capsys: pytest.CaptureFixture[str], path: Path) -> dict[str, object]:
    assert main(["status", "--config", str(path), "--json"]) == 0
    report: dict[str, object] = json.loads(capsys.readouterr().out)
    return report


def _done(store_path: Location) -> int:
    with Store.open(store_path, create=False) as store:
        return int(store.baselines.load_summary()["baselines"]["done"])  # type: ignore[index]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_after_a_page_the_estimate_of_entries_left_is_near_the_entries_truly_left(
    nodes: Nodes, fresh: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The deep history alone in the backlog, stopped after a few pages: the estimate stored (what
    ``status`` sums, what ``account NAME`` shows) against the entries the filter passes below where the
    baseline stopped."""
    deep = generated().accounts[0]
    config = config_for(nodes, fresh, calls_per_second=2, page_size=200)
    with Store.open(fresh) as store, Store.open(fresh) as watching:
        for item in store.baselines.load_waiting():
            if item.account != deep:
                store.baselines.mark_failed(item.account, "not in this test")
        stop = threading.Event()
        thread = run_job(build_baseline_job(config, store), stop)
        poll(lambda: _pages(watching, deep) >= 3, "three pages of the deep history")
        stop.set()
        thread.join(10)
        baseline = store.baselines.load(deep)
        estimate = store.baselines.load_estimate(deep)
    assert baseline is not None and baseline.next_start is not None and estimate is not None
    kinds = {
        "vote_operation",
        "comment_operation",
        "delete_comment_operation",
        "effective_comment_vote_operation",
    }
    left = sum(
        1
        for index, entry in nodes.a.api.history.full_history(deep)
        if index <= baseline.next_start and entry.op["type"] in kinds
    )
    assert left > 1000 and 0.8 * left <= estimate <= 1.25 * left
    assert account_command(config, argparse.Namespace(name=deep, json=True)) == 0
    assert json.loads(capsys.readouterr().out)["baseline"]["entries_left"] == estimate
    assert account_command(config, argparse.Namespace(name=deep, json=False)) == 0
    assert f"~{estimate:,} entries left" in capsys.readouterr().out


def _pages(store: Store, account: str) -> int:
    baseline = store.baselines.load(account)
    return 0 if baseline is None else baseline.pages


def test_with_every_node_failing_the_run_ends_with_the_node_error_for_the_daemon_to_retry(
    nodes: Nodes, fresh: Path
) -> None:
    for node in (nodes.a, nodes.b):
        node.transport.http_error(503, count=1000, method="account_history_api.*")
    with Store.open(fresh) as store:
        began = time.monotonic()
        with pytest.raises(TransientChainError, match="no node answered"):
            build_baseline_job(config_for(nodes, fresh), store).run(threading.Event())
        assert time.monotonic() - began < 5
        assert store.baselines.load_summary()["baselines"]["done"] == 0  # type: ignore[index]
