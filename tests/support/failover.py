"""Failover: three ``run`` processes on one PostgreSQL store, the active one disrupted again and again.

    .venv/bin/python -m tests.support.failover --seed 7 --disruptions 100   # the long run; the suite runs 6

The node, its chain, the bot's config and the STOP replies are the crash stress's (tests/support/stress.py):
a devnet node in this process, the bot posting with its real key, ``bootstrap: history``, users replying
STOP to about one notification in three. Here three bots (``bot-a``, ``bot-b``, ``bot-c``) share one
PostgreSQL store, each through a TCP proxy of its own (:class:`~tests.support.tcp_proxy.CutProxy`), with
``ha.takeover`` = 3 s. At seeded moments the active one (the lease's holder) is

- ``kill``: SIGKILLed, and started again a while later, as systemd would;
- ``stop``: frozen (SIGSTOP), and thawed (SIGCONT) a while after another took over: it must find itself
  a standby and never act on its stale lease;
- ``cut``: cut from the database (its proxy drops every connection and refuses new ones), and let through
  again a while after another took over.

A bot that exits by itself meanwhile is started again too (and counted: ``exits``). At the end the bots
finish the work, are stopped with SIGTERM (each must exit 0), and the checks are the stress's (counts equal
the recount, each notification one comment, none after a STOP) plus:

- each permlink is in one comment operation on chain (no edit: a notification sent once);
- from the logs: every commit (``batch_committed``) and broadcast (``notification_sent``) of a bot falls in
  a tenure its process acquired (``lease_acquired`` with token t), a batch begun before the next token was
  acquired by anyone (:func:`check_tenures`);
- from the chain: every broadcast the node took arrived while its broadcaster (the bot whose log says it
  sent that permlink) held the lease, the holder at that time being the last to acquire it before (a bot
  killed during a broadcast logs no sender: that arrival is only counted).

Each takeover's time, from the disruption to the next ``lease_acquired`` (the lease's ``acquired_at``, on
the database's clock, this machine's), is in the report.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import signal
import statistics
import subprocess
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

import psycopg
import yaml

from bot.db import PostgresUrl
from bot.standby import LeaseView, load_lease
from devnet.node import DevNode
from tests.support.postgres import cluster, session_database
from tests.support.processes import poll
from tests.support.stress import (
    START,
    Report,
    StopReplies,
    bot_comments,
    check_outcome,
    settled,
    start_run,
    stress_config,
    stress_node,
)
from tests.support.tcp_proxy import CutProxy

TAKEOVER = 3.0
BOUND = 120.0  # seconds: the most any wait may take
ACTS = ("batch_committed", "notification_sent")
ENDS = ("lease_lost", "lease_released", "harness_killed", "harness_exited")


@dataclass(frozen=True)
class Takeover:
    kind: str
    before: str
    after: str
    seconds: float


@dataclass
class FailoverReport:
    outcome: Report = field(default_factory=Report)
    disruptions: Counter[str] = field(default_factory=Counter)
    takeovers: list[Takeover] = field(default_factory=list)
    exits: list[tuple[str, int]] = field(default_factory=list)
    """Bots that exited by themselves (name, exit code), started again."""
    broadcasts: int = 0
    permlinks: int = 0

    def __str__(self) -> str:
        kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(self.disruptions.items()))
        outcome = self.outcome
        lines = [
            f"{sum(self.disruptions.values())} disruptions ({kinds}); {outcome.accounts} accounts recounted; "
            f"{outcome.notifications} notifications posted once each; {outcome.stops} STOPs honored",
            f"{self.broadcasts} broadcasts taken by the node ({self.permlinks} permlinks), each while its "
            "broadcaster held the lease",
        ]
        for kind in DISRUPTIONS:
            seconds = [t.seconds for t in self.takeovers if t.kind == kind]
            if seconds:
                lines.append(
                    f"takeover after {kind}: min {min(seconds):.2f} s, median {statistics.median(seconds):.2f} s, "
                    f"max {max(seconds):.2f} s ({len(seconds)})"
                )
        lines.append(f"bots that exited by themselves (started again): {self.exits or 'none'}")
        return "\n".join(lines)


class Bot:
    """One ``run`` process (started again as often as it dies), its proxy to the store, its log file."""

    def __init__(self, name: str, directory: Path, node_url: str, store_url: str, proxy: CutProxy) -> None:
        self.name = name
        self.proxy = proxy
        self.log_path = directory / f"{name}.log"
        self.config = directory / f"{name}.yaml"
        through = urlsplit(store_url)._replace(
            netloc=f"{urlsplit(store_url).username}@127.0.0.1:{proxy.port}"
        )
        config = stress_config(node_url) | {
            "store": through.geturl(),
            "ha": {"takeover": TAKEOVER, "holder": name},
            "log": {"format": "json", "level": "info"},
        }
        self.config.write_text(yaml.safe_dump(config))
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def start(self) -> None:
        if self._log is not None:
            self._log.close()
        self._log = self.log_path.open("ab", buffering=0)
        self.process = start_run(self.config, self._log)

    def mark(self, event: str, **fields: object) -> None:
        """A line of the harness's own in the bot's log (written while the process is not running)."""
        line = {"event": event, "timestamp": _now(), **fields}
        with self.log_path.open("a") as log:
            log.write(json.dumps(line) + "\n")

    def kill(self) -> None:
        """SIGKILL; down until :meth:`start`."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(BOUND)
        self.mark("harness_killed")
        self.process = None

    def signal(self, signum: signal.Signals) -> None:
        if self.process is not None:
            self.process.send_signal(signum)

    def exited(self) -> int | None:
        """The exit code if the process ended by itself (it is then marked and started again)."""
        code = None if self.process is None else self.process.poll()
        if code is not None:
            self.mark("harness_exited", code=code)
            self.start()
        return code

    def started(self) -> bool:
        """Whether the process has logged since it was last started (a bot killed just before the end may
        still be loading: SIGTERM would end it before it handles signals)."""
        events = self.events()
        marks = [n for n, event in enumerate(events) if event["event"].startswith("harness_")]
        return len(events) > (marks[-1] + 1 if marks else 0)

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log_path.read_text().splitlines() if line.startswith("{")]


