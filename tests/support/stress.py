"""Crash stress: the daemon killed with SIGKILL at random moments, restarted each time, and nothing lost.

    .venv/bin/python -m tests.support.stress --seed 7 --kills 100      # the long run; the suite runs a short one

A devnet node (in this process) serves a generated chain, with two accounts that have long histories; the
bot runs as ``python -m bot run`` in a subprocess with lifetime counts (``bootstrap: history``) and posting
on, signing with its real key. Scripted users reply STOP to about one notification in three. The bot is
killed, seeded, at moments of four kinds:

- ``fetch``: inside a ``get_block_range`` call (the node kills it before answering);
- ``history``: inside a ``get_account_history`` call (a baseline half read);
- ``broadcast``: after the node has taken a broadcast, before the bot hears back (between a broadcast and
  its record);
- ``anytime``: after a random delay, wherever the bot is (a store commit among other places).

Then it runs until every baseline is done and every due notification is out, and is stopped with SIGTERM
(it must exit 0). The checks: each account's counts equal an independent recount of its whole history;
each notification is one comment, posted once; no comment reached an account after its STOP; every
announced badge belongs to a notification, and none is left sent-but-unknown or parked. The same seed
replays the same kill plan (the moments the bot reaches differ a little from run to run).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import yaml

from bot.location import Location
from bot.metrics import Metric
from bot.outbox import State
from bot.store import Store
from devnet import keys
from devnet.deep import DeepHistory
from devnet.generator import ChainGenerator, GeneratorParams
from devnet.node import DevNode
from devnet.users import DevUser
from tests.support.chains import load_all_counts
from tests.support.paths import ROOT
from tests.support.processes import poll
from tests.support.recount import node_figures, recount_history

BOT = "badge-bot"
FIRST = 70_000_000
GENESIS = 1_750_000_000
START = FIRST + 2_400  # live counting starts here
HEAD = START + 300  # the head when the run begins: the bot catches up, then follows at SPEED
SPEED = 30
BOUND = 120.0  # seconds: the most any wait may take
KINDS = ("fetch", "history", "broadcast", "anytime")


@dataclass
class Report:
    kills: Counter[str] = field(default_factory=Counter)
    notifications: int = 0
    stops: int = 0
    accounts: int = 0

    def __str__(self) -> str:
        kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(self.kills.items()))
        return (
            f"{sum(self.kills.values())} kills ({kinds}); {self.accounts} accounts recounted; "
            f"{self.notifications} notifications posted once each; {self.stops} STOPs honored"
        )


class _Killer:
    """Kills the bot from inside the node's answers, at the moments the plan says."""

    def __init__(self, node: DevNode, rng: random.Random) -> None:
        self.node = node
        self.rng = rng
        self.lock = threading.Lock()
        self.process: subprocess.Popen[bytes] | None = None
        self.armed: str | None = None  # the kind of moment the current run is to die at
        self.killed = threading.Event()
        for kind, method in (
            ("fetch", "block_api.get_block_range"),
            ("history", "account_history_api.get_account_history"),
            ("broadcast", "condenser_api.broadcast_transaction"),
        ):
            self._wrap(kind, method)

    def _wrap(self, kind: str, method: str) -> None:
        real = self.node.api.methods[method]

        def maybe_kill(params: Any) -> Any:
            if kind == "broadcast":
                answer = real(params)  # taken: the comment is on its way
                self._kill_if(kind)
                return answer
            self._kill_if(kind)
            return real(params)

        self.node.api.methods[method] = maybe_kill

    def _kill_if(self, kind: str) -> None:
        with self.lock:
            if self.armed != kind or self.process is None or self.rng.random() < 0.3:
                return
            self.process.send_signal(signal.SIGKILL)
            self.armed = None
            self.killed.set()


