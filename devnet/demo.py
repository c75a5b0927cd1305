"""``hive-badge-bot demo``: the whole bot against a local chain, with users who answer its notifications.

A devnet node serves a generated, mainnet-like chain whose time runs ``speed`` times faster than the clock.
The bot runs as ``hive-badge-bot run`` would — its real config loader, follower, poster and daemon, signing
with a throw-away posting key (derived from the public devnet password: it guards nothing) — but with low
badge thresholds, so notifications come within seconds. Scripted users read the bot's comments from the
blocks: about one notified account in three replies STOP, and the first of them later replies START. At the
end the demo checks, from the chain itself, that no notification reached an account after its STOP, and
prints a summary. Meanwhile the board (``hive-badge-bot serve``'s app, over the demo's store) answers on a
free port of 127.0.0.1, printed at the start: its pages fill as the demo runs. Nothing leaves 127.0.0.1;
the state lives in a temporary directory, removed afterwards.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog
import yaml

from bot.app import open_daemon, serve_web
from bot.config import load_config
from bot.location import Location
from bot.logs import configure_logging
from bot.store import Store
from devnet import keys
from devnet.generator import live_chain
from devnet.node import DevNode
from devnet.users import DevUser

BOT = "hive-badge-bot"
KEY_ENV = "HIVE_BADGE_BOT_DEMO_POSTING_KEY"
SEED = 7

log = structlog.get_logger("devnet.demo")


def run_demo(*, seconds: float, speed: float) -> int:
    with tempfile.TemporaryDirectory(prefix="hive-badge-bot-demo-") as directory:
        chain, head = live_chain(SEED, time.time(), extra_accounts=(BOT,))
        with DevNode(chain, head=head, speed=speed) as node:
            config = load_config(_write_config(Path(directory), node.url, head))
            configure_logging(config.log)
            os.environ[KEY_ENV] = keys.private_key(BOT, "posting", "devnet")  # throw-away, never on mainnet
            print(
                f"demo: a local chain at {node.url}, {speed:g}x real time; @{BOT} posts with a throw-away key "
                f"for {seconds:g} s (Ctrl-C stops it early)\n",
                flush=True,
            )
            users = _Users(node, Path(directory) / "users")
            with open_daemon(config) as daemon, serve_web(config) as board:
                print(f"demo: the board at {board}/ fills as the bot follows the chain\n", flush=True)
                timer = threading.Timer(seconds, daemon.request_stop, args=("the demo's time is up",))
                users.start()
                timer.start()
                try:
                    code = daemon.run()
                finally:
                    timer.cancel()
                    users.stop()
            print(_summary(node, config.store, users), flush=True)
            return code


def _write_config(directory: Path, url: str, head: int) -> Path:
    ladder = {
        "upvotes_received": [10, 25, 50, 100, 200],
        "upvotes_given": [20, 50, 100],
        "posts": [1, 3, 5],
        "comments": [3, 10, 20],
    }
    config = {
        "account": BOT,
        "nodes": [url],
        "posting_key_env": KEY_ENV,
        "store": "state/bot.sqlite",
        "start_block": head,
        "dry_run": False,
        "bootstrap": "none",  # counts from the demo's first block: badges come within seconds
        "chain": {"poll_interval": 0.5, "request_timeout": 10, "max_backoff": 5},
        "log": {"format": "console", "level": "info"},
        "notifications": {"per_account_interval": "10m", "max_crossing_age": "1h", "expiration": "5m"},
        "badges": {metric: {"thresholds": thresholds} for metric, thresholds in ladder.items()},
    }
    path = directory / "demo.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


@dataclass
class _Reply:
    account: str
    text: str
    block: int


@dataclass
class _Users:
    """Notified accounts that answer: one in three replies STOP (the first of those later START)."""

    node: DevNode
    data_dir: Path
    replies: list[_Reply] = field(default_factory=list)
    first_block: int = 0
    _next_block: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _todo: list[tuple[int, str, str, str]] = field(default_factory=list)
    """Replies to make: (not before block, account, the bot's permlink, text)."""
    _users: dict[str, DevUser] = field(default_factory=dict)

    def start(self) -> None:
        self.first_block = self._next_block = self.node.clock.head() + 1
        self._thread = threading.Thread(target=self._run, name="demo-users", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(0.3):
            head = self.node.clock.head()
            for num in range(self._next_block, head + 1):
                self._read(num)
            self._next_block = max(self._next_block, head + 1)
            self._answer()

    def _read(self, num: int) -> None:
        for value in _bot_comments(self.node, num):
            account, permlink = value["parent_author"], value["permlink"]
            answering = {reply.account for reply in self.replies} | {todo[1] for todo in self._todo}
            if account in answering or _digest(account) % 3:
                continue
            if not answering:  # the first to reply STOP changes their mind a minute of chain time later
                self._todo.append((num + 20, account, permlink, "Changed my mind: START again!"))
            self._todo.insert(0, (num, account, permlink, "STOP, thanks — no more of these please"))

    def _answer(self) -> None:
        head = self.node.clock.head()
        due = [todo for todo in self._todo if todo[0] <= head]
        if not due:
            return
        _, account, permlink, text = due[0]
        user = self._users.setdefault(account, DevUser(self.node, account, data_dir=self.data_dir / account))
        try:
            accepted = user.reply(BOT, permlink, text)
        except Exception as exc:  # noqa: BLE001 - a refusal (one comment per block …): try again next round
            log.debug("user_reply_refused", account=account, error=str(exc))
            return
        self._todo.remove(due[0])
        if accepted is not None:
            self.replies.append(_Reply(account, text, accepted.block))
            log.info("user_replied", account=account, text=text, block=accepted.block)


def _bot_comments(node: DevNode, num: int) -> list[dict[str, Any]]:
    block = node.ledger.block(num) or {}
    return [
        operation["value"]
        for transaction in block.get("transactions", [])
        for operation in transaction["operations"]
        if operation["type"] == "comment_operation" and operation["value"]["author"] == BOT
    ]


def _digest(account: str) -> int:
    return int.from_bytes(hashlib.sha256(account.encode()).digest()[:4], "big")


def _summary(node: DevNode, store_path: Location, users: _Users) -> str:
    head = node.clock.head()
    with Store.open(store_path, create=False) as store:
        summary = store.outbox.load_summary()
        checkpoint = store.load_checkpoint()
        opted_out = {account for account, _, _ in store.outbox.load_optouts()}
    notified: dict[str, list[int]] = {}
    for num in range(users.first_block, head + 1):
        for value in _bot_comments(node, num):
            notified.setdefault(value["parent_author"], []).append(num)
    stops = {r.account: r.block for r in users.replies if r.text.startswith("STOP")}
    starts = {r.account: r.block for r in users.replies if r.text.startswith("Changed")}
    ignored = [
        account
        for account, block in stops.items()
        if account not in starts and any(num > block + 2 for num in notified.get(account, []))
    ]
    counts = summary["notifications"]
    assert isinstance(counts, dict)
    lines = [
        "",
        "demo summary",
        f"  blocks followed:        up to {checkpoint.block_num if checkpoint else 'none'} (head {head})",
        f"  badges earned:          {summary['badges']}",
        f"  notifications posted:   {sum(len(v) for v in notified.values())} comments by @{BOT} in blocks",
        f"  by state:               {', '.join(f'{n} {s}' for s, n in counts.items() if n)}",
        f"  STOP replies:           {len(stops)} (START: {len(starts)}); opted out now: {len(opted_out)}",
        f"  notified after a STOP:  {len(ignored)} account(s)"
        + ("" if ignored else " — every STOP was honored"),
    ]
    return "\n".join(lines)