DISRUPTIONS: dict[str, tuple[Callable[[Bot], None], Callable[[Bot], None]]] = {
    "kill": (Bot.kill, Bot.start),
    "stop": (lambda bot: bot.signal(signal.SIGSTOP), lambda bot: bot.signal(signal.SIGCONT)),
    "cut": (lambda bot: bot.proxy.cut(), lambda bot: bot.proxy.restore()),
}
"""Each kind of disruption, and how it is undone (a start again, a thaw, the database let through again)."""


def run_failover(
    seed: int,
    disruptions: int,
    directory: Path,
    store_url: str,
    bots: int = 3,
    say: Callable[[str], object] = lambda _: None,
) -> FailoverReport:
    """Disrupt the active bot ``disruptions`` times (seeded); check the outcome; the report. ``say``:
    where each takeover is told as it happens (the long run prints them)."""
    rng = random.Random(seed)
    report = FailoverReport()
    upstream = urlsplit(store_url)
    lease_url = PostgresUrl(store_url)
    with ExitStack() as stack, stress_node(seed) as node:
        arrivals = _record_broadcasts(node)
        team = []
        for name in ("bot-a", "bot-b", "bot-c")[:bots]:
            proxy = stack.enter_context(CutProxy((upstream.hostname or "127.0.0.1", upstream.port or 5432)))
            team.append(Bot(name, directory, node.url, store_url, proxy))
        stack.callback(_kill_all, team)
        users = StopReplies(node, directory / "users")
        users.start()
        stack.callback(users.stop)
        for bot in team:
            bot.start()
        for _ in range(disruptions):
            _disrupt(rng, rng.choice(list(DISRUPTIONS)), team, lease_url, report)
            say(f"{len(report.takeovers)}: {report.takeovers[-1]}")
        poll(
            lambda: _settled(team, lease_url, node, report),
            "the bots to finish their work",
            bound=BOUND,
            every=0.2,
        )
        poll(lambda: all(bot.started() for bot in team), "every bot to be up (its SIGTERM handler set)")
        for bot in team:
            bot.signal(signal.SIGTERM)
        codes = {bot.name: bot.process.wait(BOUND) for bot in team if bot.process is not None}
        if any(codes.values()):
            raise AssertionError(f"SIGTERM: exit codes {codes}, expected 0")
        users.stop()
        check_outcome(node, lease_url, users.stops, report.outcome)
        _check_one_comment_per_permlink(node)
        tenures = check_tenures({bot.name: bot.events() for bot in team})
        report.broadcasts = check_broadcasts(arrivals, tenures, {bot.name: bot.events() for bot in team})
        report.permlinks = len({permlink for _, permlink in arrivals})
    return report