class StopReplies:
    """Reply STOP to about one notification in three (chosen by account name), once per account."""

    def __init__(self, node: DevNode, data_dir: Path) -> None:
        self.node = node
        self.data_dir = data_dir
        self.stops: dict[str, int] = {}  # account → block of its STOP
        self._seen = START
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            head = self.node.clock.head()
            for _, value in bot_comments(self.node, self._seen, head):
                account = value["parent_author"]
                digest = hashlib.sha256(account.encode()).digest()[0]
                if account in self.stops or digest % 3:
                    continue
                user = DevUser(self.node, account, data_dir=self.data_dir / account)
                try:
                    accepted = user.stop(BOT, value["permlink"], body="STOP please")
                except Exception:  # noqa: BLE001 - refused this block (one comment a block): next round
                    continue
                if accepted is not None:
                    self.stops[account] = accepted.block
            self._seen = head + 1


def bot_comments(node: DevNode, first: int, last: int) -> list[tuple[int, dict[str, Any]]]:
    found = []
    for num in range(first, last + 1):
        for transaction in (node.ledger.block(num) or {}).get("transactions", []):
            for operation in transaction["operations"]:
                value = operation["value"]
                if operation["type"] == "comment_operation" and value["author"] == BOT:
                    found.append((num, value))
    return found


def run_stress(seed: int, kills: int, directory: Path) -> Report:
    rng = random.Random(seed)
    report = Report()
    with stress_node(seed) as node:
        config = _config(directory, node.url)
        store_path = directory / "state" / "bot.sqlite"
        killer = _Killer(node, random.Random(rng.random()))
        users = StopReplies(node, directory / "users")
        users.start()
        try:
            for _ in range(kills):
                kind = rng.choice(KINDS)
                process = start_run(config)
                with killer.lock:
                    killer.process, killer.armed = process, (None if kind == "anytime" else kind)
                    killer.killed.clear()
                if kind == "anytime":
                    time.sleep(rng.uniform(0.3, 2.0))  # a random moment, wherever the bot is
                    process.send_signal(signal.SIGKILL)
                elif not killer.killed.wait(rng.uniform(2.0, 6.0)):
                    process.send_signal(signal.SIGKILL)  # that moment did not come: kill it anyway
                    kind = "anytime"
                with killer.lock:
                    killer.armed = None
                process.wait(BOUND)
                report.kills[kind] += 1
            process = start_run(config)
            poll(lambda: settled(store_path, node), "the bot to finish its work", bound=BOUND, every=0.2)
            process.send_signal(signal.SIGTERM)
            code = process.wait(BOUND)
            if code != 0:
                raise AssertionError(f"SIGTERM: exit code {code}, expected 0")
        finally:
            users.stop()
        check_outcome(node, store_path, users.stops, report)
    return report


def stress_node(seed: int) -> DevNode:
    """The node of a run (enter it to start it): a generated chain, one account with a long history."""
    chain = ChainGenerator(seed, FIRST, GENESIS, GeneratorParams(accounts=300, extra_accounts=(BOT,)))
    deep = {chain.accounts[0]: DeepHistory(entries=3000, since=GENESIS - 300 * 86_400)}
    return DevNode(chain, head=HEAD, speed=SPEED, irreversible_lag=1, deep_histories=deep)


def stress_config(url: str) -> dict[str, Any]:
    """The bot's config for a stress run against the node at ``url`` (its store: an SQLite file)."""
    return {
        "account": BOT,
        "nodes": [url],
        "posting_key_env": "STRESS_POSTING_KEY",
        "store": "state/bot.sqlite",
        "start_block": START,
        "dry_run": False,
        "bootstrap": "history",
        "history": {"calls_per_second": 50, "page_size": 200},
        "chain": {"poll_interval": 0.2, "request_timeout": 5, "max_backoff": 1, "batch_size": 100},
        "log": {"format": "json", "level": "warning"},
        "notifications": {"per_account_interval": 120, "expiration": 60, "max_crossing_age": "30d"},
        "badges": {metric.value: {"thresholds": [10, 40, 150]} for metric in Metric},
    }


def _config(directory: Path, url: str) -> Path:
    path = directory / "bot.yaml"
    path.write_text(yaml.safe_dump(stress_config(url)))
    return path


