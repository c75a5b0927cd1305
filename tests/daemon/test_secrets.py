"""The posting key stays secret: never in logs, the store, tracebacks or command output; a key file (or the
systemd credential) must be private; the state the bot writes is private."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from bot.app import posting_key
from bot.chain import PostingKey
from bot.cli import main
from bot.config import load_config
from bot.errors import PostingKeyError
from bot.metrics import Metric
from bot.store import Checkpoint, Store
from bot.tallies import Tally
from devnet.node import DevNode
from tests.support import notifying
from tests.support.configs import badges_yaml, write_config
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


@pytest.fixture
def credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A credentials directory as systemd gives a service (``$CREDENTIALS_DIRECTORY``), still empty; the
    environment variable the config names is unset."""
    directory = tmp_path / "credentials"
    directory.mkdir(mode=0o500)
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(directory))
    monkeypatch.delenv("TEST_POSTING_KEY", raising=False)
    return directory


def a_credential(credentials: Path, text: str, mode: int = 0o400) -> Path:
    """The credential ``posting-key`` holding ``text``, written as systemd writes it: read-only."""
    credentials.chmod(0o700)
    path = private_file(credentials / "posting-key", text, mode)
    credentials.chmod(0o500)
    return path


def signing_config(directory: Path, **overrides: object) -> Path:
    return write_config(directory, ["http://127.0.0.1:9"], dry_run=False, **overrides)


@pytest.mark.parametrize("mode", [0o400, 0o440, 0o600], ids=oct)
def test_without_a_key_file_the_systemd_credential_gives_the_key(
    tmp_path: Path, credentials: Path, mode: int
) -> None:
    """0440: what a root-owned credential with an ACL for the service's user shows (the mask)."""
    a_credential(credentials, notifying.posting_key().wif() + "\n", mode)
    key = posting_key(load_config(signing_config(tmp_path)))
    assert key is not None and key.public == notifying.posting_key().public


def test_a_key_file_in_the_config_wins_over_the_systemd_credential(tmp_path: Path, credentials: Path) -> None:
    a_credential(credentials, notifying.posting_key(role="active").wif())
    private_file(tmp_path / "key", notifying.posting_key().wif())
    key = posting_key(load_config(signing_config(tmp_path, posting_key_file="key")))
    assert key is not None and key.public == notifying.posting_key().public


@pytest.mark.parametrize("with_credential", [True, False])
def test_the_environment_variable_is_read_only_without_the_systemd_credential(
    tmp_path: Path, credentials: Path, monkeypatch: pytest.MonkeyPatch, with_credential: bool
) -> None:
    expected = notifying.posting_key(role="active") if with_credential else notifying.posting_key()
    monkeypatch.setenv("TEST_POSTING_KEY", notifying.posting_key().wif())
    if with_credential:
        a_credential(credentials, expected.wif())
    else:  # the service has other credentials, not this one
        a_credential(credentials, "not the key").rename(credentials / "another")
    key = posting_key(load_config(signing_config(tmp_path)))
    assert key is not None and key.public == expected.public


@pytest.mark.parametrize("mode", [0o404, 0o402, 0o460, 0o420], ids=oct)
def test_a_systemd_credential_others_can_read_or_write_is_refused_naming_it(
    tmp_path: Path, credentials: Path, mode: int
) -> None:
    path = a_credential(credentials, notifying.posting_key().wif(), mode)
    with pytest.raises(
        PostingKeyError, match=rf"systemd credential posting-key\) .* \(mode {mode:04o}\)"
    ) as caught:
        posting_key(load_config(signing_config(tmp_path)))
    assert str(path) in str(caught.value) and notifying.posting_key().wif() not in str(caught.value)


def test_a_systemd_credential_a_third_user_owns_is_refused(
    tmp_path: Path, credentials: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Root or the service's user may own it (systemd makes it one or the other); anyone else could change it.
    Only root can give a file away: another user is made to look like a third one to the bot."""
    path = a_credential(credentials, notifying.posting_key().wif())
    if os.geteuid() == 0:
        os.chown(path, 65534, 65534)
    else:
        monkeypatch.setattr(os, "getuid", lambda: os.geteuid() + 1)
    with pytest.raises(PostingKeyError, match=r"credential posting-key\) belongs to another user"):
        posting_key(load_config(signing_config(tmp_path)))


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"\xff\xfe5J", r"cannot be read \(UnicodeDecodeError\)"), (b"5Jnot-a-key", "not a valid private key")],
)
def test_an_unreadable_systemd_credential_is_named_without_echoing_it(
    tmp_path: Path, credentials: Path, content: bytes, message: str
) -> None:
    credentials.chmod(0o700)
    (credentials / "posting-key").write_bytes(content)
    (credentials / "posting-key").chmod(0o400)
    with pytest.raises(PostingKeyError, match=message) as caught:
        posting_key(load_config(signing_config(tmp_path)))
    assert "posting-key" in str(caught.value) and "5J" not in str(caught.value)


def test_run_refuses_a_public_systemd_credential_with_exit_2_before_writing_anything(
    tmp_path: Path, credentials: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Exit 2 is the status the unit does not restart on (``RestartPreventExitStatus=2``)."""
    a_credential(credentials, notifying.posting_key().wif(), 0o444)
    assert main(["run", "--config", str(signing_config(tmp_path))]) == 2
    assert "systemd credential posting-key" in capsys.readouterr().err
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
        "badges": badges_yaml(notifying.LADDERS),
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