def _disrupt(
    rng: random.Random, kind: str, team: list[Bot], url: PostgresUrl, report: FailoverReport
) -> None:
    """Let the active bot act a while, disrupt it, wait for another to take over, then undo the disruption."""
    active = _wait_active(url, team, report)
    time.sleep(rng.uniform(1.0, 4.0))
    active = _wait_active(url, team, report)
    bot = next(b for b in team if b.name == active.lease.holder)
    disrupt, undo = DISRUPTIONS[kind]
    at = time.time()
    disrupt(bot)
    report.disruptions[kind] += 1
    after = _wait_active(url, team, report, newer_than=active.lease.token)
    report.takeovers.append(Takeover(kind, bot.name, after.lease.holder, after.lease.acquired_at - at))
    time.sleep(rng.uniform(0.5, 2.0))  # longer than the takeover since the disruption: the old lease expired
    undo(bot)


def _wait_active(url: PostgresUrl, team: list[Bot], report: FailoverReport, newer_than: int = 0) -> LeaseView:
    """The lease once some bot holds it (with a token above ``newer_than``); bots that died are restarted."""
    found: list[LeaseView] = []

    def held() -> bool:
        for bot in team:
            code = bot.exited()
            if code is not None:
                report.exits.append((bot.name, code))
        try:
            view = load_lease(url)
        except psycopg.Error:
            return False  # no lease table yet
        if view is None or not view.active or view.lease.token <= newer_than:
            return False
        found.append(view)
        return True

    try:
        poll(held, f"a bot to hold the lease (token > {newer_than})", bound=BOUND, every=0.05)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; the server's sessions: {_sessions(url)}") from None
    return found[-1]


def _sessions(url: PostgresUrl) -> list[tuple[Any, ...]]:
    """What each session of the store's database is doing, and the locks it waits for (a diagnosis)."""
    with psycopg.connect(url.url, autocommit=True) as connection:
        return connection.execute(
            "SELECT pid, application_name, state, now() - state_change, now() - backend_start, now() - xact_start, wait_event,"
            " pg_blocking_pids(pid), left(query, 80) FROM pg_stat_activity WHERE datname = current_database()"
        ).fetchall()


def _settled(team: list[Bot], url: PostgresUrl, node: DevNode, report: FailoverReport) -> bool:
    _wait_active(url, team, report)
    return settled(url, node)


def _kill_all(team: list[Bot]) -> None:
    for bot in team:
        if bot.process is not None and bot.process.poll() is None:
            bot.process.kill()
            bot.process.wait()


def _record_broadcasts(node: DevNode) -> list[tuple[float, str]]:
    """(time, permlink) of every broadcast the node took, as it took it."""
    method = "condenser_api.broadcast_transaction"
    real = node.api.methods[method]
    arrivals: list[tuple[float, str]] = []
    lock = threading.Lock()

    def recorded(params: Any) -> Any:
        at = time.time()
        answer = real(params)
        for kind, value in params[0]["operations"]:
            if kind == "comment":
                with lock:
                    arrivals.append((at, value["permlink"]))
        return answer

    node.api.methods[method] = recorded
    return arrivals


def _check_one_comment_per_permlink(node: DevNode) -> None:
    permlinks = Counter(value["permlink"] for _, value in bot_comments(node, START, node.clock.head()))
    twice = {permlink: n for permlink, n in permlinks.items() if n > 1}
    if twice:
        raise AssertionError(f"permlinks in more than one comment operation (sent twice): {twice}")