def start_run(config: Path, log: IO[bytes] | None = None) -> subprocess.Popen[bytes]:
    """``python -m bot run`` with the bot's posting key; its stderr (the logs) to ``log``, else nowhere."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "STRESS_POSTING_KEY": keys.private_key(BOT, "posting", "devnet"),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "run", "--config", str(config)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL if log is None else log,
    )


def settled(store_path: Location, node: DevNode) -> bool:
    """Caught up past HEAD, every baseline done, every notification due by now out and seen."""
    if isinstance(store_path, Path) and not store_path.exists():
        return False
    with Store.open(store_path, create=False) as store:
        checkpoint = store.load_checkpoint()
        baselines = store.baselines.load_summary()["baselines"]
        outbox = store.outbox
        sent = outbox.load_notifications(State.SENT)
        due = [
            n
            for n in outbox.load_notifications(State.WAITING)
            if n.not_before <= node.ledger.block_time(node.clock.head()) - 30
        ]
    assert isinstance(baselines, dict)
    return (
        checkpoint is not None
        and checkpoint.block_num > HEAD
        and baselines["waiting"] == 0
        and not sent
        and not due
    )


def check_outcome(node: DevNode, store_path: Location, stops: dict[str, int], report: Report) -> None:
    """Counts equal the recount; each notification one comment; none after a STOP (see the module's doc)."""
    with Store.open(store_path, create=False) as store:
        checkpoint = store.load_checkpoint()
        assert checkpoint is not None
        counted = load_all_counts(store)
        notifications = [n for state in State for n in store.outbox.load_notifications(state)]
        badges = [(account, row) for account in counted for row in store.outbox.load_badges(account)]
        failed = store.baselines.load_summary()["baselines_failed"]
    if failed:
        raise AssertionError(f"baselines failed: {failed}")
    for account, counts in counted.items():
        entries = [
            e.json() for _, e in node.api.history.full_history(account) if e.block <= checkpoint.block_num
        ]
        truth = recount_history(entries, account, node_figures(node))
        if counts != truth:
            raise AssertionError(f"@{account}: counted {counts}, its whole history says {truth}")
    comments = bot_comments(node, START, node.clock.head())
    seen = {value["permlink"] for num, value in comments if num <= checkpoint.block_num}
    by_permlink = {n.permlink: n for n in notifications}
    unknown = {value["permlink"] for _, value in comments} - set(by_permlink)
    if unknown:
        raise AssertionError(f"comments the outbox does not know: {sorted(unknown)[:5]}")
    delivered = {n.permlink for n in notifications if n.state is State.DELIVERED}
    if seen != delivered:
        raise AssertionError(f"in the blocks followed but not delivered, or the reverse: {seen ^ delivered}")
    # the bot is stopped right after the last check: what it had just broadcast may still be on its way
    lost = [
        n for n in notifications if n.state is State.SENT and (n.sent_time or 0) + 60 < checkpoint.block_time
    ]
    stuck = [n for n in notifications if n.state is State.PARKED] + lost
    if stuck:
        raise AssertionError(
            f"notifications left {[(n.permlink, n.state.value, n.last_error) for n in stuck]}"
        )
    orphans = [row for _, row in badges if row["announced"] is None]
    if orphans:
        raise AssertionError(f"announced badges without a notification: {orphans[:5]}")
    for account, block in stops.items():
        late = [num for num, value in comments if value["parent_author"] == account and num > block + 3]
        if late:
            raise AssertionError(f"@{account} replied STOP in block {block}, was notified in blocks {late}")
    report.notifications = len(delivered)
    report.stops = len(stops)
    report.accounts = len(counted)


def main() -> int:
    parser = argparse.ArgumentParser(
        description="Kill the bot at random moments; check that nothing is lost."
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--kills", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hive-badge-bot-stress-") as directory:
        print(f"seed {args.seed}: {run_stress(args.seed, args.kills, Path(directory))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
