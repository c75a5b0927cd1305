"""The posting key stays secret: never in logs, the store, tracebacks or command output; a key file must be
private; the state the bot writes is private."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from bot.chain import PostingKey
from bot.cli import main
from bot.errors import PostingKeyError
from bot.metrics import Metric
from bot.store import Checkpoint, Store
from bot.tallies import Tally
from devnet.node import DevNode
from tests.support import notifying
from tests.support.configs import write_config
from tests.support.paths import ROOT
from tests.support.processes import poll, start_bot


def private_file(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text)
    path.chmod(mode)
    return path


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o622])
def test_a_key_file_others_can_read_or_write_is_refused_with_the_reason(tmp_path: Path, mode: int) -> None:
    path = private_file(tmp_path / "key", notifying.posting_key().wif(), mode)
    with pytest.raises(PostingKeyError, match=rf"by others \(mode {mode:04o}\).*chmod 600") as caught:
        PostingKey.from_file(path)
    assert notifying.posting_key().wif() not in str(caught.value)


def test_a_private_key_file_gives_the_key(tmp_path: Path) -> None:
    key = notifying.posting_key()
    assert PostingKey.from_file(private_file(tmp_path / "key", key.wif() + "\n")).public == key.public


@pytest.mark.parametrize(
    ("content", "message"),
    [("", "not a valid private key"), ("5Jnot-a-key", "not a valid private key")],
)
def test_a_key_file_without_a_key_says_so_without_echoing_it(
    tmp_path: Path, content: str, message: str
) -> None:
    with pytest.raises(PostingKeyError, match=message) as caught:
        PostingKey.from_file(private_file(tmp_path / "key", content))
    assert "5Jnot" not in str(caught.value)


def test_a_missing_key_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(PostingKeyError, match=r"key \(posting_key_file in the config\): No such file"):
        PostingKey.from_file(tmp_path / "key")


def test_run_refuses_a_public_key_file_before_writing_anything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    private_file(tmp_path / "key", notifying.posting_key().wif(), 0o644)
    config = write_config(tmp_path, ["http://127.0.0.1:9"], dry_run=False, posting_key_file="key")
    assert main(["run", "--config", str(config)]) == 2
    assert "chmod 600" in capsys.readouterr().err
    assert not (tmp_path / "state").exists()


def test_the_state_the_bot_writes_is_private(tmp_path: Path) -> None:
    with Store.open(tmp_path / "state" / "bot.sqlite") as store:
        store.commit_batch(
            Tally(increments=Counter({("alice", Metric.POSTS): 1})), {}, Checkpoint(10, "0a", 0)
        )
    assert stat.S_IMODE((tmp_path / "state").stat().st_mode) == 0o700
    for path in (tmp_path / "state").iterdir():
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path


@pytest.mark.parametrize("source", ["env", "file"])
@pytest.mark.slow  # the daemon as a subprocess
def test_the_posting_key_is_in_nothing_the_bot_writes(tmp_path: Path, source: str) -> None:
    """The bot signs and posts with the key, is refused another key, answers status and account: neither
    key is in its logs (at debug level), its files or its answers."""
    wif, active_wif = notifying.posting_key().wif(), notifying.posting_key(role="active").wif()
    env, key_setting = {"TEST_POSTING_KEY": wif}, {}
    if source == "file":
        private_file(tmp_path / "posting.key", wif)
        env, key_setting = {}, {"posting_key_file": "posting.key"}
    settings = {
        "account": notifying.BOT,
        "dry_run": False,
        "start_block": notifying.START,
        "badges": {metric.value: {"thresholds": list(t)} for metric, t in notifying.LADDERS.items()},
        "notifications": {"per_account_interval": 300, "expiration": 60},
        "log": {"format": "json", "level": "debug"},
    }
    texts: list[str] = []
    with DevNode(notifying.generated_chain(), head=notifying.START, speed=30) as node:
        config = write_config(tmp_path, [node.url], **settings, **key_setting)
        process = start_bot(config, env=env)
        poll(lambda: any(notifying.bot_comments(node, notifying.START, node.clock.head())), "a first post")
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
        assert process.returncode == 0, err[-2000:]
        assert "notification_sent" in err  # the key was used
        texts += [out, err]
        (tmp_path / "wrong").mkdir()
        wrong = write_config(tmp_path / "wrong", [node.url], **settings)
        refused = run_bot(["run", "--config", str(wrong)], {"TEST_POSTING_KEY": active_wif})
        assert refused.returncode == 2 and "active key" in refused.stderr
        texts += [refused.stdout, refused.stderr]
        for command in (["status", "--json"], ["account", notifying.BOT, "--json"], ["optout", "list"]):
            answer = run_bot([*command, "--config", str(config)], {})
            assert answer.returncode == 0, answer.stderr
            texts += [answer.stdout, answer.stderr]
    written = b"".join(
        path.read_bytes() for directory in (tmp_path / "state", tmp_path / "wrong" / "state")
        for path in directory.iterdir() if path.is_file()
    )  # fmt: skip
    for secret in (wif, active_wif):
        assert secret.encode() not in written
        assert not any(secret in text for text in texts)


def run_bot(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *argv],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