@dataclass(frozen=True)
class Tenure:
    bot: str
    token: int
    start: float
    end: float
    """When its bot stopped holding it by its own log (lost, released, killed); inf: still holding."""


def check_tenures(logs: dict[str, list[dict[str, Any]]]) -> list[Tenure]:
    """Every act of a bot in one of its process's tenures, a batch begun before the next token's; the
    tenures by token.

    A log line is written after its act, by its own thread: a bot frozen between a commit and its line
    logs the commit after the keeper's ``lease_lost``, and after the next token, although the fence made
    the commit land before it. So an act belongs to the last tenure its process acquired (a process started
    again holds none until it acquires), and a batch is judged by when it began (its ``seconds``); a
    broadcast's moment is judged on the node (:func:`check_broadcasts`)."""
    tenures = sorted(
        (t for name, events in logs.items() for t in _tenures(name, events)), key=lambda t: t.token
    )
    tokens = [t.token for t in tenures]
    if len(set(tokens)) != len(tokens):
        raise AssertionError(f"one token acquired twice: {tenures}")
    successor = {a.token: b.start for a, b in itertools.pairwise(tenures)}
    for name, events in logs.items():
        current: Tenure | None = None
        for event in events:
            if event["event"] == "lease_acquired":
                current = next(t for t in tenures if t.token == event["token"])
            elif event["event"].startswith("harness_"):
                current = None
            elif event["event"] in ACTS:
                if current is None:
                    raise AssertionError(f"{name} acted while not holding the lease: {event}")
                began = _time(event) - float(event.get("seconds", 0))
                if event["event"] == "batch_committed" and began >= successor.get(
                    current.token, float("inf")
                ):
                    raise AssertionError(
                        f"{name} acted under token {current.token} after token {current.token + 1} was "
                        f"acquired ({successor[current.token]}): {event}"
                    )
    return tenures


def _tenures(name: str, events: list[dict[str, Any]]) -> Iterator[Tenure]:
    start: tuple[int, float] | None = None
    for event in events:
        if event["event"] == "lease_acquired":
            start = (event["token"], _time(event))
        elif event["event"] in ENDS and start is not None:
            yield Tenure(name, start[0], start[1], _time(event))
            start = None
    if start is not None:
        yield Tenure(name, start[0], start[1], float("inf"))


def check_broadcasts(
    arrivals: list[tuple[float, str]], tenures: list[Tenure], logs: dict[str, list[dict[str, Any]]]
) -> int:
    """Every broadcast the node took arrived while its broadcaster held the lease; how many were checked."""
    senders: dict[str, set[str]] = {}
    for name, events in logs.items():
        for event in events:
            if event["event"] == "notification_sent":
                senders.setdefault(event["permlink"], set()).add(name)
    for at, permlink in arrivals:
        holder = [t for t in tenures if t.start <= at]
        if not holder:
            raise AssertionError(f"{permlink} reached the node at {at}, before any bot held the lease")
        current = holder[-1]  # a dead broadcaster's last request may still be on its way: no end checked
        by = senders.get(permlink, set())
        if by and current.bot not in by:
            raise AssertionError(
                f"{permlink} reached the node at {at}, broadcast by {sorted(by)}, while {current} held the lease"
            )
    return len(arrivals)


def _time(event: dict[str, Any]) -> float:
    return datetime.fromisoformat(event["timestamp"]).timestamp()


def _now() -> str:
    return datetime.fromtimestamp(time.time()).astimezone().isoformat()


def main() -> int:
    parser = argparse.ArgumentParser(description="Disrupt the active bot of three again and again; check.")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--disruptions", type=int, default=100)
    args = parser.parse_args()
    with ExitStack() as stack:
        directory = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="hive-badge-bot-failover-")))
        server = stack.enter_context(session_database(os.environ, lambda: stack.enter_context(cluster()).url))
        report = run_failover(args.seed, args.disruptions, directory, server, say=print)
        print(f"seed {args.seed}: {report}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
