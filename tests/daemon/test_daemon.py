"""The daemon as a user runs it: ``python -m bot run`` in a subprocess, against the devnet node.

Signals, ``--stop-at-block``, ``kill -9`` in the middle of a batch and a restart; nothing here sleeps to
wait: the tests poll the store or wait on events raised by the node, always with a bound.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from bot.outbox import State
from bot.store import Store
from devnet.generator import ChainGenerator
from devnet.node import DevNode
from tests.support import notifying
from tests.support.chains import FIRST, Counts, generated_chain
from tests.support.configs import badges_yaml, write_config
from tests.support.paths import ROOT
from tests.support.processes import BOUND, checkpoint_of, counts_of, finish, poll, start_bot
from tests.support.recount import recount

pytestmark = pytest.mark.slow  # every test here starts the daemon as a subprocess

FAST = {"poll_interval": 0.1, "request_timeout": 5, "max_backoff": 1}  # support/configs.py's chain section


@pytest.fixture(scope="module")
def chain() -> ChainGenerator:
    return generated_chain()


def truth_until(chain: ChainGenerator, last: int) -> Counts:
    return recount((chain.block(n) or {} for n in range(FIRST, last + 1)), chain.comment_created)


def passed(store_path: Path, block: int) -> bool:
    """Whether the bot has committed ``block``."""
    return (checkpoint_of(store_path) or 0) >= block


class Trap:
    """Makes the node hold the calls of one method once ``when()`` is true, until released; ``held`` is set
    as soon as one is held. The held call's bot is then in the middle of a batch."""

    def __init__(self, node: DevNode, method: str, when: Callable[[], bool]) -> None:
        self.held = threading.Event()
        self.released = threading.Event()
        real = node.api.methods[method]

        def trapped(params: Any) -> Any:
            if not self.released.is_set() and when():
                self.held.set()
                self.released.wait(BOUND)
            return real(params)

        node.api.methods[method] = trapped


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "bot.sqlite"


def test_stop_at_block_waits_for_the_block_to_become_irreversible_then_exits_0(
    chain: ChainGenerator, tmp_path: Path, store_path: Path
) -> None:
    target = FIRST + 400
    with DevNode(chain, head=FIRST + 150, speed=300) as node:  # a block every 10 ms
        process = start_bot(
            write_config(tmp_path, [node.url], start_block=FIRST), "--stop-at-block", str(target)
        )
        code, logs = finish(process)
        assert node.clock.head() > target
    assert code == 0, logs
    assert checkpoint_of(store_path) == target
    assert counts_of(store_path) == truth_until(chain, target)
    assert [entry["reason"] for entry in logs if entry["event"] == "stop_requested"] == [
        f"block {target} processed"
    ]


def test_sigterm_finishes_the_batch_commits_and_exits_0(
    chain: ChainGenerator, tmp_path: Path, store_path: Path
) -> None:
    with DevNode(chain, head=FIRST + 2500, speed=30) as node:
        process = start_bot(write_config(tmp_path, [node.url], start_block=FIRST))
        poll(lambda: (checkpoint_of(store_path) or 0) >= FIRST + 2000, "the bot to catch up")
        process.send_signal(signal.SIGTERM)
        code, logs = finish(process)
    assert code == 0, logs
    assert [entry["reason"] for entry in logs if entry["event"] == "stop_requested"] == ["SIGTERM"]
    assert logs[-1]["event"] == "daemon_stopped"
    last = checkpoint_of(store_path)
    assert last is not None
    assert counts_of(store_path) == truth_until(chain, last)


@pytest.mark.parametrize(
    "method",
    ["block_api.get_block_range", "database_api.find_comments"],
    ids=["while-fetching-blocks", "while-looking-up-comments"],
)
def test_kill_9_in_the_middle_of_a_batch_then_restart_counts_exactly(
    chain: ChainGenerator, tmp_path: Path, store_path: Path, method: str
) -> None:
    target = FIRST + 2600
    with DevNode(chain, head=target + 1) as node:
        config = write_config(tmp_path, [node.url], start_block=FIRST, chain={**FAST, "batch_size": 500})
        for kill_after in (
            FIRST + 499,
            FIRST + 1499,
        ):  # in the second batch, then (after a restart) the fourth
            trap = Trap(node, method, when=partial(passed, store_path, kill_after))
            process = start_bot(config, "--stop-at-block", str(target))
            assert trap.held.wait(BOUND), f"the bot never got past block {kill_after}"
            process.kill()
            process.wait(BOUND)
            trap.released.set()
            # the batch in flight left no trace: the checkpoint is at a batch's end (the next range is read
            # ahead, its lookups too, so the kill may come while the batch before it commits)
            at = checkpoint_of(store_path)
            assert at in (kill_after, kill_after + 500) and (at - FIRST + 1) % 500 == 0
        code, logs = finish(start_bot(config, "--stop-at-block", str(target)))
    assert code == 0, logs
    assert checkpoint_of(store_path) == target
    assert counts_of(store_path) == truth_until(chain, target)


def test_beem_writes_nothing_in_the_home_directory(chain: ChainGenerator, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    with DevNode(chain, head=FIRST + 20) as node:
        config = write_config(tmp_path, [node.url], start_block=FIRST)
        code, logs = finish(start_bot(config, "--stop-at-block", str(FIRST + 10), home=home))
    assert code == 0, logs
    assert list(home.rglob("*")) == []


def test_a_second_daemon_on_the_same_store_exits_1_and_leaves_the_first_running(
    chain: ChainGenerator, tmp_path: Path, store_path: Path
) -> None:
    with DevNode(chain, head=FIRST + 100, speed=3) as node:
        config = write_config(tmp_path, [node.url], start_block=FIRST)
        first = start_bot(config)
        poll(lambda: checkpoint_of(store_path) is not None, "the first bot to commit")
        code, _ = finish(start_bot(config))
        assert code == 1
        assert first.poll() is None
        first.send_signal(signal.SIGINT)
        code, logs = finish(first)
    assert code == 0, logs


def test_kill_9_right_after_a_broadcast_then_restart_creates_no_second_comment(
    tmp_path: Path, store_path: Path
) -> None:
    """The node takes the bot's comment; the bot dies before it hears back or sees it in a block."""
    chain = notifying.generated_chain()
    with DevNode(chain, head=notifying.START, speed=30) as node:  # a block every 0.1 s
        config = write_config(
            tmp_path,
            [node.url],
            account=notifying.BOT,
            dry_run=False,
            start_block=notifying.START,
            badges=badges_yaml(notifying.LADDERS),
            notifications={"per_account_interval": 300, "expiration": 60},
        )
        real = node.api.methods["condenser_api.broadcast_transaction"]
        taken: list[str] = []
        held, released = threading.Event(), threading.Event()

        def take_then_hold(params: Any) -> Any:
            answer = real(params)
            if not taken:
                taken.append(params[0]["operations"][0][1]["permlink"])
                held.set()
                released.wait(BOUND)
            return answer

        node.api.methods["condenser_api.broadcast_transaction"] = take_then_hold
        key = {"TEST_POSTING_KEY": notifying.posting_key().wif()}
        process = start_bot(config, env=key)
        assert held.wait(BOUND), "the bot never broadcast"
        process.kill()
        process.wait(BOUND)
        released.set()
        process = start_bot(config, env=key)
        poll(lambda: _state_of(store_path, taken[0]) == "delivered", "the comment to be seen in a block")
        process.send_signal(signal.SIGTERM)
        code, logs = finish(process)
        last = node.clock.head()
    assert code == 0, logs
    comments = [v["permlink"] for _, v in notifying.bot_comments(node, notifying.START, last)]
    assert comments.count(taken[0]) == 1


def _state_of(store_path: Path, permlink: str) -> str | None:
    with Store.open(store_path, create=False) as store:
        found = [
            n for state in State for n in store.outbox.load_notifications(state) if n.permlink == permlink
        ]
    return found[0].state.value if found else None


def test_the_demo_runs_offline_posts_notifications_and_honors_every_stop(tmp_path: Path) -> None:
    """It also serves the board: its address is printed at the start, and it answers while the demo runs
    with the checkpoint moving."""
    home = tmp_path / "home"
    home.mkdir()
    with (tmp_path / "stderr").open("w+") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "demo", "--seconds", "12", "--speed", "30"],
            cwd=tmp_path,  # no config file there: the demo needs none
            env={**os.environ, "PYTHONPATH": str(ROOT), "HOME": str(home)},
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
        assert process.stdout is not None
        started = ""
        while "the board at " not in started:
            line = process.stdout.readline()
            assert line, f"the demo printed no board address: {started}"
            started += line
        board = started.split("the board at ")[1].split()[0]
        assert board.startswith("http://127.0.0.1:")
        poll(lambda: _board_checkpoint(board) is not None, "the board showing a checkpoint", every=0.2)
        first = _board_checkpoint(board)
        poll(
            lambda: (_board_checkpoint(board) or 0) > (first or 0), "the board's checkpoint moving", every=0.2
        )
        assert urllib.request.urlopen(board, timeout=10).status == 200
        stdout = started + process.stdout.read()
        process.wait(BOUND)
        stderr.seek(0)
        logs = stderr.read()
    assert process.returncode == 0, logs[-3000:]
    summary = stdout[stdout.index("demo summary") :]
    posted = int(summary.split("notifications posted:")[1].split()[0])
    stops = int(summary.split("STOP replies:")[1].split()[0])
    assert posted >= 5 and stops >= 1, summary
    assert "every STOP was honored" in summary
    assert "notification_sent" in logs and "opt_stop" in logs
    assert list(home.rglob("*")) == []


def _board_checkpoint(board: str) -> int | None:
    """The checkpoint block ``/api/v1/status`` of the demo's board answers."""
    with urllib.request.urlopen(board + "api/v1/status", timeout=10) as answer:
        checkpoint = json.loads(answer.read())["checkpoint"]
    return None if checkpoint is None else int(checkpoint["block"])
